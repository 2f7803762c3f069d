//! Buffers for the ranges one read needs, filled from replies in any order.
//!
//! Bytes are written at blob offsets; each write lands in every needed range it overlaps
//! and is remembered as *pending* until the reply that carried it is trusted, then
//! *committed*. What is still missing is always the needed ranges minus the committed
//! bytes, so partial replies (truncated bodies, first-range-only servers, dropped parts)
//! are completed by asking for exactly the rest.

use crate::range::ByteRange;

/// One needed range and what has arrived for it.
#[derive(Debug)]
struct Slot {
    range: ByteRange,
    buf: Vec<u8>,
    /// Committed sub-ranges, sorted, disjoint and non-adjacent.
    done: Vec<ByteRange>,
    /// Endpoints whose bytes were committed here.
    served_by: Vec<usize>,
}

/// The buffers of one read. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Assembly {
    slots: Vec<Slot>,
    /// Written but not yet committed: (slot index, sub-range, endpoint).
    pending: Vec<(usize, ByteRange, usize)>,
}

impl Assembly {
    /// Buffers for `needed`, which must be sorted, disjoint and non-adjacent (as
    /// [`merge`] returns).
    pub(crate) fn new(needed: Vec<ByteRange>) -> Self {
        let slots = needed
            .into_iter()
            .map(|range| Slot {
                range,
                buf: vec![0; usize::try_from(range.len()).unwrap_or(0)],
                done: Vec::new(),
                served_by: Vec::new(),
            })
            .collect();
        Self {
            slots,
            pending: Vec::new(),
        }
    }

    /// Copies `data`, which holds the blob's bytes from `offset`, into every needed range
    /// it overlaps, as pending bytes from endpoint `ep`. Returns how many bytes were
    /// useful.
    pub(crate) fn write(&mut self, offset: u64, data: &[u8], ep: usize) -> u64 {
        let Ok(len) = u64::try_from(data.len()) else {
            return 0;
        };
        let Some(end) = offset.checked_add(len) else {
            return 0;
        };
        let Ok(written) = ByteRange::new(offset, end) else {
            return 0;
        };
        let first = self.slots.partition_point(|s| s.range.end() <= offset);
        let mut useful = 0;
        for (i, slot) in self.slots.iter_mut().enumerate().skip(first) {
            if slot.range.start() >= end {
                break;
            }
            let Some(common) = slot.range.intersection(written) else {
                continue;
            };
            let src_from = usize::try_from(common.start() - offset).unwrap_or(usize::MAX);
            let dst_from =
                usize::try_from(common.start() - slot.range.start()).unwrap_or(usize::MAX);
            let n = usize::try_from(common.len()).unwrap_or(0);
            let (Some(src), Some(dst)) = (
                data.get(src_from..src_from.saturating_add(n)),
                slot.buf.get_mut(dst_from..dst_from.saturating_add(n)),
            ) else {
                continue;
            };
            dst.copy_from_slice(src);
            useful += common.len();
            self.pending.push((i, common, ep));
        }
        useful
    }

    /// Trusts every pending write.
    pub(crate) fn commit(&mut self) {
        for (i, range, ep) in std::mem::take(&mut self.pending) {
            if let Some(slot) = self.slots.get_mut(i) {
                insert_range(&mut slot.done, range);
                if !slot.served_by.contains(&ep) {
                    slot.served_by.push(ep);
                }
            }
        }
    }

    /// Forgets every pending write (the reply that carried them was bad).
    pub(crate) fn rollback(&mut self) {
        self.pending.clear();
    }

    /// The needed bytes not yet committed, sorted and disjoint.
    pub(crate) fn missing(&self) -> Vec<ByteRange> {
        let mut out = Vec::new();
        for slot in &self.slots {
            let mut at = slot.range.start();
            for d in &slot.done {
                if d.start() > at
                    && let Ok(r) = ByteRange::new(at, d.start())
                {
                    out.push(r);
                }
                at = at.max(d.end());
            }
            if at < slot.range.end()
                && let Ok(r) = ByteRange::new(at, slot.range.end())
            {
                out.push(r);
            }
        }
        out
    }

    /// Whether any byte of `ranges` (sorted by start) is needed and not yet committed.
    pub(crate) fn lacks_any(&self, ranges: &[ByteRange]) -> bool {
        ranges.iter().any(|r| {
            let first = self.slots.partition_point(|s| s.range.end() <= r.start());
            self.slots
                .iter()
                .skip(first)
                .take_while(|s| s.range.start() < r.end())
                .any(|s| {
                    s.range
                        .intersection(*r)
                        .is_some_and(|need| !s.done.iter().any(|d| d.contains_range(need)))
                })
        })
    }

    /// Whether every needed byte is committed.
    pub(crate) fn is_complete(&self) -> bool {
        self.slots
            .iter()
            .all(|s| s.done.len() == 1 && s.done.first() == Some(&s.range))
    }

    /// Marks the bytes of `range` as not received again (they failed verification) and
    /// returns the endpoints that had served the slots it lies in.
    pub(crate) fn discard(&mut self, range: ByteRange) -> Vec<usize> {
        let mut eps = Vec::new();
        for slot in &mut self.slots {
            if slot.range.intersection(range).is_none() {
                continue;
            }
            eps.extend(slot.served_by.iter().copied());
            slot.served_by.clear();
            slot.done.clear();
        }
        eps.sort_unstable();
        eps.dedup();
        eps
    }

    /// The bytes of `range`, which must lie inside one needed range.
    pub(crate) fn slice(&self, range: ByteRange) -> Option<&[u8]> {
        let slot = self.slots.iter().find(|s| s.range.contains_range(range))?;
        let from = usize::try_from(range.start() - slot.range.start()).ok()?;
        let n = usize::try_from(range.len()).ok()?;
        slot.buf.get(from..from.checked_add(n)?)
    }

    /// Consumes the buffers: each needed range with its bytes.
    pub(crate) fn into_buffers(self) -> Vec<(ByteRange, Vec<u8>)> {
        self.slots.into_iter().map(|s| (s.range, s.buf)).collect()
    }
}

/// Sorts `ranges` and merges overlapping and touching ones.
pub(crate) fn merge(ranges: &[ByteRange]) -> Vec<ByteRange> {
    let mut sorted: Vec<ByteRange> = ranges.iter().copied().filter(|r| !r.is_empty()).collect();
    sorted.sort_unstable();
    let mut out: Vec<ByteRange> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start() <= last.end() => {
                if r.end() > last.end()
                    && let Ok(m) = ByteRange::new(last.start(), r.end())
                {
                    *last = m;
                }
            }
            _ => out.push(r),
        }
    }
    out
}

/// Adds `r` to a sorted list of disjoint, non-adjacent ranges, merging as needed.
fn insert_range(list: &mut Vec<ByteRange>, r: ByteRange) {
    list.push(r);
    *list = merge(list);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br(a: u64, b: u64) -> ByteRange {
        ByteRange::new(a, b).unwrap()
    }

    #[test]
    fn writes_land_in_overlapping_slots_and_missing_tracks_commits() {
        let mut a = Assembly::new(vec![br(0, 4), br(10, 14)]);
        assert_eq!(a.missing(), vec![br(0, 4), br(10, 14)]);
        // A whole-body stream from 0.
        let data: Vec<u8> = (0..12).collect();
        assert_eq!(a.write(0, &data, 1), 6);
        assert_eq!(a.missing(), vec![br(0, 4), br(10, 14)]);
        a.commit();
        assert_eq!(a.missing(), vec![br(12, 14)]);
        assert!(!a.is_complete());
        a.write(12, &[12, 13, 99], 2);
        a.rollback();
        assert_eq!(a.missing(), vec![br(12, 14)]);
        a.write(12, &[12, 13], 2);
        assert!(a.lacks_any(&[br(13, 20)]));
        assert!(!a.lacks_any(&[br(0, 4), br(4, 10), br(10, 12)]));
        a.commit();
        assert!(a.is_complete());
        assert!(!a.lacks_any(&[br(0, 100)]));
        assert_eq!(a.slice(br(1, 3)), Some(&[1u8, 2][..]));
        assert_eq!(a.slice(br(10, 14)), Some(&[10u8, 11, 12, 13][..]));
        assert_eq!(a.slice(br(3, 11)), None);
        assert_eq!(a.discard(br(11, 12)), vec![1, 2]);
        assert_eq!(a.missing(), vec![br(10, 14)]);
        let bufs = a.into_buffers();
        assert_eq!(bufs.len(), 2);
    }

    #[test]
    fn merging() {
        assert_eq!(
            merge(&[br(5, 6), br(0, 2), br(2, 3), br(1, 2)]),
            vec![br(0, 3), br(5, 6)]
        );
        assert_eq!(merge(&[]), vec![]);
    }

    #[test]
    fn writes_outside_or_overflowing_are_ignored() {
        let mut a = Assembly::new(vec![br(10, 20)]);
        assert_eq!(a.write(0, &[1; 5], 0), 0);
        assert_eq!(a.write(u64::MAX - 1, &[1; 5], 0), 0);
        assert_eq!(a.write(18, &[1; 5], 0), 2);
    }
}
