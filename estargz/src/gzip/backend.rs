//! Which library produces the raw deflate data of levels 1 to 9.

use std::fmt;

use super::stream::StreamDeflater;
#[cfg(feature = "libdeflate")]
use super::whole::WholeDeflater;

/// A deflate implementation for gzip levels 1 to 9 (level 0 never uses one: it is written
/// by this crate, byte-identical to Go's).
///
/// The backend decides the compressed bytes: blobs are deterministic for a given backend
/// (and backend version), level and options, never depending on the thread count or on how
/// the input is read, but two backends give different bytes. Which variants exist depends
/// on the crate features; [`Backend::available`] lists them.
///
/// | Backend | Feature | Kind | Speed and size (spec measurements, one core) |
/// |---|---|---|---|
/// | `ZlibRs` | `zlib-rs` (default) | streaming, Rust | level 9: ~25 MB/s |
/// | `Miniz` | always | streaming, safe Rust | level 9: ~12 MB/s, a little larger |
/// | `Libdeflate` | `libdeflate` | one-shot, C | level 6: ~100 MB/s at zlib-rs level 9's size |
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Backend {
    /// zlib-rs, a Rust port of zlib-ng (the same bytes as zlib-ng at each level). The
    /// default with the `zlib-rs` feature.
    #[cfg(feature = "zlib-rs")]
    ZlibRs,
    /// miniz_oxide, pure safe Rust. The default without the `zlib-rs` feature.
    Miniz,
    /// libdeflate (C, feature `libdeflate`): the fastest and the smallest output at a given
    /// level, but one-shot only: every member is compressed whole, in one call. Our levels
    /// 1 to 9 are libdeflate's levels 1 to 9 (its levels 10 to 12 are not used). It cannot
    /// write a sync flush, so with [`Layout::Newest`](crate::Layout::Newest) its members
    /// end without the empty block the reference adds, and a minimum chunk size compares
    /// against an estimate of the open member's compressed size (each flush segment
    /// compressed alone); see [`MemberEncoder`](super::MemberEncoder).
    #[cfg(feature = "libdeflate")]
    Libdeflate,
}

/// Every backend compiled in, the default first.
const AVAILABLE: &[Backend] = &[
    #[cfg(feature = "zlib-rs")]
    Backend::ZlibRs,
    Backend::Miniz,
    #[cfg(feature = "libdeflate")]
    Backend::Libdeflate,
];

impl Backend {
    /// Every backend compiled in, the default first.
    pub fn available() -> &'static [Backend] {
        AVAILABLE
    }

    /// The library and its major version, e.g. `"zlib-rs 0.6"`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs => "zlib-rs 0.6",
            Self::Miniz => "miniz_oxide 0.9",
            #[cfg(feature = "libdeflate")]
            Self::Libdeflate => "libdeflate 1.26",
        }
    }

    /// Whether the backend compresses a member in one call only (it cannot be fed in pieces
    /// or sync-flushed).
    pub fn is_one_shot(self) -> bool {
        match self {
            #[cfg(feature = "zlib-rs")]
            Self::ZlibRs => false,
            Self::Miniz => false,
            #[cfg(feature = "libdeflate")]
            Self::Libdeflate => true,
        }
    }
}

impl Default for Backend {
    /// `ZlibRs` with the `zlib-rs` feature, else [`Backend::Miniz`].
    fn default() -> Self {
        #[cfg(feature = "zlib-rs")]
        {
            Self::ZlibRs
        }
        #[cfg(not(feature = "zlib-rs"))]
        {
            Self::Miniz
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A compressor of one backend at one level.
#[derive(Debug)]
pub(crate) enum Deflater {
    /// Fed in pieces, with flushes.
    Stream(StreamDeflater),
    /// Whole members only.
    #[cfg(feature = "libdeflate")]
    Whole(WholeDeflater),
}

impl Deflater {
    /// A compressor of `backend` at `level` (1..=9).
    pub(crate) fn new(backend: Backend, level: u8) -> Self {
        match backend {
            #[cfg(feature = "zlib-rs")]
            Backend::ZlibRs => Self::Stream(StreamDeflater::zlib_rs(level)),
            Backend::Miniz => Self::Stream(StreamDeflater::miniz(level)),
            #[cfg(feature = "libdeflate")]
            Backend::Libdeflate => Self::Whole(WholeDeflater::new(level)),
        }
    }

    /// Prepares for a new member; the output is then the same as a new compressor's.
    fn reset(&mut self) {
        match self {
            Self::Stream(stream) => stream.reset(),
            // libdeflate keeps no state between calls.
            #[cfg(feature = "libdeflate")]
            Self::Whole(_) => {}
        }
    }
}

/// A compressor kept from one member to the next, so that its state (hundreds of KiB) is not
/// allocated for every member. A reset compressor writes the same bytes as a new one.
#[derive(Debug, Default)]
pub(crate) struct DeflaterCache(Option<(Backend, u8, Deflater)>);

impl DeflaterCache {
    /// The cached compressor if it is for `backend` at `level` (reset), else a new one.
    pub(crate) fn take(&mut self, backend: Backend, level: u8) -> Deflater {
        match self.0.take() {
            Some((b, l, mut deflater)) if b == backend && l == level => {
                deflater.reset();
                deflater
            }
            _ => Deflater::new(backend, level),
        }
    }

    /// Keeps `deflater` (of `backend` at `level`) for the next member.
    pub(crate) fn put(&mut self, backend: Backend, level: u8, deflater: Deflater) {
        self.0 = Some((backend, level, deflater));
    }
}
