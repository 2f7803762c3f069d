//! The external-TOC eStargz footer: a 46-byte empty gzip member whose `SG` Extra subfield
//! says `STARGZEXTERNALTOC`. The blob holds no TOC; the TOC is a separate blob the caller
//! finds by other means (a "TOC image"), so the footer carries no offset.
//!
//! ```text
//! 1f8b 08 04 00000000 00 ff   gzip header, FLG = FEXTRA
//! 1500                        XLEN = 21
//! 53 47 1100                  subfield SI1 SI2 = "SG", LEN = 17
//! "STARGZEXTERNALTOC"
//! 01 0000 ffff                empty final stored block
//! 00000000 00000000           CRC-32, ISIZE of nothing
//! ```

use super::{Footer, FooterKind, concat, gzip};
use crate::error::Result;

/// Size of the footer in bytes.
pub const SIZE: usize = 46;

/// RFC 1952 subfield ID.
const SUBFIELD_ID: [u8; 2] = *b"SG";
/// The subfield's data.
const MAGIC: &[u8; 17] = b"STARGZEXTERNALTOC";

/// Returns the footer, byte-for-byte what the reference (`estargz/externaltoc`) writes.
///
/// # Examples
///
/// ```
/// let footer = estargz_toc::footer::external_toc::emit();
/// assert_eq!(&footer[16..33], b"STARGZEXTERNALTOC");
/// ```
pub fn emit() -> [u8; SIZE] {
    let len = subfield_len().to_le_bytes();
    let xlen = (subfield_len() + 4).to_le_bytes();
    concat(&[
        &gzip::HEADER,
        &xlen,
        &SUBFIELD_ID,
        &len,
        MAGIC,
        &gzip::EMPTY_BODY,
    ])
}

/// Parses exactly [`SIZE`] bytes as an external-TOC footer.
///
/// # Errors
///
/// [`Error::InvalidFooter`](crate::Error::InvalidFooter) saying which rule failed.
pub fn parse(bytes: &[u8]) -> Result<Footer> {
    Footer::parse(FooterKind::ExternalToc, bytes)
}

/// `LEN` of the subfield.
const fn subfield_len() -> u16 {
    // 17 always fits.
    MAGIC.len() as u16
}

/// Checks exactly [`SIZE`] bytes: a valid gzip header (flags honoured); Extra at least 4
/// bytes (the reference lacks this guard and would panic); subfield ID `SG`; `LEN` 17; the
/// rest of the Extra exactly `STARGZEXTERNALTOC`.
pub(super) fn decode(bytes: &[u8]) -> Result<(), &'static str> {
    if bytes.len() != SIZE {
        return Err("not 46 bytes long");
    }
    let extra = gzip::extra_field(bytes)?.ok_or("gzip header has no extra field")?;
    let (&[si1, si2, len_lo, len_hi], data) = extra
        .split_first_chunk::<4>()
        .ok_or("extra field is shorter than a subfield header")?;
    if [si1, si2] != SUBFIELD_ID {
        return Err("extra subfield ID is not SG");
    }
    if u16::from_le_bytes([len_lo, len_hi]) != subfield_len() {
        return Err("extra subfield length is not 17");
    }
    if data != MAGIC {
        return Err("STARGZEXTERNALTOC magic missing from the extra subfield");
    }
    Ok(())
}
