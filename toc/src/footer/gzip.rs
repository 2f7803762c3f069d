//! What the three gzip-based footers share: reading an RFC 1952 member header the way Go's
//! `compress/gzip` reads it, the 16-digit hex TOC offset, and the fixed bytes our footers
//! start and end with.

/// `FLG.FHCRC`: a CRC-16 of the header follows the optional fields.
const FHCRC: u8 = 0x02;
/// `FLG.FEXTRA`: an Extra field (`XLEN` + bytes) follows the fixed header.
const FEXTRA: u8 = 0x04;
/// `FLG.FNAME`: a NUL-terminated file name follows.
const FNAME: u8 = 0x08;
/// `FLG.FCOMMENT`: a NUL-terminated comment follows.
const FCOMMENT: u8 = 0x10;

/// The 10 fixed header bytes every footer we write starts with: magic, CM = deflate,
/// FLG = FEXTRA, MTIME = 0, XFL = 0, OS = 255 (unknown).
pub(super) const HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, FEXTRA, 0, 0, 0, 0, 0, 0xff];

/// What follows the Extra field in every footer we write: an empty final stored deflate
/// block (`01 0000 ffff`), then CRC-32 and ISIZE of the empty data (all zero).
pub(super) const EMPTY_BODY: [u8; 13] = [0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];

/// Largest TOC offset the reference can write or read: it is a Go `int64`.
pub(super) const MAX_OFFSET: u64 = i64::MAX as u64;

/// Reads the header of the gzip member at the start of `bytes` as Go's `gzip.NewReader`
/// does, and returns its Extra field (`None` if `FEXTRA` is clear).
///
/// Like Go: the magic and `CM = 8` are checked; FEXTRA, FNAME, FCOMMENT and FHCRC are
/// honoured (the header CRC is verified); the reserved flag bits, MTIME, XFL and OS are
/// ignored; nothing after the header (deflate data, CRC-32, ISIZE) is looked at.
pub(super) fn extra_field(bytes: &[u8]) -> Result<Option<&[u8]>, &'static str> {
    let mut header = Cursor::new(bytes);
    let fixed = header.take(10).ok_or("truncated gzip header")?;
    let (magic, rest) = fixed.split_at_checked(2).ok_or("truncated gzip header")?;
    if magic != [0x1f, 0x8b] {
        return Err("no gzip magic (1f 8b)");
    }
    let (&method, rest) = rest.split_first().ok_or("truncated gzip header")?;
    if method != 0x08 {
        return Err("gzip compression method is not deflate");
    }
    let &flags = rest.first().ok_or("truncated gzip header")?;

    let mut extra = None;
    if flags & FEXTRA != 0 {
        let xlen = header.take(2).ok_or("truncated gzip extra field")?;
        let xlen = match xlen {
            &[lo, hi] => usize::from(u16::from_le_bytes([lo, hi])),
            _ => return Err("truncated gzip extra field"),
        };
        extra = Some(header.take(xlen).ok_or("truncated gzip extra field")?);
    }
    if flags & FNAME != 0 {
        header
            .take_nul_terminated()
            .ok_or("unterminated gzip file name")?;
    }
    if flags & FCOMMENT != 0 {
        header
            .take_nul_terminated()
            .ok_or("unterminated gzip comment")?;
    }
    if flags & FHCRC != 0 {
        let covered = crc32(header.consumed());
        let stored = match header.take(2) {
            Some(&[lo, hi]) => u16::from_le_bytes([lo, hi]),
            _ => return Err("truncated gzip header CRC"),
        };
        // RFC 1952: the header CRC is the low 16 bits of the CRC-32 of the bytes before it.
        if u32::from(stored) != covered & 0xffff {
            return Err("gzip header CRC mismatch");
        }
    }
    Ok(extra)
}

/// Parses the 16-character TOC offset field like Go's `strconv.ParseInt(s, 16, 64)`.
///
/// Accepted, as in Go: upper- and lowercase hex digits, and one leading `+` or `-` (which
/// leaves 15 digits). Rejected, as in Go: anything else (spaces, `0x`, `_`) and values
/// above `i64::MAX`. Unlike Go, a negative value is rejected here because a TOC cannot
/// start before the blob; `-000000000000000` is zero in Go and is accepted as zero.
pub(super) fn parse_offset(field: &[u8]) -> Result<u64, &'static str> {
    const NOT_HEX: &str = "TOC offset is not a hex number";
    let (negative, digits) = match field.split_first() {
        Some((b'+', rest)) => (false, rest),
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    if digits.is_empty() {
        return Err(NOT_HEX);
    }
    let mut value: u64 = 0;
    for &c in digits {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return Err(NOT_HEX),
        };
        value = value
            .checked_mul(16)
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or("TOC offset does not fit in an i64")?;
    }
    if negative && value != 0 {
        return Err("TOC offset is negative");
    }
    if value > MAX_OFFSET {
        return Err("TOC offset does not fit in an i64");
    }
    Ok(value)
}

/// Formats `offset` as Go's `%016x` does for a non-negative value: 16 lowercase hex digits,
/// zero-padded.
pub(super) fn format_offset(offset: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; 16];
    let mut rest = offset;
    for slot in out.iter_mut().rev() {
        // `rest & 0xf` is below 16, so `get` always finds a digit.
        if let Some(&digit) = usize::try_from(rest & 0xf).ok().and_then(|i| DIGITS.get(i)) {
            *slot = digit;
        }
        rest >>= 4;
    }
    out
}

/// The bit-at-a-time IEEE CRC-32 (the one gzip uses). Only ever run over a few dozen
/// header bytes, so no table.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// A forward-only reader over a byte slice that remembers what it has consumed.
struct Cursor<'a> {
    all: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(all: &'a [u8]) -> Self {
        Self { all, pos: 0 }
    }

    /// The next `n` bytes, or `None` if fewer remain.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let taken = self.all.get(self.pos..end)?;
        self.pos = end;
        Some(taken)
    }

    /// The bytes up to and including the next NUL, or `None` if there is no NUL.
    fn take_nul_terminated(&mut self) -> Option<&'a [u8]> {
        let rest = self.all.get(self.pos..)?;
        let nul = rest.iter().position(|&b| b == 0)?;
        self.take(nul.checked_add(1)?)
    }

    /// Everything consumed so far.
    fn consumed(&self) -> &'a [u8] {
        self.all.get(..self.pos).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn offsets_parse_like_go_parse_int() {
        assert_eq!(parse_offset(b"0000000000002b36"), Ok(0x2b36));
        assert_eq!(parse_offset(b"0000000000002B36"), Ok(0x2b36));
        assert_eq!(parse_offset(b"+000000000002b36"), Ok(0x2b36));
        assert_eq!(parse_offset(b"-000000000000000"), Ok(0));
        assert_eq!(parse_offset(b"7fffffffffffffff"), Ok(MAX_OFFSET));
        assert_eq!(
            parse_offset(b"-000000000002b36"),
            Err("TOC offset is negative")
        );
        assert_eq!(
            parse_offset(b"8000000000000000"),
            Err("TOC offset does not fit in an i64")
        );
        assert_eq!(
            parse_offset(b"ffffffffffffffff"),
            Err("TOC offset does not fit in an i64")
        );
        for bad in [
            &b"0x00000000002b36"[..],
            b"00000000_0002b36",
            b" 000000000002b36",
            b"++00000000002b36",
            b"+",
            b"-",
            b"",
            b"000000000000002g",
        ] {
            assert_eq!(parse_offset(bad), Err("TOC offset is not a hex number"));
        }
    }

    #[test]
    fn offsets_format_like_go_percent_016x() {
        assert_eq!(&format_offset(0), b"0000000000000000");
        assert_eq!(&format_offset(0x2b36), b"0000000000002b36");
        assert_eq!(&format_offset(u64::MAX), b"ffffffffffffffff");
    }

    fn member(flags: u8, optional: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 0xff];
        bytes.extend_from_slice(optional);
        bytes
    }

    #[test]
    fn header_flags_are_honoured() {
        // FEXTRA + FNAME + FCOMMENT + FHCRC with a correct CRC.
        let mut bytes = member(FEXTRA | FNAME | FCOMMENT | FHCRC, b"\x02\x00ab" as &[u8]);
        bytes.extend_from_slice(b"name\0comment\0");
        let crc = crc32(&bytes).to_le_bytes();
        bytes.extend_from_slice(&crc[..2]);
        bytes.extend_from_slice(&EMPTY_BODY);
        assert_eq!(extra_field(&bytes), Ok(Some(&b"ab"[..])));

        // Flip one CRC bit.
        let crc_at = bytes.len() - EMPTY_BODY.len() - 2;
        bytes[crc_at] ^= 1;
        assert_eq!(extra_field(&bytes), Err("gzip header CRC mismatch"));
        bytes.truncate(crc_at + 1);
        assert_eq!(extra_field(&bytes), Err("truncated gzip header CRC"));

        // Reserved flag bits are ignored, as Go does.
        assert_eq!(extra_field(&member(0xe0, b"")), Ok(None));
    }

    #[test]
    fn every_header_error() {
        assert_eq!(extra_field(b""), Err("truncated gzip header"));
        assert_eq!(
            extra_field(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0]),
            Err("truncated gzip header")
        );
        let mut bad_magic = member(0, b"");
        bad_magic[1] = 0x8c;
        assert_eq!(extra_field(&bad_magic), Err("no gzip magic (1f 8b)"));
        let mut bad_method = member(0, b"");
        bad_method[2] = 7;
        assert_eq!(
            extra_field(&bad_method),
            Err("gzip compression method is not deflate")
        );
        assert_eq!(
            extra_field(&member(FEXTRA, b"\x05")),
            Err("truncated gzip extra field")
        );
        assert_eq!(
            extra_field(&member(FEXTRA, b"\x05\x00abcd")),
            Err("truncated gzip extra field")
        );
        assert_eq!(
            extra_field(&member(FNAME, b"abc")),
            Err("unterminated gzip file name")
        );
        assert_eq!(
            extra_field(&member(FCOMMENT, b"abc")),
            Err("unterminated gzip comment")
        );
        assert_eq!(extra_field(&member(FEXTRA, b"\x00\x00")), Ok(Some(&[][..])));
    }
}
