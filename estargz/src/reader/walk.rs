//! Walking the data region in blob order for whole-payload operations: member runs (which
//! hold chunks) and the compressed bytes between runs that hold only tar headers, every
//! decompressed byte bounded by what the TOC accounts for and the tar stream checked
//! against the TOC.

use std::ops::Range;

use estargz_toc::Chunk;

use super::blob::Reader;
use super::decode::{self, RunDecoder, RunSink, Tail, Take};
use super::layout::allowance;
use super::tar_check::TarCheck;
use crate::error::Result;

/// A piece of the data region.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    /// The compressed bytes.
    pub(crate) blob: Range<u64>,
    /// The member run this segment is, or (for `headers_only`) the run that follows it
    /// (`runs.len()` after the last run).
    pub(crate) run: usize,
    /// Whether the segment holds only tar headers (no chunk starts in it).
    pub(crate) headers_only: bool,
}

/// The segments covering `blob`, which holds exactly the member runs `runs`.
pub(crate) fn segments<R>(
    reader: &Reader<R>,
    runs: Range<usize>,
    blob: Range<u64>,
) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut cursor = blob.start;
    for r in runs.clone() {
        let Some(run) = reader.layout.runs.get(r) else {
            break;
        };
        if run.blob.start > cursor {
            out.push(Segment {
                blob: cursor..run.blob.start,
                run: r,
                headers_only: true,
            });
        }
        out.push(Segment {
            blob: run.blob.clone(),
            run: r,
            headers_only: false,
        });
        cursor = run.blob.end;
    }
    if cursor < blob.end {
        out.push(Segment {
            blob: cursor..blob.end,
            run: runs.end,
            headers_only: true,
        });
    }
    out
}

/// Passes every chunk to a [`TarCheck`] before the inner sink, and every byte between
/// chunks through it.
pub(crate) struct Checked<'c, 'a> {
    pub(crate) check: &'c mut TarCheck<'a>,
    pub(crate) inner: &'c mut dyn RunSink,
}

impl RunSink for Checked<'_, '_> {
    fn begin(&mut self, index: usize, chunk: &Chunk) -> Result<Take> {
        self.check.chunk(chunk)?;
        self.inner.begin(index, chunk)
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner.data(bytes)
    }

    fn end(&mut self, index: usize, chunk: &Chunk, buffer: Option<Vec<u8>>) -> Result<()> {
        self.inner.end(index, chunk, buffer)
    }

    fn gap(&mut self, bytes: &[u8]) -> Result<()> {
        self.check.gap(bytes)?;
        self.inner.gap(bytes)
    }
}

impl<R> Reader<R> {
    /// The TOC entry of the first chunk of run `r`, or the last TOC entry past the last run.
    fn entry_starting_run(&self, r: usize) -> usize {
        let all = self.index().all_chunks();
        self.layout
            .runs
            .get(r)
            .and_then(|run| all.get(run.chunks.start))
            .map_or(self.toc().entries.len().saturating_sub(1), |c| c.entry)
    }

    /// The TOC entry of the last chunk of run `r`.
    fn entry_ending_run(&self, r: usize) -> Option<usize> {
        let all = self.index().all_chunks();
        let run = self.layout.runs.get(r)?;
        all.get(run.chunks.end.checked_sub(1)?).map(|c| c.entry)
    }

    /// Decompressed bytes allowed between the chunk before chunk `ci` (in the index) and
    /// chunk `ci`: the tar headers of the entries between them, plus slack.
    pub(crate) fn gap_allowance(&self, ci: usize) -> u64 {
        let all = self.index().all_chunks();
        let prev = ci.checked_sub(1).and_then(|p| all.get(p)).map(|c| c.entry);
        let this = all.get(ci).map_or(0, |c| c.entry);
        allowance(&self.header_sums, prev, this, self.options.header_slack)
    }

    /// Decompresses `segment` (whose compressed bytes are `compressed`) to its end into
    /// `sink`.
    pub(crate) fn decode_segment(
        &self,
        segment: &Segment,
        compressed: &[u8],
        scratch: &mut [u8],
        sink: &mut dyn RunSink,
    ) -> Result<()> {
        let start = segment.blob.start;
        let slack = self.options.header_slack;
        let mut decoder = RunDecoder::new(self.codec(), compressed, start)?;
        if segment.headers_only {
            let before = segment.run.checked_sub(1);
            let max = allowance(
                &self.header_sums,
                before.and_then(|b| self.entry_ending_run(b)),
                self.entry_starting_run(segment.run),
                slack,
            );
            decoder.drain(
                max,
                scratch,
                &|| format!("tar headers at blob offset {start}"),
                &mut |bytes| sink.gap(bytes),
            )?;
            return Ok(());
        }
        let all = self.index().all_chunks();
        let Some(run) = self.layout.runs.get(segment.run) else {
            return Ok(());
        };
        let chunks = all.get(run.chunks.clone()).unwrap_or_default();
        let tail = allowance(
            &self.header_sums,
            self.entry_ending_run(segment.run),
            self.entry_starting_run(segment.run + 1),
            slack,
        );
        decode::walk_run(
            &mut decoder,
            run.chunks.start,
            chunks,
            scratch,
            &|ci| self.gap_allowance(ci),
            Tail::Drain(tail),
            &|ci| all.get(ci).map_or_else(String::new, |c| self.describe(c)),
            sink,
        )?;
        self.count_decompressed(chunks.len() as u64);
        Ok(())
    }
}
