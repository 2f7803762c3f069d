//! Loading the table of contents from a blob: footer, TOC member, JSON, digest.

use std::io::Read;
use std::ops::Range;

use estargz_toc::footer::{self, Footer};
use estargz_toc::{FooterKind, Limits, Toc};
use estargz_verifier::Digest;

use crate::error::{Error, Result};
use crate::source::ReadAt;
use crate::tar::{TarEvent, TarLimits, TarParser};

/// The tar name of the entry that holds the TOC JSON in a gzip blob.
const TOC_TAR_NAME: &[u8] = b"stargz.index.json";

/// Tar block size.
const BLOCK: u64 = 512;

/// How [`load_toc`] reads and checks a TOC.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TocOptions {
    /// Limits on the TOC (its size, entry count, names, xattrs).
    pub limits: Limits,
    /// How many bytes to read from the end of the blob in the first read. When the TOC and
    /// footer fit in it, opening a blob costs one read. Default 64 KiB.
    pub tail_guess: u64,
    /// When set, the TOC's digest must equal this or loading fails.
    pub expected_digest: Option<Digest>,
}

impl Default for TocOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            tail_guess: 64 << 10,
            expected_digest: None,
        }
    }
}

/// A TOC read from a blob, with where it was and what it hashed to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadedToc {
    /// The footer that located the TOC.
    pub footer: Footer,
    /// Where the TOC's stored (compressed) bytes are in the blob. When the TOC is external
    /// ([`load_external_toc`]) the range is empty and starts at the footer, where the
    /// payload ends.
    pub toc_range: Range<u64>,
    /// The size of the blob.
    pub blob_size: u64,
    /// The size of the separate TOC blob, when the TOC is external.
    pub external_toc_size: Option<u64>,
    /// The TOC JSON exactly as stored.
    pub json: Vec<u8>,
    /// The sha256 of [`LoadedToc::json`]: the TOC digest.
    pub digest: Digest,
    /// The parsed TOC.
    pub toc: Toc,
    /// How many reads of the sources loading took (the blob's, and the TOC blob's when the
    /// TOC is external).
    pub reads: u32,
}

/// Reads the footer and the TOC of a blob, in one read when the TOC fits
/// [`TocOptions::tail_guess`] and two otherwise.
///
/// # Errors
///
/// [`Error::Io`] when the source fails; [`Error::Toc`] when no footer matches or the JSON is
/// malformed or over a limit; [`Error::TocMember`] and [`Error::Decompress`] when the TOC
/// member is damaged; [`Error::DigestMismatch`] when
/// [`TocOptions::expected_digest`] is set and differs; [`Error::TocIsExternal`] when the
/// footer says the TOC is in a separate blob (use [`load_external_toc`]).
pub fn load_toc<R: ReadAt + ?Sized>(source: &R, options: &TocOptions) -> Result<LoadedToc> {
    load(source, None::<&[u8]>, options)
}

/// Reads the footer of a blob whose TOC is stored in a separate blob (the external-TOC
/// eStargz variant, 46-byte footer), and the TOC from `toc_blob`: one gzip member holding
/// a tar with the entry `stargz.index.json`, exactly what the TOC member of an embedded
/// blob is.
///
/// The TOC blob is held to the same limits as an embedded TOC member
/// ([`Limits::max_toc_bytes`] for its size and, with a few tar blocks more, for what it
/// inflates to). Nothing in the blob binds it to its TOC: set
/// [`TocOptions::expected_digest`] to the blob's TOC digest annotation to check that this
/// is its TOC (chunk digests catch a wrong TOC only when file contents are read).
///
/// # Errors
///
/// As [`load_toc`]; [`Error::TocIsEmbedded`] when the blob's footer points at a TOC in
/// the blob itself.
pub fn load_external_toc<R, T>(source: &R, toc_blob: &T, options: &TocOptions) -> Result<LoadedToc>
where
    R: ReadAt + ?Sized,
    T: ReadAt + ?Sized,
{
    load(source, Some(toc_blob), options)
}

/// [`load_toc`] and [`load_external_toc`].
fn load<R, T>(source: &R, toc_blob: Option<&T>, options: &TocOptions) -> Result<LoadedToc>
where
    R: ReadAt + ?Sized,
    T: ReadAt + ?Sized,
{
    let blob_size = source
        .size()
        .map_err(|e| Error::io("reading the blob size", e))?;
    let tail_len = blob_size.min(options.tail_guess.max(footer::MAX_FOOTER_SIZE as u64));
    let tail_start = blob_size - tail_len;
    let mut tail = vec![0; tail_len as usize];
    source
        .read_exact_at(tail_start, &mut tail)
        .map_err(|e| Error::io(format!("reading the last {tail_len} bytes of the blob"), e))?;
    let mut reads = 1;

    let footer_start = tail.len().saturating_sub(footer::MAX_FOOTER_SIZE);
    let found = footer::detect(&tail[footer_start..], blob_size)?;
    let mut external_toc_size = None;
    let (toc_range, stored) = match (found.toc_range(blob_size)?, toc_blob) {
        (Some(_), Some(_)) => {
            return Err(Error::TocIsEmbedded {
                footer: found.kind(),
            });
        }
        (None, None) => return Err(Error::TocIsExternal),
        (Some(toc_range), None) => {
            let stored_len = toc_range.end - toc_range.start;
            check_stored_len(stored_len, &options.limits)?;
            let stored = if toc_range.start >= tail_start {
                let from = (toc_range.start - tail_start) as usize;
                let to = (toc_range.end - tail_start) as usize;
                tail[from..to].to_vec()
            } else {
                reads += 1;
                read_stored(source, toc_range.start, stored_len, "TOC")?
            };
            (toc_range, stored)
        }
        (None, Some(toc_blob)) => {
            let size = toc_blob
                .size()
                .map_err(|e| Error::io("reading the size of the TOC blob", e))?;
            check_stored_len(size, &options.limits)?;
            external_toc_size = Some(size);
            reads += 1;
            let payload_end = blob_size.saturating_sub(found.size() as u64);
            let stored = read_stored(toc_blob, 0, size, "TOC blob")?;
            (payload_end..payload_end, stored)
        }
    };

    let json = match found.kind() {
        FooterKind::Estargz | FooterKind::LegacyStargz => {
            toc_json_from_gzip_member(&stored, toc_range.start, "TOC member", &options.limits)?
        }
        FooterKind::ExternalToc => {
            toc_json_from_gzip_member(&stored, 0, "external TOC blob", &options.limits)?
        }
        FooterKind::ZstdChunkedV1 | FooterKind::ZstdChunkedV2 => {
            super::codec::zstd_toc_json(&stored, &found, &options.limits)?
        }
        kind => {
            return Err(Error::InvalidArgument(format!(
                "reading {kind} TOCs is not supported yet"
            )));
        }
    };
    let (digest, parsed) = digest_and_parse(&json, &options.limits);
    if let Some(expected) = options.expected_digest
        && expected != digest
    {
        return Err(Error::DigestMismatch {
            what: "TOC".into(),
            expected: expected.to_string(),
            actual: digest.to_string(),
        });
    }
    let toc = super::codec::toc_model(&found, parsed?);
    Ok(LoadedToc {
        footer: found,
        toc_range,
        blob_size,
        external_toc_size,
        json,
        digest,
        toc,
        reads,
    })
}

/// Checks the stored (compressed) size of a TOC against [`Limits::max_toc_bytes`].
fn check_stored_len(stored_len: u64, limits: &Limits) -> Result<()> {
    let max_stored = limits.max_toc_bytes;
    if stored_len > max_stored {
        return Err(Error::Toc(estargz_toc::Error::LimitExceeded {
            limit: estargz_toc::LimitKind::TocBytes,
            actual: stored_len,
            max: max_stored,
        }));
    }
    Ok(())
}

/// Reads the `len` stored bytes of a TOC at `offset` of `source` (`what` names it).
fn read_stored<S: ReadAt + ?Sized>(
    source: &S,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>> {
    let mut stored = vec![0; len as usize];
    source.read_exact_at(offset, &mut stored).map_err(|e| {
        Error::io(
            format!("reading the {len}-byte {what} at offset {offset}"),
            e,
        )
    })?;
    Ok(stored)
}

/// JSON at least this large is hashed on a second thread while this one parses it.
const PARALLEL_DIGEST_MIN: usize = 1 << 20;

/// The TOC digest of `json` and the parsed TOC. For large TOCs the two run at the same time
/// (sha256 of the JSON costs about as much as a tenth of the whole open).
fn digest_and_parse(json: &[u8], limits: &Limits) -> (Digest, estargz_toc::Result<Toc>) {
    if json.len() < PARALLEL_DIGEST_MIN {
        return (Digest::of(json), Toc::from_json(json, limits));
    }
    std::thread::scope(|scope| {
        let hashing = scope.spawn(|| Digest::of(json));
        let parsed = Toc::from_json(json, limits);
        let digest = hashing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (digest, parsed)
    })
}

/// Decompresses a gzip TOC member (at `offset` of its blob; `what` says which) and returns
/// the JSON bytes of its `stargz.index.json` tar entry.
fn toc_json_from_gzip_member(
    member: &[u8],
    offset: u64,
    what: &str,
    limits: &Limits,
) -> Result<Vec<u8>> {
    // The JSON, plus its tar header, padding and the end-of-archive blocks.
    let max_tar = limits.max_toc_bytes.saturating_add(4 * BLOCK);
    let mut tar = Vec::with_capacity(isize_hint(member, max_tar));
    flate2::read::GzDecoder::new(member)
        .take(max_tar.saturating_add(1))
        .read_to_end(&mut tar)
        .map_err(|e| Error::Decompress {
            offset,
            reason: format!("{what}: {e}"),
        })?;
    if tar.len() as u64 > max_tar {
        return Err(Error::Toc(estargz_toc::Error::LimitExceeded {
            limit: estargz_toc::LimitKind::TocBytes,
            actual: tar.len() as u64,
            max: max_tar,
        }));
    }
    let member_error = |reason: String| Error::TocMember { offset, reason };
    let mut parser = TarParser::new(TarLimits::default());
    let entry = match parser.parse(&tar, true) {
        Ok(TarEvent::Entry { entry, .. }) => entry,
        Ok(_) => return Err(member_error(format!("no tar entry in the {what}"))),
        Err(e) => return Err(member_error(format!("tar header: {e}"))),
    };
    if entry.header.name != TOC_TAR_NAME {
        return Err(member_error(format!(
            "the tar entry is named {:?}, expected \"stargz.index.json\"",
            String::from_utf8_lossy(&entry.header.name)
        )));
    }
    let start = usize::try_from(entry.payload_offset).unwrap_or(usize::MAX);
    let end = start.saturating_add(usize::try_from(entry.payload_len).unwrap_or(usize::MAX));
    if tar.get(start..end).is_none() {
        return Err(member_error("the TOC JSON is truncated".into()));
    }
    // Keep the decompressed buffer: move the JSON to its front instead of copying it out.
    tar.copy_within(start..end, 0);
    tar.truncate(end - start);
    Ok(tar)
}

/// The uncompressed size a gzip member declares in its trailer (ISIZE, the size modulo
/// 2^32), capped at `max`: a capacity hint that saves regrowing the buffer while inflating
/// a large TOC. Only a hint, capped at `max` and at 32 times the member's size (TOC JSON
/// compresses about 5:1), so a lying trailer cannot reserve much; the decoder's CRC and size
/// checks still decide.
fn isize_hint(member: &[u8], max: u64) -> usize {
    let declared = match member.last_chunk::<4>() {
        Some(trailer) => u64::from(u32::from_le_bytes(*trailer)),
        None => 0,
    };
    let plausible = (member.len() as u64).saturating_mul(32);
    usize::try_from(declared.min(max).min(plausible)).unwrap_or(0)
}
