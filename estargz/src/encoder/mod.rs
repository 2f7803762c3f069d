//! The encoder: a tar (or tar.gz) in, an eStargz blob out.
//!
//! The encoder follows the reference's `estargz.Build` (Debian's 0.12.0, and the newest
//! writer's layout on request):
//!
//! 1. The input is sniffed: gzip (`1f 8b 08`) is decompressed to a temporary file first,
//!    zstd is rejected for now, anything else is read as a tar. Input that is not seekable
//!    ([`Encoder::encode`]) is spooled to a temporary file, as the reference does.
//! 2. A first pass reads the tar headers only, skipping payloads.
//! 3. Entries are ordered with [`estargz_chunker::order_entries`]: prioritized files first
//!    (with their parents and hardlink targets), the landmark file (`.prefetch.landmark`
//!    after them, or `.no.prefetch.landmark` first when nothing is prioritized), then the
//!    rest; duplicate names keep the last one, at its position; root landmarks from the
//!    input are dropped, and so is a root `stargz.index.json`.
//! 4. A second pass writes the uncompressed stream (every header re-encoded exactly as Go's
//!    `archive/tar` does) and decides member boundaries: tar headers ride in the open
//!    member; each chunk of a non-empty regular file starts a new one; padding stays with
//!    the last chunk. Members are compressed — on several threads when the minimum chunk
//!    size is 0 — and written in order.
//! 5. The TOC member (the `stargz.index.json` tar entry, the end-of-archive, one gzip
//!    member at the same level) and the 51-byte footer end the blob; or, with
//!    [`TocPlacement::External`], the 46-byte external-TOC footer alone, the TOC member
//!    being returned as a separate blob ([`Encoded::external_toc`]).
//!
//! The DiffID, uncompressed size, blob digest and size are accumulated while writing.
//!
//! # Determinism
//!
//! The blob depends only on the input bytes, the options and the deflate backend
//! ([`EncoderOptions::backend`] and its version; level 0 does not use one): never on the thread count or on
//! how the input was read. At level 0 with [`Layout::Reference012`] it is byte-identical to
//! what Debian's estargz 0.12.0 `Build` writes with `GOMAXPROCS=1`.
//!
//! # Differences from the reference
//!
//! Where the reference fails, the encoder converts:
//! - sparse files become plain regular files with their holes filled with zeros (TOC type
//!   `reg`, the GNU sparse PAX records dropped from the re-encoded header);
//! - contiguous files (type `'7'`) become regular files (type `'0'`);
//! - PAX global headers (type `'g'`) are skipped: they are not written to the blob (the
//!   reference's reader would ignore them anyway), and [`Encoded::global_headers_skipped`]
//!   counts them.
//!
//! Other entry types (GNU `'D'`, `'V'`, ...) are rejected with
//! [`Error::UnsupportedInput`], as the reference does.
//!
//! # Memory
//!
//! With the minimum chunk size at 0, at most `threads` members are held between being cut
//! and being written, besides the one being filled, each about one chunk plus the tar
//! headers that follow it; their buffers (and those of the compressed members) are reused
//! from member to member. A run of entries without data (directories, links, empty files),
//! which the reference puts in one member, is cut into members of a chunk size (at least
//! 1 MiB) of headers (no TOC entry points into them, so readers see no difference). So
//! memory does not grow with the layer: `esgz convert` of a 200 MB and of a 730 MB layer both peak
//! under 64 MiB with two threads.
//!
//! ```
//! use estargz::encoder::Encoder;
//! use estargz::gzip::Compression;
//!
//! // A one-file tar.
//! let mut tar = Vec::new();
//! let mut header = estargz::tar::TarHeader::new(b'0', "hello.txt");
//! header.size = 5;
//! header.mode = 0o644;
//! estargz::tar::encode_header(&header, &mut tar)?;
//! tar.extend_from_slice(b"hello");
//! tar.resize(512 * 4, 0);
//!
//! let encoder = Encoder::builder().level(Compression::NONE).threads(1).build()?;
//! let mut blob = Vec::new();
//! let encoded = encoder.encode_read_at(&tar[..], &mut blob)?;
//! assert_eq!(encoded.blob_size, blob.len() as u64);
//! assert_eq!(
//!     encoded.annotations()[0],
//!     ("containerd.io/snapshot/stargz/toc.digest", encoded.toc_digest.to_string())
//! );
//! # Ok::<(), estargz::Error>(())
//! ```

mod codec;
mod plan;
mod scan;
mod sink;
mod toc_tail;

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::num::NonZeroUsize;

use estargz_toc::{Toc, model::TOC_VERSION};
use estargz_verifier::Digest;

use crate::error::{Error, Result};
use crate::gzip::{Backend, Compression, MultiMemberDecoder};
use crate::source::ReadAt;
use crate::tar::TarLimits;
use crate::zstd::ZstdManifest;
use codec::CodecSpec;
pub(crate) use plan::toc_xattrs;
pub(crate) use sink::BlobOut;
use sink::SequentialSink;
pub use toc_tail::{ExternalToc, LAYER_DIGEST_ANNOTATION, TocPlacement};

/// The layer annotation holding the TOC digest.
pub const TOC_DIGEST_ANNOTATION: &str = "containerd.io/snapshot/stargz/toc.digest";

/// The layer annotation holding the uncompressed size (decimal).
pub const UNCOMPRESSED_SIZE_ANNOTATION: &str = "io.containers.estargz.uncompressed-size";

/// The default chunk size: 4 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = estargz_chunker::DEFAULT_CHUNK_SIZE;

/// Which generation of the reference writer the member layout follows.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Layout {
    /// Debian's estargz 0.12.0: a member is closed before each chunk without a flush. The
    /// default, because at level 0 it is provably byte-identical to the reference we can run.
    #[default]
    Reference012,
    /// The newest reference writer: the member is sync-flushed before each chunk, then
    /// closed (or, with a minimum chunk size, kept open when it is still small).
    Newest,
}

/// The kind of blob the encoder writes.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Format {
    /// eStargz: gzip members, the TOC in a gzip member as a tar entry, the 51-byte footer.
    #[default]
    Gzip,
    /// zstd:chunked in the reference's layout (containers/storage's original one): zstd
    /// frames, the TOC JSON in a zstd frame inside a skippable frame, the 48-byte footer
    /// (see [`crate::zstd`]). Needs the crate feature `zstd`, and a minimum chunk size of 0.
    ZstdChunked,
    /// zstd:chunked as current containers/storage writes it (its "v2" layout): the input
    /// tar unchanged in zstd frames cut at content-defined chunk boundaries, its manifest
    /// JSON, tar-split data and the 72-byte footer (magic `GNUlInUx`), and the
    /// `io.github.containers.zstd-chunked.*` annotations (see [`crate::zstd`]). Entries keep
    /// their input order: no prioritized files, no landmark; the chunk size, layout and
    /// gzip options do not apply. Needs the crate feature `zstd`.
    ZstdChunkedV2,
}

/// What the encoder does; build with [`Encoder::builder`] or [`EncoderOptions::default`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EncoderOptions {
    /// The kind of blob (default [`Format::Gzip`]).
    pub format: Format,
    /// Gzip level of every member (default 9).
    pub level: Compression,
    /// The deflate implementation for gzip levels 1 to 9 (default [`Backend::default`]).
    pub backend: Backend,
    /// zstd level of every frame with [`Format::ZstdChunked`] (default
    /// [`crate::zstd::DEFAULT_LEVEL`], 3; 1 to 22).
    pub zstd_level: i32,
    /// Chunk size in bytes (default 4 MiB; never 0).
    pub chunk_size: u64,
    /// Minimum compressed size of a member before a chunk may start a new one (default 0:
    /// every chunk starts a member). Non-zero values need [`Layout::Newest`], write
    /// `innerOffset`s (which Debian's 0.12.0 cannot read) and encode sequentially.
    pub min_chunk_size: u64,
    /// Files to put first, in this order (names are cleaned).
    pub prioritized: Vec<Vec<u8>>,
    /// Report prioritized files that are missing ([`Encoded::prioritized_not_found`])
    /// instead of failing.
    pub allow_prioritized_not_found: bool,
    /// Threads compressing members (default: the available parallelism).
    pub threads: NonZeroUsize,
    /// Member layout (default [`Layout::Reference012`]).
    pub layout: Layout,
    /// Limits for parsing the input tar.
    pub tar_limits: TarLimits,
    /// Where the TOC is stored (default [`TocPlacement::Embedded`]; external needs
    /// [`Format::Gzip`]).
    pub toc_placement: TocPlacement,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            format: Format::default(),
            level: Compression::default(),
            backend: Backend::default(),
            zstd_level: crate::zstd::DEFAULT_LEVEL,
            chunk_size: DEFAULT_CHUNK_SIZE,
            min_chunk_size: 0,
            prioritized: Vec::new(),
            allow_prioritized_not_found: false,
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            layout: Layout::default(),
            tar_limits: TarLimits::default(),
            toc_placement: TocPlacement::default(),
        }
    }
}

impl EncoderOptions {
    /// Checks that the options can work together.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a chunk size of 0, a minimum chunk size with
    /// [`Layout::Reference012`] or with [`Format::ZstdChunked`], a zstd level outside
    /// 1..=22, or [`TocPlacement::External`] with [`Format::ZstdChunked`];
    /// [`Error::FeatureDisabled`] for [`Format::ZstdChunked`] without the `zstd` feature.
    /// [`Format::ZstdChunkedV2`] also refuses prioritized files and a minimum chunk size.
    pub fn validate(&self) -> Result<()> {
        if self.toc_placement == TocPlacement::External && self.format != Format::Gzip {
            return Err(Error::InvalidArgument(
                "an external TOC is only supported with the gzip format (eStargz)".to_owned(),
            ));
        }
        if self.format == Format::ZstdChunkedV2 && !self.prioritized.is_empty() {
            return Err(Error::InvalidArgument(
                "prioritized files are not supported with zstd:chunked v2 (it keeps the tar order)"
                    .to_owned(),
            ));
        }
        if matches!(self.format, Format::ZstdChunked | Format::ZstdChunkedV2) {
            CodecSpec::of(self)?;
            crate::zstd::check_level(self.zstd_level)?;
            if self.min_chunk_size > 0 {
                return Err(Error::InvalidArgument(
                    "a minimum chunk size is not supported with zstd:chunked".to_owned(),
                ));
            }
        }
        if self.chunk_size == 0 {
            return Err(Error::InvalidArgument(
                "the chunk size must be greater than 0".to_owned(),
            ));
        }
        if self.min_chunk_size > 0 && self.layout == Layout::Reference012 {
            return Err(Error::InvalidArgument(
                "a minimum chunk size needs the newest layout (Layout::Newest)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Builds an [`Encoder`]; from [`Encoder::builder`].
#[derive(Clone, Debug, Default)]
pub struct EncoderBuilder {
    options: EncoderOptions,
}

impl EncoderBuilder {
    /// Sets the kind of blob (default [`Format::Gzip`]).
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.options.format = format;
        self
    }

    /// Sets the zstd level for [`Format::ZstdChunked`] (default 3).
    #[must_use]
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.options.zstd_level = level;
        self
    }

    /// Sets the gzip level (default 9).
    #[must_use]
    pub fn level(mut self, level: Compression) -> Self {
        self.options.level = level;
        self
    }

    /// Sets the deflate backend for gzip levels 1 to 9 (default [`Backend::default`]).
    #[must_use]
    pub fn backend(mut self, backend: Backend) -> Self {
        self.options.backend = backend;
        self
    }

    /// Sets the chunk size in bytes (default 4 MiB).
    #[must_use]
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.options.chunk_size = bytes;
        self
    }

    /// Sets the minimum chunk size (default 0); non-zero needs [`Layout::Newest`].
    #[must_use]
    pub fn min_chunk_size(mut self, bytes: u64) -> Self {
        self.options.min_chunk_size = bytes;
        self
    }

    /// Sets the prioritized files, in order.
    #[must_use]
    pub fn prioritized<I, P>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        self.options.prioritized = names.into_iter().map(|n| n.as_ref().to_vec()).collect();
        self
    }

    /// Reports missing prioritized files instead of failing.
    #[must_use]
    pub fn allow_prioritized_not_found(mut self, allow: bool) -> Self {
        self.options.allow_prioritized_not_found = allow;
        self
    }

    /// Sets the number of compression threads; 0 means the available parallelism.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = NonZeroUsize::new(threads)
            .or_else(|| std::thread::available_parallelism().ok())
            .unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets the member layout (default [`Layout::Reference012`]).
    #[must_use]
    pub fn layout(mut self, layout: Layout) -> Self {
        self.options.layout = layout;
        self
    }

    /// Sets the limits for parsing the input tar.
    #[must_use]
    pub fn tar_limits(mut self, limits: TarLimits) -> Self {
        self.options.tar_limits = limits;
        self
    }

    /// Sets where the TOC is stored (default [`TocPlacement::Embedded`]).
    #[must_use]
    pub fn toc_placement(mut self, placement: TocPlacement) -> Self {
        self.options.toc_placement = placement;
        self
    }

    /// The encoder.
    ///
    /// # Errors
    ///
    /// As [`EncoderOptions::validate`].
    pub fn build(self) -> Result<Encoder> {
        Encoder::new(self.options)
    }
}

/// What an encoding produced: digests, sizes and annotations of the blob.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct Encoded {
    /// sha256 of the TOC JSON (the `containerd.io/snapshot/stargz/toc.digest` annotation).
    pub toc_digest: Digest,
    /// sha256 of the whole uncompressed stream: for gzip blobs the TOC entry and the
    /// end-of-archive included; for zstd:chunked the tar entries only (the TOC is a
    /// skippable frame and there is no end-of-archive), and likewise for an external TOC;
    /// for [`Format::ZstdChunkedV2`] the input tar itself.
    pub diff_id: Digest,
    /// Length of that stream (the `io.containers.estargz.uncompressed-size` annotation).
    pub uncompressed_size: u64,
    /// sha256 of the blob.
    pub blob_digest: Digest,
    /// Size of the blob.
    pub blob_size: u64,
    /// Blob offset of the TOC member (zstd:chunked: of the TOC's zstd frame, past its
    /// skippable-frame header; external TOC: of the footer, where the payload ends).
    pub toc_offset: u64,
    /// Number of TOC entries.
    pub toc_entries: usize,
    /// Prioritized names that were not found (only with
    /// [`EncoderOptions::allow_prioritized_not_found`]).
    pub prioritized_not_found: Vec<Vec<u8>>,
    /// PAX global headers in the input, which are not carried over.
    pub global_headers_skipped: u64,
    /// The kind of blob written.
    pub format: Format,
    /// For zstd:chunked: the TOC frame's position and checksum.
    pub zstd_manifest: Option<ZstdManifest>,
    /// With [`TocPlacement::External`]: the TOC blob, its digest and size.
    pub external_toc: Option<ExternalToc>,
}

impl Encoded {
    /// The layer annotations: the TOC digest and the uncompressed size; for zstd:chunked
    /// also the manifest checksum and position (as the reference's converter adds them).
    /// For [`Format::ZstdChunkedV2`] only the three `io.github.containers.zstd-chunked.*`
    /// annotations containers/storage sets: it refuses layers that carry both a
    /// zstd:chunked and an eStargz TOC digest.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        if self.format == Format::ZstdChunkedV2
            && let Some(manifest) = &self.zstd_manifest
        {
            return manifest.annotations();
        }
        let mut annotations = vec![
            (TOC_DIGEST_ANNOTATION, self.toc_digest.to_string()),
            (
                UNCOMPRESSED_SIZE_ANNOTATION,
                self.uncompressed_size.to_string(),
            ),
        ];
        if let Some(manifest) = &self.zstd_manifest {
            annotations.extend(manifest.annotations());
        }
        annotations
    }
}

/// Converts tar layers to eStargz blobs; see the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Encoder {
    options: EncoderOptions,
}

impl Encoder {
    /// A builder with the default options.
    pub fn builder() -> EncoderBuilder {
        EncoderBuilder::default()
    }

    /// An encoder with these options.
    ///
    /// # Errors
    ///
    /// As [`EncoderOptions::validate`].
    pub fn new(options: EncoderOptions) -> Result<Self> {
        options.validate()?;
        Ok(Self { options })
    }

    /// The options.
    pub fn options(&self) -> &EncoderOptions {
        &self.options
    }

    /// Encodes a tar or tar.gz read from any reader (for example standard input), writing
    /// the blob to `out`. The input is spooled to a temporary file first (decompressed if it
    /// is gzip), because the encoder reads it twice.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if reading, spooling or writing fails; [`Error::Tar`] for a malformed
    /// tar; [`Error::UnsupportedInput`] for zstd input or entries eStargz cannot hold;
    /// [`Error::Order`] for a missing prioritized file.
    pub fn encode<R: Read, W: Write>(&self, mut input: R, out: W) -> Result<Encoded> {
        let mut magic = [0u8; 4];
        let mut have = 0;
        while have < magic.len() {
            let n = match input.read(magic.get_mut(have..).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("reading the input", e)),
            };
            if n == 0 {
                break;
            }
            have += n;
        }
        let head = magic.get(..have).unwrap_or_default();
        let chained = head.chain(input);
        let mut spool = tempfile::tempfile()
            .map_err(|e| Error::io("creating a temporary file for the input", e))?;
        match sniff(head)? {
            InputKind::Gzip => {
                let max = self.options.tar_limits.max_gzip_members;
                let gunzip = MultiMemberDecoder::with_max_members(chained, max);
                copy(gunzip, &mut spool, true)?;
            }
            InputKind::Tar => copy(chained, &mut spool, false)?,
        }
        self.encode_tar(&spool, out)
    }

    /// Encodes a tar or tar.gz held by a positioned source (a [`File`], a byte slice...),
    /// writing the blob to `out`. An uncompressed tar is read in place (twice); a tar.gz is
    /// decompressed to a temporary file first.
    ///
    /// # Errors
    ///
    /// As [`Encoder::encode`].
    pub fn encode_read_at<S, W>(&self, input: &S, out: W) -> Result<Encoded>
    where
        S: ReadAt + Sync + ?Sized,
        W: Write,
    {
        let size = input
            .size()
            .map_err(|e| Error::io("reading the size of the input", e))?;
        let mut magic = [0u8; 4];
        let have = usize::try_from(size.min(4)).unwrap_or(4);
        let head = magic.get_mut(..have).unwrap_or_default();
        input
            .read_exact_at(0, head)
            .map_err(|e| Error::io("reading the start of the input", e))?;
        match sniff(head)? {
            InputKind::Tar => self.encode_tar(input, out),
            InputKind::Gzip => {
                let mut spool = tempfile::tempfile()
                    .map_err(|e| Error::io("creating a temporary file for the input", e))?;
                let reader = ReadAtReader {
                    src: input,
                    pos: 0,
                    size,
                };
                let max = self.options.tar_limits.max_gzip_members;
                let gunzip = MultiMemberDecoder::with_max_members(reader, max);
                copy(gunzip, &mut spool, true)?;
                self.encode_tar(&spool, out)
            }
        }
    }

    /// Encodes an uncompressed tar held by a positioned source, without sniffing.
    ///
    /// # Errors
    ///
    /// As [`Encoder::encode`].
    pub fn encode_tar<S, W>(&self, tar: &S, out: W) -> Result<Encoded>
    where
        S: ReadAt + Sync + ?Sized,
        W: Write,
    {
        let opts = &self.options;
        let scanned = scan::scan(tar, &opts.tar_limits)?;
        if opts.format == Format::ZstdChunkedV2 {
            return codec::encode_v2(tar, &scanned, opts, BlobOut::new(out));
        }
        let order = plan::order(&scanned.entries, opts)?;
        let mut out = BlobOut::new(out);
        let threads = opts.threads.get();
        let codec = CodecSpec::of(opts)?;
        // zstd frames, and gzip members of a one-shot backend, are always compressed whole,
        // on workers (one is enough).
        let whole_members =
            threads > 1 || opts.format != Format::Gzip || opts.backend.is_one_shot();
        let (planned, member_offsets) = if whole_members && opts.min_chunk_size == 0 {
            sink::run_parallel(
                &mut out,
                codec,
                opts.layout,
                threads,
                opts.chunk_size,
                |sink| plan::run(tar, &scanned.entries, &order, opts, sink),
            )?
        } else {
            let mut sink = SequentialSink::new(&mut out, opts);
            let planned = plan::run(tar, &scanned.entries, &order, opts, &mut sink)?;
            (planned, sink.member_offsets)
        };
        let plan::Planned {
            mut entries,
            data_refs,
            mut diff_id,
            not_found,
        } = planned;
        for i in data_refs {
            if let Some(entry) = entries.get_mut(i) {
                let member = usize::try_from(entry.offset).unwrap_or(usize::MAX);
                let offset =
                    member_offsets
                        .get(member)
                        .copied()
                        .ok_or_else(|| Error::Compress {
                            reason: format!("member {member} was never written"),
                        })?;
                entry.offset = i64::try_from(offset).unwrap_or(i64::MAX);
            }
        }

        // The TOC member and the footer.
        let toc = Toc {
            version: TOC_VERSION,
            entries,
        };
        let json = toc.to_json();
        let toc_digest = Digest::of(&json);
        let (toc_offset, zstd_manifest, external_toc) = match opts.format {
            Format::Gzip => {
                let (toc_offset, external) = toc_tail::write_gzip_tail(
                    &mut out,
                    &json,
                    opts.level,
                    opts.backend,
                    opts.toc_placement,
                    &mut diff_id,
                )?;
                (toc_offset, None, external)
            }
            // (v2 blobs were written whole by `codec::encode_v2` above.)
            Format::ZstdChunked | Format::ZstdChunkedV2 => {
                let (tail, manifest) = codec::zstd_tail(&json, opts.zstd_level, out.offset)?;
                out.write(&tail)?;
                (manifest.position.offset, Some(manifest), None)
            }
        };
        out.flush()?;

        let diff_id = diff_id.finish();
        let blob = out.digest.finish();
        Ok(Encoded {
            toc_digest,
            diff_id: diff_id.digest,
            uncompressed_size: diff_id.uncompressed_size,
            blob_digest: blob.digest,
            blob_size: blob.size,
            toc_offset,
            toc_entries: toc.entries.len(),
            prioritized_not_found: not_found,
            global_headers_skipped: scanned.global_headers,
            format: opts.format,
            zstd_manifest,
            external_toc,
        })
    }
}

/// What the input looks like.
enum InputKind {
    Tar,
    Gzip,
}

/// The reference's sniffing: gzip, zstd (rejected for now), or a tar.
fn sniff(head: &[u8]) -> Result<InputKind> {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Ok(InputKind::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Err(Error::UnsupportedInput {
            reason: "zstd-compressed input is not supported yet; decompress it first".to_owned(),
        })
    } else {
        Ok(InputKind::Tar)
    }
}

/// Copies `from` into the spool file and rewinds it.
fn copy<R: Read>(mut from: R, spool: &mut File, decompressing: bool) -> Result<()> {
    let what = if decompressing {
        "decompressing the gzip input into a temporary file"
    } else {
        "copying the input into a temporary file"
    };
    io::copy(&mut from, spool).map_err(|e| Error::io(what, e))?;
    spool
        .rewind()
        .map_err(|e| Error::io("rewinding the temporary file", e))?;
    Ok(())
}

/// Sequential reads over a positioned source.
struct ReadAtReader<'a, S: ?Sized> {
    src: &'a S,
    pos: u64,
    size: u64,
}

impl<S: ReadAt + ?Sized> Read for ReadAtReader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size.saturating_sub(self.pos);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let dst = buf.get_mut(..n).unwrap_or_default();
        self.src.read_exact_at(self.pos, dst)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}
