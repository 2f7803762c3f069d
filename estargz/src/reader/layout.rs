//! Member runs: chunks grouped by the compressed range that holds them, checked to fit.

use std::ops::Range;

use estargz_toc::{Chunk, EntryType, Index, Toc, TocEntry};

use crate::error::{Error, Result};

/// Consecutive chunks (in TOC order) that share one compressed range.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// Positions in [`Index::all_chunks`].
    pub(crate) chunks: Range<usize>,
    /// The compressed range `[blob_offset, blob_end)` holding them.
    pub(crate) blob: Range<u64>,
}

/// The runs of a blob and, for each chunk, the run that holds it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    pub(crate) runs: Vec<Run>,
    pub(crate) chunk_run: Vec<u32>,
}

impl Layout {
    /// Groups the index's chunks into runs and checks that chunks sharing a member do not
    /// overlap and that runs come in blob order without overlapping.
    pub(crate) fn build(index: &Index) -> Result<Self> {
        let chunks = index.all_chunks();
        let mut layout = Self {
            runs: Vec::new(),
            chunk_run: Vec::with_capacity(chunks.len()),
        };
        let mut prev: Option<&Chunk> = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let same_run = prev.is_some_and(|p| {
                p.blob_offset == chunk.blob_offset && p.blob_end == chunk.blob_end
            });
            if same_run {
                if let Some(p) = prev
                    && chunk.inner_offset < p.inner_offset + p.size
                {
                    return Err(layout_error(
                        index,
                        chunk,
                        "it shares a member with the previous chunk and overlaps it",
                    ));
                }
                if let Some(run) = layout.runs.last_mut() {
                    run.chunks.end = i + 1;
                }
            } else {
                if let Some(run) = layout.runs.last()
                    && chunk.blob_offset < run.blob.end
                {
                    return Err(layout_error(
                        index,
                        chunk,
                        "its compressed range overlaps an earlier one or is out of order",
                    ));
                }
                layout.runs.push(Run {
                    chunks: i..i + 1,
                    blob: chunk.blob_range(),
                });
            }
            layout.chunk_run.push((layout.runs.len() - 1) as u32);
            prev = Some(chunk);
        }
        Ok(layout)
    }
}

fn layout_error(index: &Index, chunk: &Chunk, reason: &'static str) -> Error {
    Error::InvalidLayout {
        entry: chunk.entry,
        path: entry_path(index.toc(), chunk.entry),
        reason,
    }
}

/// The cleaned path of the entry at `entry`, for messages.
pub(crate) fn entry_path(toc: &Toc, entry: usize) -> String {
    toc.entries.get(entry).map_or_else(String::new, |e| {
        String::from_utf8_lossy(&estargz_toc::path::clean(e.name.as_bytes())).into_owned()
    })
}

/// An upper bound of the tar header bytes Go's tar writer emits for `entry` (extension
/// headers for long names, PAX records for xattrs and times, the main block).
fn header_bound(entry: &TocEntry) -> u64 {
    if entry.kind == EntryType::Chunk {
        return 0;
    }
    let names =
        (entry.name.len() + entry.link_name.len() + entry.user_name.len() + entry.group_name.len())
            as u64;
    let xattrs: u64 = entry
        .xattrs
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64 + 64)
        .sum();
    4 * 512 + 3 * names + xattrs
}

/// Prefix sums of [`header_bound`] over the TOC: `sums[i]` covers entries `..i`.
pub(crate) fn header_sums(toc: &Toc) -> Vec<u64> {
    let mut sums = Vec::with_capacity(toc.entries.len() + 1);
    let mut total = 0u64;
    sums.push(0);
    for entry in &toc.entries {
        total = total.saturating_add(header_bound(entry));
        sums.push(total);
    }
    sums
}

/// Bytes allowed for tar headers and padding of the entries `(after, upto]` (`after` =
/// `None`: from the first entry), plus two blocks of padding or end-of-archive and `slack`.
pub(crate) fn allowance(sums: &[u64], after: Option<usize>, upto: usize, slack: u64) -> u64 {
    let from = after.map_or(0, |a| a + 1);
    let to = (upto + 1).min(sums.len().saturating_sub(1));
    let headers = match (sums.get(to), sums.get(from)) {
        (Some(&end), Some(&start)) => end.saturating_sub(start),
        _ => 0,
    };
    headers.saturating_add(1024).saturating_add(slack)
}
