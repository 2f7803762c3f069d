//! The one-shot backend: libdeflate (feature `libdeflate`), which compresses a whole buffer
//! in one call and cannot be fed in pieces or flushed.
//!
//! A member is therefore always the one-shot compression of its whole content, which makes
//! its bytes independent of how that content was gathered. Two things follow:
//!
//! - A sync flush cannot be written: libdeflate's last block is always the final one. A
//!   member the newest layout would sync-flush ends with libdeflate's final block instead
//!   (readers never depend on the empty block a sync flush adds).
//! - The open member's compressed size, which the minimum-chunk-size rule needs before each
//!   chunk, is not known until the member closes. [`WholeMember::sync_flush`] estimates it
//!   instead: each flush segment is compressed alone once to measure it, and the estimate is
//!   the sum of those sizes (usually a little more than the member will really take, since
//!   each segment starts with an empty window).

/// A libdeflate compressor at one level, with the buffer it compresses into.
pub(crate) struct WholeDeflater {
    compressor: libdeflater::Compressor,
    /// Room for the worst case when only the compressed size is wanted (the bound for the
    /// largest input measured so far).
    scratch: Vec<u8>,
}

impl std::fmt::Debug for WholeDeflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WholeDeflater").field(&"libdeflate").finish()
    }
}

impl WholeDeflater {
    /// A compressor at `level`: our levels 1 to 9 are libdeflate's levels 1 to 9 (levels
    /// above libdeflate's best, 12, would mean 12).
    pub(crate) fn new(level: u8) -> Self {
        let level = libdeflater::CompressionLvl::new(i32::from(level))
            .unwrap_or_else(|_| libdeflater::CompressionLvl::best());
        Self {
            compressor: libdeflater::Compressor::new(level),
            scratch: Vec::new(),
        }
    }

    /// Appends the raw deflate stream of all of `input` (ending with a final block) to `out`,
    /// compressing straight into it (`out` grows to hold the worst case, then is cut back).
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let start = out.len();
        let bound = self.compressor.deflate_compress_bound(input.len());
        // With the gzip trailer that follows, so that appending it never reallocates.
        out.reserve_exact(bound.saturating_add(super::TRAILER_SIZE));
        out.resize(start.saturating_add(bound), 0);
        let written = self
            .compressor
            .deflate_compress(input, out.get_mut(start..).unwrap_or_default())
            .map_err(|e| format!("libdeflate deflate failed: {e}"))?;
        out.truncate(start.saturating_add(written));
        Ok(())
    }

    /// The size of the raw deflate stream of `input` (compressed into a scratch buffer).
    pub(crate) fn compressed_size(&mut self, input: &[u8]) -> Result<usize, String> {
        let bound = self.compressor.deflate_compress_bound(input.len());
        if self.scratch.len() < bound {
            self.scratch.resize(bound, 0);
        }
        self.compressor
            .deflate_compress(input, self.scratch.get_mut(..bound).unwrap_or_default())
            .map_err(|e| format!("libdeflate deflate failed: {e}"))
    }
}

/// A member being gathered for a [`WholeDeflater`]: its uncompressed bytes, and the estimate
/// of its compressed size at the last flush.
#[derive(Debug)]
pub(crate) struct WholeMember {
    deflater: WholeDeflater,
    pending: Vec<u8>,
    /// How much of `pending` the estimate covers.
    flushed: usize,
    estimate: u64,
}

impl WholeMember {
    /// An empty member for `deflater`.
    pub(crate) fn new(deflater: WholeDeflater) -> Self {
        Self {
            deflater,
            pending: Vec::new(),
            flushed: 0,
            estimate: 0,
        }
    }

    /// Appends `data` to the member.
    pub(crate) fn write(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// Measures the bytes written since the last flush by compressing them alone, and adds
    /// their size to the estimate.
    pub(crate) fn sync_flush(&mut self) -> Result<(), String> {
        let segment = self.pending.get(self.flushed..).unwrap_or_default();
        let size = self.deflater.compressed_size(segment)?;
        self.estimate = self.estimate.saturating_add(size as u64);
        self.flushed = self.pending.len();
        Ok(())
    }

    /// The estimated compressed size of the member as of the last flush (0 before any).
    pub(crate) fn estimate(&self) -> u64 {
        self.estimate
    }

    /// The compressor, for a member that is compressed from elsewhere (nothing written).
    pub(crate) fn into_deflater(self) -> WholeDeflater {
        self.deflater
    }

    /// Compresses the whole member into `out` and gives the compressor back.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<WholeDeflater, String> {
        self.deflater.compress(&self.pending, out)?;
        Ok(self.deflater)
    }
}
