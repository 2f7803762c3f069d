//! Byte ranges, the `Range` request header, and the coalescing planner.
//!
//! The planner turns the ranges a reader needs into as few, cheap HTTP requests as the
//! caller's limits allow. It works like containers/storage's `mergeMissingChunks`: gaps up to
//! a threshold are always bridged (fetching a few unneeded bytes is cheaper than another
//! range), and when the result still does not fit the caps, the cheapest remaining gaps are
//! bridged first until it does.

use std::fmt;

use crate::error::{Error, Result};

/// A non-empty, half-open range of byte offsets `start..end` in a blob.
///
/// HTTP writes ranges with an inclusive last byte (`bytes=0-9` is ten bytes); this type
/// stores the exclusive end and converts at the edges ([`ByteRange::from_inclusive`],
/// [`ByteRange::last`], and [`fmt::Display`], which prints the HTTP form `first-last`).
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct ByteRange {
    start: u64,
    end: u64,
}

impl ByteRange {
    /// The range `start..end_exclusive`. Fails if it is empty or reversed.
    pub fn new(start: u64, end_exclusive: u64) -> Result<Self> {
        if start >= end_exclusive {
            return Err(Error::invalid_argument(
                "byte range",
                format!("{start}..{end_exclusive} is empty or reversed"),
            ));
        }
        Ok(Self {
            start,
            end: end_exclusive,
        })
    }

    /// The range of bytes `first..=last`, as HTTP writes it. Fails if `first > last` or if
    /// `last` is `u64::MAX` (the end would not be representable).
    pub fn from_inclusive(first: u64, last: u64) -> Result<Self> {
        let end = last.checked_add(1).ok_or_else(|| {
            Error::invalid_argument("byte range", format!("last byte {last} is too large"))
        })?;
        Self::new(first, end)
    }

    /// The `len` bytes starting at `start`. Fails if `len` is zero or the end overflows.
    pub fn with_len(start: u64, len: u64) -> Result<Self> {
        let end = start.checked_add(len).ok_or_else(|| {
            Error::invalid_argument("byte range", format!("{start} + {len} overflows"))
        })?;
        Self::new(start, end)
    }

    /// The first byte offset.
    pub const fn start(self) -> u64 {
        self.start
    }

    /// The offset one past the last byte.
    pub const fn end(self) -> u64 {
        self.end
    }

    /// The offset of the last byte (inclusive), as HTTP writes it.
    pub const fn last(self) -> u64 {
        // Invariant: end > start >= 0, so end >= 1.
        self.end - 1
    }

    /// The number of bytes, at least 1.
    pub const fn len(self) -> u64 {
        self.end - self.start
    }

    /// Always false: a `ByteRange` is never empty. Present for API symmetry with `len`.
    pub const fn is_empty(self) -> bool {
        false
    }

    /// Whether `offset` lies in the range.
    pub const fn contains(self, offset: u64) -> bool {
        self.start <= offset && offset < self.end
    }

    /// Whether every byte of `other` lies in `self`.
    pub const fn contains_range(self, other: ByteRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The bytes both ranges share, if any.
    pub fn intersection(self, other: ByteRange) -> Option<ByteRange> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(ByteRange { start, end })
    }

    /// The length of this range's HTTP form `first-last`, in bytes.
    fn spec_len(self) -> usize {
        decimal_len(self.start) + 1 + decimal_len(self.last())
    }
}

impl fmt::Display for ByteRange {
    /// Writes the HTTP form `first-last` (inclusive last byte).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.last())
    }
}

/// The value of a `Range` request header for `ranges`, in the given order:
/// `bytes=0-9` or `bytes=0-9,20-29`.
///
/// Fails if `ranges` is empty. Ranges are not merged or reordered; use [`plan_ranges`] for
/// that.
pub fn range_header_value(ranges: &[ByteRange]) -> Result<String> {
    if ranges.is_empty() {
        return Err(Error::invalid_argument(
            "ranges",
            "a Range header needs at least one range",
        ));
    }
    let mut value = String::with_capacity(header_len(ranges));
    value.push_str(RANGE_PREFIX);
    for (i, range) in ranges.iter().enumerate() {
        if i > 0 {
            value.push(',');
        }
        // Writing to a String cannot fail.
        value.push_str(&range.to_string());
    }
    Ok(value)
}

const RANGE_PREFIX: &str = "bytes=";

/// The longest possible single-range header value: `bytes=` and two 20-digit numbers.
pub const MIN_HEADER_LEN: usize = RANGE_PREFIX.len() + 20 + 1 + 20;

/// The length of [`range_header_value`] for `ranges`.
fn header_len(ranges: &[ByteRange]) -> usize {
    let specs: usize = ranges.iter().map(|r| r.spec_len()).sum();
    RANGE_PREFIX.len() + specs + ranges.len().saturating_sub(1)
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Limits and thresholds for [`plan_ranges`].
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Gaps of at most this many bytes between requested ranges are always fetched, so the
    /// neighbours become one range. Default 1024 (containers/storage's
    /// `autoMergePartsThreshold`).
    pub gap_threshold: u64,
    /// At most this many ranges in one request. Default 1024 (containers/storage's
    /// `maxNumberMissingChunks`). Lower it for servers that refuse many ranges (nginx
    /// `max_ranges`) or set it to 1 for servers that do not do multi-range at all.
    pub max_ranges_per_request: usize,
    /// At most this many bytes in one `Range` header value, `bytes=` included. Default 4096,
    /// well below the 8 KiB that common servers and CDNs allow for one header line. At least
    /// [`MIN_HEADER_LEN`].
    pub max_header_len: usize,
    /// At most this many requests in a plan. When the ranges do not fit, gaps larger than
    /// `gap_threshold` are bridged, cheapest first, until they do. Default 1 (one request,
    /// as containers/storage does); `usize::MAX` never bridges a gap above the threshold
    /// and splits into as many requests as needed instead.
    pub max_requests: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            gap_threshold: 1024,
            max_ranges_per_request: 1024,
            max_header_len: 4096,
            max_requests: 1,
        }
    }
}

impl PlanOptions {
    fn validate(&self) -> Result<()> {
        if self.max_ranges_per_request == 0 {
            return Err(Error::invalid_argument(
                "max_ranges_per_request",
                "must be at least 1",
            ));
        }
        if self.max_requests == 0 {
            return Err(Error::invalid_argument(
                "max_requests",
                "must be at least 1",
            ));
        }
        if self.max_header_len < MIN_HEADER_LEN {
            return Err(Error::invalid_argument(
                "max_header_len",
                format!("must be at least {MIN_HEADER_LEN}"),
            ));
        }
        Ok(())
    }
}

/// One planned request: sorted, disjoint, non-adjacent ranges that fit the caps.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RangeRequest {
    ranges: Vec<ByteRange>,
}

impl RangeRequest {
    /// The ranges to ask for, sorted by offset. Never empty.
    pub fn ranges(&self) -> &[ByteRange] {
        &self.ranges
    }

    /// The `Range` header value for this request.
    pub fn header_value(&self) -> String {
        // Invariant: a planned request has at least one range, so this cannot fail; fall
        // back to an empty string rather than panic.
        range_header_value(&self.ranges).unwrap_or_default()
    }

    /// The total number of bytes asked for.
    pub fn total_len(&self) -> u64 {
        self.ranges.iter().map(|r| r.len()).sum()
    }
}

/// The output of [`plan_ranges`]: requests in offset order.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct RangePlan {
    requests: Vec<RangeRequest>,
}

impl RangePlan {
    /// The planned requests, in offset order. Empty when nothing was requested.
    pub fn requests(&self) -> &[RangeRequest] {
        &self.requests
    }

    /// Consumes the plan, returning its requests.
    pub fn into_requests(self) -> Vec<RangeRequest> {
        self.requests
    }

    /// The total number of bytes all requests ask for (requested bytes plus bridged gaps).
    pub fn total_len(&self) -> u64 {
        self.requests.iter().map(RangeRequest::total_len).sum()
    }
}

/// Plans requests that fetch every byte of `requested`.
///
/// `requested` may be unsorted and may overlap. The plan:
///
/// * covers every requested byte, each requested range inside one planned range;
/// * merges overlapping and touching ranges and bridges every gap of at most
///   `gap_threshold` bytes;
/// * bridges a larger gap only when the caps force it, and then always the cheapest
///   (smallest, then leftmost) gaps first;
/// * keeps every request within `max_ranges_per_request` and `max_header_len`, and uses at
///   most `max_requests` requests.
///
/// Fails only if `options` is invalid.
pub fn plan_ranges(requested: &[ByteRange], options: &PlanOptions) -> Result<RangePlan> {
    options.validate()?;
    let merged = merge_touching(requested);
    if merged.is_empty() {
        return Ok(RangePlan::default());
    }
    // Gap i lies between merged[i] and merged[i + 1]; it is positive after merging.
    let gaps: Vec<u64> = merged
        .windows(2)
        .map(|w| match w {
            [a, b] => b.start - a.end,
            _ => 0,
        })
        .collect();
    // Gaps above the threshold, cheapest first (ties: leftmost first), to bridge on demand.
    let mut optional: Vec<usize> = (0..gaps.len())
        .filter(|&i| gaps.get(i).is_some_and(|&g| g > options.gap_threshold))
        .collect();
    optional.sort_by_key(|&i| (gaps.get(i).copied().unwrap_or(0), i));

    let bridge = |k: usize| -> Vec<ByteRange> {
        let mut bridged: Vec<bool> = gaps.iter().map(|&g| g <= options.gap_threshold).collect();
        for &i in optional.iter().take(k) {
            if let Some(b) = bridged.get_mut(i) {
                *b = true;
            }
        }
        join_bridged(&merged, &bridged)
    };
    let fits = |ranges: &[ByteRange]| count_requests(ranges, options) <= options.max_requests;

    let mut ranges = bridge(0);
    if !fits(&ranges) {
        // Invariant: bridging every optional gap leaves one range, whose header is at most
        // MIN_HEADER_LEN <= max_header_len, so `hi` always fits. Binary search the fewest
        // cheapest gaps to bridge.
        let (mut lo, mut hi) = (0, optional.len());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(&bridge(mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        ranges = bridge(hi);
    }
    Ok(RangePlan {
        requests: pack(ranges, options),
    })
}

/// Sorts `ranges` and merges the ones that overlap or touch.
fn merge_touching(ranges: &[ByteRange]) -> Vec<ByteRange> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut merged: Vec<ByteRange> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Joins `merged[i]` and `merged[i + 1]` wherever `bridged[i]` is set.
fn join_bridged(merged: &[ByteRange], bridged: &[bool]) -> Vec<ByteRange> {
    let mut out: Vec<ByteRange> = Vec::with_capacity(merged.len());
    for (i, r) in merged.iter().enumerate() {
        let join = i > 0 && bridged.get(i - 1).copied().unwrap_or(false);
        match out.last_mut() {
            Some(last) if join => last.end = r.end,
            _ => out.push(*r),
        }
    }
    out
}

/// How many requests [`pack`] would make.
fn count_requests(ranges: &[ByteRange], options: &PlanOptions) -> usize {
    let mut requests = 0;
    let mut packer = Packer::default();
    for r in ranges {
        if packer.push(*r, options) {
            requests += 1;
        }
    }
    requests
}

/// Packs sorted ranges greedily, in order, into requests that respect the caps.
fn pack(ranges: Vec<ByteRange>, options: &PlanOptions) -> Vec<RangeRequest> {
    let mut requests: Vec<RangeRequest> = Vec::new();
    let mut packer = Packer::default();
    for r in ranges {
        if packer.push(r, options) {
            requests.push(RangeRequest { ranges: Vec::new() });
        }
        if let Some(current) = requests.last_mut() {
            current.ranges.push(r);
        }
    }
    requests
}

/// Tracks the size of the request being filled.
#[derive(Default)]
struct Packer {
    count: usize,
    header_len: usize,
}

impl Packer {
    /// Adds a range; returns true if it had to start a new request.
    fn push(&mut self, r: ByteRange, options: &PlanOptions) -> bool {
        let spec = r.spec_len();
        let fits = self.count > 0
            && self.count < options.max_ranges_per_request
            && self.header_len + 1 + spec <= options.max_header_len;
        if fits {
            self.count += 1;
            self.header_len += 1 + spec;
            false
        } else {
            self.count = 1;
            self.header_len = RANGE_PREFIX.len() + spec;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange::new(start, end).unwrap()
    }

    #[test]
    fn byte_range_validation_and_accessors() {
        assert!(ByteRange::new(5, 5).is_err());
        assert!(ByteRange::new(6, 5).is_err());
        assert!(ByteRange::from_inclusive(0, u64::MAX).is_err());
        assert!(ByteRange::from_inclusive(3, 2).is_err());
        assert!(ByteRange::with_len(u64::MAX, 1).is_err());
        assert!(ByteRange::with_len(1, 0).is_err());
        let x = ByteRange::from_inclusive(10, 19).unwrap();
        assert_eq!((x.start(), x.end(), x.last(), x.len()), (10, 20, 19, 10));
        assert!(x.contains(10) && x.contains(19) && !x.contains(20) && !x.contains(9));
        assert!(x.contains_range(r(12, 20)) && !x.contains_range(r(12, 21)));
        assert_eq!(x.intersection(r(15, 30)), Some(r(15, 20)));
        assert_eq!(x.intersection(r(20, 30)), None);
        assert_eq!(x.to_string(), "10-19");
        let max = ByteRange::from_inclusive(u64::MAX - 1, u64::MAX - 1).unwrap();
        assert_eq!(max.to_string().len() + RANGE_PREFIX.len(), MIN_HEADER_LEN);
    }

    #[test]
    fn header_values() {
        assert!(range_header_value(&[]).is_err());
        assert_eq!(range_header_value(&[r(0, 10)]).unwrap(), "bytes=0-9");
        let rs = [r(20, 30), r(0, 1)];
        let v = range_header_value(&rs).unwrap();
        assert_eq!(v, "bytes=20-29,0-0");
        assert_eq!(v.len(), header_len(&rs));
    }

    #[test]
    fn planner_rejects_bad_options() {
        let mut o = PlanOptions {
            max_ranges_per_request: 0,
            ..PlanOptions::default()
        };
        assert!(plan_ranges(&[r(0, 1)], &o).is_err());
        o.max_ranges_per_request = 1;
        o.max_requests = 0;
        assert!(plan_ranges(&[r(0, 1)], &o).is_err());
        o.max_requests = 1;
        o.max_header_len = MIN_HEADER_LEN - 1;
        assert!(plan_ranges(&[r(0, 1)], &o).is_err());
    }

    #[test]
    fn planner_merges_small_gaps_and_overlaps() {
        let o = PlanOptions {
            gap_threshold: 10,
            ..PlanOptions::default()
        };
        assert!(plan_ranges(&[], &o).unwrap().requests().is_empty());
        let plan = plan_ranges(
            &[r(100, 200), r(0, 50), r(40, 60), r(70, 80), r(500, 501)],
            &o,
        )
        .unwrap();
        assert_eq!(plan.requests().len(), 1);
        let req = &plan.requests()[0];
        // 60..70 is a gap of exactly 10: bridged with threshold 10; 80..100 is not.
        assert_eq!(req.ranges(), &[r(0, 80), r(100, 200), r(500, 501)]);
        assert_eq!(req.header_value(), "bytes=0-79,100-199,500-500");
        let o = PlanOptions {
            gap_threshold: 20,
            ..o
        };
        let plan = plan_ranges(&[r(0, 60), r(70, 80), r(100, 200)], &o).unwrap();
        assert_eq!(plan.requests()[0].ranges(), &[r(0, 200)]);
        assert_eq!(plan.total_len(), 200);
    }

    #[test]
    fn planner_bridges_cheapest_gaps_when_capped() {
        let o = PlanOptions {
            gap_threshold: 0,
            max_ranges_per_request: 2,
            ..PlanOptions::default()
        };
        // Gaps: 100, 5, 50. Two ranges allowed: bridge 5 then 50.
        let plan = plan_ranges(&[r(0, 10), r(110, 120), r(125, 130), r(180, 190)], &o).unwrap();
        assert_eq!(plan.requests().len(), 1);
        assert_eq!(plan.requests()[0].ranges(), &[r(0, 10), r(110, 190)]);
        // With more requests allowed, nothing is bridged; split instead.
        let o = PlanOptions {
            max_requests: usize::MAX,
            ..o
        };
        let plan = plan_ranges(&[r(0, 10), r(110, 120), r(125, 130), r(180, 190)], &o).unwrap();
        assert_eq!(plan.requests().len(), 2);
        assert_eq!(plan.requests()[1].ranges(), &[r(125, 130), r(180, 190)]);
    }

    #[test]
    fn planner_respects_header_len() {
        let o = PlanOptions {
            gap_threshold: 0,
            max_header_len: MIN_HEADER_LEN,
            max_requests: usize::MAX,
            ..PlanOptions::default()
        };
        let ranges: Vec<_> = (0..10).map(|i| r(i * 1000, i * 1000 + 10)).collect();
        let plan = plan_ranges(&ranges, &o).unwrap();
        for req in plan.requests() {
            assert!(req.header_value().len() <= MIN_HEADER_LEN);
        }
        assert_eq!(
            plan.requests()
                .iter()
                .map(|q| q.ranges().len())
                .sum::<usize>(),
            10
        );
    }

    #[test]
    fn planner_scales_to_many_ranges() {
        // zstd:chunked asks for tens of thousands of ranges; gaps grow with the index so the
        // cheapest ones are the first.
        let mut offset = 0;
        let ranges: Vec<_> = (0..30_000u64)
            .map(|i| {
                let range = r(offset, offset + 100);
                offset += 100 + 2_000 + i;
                range
            })
            .collect();
        let plan = plan_ranges(&ranges, &PlanOptions::default()).unwrap();
        assert_eq!(plan.requests().len(), 1);
        let request = &plan.requests()[0];
        assert!(request.header_value().len() <= 4096);
        assert!(request.ranges().len() > 100);
        // Only the largest gaps (at the end) are left unbridged.
        let first = request.ranges()[0];
        assert_eq!(first.start(), 0);
        assert!(first.end() > ranges[ranges.len() - 400].end());
    }

    fn arb_ranges() -> impl Strategy<Value = Vec<ByteRange>> {
        prop::collection::vec((0u64..5_000, 1u64..300), 0..40).prop_map(|v| {
            v.into_iter()
                .map(|(s, l)| ByteRange::with_len(s, l).unwrap())
                .collect()
        })
    }

    fn arb_options() -> impl Strategy<Value = PlanOptions> {
        (
            0u64..200,
            1usize..6,
            MIN_HEADER_LEN..MIN_HEADER_LEN + 80,
            prop_oneof![1usize..4, Just(usize::MAX)],
        )
            .prop_map(|(gap, ranges, header, requests)| PlanOptions {
                gap_threshold: gap,
                max_ranges_per_request: ranges,
                max_header_len: header,
                max_requests: requests,
            })
    }

    proptest! {
        #[test]
        fn plan_properties(requested in arb_ranges(), o in arb_options()) {
            let plan = plan_ranges(&requested, &o).unwrap();
            let out: Vec<ByteRange> =
                plan.requests().iter().flat_map(|q| q.ranges().iter().copied()).collect();
            // Caps.
            prop_assert!(plan.requests().len() <= o.max_requests);
            for q in plan.requests() {
                prop_assert!(!q.ranges().is_empty());
                prop_assert!(q.ranges().len() <= o.max_ranges_per_request);
                prop_assert!(q.header_value().len() <= o.max_header_len);
                prop_assert_eq!(q.header_value().len(), header_len(q.ranges()));
            }
            // Sorted, disjoint, and separated by more than the threshold.
            for w in out.windows(2) {
                prop_assert!(w[1].start() > w[0].end());
                prop_assert!(w[1].start() - w[0].end() > o.gap_threshold);
            }
            // Every requested range lies inside one planned range.
            for q in &requested {
                prop_assert!(out.iter().any(|p| p.contains_range(*q)));
            }
            // Planned ranges start and end on requested boundaries (no stray bytes).
            for p in &out {
                prop_assert!(requested.iter().any(|q| q.start() == p.start()));
                prop_assert!(requested.iter().any(|q| q.end() == p.end()));
            }
            // Gaps above the threshold bridged inside planned ranges are never larger than a
            // gap left between planned ranges (cheapest first).
            let merged = merge_touching(&requested);
            let mut bridged_big = Vec::new();
            for w in merged.windows(2) {
                let gap = w[1].start() - w[0].end();
                let inside = out.iter().any(|p| p.contains_range(ByteRange::new(w[0].start(), w[1].end()).unwrap()));
                if inside && gap > o.gap_threshold {
                    bridged_big.push(gap);
                }
            }
            let unbridged_min = out.windows(2).map(|w| w[1].start() - w[0].end()).min();
            if let (Some(b), Some(u)) = (bridged_big.iter().max(), unbridged_min) {
                prop_assert!(*b <= u, "bridged {} > left {}", b, u);
            }
            // Without binding caps, no large gap is bridged.
            if o.max_requests == usize::MAX {
                prop_assert!(bridged_big.is_empty());
            }
        }
    }
}
