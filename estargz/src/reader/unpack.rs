//! The decompressed payload as a plain tar stream.

use std::io::Write;

use estargz_toc::Chunk;
use estargz_verifier::{Digest, Hasher};

use super::blob::{Expected, Reader};
use super::decode::{self, RunSink, Take};
use super::layout::entry_path;
use super::tar_check::TarCheck;
use super::walk::{Checked, segments};
use crate::error::{Error, Result};
use crate::source::ReadAt;
use crate::tar::Trailer;

impl<R: ReadAt> Reader<R> {
    /// Writes the blob's payload, decompressed, as a plain tar stream: every entry up to
    /// the TOC (which is not included), followed by an end-of-archive marker when the
    /// payload lacks one (blobs written by the reference's `Build` never have one).
    /// Returns the number of bytes written.
    ///
    /// For zstd:chunked and external-TOC blobs, whose decompressed stream is the entries
    /// alone (their DiffID covers no end-of-archive), the output is that stream followed
    /// by the 1024-byte end-of-archive, so that it is a complete tar.
    ///
    /// File content is verified chunk by chunk before it is written (unless
    /// [`ReaderOptions::verify_chunks`](super::ReaderOptions::verify_chunks) is off).
    /// Chunks without a `chunkDigest` (legacy stargz) are checked by their file's `digest`
    /// once the file ends, after they were written. Tar headers are covered by no digest
    /// in the blob, so each one is checked against the TOC entry it must describe (name,
    /// type, size, link name, mode, owner, modification time, device numbers, xattrs); a
    /// header the TOC does not list, a TOC entry without its header or file content outside
    /// its chunks fails with [`Error::TarMismatch`]. The output of an honest blob is its
    /// payload byte for byte. Memory stays bounded by one chunk plus one member run's
    /// compressed bytes.
    ///
    /// On error, what was written so far is incomplete and must be discarded.
    ///
    /// # Errors
    ///
    /// As [`Reader::verify_all`]; [`Error::TarMismatch`] as above; [`Error::Tar`] when the
    /// payload is not a well-formed tar stream; [`Error::Io`] when writing fails.
    pub fn unpack_to_tar(&self, out: &mut dyn Write) -> Result<u64> {
        let mut sink = UnpackSink {
            reader: self,
            out: TarOut { out, written: 0 },
            verify: self.options.verify_chunks,
            file: None,
        };
        let mut check = TarCheck::new(self.index())
            .owner_names(super::codec::toc_has_owner_names(self.footer()));
        let mut scratch = vec![0; decode::SCRATCH_LEN];
        let data = 0..self.payload_end();
        for segment in segments(self, 0..self.layout.runs.len(), data) {
            let start = segment.blob.start;
            check.set_blob_offset(start);
            let compressed = self.fetch(segment.blob.clone(), &|| {
                format!("the payload at blob offset {start}")
            })?;
            let mut checked = Checked {
                check: &mut check,
                inner: &mut sink,
            };
            self.decode_segment(&segment, &compressed, &mut scratch, &mut checked)?;
        }
        let trailer = check.finish()?;
        sink.out.finish(trailer)
    }
}

/// The output.
struct TarOut<'w> {
    out: &'w mut dyn Write,
    written: u64,
}

impl TarOut<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("writing the tar stream", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Appends whatever end-of-archive the stream lacks, then flushes.
    fn finish(mut self, trailer: Trailer) -> Result<u64> {
        let missing = match trailer {
            Trailer::TwoZeroBlocks => 0,
            Trailer::OneZeroBlock => 512,
            _ => 1024,
        };
        let zeros = [0u8; 1024];
        let pad = zeros.get(..missing).unwrap_or_default();
        self.write(pad)?;
        self.out
            .flush()
            .map_err(|e| Error::io("writing the tar stream", e))?;
        Ok(self.written)
    }
}

/// The file whose chunks are being written.
struct OpenFile {
    entry: usize,
    size: u64,
    /// Hashes the whole file when some chunk has no `chunkDigest`.
    hasher: Option<Hasher>,
}

/// Writes chunks (verified first) and the bytes between them.
struct UnpackSink<'a, 'w, R> {
    reader: &'a Reader<R>,
    out: TarOut<'w>,
    verify: bool,
    file: Option<OpenFile>,
}

impl<R> RunSink for UnpackSink<'_, '_, R> {
    fn begin(&mut self, index: usize, chunk: &Chunk) -> Result<Take> {
        if !self.verify {
            return Ok(Take::Stream);
        }
        if chunk.file_offset == 0 {
            let toc = self.reader.toc();
            let size = toc
                .entries
                .get(chunk.entry)
                .map_or(0, |e| e.size.max(0) as u64);
            // Chunks of one file are consecutive in the index.
            let all = self.reader.index().all_chunks();
            let mut whole_file_only = false;
            for (k, c) in all.iter().enumerate().skip(index) {
                if k > index && c.file_offset == 0 {
                    break;
                }
                if matches!(self.reader.expected(c)?, Expected::Nothing) {
                    whole_file_only = true;
                }
            }
            self.file = Some(OpenFile {
                entry: chunk.entry,
                size,
                hasher: whole_file_only.then(Hasher::new),
            });
        }
        if self.file.as_ref().is_some_and(|f| f.hasher.is_some()) {
            return Ok(Take::Stream);
        }
        // The chunk is buffered until verified: bound it as random reads do.
        let max = self.reader.options.max_chunk_bytes;
        if chunk.size > max {
            return Err(Error::LimitExceeded {
                limit: crate::LimitKind::ChunkBytes,
                actual: chunk.size,
                max,
            });
        }
        Ok(Take::Buffer)
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(hasher) = self.file.as_mut().and_then(|f| f.hasher.as_mut()) {
            hasher.update(bytes);
        }
        self.out.write(bytes)
    }

    fn end(&mut self, _index: usize, chunk: &Chunk, buffer: Option<Vec<u8>>) -> Result<()> {
        if let Some(buffer) = buffer {
            self.reader.check_chunk(chunk, &buffer)?;
            self.out.write(&buffer)?;
        }
        if !self.verify || chunk.file_offset + chunk.size < self.file.as_ref().map_or(0, |f| f.size)
        {
            return Ok(());
        }
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        if let Some(hasher) = file.hasher {
            let actual = hasher.finalize();
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
                return Err(Error::Unverifiable {
                    what: what(),
                    reason: "the TOC has neither chunkDigests nor a digest for it",
                });
            }
            let expected = Digest::parse(recorded).map_err(|source| Error::InvalidDigest {
                what: what(),
                source,
            })?;
            if expected != actual {
                return Err(Error::DigestMismatch {
                    what: what(),
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        Ok(())
    }

    fn gap(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write(bytes)
    }
}
