//! The decompressed payload as a plain tar stream.

use std::io::Write;

use estargz_toc::Chunk;
use estargz_verifier::{Digest, Hasher};

use super::blob::{Expected, Reader};
use super::decode::{self, RunDecoder, RunSink, Tail, Take};
use super::layout::{allowance, entry_path, header_sums};
use crate::error::{Error, Result};
use crate::source::ReadAt;
use crate::tar::{TarEvent, TarLimits, TarParser, Trailer};

impl<R: ReadAt> Reader<R> {
    /// Writes the blob's payload, decompressed, as a plain tar stream: every entry up to
    /// the TOC (which is not included), followed by an end-of-archive marker when the
    /// payload lacks one (blobs written by the reference's `Build` never have one).
    /// Returns the number of bytes written.
    ///
    /// File content is verified chunk by chunk before it is written (unless
    /// [`ReaderOptions::verify_chunks`](super::ReaderOptions::verify_chunks) is off).
    /// Chunks without a `chunkDigest` (legacy stargz) are checked by their file's `digest`
    /// once the file ends, after they were written. Tar headers are not covered by any
    /// digest in the blob; they are checked to parse. Memory stays bounded by one chunk
    /// plus one member run's compressed bytes.
    ///
    /// # Errors
    ///
    /// As [`Reader::verify_all`]; [`Error::Tar`] when the payload is not a well-formed tar
    /// stream; [`Error::Io`] when writing fails.
    pub fn unpack_to_tar(&self, out: &mut dyn Write) -> Result<u64> {
        let all = self.index().all_chunks();
        let sums = header_sums(self.toc());
        let slack = self.options.header_slack;
        let data_end = self.toc_range().start;
        let last_entry = self.toc().entries.len().saturating_sub(1);
        let mut sink = UnpackSink {
            reader: self,
            out: TarOut {
                out,
                watcher: TarWatcher::new(),
                written: 0,
            },
            verify: self.options.verify_chunks,
            file: None,
        };
        let mut cursor = 0u64;
        let mut prev_entry: Option<usize> = None;
        let mut scratch = vec![0; decode::SCRATCH_LEN];
        for (r, run) in self.layout.runs.iter().enumerate() {
            let chunks = all.get(run.chunks.clone()).unwrap_or_default();
            let Some(first) = chunks.first() else {
                continue;
            };
            if run.blob.start > cursor {
                let max = allowance(&sums, prev_entry, first.entry, slack);
                self.unpack_headers(cursor..run.blob.start, max, &mut scratch, &mut sink.out)?;
            }
            let compressed = self.fetch(run.blob.clone(), &|| self.describe(first))?;
            let next_entry = self
                .layout
                .runs
                .get(r + 1)
                .and_then(|n| all.get(n.chunks.start))
                .map_or(last_entry, |c| c.entry);
            let last = chunks.last().map(|c| c.entry);
            let tail = allowance(&sums, last, next_entry, slack);
            let mut decoder = RunDecoder::new(&compressed, run.blob.start);
            decode::walk_run(
                &mut decoder,
                run.chunks.start,
                chunks,
                &mut scratch,
                &|ci| {
                    let prev = ci.checked_sub(1).and_then(|p| all.get(p)).map(|c| c.entry);
                    let this = all.get(ci).map_or(0, |c| c.entry);
                    allowance(&sums, prev, this, slack)
                },
                Tail::Drain(tail),
                &|ci| all.get(ci).map_or_else(String::new, |c| self.describe(c)),
                &mut sink,
            )?;
            self.count_decompressed(chunks.len() as u64);
            cursor = run.blob.end;
            prev_entry = last;
        }
        if cursor < data_end {
            let max = allowance(&sums, prev_entry, last_entry, slack);
            self.unpack_headers(cursor..data_end, max, &mut scratch, &mut sink.out)?;
        }
        sink.out.finish()
    }

    /// Copies a compressed region that holds only tar headers.
    fn unpack_headers(
        &self,
        range: std::ops::Range<u64>,
        max: u64,
        scratch: &mut [u8],
        out: &mut TarOut<'_>,
    ) -> Result<()> {
        let start = range.start;
        let compressed = self.fetch(range, &|| format!("tar headers at blob offset {start}"))?;
        let mut decoder = RunDecoder::new(&compressed, start);
        decoder.drain(
            max,
            scratch,
            &|| format!("tar headers at blob offset {start}"),
            &mut |bytes| out.write(bytes),
        )?;
        Ok(())
    }
}

/// The output, watched for the tar end-of-archive.
struct TarOut<'w> {
    out: &'w mut dyn Write,
    watcher: TarWatcher,
    written: u64,
}

impl TarOut<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.watcher.feed(bytes)?;
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("writing the tar stream", e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Appends whatever end-of-archive the stream lacks, then flushes.
    fn finish(mut self) -> Result<u64> {
        let missing = match self.watcher.finish()? {
            Trailer::TwoZeroBlocks => 0,
            Trailer::OneZeroBlock => 512,
            _ => 1024,
        };
        let zeros = [0u8; 1024];
        let pad = zeros.get(..missing).unwrap_or_default();
        self.out
            .write_all(pad)
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::io("writing the tar stream", e))?;
        self.written += missing as u64;
        Ok(self.written)
    }
}

/// Follows a tar stream as it is written, to learn how it ends.
struct TarWatcher {
    parser: TarParser,
    /// Header bytes not yet parsed.
    pending: Vec<u8>,
    /// Payload and padding bytes still to pass.
    skip: u64,
    trailer: Option<Trailer>,
}

impl TarWatcher {
    fn new() -> Self {
        Self {
            parser: TarParser::new(TarLimits::default()),
            pending: Vec::new(),
            skip: 0,
            trailer: None,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() && self.trailer.is_none() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip).map_or(bytes.len(), |s| s.min(bytes.len()));
                bytes = bytes.get(n..).unwrap_or_default();
                self.skip -= n as u64;
                continue;
            }
            self.pending.extend_from_slice(bytes);
            bytes = &[];
            self.drive(false)?;
        }
        Ok(())
    }

    /// Parses what is pending.
    fn drive(&mut self, eof: bool) -> Result<()> {
        while self.trailer.is_none() {
            let base = self.parser.offset();
            match self.parser.parse(&self.pending, eof)? {
                TarEvent::NeedData { .. } => return Ok(()),
                TarEvent::Entry { consumed, entry }
                | TarEvent::GlobalHeader { consumed, entry } => {
                    let rest = entry
                        .end_offset()
                        .saturating_sub(base)
                        .saturating_sub(consumed as u64);
                    let have = self.pending.len().saturating_sub(consumed) as u64;
                    if have >= rest {
                        self.pending.drain(..consumed + rest as usize);
                    } else {
                        self.pending.clear();
                        self.skip = rest - have;
                        return Ok(());
                    }
                }
                TarEvent::End { trailer, .. } => {
                    self.trailer = Some(trailer);
                    self.pending = Vec::new();
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Trailer> {
        if self.skip > 0 {
            return Err(Error::Tar(crate::tar::TarError::Truncated {
                offset: self.parser.offset().saturating_sub(self.skip),
            }));
        }
        self.drive(true)?;
        Ok(self.trailer.unwrap_or(Trailer::Missing))
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
                limit: "uncompressed bytes of one chunk",
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
