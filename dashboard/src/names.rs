//! Service and span names as 4-byte ids, counted by the spans that hold them.
//!
//! A span names its service and itself; storing each as an id instead of a 16-byte pointer
//! keeps a held span small. The table belongs to the span store and changes only under its
//! lock: a name is taken when a span is stored and given back when the span is evicted, and
//! when no held span uses a name any more its id is freed for the next one. So the table
//! holds exactly the names of the spans held — bounded by the store, never by history — and
//! no name is ever refused: a service first seen after a million distinct span names is
//! still stored under its own name.

use std::sync::Arc;

use rustc_hash::FxHashMap;

/// A service or span name held by the span store: an id into its [`NameTable`], valid while
/// a held span uses it (resolve it under the same lock that found the span).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(u32);

#[derive(Debug)]
struct Entry {
    /// `None` once freed.
    name: Option<Arc<str>>,
    /// Held spans using this name (as service or as span name).
    refs: u32,
}

/// Names in use, with the number of uses of each, and the freed ids to give out again.
#[derive(Debug, Default)]
pub struct NameTable {
    ids: FxHashMap<Arc<str>, u32>,
    entries: Vec<Entry>,
    free: Vec<u32>,
}

/// The most ids the table gives out; the span store caps its ring so that its two names per
/// span always fit (see `SpanStore::new`).
pub const MAX_NAMES: usize = 1 << 31;

impl NameTable {
    /// One more use of `s`, which gets an id if it has none.
    pub fn acquire(&mut self, s: &str) -> Name {
        if let Some(&id) = self.ids.get(s) {
            if let Some(e) = self.entries.get_mut(id as usize) {
                e.refs = e.refs.saturating_add(1);
            }
            return Name(id);
        }
        let name: Arc<str> = Arc::from(s);
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(e) = self.entries.get_mut(id as usize) {
                    *e = Entry {
                        name: Some(name.clone()),
                        refs: 1,
                    };
                }
                id
            }
            None => {
                // At most MAX_NAMES live names (the store's cap), so the id fits in 31 bits.
                let id = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
                self.entries.push(Entry {
                    name: Some(name.clone()),
                    refs: 1,
                });
                id
            }
        };
        self.ids.insert(name, id);
        Name(id)
    }

    /// One use of `name` fewer; returns whether that was the last (its id is then free).
    pub fn release(&mut self, name: Name) -> bool {
        let Some(e) = self.entries.get_mut(name.0 as usize) else {
            return false;
        };
        e.refs = e.refs.saturating_sub(1);
        if e.refs > 0 {
            return false;
        }
        if let Some(s) = e.name.take() {
            self.ids.remove(&s);
            self.free.push(name.0);
        }
        true
    }

    /// The id of a name in use, without taking a use.
    pub fn lookup(&self, s: &str) -> Option<Name> {
        self.ids.get(s).copied().map(Name)
    }

    /// The text of a name in use ("" for an id no held span uses).
    pub fn get(&self, name: Name) -> &str {
        self.entries
            .get(name.0 as usize)
            .and_then(|e| e.name.as_deref())
            .unwrap_or("")
    }

    /// Names in use.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_lives_while_it_is_used_and_its_id_is_reused_after() {
        let mut t = NameTable::default();
        let a = t.acquire("catalog");
        assert_eq!(t.acquire("catalog"), a);
        assert_eq!(t.get(a), "catalog");
        assert_eq!(t.lookup("catalog"), Some(a));
        assert!(!t.release(a), "one use is left");
        assert_eq!(t.get(a), "catalog");
        assert!(t.release(a), "that was the last use");
        assert_eq!(t.lookup("catalog"), None);
        assert!(t.is_empty());
        let b = t.acquire("checkout");
        assert_eq!(b, a, "the freed id is given out again");
        assert_eq!(t.get(b), "checkout");
    }

    #[test]
    fn any_number_of_distinct_names_is_taken_and_the_table_shrinks_back() {
        let mut t = NameTable::default();
        let ids: Vec<Name> = (0..300_000)
            .map(|i| t.acquire(&format!("GET /carts/{i}")))
            .collect();
        assert_eq!(t.len(), 300_000);
        let late = t.acquire("payment");
        assert_eq!(t.get(late), "payment", "never degraded");
        for id in ids {
            t.release(id);
        }
        assert_eq!(t.len(), 1);
        assert_eq!(t.entries.len(), 300_001, "ids are reused, not added");
        let again = t.acquire("GET /again");
        assert!((again.0 as usize) < 300_001);
    }
}
