//! Content-defined chunks of one file, as containers/storage cuts them for zstd:chunked:
//! every run of at least [`HOLE_MIN`] zero bytes is a chunk of its own (chunk type
//! `zeros`), and the other bytes are cut after every byte where the rolling checksum
//! ([`super::rollsum`]) says so. The checksum runs over the whole file, holes included.

use std::ops::Range;

use estargz_verifier::{DiffIdAccumulator, Digest, Hasher};

use super::crc64::Crc64;
use super::rollsum::RollSum;
use crate::error::{Error, Result};
use crate::source::ReadAt;

/// The shortest run of zero bytes that becomes a chunk of its own (containers/storage's
/// `holesThreshold`).
pub(crate) const HOLE_MIN: u64 = 1024;

/// How many content bytes are read at a time.
const BLOCK: usize = 1 << 20;

/// Zeros to hash from.
const ZEROS: [u8; 4096] = [0; 4096];

/// One chunk of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileChunk {
    /// Offset of the chunk in the file.
    pub(crate) offset: u64,
    /// Its length (never 0).
    pub(crate) len: u64,
    /// Whether it is a run of zeros (chunk type `zeros`).
    pub(crate) zeros: bool,
    /// sha256 of its bytes.
    pub(crate) digest: Digest,
}

/// A file's chunks and checksums.
#[derive(Clone, Debug)]
pub(crate) struct FileContent {
    /// The chunks, in order, covering the file.
    pub(crate) chunks: Vec<FileChunk>,
    /// sha256 of the whole content.
    pub(crate) digest: Digest,
    /// CRC-64/ISO of the whole content (for tar-split).
    pub(crate) crc: [u8; 8],
}

/// Reads the content at `range` of `src` once: cuts it into chunks, hashes it, and feeds
/// it to `diff_id`.
///
/// # Errors
///
/// [`Error::Io`] if reading fails.
pub(crate) fn chunk_content<S: ReadAt + ?Sized>(
    src: &S,
    range: Range<u64>,
    diff_id: &mut DiffIdAccumulator,
) -> Result<FileContent> {
    let mut cutter = Cutter::default();
    let mut whole = Hasher::new();
    let mut crc = Crc64::default();
    let mut block = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let n = usize::try_from(range.end - at).map_or(BLOCK, |left| left.min(BLOCK));
        block.resize(n, 0);
        src.read_exact_at(at, &mut block)
            .map_err(|e| Error::io(format!("reading file content at input offset {at}"), e))?;
        whole.update(&block);
        crc.update(&block);
        diff_id.update(&block);
        cutter.feed(&block);
        at = at.saturating_add(n as u64);
    }
    Ok(FileContent {
        chunks: cutter.finish(),
        digest: whole.finalize(),
        crc: crc.sum(),
    })
}

/// The chunking state machine; fed the content in any pieces, it cuts the same chunks.
#[derive(Default)]
struct Cutter {
    sum: RollSum,
    /// Hash of the open data chunk.
    hasher: Hasher,
    /// Where the open chunk starts, and how long it is so far.
    start: u64,
    len: u64,
    /// Zero bytes seen but not yet assigned (a hole, or data if the run stays short).
    zero_run: u64,
    chunks: Vec<FileChunk>,
}

impl Cutter {
    fn feed(&mut self, mut block: &[u8]) {
        while let Some(&first) = block.first() {
            let run = if first == 0 {
                block.iter().position(|&b| b != 0)
            } else {
                block.iter().position(|&b| b == 0)
            }
            .unwrap_or(block.len());
            let (head, rest) = block.split_at(run);
            if first == 0 {
                self.zero_run = self.zero_run.saturating_add(run as u64);
            } else {
                self.settle_zeros();
                self.data(head);
            }
            block = rest;
        }
    }

    fn finish(mut self) -> Vec<FileChunk> {
        self.settle_zeros();
        self.close(false);
        self.chunks
    }

    /// Data bytes: each is rolled in, and a chunk ends after each byte where the checksum
    /// says so.
    fn data(&mut self, bytes: &[u8]) {
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            self.sum.roll(b);
            if self.sum.on_split() {
                let piece = bytes.get(from..=i).unwrap_or_default();
                self.hasher.update(piece);
                self.len += piece.len() as u64;
                from = i + 1;
                self.close(false);
            }
        }
        let piece = bytes.get(from..).unwrap_or_default();
        self.hasher.update(piece);
        self.len += piece.len() as u64;
    }

    /// Assigns the pending zeros: a chunk of their own if there are enough, data otherwise.
    fn settle_zeros(&mut self) {
        let mut n = std::mem::take(&mut self.zero_run);
        if n >= HOLE_MIN {
            self.close(false);
            self.sum.roll_zeros(n);
            hash_zeros(&mut self.hasher, n);
            self.len = n;
            self.close(true);
            return;
        }
        while n > 0 {
            let step = usize::try_from(n).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
            self.data(ZEROS.get(..step).unwrap_or_default());
            n -= step as u64;
        }
    }

    /// Ends the open chunk, if it holds anything.
    fn close(&mut self, zeros: bool) {
        if self.len == 0 {
            return;
        }
        let digest = std::mem::take(&mut self.hasher).finalize();
        self.chunks.push(FileChunk {
            offset: self.start,
            len: self.len,
            zeros,
            digest,
        });
        self.start += self.len;
        self.len = 0;
    }
}

fn hash_zeros(hasher: &mut Hasher, mut n: u64) {
    while n > 0 {
        let step = usize::try_from(n).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
        hasher.update(ZEROS.get(..step).unwrap_or_default());
        n -= step as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                ((x >> 24) as u8).max(1)
            })
            .collect()
    }

    fn chunks_of(data: &[u8]) -> FileContent {
        chunk_content(data, 0..data.len() as u64, &mut DiffIdAccumulator::new()).unwrap()
    }

    #[test]
    fn chunks_cover_the_file_and_hash_their_bytes() {
        let mut data = noise(600_000, 7);
        data.extend_from_slice(&[0; 5000]);
        data.extend(noise(1000, 9));
        data.extend_from_slice(&[0; 1023]);
        data.extend(noise(200_000, 11));
        let content = chunks_of(&data);
        let mut at = 0;
        for c in &content.chunks {
            assert_eq!(c.offset, at);
            let bytes = &data[at as usize..(at + c.len) as usize];
            assert_eq!(c.digest, Digest::of(bytes));
            assert_eq!(c.zeros, bytes.iter().all(|&b| b == 0) && c.len >= HOLE_MIN);
            at += c.len;
        }
        assert_eq!(at, data.len() as u64);
        assert_eq!(content.digest, Digest::of(&data));
        // The 5000 zeros are one chunk; the 1023 zeros are not a chunk of their own.
        let holes: Vec<_> = content.chunks.iter().filter(|c| c.zeros).collect();
        assert_eq!(holes.len(), 1);
        assert_eq!((holes[0].offset, holes[0].len), (600_000, 5000));
        // Noise is cut by the checksum too: several chunks before the hole.
        assert!(content.chunks.iter().filter(|c| c.offset < 600_000).count() > 2);
    }

    #[test]
    fn pieces_do_not_change_the_chunks() {
        let mut data = noise(150_000, 3);
        data.extend_from_slice(&[0; 3000]);
        data.extend(noise(70_000, 5));
        let whole = chunks_of(&data).chunks;
        for piece in [1usize, 7, 1000, 4096] {
            let mut cutter = Cutter::default();
            for part in data.chunks(piece) {
                cutter.feed(part);
            }
            assert_eq!(cutter.finish(), whole, "piece size {piece}");
        }
    }

    #[test]
    fn files_of_only_zeros_and_empty_ranges() {
        let zeros = vec![0u8; 4000];
        let content = chunks_of(&zeros);
        assert_eq!(content.chunks.len(), 1);
        assert!(content.chunks[0].zeros);
        let short = chunks_of(&zeros[..100]);
        assert_eq!(short.chunks.len(), 1);
        assert!(!short.chunks[0].zeros);
        assert!(chunks_of(&[]).chunks.is_empty());
    }
}
