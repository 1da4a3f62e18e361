//! Issued quotes, in memory.
//!
//! A quote is valid for the TTL, then remembered for one more TTL so that a late lookup (a
//! checkout that took too long) is told `410 quote_expired` instead of `404 quote_not_found`.
//! After that it is forgotten. The count is bounded: past `max_quotes` the oldest go first.
//!
//! Every quote lives for the same TTL, so issue order is expiry order: a queue of ids in issue
//! order makes pruning a pop from the front. Time is passed in (`now: Instant`), so tests drive
//! expiry without sleeping. A restart forgets every quote; checkout then asks for a new one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use apiary_wire::shop::Quote;

use crate::domain::QuoteId;

/// What a lookup finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Valid(Quote),
    Expired,
    NotFound,
}

#[derive(Debug)]
struct Stored {
    quote: Quote,
    issued: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    quotes: HashMap<QuoteId, Stored>,
    /// Ids in issue order, oldest first.
    order: VecDeque<QuoteId>,
}

#[derive(Debug)]
pub struct QuoteStore {
    inner: Mutex<Inner>,
    ttl: Duration,
    max_quotes: usize,
}

impl QuoteStore {
    /// `max_quotes` below 1 is treated as 1.
    pub fn new(ttl: Duration, max_quotes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ttl,
            max_quotes: max_quotes.max(1),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Remembers `quote` issued at `now`, pruning what is past remembering and, if still full,
    /// the oldest quotes.
    pub fn insert(&self, id: QuoteId, quote: Quote, now: Instant) {
        let mut inner = self.lock();
        self.prune(&mut inner, now);
        while inner.quotes.len() >= self.max_quotes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.quotes.remove(&oldest);
        }
        inner.order.push_back(id.clone());
        inner.quotes.insert(id, Stored { quote, issued: now });
    }

    pub fn lookup(&self, id: &QuoteId, now: Instant) -> Lookup {
        let inner = self.lock();
        match inner.quotes.get(id) {
            None => Lookup::NotFound,
            Some(stored) => {
                let age = now.saturating_duration_since(stored.issued);
                if age < self.ttl {
                    Lookup::Valid(stored.quote.clone())
                } else if age < self.ttl * 2 {
                    Lookup::Expired
                } else {
                    // Past remembering, just not pruned yet.
                    Lookup::NotFound
                }
            }
        }
    }

    /// Quotes remembered now (valid or recently expired).
    pub fn len(&self) -> usize {
        self.lock().quotes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn prune(&self, inner: &mut Inner, now: Instant) {
        while let Some(oldest) = inner.order.front() {
            let forgotten = inner
                .quotes
                .get(oldest)
                .is_none_or(|s| now.saturating_duration_since(s.issued) >= self.ttl * 2);
            if !forgotten {
                break;
            }
            if let Some(id) = inner.order.pop_front() {
                inner.quotes.remove(&id);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Quotes are re-issued on request; a poisoned lock is no reason to stop serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::{Currency, Money};

    const TTL: Duration = Duration::from_secs(60);

    fn quote(id: &QuoteId) -> Quote {
        Quote {
            quote_id: id.to_string(),
            country: "DE".to_owned(),
            carrier: "dhl-paket".to_owned(),
            amount: Money {
                amount_minor: 490,
                currency: Currency::EUR,
            },
            eta_days: 2,
            expires_at_ms: 0,
        }
    }

    fn issue(store: &QuoteStore, now: Instant) -> QuoteId {
        let id = QuoteId::new();
        store.insert(id.clone(), quote(&id), now);
        id
    }

    #[test]
    fn a_quote_is_valid_then_expired_then_forgotten() {
        let store = QuoteStore::new(TTL, 10);
        let t0 = Instant::now();
        let id = issue(&store, t0);
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(store.lookup(&id, at(59)), Lookup::Valid(quote(&id)));
        assert_eq!(store.lookup(&id, at(60)), Lookup::Expired);
        assert_eq!(store.lookup(&id, at(119)), Lookup::Expired);
        assert_eq!(store.lookup(&id, at(120)), Lookup::NotFound);
        assert_eq!(store.lookup(&QuoteId::new(), t0), Lookup::NotFound);
    }

    #[test]
    fn forgotten_quotes_are_pruned_when_new_ones_arrive() {
        let store = QuoteStore::new(TTL, 10);
        let t0 = Instant::now();
        issue(&store, t0);
        issue(&store, t0 + Duration::from_secs(90));
        assert_eq!(store.len(), 2);
        issue(&store, t0 + Duration::from_secs(121));
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn the_count_is_bounded_and_the_oldest_go_first() {
        let store = QuoteStore::new(TTL, 3);
        let t0 = Instant::now();
        let ids: Vec<_> = (0..5)
            .map(|i| issue(&store, t0 + Duration::from_millis(i)))
            .collect();
        assert_eq!(store.len(), 3);
        assert_eq!(store.lookup(&ids[1], t0), Lookup::NotFound);
        assert!(matches!(store.lookup(&ids[2], t0), Lookup::Valid(_)));
        assert!(matches!(store.lookup(&ids[4], t0), Lookup::Valid(_)));
    }
}
