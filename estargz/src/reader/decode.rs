//! Decompressing member runs: the compressed range `[blob_offset, blob_end)` that holds one
//! or more chunks (and the tar headers and padding between them).

use std::io::Read;

use estargz_toc::Chunk;

use super::codec::{Codec, MemberStream};
use crate::error::{Error, Result};

/// Size of the buffer used to skip, stream and hash decompressed bytes.
pub(crate) const SCRATCH_LEN: usize = 128 << 10;

/// A decompressor over one run of members (gzip members or zstd frames) held in memory.
pub(crate) struct RunDecoder<'a> {
    inner: MemberStream<'a>,
    /// Blob offset of the first member, for error reports.
    blob_offset: u64,
    /// Uncompressed bytes produced so far.
    pos: u64,
}

impl<'a> RunDecoder<'a> {
    pub(crate) fn new(codec: Codec, compressed: &'a [u8], blob_offset: u64) -> Result<Self> {
        Ok(Self {
            inner: MemberStream::new(codec, compressed, blob_offset)?,
            blob_offset,
            pos: 0,
        })
    }

    /// Uncompressed bytes produced so far.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    fn fail(&self, what: &dyn Fn() -> String, reason: String) -> Error {
        Error::Decompress {
            offset: self.blob_offset,
            reason: format!("{}: {reason}", what()),
        }
    }

    /// Reads up to `buf.len()` bytes; 0 only at the end of the run.
    fn read_some(&mut self, buf: &mut [u8], what: &dyn Fn() -> String) -> Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(what, e.to_string())),
            }
        }
    }

    /// Fills `buf` completely.
    ///
    /// # Errors
    ///
    /// [`Error::Decompress`] when the data is corrupt or the run ends first.
    pub(crate) fn read_exact(
        &mut self,
        mut buf: &mut [u8],
        what: &dyn Fn() -> String,
    ) -> Result<()> {
        while !buf.is_empty() {
            let n = self.read_some(buf, what)?;
            if n == 0 {
                return Err(self.fail(
                    what,
                    format!(
                        "the compressed data ends {} bytes early (at uncompressed offset {})",
                        buf.len(),
                        self.pos
                    ),
                ));
            }
            buf = buf.get_mut(n..).unwrap_or_default();
        }
        Ok(())
    }

    /// Passes exactly `len` bytes to `sink`, in pieces of at most `scratch.len()` bytes.
    pub(crate) fn stream(
        &mut self,
        len: u64,
        scratch: &mut [u8],
        what: &dyn Fn() -> String,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left).map_or(scratch.len(), |l| l.min(scratch.len()));
            let piece = scratch.get_mut(..want).unwrap_or_default();
            self.read_exact(piece, what)?;
            sink(piece)?;
            left -= want as u64;
        }
        Ok(())
    }

    /// Passes every remaining byte to `sink`, failing with [`Error::LimitExceeded`] as soon
    /// as more than `max` bytes remain (so a bomb is never decompressed to its end).
    pub(crate) fn drain(
        &mut self,
        max: u64,
        scratch: &mut [u8],
        what: &dyn Fn() -> String,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let n = self.read_some(scratch, what)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            if total > max {
                return Err(Error::LimitExceeded {
                    limit: crate::LimitKind::HeaderSlack,
                    actual: total,
                    max,
                });
            }
            sink(scratch.get(..n).unwrap_or_default())?;
        }
    }
}

/// What a [`RunSink`] wants done with a chunk.
pub(crate) enum Take {
    /// Decompress past it (it is still decompressed, but not looked at).
    Skip,
    /// Hand its bytes to [`RunSink::data`] in pieces.
    Stream,
    /// Decompress it into one buffer of its size, handed to [`RunSink::end`].
    Buffer,
}

/// Receives what [`walk_run`] decompresses.
pub(crate) trait RunSink {
    /// A chunk starts; says what to do with it.
    fn begin(&mut self, index: usize, chunk: &Chunk) -> Result<Take>;
    /// Bytes of the current chunk ([`Take::Stream`] only).
    fn data(&mut self, bytes: &[u8]) -> Result<()>;
    /// The current chunk ended; `buffer` holds it for [`Take::Buffer`].
    fn end(&mut self, index: usize, chunk: &Chunk, buffer: Option<Vec<u8>>) -> Result<()>;
    /// Bytes between chunks (tar headers and padding), before the first chunk and after
    /// the last.
    fn gap(&mut self, bytes: &[u8]) -> Result<()>;
}

/// How far a walk goes after its last chunk.
pub(crate) enum Tail {
    /// Stop right after the last chunk.
    Stop,
    /// Decompress to the end of the run, allowing at most this many bytes.
    Drain(u64),
}

/// Decompresses the chunks `chunks` (consecutive chunks of one run, with their positions
/// `first..` in the index) and feeds `sink`.
///
/// `gap_allowance(i)` bounds the bytes between the previous chunk and chunk `i` (or
/// between the start of the run and chunk `i`); `name(i)` names chunk `i` in errors.
#[allow(clippy::too_many_arguments)] // One internal call shape; a struct would only rename them.
pub(crate) fn walk_run(
    decoder: &mut RunDecoder<'_>,
    first: usize,
    chunks: &[Chunk],
    scratch: &mut [u8],
    gap_allowance: &dyn Fn(usize) -> u64,
    tail: Tail,
    name: &dyn Fn(usize) -> String,
    sink: &mut dyn RunSink,
) -> Result<()> {
    for (i, chunk) in chunks.iter().enumerate() {
        let index = first + i;
        let what = || name(index);
        let gap = chunk
            .inner_offset
            .checked_sub(decoder.pos())
            .ok_or_else(|| Error::Decompress {
                offset: chunk.blob_offset,
                reason: format!("{}: overlaps the previous chunk of its member", what()),
            })?;
        let allowed = gap_allowance(index);
        if gap > allowed {
            return Err(Error::LimitExceeded {
                limit: crate::LimitKind::HeaderSlack,
                actual: gap,
                max: allowed,
            });
        }
        decoder.stream(gap, scratch, &what, &mut |bytes| sink.gap(bytes))?;
        match sink.begin(index, chunk)? {
            Take::Skip => {
                decoder.stream(chunk.size, scratch, &what, &mut |_| Ok(()))?;
                sink.end(index, chunk, None)?;
            }
            Take::Stream => {
                decoder.stream(chunk.size, scratch, &what, &mut |bytes| sink.data(bytes))?;
                sink.end(index, chunk, None)?;
            }
            Take::Buffer => {
                let len = usize::try_from(chunk.size).map_err(|_| Error::LimitExceeded {
                    limit: crate::LimitKind::AddressSpace,
                    actual: chunk.size,
                    max: usize::MAX as u64,
                })?;
                let mut buffer = vec![0; len];
                decoder.read_exact(&mut buffer, &what)?;
                sink.end(index, chunk, Some(buffer))?;
            }
        }
    }
    if let Tail::Drain(max) = tail {
        let last = first + chunks.len().saturating_sub(1);
        decoder.drain(
            max,
            scratch,
            &|| format!("{} (end of its member run)", name(last)),
            &mut |bytes| sink.gap(bytes),
        )?;
    }
    Ok(())
}
