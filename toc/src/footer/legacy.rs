//! The legacy stargz footer (google/crfs): a 47-byte empty gzip member whose whole Extra
//! field (no RFC 1952 subfield wrapper) is the TOC offset as 16 hex digits plus `STARGZ`.
//!
//! ```text
//! 1f8b 08 04 00000000 00 ff   gzip header, FLG = FEXTRA
//! 1600                        XLEN = 22
//! <16 lowercase hex digits>   TOC offset
//! 5354415247 5a               "STARGZ"
//! 01 0000 ffff                empty final stored block
//! 00000000 00000000           CRC-32, ISIZE of nothing
//! ```
//!
//! As with eStargz, the TOC runs from the offset up to the footer.

use super::{Footer, FooterKind, concat, gzip};
use crate::error::{Error, Result};

/// Size of the footer in bytes.
pub const SIZE: usize = 47;

/// Length of the Extra field: 16 hex digits plus the magic.
const EXTRA_LEN: u16 = 22;
/// Magic after the hex digits.
const MAGIC: &[u8; 6] = b"STARGZ";

/// Returns the footer for a TOC starting at `toc_offset`, byte-for-byte what crfs writes.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if `toc_offset` exceeds `i64::MAX`.
///
/// # Examples
///
/// ```
/// let footer = estargz_toc::footer::legacy::emit(1)?;
/// assert_eq!(&footer[12..34], b"0000000000000001STARGZ");
/// # Ok::<(), estargz_toc::Error>(())
/// ```
pub fn emit(toc_offset: u64) -> Result<[u8; SIZE]> {
    if toc_offset > gzip::MAX_OFFSET {
        return Err(Error::InvalidArgument(
            "a stargz TOC offset must not exceed i64::MAX",
        ));
    }
    Ok(encode(toc_offset))
}

/// Parses exactly [`SIZE`] bytes as a legacy stargz footer, following the reference's
/// rules.
///
/// # Errors
///
/// [`Error::InvalidFooter`] saying which rule failed.
pub fn parse(bytes: &[u8]) -> Result<Footer> {
    Footer::parse(FooterKind::LegacyStargz, bytes)
}

/// Writes the footer for any offset; the caller has checked it is at most `i64::MAX`.
pub(super) fn encode(toc_offset: u64) -> [u8; SIZE] {
    concat(&[
        &gzip::HEADER,
        &EXTRA_LEN.to_le_bytes(),
        &gzip::format_offset(toc_offset),
        MAGIC,
        &gzip::EMPTY_BODY,
    ])
}

/// Reads the TOC offset from exactly [`SIZE`] bytes: a valid gzip header (flags honoured),
/// an Extra of exactly 22 bytes ending in `STARGZ`, and a hex offset.
pub(super) fn decode(bytes: &[u8]) -> Result<u64, &'static str> {
    if bytes.len() != SIZE {
        return Err("not 47 bytes long");
    }
    let extra = gzip::extra_field(bytes)?.ok_or("gzip header has no extra field")?;
    if extra.len() != usize::from(EXTRA_LEN) {
        return Err("extra field is not 22 bytes long");
    }
    let (digits, magic) = extra
        .split_at_checked(16)
        .ok_or("extra field is not 22 bytes long")?;
    if magic != MAGIC {
        return Err("STARGZ magic missing from the extra field");
    }
    gzip::parse_offset(digits)
}
