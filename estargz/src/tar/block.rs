//! The 512-byte header block: field layout, numbers, strings and checksums.
//!
//! All field ranges are constants inside a `[u8; 512]`, so slicing a [`Block`] with them
//! cannot panic.

use std::ops::Range;

/// Size of a tar block.
pub(crate) const BLOCK_SIZE: usize = 512;

/// One header block.
pub(crate) type Block = [u8; BLOCK_SIZE];

pub(crate) const NAME: Range<usize> = 0..100;
pub(crate) const MODE: Range<usize> = 100..108;
pub(crate) const UID: Range<usize> = 108..116;
pub(crate) const GID: Range<usize> = 116..124;
pub(crate) const SIZE: Range<usize> = 124..136;
pub(crate) const MTIME: Range<usize> = 136..148;
pub(crate) const CHKSUM: Range<usize> = 148..156;
pub(crate) const TYPEFLAG: usize = 156;
pub(crate) const LINKNAME: Range<usize> = 157..257;
pub(crate) const MAGIC: Range<usize> = 257..263;
pub(crate) const VERSION: Range<usize> = 263..265;
pub(crate) const UNAME: Range<usize> = 265..297;
pub(crate) const GNAME: Range<usize> = 297..329;
pub(crate) const DEVMAJOR: Range<usize> = 329..337;
pub(crate) const DEVMINOR: Range<usize> = 337..345;
/// USTAR prefix.
pub(crate) const PREFIX: Range<usize> = 345..500;
pub(crate) const GNU_ATIME: Range<usize> = 345..357;
pub(crate) const GNU_CTIME: Range<usize> = 357..369;
/// Old GNU sparse map in the main header: 4 entries of 24 bytes, then the "extended" flag.
pub(crate) const GNU_SPARSE: Range<usize> = 386..483;
pub(crate) const GNU_REALSIZE: Range<usize> = 483..495;
pub(crate) const STAR_PREFIX: Range<usize> = 345..476;
pub(crate) const STAR_ATIME: Range<usize> = 476..488;
pub(crate) const STAR_CTIME: Range<usize> = 488..500;
pub(crate) const STAR_TRAILER: Range<usize> = 508..512;

pub(crate) const MAGIC_USTAR: &[u8] = b"ustar\0";
pub(crate) const VERSION_USTAR: &[u8] = b"00";
pub(crate) const MAGIC_GNU: &[u8] = b"ustar ";
pub(crate) const VERSION_GNU: &[u8] = b" \0";
pub(crate) const TRAILER_STAR: &[u8] = b"tar\0";

/// Field `r` of block `b`. `r` is one of the constants above, all inside 0..512.
pub(crate) fn field(b: &Block, r: Range<usize>) -> &[u8] {
    // Invariant: every range constant lies within 0..BLOCK_SIZE.
    &b[r]
}

/// Mutable field `r` of block `b`; see [`field`].
pub(crate) fn field_mut(b: &mut Block, r: Range<usize>) -> &mut [u8] {
    // Invariant: every range constant lies within 0..BLOCK_SIZE.
    &mut b[r]
}

/// Number of padding bytes after `len` bytes of data to reach a block boundary.
pub fn padding(len: u64) -> u64 {
    (BLOCK_SIZE as u64 - len % BLOCK_SIZE as u64) % BLOCK_SIZE as u64
}

/// Whether a block is all zeros.
pub(crate) fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&c| c == 0)
}

/// The bytes before the first NUL (or all of them).
pub(crate) fn parse_string(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => b.get(..i).unwrap_or(b),
        None => b,
    }
}

/// Parses a number stored as octal or GNU base-256, as Go's `parseNumeric` does.
pub(crate) fn parse_numeric(b: &[u8]) -> Option<i64> {
    match b.first() {
        Some(&first) if first & 0x80 != 0 => {
            let inv: u8 = if first & 0x40 != 0 { 0xff } else { 0 };
            let mut x: u64 = 0;
            for (i, &c) in b.iter().enumerate() {
                let mut c = c ^ inv;
                if i == 0 {
                    c &= 0x7f;
                }
                if x >> 56 > 0 {
                    return None;
                }
                x = (x << 8) | u64::from(c);
            }
            let x = i64::try_from(x).ok()?;
            Some(if inv == 0xff { !x } else { x })
        }
        _ => parse_octal(b),
    }
}

/// Parses an octal field, tolerating leading and trailing spaces and NULs.
pub(crate) fn parse_octal(b: &[u8]) -> Option<i64> {
    let is_pad = |c: &u8| *c == b' ' || *c == 0;
    let start = b.iter().position(|c| !is_pad(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_pad(c)).map_or(start, |i| i + 1);
    let trimmed = b.get(start..end).unwrap_or(&[]);
    if trimmed.is_empty() {
        return Some(0);
    }
    let digits = parse_string(trimmed);
    let mut x: u64 = 0;
    for &c in digits {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        x = x.checked_mul(8)?.checked_add(u64::from(c - b'0'))?;
    }
    // Go converts the unsigned value with int64(x); the fields are at most 12 bytes
    // (36 bits), so this never wraps for header fields.
    Some(x as i64)
}

/// Whether `x` fits in an `n`-byte octal field with its NUL terminator.
pub(crate) fn fits_in_octal(n: usize, x: i64) -> bool {
    let bits = (n.saturating_sub(1) * 3) as u32;
    x >= 0 && (n >= 22 || (bits < 63 && x < 1i64 << bits))
}

/// Whether `x` fits in an `n`-byte GNU base-256 field.
pub(crate) fn fits_in_base256(n: usize, x: i64) -> bool {
    if n >= 9 {
        return true;
    }
    let bits = (n.saturating_sub(1) * 8) as u32;
    x >= -(1i64 << bits) && x < 1i64 << bits
}

/// Copies `s` into `b`, NUL-terminating it if there is room (Go's `formatString`).
pub(crate) fn format_string(b: &mut [u8], s: &[u8]) {
    let n = s.len().min(b.len());
    if let (Some(dst), Some(src)) = (b.get_mut(..n), s.get(..n)) {
        dst.copy_from_slice(src);
    }
    if s.len() < b.len()
        && let Some(c) = b.get_mut(s.len())
    {
        *c = 0;
    }
    // A truncated name must not end in '/', or some readers see a directory.
    if s.len() > b.len() && b.last() == Some(&b'/') {
        let keep = b.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
        if let Some(c) = b.get_mut(keep) {
            *c = 0;
        }
    }
}

/// Writes `x` as zero-padded octal filling the field minus one byte, NUL-terminated.
/// Returns `false` (and writes zero) if it does not fit, as Go's `formatOctal` does.
pub(crate) fn format_octal(b: &mut [u8], x: i64) -> bool {
    let fits = fits_in_octal(b.len(), x);
    let x = if fits { x } else { 0 };
    let mut s = format!("{x:o}").into_bytes();
    let width = b.len().saturating_sub(1);
    if s.len() < width {
        let mut padded = vec![b'0'; width - s.len()];
        padded.append(&mut s);
        s = padded;
    }
    format_string(b, &s);
    fits
}

/// Writes `x` as octal if it fits, else as GNU base-256; `false` (and zero) if neither.
pub(crate) fn format_numeric(b: &mut [u8], x: i64) -> bool {
    if fits_in_octal(b.len(), x) {
        return format_octal(b, x);
    }
    if fits_in_base256(b.len(), x) {
        let mut v = x;
        for c in b.iter_mut().rev() {
            *c = v as u8; // Keeps the low byte, as intended.
            v >>= 8;
        }
        if let Some(c) = b.first_mut() {
            *c |= 0x80;
        }
        return true;
    }
    format_octal(b, 0);
    false
}

/// The unsigned and signed sums of the block, the checksum field counted as spaces.
pub(crate) fn checksums(b: &Block) -> (i64, i64) {
    let mut unsigned = 0i64;
    let mut signed = 0i64;
    for (i, &c) in b.iter().enumerate() {
        let c = if CHKSUM.contains(&i) { b' ' } else { c };
        unsigned += i64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

/// Whether the block's checksum field matches either sum.
pub(crate) fn checksum_ok(b: &Block) -> bool {
    let Some(stored) = parse_octal(field(b, CHKSUM)) else {
        return false;
    };
    let (unsigned, signed) = checksums(b);
    stored == unsigned || stored == signed
}

/// Which magic a block carries.
pub(crate) fn magic_of(b: &Block) -> super::BlockMagic {
    use super::BlockMagic;
    let magic = field(b, MAGIC);
    if magic == MAGIC_USTAR && field(b, STAR_TRAILER) == TRAILER_STAR {
        BlockMagic::Star
    } else if magic == MAGIC_USTAR {
        BlockMagic::Ustar
    } else if magic == MAGIC_GNU && field(b, VERSION) == VERSION_GNU {
        BlockMagic::Gnu
    } else {
        BlockMagic::V7
    }
}

/// Writes the magic and version for `gnu` (else USTAR/PAX), then the checksum
/// (6 octal digits, NUL, space).
pub(crate) fn set_format_and_checksum(b: &mut Block, gnu: bool) {
    let (magic, version) = if gnu {
        (MAGIC_GNU, VERSION_GNU)
    } else {
        (MAGIC_USTAR, VERSION_USTAR)
    };
    field_mut(b, MAGIC).copy_from_slice(magic);
    field_mut(b, VERSION).copy_from_slice(version);
    let (sum, _) = checksums(b);
    let chk = field_mut(b, CHKSUM);
    if let Some(digits) = chk.get_mut(..7) {
        format_octal(digits, sum);
    }
    if let Some(last) = chk.get_mut(7) {
        *last = b' ';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_round_trip_and_padding() {
        let mut b = [0xffu8; 8];
        assert!(format_octal(&mut b, 0o644));
        assert_eq!(&b, b"0000644\0");
        assert_eq!(parse_numeric(&b), Some(0o644));
        assert_eq!(parse_octal(b"  644 \0"), Some(0o644));
        assert_eq!(parse_octal(b"\0\0\0"), Some(0));
        assert_eq!(parse_octal(b"64 4"), None);
        assert_eq!(parse_octal(b"9"), None);
        let mut b = [0u8; 8];
        assert!(!format_octal(&mut b, 1 << 21));
        assert_eq!(&b, b"0000000\0");
    }

    #[test]
    fn base256() {
        let mut b = [0u8; 8];
        assert!(format_numeric(&mut b, 1 << 21));
        assert_eq!(b, [0x80, 0, 0, 0, 0, 0x20, 0, 0]);
        assert_eq!(parse_numeric(&b), Some(1 << 21));
        let mut b = [0u8; 12];
        assert!(format_numeric(&mut b, -1));
        assert_eq!(parse_numeric(&b), Some(-1));
        assert!(fits_in_base256(8, (1 << 56) - 1));
        assert!(!fits_in_base256(8, 1 << 56));
        // Overflowing base-256 values are rejected.
        assert_eq!(parse_numeric(&[0x80, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn strings() {
        let mut b = [0xffu8; 4];
        format_string(&mut b, b"ab");
        assert_eq!(&b[..3], b"ab\0");
        let mut b = [0u8; 4];
        format_string(&mut b, b"abc//x");
        assert_eq!(&b, b"abc\0");
        assert_eq!(parse_string(b"ab\0cd"), b"ab");
    }

    #[test]
    fn padding_values() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(padding(u64::MAX), 1);
    }
}
