//! Whole-blob verification: every chunk and every regular file, each member run
//! decompressed exactly once, in parallel.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use estargz_toc::{Chunk, EntryType};
use estargz_verifier::{Digest, Hasher};

use super::blob::{Expected, Reader};
use super::decode::{self, RunSink, Take};
use super::layout::entry_path;
use super::tar_check::TarCheck;
use super::walk::{Checked, segments};
use crate::error::{Error, Result};
use crate::source::ReadAt;

/// Compressed bytes a verification worker reads at once (several small member runs are
/// fetched with one read).
const BATCH_BYTES: u64 = 8 << 20;

/// Compressed bytes of member runs handed to a worker as one task (a file's runs are
/// never split between tasks, so that its digest is computed in order).
const GROUP_BYTES: u64 = 1 << 20;

/// One regular file as [`Reader::verify_all`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedFile {
    /// Position of the file's entry in the TOC.
    pub entry: usize,
    /// The cleaned path (bytes, as in the TOC; usually UTF-8).
    pub path: Vec<u8>,
    /// The size in bytes.
    pub size: u64,
    /// The sha256 of the content, as computed (equal to the TOC's `digest`).
    pub sha256: Digest,
}

/// The result of [`Reader::verify_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The TOC digest (checked against the expected one at open, when one was given).
    pub toc_digest: Digest,
    /// Every regular file (including empty ones), in TOC order.
    pub files: Vec<VerifiedFile>,
    /// Chunks verified.
    pub chunks: u64,
    /// Uncompressed bytes of file content verified.
    pub content_bytes: u64,
    /// Compressed bytes read.
    pub compressed_bytes: u64,
}

impl<R: ReadAt + Sync> Reader<R> {
    /// Verifies the whole blob: every chunk against its `chunkDigest`, every regular file
    /// against its `digest` (and the TOC against the expected TOC digest, which
    /// [`Reader::open`] already did when one was given).
    ///
    /// Unlike the reference's `VerifyTOC`, blobs built with a minimum chunk size (chunks
    /// that share a member, `innerOffset`) are supported. Each member run is read with one
    /// positioned read (small runs are batched), decompressed exactly once and hashed while
    /// it is decompressed, by [`ReaderOptions::threads`](super::ReaderOptions::threads)
    /// threads. The result does not depend on the thread count. Bytes a member inflates to
    /// beyond what its TOC entries account for are bounded by
    /// [`ReaderOptions::header_slack`](super::ReaderOptions::header_slack) per gap.
    ///
    /// Legacy stargz files without `chunkDigest` are verified by their `digest`; a file the
    /// TOC records no digest for at all fails with [`Error::Unverifiable`].
    ///
    /// Tar headers, which no digest covers, are checked against the TOC as
    /// [`Reader::unpack_to_tar`] checks them, so a blob that verifies unpacks to exactly
    /// the entries its TOC lists.
    ///
    /// # Errors
    ///
    /// The first failure in blob order: [`Error::DigestMismatch`] naming the entry and the
    /// chunk's offsets, [`Error::TarMismatch`] for tar headers that differ from the TOC,
    /// [`Error::Decompress`] for corrupt or truncated members,
    /// [`Error::LimitExceeded`] for members that inflate too far, [`Error::Io`],
    /// [`Error::InvalidDigest`], [`Error::Unverifiable`].
    pub fn verify_all(&self) -> Result<Verification> {
        let runs = &self.layout.runs;
        let all = self.index().all_chunks();
        let groups = groups(self);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Mutex<Vec<(usize, Result<GroupResult>)>> = Mutex::new(Vec::new());
        let threads = self.options.threads.clamp(1, groups.len().max(1));
        let work = || {
            let mut buf = Vec::new();
            let mut scratch = vec![0; decode::SCRATCH_LEN];
            loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(g) else { break };
                if failed.load(Ordering::Relaxed) {
                    break;
                }
                let result = self.verify_group(group, &mut buf, &mut scratch);
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((g, result));
            }
        };
        if threads == 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(work);
                }
            });
        }
        let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        results.sort_by_key(|(g, _)| *g);
        // Report the first failure in blob order among those found.
        let mut by_entry: Vec<Option<VerifiedFile>> = vec![None; self.toc().entries.len()];
        let mut verification = Verification {
            toc_digest: self.toc_digest(),
            files: Vec::new(),
            chunks: 0,
            content_bytes: 0,
            compressed_bytes: 0,
        };
        for (_, result) in results {
            let group = result?;
            verification.compressed_bytes += group.compressed_bytes;
            for file in group.files {
                let entry = file.entry;
                if let Some(slot) = by_entry.get_mut(entry) {
                    *slot = Some(file);
                }
            }
        }
        verification.chunks = all.len() as u64;
        debug_assert!(runs.iter().all(|r| r.chunks.end <= all.len()));
        for (i, entry) in self.toc().entries.iter().enumerate() {
            if entry.kind != EntryType::Reg {
                continue;
            }
            let file = match by_entry.get_mut(i).and_then(Option::take) {
                Some(file) => file,
                None if entry.size == 0 => {
                    if !entry.digest.is_empty() {
                        let expected = parse_digest(&entry.digest, || {
                            format!("{:?} (digest)", entry_path(self.toc(), i))
                        })?;
                        if expected != Digest::EMPTY {
                            return Err(Error::DigestMismatch {
                                what: format!("{:?} (empty file)", entry_path(self.toc(), i)),
                                expected: expected.to_string(),
                                actual: Digest::EMPTY.to_string(),
                            });
                        }
                    }
                    VerifiedFile {
                        entry: i,
                        path: estargz_toc::path::clean(entry.name.as_bytes()).into_owned(),
                        size: 0,
                        sha256: Digest::EMPTY,
                    }
                }
                None => {
                    return Err(Error::InvalidLayout {
                        entry: i,
                        path: entry_path(self.toc(), i),
                        reason: "a regular file with content but no chunks",
                    });
                }
            };
            verification.content_bytes += file.size;
            verification.files.push(file);
        }
        self.count_fetch(0, verification.compressed_bytes);
        Ok(verification)
    }

    /// Verifies one group: its member runs (which hold whole files) and the tar headers
    /// around them, checked against the TOC.
    fn verify_group(
        &self,
        group: &Group,
        buf: &mut Vec<u8>,
        scratch: &mut [u8],
    ) -> Result<GroupResult> {
        let all = self.index().all_chunks();
        let mut sink = VerifySink {
            reader: self,
            hasher: Hasher::new(),
            file: None,
            files: Vec::new(),
        };
        let mut check = match group.first_chunk.and_then(|c| all.get(c)) {
            Some(chunk) => TarCheck::at_file(self.index(), chunk),
            None => TarCheck::new(self.index()),
        }
        .owner_names(super::codec::toc_has_owner_names(self.footer()));
        let segments = segments(self, group.runs.clone(), group.blob.clone());
        let mut compressed_bytes = 0;
        let mut i = 0;
        while let Some(first) = segments.get(i) {
            // Several small segments are read at once.
            let mut j = i + 1;
            while segments
                .get(j)
                .is_some_and(|s| s.blob.end - first.blob.start <= BATCH_BYTES)
            {
                j += 1;
            }
            let last_end = segments.get(j - 1).map_or(first.blob.end, |s| s.blob.end);
            let batch = first.blob.start..last_end;
            let len = batch.end - batch.start;
            if len > self.options.max_fetch_bytes {
                return Err(Error::LimitExceeded {
                    limit: crate::LimitKind::FetchBytes,
                    actual: len,
                    max: self.options.max_fetch_bytes,
                });
            }
            buf.clear();
            buf.resize(len as usize, 0);
            self.source().read_exact_at(batch.start, buf).map_err(|e| {
                Error::io(
                    format!(
                        "verifying: reading blob bytes {}..{}",
                        batch.start, batch.end
                    ),
                    e,
                )
            })?;
            compressed_bytes += len;
            for segment in segments.get(i..j).unwrap_or_default() {
                let from = (segment.blob.start - batch.start) as usize;
                let to = (segment.blob.end - batch.start) as usize;
                let compressed = buf.get(from..to).unwrap_or_default();
                check.set_blob_offset(segment.blob.start);
                let mut checked = Checked {
                    check: &mut check,
                    inner: &mut sink,
                };
                self.decode_segment(segment, compressed, scratch, &mut checked)?;
            }
            i = j;
        }
        // The next group starts inside the content of its first file, whose header must
        // be the last thing this group saw.
        match group.next_chunk.and_then(|c| all.get(c)) {
            Some(chunk) => check.expect_chunk(chunk)?,
            None => {
                check.finish()?;
            }
        }
        Ok(GroupResult {
            files: sink.files,
            compressed_bytes,
        })
    }
}

struct GroupResult {
    files: Vec<VerifiedFile>,
    compressed_bytes: u64,
}

/// A verification task: member runs and the compressed bytes that hold them and the tar
/// headers around them.
#[derive(Debug, Clone)]
struct Group {
    runs: Range<usize>,
    blob: Range<u64>,
    /// The first chunk of the group (the start of a file), unless the group starts the
    /// payload.
    first_chunk: Option<usize>,
    /// The first chunk of the next group, if any.
    next_chunk: Option<usize>,
}

/// Splits the payload into tasks of about [`GROUP_BYTES`] compressed bytes, never splitting
/// a file's chunks between two tasks. Together the tasks cover the whole data region, the
/// first from blob offset 0.
fn groups<R>(reader: &Reader<R>) -> Vec<Group> {
    let all = reader.index().all_chunks();
    let runs = &reader.layout.runs;
    let mut starts = vec![0];
    let mut bytes = 0;
    for (r, run) in runs.iter().enumerate() {
        // A task starts where a file's content starts, right at the start of a member.
        let starts_file = all
            .get(run.chunks.start)
            .is_some_and(|c| c.file_offset == 0 && c.inner_offset == 0);
        if r > 0 && bytes >= GROUP_BYTES && starts_file {
            starts.push(r);
            bytes = 0;
        }
        bytes += run.blob.end - run.blob.start;
    }
    let run_start = |r: usize| runs.get(r).map(|run| run.chunks.start);
    let data_end = reader.payload_end();
    starts
        .iter()
        .enumerate()
        .map(|(g, &r)| {
            let next = starts.get(g + 1).copied();
            Group {
                runs: r..next.unwrap_or(runs.len()),
                blob: if g == 0 {
                    0
                } else {
                    runs.get(r).map_or(data_end, |run| run.blob.start)
                }
                    ..next
                        .and_then(|n| runs.get(n))
                        .map_or(data_end, |run| run.blob.start),
                first_chunk: if g == 0 { None } else { run_start(r) },
                next_chunk: next.and_then(run_start),
            }
        })
        .collect()
}

fn parse_digest(s: &str, what: impl FnOnce() -> String) -> Result<Digest> {
    Digest::parse(s).map_err(|source| Error::InvalidDigest {
        what: what(),
        source,
    })
}

/// The file whose chunks are being verified.
struct OpenFile {
    entry: usize,
    size: u64,
    /// A hasher over the whole file, for files of more than one chunk.
    hasher: Option<Hasher>,
    /// Whether some chunk had no `chunkDigest`.
    unchecked_chunk: bool,
}

/// Hashes chunks as they are decompressed and checks chunk and file digests.
struct VerifySink<'a, R> {
    reader: &'a Reader<R>,
    hasher: Hasher,
    file: Option<OpenFile>,
    files: Vec<VerifiedFile>,
}

impl<R> RunSink for VerifySink<'_, R> {
    fn begin(&mut self, _index: usize, chunk: &Chunk) -> Result<Take> {
        if chunk.file_offset == 0 {
            let size = self
                .reader
                .toc()
                .entries
                .get(chunk.entry)
                .map_or(0, |e| e.size.max(0) as u64);
            self.file = Some(OpenFile {
                entry: chunk.entry,
                size,
                hasher: (chunk.size < size).then(Hasher::new),
                unchecked_chunk: false,
            });
        }
        self.hasher = Hasher::new();
        Ok(Take::Stream)
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        if let Some(hasher) = self.file.as_mut().and_then(|f| f.hasher.as_mut()) {
            hasher.update(bytes);
        }
        Ok(())
    }

    fn end(&mut self, _index: usize, chunk: &Chunk, _buffer: Option<Vec<u8>>) -> Result<()> {
        let actual = std::mem::take(&mut self.hasher).finalize();
        let Some(file) = self.file.as_mut() else {
            return Err(Error::InvalidLayout {
                entry: chunk.entry,
                path: entry_path(self.reader.toc(), chunk.entry),
                reason: "a chunk that continues no file",
            });
        };
        match self.reader.expected(chunk)? {
            Expected::Chunk(expected) | Expected::WholeFile(expected) => {
                if actual != expected {
                    return Err(Error::DigestMismatch {
                        what: self.reader.describe(chunk),
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    });
                }
            }
            Expected::Nothing => file.unchecked_chunk = true,
        }
        if chunk.file_offset + chunk.size < file.size {
            return Ok(());
        }
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let sha256 = match file.hasher {
            Some(hasher) => hasher.finalize(),
            None => actual,
        };
        let toc = self.reader.toc();
        let what = || {
            format!(
                "{:?} (whole file, {} bytes)",
                entry_path(toc, file.entry),
                file.size
            )
        };
        let recorded = toc
            .entries
            .get(file.entry)
            .map_or("", |e| e.digest.as_str());
        if recorded.is_empty() {
            if file.unchecked_chunk {
                return Err(Error::Unverifiable {
                    what: what(),
                    reason: "the TOC has neither chunkDigests nor a digest for it",
                });
            }
        } else {
            let expected = parse_digest(recorded, || format!("{} (digest)", what()))?;
            if expected != sha256 {
                return Err(Error::DigestMismatch {
                    what: what(),
                    expected: expected.to_string(),
                    actual: sha256.to_string(),
                });
            }
        }
        let path = toc.entries.get(file.entry).map_or_else(Vec::new, |e| {
            estargz_toc::path::clean(e.name.as_bytes()).into_owned()
        });
        self.files.push(VerifiedFile {
            entry: file.entry,
            path,
            size: file.size,
            sha256,
        });
        Ok(())
    }

    fn gap(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
}
