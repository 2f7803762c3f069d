//! One zstd frame from a byte range of a positioned source, read in pieces, so that a frame
//! of any size (a long run of zeros, say) needs only its compressed size in memory.

use std::ops::Range;

use ::zstd::stream::raw::{CParameter, Encoder, InBuffer, Operation, OutBuffer};

use crate::error::{Error, Result};
use crate::source::ReadAt;

/// How many input bytes are read and fed at a time.
const PIECE: usize = 1 << 20;

/// Compresses ranges into frames, reusing one streaming context. Every frame records its
/// content size and ends with a checksum; for a given libzstd version and level its bytes
/// depend only on the range's content.
pub(crate) struct RangeEncoder {
    ctx: Encoder<'static>,
    piece: Vec<u8>,
}

impl RangeEncoder {
    /// An encoder at `level` (checked by the caller with [`super::check_level`]).
    pub(crate) fn new(level: i32) -> Result<Self> {
        let fail = |e: std::io::Error| Error::Compress {
            reason: format!("setting up a zstd level-{level} stream compressor: {e}"),
        };
        let mut ctx = Encoder::new(level).map_err(fail)?;
        ctx.set_parameter(CParameter::ChecksumFlag(true))
            .map_err(fail)?;
        ctx.set_parameter(CParameter::ContentSizeFlag(true))
            .map_err(fail)?;
        Ok(Self {
            ctx,
            piece: Vec::new(),
        })
    }

    /// One complete frame holding the bytes of `src` at `range`.
    pub(crate) fn compress<S: ReadAt + ?Sized>(
        &mut self,
        src: &S,
        range: Range<u64>,
    ) -> Result<Vec<u8>> {
        let fail = |e: std::io::Error| Error::Compress {
            reason: format!("zstd frame of input bytes {range:?}: {e}"),
        };
        let len = range.end.saturating_sub(range.start);
        self.ctx.reinit().map_err(fail)?;
        self.ctx.set_pledged_src_size(Some(len)).map_err(fail)?;
        let out_step = ::zstd::zstd_safe::CCtx::out_size();
        let mut frame = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let n = usize::try_from(range.end - at).map_or(PIECE, |left| left.min(PIECE));
            self.piece.resize(n, 0);
            src.read_exact_at(at, &mut self.piece)
                .map_err(|e| Error::io(format!("reading input bytes at offset {at}"), e))?;
            let mut input = InBuffer::around(&self.piece);
            while input.pos() < n {
                frame.reserve(out_step);
                let pos = frame.len();
                let mut output = OutBuffer::around_pos(&mut frame, pos);
                self.ctx.run(&mut input, &mut output).map_err(fail)?;
            }
            at = at.saturating_add(n as u64);
        }
        loop {
            frame.reserve(out_step);
            let pos = frame.len();
            let mut output = OutBuffer::around_pos(&mut frame, pos);
            if self.ctx.finish(&mut output, true).map_err(fail)? == 0 {
                break;
            }
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_to_the_range_and_do_not_depend_on_history() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut enc = RangeEncoder::new(3).unwrap();
        let big = enc.compress(&data[..], 10..2_500_000).unwrap();
        assert_eq!(
            super::super::decode_frame(&big, 3_000_000).unwrap(),
            &data[10..2_500_000]
        );
        let small = enc.compress(&data[..], 5..900).unwrap();
        assert_eq!(
            RangeEncoder::new(3)
                .unwrap()
                .compress(&data[..], 5..900)
                .unwrap(),
            small
        );
        assert_eq!(
            ::zstd::zstd_safe::get_frame_content_size(&small).unwrap(),
            Some(895)
        );
        assert!(enc.compress(&data[..], 2_999_999..3_000_001).is_err());
    }
}
