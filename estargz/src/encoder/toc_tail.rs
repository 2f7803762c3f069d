//! The end of a gzip blob: the TOC member and the 51-byte footer, or, with the TOC stored
//! in a separate blob ([`TocPlacement::External`]), only the 46-byte external-TOC footer,
//! the TOC member becoming that separate blob.

use std::fmt;
use std::io::Write;

use estargz_toc::Footer;
use estargz_verifier::{DiffIdAccumulator, Digest};

use super::plan;
use super::sink::BlobOut;
use crate::error::Result;
use crate::gzip::{Backend, Compression, compress_member_with};
use crate::tar::{encode_end_of_archive, padding};

/// The annotation a TOC blob carries as a layer of a "TOC image" (the reference's
/// `ctr-remote --estargz-external-toc`): the digest of the eStargz blob the TOC belongs to.
pub const LAYER_DIGEST_ANNOTATION: &str = "containerd.io/snapshot/stargz/layer.digest";

/// Where a gzip blob's TOC is stored.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TocPlacement {
    /// In the blob: the TOC member, then the 51-byte eStargz footer pointing at it.
    #[default]
    Embedded,
    /// In a separate blob, as the reference's `estargz/externaltoc` writes it: the blob is
    /// the payload members and the 46-byte external-TOC footer, and its decompressed
    /// stream is the tar entries only (no TOC entry, no end-of-archive), so its DiffID
    /// covers the entries only. The TOC blob ([`Encoded::external_toc`](super::Encoded))
    /// is the one gzip member an embedded TOC would have been, byte for byte. gzip only.
    External,
}

/// A TOC stored in a separate blob ([`TocPlacement::External`]): one gzip member at the
/// blob's level holding a tar with the single entry `stargz.index.json` and the
/// end-of-archive.
///
/// The bytes are returned in memory (they are what an embedded TOC member would be, and
/// the encoder builds that member in memory anyway): write them wherever the TOC blob is
/// published, for example as a layer of a TOC image with [`ExternalToc::annotations`].
#[derive(Clone, Eq, PartialEq)]
#[non_exhaustive]
pub struct ExternalToc {
    /// The TOC blob.
    pub bytes: Vec<u8>,
    /// sha256 of [`ExternalToc::bytes`] (the TOC blob's digest; not the TOC digest, which is
    /// the sha256 of the JSON inside).
    pub digest: Digest,
    /// Length of [`ExternalToc::bytes`].
    pub size: u64,
}

impl ExternalToc {
    /// The annotations of the TOC blob as a layer of a TOC image: `layer.digest` = the
    /// digest of the eStargz blob it belongs to (`blob_digest`,
    /// [`Encoded::blob_digest`](super::Encoded::blob_digest)).
    pub fn annotations(&self, blob_digest: &Digest) -> Vec<(&'static str, String)> {
        vec![(LAYER_DIGEST_ANNOTATION, blob_digest.to_string())]
    }
}

impl fmt::Debug for ExternalToc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalToc")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Writes the end of a gzip blob whose payload is already in `out`, for the TOC `json`
/// (compressed at `level` with `backend`, as the payload):
/// the TOC member (fed to `diff_id`) and the eStargz footer, or the external-TOC footer
/// alone. Returns the offset of what follows the payload (the TOC member, or the footer
/// when the TOC is external) and the external TOC.
pub(crate) fn write_gzip_tail<W: Write>(
    out: &mut BlobOut<W>,
    json: &[u8],
    level: Compression,
    backend: Backend,
    placement: TocPlacement,
    diff_id: &mut DiffIdAccumulator,
) -> Result<(u64, Option<ExternalToc>)> {
    let tar = toc_member_tar(json)?;
    let member = compress_member_with(&tar, level, backend, false)?;
    let toc_offset = out.offset;
    match placement {
        TocPlacement::Embedded => {
            diff_id.update(&tar);
            out.write(&member)?;
            out.write(&Footer::estargz(toc_offset)?.to_bytes())?;
            Ok((toc_offset, None))
        }
        TocPlacement::External => {
            out.write(&Footer::external_toc().to_bytes())?;
            let external = ExternalToc {
                digest: Digest::of(&member),
                size: member.len() as u64,
                bytes: member,
            };
            Ok((toc_offset, Some(external)))
        }
    }
}

/// The uncompressed TOC member: the `stargz.index.json` tar entry holding `json`, its
/// padding, and the end-of-archive.
fn toc_member_tar(json: &[u8]) -> Result<Vec<u8>> {
    let mut tar = plan::toc_header(json.len() as u64)?;
    tar.extend_from_slice(json);
    let pad = usize::try_from(padding(json.len() as u64)).unwrap_or(0);
    tar.resize(tar.len() + pad, 0);
    encode_end_of_archive(&mut tar);
    Ok(tar)
}
