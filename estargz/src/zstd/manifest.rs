//! The zstd:chunked TOC ("manifest"): its skippable frame, footer and annotations.

#[cfg(feature = "zstd")]
use estargz_toc::{Footer, LimitKind, Limits};
use estargz_toc::{TarSplitPosition, ZstdTocPosition};
use estargz_verifier::Digest;

#[cfg(feature = "zstd")]
use crate::error::{Error, Result};

/// The layer annotation holding the sha256 of the compressed TOC frame.
pub const MANIFEST_CHECKSUM_ANNOTATION: &str = "io.containers.zstd-chunked.manifest-checksum";

/// The layer annotation holding the TOC position,
/// `"<offset>:<compressed length>:<uncompressed length>:<manifest type>"` (decimal).
pub const MANIFEST_POSITION_ANNOTATION: &str = "io.containers.zstd-chunked.manifest-position";

/// The v2 (current containers/storage) annotation holding the sha256 of the compressed TOC
/// frame.
pub const V2_MANIFEST_CHECKSUM_ANNOTATION: &str =
    "io.github.containers.zstd-chunked.manifest-checksum";

/// The v2 annotation holding the TOC position, in the same form as
/// [`MANIFEST_POSITION_ANNOTATION`].
pub const V2_MANIFEST_POSITION_ANNOTATION: &str =
    "io.github.containers.zstd-chunked.manifest-position";

/// The v2 annotation holding the tar-split position,
/// `"<offset>:<compressed length>:<uncompressed length>"` (decimal).
pub const V2_TAR_SPLIT_POSITION_ANNOTATION: &str =
    "io.github.containers.zstd-chunked.tarsplit-position";

/// The only manifest type defined: 1, "CRFS" (the eStargz TOC JSON).
pub const MANIFEST_TYPE_CRFS: u64 = 1;

/// The magic of the zstd skippable frames that hold the TOC and the footer (0x184D2A50,
/// little-endian).
pub const SKIPPABLE_FRAME_MAGIC: [u8; 4] = [0x50, 0x2a, 0x4d, 0x18];

/// The 8-byte header of a skippable frame with `len` bytes of content.
///
/// ```
/// assert_eq!(
///     estargz::zstd::skippable_frame_header(40),
///     [0x50, 0x2a, 0x4d, 0x18, 40, 0, 0, 0]
/// );
/// ```
pub fn skippable_frame_header(len: u32) -> [u8; 8] {
    let mut header = [0u8; 8];
    let (magic, size) = header.split_at_mut(4);
    magic.copy_from_slice(&SKIPPABLE_FRAME_MAGIC);
    size.copy_from_slice(&len.to_le_bytes());
    header
}

/// Where a zstd:chunked blob's TOC (and, for v2 blobs, its tar-split data) is and what the
/// compressed TOC frame hashes to: what the `io.containers.zstd-chunked.*` (v1) or
/// `io.github.containers.zstd-chunked.*` (v2) annotations say.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub struct ZstdManifest {
    /// The TOC frame's position (as the footer records it).
    pub position: ZstdTocPosition,
    /// sha256 of the compressed TOC frame (not of the JSON: that is the TOC digest).
    pub checksum: Digest,
    /// The tar-split frame's position: `Some` exactly for v2 (containers/storage) blobs.
    pub tar_split: Option<TarSplitPosition>,
}

impl ZstdManifest {
    /// The `io.containers.zstd-chunked.manifest-position` value:
    /// `"<offset>:<compressed length>:<uncompressed length>:<manifest type>"`.
    pub fn position_annotation(&self) -> String {
        let p = &self.position;
        format!(
            "{}:{}:{}:{}",
            p.offset, p.len, p.uncompressed_len, p.manifest_type
        )
    }

    /// The `io.github.containers.zstd-chunked.tarsplit-position` value of a v2 blob:
    /// `"<offset>:<compressed length>:<uncompressed length>"`.
    pub fn tar_split_annotation(&self) -> Option<String> {
        self.tar_split
            .map(|t| format!("{}:{}:{}", t.offset, t.len, t.uncompressed_len))
    }

    /// The annotations a converter adds for zstd:chunked. v1 (the reference's layout): the
    /// manifest checksum and position under `io.containers.zstd-chunked.`. v2: the manifest
    /// checksum and position and the tar-split position under
    /// `io.github.containers.zstd-chunked.`, as containers/storage's compressor sets them.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        let checksum = self.checksum.to_string();
        match self.tar_split_annotation() {
            None => vec![
                (MANIFEST_CHECKSUM_ANNOTATION, checksum),
                (MANIFEST_POSITION_ANNOTATION, self.position_annotation()),
            ],
            Some(tar_split) => vec![
                (V2_MANIFEST_CHECKSUM_ANNOTATION, checksum),
                (V2_MANIFEST_POSITION_ANNOTATION, self.position_annotation()),
                (V2_TAR_SPLIT_POSITION_ANNOTATION, tar_split),
            ],
        }
    }
}

/// The end of a zstd:chunked blob whose payload ends at `at`: the TOC frame (`json`
/// compressed at `level`) in a skippable frame, then the 48-byte footer, as the reference
/// writes them; and what the annotations say about them.
#[cfg(feature = "zstd")]
pub(crate) fn encode_tail(json: &[u8], level: i32, at: u64) -> Result<(Vec<u8>, ZstdManifest)> {
    let frame = super::FrameEncoder::new(level)?.compress(json)?;
    let len = skippable_len(&frame)?;
    let position = ZstdTocPosition {
        offset: at.saturating_add(8),
        len: u64::from(len),
        uncompressed_len: json.len() as u64,
        manifest_type: MANIFEST_TYPE_CRFS,
    };
    let footer = Footer::zstd_chunked_v1(position)?.to_bytes();
    let mut tail = Vec::with_capacity(8 + frame.len() + footer.len());
    tail.extend_from_slice(&skippable_frame_header(len));
    tail.extend_from_slice(&frame);
    tail.extend_from_slice(&footer);
    let manifest = ZstdManifest {
        position,
        checksum: Digest::of(&frame),
        tar_split: None,
    };
    Ok((tail, manifest))
}

/// The length of `content` as a skippable frame records it.
///
/// # Errors
///
/// [`Error::LimitExceeded`] beyond 4 GiB, the most a skippable frame holds.
#[cfg(feature = "zstd")]
pub(crate) fn skippable_len(content: &[u8]) -> Result<u32> {
    u32::try_from(content.len()).map_err(|_| Error::LimitExceeded {
        limit: crate::LimitKind::SkippableFrame,
        actual: content.len() as u64,
        max: u64::from(u32::MAX),
    })
}

/// Decodes the stored TOC of a zstd:chunked blob (`stored`: the bytes `footer` locates, one
/// zstd frame) and returns the TOC JSON.
///
/// The JSON must fit `limits.max_toc_bytes` (checked against the footer's uncompressed
/// length before decoding, and while decoding), and its length must equal the footer's
/// uncompressed length (the reference ignores that field; every writer sets it).
///
/// # Errors
///
/// [`Error::InvalidArgument`] if `footer` is not a zstd:chunked footer; [`Error::Toc`]
/// with [`LimitKind::TocBytes`] when the TOC is too large; [`Error::Decompress`] when the
/// frame is not exactly one valid zstd frame; [`Error::TocMember`] when its length differs
/// from the footer's.
#[cfg(feature = "zstd")]
pub fn decode_manifest(stored: &[u8], footer: &Footer, limits: &Limits) -> Result<Vec<u8>> {
    let position = footer.zstd_toc().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "a {} footer has no zstd:chunked TOC",
            footer.kind()
        ))
    })?;
    let max = limits.max_toc_bytes;
    let too_large = |actual| {
        Error::Toc(estargz_toc::Error::LimitExceeded {
            limit: LimitKind::TocBytes,
            actual,
            max,
        })
    };
    if position.uncompressed_len > max {
        return Err(too_large(position.uncompressed_len));
    }
    let json = super::frame::decode_frame_at(stored, max, position.offset, "zstd:chunked TOC")
        .map_err(|e| match e {
            Error::LimitExceeded { actual, .. } => too_large(actual),
            other => other,
        })?;
    if json.len() as u64 != position.uncompressed_len {
        return Err(Error::TocMember {
            offset: position.offset,
            reason: format!(
                "the TOC decompresses to {} bytes, the footer says {}",
                json.len(),
                position.uncompressed_len
            ),
        });
    }
    Ok(json)
}

#[cfg(all(test, feature = "zstd"))]
mod tests {
    use super::*;

    #[test]
    fn tail_layout_matches_the_reference() {
        let json = br#"{"version":1,"entries":null}"#;
        let (tail, manifest) = encode_tail(json, 3, 1000).unwrap();
        let frame_len = tail.len() - 8 - 48;
        assert_eq!(&tail[..4], &SKIPPABLE_FRAME_MAGIC);
        assert_eq!(&tail[4..8], &(frame_len as u32).to_le_bytes());
        let frame = &tail[8..8 + frame_len];
        assert_eq!(&frame[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        assert_eq!(manifest.checksum, Digest::of(frame));
        assert_eq!(
            manifest.position,
            ZstdTocPosition {
                offset: 1008,
                len: frame_len as u64,
                uncompressed_len: json.len() as u64,
                manifest_type: 1,
            }
        );
        assert_eq!(
            manifest.position_annotation(),
            format!("1008:{frame_len}:{}:1", json.len())
        );
        let footer = &tail[8 + frame_len..];
        assert_eq!(&footer[..8], &skippable_frame_header(40));
        assert_eq!(&footer[8..16], &1008u64.to_le_bytes());
        assert_eq!(&footer[16..24], &(frame_len as u64).to_le_bytes());
        assert_eq!(&footer[24..32], &(json.len() as u64).to_le_bytes());
        assert_eq!(&footer[32..40], &1u64.to_le_bytes());
        assert_eq!(&footer[40..], b"GnUlInUx");

        let parsed = Footer::parse(estargz_toc::FooterKind::ZstdChunkedV1, footer).unwrap();
        assert_eq!(
            decode_manifest(frame, &parsed, &Limits::default()).unwrap(),
            json
        );
    }

    #[test]
    fn manifest_limits_and_length_checks() {
        let json = vec![b' '; 5000];
        let (tail, manifest) = encode_tail(&json, 3, 0).unwrap();
        let frame = &tail[8..tail.len() - 48];
        let footer = Footer::zstd_chunked_v1(manifest.position).unwrap();
        let mut small = Limits::default();
        small.max_toc_bytes = 4999;
        assert!(matches!(
            decode_manifest(frame, &footer, &small),
            Err(Error::Toc(estargz_toc::Error::LimitExceeded {
                actual: 5000,
                ..
            }))
        ));
        // A footer that understates the length: the limit still holds while decoding, and
        // a length that differs is an error.
        let lying = Footer::zstd_chunked_v1(ZstdTocPosition {
            uncompressed_len: 10,
            ..manifest.position
        })
        .unwrap();
        assert!(matches!(
            decode_manifest(frame, &lying, &small),
            Err(Error::Toc(estargz_toc::Error::LimitExceeded { .. }))
        ));
        assert!(matches!(
            decode_manifest(frame, &lying, &Limits::default()),
            Err(Error::TocMember { .. })
        ));
        let gzip = Footer::estargz(0).unwrap();
        assert!(matches!(
            decode_manifest(frame, &gzip, &Limits::default()),
            Err(Error::InvalidArgument(_))
        ));
    }
}
