//! zstd:chunked: the eStargz layout with zstd frames instead of gzip members.
//!
//! A zstd:chunked blob, as the reference (`estargz/zstdchunked`, containers/storage's
//! original layout) writes it:
//!
//! ```text
//! [zstd frame][zstd frame]...            the tar entries, cut where gzip members would be
//! [50 2a 4d 18 | u32le N | N bytes]      skippable frame: one zstd frame of the TOC JSON
//! [50 2a 4d 18 | u32le 40 | 40 bytes]    skippable frame: the footer (magic `GnUlInUx`)
//! ```
//!
//! There is no tar wrapper around the TOC and no tar end-of-archive anywhere, so the
//! DiffID covers the tar entries only. The TOC digest is the sha256 of the uncompressed
//! JSON, as for gzip blobs.
//!
//! This module holds what does not need libzstd — the annotations ([`ZstdManifest`]), the
//! skippable-frame header and the reading of containers/storage manifests
//! ([`manifest_to_toc`]) — and, with the crate feature `zstd`, the codec: one frame per
//! member (`compress_frame`), frames decoded with an output limit (`decode_frame`), the TOC
//! frame (`decode_manifest`), and the v2 writer.
//!
//! # The v2 layout (current containers/storage)
//!
//! [`Format::ZstdChunkedV2`](crate::encoder::Format::ZstdChunkedV2) writes the layout
//! current containers/storage writes: the input tar unchanged, in frames cut at
//! content-defined chunk boundaries; then the manifest (containers/storage's own TOC JSON),
//! the tar-split data and a 64-byte footer (magic `GNUlInUx`), each in a skippable frame;
//! and the `io.github.containers.zstd-chunked.*` annotations. The reader opens both
//! layouts; a v2 manifest is mapped to the TOC model by [`manifest_to_toc`].

#[cfg(feature = "zstd")]
mod crc64;
#[cfg(feature = "zstd")]
pub(crate) mod cs_encode;
#[cfg(feature = "zstd")]
mod cs_manifest;
mod cs_toc;
#[cfg(feature = "zstd")]
mod file_chunks;
#[cfg(feature = "zstd")]
mod frame;
mod manifest;
#[cfg(feature = "zstd")]
mod range_frame;
#[cfg(feature = "zstd")]
mod rollsum;
#[cfg(feature = "zstd")]
mod tar_split;

pub use cs_toc::manifest_to_toc;
#[cfg(feature = "zstd")]
pub(crate) use frame::FrameEncoder;
#[cfg(feature = "zstd")]
pub use frame::{MAX_WINDOW_LOG, compress_frame, decode_frame, run_decoder};
#[cfg(feature = "zstd")]
pub use manifest::decode_manifest;
#[cfg(feature = "zstd")]
pub(crate) use manifest::encode_tail;
pub use manifest::{
    MANIFEST_CHECKSUM_ANNOTATION, MANIFEST_POSITION_ANNOTATION, MANIFEST_TYPE_CRFS,
    SKIPPABLE_FRAME_MAGIC, V2_MANIFEST_CHECKSUM_ANNOTATION, V2_MANIFEST_POSITION_ANNOTATION,
    V2_TAR_SPLIT_POSITION_ANNOTATION, ZstdManifest, skippable_frame_header,
};

use crate::error::{Error, Result};

/// The zstd level the reference's converter uses by default (zstd "SpeedDefault"), and ours.
pub const DEFAULT_LEVEL: i32 = 3;

/// The zstd levels the encoder accepts: 1 (fastest) to 22 (smallest, slowest).
pub const LEVELS: std::ops::RangeInclusive<i32> = 1..=22;

/// Checks that `level` is in [`LEVELS`].
///
/// # Errors
///
/// [`Error::InvalidArgument`] naming the level.
pub fn check_level(level: i32) -> Result<()> {
    if LEVELS.contains(&level) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "zstd level {level} is not in {}..={}",
            LEVELS.start(),
            LEVELS.end()
        )))
    }
}
