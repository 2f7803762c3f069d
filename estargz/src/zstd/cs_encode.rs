//! The zstd:chunked v2 writer: the layout current containers/storage writes
//! ([`Format::ZstdChunkedV2`]).
//!
//! ```text
//! [frame: raw tar bytes up to the first file content]
//! [frame: chunk][frame: chunk]...        one frame per chunk of each file's content
//! [frame: padding and raw tar bytes up to the next file content] ...
//! [frame: padding, end-of-archive and anything after it]
//! [50 2a 4d 18 | u32le N | N bytes]      skippable frame: the manifest JSON, zstd-compressed
//! [50 2a 4d 18 | u32le M | M bytes]      skippable frame: the tar-split JSON, zstd-compressed
//! [50 2a 4d 18 | u32le 64 | 64 bytes]    skippable frame: the footer (magic `GNUlInUx`)
//! ```
//!
//! Unlike the eStargz writer, the tar is not re-encoded or reordered: the frames decompress
//! to the input tar byte for byte (so the DiffID is the input's sha256), file content is cut
//! where [`super::file_chunks`] says (content-defined, not every chunk-size bytes), the TOC
//! is containers/storage's manifest ([`super::cs_manifest`]) and the tar-split data
//! ([`super::tar_split`]) lets containers/storage rebuild the tar from its files.
//!
//! Like containers/storage, the writer rejects entry types other than the seven the
//! manifest names, PAX global headers and two entries whose names clean to the same path
//! (tar-split refuses them); and also sparse files (containers/storage would store their
//! expanded content under the sparse header, which no reader can reassemble).
//!
//! Frames are compressed on [`EncoderOptions::threads`] threads; each frame depends only on
//! its bytes, so the blob does not depend on the thread count.

use std::collections::HashSet;
use std::io::Write;
use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, channel};

use estargz_toc::{EntryType, Footer, TarSplitPosition, ZstdTocPosition};
use estargz_verifier::{DiffIdAccumulator, Digest};

use super::cs_manifest::{Meta, write_entry, write_manifest};
use super::file_chunks::{FileContent, chunk_content};
use super::manifest::skippable_len;
use super::range_frame::RangeEncoder;
use super::tar_split::{TRAILER_PIECE, TarSplitWriter};
use super::{FrameEncoder, MANIFEST_TYPE_CRFS, ZstdManifest, skippable_frame_header};
use crate::encoder::{BlobOut, Encoded, EncoderOptions, Format, toc_xattrs};
use crate::error::{Error, Result};
use crate::source::ReadAt;
use crate::tar::TarEntry;

/// Tar block size, and the end-of-archive's length.
const END_OF_ARCHIVE: u64 = 1024;

/// One tar entry as planned: its content's chunks and the index of its first chunk frame.
struct Planned<'a> {
    entry: &'a TarEntry,
    kind: EntryType,
    content: Option<(FileContent, usize)>,
}

/// Writes the v2 blob for the uncompressed tar `tar`, whose entries (in input order)
/// `entries` lists, to `out`.
///
/// # Errors
///
/// [`Error::UnsupportedInput`] for what containers/storage cannot store (see the module
/// documentation); [`Error::Io`] when reading or writing fails; [`Error::Compress`] when
/// libzstd fails.
pub(crate) fn encode<S, W>(
    tar: &S,
    entries: &[TarEntry],
    global_headers: u64,
    opts: &EncoderOptions,
    mut out: BlobOut<W>,
) -> Result<Encoded>
where
    S: ReadAt + Sync + ?Sized,
    W: Write,
{
    if global_headers > 0 {
        return Err(unsupported(format!(
            "{global_headers} PAX global header(s): zstd:chunked v2 (containers/storage) cannot \
             store them"
        )));
    }
    let size = tar
        .size()
        .map_err(|e| Error::io("reading the size of the input tar", e))?;
    let mut diff_id = DiffIdAccumulator::new();
    let mut split = TarSplitWriter::default();
    let mut frames: Vec<Range<u64>> = Vec::new();
    let mut planned = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    // `cursor`: where the raw bytes not yet recorded start; `open`: where the frame being
    // filled with raw tar bytes starts.
    let (mut cursor, mut open) = (0u64, 0u64);
    for entry in entries {
        let h = &entry.header;
        let name = || String::from_utf8_lossy(&h.name).into_owned();
        let kind = h.toc_type().ok_or_else(|| {
            unsupported(format!(
                "{:?}: tar type {:?} has no zstd:chunked v2 manifest type",
                name(),
                char::from(h.typeflag)
            ))
        })?;
        if entry.sparse.is_some() {
            return Err(unsupported(format!(
                "{:?}: sparse files cannot be stored in zstd:chunked v2",
                name()
            )));
        }
        if !seen.insert(estargz_toc::path::clean(&h.name).into_owned()) {
            return Err(unsupported(format!(
                "{:?}: a second entry for this path (tar-split refuses duplicates)",
                name()
            )));
        }
        let raw = read_range(tar, cursor..entry.payload_offset)?;
        diff_id.update(&raw);
        if !raw.is_empty() {
            split.segment(&raw);
        }
        let payload = entry.payload_offset..entry.payload_offset + entry.payload_len;
        let content = if payload.is_empty() {
            None
        } else {
            frames.push(open..payload.start);
            let content = chunk_content(tar, payload.clone(), &mut diff_id)?;
            let first = frames.len();
            frames.extend(content.chunks.iter().map(|c| {
                let start = payload.start + c.offset;
                start..start + c.len
            }));
            open = payload.end;
            Some((content, first))
        };
        let crc = (h.size > 0).then(|| {
            content
                .as_ref()
                .map_or_else(|| super::crc64::Crc64::default().sum(), |(c, _)| c.crc)
        });
        split.file(&h.name, h.size, crc);
        cursor = payload.end;
        planned.push(Planned {
            entry,
            kind,
            content,
        });
    }
    // What Go's tar reader takes as the end of the archive (the last entry's padding and
    // two blocks), then whatever follows, as tar-split records them.
    let end = entries
        .last()
        .map_or(0, TarEntry::end_offset)
        .saturating_add(END_OF_ARCHIVE)
        .clamp(cursor, size.max(cursor));
    let raw = read_range(tar, cursor..end)?;
    diff_id.update(&raw);
    if !raw.is_empty() {
        split.segment(&raw);
    }
    let mut at = end;
    while at < size {
        let piece = read_range(tar, at..size.min(at.saturating_add(TRAILER_PIECE as u64)))?;
        diff_id.update(&piece);
        split.segment(&piece);
        at = at.saturating_add(piece.len() as u64);
    }
    split.segment(b"");
    if open < size {
        frames.push(open..size);
    }

    let blob_ranges = write_frames(tar, &frames, opts, &mut out)?;
    let (json, toc_entries) = manifest_entries(&planned, &blob_ranges);
    let mut frame_encoder = FrameEncoder::new(opts.zstd_level)?;
    let split_json = split.finish();
    let split_frame = frame_encoder.compress(&split_json)?;
    let manifest_json = write_manifest(&json, &Digest::of(&split_frame));
    let manifest_frame = frame_encoder.compress(&manifest_json)?;

    let manifest_len = skippable_len(&manifest_frame)?;
    let split_len = skippable_len(&split_frame)?;
    let position = ZstdTocPosition {
        offset: out.offset.saturating_add(8),
        len: u64::from(manifest_len),
        uncompressed_len: manifest_json.len() as u64,
        manifest_type: MANIFEST_TYPE_CRFS,
    };
    let tar_split = TarSplitPosition {
        offset: position
            .offset
            .saturating_add(position.len)
            .saturating_add(8),
        len: u64::from(split_len),
        uncompressed_len: split_json.len() as u64,
    };
    let footer = Footer::zstd_chunked_v2(position, Some(tar_split))?.to_bytes();
    out.write(&skippable_frame_header(manifest_len))?;
    out.write(&manifest_frame)?;
    out.write(&skippable_frame_header(split_len))?;
    out.write(&split_frame)?;
    out.write(&footer)?;
    out.flush()?;

    let diff_id = diff_id.finish();
    let blob = out.digest.finish();
    Ok(Encoded {
        toc_digest: Digest::of(&manifest_json),
        diff_id: diff_id.digest,
        uncompressed_size: diff_id.uncompressed_size,
        blob_digest: blob.digest,
        blob_size: blob.size,
        toc_offset: position.offset,
        toc_entries,
        prioritized_not_found: Vec::new(),
        global_headers_skipped: 0,
        format: Format::ZstdChunkedV2,
        zstd_manifest: Some(ZstdManifest {
            position,
            checksum: Digest::of(&manifest_frame),
            tar_split: Some(tar_split),
        }),
        external_toc: None,
    })
}

fn unsupported(reason: String) -> Error {
    Error::UnsupportedInput { reason }
}

/// The bytes of `src` at `range`.
fn read_range<S: ReadAt + ?Sized>(src: &S, range: Range<u64>) -> Result<Vec<u8>> {
    let len = usize::try_from(range.end.saturating_sub(range.start)).map_err(|_| {
        Error::LimitExceeded {
            limit: crate::LimitKind::AddressSpace,
            actual: range.end.saturating_sub(range.start),
            max: usize::MAX as u64,
        }
    })?;
    let mut bytes = vec![0; len];
    src.read_exact_at(range.start, &mut bytes)
        .map_err(|e| Error::io(format!("reading input bytes {range:?}"), e))?;
    Ok(bytes)
}

/// The manifest entries (comma-separated JSON objects) and how many there are.
fn manifest_entries(planned: &[Planned<'_>], blob: &[Range<u64>]) -> (Vec<u8>, usize) {
    let mut json = Vec::new();
    let mut count = 0;
    for p in planned {
        let h = &p.entry.header;
        let mut meta = Meta {
            kind: p.kind.json_name(),
            name: &h.name,
            link_name: &h.link_name,
            mode: h.mode,
            size: h.size,
            uid: h.uid,
            gid: h.gid,
            modtime: h.mtime,
            accesstime: h.atime,
            changetime: h.ctime,
            dev_major: h.dev_major,
            dev_minor: h.dev_minor,
            xattrs: toc_xattrs(h),
            ..Meta::default()
        };
        let Some((content, first)) = &p.content else {
            write_entry(&mut json, &meta);
            count += 1;
            continue;
        };
        let frame = |k: usize| blob.get(first + k).cloned().unwrap_or_default();
        meta.digest = Some(content.digest);
        meta.offset = frame(0).start;
        meta.end_offset = frame(content.chunks.len().saturating_sub(1)).end;
        if content.chunks.len() == 1 {
            write_entry(&mut json, &meta);
            count += 1;
            continue;
        }
        for (k, chunk) in content.chunks.iter().enumerate() {
            let mut m = if k == 0 {
                meta.clone()
            } else {
                Meta {
                    kind: "chunk",
                    name: &h.name,
                    chunk_offset: chunk.offset,
                    ..Meta::default()
                }
            };
            m.offset = frame(k).start;
            m.chunk_size = chunk.len;
            m.chunk_digest = Some(chunk.digest);
            m.chunk_zeros = chunk.zeros;
            write_entry(&mut json, &m);
            count += 1;
        }
    }
    (json, count)
}

/// Compresses the frames (input ranges) on worker threads and writes them in order;
/// returns each frame's range in the blob.
fn write_frames<S, W>(
    tar: &S,
    frames: &[Range<u64>],
    opts: &EncoderOptions,
    out: &mut BlobOut<W>,
) -> Result<Vec<Range<u64>>>
where
    S: ReadAt + Sync + ?Sized,
    W: Write,
{
    let threads = opts.threads.get().min(frames.len()).max(1);
    let level = opts.zstd_level;
    // At most this many frames are being compressed or waiting to be written.
    let ahead = 2 * threads;
    std::thread::scope(|scope| {
        let mut jobs: Vec<Sender<Range<u64>>> = Vec::with_capacity(threads);
        let mut results: Vec<Receiver<Result<Vec<u8>>>> = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (job_tx, job_rx) = channel::<Range<u64>>();
            let (result_tx, result_rx) = channel();
            jobs.push(job_tx);
            results.push(result_rx);
            scope.spawn(move || {
                let mut encoder = match RangeEncoder::new(level) {
                    Ok(encoder) => encoder,
                    Err(e) => {
                        let _ = result_tx.send(Err(e));
                        return;
                    }
                };
                for range in job_rx {
                    if result_tx.send(encoder.compress(tar, range)).is_err() {
                        return;
                    }
                }
            });
        }
        // Frame i goes to worker i % threads; each worker answers in the order it is asked.
        let send = |i: usize| -> Result<()> {
            match (frames.get(i), jobs.get(i % threads)) {
                (Some(range), Some(job)) => job.send(range.clone()).map_err(|_| worker_gone()),
                _ => Ok(()),
            }
        };
        for i in 0..ahead.min(frames.len()) {
            send(i)?;
        }
        let mut blob = Vec::with_capacity(frames.len());
        for i in 0..frames.len() {
            let frame = results
                .get(i % threads)
                .ok_or_else(worker_gone)?
                .recv()
                .map_err(|_| worker_gone())??;
            let start = out.offset;
            out.write(&frame)?;
            blob.push(start..out.offset);
            send(i + ahead)?;
        }
        Ok(blob)
    })
}

fn worker_gone() -> Error {
    Error::Compress {
        reason: "a zstd compression thread stopped".to_owned(),
    }
}
