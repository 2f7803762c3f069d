//! A least-recently-used cache of decompressed, verified chunks, bounded in bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Chunks keyed by their position in [`Index::all_chunks`](estargz_toc::Index::all_chunks).
#[derive(Debug)]
pub(crate) struct ChunkCache {
    capacity: u64,
    used: u64,
    tick: u64,
    entries: HashMap<usize, (Arc<[u8]>, u64)>,
    /// Last-use tick to key; the smallest tick is evicted first.
    order: BTreeMap<u64, usize>,
}

impl ChunkCache {
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            capacity,
            used: 0,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The chunk, marking it most recently used.
    pub(crate) fn get(&mut self, key: usize) -> Option<Arc<[u8]>> {
        self.tick += 1;
        let tick = self.tick;
        let (data, last) = self.entries.get_mut(&key)?;
        self.order.remove(last);
        *last = tick;
        self.order.insert(tick, key);
        Some(Arc::clone(data))
    }

    /// Whether the chunk is cached (without touching its recency).
    pub(crate) fn contains(&self, key: usize) -> bool {
        self.entries.contains_key(&key)
    }

    /// Adds a chunk, dropping the least recently used ones to make room. Chunks larger than
    /// the whole cache are not kept.
    pub(crate) fn insert(&mut self, key: usize, data: Arc<[u8]>) {
        let len = data.len() as u64;
        if len > self.capacity {
            return;
        }
        if let Some((old, last)) = self.entries.remove(&key) {
            self.order.remove(&last);
            self.used -= old.len() as u64;
        }
        while self.used + len > self.capacity {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = self.entries.remove(&victim) {
                self.used -= old.len() as u64;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key);
        self.entries.insert(key, (data, self.tick));
        self.used += len;
    }

    /// Bytes held.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(len: usize) -> Arc<[u8]> {
        vec![0u8; len].into()
    }

    #[test]
    fn evicts_least_recently_used_within_capacity() {
        let mut cache = ChunkCache::new(10);
        cache.insert(1, chunk(4));
        cache.insert(2, chunk(4));
        assert!(cache.get(1).is_some());
        cache.insert(3, chunk(4));
        assert!(cache.contains(1));
        assert!(!cache.contains(2));
        assert!(cache.contains(3));
        assert_eq!(cache.used(), 8);
        cache.insert(4, chunk(11));
        assert!(!cache.contains(4));
        cache.insert(3, chunk(2));
        assert_eq!(cache.used(), 6);
        let mut off = ChunkCache::new(0);
        off.insert(1, chunk(1));
        assert!(off.get(1).is_none());
    }
}
