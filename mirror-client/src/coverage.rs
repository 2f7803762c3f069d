//! Checking the parts a server sent against the ranges that were asked for.
//!
//! Servers answer multi-range requests in many ways (spec §2.7): parts in any order, several
//! requested ranges merged into one part, only the first range served, or a single covering
//! range. [`check_coverage`] accepts all of these, rejects what cannot be right (parts that
//! overlap each other, lie past the end of the blob, or hold none of the requested bytes),
//! and says which requested ranges are complete and which bytes must be asked for again.

use crate::error::{Error, Result};
use crate::range::ByteRange;

const WHAT: &str = "reply parts";

/// What a set of received parts covers of a set of requested ranges.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct CoverageReport {
    satisfied: Vec<usize>,
    missing: Vec<ByteRange>,
}

impl CoverageReport {
    /// Indices (into the requested ranges) of the ranges every byte of which was received,
    /// in increasing order.
    pub fn satisfied(&self) -> &[usize] {
        &self.satisfied
    }

    /// The requested bytes that were not received, sorted and merged: what to ask for again.
    pub fn missing(&self) -> &[ByteRange] {
        &self.missing
    }

    /// Whether every requested byte was received.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Compares the `parts` a reply carried (in the order received) with the `requested` ranges.
///
/// `complete_length` is the blob's length when known (from the descriptor or a
/// `Content-Range`); parts reaching past it are rejected.
///
/// Fails with [`Error::BadReply`] if two parts overlap, a part lies past the end, or a part
/// holds none of the requested bytes.
pub fn check_coverage(
    requested: &[ByteRange],
    parts: &[ByteRange],
    complete_length: Option<u64>,
) -> Result<CoverageReport> {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    for w in sorted.windows(2) {
        if let [a, b] = w
            && b.start() < a.end()
        {
            return Err(Error::bad_reply(
                WHAT,
                None,
                format!("parts {a} and {b} overlap"),
            ));
        }
    }
    if let Some(n) = complete_length
        && let Some(p) = sorted.iter().find(|p| p.end() > n)
    {
        return Err(Error::bad_reply(
            WHAT,
            None,
            format!("part {p} reaches past the end of the {n}-byte blob"),
        ));
    }
    let mut wanted = requested.to_vec();
    wanted.sort_unstable();
    for p in &sorted {
        // `wanted` is sorted by start, and requested ranges may overlap, so any of the ones
        // that start before `p` ends may intersect it. The part count is bounded by the
        // multipart limits, so this scan stays cheap.
        let useful = wanted
            .iter()
            .take_while(|w| w.start() < p.end())
            .any(|w| w.intersection(*p).is_some());
        if !useful {
            return Err(Error::bad_reply(
                WHAT,
                None,
                format!("part {p} holds none of the requested bytes"),
            ));
        }
    }

    let mut satisfied = Vec::new();
    let mut missing = Vec::new();
    for (index, want) in requested.iter().enumerate() {
        let before = missing.len();
        subtract(*want, &sorted, &mut missing);
        if missing.len() == before {
            satisfied.push(index);
        }
    }
    Ok(CoverageReport {
        satisfied,
        missing: merge(missing),
    })
}

/// Appends to `out` the pieces of `want` not covered by the sorted, disjoint `parts`.
fn subtract(want: ByteRange, parts: &[ByteRange], out: &mut Vec<ByteRange>) {
    let first = parts.partition_point(|p| p.end() <= want.start());
    let mut cursor = want.start();
    for p in parts.iter().skip(first) {
        if p.start() >= want.end() {
            break;
        }
        if p.start() > cursor
            && let Ok(gap) = ByteRange::new(cursor, p.start())
        {
            out.push(gap);
        }
        cursor = cursor.max(p.end());
        if cursor >= want.end() {
            return;
        }
    }
    if let Ok(rest) = ByteRange::new(cursor, want.end()) {
        out.push(rest);
    }
}

/// Sorts and merges overlapping or touching ranges.
fn merge(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort_unstable();
    let mut out: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start() <= last.end() => {
                if r.end() > last.end()
                    && let Ok(joined) = ByteRange::new(last.start(), r.end())
                {
                    *last = joined;
                }
            }
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange::new(start, end).unwrap()
    }

    #[test]
    fn exact_parts_in_any_order() {
        let req = [r(0, 10), r(20, 30), r(40, 50)];
        let rep = check_coverage(&req, &[r(40, 50), r(0, 10), r(20, 30)], Some(100)).unwrap();
        assert_eq!(rep.satisfied(), &[0, 1, 2]);
        assert!(rep.is_complete());
    }

    #[test]
    fn merged_parts_and_first_range_only() {
        let req = [r(20, 30), r(0, 10), r(40, 50)];
        // Server merged the first two requested ranges into one part.
        let rep = check_coverage(&req, &[r(0, 30)], None).unwrap();
        assert_eq!(rep.satisfied(), &[0, 1]);
        assert_eq!(rep.missing(), &[r(40, 50)]);
        // First-range-only server (Dragonfly): served only what was first in the header.
        let rep = check_coverage(&req, &[r(20, 30)], None).unwrap();
        assert_eq!(rep.satisfied(), &[0]);
        assert_eq!(rep.missing(), &[r(0, 10), r(40, 50)]);
        // A truncated part leaves the tail missing.
        let rep = check_coverage(&[r(0, 10)], &[r(0, 4)], None).unwrap();
        assert!(rep.satisfied().is_empty());
        assert_eq!(rep.missing(), &[r(4, 10)]);
        // A requested range split over two adjacent parts is satisfied.
        let rep = check_coverage(&[r(0, 10)], &[r(5, 10), r(0, 5)], None).unwrap();
        assert_eq!(rep.satisfied(), &[0]);
        // No parts at all.
        let rep = check_coverage(&req, &[], None).unwrap();
        assert_eq!(rep.missing(), &[r(0, 10), r(20, 30), r(40, 50)]);
    }

    #[test]
    fn rejects_bad_parts() {
        let req = [r(0, 10), r(20, 30)];
        assert!(check_coverage(&req, &[r(0, 10), r(5, 25)], None).is_err());
        assert!(check_coverage(&req, &[r(0, 10), r(20, 31)], Some(30)).is_err());
        assert!(check_coverage(&req, &[r(0, 10), r(12, 18)], None).is_err());
        assert!(check_coverage(&req, &[r(0, 10), r(20, 30)], Some(30)).is_ok());
    }

    proptest! {
        #[test]
        fn missing_is_exactly_the_uncovered_requested_bytes(
            req in prop::collection::vec((0u64..200, 1u64..30), 1..8),
            parts in prop::collection::vec((0u64..200, 1u64..40), 0..8),
        ) {
            let req: Vec<_> = req.into_iter().map(|(s, l)| ByteRange::with_len(s, l).unwrap()).collect();
            let parts: Vec<_> = parts.into_iter().map(|(s, l)| ByteRange::with_len(s, l).unwrap()).collect();
            let Ok(rep) = check_coverage(&req, &parts, None) else { return Ok(()) };
            for b in 0u64..240 {
                let wanted = req.iter().any(|q| q.contains(b));
                let got = parts.iter().any(|p| p.contains(b));
                let missing = rep.missing().iter().any(|m| m.contains(b));
                prop_assert_eq!(missing, wanted && !got);
            }
            for (i, q) in req.iter().enumerate() {
                let full = (q.start()..q.end()).all(|b| parts.iter().any(|p| p.contains(b)));
                prop_assert_eq!(rep.satisfied().contains(&i), full);
            }
        }
    }
}
