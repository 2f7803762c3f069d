//! PAX records (`"<len> key=value\n"`), Go-style decimal integers and PAX times.

use std::collections::BTreeMap;

use super::{PaxRecord, TarTime};

pub(crate) const PATH: &[u8] = b"path";
pub(crate) const LINKPATH: &[u8] = b"linkpath";
pub(crate) const SIZE: &[u8] = b"size";
pub(crate) const UID: &[u8] = b"uid";
pub(crate) const GID: &[u8] = b"gid";
pub(crate) const UNAME: &[u8] = b"uname";
pub(crate) const GNAME: &[u8] = b"gname";
pub(crate) const MTIME: &[u8] = b"mtime";
pub(crate) const ATIME: &[u8] = b"atime";
pub(crate) const CTIME: &[u8] = b"ctime";
pub(crate) const SCHILY_XATTR: &[u8] = b"SCHILY.xattr.";
pub(crate) const GNU_SPARSE: &[u8] = b"GNU.sparse.";
pub(crate) const GNU_SPARSE_NUMBLOCKS: &[u8] = b"GNU.sparse.numblocks";
pub(crate) const GNU_SPARSE_OFFSET: &[u8] = b"GNU.sparse.offset";
pub(crate) const GNU_SPARSE_NUMBYTES: &[u8] = b"GNU.sparse.numbytes";
pub(crate) const GNU_SPARSE_MAP: &[u8] = b"GNU.sparse.map";
pub(crate) const GNU_SPARSE_NAME: &[u8] = b"GNU.sparse.name";
pub(crate) const GNU_SPARSE_MAJOR: &[u8] = b"GNU.sparse.major";
pub(crate) const GNU_SPARSE_MINOR: &[u8] = b"GNU.sparse.minor";
pub(crate) const GNU_SPARSE_SIZE: &[u8] = b"GNU.sparse.size";
pub(crate) const GNU_SPARSE_REALSIZE: &[u8] = b"GNU.sparse.realsize";

/// The keys that map to header fields (Go's `basicKeys`).
pub(crate) fn is_basic_key(k: &[u8]) -> bool {
    [
        PATH, LINKPATH, SIZE, UID, GID, UNAME, GNAME, MTIME, ATIME, CTIME,
    ]
    .contains(&k)
}

/// Go's `validPAXRecord`: non-empty key without `=`; no NUL in the key, nor in the value of
/// the string keys.
pub(crate) fn valid_record(k: &[u8], v: &[u8]) -> bool {
    if k.is_empty() || k.contains(&b'=') {
        return false;
    }
    if [PATH, LINKPATH, UNAME, GNAME].contains(&k) {
        !v.contains(&0)
    } else {
        !k.contains(&0)
    }
}

/// Parses the payload of a PAX extended header into records, in order.
///
/// Old GNU sparse 0.0 records (`GNU.sparse.offset`/`numbytes`) are kept as they are but
/// checked to alternate, as Go requires.
pub(crate) fn parse_records(mut s: &[u8]) -> Result<Vec<PaxRecord>, &'static str> {
    let mut out = Vec::new();
    let mut sparse_pairs = 0usize;
    while !s.is_empty() {
        let sp = s
            .iter()
            .position(|&c| c == b' ')
            .ok_or("record without length")?;
        let n_str = s.get(..sp).ok_or("record without length")?;
        let n = parse_go_int(n_str).ok_or("bad record length")?;
        let n = usize::try_from(n).map_err(|_| "bad record length")?;
        if n < 5 || n > s.len() {
            return Err("bad record length");
        }
        // Index of the newline in `s`.
        let nl = n.checked_sub(1).ok_or("bad record length")?;
        if nl <= sp {
            return Err("bad record length");
        }
        let rec = s.get(sp + 1..nl).ok_or("bad record length")?;
        if s.get(nl) != Some(&b'\n') {
            return Err("record not terminated by a newline");
        }
        let eq = rec
            .iter()
            .position(|&c| c == b'=')
            .ok_or("record without '='")?;
        let (k, v) = (
            rec.get(..eq).unwrap_or(&[]),
            rec.get(eq + 1..).unwrap_or(&[]),
        );
        if !valid_record(k, v) {
            return Err("invalid key or value");
        }
        if k == GNU_SPARSE_OFFSET || k == GNU_SPARSE_NUMBYTES {
            let want = if sparse_pairs.is_multiple_of(2) {
                GNU_SPARSE_OFFSET
            } else {
                GNU_SPARSE_NUMBYTES
            };
            if k != want || v.contains(&b',') {
                return Err("bad GNU sparse 0.0 records");
            }
            sparse_pairs += 1;
        }
        out.push(PaxRecord {
            key: k.to_vec(),
            value: v.to_vec(),
        });
        s = s.get(n..).unwrap_or(&[]);
    }
    Ok(out)
}

/// The records as Go's `map[string]string`: the last record of a key wins, and GNU sparse
/// 0.0 offset/numbytes records are folded into one `GNU.sparse.map` record.
pub(crate) fn record_map(records: &[PaxRecord]) -> BTreeMap<&[u8], std::borrow::Cow<'_, [u8]>> {
    use std::borrow::Cow;
    let mut map: BTreeMap<&[u8], Cow<'_, [u8]>> = BTreeMap::new();
    let mut sparse: Vec<&[u8]> = Vec::new();
    for r in records {
        let k = r.key.as_slice();
        if k == GNU_SPARSE_OFFSET || k == GNU_SPARSE_NUMBYTES {
            sparse.push(&r.value);
        } else {
            map.insert(k, Cow::Borrowed(r.value.as_slice()));
        }
    }
    if !sparse.is_empty() {
        map.insert(GNU_SPARSE_MAP, Cow::Owned(sparse.join(&b',')));
    }
    map
}

/// Appends one record, with Go's length computation.
pub(crate) fn format_record(k: &[u8], v: &[u8], out: &mut Vec<u8>) {
    const PADDING: usize = 3; // ' ', '=' and '\n'
    let mut size = k.len() + v.len() + PADDING;
    size += size.to_string().len();
    let mut len = size.to_string();
    // Adding the length digits may have added a digit to the length itself.
    let total = len.len() + 1 + k.len() + 1 + v.len() + 1;
    if total != size {
        len = total.to_string();
    }
    out.extend_from_slice(len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(k);
    out.push(b'=');
    out.extend_from_slice(v);
    out.push(b'\n');
}

/// Go's `strconv.ParseInt(s, 10, 64)`: optional sign, at least one decimal digit.
pub(crate) fn parse_go_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut x: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        x = x.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if x > 1u64 << 63 {
            return None;
        }
        Some((x as i64).wrapping_neg())
    } else {
        i64::try_from(x).ok()
    }
}

/// Go's `parsePAXTime`: `secs[.fraction]`, fraction truncated to nanoseconds.
/// Returns `(secs, nanos)` normalised so that `0 <= nanos < 1e9`.
pub(crate) fn parse_time(s: &[u8]) -> Option<(i64, u32)> {
    let (ss, sn) = match s.iter().position(|&c| c == b'.') {
        Some(i) => (s.get(..i)?, s.get(i + 1..)?),
        None => (s, &[][..]),
    };
    let secs = parse_go_int(ss)?;
    if sn.is_empty() {
        return Some((secs, 0));
    }
    if !sn.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut nanos: u32 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + sn.get(i).map_or(0, |&c| u32::from(c - b'0'));
    }
    if ss.first() == Some(&b'-') && nanos > 0 {
        Some((secs.checked_sub(1)?, 1_000_000_000 - nanos))
    } else {
        Some((secs, nanos))
    }
}

/// Go's `formatPAXTime`.
pub(crate) fn format_time(t: TarTime) -> Vec<u8> {
    let (secs, nanos) = (t.secs(), t.nanos());
    if nanos == 0 {
        return secs.to_string().into_bytes();
    }
    let s = if secs < 0 {
        // -(secs + 1) cannot overflow: secs + 1 > i64::MIN.
        format!("-{}.{:09}", -(secs + 1), 1_000_000_000 - nanos)
    } else {
        format!("{secs}.{nanos:09}")
    };
    s.trim_end_matches('0').as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: &str, v: &str) -> Vec<u8> {
        let mut out = Vec::new();
        format_record(k.as_bytes(), v.as_bytes(), &mut out);
        out
    }

    #[test]
    fn record_lengths_match_go() {
        assert_eq!(rec("path", "foo"), b"12 path=foo\n");
        // The length digits themselves can push the record from 2 to 3 digits.
        let v = "a".repeat(91);
        let r = rec("path", &v);
        assert_eq!(&r[..4], b"101 ");
        assert_eq!(r.len(), 101);
        let v = "a".repeat(90);
        let r = rec("path", &v);
        assert_eq!(r.len(), 99);
        assert_eq!(&r[..3], b"99 ");
    }

    #[test]
    fn parse_records_ok_and_bad() {
        let mut data = rec("path", "a/b");
        data.extend(rec("SCHILY.xattr.user.x", "v\0w"));
        let r = parse_records(&data).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].value, b"v\0w");
        assert!(parse_records(b"5 a=\n").is_ok());
        assert!(parse_records(b"4 a=\n").is_err());
        assert!(parse_records(b"6 a=b\nx").is_err());
        assert!(parse_records(b"6 =b\n").is_err());
        assert!(parse_records(b"99 a=b\n").is_err());
        assert!(parse_records(b"\0\0").is_err());
        assert!(parse_records(b"11 path=a\0\n").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"1.5"), Some((1, 500_000_000)));
        assert_eq!(parse_time(b"-1.5"), Some((-2, 500_000_000)));
        assert_eq!(parse_time(b"-0.5"), Some((-1, 500_000_000)));
        assert_eq!(parse_time(b"12."), Some((12, 0)));
        assert_eq!(parse_time(b"1.1234567899"), Some((1, 123_456_789)));
        assert_eq!(parse_time(b".5"), None);
        assert_eq!(parse_time(b"1.5x"), None);
        let t = |s, n| TarTime::new(s, n).unwrap();
        assert_eq!(format_time(t(1, 500_000_000)), b"1.5");
        assert_eq!(format_time(t(-2, 500_000_000)), b"-1.5");
        assert_eq!(format_time(t(7, 0)), b"7");
    }

    #[test]
    fn go_ints() {
        assert_eq!(parse_go_int(b"+5"), Some(5));
        assert_eq!(parse_go_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_go_int(b"9223372036854775808"), None);
        assert_eq!(parse_go_int(b""), None);
        assert_eq!(parse_go_int(b"-"), None);
        assert_eq!(parse_go_int(b"1_0"), None);
    }
}
