//! The compression of a blob's payload, told by its footer: gzip members (eStargz, legacy
//! stargz) or zstd frames (zstd:chunked), and where the payload ends.

use std::io::{self, Read};
use std::ops::Range;

use estargz_toc::{Footer, FooterKind, Limits, Toc};
use flate2::bufread::MultiGzDecoder;

use super::blob::Reader;
#[cfg(not(feature = "zstd"))]
use crate::error::Error;
use crate::error::Result;

/// How the members of a blob are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Gzip members.
    Gzip,
    /// zstd frames.
    Zstd,
}

impl Codec {
    /// The codec of the blob `footer` ends.
    pub(crate) fn of(footer: &Footer) -> Self {
        match footer.kind() {
            FooterKind::ZstdChunkedV1 | FooterKind::ZstdChunkedV2 => Self::Zstd,
            _ => Self::Gzip,
        }
    }
}

/// A streaming decompressor over a run of members held in memory.
pub(crate) enum MemberStream<'a> {
    /// Concatenated gzip members (boxed: the gzip decoder's state is several times larger
    /// than zstd's handle, and one of these is made per member run).
    Gzip(Box<MultiGzDecoder<&'a [u8]>>),
    /// Concatenated zstd frames.
    #[cfg(feature = "zstd")]
    Zstd(::zstd::stream::read::Decoder<'static, &'a [u8]>),
}

impl<'a> MemberStream<'a> {
    /// A decompressor for the run `compressed`, which starts at blob offset `blob_offset`.
    pub(crate) fn new(codec: Codec, compressed: &'a [u8], blob_offset: u64) -> Result<Self> {
        match codec {
            Codec::Gzip => Ok(Self::Gzip(Box::new(MultiGzDecoder::new(compressed)))),
            #[cfg(feature = "zstd")]
            Codec::Zstd => crate::zstd::run_decoder(compressed, blob_offset).map(Self::Zstd),
            #[cfg(not(feature = "zstd"))]
            Codec::Zstd => {
                let _ = blob_offset;
                Err(zstd_disabled())
            }
        }
    }
}

impl Read for MemberStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Gzip(d) => d.read(buf),
            #[cfg(feature = "zstd")]
            Self::Zstd(d) => d.read(buf),
        }
    }
}

/// Where the payload of the blob ending in `footer` ends, the TOC being stored at
/// `toc_range`: the TOC offset for gzip blobs, the start of the TOC's skippable frame for
/// zstd:chunked.
pub(crate) fn payload_end(footer: &Footer, toc_range: &Range<u64>) -> u64 {
    footer.payload_size().unwrap_or(toc_range.start)
}

/// The parsed TOC in the eStargz model: a zstd:chunked v2 manifest is mapped by
/// [`crate::zstd::manifest_to_toc`]; the other TOCs already are in it.
pub(crate) fn toc_model(footer: &Footer, toc: Toc) -> Toc {
    if footer.kind() == FooterKind::ZstdChunkedV2 {
        crate::zstd::manifest_to_toc(toc)
    } else {
        toc
    }
}

/// Whether the TOC records owner names: a zstd:chunked v2 (containers/storage) manifest
/// has no `userName` or `groupName` fields.
pub(crate) fn toc_has_owner_names(footer: &Footer) -> bool {
    footer.kind() != FooterKind::ZstdChunkedV2
}

/// The TOC JSON of a zstd:chunked blob, from its stored (compressed) bytes.
pub(crate) fn zstd_toc_json(stored: &[u8], footer: &Footer, limits: &Limits) -> Result<Vec<u8>> {
    #[cfg(feature = "zstd")]
    {
        crate::zstd::decode_manifest(stored, footer, limits)
    }
    #[cfg(not(feature = "zstd"))]
    {
        let _ = (stored, footer, limits);
        Err(zstd_disabled())
    }
}

/// The error for a zstd:chunked blob in a build without the `zstd` feature.
#[cfg(not(feature = "zstd"))]
fn zstd_disabled() -> Error {
    Error::FeatureDisabled {
        feature: "zstd",
        what: "reading zstd:chunked blobs".to_owned(),
    }
}

impl<R> Reader<R> {
    /// How the blob's members are compressed.
    pub(crate) fn codec(&self) -> Codec {
        Codec::of(self.footer())
    }

    /// Where the payload (the compressed tar entries) ends: the TOC offset for gzip blobs,
    /// the start of the TOC's skippable frame (8 bytes before the TOC offset) for
    /// zstd:chunked.
    pub fn payload_end(&self) -> u64 {
        payload_end(self.footer(), &self.toc_range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_and_payload_end_follow_the_footer() {
        let gzip = Footer::estargz(100).unwrap();
        assert_eq!(Codec::of(&gzip), Codec::Gzip);
        assert_eq!(payload_end(&gzip, &(100..150)), 100);
        let zstd = Footer::zstd_chunked_v1(estargz_toc::ZstdTocPosition {
            offset: 108,
            len: 42,
            uncompressed_len: 77,
            manifest_type: 1,
        })
        .unwrap();
        assert_eq!(Codec::of(&zstd), Codec::Zstd);
        assert_eq!(payload_end(&zstd, &(108..150)), 100);
    }
}
