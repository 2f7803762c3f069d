//! The zstd:chunked footer as current containers/storage writes it: a 64-byte payload in a
//! zstd skippable frame, 72 bytes on disk.
//!
//! ```text
//! 50 2a 4d 18  40 00 00 00    skippable-frame magic, payload length 64
//! u64 LE                      TOC offset (just past the TOC's own skippable-frame header)
//! u64 LE                      compressed TOC length
//! u64 LE                      uncompressed TOC JSON length
//! u64 LE                      manifest type (1 = CRFS)
//! u64 LE                      tar-split offset (just past its skippable-frame header)
//! u64 LE                      compressed tar-split length
//! u64 LE                      uncompressed tar-split length
//! 47 4e 55 6c 49 6e 55 78     "GNUlInUx"
//! ```
//!
//! containers/storage writes the TOC frame, then the tar-split frame, then this footer, and
//! never reads the footer itself (it uses layer annotations). Its TOC JSON differs from the
//! eStargz TOC (compact JSON, other entry fields), which is not this module's concern.
//! All-zero tar-split fields are read as "no tar-split".

use super::{Footer, FooterKind, TarSplitPosition, ZstdTocPosition, concat, zstd};
use crate::error::Result;

/// Size of the footer on disk, skippable-frame header included.
pub const SIZE: usize = 72;

/// Size of the footer's payload (containers/storage's `FooterSizeSupported`).
pub const PAYLOAD_SIZE: usize = 64;

/// Payload length as stored in the frame header.
const PAYLOAD_LEN: u32 = 64;

/// Magic at the end of the payload.
const MAGIC: &[u8; 8] = b"GNUlInUx";

/// Returns the footer for `toc` and `tar_split` (`None` writes zeros), byte-for-byte what
/// containers/storage writes.
///
/// # Errors
///
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if a position breaks a rule
/// listed on [`ZstdTocPosition`] or [`TarSplitPosition`].
///
/// # Examples
///
/// ```
/// use estargz_toc::{TarSplitPosition, ZstdTocPosition};
///
/// let toc = ZstdTocPosition { offset: 1000, len: 200, uncompressed_len: 900, manifest_type: 1 };
/// let tar_split = TarSplitPosition { offset: 1208, len: 50, uncompressed_len: 400 };
/// let footer = estargz_toc::footer::zstd_v2::emit(toc, Some(tar_split))?;
/// assert_eq!(&footer[64..], b"GNUlInUx");
/// # Ok::<(), estargz_toc::Error>(())
/// ```
pub fn emit(toc: ZstdTocPosition, tar_split: Option<TarSplitPosition>) -> Result<[u8; SIZE]> {
    Footer::zstd_chunked_v2(toc, tar_split)?;
    Ok(encode(&toc, tar_split.as_ref()))
}

/// Parses exactly [`SIZE`] bytes as a zstd:chunked v2 footer.
///
/// # Errors
///
/// [`Error::InvalidFooter`](crate::Error::InvalidFooter) saying which rule failed.
pub fn parse(bytes: &[u8]) -> Result<Footer> {
    Footer::parse(FooterKind::ZstdChunkedV2, bytes)
}

/// Writes the footer; the caller has checked the positions.
pub(super) fn encode(toc: &ZstdTocPosition, tar_split: Option<&TarSplitPosition>) -> [u8; SIZE] {
    let zero = TarSplitPosition {
        offset: 0,
        len: 0,
        uncompressed_len: 0,
    };
    let tar_split = tar_split.unwrap_or(&zero);
    concat(&[
        &zstd::frame_header(PAYLOAD_LEN),
        &toc.offset.to_le_bytes(),
        &toc.len.to_le_bytes(),
        &toc.uncompressed_len.to_le_bytes(),
        &toc.manifest_type.to_le_bytes(),
        &tar_split.offset.to_le_bytes(),
        &tar_split.len.to_le_bytes(),
        &tar_split.uncompressed_len.to_le_bytes(),
        MAGIC,
    ])
}

/// Reads exactly [`SIZE`] bytes: frame header, magic, then the position rules.
pub(super) fn decode(
    bytes: &[u8],
) -> Result<(ZstdTocPosition, Option<TarSplitPosition>), &'static str> {
    if bytes.len() != SIZE {
        return Err("not 72 bytes long");
    }
    if !bytes.ends_with(MAGIC) {
        return Err("no GNUlInUx magic");
    }
    let mut fields = zstd::Fields(zstd::frame_payload(bytes, PAYLOAD_LEN)?);
    let mut next = || fields.u64().ok_or("not 72 bytes long");
    let toc = ZstdTocPosition {
        offset: next()?,
        len: next()?,
        uncompressed_len: next()?,
        manifest_type: next()?,
    };
    let tar_split = TarSplitPosition {
        offset: next()?,
        len: next()?,
        uncompressed_len: next()?,
    };
    zstd::check_toc(&toc)?;
    if tar_split.offset == 0 && tar_split.len == 0 && tar_split.uncompressed_len == 0 {
        return Ok((toc, None));
    }
    zstd::check_tar_split(&tar_split, &toc)?;
    Ok((toc, Some(tar_split)))
}
