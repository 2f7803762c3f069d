//! The eStargz footer: a 51-byte empty gzip member whose RFC 1952 `SG` Extra subfield holds
//! the TOC offset as 16 hex digits followed by `STARGZ`.
//!
//! ```text
//! 1f8b 08 04 00000000 00 ff   gzip header, FLG = FEXTRA
//! 1a00                        XLEN = 26
//! 53 47 1600                  subfield SI1 SI2 = "SG", LEN = 22
//! <16 lowercase hex digits>   TOC offset (Go "%016x")
//! 5354415247 5a               "STARGZ"
//! 01 0000 ffff                empty final stored block
//! 00000000 00000000           CRC-32, ISIZE of nothing
//! ```
//!
//! The TOC (a gzip member) runs from the offset up to the footer, so its length follows from
//! the blob size: `blob size - offset - 51`.

use super::{Footer, FooterKind, concat, gzip};
use crate::error::{Error, Result};

/// Size of the footer in bytes.
pub const SIZE: usize = 51;

/// RFC 1952 subfield ID of the TOC-offset subfield.
const SUBFIELD_ID: [u8; 2] = *b"SG";
/// `LEN` of the subfield: 16 hex digits plus the magic.
const SUBFIELD_LEN: u16 = 22;
/// Magic after the hex digits.
const MAGIC: &[u8; 6] = b"STARGZ";

/// Returns the footer for a TOC starting at `toc_offset`, byte-for-byte what the reference
/// writes.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if `toc_offset` exceeds `i64::MAX` (the reference stores a
/// Go `int64` and could neither write nor read it).
///
/// # Examples
///
/// ```
/// let footer = estargz_toc::footer::estargz::emit(0x2b36)?;
/// assert_eq!(&footer[16..38], b"0000000000002b36STARGZ");
/// # Ok::<(), estargz_toc::Error>(())
/// ```
pub fn emit(toc_offset: u64) -> Result<[u8; SIZE]> {
    if toc_offset > gzip::MAX_OFFSET {
        return Err(Error::InvalidArgument(
            "an eStargz TOC offset must not exceed i64::MAX",
        ));
    }
    Ok(encode(toc_offset))
}

/// Parses exactly [`SIZE`] bytes as an eStargz footer, following the reference's rules.
///
/// # Errors
///
/// [`Error::InvalidFooter`] saying which rule failed.
pub fn parse(bytes: &[u8]) -> Result<Footer> {
    Footer::parse(FooterKind::Estargz, bytes)
}

/// Writes the footer for any offset; the caller has checked it is at most `i64::MAX`.
pub(super) fn encode(toc_offset: u64) -> [u8; SIZE] {
    let [len_lo, len_hi] = SUBFIELD_LEN.to_le_bytes();
    let xlen = (SUBFIELD_LEN + 4).to_le_bytes();
    concat(&[
        &gzip::HEADER,
        &xlen,
        &SUBFIELD_ID,
        &[len_lo, len_hi],
        &gzip::format_offset(toc_offset),
        MAGIC,
        &gzip::EMPTY_BODY,
    ])
}

/// Reads the TOC offset from exactly [`SIZE`] bytes.
///
/// The reference's rules: a valid gzip header (flags honoured, body not checked); Extra at
/// least 4 bytes (Go 0.12.0 panics otherwise); subfield ID `SG`; subfield `LEN` 22; the
/// rest of the Extra is exactly the 16 offset characters and `STARGZ`; the offset parses
/// as [`gzip::parse_offset`] describes.
pub(super) fn decode(bytes: &[u8]) -> Result<u64, &'static str> {
    if bytes.len() != SIZE {
        return Err("not 51 bytes long");
    }
    let extra = gzip::extra_field(bytes)?.ok_or("gzip header has no extra field")?;
    let (&[si1, si2, len_lo, len_hi], data) = extra
        .split_first_chunk::<4>()
        .ok_or("extra field is shorter than a subfield header")?;
    if [si1, si2] != SUBFIELD_ID {
        return Err("extra subfield ID is not SG");
    }
    if u16::from_le_bytes([len_lo, len_hi]) != SUBFIELD_LEN {
        return Err("extra subfield length is not 22");
    }
    let (digits, magic) = data
        .split_at_checked(16)
        .ok_or("STARGZ magic missing from the extra subfield")?;
    if magic != MAGIC {
        return Err("STARGZ magic missing from the extra subfield");
    }
    gzip::parse_offset(digits)
}
