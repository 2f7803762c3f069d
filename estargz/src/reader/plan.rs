//! Planning reads before doing them (sans-IO), and filling the chunk cache in one batch.

use std::ops::Range;
use std::sync::Arc;

use estargz_toc::model::{NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK};
use estargz_toc::{Chunk, EntryType};

use super::blob::{Expected, Reader};
use super::decode::{RunSink, Tail, Take};
use crate::error::{Error, Result};
use crate::source::ReadAt;

/// What [`Reader::prefetch`] and [`Reader::fetch_files`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchSummary {
    /// Calls of [`ReadAt::read_ranges`] (one per batch).
    pub batches: u64,
    /// Ranges asked for, after merging.
    pub ranges: u64,
    /// Compressed bytes fetched.
    pub bytes: u64,
    /// Chunks decompressed, verified and cached.
    pub chunks: u64,
}

impl<R> Reader<R> {
    /// The compressed ranges of the blob needed to read all of the given files, sorted and
    /// merged where adjacent or overlapping. Does no I/O.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] and [`Error::NotRegularFile`] as [`Reader::open_file`].
    pub fn plan_files<P: AsRef<[u8]>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Vec<Range<u64>>> {
        let reads = paths.into_iter().map(|p| (p, 0..u64::MAX));
        self.plan_reads(reads)
    }

    /// The compressed ranges of the blob needed to read the given byte ranges of files
    /// (ranges are clipped to the file), sorted and merged where adjacent or overlapping.
    /// Does no I/O.
    ///
    /// # Errors
    ///
    /// As [`Reader::plan_files`].
    pub fn plan_reads<P: AsRef<[u8]>>(
        &self,
        reads: impl IntoIterator<Item = (P, Range<u64>)>,
    ) -> Result<Vec<Range<u64>>> {
        let chunks = self.chunks_for(reads)?;
        Ok(merge(self.run_ranges(&chunks)))
    }

    /// The prioritized region to prefetch: `[0, offset of .prefetch.landmark)` when the
    /// TOC has a root `.prefetch.landmark`; `None` when it has `.no.prefetch.landmark`
    /// or no landmark at all.
    pub fn prefetch_range(&self) -> Option<Range<u64>> {
        if self.index().lookup(NO_PREFETCH_LANDMARK).is_some() {
            return None;
        }
        let node = self.index().lookup(PREFETCH_LANDMARK)?;
        let entry = node.entry()?;
        let end = u64::try_from(entry.offset).ok()?;
        (entry.kind == EntryType::Reg && end > 0).then_some(0..end)
    }

    /// Positions (in the index's chunk list) of the chunks the reads touch, sorted and
    /// deduplicated.
    fn chunks_for<P: AsRef<[u8]>>(
        &self,
        reads: impl IntoIterator<Item = (P, Range<u64>)>,
    ) -> Result<Vec<usize>> {
        let all = self.index().all_chunks();
        let mut out = Vec::new();
        for (path, range) in reads {
            let path = path.as_ref();
            let node = self.index().lookup(path).ok_or_else(|| Error::NotFound {
                path: String::from_utf8_lossy(path).into_owned(),
            })?;
            if *node.kind() != EntryType::Reg {
                return Err(Error::NotRegularFile {
                    path: String::from_utf8_lossy(node.path()).into_owned(),
                    kind: node.kind().to_string(),
                });
            }
            let chunks = node.chunks();
            let Some(first) = chunks.first() else {
                continue;
            };
            let base = all.partition_point(|c| c.entry < first.entry);
            for (k, chunk) in chunks.iter().enumerate() {
                let covers =
                    chunk.file_offset < range.end && range.start < chunk.file_offset + chunk.size;
                if covers {
                    out.push(base + k);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The member-run ranges of the given chunks (sorted chunk positions), one per run.
    fn run_ranges(&self, chunks: &[usize]) -> Vec<Range<u64>> {
        let mut runs: Vec<u32> = chunks
            .iter()
            .filter_map(|&c| self.layout.chunk_run.get(c).copied())
            .collect();
        runs.dedup();
        runs.iter()
            .filter_map(|&r| self.layout.runs.get(r as usize).map(|run| run.blob.clone()))
            .collect()
    }
}

impl<R: ReadAt> Reader<R> {
    /// Fetches the prioritized region ([`Reader::prefetch_range`]) with
    /// [`ReadAt::read_ranges`] (one batch, unless it is larger than
    /// [`ReaderOptions::max_fetch_bytes`](super::ReaderOptions::max_fetch_bytes)) and fills
    /// the chunk cache with its verified chunks, as far as the cache holds them.
    ///
    /// # Errors
    ///
    /// As [`Reader::fetch_files`].
    pub fn prefetch(&self) -> Result<FetchSummary> {
        let Some(range) = self.prefetch_range() else {
            return Ok(FetchSummary::default());
        };
        let chunks: Vec<usize> = self
            .layout
            .runs
            .iter()
            .filter(|run| run.blob.end <= range.end)
            .flat_map(|run| run.chunks.clone())
            .collect();
        self.fetch_chunks(&chunks)
    }

    /// Fetches everything needed to read the given files in one batch of
    /// [`ReadAt::read_ranges`], and fills the chunk cache with their verified chunks (as
    /// far as the cache holds them), so that the reads that follow cost no I/O.
    ///
    /// # Errors
    ///
    /// As [`Reader::plan_files`]; [`Error::Io`] when the source fails;
    /// [`Error::DigestMismatch`], [`Error::Decompress`] for bad chunks;
    /// [`Error::LimitExceeded`] when a member run to fetch is larger than
    /// [`ReaderOptions::max_fetch_bytes`](super::ReaderOptions::max_fetch_bytes).
    pub fn fetch_files<P: AsRef<[u8]>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<FetchSummary> {
        let chunks = self.chunks_for(paths.into_iter().map(|p| (p, 0..u64::MAX)))?;
        self.fetch_chunks(&chunks)
    }

    /// Fetches and caches the given chunks (sorted positions), one batch per
    /// `max_fetch_bytes` of compressed data.
    fn fetch_chunks(&self, chunks: &[usize]) -> Result<FetchSummary> {
        let all = self.index().all_chunks();
        let verify = self.options.verify_chunks;
        let mut budget = self.options.cache_bytes;
        // Only what the cache can hold is worth fetching.
        let mut wanted: Vec<usize> = Vec::new();
        for &c in chunks {
            let Some(chunk) = all.get(c) else { continue };
            let verifiable = !verify
                || matches!(
                    self.expected(chunk)?,
                    Expected::Chunk(_) | Expected::WholeFile(_)
                );
            if !verifiable || self.is_cached(c) || chunk.size > budget {
                continue;
            }
            budget -= chunk.size;
            wanted.push(c);
        }
        let mut summary = FetchSummary::default();
        let mut start = 0;
        while start < wanted.len() {
            // One batch: runs whose total compressed size fits max_fetch_bytes.
            let mut end = start;
            let mut bytes = 0u64;
            let mut last_run = None;
            while let Some(&c) = wanted.get(end) {
                let run = self.layout.chunk_run.get(c).copied();
                if run != last_run {
                    let len = run
                        .and_then(|r| self.layout.runs.get(r as usize))
                        .map_or(0, |r| r.blob.end - r.blob.start);
                    // Every run, the first of a batch too: a lying TOC can make one run
                    // span the whole blob.
                    if len > self.options.max_fetch_bytes {
                        return Err(Error::LimitExceeded {
                            limit: crate::LimitKind::FetchBytes,
                            actual: len,
                            max: self.options.max_fetch_bytes,
                        });
                    }
                    if end > start && bytes + len > self.options.max_fetch_bytes {
                        break;
                    }
                    bytes += len;
                    last_run = run;
                }
                end += 1;
            }
            let batch = wanted.get(start..end).unwrap_or_default();
            self.fetch_batch(batch, &mut summary)?;
            start = end;
        }
        Ok(summary)
    }

    fn fetch_batch(&self, chunks: &[usize], summary: &mut FetchSummary) -> Result<()> {
        let runs = self.run_ranges(chunks);
        let merged = merge(runs.clone());
        let total: u64 = merged.iter().map(|r| r.end - r.start).sum();
        let buffers = self.source().read_ranges(&merged).map_err(|e| {
            Error::io(
                format!(
                    "fetching {} ranges ({total} bytes) of the blob",
                    merged.len()
                ),
                e,
            )
        })?;
        self.count_fetch(1, total);
        summary.batches += 1;
        summary.ranges += merged.len() as u64;
        summary.bytes += total;
        let mut sink = CacheSink {
            reader: self,
            wanted: chunks,
            next: 0,
            filled: 0,
        };
        let mut m = 0;
        for run_range in runs {
            while merged.get(m).is_some_and(|r| r.end < run_range.end) {
                m += 1;
            }
            let (Some(outer), Some(buffer)) = (merged.get(m), buffers.get(m)) else {
                break;
            };
            let from = (run_range.start - outer.start) as usize;
            let to = (run_range.end - outer.start) as usize;
            let compressed = buffer.get(from..to).ok_or_else(|| Error::Decompress {
                offset: run_range.start,
                reason: "the source returned a short range".into(),
            })?;
            let Some(&first_wanted) = chunks.get(sink.next) else {
                break;
            };
            let Some(run) = self
                .layout
                .chunk_run
                .get(first_wanted)
                .and_then(|&r| self.layout.runs.get(r as usize))
            else {
                break;
            };
            let last_wanted = chunks
                .iter()
                .skip(sink.next)
                .take_while(|&&c| {
                    self.layout.chunk_run.get(c) == self.layout.chunk_run.get(first_wanted)
                })
                .last()
                .copied()
                .unwrap_or(first_wanted);
            self.decode_into(
                compressed,
                run.blob.start,
                run.chunks.start..last_wanted + 1,
                Tail::Stop,
                &mut sink,
            )?;
        }
        summary.chunks += sink.filled;
        Ok(())
    }
}

/// Caches the wanted chunks of a run, verified.
struct CacheSink<'a, R> {
    reader: &'a Reader<R>,
    /// Sorted positions of the chunks to keep.
    wanted: &'a [usize],
    /// Index into `wanted` of the next chunk to keep.
    next: usize,
    filled: u64,
}

impl<R> RunSink for CacheSink<'_, R> {
    fn begin(&mut self, index: usize, _chunk: &Chunk) -> Result<Take> {
        Ok(if self.wanted.get(self.next) == Some(&index) {
            Take::Buffer
        } else {
            Take::Skip
        })
    }

    fn data(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }

    fn end(&mut self, index: usize, chunk: &Chunk, buffer: Option<Vec<u8>>) -> Result<()> {
        let Some(buffer) = buffer else {
            return Ok(());
        };
        self.next += 1;
        if self.reader.options.verify_chunks {
            self.reader.check_chunk(chunk, &buffer)?;
        }
        self.reader.cache_insert(index, Arc::from(buffer));
        self.filled += 1;
        self.reader.count_decompressed(1);
        Ok(())
    }

    fn gap(&mut self, _bytes: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// Sorts ranges and merges those that overlap or touch.
pub fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => out.push(range),
        }
    }
    out
}
