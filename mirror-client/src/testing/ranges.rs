//! Range replies as a plain origin would send them: 200, 206, `multipart/byteranges`, 416.

/// The multipart boundary of every multi-range reply.
pub(super) const BOUNDARY: &str = "QUIRK";

/// A reply ready to write: status, extra headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Prepared {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Prepared {
    pub(super) fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

/// Parses a `Range` value (`bytes=a-b,c-,-n`) against a blob of `len` bytes into
/// inclusive pairs, in the order asked. Specs that cannot be parsed are dropped;
/// unsatisfiable ones are kept as `(start, end)` with `start > end` or `end >= len`.
pub(super) fn parse_ranges(value: &str, len: usize) -> Vec<(usize, usize)> {
    let Some(specs) = value.trim().strip_prefix("bytes=") else {
        return Vec::new();
    };
    specs
        .split(',')
        .filter_map(|spec| {
            let (a, b) = spec.trim().split_once('-')?;
            match (a.parse::<usize>().ok(), b.parse::<usize>().ok()) {
                (Some(a), Some(b)) => Some((a, b)),
                (Some(a), None) if b.is_empty() => Some((a, len.saturating_sub(1).max(a))),
                (None, Some(n)) if a.is_empty() && n > 0 => {
                    Some((len.saturating_sub(n), len.checked_sub(1)?))
                }
                _ => None,
            }
        })
        .collect()
}

/// Whether `value` is one suffix range (`bytes=-N`) longer than a blob of `len` bytes.
pub(super) fn is_long_suffix(value: &str, len: usize) -> bool {
    value
        .trim()
        .strip_prefix("bytes=-")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .is_some_and(|n| n > len)
}

/// The reply to `ranges` of `blob`: 200 with everything when no range was asked for,
/// 206 for one satisfiable range, `multipart/byteranges` for several, 416 for none.
/// Several ranges that add up to more than the blob get a 200 with the blob instead, as
/// Go's `net/http` (and so distribution) answers; this also bounds the reply's size.
/// With `star_total`, `Content-Range` says `/*` instead of the length.
pub(super) fn prepare(blob: &[u8], ranges: &[(usize, usize)], star_total: bool) -> Prepared {
    let total = blob.len();
    let total_text = if star_total {
        "*".to_owned()
    } else {
        total.to_string()
    };
    let valid: Vec<(usize, usize)> = ranges
        .iter()
        .copied()
        .filter(|&(a, b)| a <= b && b < total)
        .collect();
    let asked: usize = valid
        .iter()
        .fold(0, |sum, &(a, b)| sum.saturating_add(b - a + 1));
    match valid.as_slice() {
        [] if ranges.is_empty() => whole(blob),
        [_, _, ..] if asked > total => whole(blob),
        [] => Prepared {
            status: 416,
            headers: vec![("Content-Range".to_owned(), format!("bytes */{total}"))],
            body: Vec::new(),
        },
        [(a, b)] => Prepared {
            status: 206,
            headers: vec![(
                "Content-Range".to_owned(),
                format!("bytes {a}-{b}/{total_text}"),
            )],
            body: slice(blob, *a, *b).to_vec(),
        },
        many => {
            let mut body = Vec::new();
            for &(a, b) in many {
                let part_head = format!(
                    "--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\n\
                     Content-Range: bytes {a}-{b}/{total_text}\r\n\r\n"
                );
                body.extend_from_slice(part_head.as_bytes());
                body.extend_from_slice(slice(blob, a, b));
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
            Prepared {
                status: 206,
                headers: vec![(
                    "Content-Type".to_owned(),
                    format!("multipart/byteranges; boundary={BOUNDARY}"),
                )],
                body,
            }
        }
    }
}

fn whole(blob: &[u8]) -> Prepared {
    Prepared {
        status: 200,
        headers: Vec::new(),
        body: blob.to_vec(),
    }
}

/// `blob[a..=b]`, empty if out of bounds (callers pass validated ranges).
fn slice(blob: &[u8], a: usize, b: usize) -> &[u8] {
    blob.get(a..=b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_closed_open_and_suffix_ranges() {
        assert_eq!(
            parse_ranges("bytes=0-9, 20-, -5,x-1,3", 100),
            [(0, 9), (20, 99), (95, 99)]
        );
        assert_eq!(parse_ranges("items=0-1", 100), []);
        assert_eq!(parse_ranges("bytes=-0", 100), []);
        // Suffix longer than the blob: the whole blob.
        assert_eq!(parse_ranges("bytes=-500", 100), [(0, 99)]);
        // Nothing to suffix in an empty blob; an open range stays unsatisfiable.
        assert_eq!(parse_ranges("bytes=-1,0-", 0), [(0, 0)]);
    }

    #[test]
    fn long_suffixes_are_recognised() {
        assert!(is_long_suffix("bytes=-500", 100));
        assert!(!is_long_suffix("bytes=-100", 100));
        assert!(!is_long_suffix("bytes=0-500", 100));
        assert!(!is_long_suffix("bytes=-500,0-1", 100));
    }

    #[test]
    fn replies_by_range_count() {
        let blob: Vec<u8> = (0..10).collect();
        assert_eq!(prepare(&blob, &[], false).status, 200);
        let one = prepare(&blob, &[(2, 4)], true);
        assert_eq!((one.status, one.body.as_slice()), (206, &[2, 3, 4][..]));
        assert_eq!(one.header_pairs(), [("Content-Range", "bytes 2-4/*")]);
        let none = prepare(&blob, &[(5, 2), (10, 12)], false);
        assert_eq!(none.status, 416);
        // More bytes than the blob holds: the whole blob, once.
        let overlapping = prepare(&blob, &[(0, 9), (0, 9), (5, 5)], false);
        assert_eq!((overlapping.status, overlapping.body.len()), (200, 10));
        let many = prepare(&blob, &[(0, 0), (9, 9)], false);
        let text = String::from_utf8_lossy(&many.body).into_owned();
        assert!(text.contains("Content-Range: bytes 9-9/10\r\n\r\n\u{9}\r\n--QUIRK--"));
    }
}
