//! Reading one regular file: random access, whole-file copies, and a `Read + Seek` adapter.

use std::io::{self, Read, Seek, SeekFrom, Write};

use estargz_toc::{Chunk, EntryType, Node};
use estargz_verifier::{Digest, Hasher};

use super::blob::{Expected, Reader};
use crate::error::{Error, Result};
use crate::source::ReadAt;

/// A regular file of a [`Reader`], read at random offsets with `&self`.
///
/// Every chunk a read touches is fetched, decompressed and checked against its
/// `chunkDigest` before any of its bytes are copied out. A read that covers the whole file
/// is also checked against the file's `digest`.
///
/// Legacy stargz blobs (google/crfs) have no `chunkDigest`: a file of one chunk is checked
/// against its `digest`; a file of several chunks can only be verified when it is read
/// whole ([`FileReader::read_at`] from 0 with a buffer of at least its size,
/// [`FileReader::read_to_vec`] or [`FileReader::copy_to`]), so partial reads of it fail
/// with [`Error::Unverifiable`] unless [`ReaderOptions::verify_chunks`] is off.
///
/// [`ReaderOptions::verify_chunks`]: super::ReaderOptions::verify_chunks
#[derive(Debug)]
pub struct FileReader<'r, R> {
    reader: &'r Reader<R>,
    path: String,
    size: u64,
    digest: Option<Digest>,
    chunks: &'r [Chunk],
    /// Position of `chunks[0]` in the index's chunk list.
    first: usize,
    /// Whether every chunk can be verified on its own.
    per_chunk: bool,
}

impl<R> Clone for FileReader<'_, R> {
    fn clone(&self) -> Self {
        Self {
            reader: self.reader,
            path: self.path.clone(),
            size: self.size,
            digest: self.digest,
            chunks: self.chunks,
            first: self.first,
            per_chunk: self.per_chunk,
        }
    }
}

impl<'r, R: ReadAt> FileReader<'r, R> {
    pub(crate) fn new(reader: &'r Reader<R>, node: Node<'r>) -> Result<Self> {
        let path = String::from_utf8_lossy(node.path()).into_owned();
        let kind = node.kind();
        if *kind != EntryType::Reg {
            return Err(Error::NotRegularFile {
                path,
                kind: kind.to_string(),
            });
        }
        let digest = match node.entry().map(|e| e.digest.as_str()) {
            Some(d) if !d.is_empty() => {
                Some(Digest::parse(d).map_err(|source| Error::InvalidDigest {
                    what: format!("{path:?} (digest)"),
                    source,
                })?)
            }
            _ => None,
        };
        let chunks = node.chunks();
        let first = match chunks.first() {
            Some(c) => reader
                .index()
                .all_chunks()
                .partition_point(|other| other.entry < c.entry),
            None => 0,
        };
        let mut per_chunk = true;
        for chunk in chunks {
            if matches!(reader.expected(chunk)?, Expected::Nothing) {
                per_chunk = false;
            }
        }
        Ok(Self {
            reader,
            path,
            size: node.size(),
            digest,
            chunks,
            first,
            per_chunk,
        })
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file's cleaned path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file's chunks, in file order.
    pub fn chunks(&self) -> &'r [Chunk] {
        self.chunks
    }

    /// Reads bytes at `offset` into `buf`, as many as fit or remain in the file; returns
    /// how many (0 at or past the end).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the source fails; [`Error::Decompress`] for corrupt or truncated
    /// compressed data; [`Error::DigestMismatch`] when a chunk (or, for a whole-file read,
    /// the file) does not match the TOC; [`Error::Unverifiable`] (see the type's docs);
    /// [`Error::LimitExceeded`] for chunks over the configured limits.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let end = self.size.min(offset.saturating_add(buf.len() as u64));
        let whole = offset == 0 && end == self.size;
        let verify = self.reader.options.verify_chunks;
        if verify && !self.per_chunk && !whole {
            return Err(Error::Unverifiable {
                what: format!("{:?} bytes {offset}..{end}", self.path),
                reason: "some of its chunks have no chunkDigest; only reads of the whole file \
                         can be verified",
            });
        }
        if verify && !self.per_chunk {
            // Only the whole file can be checked: check it before a byte reaches `buf`.
            return self.read_whole_verified(buf);
        }
        let mut pos = offset;
        let mut k = self.chunks.partition_point(|c| c.file_offset <= offset);
        k = k.saturating_sub(1);
        while pos < end {
            let chunk = self.chunks.get(k).ok_or_else(|| Error::Decompress {
                offset: 0,
                reason: format!("{:?}: no chunk covers offset {pos}", self.path),
            })?;
            let data = self.reader.chunk(self.first + k, verify)?;
            let from = pos - chunk.file_offset;
            let to = (end - chunk.file_offset).min(chunk.size);
            let src = data
                .get(from as usize..to as usize)
                .ok_or_else(|| Error::Decompress {
                    offset: chunk.blob_offset,
                    reason: format!("{}: shorter than recorded", self.reader.describe(chunk)),
                })?;
            let at = (pos - offset) as usize;
            if let Some(dst) = buf.get_mut(at..at + src.len()) {
                dst.copy_from_slice(src);
            }
            pos += src.len() as u64;
            k += 1;
        }
        let n = (end - offset) as usize;
        if whole && verify {
            self.check_whole(buf.get(..n).unwrap_or_default())?;
        }
        Ok(n)
    }

    /// Reads the whole file, whose chunks cannot be verified on their own, into `buf`:
    /// every chunk is decompressed and the file's digest checked before any byte is copied.
    fn read_whole_verified(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_whole_file_limit()?;
        let mut chunks = Vec::with_capacity(self.chunks.len());
        let mut hasher = Hasher::new();
        let mut total = 0u64;
        for (k, chunk) in self.chunks.iter().enumerate() {
            let data = self.reader.chunk(self.first + k, false)?;
            if data.len() as u64 != chunk.size || chunk.file_offset != total {
                return Err(Error::Decompress {
                    offset: chunk.blob_offset,
                    reason: format!("{}: shorter than recorded", self.reader.describe(chunk)),
                });
            }
            hasher.update(&data);
            total += chunk.size;
            chunks.push(data);
        }
        if total != self.size {
            return Err(Error::Decompress {
                offset: self.chunks.first().map_or(0, |c| c.blob_offset),
                reason: format!(
                    "{:?}: its chunks hold {total} bytes, the TOC says {}",
                    self.path, self.size
                ),
            });
        }
        self.check_digest(hasher.finalize())?;
        let mut at = 0;
        for data in chunks {
            let dst = buf
                .get_mut(at..at + data.len())
                .ok_or_else(|| Error::InvalidArgument("buffer shorter than the file".into()))?;
            dst.copy_from_slice(&data);
            at += data.len();
        }
        Ok(at)
    }

    /// A file verified only as a whole is held in memory whole: bound it as a chunk.
    fn check_whole_file_limit(&self) -> Result<()> {
        let max = self.reader.options.max_chunk_bytes;
        if self.size > max {
            return Err(Error::LimitExceeded {
                limit: crate::LimitKind::ChunkBytes,
                actual: self.size,
                max,
            });
        }
        Ok(())
    }

    /// Reads the whole file into memory, verified.
    ///
    /// # Errors
    ///
    /// As [`FileReader::read_at`]; [`Error::LimitExceeded`] when the file is larger than
    /// [`ReaderOptions::max_read_to_vec_bytes`](super::ReaderOptions::max_read_to_vec_bytes),
    /// or than [`ReaderOptions::max_chunk_bytes`](super::ReaderOptions::max_chunk_bytes) and
    /// cannot be verified chunk by chunk, or does not fit in memory.
    pub fn read_to_vec(&self) -> Result<Vec<u8>> {
        if !self.per_chunk {
            self.check_whole_file_limit()?;
        }
        let max = self.reader.options.max_read_to_vec_bytes;
        if self.size > max {
            return Err(Error::LimitExceeded {
                limit: crate::LimitKind::ReadToVecBytes,
                actual: self.size,
                max,
            });
        }
        let too_big = || Error::LimitExceeded {
            limit: crate::LimitKind::AddressSpace,
            actual: self.size,
            max: usize::MAX as u64,
        };
        let len = usize::try_from(self.size).map_err(|_| too_big())?;
        // The size comes from the TOC: ask for the memory without aborting when it is absurd.
        let mut buf = Vec::new();
        buf.try_reserve_exact(len).map_err(|_| too_big())?;
        buf.resize(len, 0);
        self.read_at(0, &mut buf)?;
        Ok(buf)
    }

    /// Writes the whole file's content to `out`, chunk by chunk, each chunk verified before
    /// it is written; returns the number of bytes written. The file's `digest` is checked
    /// at the end (every byte written was already checked by its chunk's digest).
    ///
    /// # Errors
    ///
    /// As [`FileReader::read_at`] and [`FileReader::read_to_vec`]; [`Error::Io`] when
    /// writing fails.
    pub fn copy_to(&self, out: &mut dyn Write) -> Result<u64> {
        let verify = self.reader.options.verify_chunks;
        if verify && !self.per_chunk {
            let data = self.read_to_vec()?;
            out.write_all(&data)
                .map_err(|e| Error::io(format!("writing {:?}", self.path), e))?;
            return Ok(data.len() as u64);
        }
        let mut hasher = Hasher::new();
        let mut written = 0u64;
        for k in 0..self.chunks.len() {
            let data = self.reader.chunk(self.first + k, verify)?;
            if verify {
                hasher.update(&data);
            }
            out.write_all(&data)
                .map_err(|e| Error::io(format!("writing {:?}", self.path), e))?;
            written += data.len() as u64;
        }
        if written != self.size {
            return Err(Error::Decompress {
                offset: self.chunks.first().map_or(0, |c| c.blob_offset),
                reason: format!(
                    "{:?}: read {written} bytes, the TOC says {}",
                    self.path, self.size
                ),
            });
        }
        if verify && let Some(expected) = self.digest {
            let actual = hasher.finalize();
            if actual != expected {
                return Err(self.file_mismatch(expected, actual));
            }
        }
        Ok(written)
    }

    /// A `Read + Seek` view of the file starting at offset 0.
    pub fn cursor(&self) -> FileCursor<'r, R> {
        FileCursor {
            file: self.clone(),
            pos: 0,
        }
    }

    fn check_whole(&self, data: &[u8]) -> Result<()> {
        self.check_digest(Digest::of(data))
    }

    /// Checks the digest of the whole file's content against the TOC.
    fn check_digest(&self, actual: Digest) -> Result<()> {
        match self.digest {
            Some(expected) => {
                if actual != expected {
                    return Err(self.file_mismatch(expected, actual));
                }
                Ok(())
            }
            None if self.per_chunk => Ok(()),
            None => Err(Error::Unverifiable {
                what: format!("{:?}", self.path),
                reason: "the TOC has neither chunkDigests nor a digest for it",
            }),
        }
    }

    fn file_mismatch(&self, expected: Digest, actual: Digest) -> Error {
        Error::DigestMismatch {
            what: format!("{:?} (whole file, {} bytes)", self.path, self.size),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }
    }
}

/// A [`FileReader`] with a position, implementing [`Read`] and [`Seek`].
///
/// Errors of the reader are returned as [`io::Error`]s of kind
/// [`io::ErrorKind::InvalidData`] (or the source's own kind for I/O errors) wrapping the
/// [`Error`].
#[derive(Debug)]
pub struct FileCursor<'r, R> {
    file: FileReader<'r, R>,
    pos: u64,
}

impl<R: ReadAt> Read for FileCursor<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(self.pos, buf).map_err(|e| match e {
            Error::Io { source, context } => {
                io::Error::new(source.kind(), format!("{context}: {source}"))
            }
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        })?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: ReadAt> Seek for FileCursor<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.file.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing offset",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}
