//! The cart store: every cart in memory, with a sliding time-to-live and a bound on their
//! number.
//!
//! Nothing here survives a restart. That is the design (carts are cheap to rebuild, and the
//! "cart store lost" drill shows what the shop does without them), so the README says it
//! plainly and [`CartStore::clear`] exists for the drill.
//!
//! Time is passed in (`now: Instant`) rather than read, so tests drive expiry without sleeping.
//!
//! Carts are kept in touch order as well as by id: every read or change of a cart gives it a
//! new, larger touch sequence number. The oldest touch is then the first entry of a
//! `BTreeMap`, which makes both jobs that need "the least recently touched cart" cheap:
//! sweeping expired carts (pop from the front while expired — with a sliding TTL, the oldest
//! touch expires first) and evicting when the store is full.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use apiary_telemetry::metrics::{counter, gauge};

use crate::domain::{AddQuantity, CartId, MAX_LINE_UNITS, MAX_LINES, ProductId, SetQuantity};

use crate::metrics::{ACTIVE, ADDITIONS, EVICTED, EXPIRED, UNITS};

/// What a change to a cart can be refused for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("{product} is not in the cart")]
    LineNotFound { product: ProductId },
    #[error("a line may hold at most {MAX_LINE_UNITS} units; {product} would have {would_have}")]
    QuantityLimit { product: ProductId, would_have: u32 },
    #[error("a cart may hold at most {MAX_LINES} different products")]
    CartFull,
}

/// A cart as a caller sees it: lines in the order they were first added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartView {
    pub lines: Vec<(ProductId, u32)>,
    /// When the cart expires unless touched again; `None` for an empty (absent) cart.
    pub expires_at: Option<Instant>,
}

impl CartView {
    fn empty() -> Self {
        Self {
            lines: Vec::new(),
            expires_at: None,
        }
    }
}

/// Counters and totals, for `GET /carts/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub active_carts: u64,
    pub units: u64,
    pub expired_total: u64,
    pub evicted_total: u64,
}

#[derive(Debug)]
struct Entry {
    /// Never empty: a cart whose last line goes is removed, so "absent" and "empty" are one
    /// state.
    lines: Vec<(ProductId, u32)>,
    touched: Instant,
    /// This cart's key in `Inner::by_touch`.
    touch_seq: u64,
}

impl Entry {
    fn units(&self) -> u64 {
        self.lines.iter().map(|(_, q)| u64::from(*q)).sum()
    }
}

#[derive(Debug, Default)]
struct Inner {
    carts: HashMap<CartId, Entry>,
    /// Every cart by its last touch, oldest first (see the module docs).
    by_touch: BTreeMap<u64, CartId>,
    next_touch: u64,
    /// Units across all carts, kept up to date so stats and gauges cost nothing.
    units: u64,
    expired_total: u64,
    evicted_total: u64,
}

#[derive(Debug)]
pub struct CartStore {
    inner: Mutex<Inner>,
    ttl: Duration,
    max_carts: usize,
}

impl CartStore {
    /// `max_carts` below 1 is treated as 1.
    pub fn new(ttl: Duration, max_carts: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ttl,
            max_carts: max_carts.max(1),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The cart; unknown and expired carts are empty. Viewing counts as activity.
    pub fn view(&self, id: &CartId, now: Instant) -> CartView {
        let mut inner = self.lock();
        if !inner.live(id, now, self.ttl) {
            return CartView::empty();
        }
        inner.touch(id, now);
        self.view_of(&inner, id)
    }

    /// Adds `quantity` units of `product`, creating the cart and the line as needed.
    pub fn add(
        &self,
        id: &CartId,
        product: &ProductId,
        quantity: AddQuantity,
        now: Instant,
    ) -> Result<CartView, CartError> {
        let mut inner = self.lock();
        if inner.live(id, now, self.ttl)
            && let Some(entry) = inner.carts.get_mut(id)
        {
            let lines = entry.lines.len();
            match entry.lines.iter_mut().find(|(p, _)| p == product) {
                Some((_, units)) => {
                    let would_have = *units + quantity.get();
                    if would_have > MAX_LINE_UNITS {
                        return Err(CartError::QuantityLimit {
                            product: product.clone(),
                            would_have,
                        });
                    }
                    *units = would_have;
                }
                None if lines >= MAX_LINES => return Err(CartError::CartFull),
                None => entry.lines.push((product.clone(), quantity.get())),
            }
            inner.units += u64::from(quantity.get());
            inner.touch(id, now);
        } else {
            self.make_room(&mut inner, now);
            let touch_seq = inner.next_seq();
            inner.by_touch.insert(touch_seq, id.clone());
            inner.carts.insert(
                id.clone(),
                Entry {
                    lines: vec![(product.clone(), quantity.get())],
                    touched: now,
                    touch_seq,
                },
            );
            inner.units += u64::from(quantity.get());
        }
        counter!(ADDITIONS).increment(1);
        inner.publish();
        Ok(self.view_of(&inner, id))
    }

    /// Sets the line's quantity; 0 removes the line. The line must exist.
    pub fn set_quantity(
        &self,
        id: &CartId,
        product: &ProductId,
        quantity: SetQuantity,
        now: Instant,
    ) -> Result<CartView, CartError> {
        let mut inner = self.lock();
        let not_found = || CartError::LineNotFound {
            product: product.clone(),
        };
        if !inner.live(id, now, self.ttl) {
            return Err(not_found());
        }
        let entry = inner.carts.get_mut(id).ok_or_else(not_found)?;
        let index = entry
            .lines
            .iter()
            .position(|(p, _)| p == product)
            .ok_or_else(not_found)?;
        let before = entry.lines[index].1;
        if quantity.get() == 0 {
            entry.lines.remove(index);
        } else {
            entry.lines[index].1 = quantity.get();
        }
        inner.units = inner.units - u64::from(before) + u64::from(quantity.get());
        self.after_change(&mut inner, id, now);
        Ok(self.view_of(&inner, id))
    }

    /// Removes the line if it is there (idempotent).
    pub fn remove_line(&self, id: &CartId, product: &ProductId, now: Instant) -> CartView {
        let mut inner = self.lock();
        if !inner.live(id, now, self.ttl) {
            return CartView::empty();
        }
        if let Some(entry) = inner.carts.get_mut(id)
            && let Some(index) = entry.lines.iter().position(|(p, _)| p == product)
        {
            let (_, units) = entry.lines.remove(index);
            inner.units -= u64::from(units);
        }
        self.after_change(&mut inner, id, now);
        self.view_of(&inner, id)
    }

    /// Drops the cart (idempotent). True when there was one.
    pub fn delete(&self, id: &CartId) -> bool {
        let mut inner = self.lock();
        let existed = inner.remove(id);
        inner.publish();
        existed
    }

    /// Drops every expired cart and returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut inner = self.lock();
        let expired = inner.sweep(now, self.ttl);
        inner.publish();
        expired
    }

    /// Forgets every cart (the "cart store lost" fault) and returns how many there were.
    /// Neither expired nor evicted: these carts were lost, and the counters say so by not
    /// moving.
    pub fn clear(&self) -> usize {
        let mut inner = self.lock();
        let lost = inner.carts.len();
        inner.carts.clear();
        inner.by_touch.clear();
        inner.units = 0;
        inner.publish();
        lost
    }

    /// Current totals, after dropping what has expired by `now`.
    pub fn stats(&self, now: Instant) -> Stats {
        let mut inner = self.lock();
        inner.sweep(now, self.ttl);
        inner.publish();
        inner.totals()
    }

    /// The totals as they stand, without sweeping first (what the sweeper has done so far).
    pub fn totals(&self) -> Stats {
        self.lock().totals()
    }

    /// Before a new cart is stored: drop expired carts, then, if still full, the least
    /// recently touched one.
    fn make_room(&self, inner: &mut Inner, now: Instant) {
        inner.sweep(now, self.ttl);
        while inner.carts.len() >= self.max_carts {
            let Some((_, oldest)) = inner.by_touch.pop_first() else {
                break;
            };
            if let Some(entry) = inner.carts.remove(&oldest) {
                inner.units -= entry.units();
                inner.evicted_total += 1;
                counter!(EVICTED).increment(1);
                tracing::debug!(cart_id = %oldest, "cart evicted: the store is full");
            }
        }
    }

    /// After a line changed: an emptied cart is removed, any other is touched.
    fn after_change(&self, inner: &mut Inner, id: &CartId, now: Instant) {
        if inner.carts.get(id).is_some_and(|e| e.lines.is_empty()) {
            inner.remove(id);
        } else {
            inner.touch(id, now);
        }
        inner.publish();
    }

    fn view_of(&self, inner: &Inner, id: &CartId) -> CartView {
        match inner.carts.get(id) {
            Some(entry) => CartView {
                lines: entry.lines.clone(),
                expires_at: Some(entry.touched + self.ttl),
            },
            None => CartView::empty(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change that matters
        // more than losing every cart would; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn totals(&self) -> Stats {
        Stats {
            active_carts: self.carts.len() as u64,
            units: self.units,
            expired_total: self.expired_total,
            evicted_total: self.evicted_total,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.next_touch += 1;
        self.next_touch
    }

    /// True when the cart exists and has not expired; an expired one is dropped (and counted)
    /// here, so no caller ever sees it, sweeper or not.
    fn live(&mut self, id: &CartId, now: Instant, ttl: Duration) -> bool {
        match self.carts.get(id) {
            None => false,
            Some(entry) if now.saturating_duration_since(entry.touched) >= ttl => {
                self.remove(id);
                self.count_expired(1);
                self.publish();
                false
            }
            Some(_) => true,
        }
    }

    fn touch(&mut self, id: &CartId, now: Instant) {
        let seq = self.next_seq();
        if let Some(entry) = self.carts.get_mut(id) {
            self.by_touch.remove(&entry.touch_seq);
            entry.touch_seq = seq;
            // Instants from different callers may arrive slightly out of order; never move a
            // cart's clock back, so touch order and expiry order stay the same.
            entry.touched = entry.touched.max(now);
            self.by_touch.insert(seq, id.clone());
        }
    }

    fn remove(&mut self, id: &CartId) -> bool {
        match self.carts.remove(id) {
            Some(entry) => {
                self.by_touch.remove(&entry.touch_seq);
                self.units -= entry.units();
                true
            }
            None => false,
        }
    }

    fn sweep(&mut self, now: Instant, ttl: Duration) -> usize {
        let mut expired = 0;
        while let Some(oldest) = self.by_touch.first_entry() {
            let due = self
                .carts
                .get(oldest.get())
                .is_none_or(|e| now.saturating_duration_since(e.touched) >= ttl);
            if !due {
                break;
            }
            let id = oldest.remove();
            if let Some(entry) = self.carts.remove(&id) {
                self.units -= entry.units();
                expired += 1;
            }
        }
        self.count_expired(expired);
        expired
    }

    fn count_expired(&mut self, n: usize) {
        if n > 0 {
            self.expired_total += n as u64;
            counter!(EXPIRED).increment(n as u64);
        }
    }

    fn publish(&self) {
        gauge!(ACTIVE).set(self.carts.len() as f64);
        gauge!(UNITS).set(self.units as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn cart(id: &str) -> CartId {
        CartId::parse(id).expect("cart id")
    }

    fn product(n: u32) -> ProductId {
        ProductId::parse(&format!("BK-{n:04}")).expect("product id")
    }

    fn qty(n: u32) -> AddQuantity {
        AddQuantity::parse(n).expect("quantity")
    }

    fn units(view: &CartView) -> Vec<(String, u32)> {
        view.lines
            .iter()
            .map(|(p, q)| (p.to_string(), *q))
            .collect()
    }

    #[test]
    fn adding_creates_the_cart_and_accumulates_in_insertion_order() {
        let store = CartStore::new(TTL, 10);
        let t0 = Instant::now();
        let c = cart("c1");
        store.add(&c, &product(2), qty(1), t0).expect("add");
        store.add(&c, &product(1), qty(3), t0).expect("add");
        let view = store.add(&c, &product(2), qty(4), t0).expect("add");
        assert_eq!(
            units(&view),
            vec![("BK-0002".to_owned(), 5), ("BK-0001".to_owned(), 3)]
        );
        assert_eq!(view.expires_at, Some(t0 + TTL));
        let stats = store.stats(t0);
        assert_eq!((stats.active_carts, stats.units), (1, 8));
    }

    #[test]
    fn an_unknown_cart_is_empty_and_not_created_by_looking() {
        let store = CartStore::new(TTL, 10);
        let view = store.view(&cart("nobody"), Instant::now());
        assert!(view.lines.is_empty());
        assert_eq!(view.expires_at, None);
        assert_eq!(store.stats(Instant::now()).active_carts, 0);
    }

    #[test]
    fn the_ttl_slides_with_every_touch_and_expiry_is_counted() {
        let store = CartStore::new(TTL, 10);
        let t0 = Instant::now();
        let c = cart("c1");
        store.add(&c, &product(1), qty(1), t0).expect("add");
        // Touched at 50 s: alive until 110 s.
        let seen = store.view(&c, t0 + Duration::from_secs(50));
        assert_eq!(seen.expires_at, Some(t0 + Duration::from_secs(110)));
        assert_eq!(store.view(&c, t0 + Duration::from_secs(100)).lines.len(), 1);
        // Untouched for a whole TTL: gone, even before any sweep.
        let later = t0 + Duration::from_secs(161);
        assert!(store.view(&c, later).lines.is_empty());
        let stats = store.stats(later);
        assert_eq!(
            (stats.active_carts, stats.units, stats.expired_total),
            (0, 0, 1)
        );
    }

    #[test]
    fn the_sweep_drops_only_expired_carts() {
        let store = CartStore::new(TTL, 10);
        let t0 = Instant::now();
        store
            .add(&cart("old"), &product(1), qty(2), t0)
            .expect("add");
        store
            .add(
                &cart("new"),
                &product(1),
                qty(3),
                t0 + Duration::from_secs(30),
            )
            .expect("add");
        assert_eq!(store.sweep(t0 + Duration::from_secs(59)), 0);
        assert_eq!(store.sweep(t0 + Duration::from_secs(60)), 1);
        let stats = store.stats(t0 + Duration::from_secs(60));
        assert_eq!(
            (stats.active_carts, stats.units, stats.expired_total),
            (1, 3, 1)
        );
        assert_eq!(store.sweep(t0 + Duration::from_secs(90)), 1);
        assert_eq!(store.stats(t0 + Duration::from_secs(90)).expired_total, 2);
    }

    #[test]
    fn a_full_store_evicts_the_least_recently_touched_cart() {
        let store = CartStore::new(TTL, 3);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            store
                .add(&cart(name), &product(1), qty(1), at(i as u64))
                .expect("add");
        }
        // "a" is the oldest, but reading it makes "b" the least recently touched.
        store.view(&cart("a"), at(3));
        store
            .add(&cart("d"), &product(1), qty(1), at(4))
            .expect("add");
        assert!(store.view(&cart("b"), at(5)).lines.is_empty());
        for name in ["a", "c", "d"] {
            assert_eq!(store.view(&cart(name), at(5)).lines.len(), 1, "{name}");
        }
        let stats = store.stats(at(5));
        assert_eq!(
            (stats.active_carts, stats.evicted_total, stats.expired_total),
            (3, 1, 0)
        );
    }

    #[test]
    fn room_is_made_from_expired_carts_before_evicting_live_ones() {
        let store = CartStore::new(TTL, 2);
        let t0 = Instant::now();
        store
            .add(&cart("stale"), &product(1), qty(1), t0)
            .expect("add");
        store
            .add(
                &cart("fresh"),
                &product(1),
                qty(1),
                t0 + Duration::from_secs(40),
            )
            .expect("add");
        store
            .add(
                &cart("next"),
                &product(1),
                qty(1),
                t0 + Duration::from_secs(70),
            )
            .expect("add");
        let stats = store.stats(t0 + Duration::from_secs(70));
        assert_eq!(
            (stats.active_carts, stats.expired_total, stats.evicted_total),
            (2, 1, 0)
        );
    }

    #[test]
    fn a_line_never_exceeds_99_units_and_a_cart_50_lines() {
        let store = CartStore::new(TTL, 10);
        let t0 = Instant::now();
        let c = cart("c1");
        store.add(&c, &product(1), qty(90), t0).expect("add");
        let err = store
            .add(&c, &product(1), qty(10), t0)
            .expect_err("over 99");
        assert_eq!(
            err,
            CartError::QuantityLimit {
                product: product(1),
                would_have: 100
            }
        );
        store.add(&c, &product(1), qty(9), t0).expect("exactly 99");
        for n in 2..=50 {
            store.add(&c, &product(n), qty(1), t0).expect("line");
        }
        assert_eq!(
            store.add(&c, &product(51), qty(1), t0),
            Err(CartError::CartFull)
        );
        // An existing line can still grow in a full cart.
        let view = store
            .add(&c, &product(50), qty(1), t0)
            .expect("existing line");
        assert_eq!(view.lines.len(), 50);
        assert_eq!(store.stats(t0).units, 99 + 49 + 1);
    }

    #[test]
    fn setting_and_removing_lines() {
        let store = CartStore::new(TTL, 10);
        let t0 = Instant::now();
        let c = cart("c1");
        store.add(&c, &product(1), qty(2), t0).expect("add");
        store.add(&c, &product(2), qty(2), t0).expect("add");
        let set = |p, q| store.set_quantity(&c, &product(p), SetQuantity::parse(q).expect("q"), t0);
        assert_eq!(
            units(&set(1, 7).expect("set")),
            vec![("BK-0001".to_owned(), 7), ("BK-0002".to_owned(), 2)]
        );
        assert_eq!(
            set(3, 1),
            Err(CartError::LineNotFound {
                product: product(3)
            })
        );
        assert_eq!(
            units(&set(1, 0).expect("zero removes")),
            vec![("BK-0002".to_owned(), 2)]
        );
        // Removing is idempotent; the last line going takes the cart with it.
        assert_eq!(store.remove_line(&c, &product(1), t0).lines.len(), 1);
        let gone = store.remove_line(&c, &product(2), t0);
        assert!(gone.lines.is_empty());
        assert_eq!(gone.expires_at, None);
        let stats = store.stats(t0);
        assert_eq!((stats.active_carts, stats.units), (0, 0));
        assert_eq!(
            set(2, 1),
            Err(CartError::LineNotFound {
                product: product(2)
            })
        );
    }

    #[test]
    fn delete_and_clear_forget_carts_without_counting_expiry() {
        let store = CartStore::new(TTL, 10);
        let t0 = Instant::now();
        store.add(&cart("a"), &product(1), qty(1), t0).expect("add");
        store.add(&cart("b"), &product(1), qty(4), t0).expect("add");
        assert!(store.delete(&cart("a")));
        assert!(!store.delete(&cart("a")));
        store.add(&cart("c"), &product(1), qty(1), t0).expect("add");
        assert_eq!(store.clear(), 2);
        let stats = store.stats(t0);
        assert_eq!(stats, Stats::default());
        assert!(store.view(&cart("b"), t0).lines.is_empty());
    }
}
