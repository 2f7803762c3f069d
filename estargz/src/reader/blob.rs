//! The lazy reader: open a blob, look entries up, read verified chunks on demand.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use estargz_toc::{Chunk, EntryType, Footer, Index, Node, Toc};
use estargz_verifier::Digest;

use super::cache::ChunkCache;
use super::decode::{self, RunDecoder, RunSink, Tail, Take};
use super::file::FileReader;
use super::layout::{Layout, entry_path, header_sums};
use super::options::ReaderOptions;
use super::toc_load::{LoadedToc, load_external_toc, load_toc};
use crate::error::{Error, Result};
use crate::source::ReadAt;

/// A blob opened for lazy, verified reads.
///
/// Opening reads only the footer and the TOC (one read when the TOC fits
/// [`TocOptions::tail_guess`](super::TocOptions::tail_guess)) and checks the TOC's
/// consistency ([`Index::build`]). File contents are then read chunk by chunk, each chunk
/// fetched with one positioned read of its compressed range, decompressed, and checked
/// against its `chunkDigest` before any byte of it is returned. Verified chunks are kept in
/// a small cache bounded in bytes.
///
/// All reads take `&self`: a `Reader` can be shared between threads (for example in an
/// [`Arc`]) when its source is `Sync`.
///
/// ```
/// # fn main() -> estargz::Result<()> {
/// # let blob: Vec<u8> = Vec::new();
/// # if blob.is_empty() { return Ok(()); }
/// use estargz::reader::{Reader, ReaderOptions};
///
/// let reader = Reader::open(blob, ReaderOptions::default())?;
/// let file = reader.open_file("etc/os-release")?;
/// let mut head = [0u8; 64];
/// let n = file.read_at(0, &mut head)?;
/// println!("{}", String::from_utf8_lossy(&head[..n]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Reader<R> {
    source: R,
    footer: Footer,
    toc_range: Range<u64>,
    blob_size: u64,
    toc_digest: Digest,
    toc_reads: u32,
    index: Index,
    pub(crate) layout: Layout,
    /// Prefix sums of an upper bound of each TOC entry's tar header bytes
    /// ([`header_sums`]), bounding the bytes a member may hold between two chunks.
    pub(crate) header_sums: Vec<u64>,
    pub(crate) options: ReaderOptions,
    cache: Mutex<ChunkCache>,
    counters: Counters,
}

/// Counts of what a [`Reader`] did, for statistics (`esgz cat --stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadStats {
    /// Reads of the source made to load the footer and TOC.
    pub toc_reads: u64,
    /// Reads of the source made for chunks (one per `read_exact_at`, or one per batch).
    pub chunk_reads: u64,
    /// Compressed bytes read for chunks.
    pub bytes_fetched: u64,
    /// Chunks decompressed (and verified, unless verification is off).
    pub chunks_decompressed: u64,
    /// Chunk lookups answered from the cache.
    pub cache_hits: u64,
    /// Bytes of decompressed chunks in the cache now.
    pub cached_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    chunk_reads: AtomicU64,
    bytes_fetched: AtomicU64,
    chunks_decompressed: AtomicU64,
    cache_hits: AtomicU64,
}

/// What a chunk's bytes must hash to.
pub(crate) enum Expected {
    /// Its own `chunkDigest`.
    Chunk(Digest),
    /// The file's `digest` (the file is this one chunk and has no `chunkDigest`).
    WholeFile(Digest),
    /// Nothing covers this chunk alone.
    Nothing,
}

impl<R: ReadAt> Reader<R> {
    /// Opens a blob: reads its footer and TOC (checking the TOC digest when
    /// [`TocOptions::expected_digest`](super::TocOptions::expected_digest) is set) and
    /// builds the index.
    ///
    /// # Errors
    ///
    /// As [`load_toc`]; [`Error::Toc`] when the TOC is inconsistent (for example offsets
    /// past the data region, overlapping chunks, missing hardlink targets);
    /// [`Error::InvalidLayout`] when chunks that share a member overlap or member runs are
    /// out of order.
    pub fn open(source: R, options: ReaderOptions) -> Result<Self> {
        let loaded = load_toc(&source, &options.toc)?;
        Self::with_toc(source, loaded, options)
    }

    /// Opens a blob whose TOC is stored in a separate blob (the external-TOC eStargz
    /// variant): reads the blob's footer and the TOC from `toc_blob` (checking the TOC
    /// digest when [`TocOptions::expected_digest`](super::TocOptions::expected_digest) is
    /// set, which is what ties the TOC blob to this blob) and builds the index. Everything
    /// else works as for a blob opened with [`Reader::open`]; the payload is everything
    /// before the 46-byte footer.
    ///
    /// # Errors
    ///
    /// As [`load_external_toc`] and [`Reader::open`].
    pub fn open_with_external_toc<T: ReadAt + ?Sized>(
        source: R,
        toc_blob: &T,
        options: ReaderOptions,
    ) -> Result<Self> {
        let loaded = load_external_toc(&source, toc_blob, &options.toc)?;
        Self::with_toc(source, loaded, options)
    }

    /// A reader of `source`, whose TOC is `loaded`.
    fn with_toc(source: R, loaded: LoadedToc, options: ReaderOptions) -> Result<Self> {
        let LoadedToc {
            footer,
            toc_range,
            blob_size,
            digest,
            toc,
            reads,
            ..
        } = loaded;
        let data_end = super::codec::payload_end(&footer, &toc_range);
        let index = Index::build(toc, data_end, &options.toc.limits)?;
        let layout = Layout::build(&index)?;
        let header_sums = header_sums(index.toc());
        Ok(Self {
            source,
            footer,
            toc_range,
            blob_size,
            toc_digest: digest,
            toc_reads: reads,
            index,
            layout,
            header_sums,
            cache: Mutex::new(ChunkCache::new(options.cache_bytes)),
            options,
            counters: Counters::default(),
        })
    }

    /// Opens the regular file at `path` (cleaned first; a hardlink opens its target).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for unknown paths, [`Error::NotRegularFile`] for directories,
    /// symlinks, devices and FIFOs.
    pub fn open_file(&self, path: impl AsRef<[u8]>) -> Result<FileReader<'_, R>> {
        let path = path.as_ref();
        let node = self.index.lookup(path).ok_or_else(|| Error::NotFound {
            path: String::from_utf8_lossy(path).into_owned(),
        })?;
        FileReader::new(self, node)
    }

    /// Reads the compressed bytes `range` of the blob in one read.
    pub(crate) fn fetch(&self, range: Range<u64>, what: &dyn Fn() -> String) -> Result<Vec<u8>> {
        let len = range.end.saturating_sub(range.start);
        if len > self.options.max_fetch_bytes {
            return Err(Error::LimitExceeded {
                limit: crate::LimitKind::FetchBytes,
                actual: len,
                max: self.options.max_fetch_bytes,
            });
        }
        let mut buf = vec![0; len as usize];
        self.source
            .read_exact_at(range.start, &mut buf)
            .map_err(|e| {
                Error::io(
                    format!(
                        "{}: reading blob bytes {}..{}",
                        what(),
                        range.start,
                        range.end
                    ),
                    e,
                )
            })?;
        self.count_fetch(1, len);
        Ok(buf)
    }

    /// The verified bytes of chunk `index` (a position in [`Index::all_chunks`]), from the
    /// cache or fetched and decompressed.
    ///
    /// With `verify` false the chunk is not checked, and cached only when verification is
    /// off for the whole reader (the cache holds only chunks as trusted as the reader's
    /// options ask for).
    pub(crate) fn chunk(&self, index: usize, verify: bool) -> Result<Arc<[u8]>> {
        let cacheable = verify || !self.options.verify_chunks;
        if let Some(data) = self.lock_cache().get(index) {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(data);
        }
        let chunks = self.index.all_chunks();
        let chunk = *chunks
            .get(index)
            .ok_or_else(|| Error::InvalidArgument(format!("chunk {index} is not in the index")))?;
        if chunk.size > self.options.max_chunk_bytes {
            return Err(Error::LimitExceeded {
                limit: crate::LimitKind::ChunkBytes,
                actual: chunk.size,
                max: self.options.max_chunk_bytes,
            });
        }
        let run = self
            .layout
            .chunk_run
            .get(index)
            .and_then(|&r| self.layout.runs.get(r as usize))
            .ok_or_else(|| Error::InvalidArgument(format!("chunk {index} has no member run")))?;
        let compressed = self.fetch(run.blob.clone(), &|| self.describe(&chunk))?;
        let mut sink = FillSink {
            reader: self,
            target: index,
            verify,
            keep_siblings: cacheable && self.options.cache_bytes > 0,
            budget: self.options.cache_bytes,
            kept: Vec::new(),
            found: None,
        };
        self.decode_into(
            &compressed,
            run.blob.start,
            run.chunks.start..index + 1,
            Tail::Stop,
            &mut sink,
        )?;
        let FillSink { kept, found, .. } = sink;
        let found = found.ok_or_else(|| Error::Decompress {
            offset: chunk.blob_offset,
            reason: format!("{}: not decoded", self.describe(&chunk)),
        })?;
        if cacheable && self.options.cache_bytes > 0 {
            let mut cache = self.lock_cache();
            for (i, data) in kept {
                cache.insert(i, data);
            }
            cache.insert(index, Arc::clone(&found));
        }
        Ok(found)
    }

    /// Decompresses `chunks` (positions in the index, consecutive chunks of the run that
    /// starts at `blob_offset`) out of `compressed` into `sink`.
    pub(crate) fn decode_into(
        &self,
        compressed: &[u8],
        blob_offset: u64,
        chunks: Range<usize>,
        tail: Tail,
        sink: &mut dyn RunSink,
    ) -> Result<()> {
        let all = self.index.all_chunks();
        let slice = all.get(chunks.clone()).unwrap_or_default();
        let mut decoder = RunDecoder::new(self.codec(), compressed, blob_offset)?;
        let mut scratch = vec![0; decode::SCRATCH_LEN];
        // Random reads never look at the bytes between chunks, but a lying `innerOffset`
        // must not make them inflate without bound: a gap may hold the tar headers of the
        // entries between the two chunks (and slack), as in whole-run operations.
        decode::walk_run(
            &mut decoder,
            chunks.start,
            slice,
            &mut scratch,
            &|ci| self.gap_allowance(ci),
            tail,
            &|i| all.get(i).map_or_else(String::new, |c| self.describe(c)),
            sink,
        )
    }

    /// Counts of reads, bytes and cache hits so far.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            toc_reads: u64::from(self.toc_reads),
            chunk_reads: self.counters.chunk_reads.load(Ordering::Relaxed),
            bytes_fetched: self.counters.bytes_fetched.load(Ordering::Relaxed),
            chunks_decompressed: self.counters.chunks_decompressed.load(Ordering::Relaxed),
            cache_hits: self.counters.cache_hits.load(Ordering::Relaxed),
            cached_bytes: self.lock_cache().used(),
        }
    }
}

impl<R> Reader<R> {
    pub(crate) fn count_fetch(&self, reads: u64, bytes: u64) {
        self.counters
            .chunk_reads
            .fetch_add(reads, Ordering::Relaxed);
        self.counters
            .bytes_fetched
            .fetch_add(bytes, Ordering::Relaxed);
    }

    fn lock_cache(&self) -> MutexGuard<'_, ChunkCache> {
        // The cache holds only complete, verified chunks, so it is consistent even if a
        // thread panicked while holding the lock.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether chunk `index` is in the cache.
    pub(crate) fn is_cached(&self, index: usize) -> bool {
        self.lock_cache().contains(index)
    }

    /// Adds a verified chunk to the cache.
    pub(crate) fn cache_insert(&self, index: usize, data: Arc<[u8]>) {
        self.lock_cache().insert(index, data);
    }

    /// The index: lookups by path, children, hardlinks, chunk lists.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The TOC as stored.
    pub fn toc(&self) -> &Toc {
        self.index.toc()
    }

    /// Looks up a path (cleaned first); a hardlink resolves to its target.
    pub fn lookup(&self, path: impl AsRef<[u8]>) -> Option<Node<'_>> {
        self.index.lookup(path)
    }

    /// The sha256 of the TOC JSON (the layer annotation
    /// `containerd.io/snapshot/stargz/toc.digest`).
    pub fn toc_digest(&self) -> Digest {
        self.toc_digest
    }

    /// The footer that located the TOC.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// Where the TOC's stored bytes are in the blob. Its start is the end of the data
    /// region (the compressed tar payload); for an external TOC the range is empty and
    /// starts at the footer.
    pub fn toc_range(&self) -> Range<u64> {
        self.toc_range.clone()
    }

    /// The size of the blob.
    pub fn blob_size(&self) -> u64 {
        self.blob_size
    }

    /// The options the reader was opened with.
    pub fn options(&self) -> &ReaderOptions {
        &self.options
    }

    /// The blob source.
    pub fn source(&self) -> &R {
        &self.source
    }

    /// The cleaned path of chunk's file, its offset in the file and in the blob, for
    /// messages.
    pub(crate) fn describe(&self, chunk: &Chunk) -> String {
        format!(
            "{:?} chunk at offset {} (blob offset {}, inner offset {})",
            entry_path(self.index.toc(), chunk.entry),
            chunk.file_offset,
            chunk.blob_offset,
            chunk.inner_offset
        )
    }

    /// What the bytes of `chunk` must hash to.
    pub(crate) fn expected(&self, chunk: &Chunk) -> Result<Expected> {
        let Some(entry) = self.index.toc().entries.get(chunk.entry) else {
            return Ok(Expected::Nothing);
        };
        let parse = |s: &str, which: &str| {
            Digest::parse(s).map_err(|source| Error::InvalidDigest {
                what: format!("{} ({which})", self.describe(chunk)),
                source,
            })
        };
        if !entry.chunk_digest.is_empty() {
            return parse(&entry.chunk_digest, "chunkDigest").map(Expected::Chunk);
        }
        let whole = entry.kind == EntryType::Reg
            && chunk.file_offset == 0
            && i64::try_from(chunk.size).is_ok_and(|s| s == entry.size);
        if whole && !entry.digest.is_empty() {
            return parse(&entry.digest, "digest").map(Expected::WholeFile);
        }
        Ok(Expected::Nothing)
    }

    /// Checks a decompressed chunk against what the TOC says.
    pub(crate) fn check_chunk(&self, chunk: &Chunk, data: &[u8]) -> Result<()> {
        match self.expected(chunk)? {
            Expected::Chunk(expected) | Expected::WholeFile(expected) => {
                let actual = Digest::of(data);
                if actual != expected {
                    return Err(Error::DigestMismatch {
                        what: self.describe(chunk),
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    });
                }
                Ok(())
            }
            Expected::Nothing => Err(Error::Unverifiable {
                what: self.describe(chunk),
                reason: "the TOC has no chunkDigest for it (read the whole file, or turn \
                         verification off)",
            }),
        }
    }

    pub(crate) fn count_decompressed(&self, chunks: u64) {
        self.counters
            .chunks_decompressed
            .fetch_add(chunks, Ordering::Relaxed);
    }
}

/// Collects the target chunk of a random read, and the chunks before it in the same run
/// (decompressed anyway) while they fit the cache.
struct FillSink<'a, R> {
    reader: &'a Reader<R>,
    target: usize,
    verify: bool,
    keep_siblings: bool,
    budget: u64,
    kept: Vec<(usize, Arc<[u8]>)>,
    found: Option<Arc<[u8]>>,
}

impl<R> RunSink for FillSink<'_, R> {
    fn begin(&mut self, index: usize, chunk: &Chunk) -> Result<Take> {
        if index == self.target {
            return Ok(Take::Buffer);
        }
        let verifiable = !self.reader.options.verify_chunks
            || matches!(
                self.reader.expected(chunk),
                Ok(Expected::Chunk(_) | Expected::WholeFile(_))
            );
        if self.keep_siblings
            && verifiable
            && chunk.size <= self.budget
            && chunk.size <= self.reader.options.max_chunk_bytes
            && !self.reader.is_cached(index)
        {
            self.budget -= chunk.size;
            return Ok(Take::Buffer);
        }
        Ok(Take::Skip)
    }

    fn data(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }

    fn end(&mut self, index: usize, chunk: &Chunk, buffer: Option<Vec<u8>>) -> Result<()> {
        let Some(buffer) = buffer else {
            return Ok(());
        };
        self.reader.count_decompressed(1);
        if index == self.target {
            if self.verify {
                self.reader.check_chunk(chunk, &buffer)?;
            }
            self.found = Some(buffer.into());
        } else if !self.reader.options.verify_chunks
            || self.reader.check_chunk(chunk, &buffer).is_ok()
        {
            // A sibling that fails verification is just not cached; reading it later
            // reports the error.
            self.kept.push((index, buffer.into()));
        }
        Ok(())
    }

    fn gap(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
}
