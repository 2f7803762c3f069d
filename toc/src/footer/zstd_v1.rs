//! The zstd:chunked footer as the reference (`estargz/zstdchunked`) writes it: a 40-byte
//! payload in a zstd skippable frame, 48 bytes on disk.
//!
//! ```text
//! 50 2a 4d 18  28 00 00 00    skippable-frame magic, payload length 40
//! u64 LE                      TOC offset (just past the TOC's own skippable-frame header)
//! u64 LE                      compressed TOC length
//! u64 LE                      uncompressed TOC JSON length
//! u64 LE                      manifest type (1 = CRFS)
//! 47 6e 55 6c 49 6e 55 78     "GnUlInUx"
//! ```
//!
//! The reference reader looks only at the magic. This crate also checks the frame header
//! and the positions (see [`ZstdTocPosition`]); the manifest type and the uncompressed
//! length are kept, not judged.

use super::{Footer, FooterKind, ZstdTocPosition, concat, zstd};
use crate::error::Result;

/// Size of the footer on disk, skippable-frame header included.
pub const SIZE: usize = 48;

/// Size of the footer's payload (what the reference calls its footer size).
pub const PAYLOAD_SIZE: usize = 40;

/// Magic at the end of the payload.
const MAGIC: &[u8; 8] = b"GnUlInUx";

/// Returns the footer for `toc`, byte-for-byte what the reference writes.
///
/// # Errors
///
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `toc` breaks a rule listed
/// on [`ZstdTocPosition`].
///
/// # Examples
///
/// ```
/// use estargz_toc::ZstdTocPosition;
///
/// let toc = ZstdTocPosition { offset: 0x231, len: 0x1d7, uncompressed_len: 0x6f1, manifest_type: 1 };
/// let footer = estargz_toc::footer::zstd_v1::emit(toc)?;
/// assert_eq!(&footer[40..], b"GnUlInUx");
/// # Ok::<(), estargz_toc::Error>(())
/// ```
pub fn emit(toc: ZstdTocPosition) -> Result<[u8; SIZE]> {
    Footer::zstd_chunked_v1(toc)?;
    Ok(encode(&toc))
}

/// Parses exactly [`SIZE`] bytes as a zstd:chunked v1 footer.
///
/// # Errors
///
/// [`Error::InvalidFooter`](crate::Error::InvalidFooter) saying which rule failed.
pub fn parse(bytes: &[u8]) -> Result<Footer> {
    Footer::parse(FooterKind::ZstdChunkedV1, bytes)
}

/// Writes the footer; the caller has checked `toc`.
pub(super) fn encode(toc: &ZstdTocPosition) -> [u8; SIZE] {
    concat(&[
        &zstd::frame_header(PAYLOAD_LEN),
        &toc.offset.to_le_bytes(),
        &toc.len.to_le_bytes(),
        &toc.uncompressed_len.to_le_bytes(),
        &toc.manifest_type.to_le_bytes(),
        MAGIC,
    ])
}

/// Payload length as stored in the frame header.
const PAYLOAD_LEN: u32 = 40;

/// Reads exactly [`SIZE`] bytes: frame header, magic, then the position rules.
pub(super) fn decode(bytes: &[u8]) -> Result<ZstdTocPosition, &'static str> {
    if bytes.len() != SIZE {
        return Err("not 48 bytes long");
    }
    // Check the magic first: it is what tells this layout from the others.
    if !bytes.ends_with(MAGIC) {
        return Err("no GnUlInUx magic");
    }
    let mut fields = zstd::Fields(zstd::frame_payload(bytes, PAYLOAD_LEN)?);
    let (Some(offset), Some(len), Some(uncompressed_len), Some(manifest_type)) =
        (fields.u64(), fields.u64(), fields.u64(), fields.u64())
    else {
        return Err("not 48 bytes long");
    };
    debug_assert_eq!(fields.rest(), MAGIC);
    let toc = ZstdTocPosition {
        offset,
        len,
        uncompressed_len,
        manifest_type,
    };
    zstd::check_toc(&toc)?;
    Ok(toc)
}
