//! How members are compressed: gzip members, or zstd frames for zstd:chunked.

use super::{EncoderOptions, Format};
#[cfg(not(feature = "zstd"))]
use crate::error::Error;
use crate::error::Result;
use crate::gzip::{Backend, Compression, DeflaterCache, compress_member_into};
use crate::zstd::ZstdManifest;

/// What compresses members: copied to every worker, which makes its own [`MemberCodec`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum CodecSpec {
    /// Gzip members at this level, with this backend.
    Gzip(Compression, Backend),
    /// zstd frames at this level.
    #[cfg(feature = "zstd")]
    Zstd(i32),
}

impl CodecSpec {
    /// The codec the options ask for (already validated).
    pub(crate) fn of(options: &EncoderOptions) -> Result<Self> {
        match options.format {
            Format::Gzip => Ok(Self::Gzip(options.level, options.backend)),
            #[cfg(feature = "zstd")]
            Format::ZstdChunked | Format::ZstdChunkedV2 => Ok(Self::Zstd(options.zstd_level)),
            #[cfg(not(feature = "zstd"))]
            Format::ZstdChunked | Format::ZstdChunkedV2 => Err(zstd_disabled()),
        }
    }

    /// A compressor for one thread.
    pub(crate) fn codec(self) -> Result<MemberCodec> {
        Ok(match self {
            Self::Gzip(level, backend) => MemberCodec::Gzip {
                level,
                backend,
                cache: DeflaterCache::default(),
            },
            #[cfg(feature = "zstd")]
            Self::Zstd(level) => MemberCodec::Zstd(crate::zstd::FrameEncoder::new(level)?),
        })
    }
}

/// Compresses whole members on one thread, keeping its compressor between members.
#[derive(Debug)]
pub(crate) enum MemberCodec {
    /// Gzip members.
    Gzip {
        level: Compression,
        backend: Backend,
        cache: DeflaterCache,
    },
    /// One zstd frame per member.
    #[cfg(feature = "zstd")]
    Zstd(crate::zstd::FrameEncoder),
}

impl MemberCodec {
    /// One complete member holding `data`; `sync_flush` (the newest layout's flush before a
    /// chunk) matters for gzip only: a zstd frame's content does not depend on it.
    ///
    /// A gzip member is written into `out` (cleared first), which lets the caller reuse one
    /// allocation for many members; a zstd frame comes in a new buffer.
    pub(crate) fn compress(
        &mut self,
        data: &[u8],
        sync_flush: bool,
        out: Vec<u8>,
    ) -> Result<Vec<u8>> {
        match self {
            Self::Gzip {
                level,
                backend,
                cache,
            } => compress_member_into(data, *level, *backend, sync_flush, cache, out),
            #[cfg(feature = "zstd")]
            Self::Zstd(encoder) => encoder.compress(data),
        }
    }
}

/// The end of a zstd:chunked blob whose payload ends at `at` (TOC frame and footer), and
/// its manifest annotations.
pub(crate) fn zstd_tail(json: &[u8], level: i32, at: u64) -> Result<(Vec<u8>, ZstdManifest)> {
    #[cfg(feature = "zstd")]
    {
        crate::zstd::encode_tail(json, level, at)
    }
    #[cfg(not(feature = "zstd"))]
    {
        let _ = (json, level, at);
        Err(zstd_disabled())
    }
}

/// Writes a whole zstd:chunked v2 blob (see [`crate::zstd`]) for the scanned tar.
pub(crate) fn encode_v2<S, W>(
    tar: &S,
    scanned: &super::scan::Scan,
    options: &EncoderOptions,
    out: super::BlobOut<W>,
) -> Result<super::Encoded>
where
    S: crate::source::ReadAt + Sync + ?Sized,
    W: std::io::Write,
{
    #[cfg(feature = "zstd")]
    {
        crate::zstd::cs_encode::encode(tar, &scanned.entries, scanned.global_headers, options, out)
    }
    #[cfg(not(feature = "zstd"))]
    {
        let _ = (tar, scanned, options, out);
        Err(zstd_disabled())
    }
}

/// The error for zstd:chunked in a build without the `zstd` feature.
#[cfg(not(feature = "zstd"))]
pub(crate) fn zstd_disabled() -> Error {
    Error::FeatureDisabled {
        feature: "zstd",
        what: "writing zstd:chunked blobs".to_owned(),
    }
}
