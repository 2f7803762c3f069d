//! Level 0: the stored-block framing Go's `compress/flate` writes for `NoCompression`.
//!
//! Go (up to 1.26) buffers input in a window of 65,535 bytes and writes a non-final stored
//! block each time the window is full; a sync flush or close writes the partial window (if
//! any) as one more non-final stored block. A sync flush then adds an empty non-final stored
//! block (`00 00 00 ff ff`), and close an empty final one (`01 00 00 ff ff`). Every block is
//! byte-aligned, so each header is one byte (`00` or `01`) followed by `LEN` and `!LEN`
//! (little-endian). The output does not depend on how the input was split into writes.

/// The largest stored block Go writes.
pub(crate) const MAX_BLOCK: usize = 65_535;

/// Go's stored-block writer state: the partial window not yet written.
#[derive(Debug, Default)]
pub(crate) struct StoredWriter {
    pending: Vec<u8>,
}

impl StoredWriter {
    /// Appends `data`, writing every full window as a block to `out`.
    pub(crate) fn write(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let take = (MAX_BLOCK - self.pending.len()).min(data.len());
            let (head, tail) = data.split_at(take);
            self.pending.extend_from_slice(head);
            data = tail;
            if self.pending.len() == MAX_BLOCK {
                write_block(&self.pending, false, out);
                self.pending.clear();
            }
        }
        let mut blocks = data.chunks_exact(MAX_BLOCK);
        for block in &mut blocks {
            write_block(block, false, out);
        }
        self.pending.extend_from_slice(blocks.remainder());
    }

    /// A sync flush: the partial window, then an empty non-final block.
    pub(crate) fn sync_flush(&mut self, out: &mut Vec<u8>) {
        self.write_pending(out);
        write_block(&[], false, out);
    }

    /// Close: the partial window, then an empty final block.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        self.write_pending(out);
        write_block(&[], true, out);
    }

    fn write_pending(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            write_block(&self.pending, false, out);
            self.pending.clear();
        }
    }
}

/// Writes one byte-aligned stored block. `data` is at most [`MAX_BLOCK`] bytes (the callers
/// guarantee it).
fn write_block(data: &[u8], last: bool, out: &mut Vec<u8>) {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.push(u8::from(last));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_do_not_depend_on_write_sizes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut one = Vec::new();
        let mut w = StoredWriter::default();
        w.write(&data, &mut one);
        w.finish(&mut one);
        for step in [1usize, 1000, 65_535, 65_536, 100_000] {
            let mut many = Vec::new();
            let mut w = StoredWriter::default();
            for piece in data.chunks(step) {
                w.write(piece, &mut many);
            }
            w.finish(&mut many);
            assert_eq!(one, many, "write size {step}");
        }
        // 3 full blocks, one partial, the final empty block.
        assert_eq!(one.len(), 200_000 + 5 * 4 + 5);
        assert_eq!(&one[..5], &[0, 0xff, 0xff, 0, 0]);
        assert_eq!(&one[one.len() - 5..], &[1, 0, 0, 0xff, 0xff]);
    }

    #[test]
    fn sync_flush_adds_an_empty_block() {
        let mut out = Vec::new();
        let mut w = StoredWriter::default();
        w.write(b"abc", &mut out);
        w.sync_flush(&mut out);
        w.finish(&mut out);
        assert_eq!(
            out,
            [
                0, 3, 0, 0xfc, 0xff, b'a', b'b', b'c', 0, 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff
            ]
        );
    }
}
