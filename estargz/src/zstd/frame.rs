//! zstd frames: one per member when writing, decoded with limits when reading.

use std::io::Read;

use ::zstd::stream::read::Decoder;
use ::zstd::zstd_safe::CParameter;

use crate::error::{Error, Result};

/// The largest window (as a power of two: 2^27 bytes = 128 MiB) a frame may ask the
/// decoder to allocate; a frame that asks for more is rejected instead of decoded. It is
/// libzstd's own default cap; real writers stay far below it (the reference's klauspost
/// encoder uses at most 8 MiB, libzstd at levels up to 19 at most 8 MiB, less for frames
/// whose size is known, such as ours).
pub const MAX_WINDOW_LOG: u32 = 27;

/// Compresses members into frames, reusing one compression context (a reused context
/// writes the same bytes as a new one).
///
/// Every frame records its content size and ends with a content checksum (the reference's
/// encoder writes checksums too). For a given libzstd version and level the frame depends
/// only on the data.
pub(crate) struct FrameEncoder {
    ctx: ::zstd::bulk::Compressor<'static>,
}

impl std::fmt::Debug for FrameEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameEncoder").finish_non_exhaustive()
    }
}

impl FrameEncoder {
    /// An encoder at `level` (checked by the caller with [`super::check_level`]).
    pub(crate) fn new(level: i32) -> Result<Self> {
        let fail = |e: std::io::Error| Error::Compress {
            reason: format!("setting up a zstd level-{level} compressor: {e}"),
        };
        let mut ctx = ::zstd::bulk::Compressor::new(level).map_err(fail)?;
        ctx.set_parameter(CParameter::ChecksumFlag(true))
            .map_err(fail)?;
        ctx.set_parameter(CParameter::ContentSizeFlag(true))
            .map_err(fail)?;
        Ok(Self { ctx })
    }

    /// One complete frame holding `data`.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.ctx.compress(data).map_err(|e| Error::Compress {
            reason: format!("zstd: {e}"),
        })
    }
}

/// Compresses `data` into one complete zstd frame at `level` (see [`super::LEVELS`]), with
/// its content size and a checksum, as the encoder writes each member.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for a level outside [`super::LEVELS`];
/// [`Error::Compress`] if libzstd fails.
///
/// ```
/// use estargz::zstd::{compress_frame, decode_frame};
///
/// let frame = compress_frame(&[7u8; 4096], 3)?;
/// assert_eq!(&frame[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
/// assert_eq!(decode_frame(&frame, 4096)?, vec![7u8; 4096]);
/// # Ok::<(), estargz::Error>(())
/// ```
pub fn compress_frame(data: &[u8], level: i32) -> Result<Vec<u8>> {
    super::check_level(level)?;
    FrameEncoder::new(level)?.compress(data)
}

/// Decodes exactly one zstd frame, which must be all of `frame`, and returns its content.
///
/// `limit` bounds the decompressed size: decoding stops as soon as it is exceeded, so a
/// frame that inflates far (a "bomb") is never decoded to its end. Windows larger than
/// 2^[`MAX_WINDOW_LOG`] bytes are refused.
///
/// # Errors
///
/// [`Error::Decompress`] (offset 0) if the bytes are not exactly one valid frame (truncated,
/// corrupt, a bad checksum, trailing bytes); [`Error::LimitExceeded`] if the content is
/// larger than `limit`.
pub fn decode_frame(frame: &[u8], limit: u64) -> Result<Vec<u8>> {
    decode_frame_at(frame, limit, 0, "zstd frame")
}

/// [`decode_frame`] for the frame at blob offset `offset`, named `what` in errors.
pub(crate) fn decode_frame_at(
    frame: &[u8],
    limit: u64,
    offset: u64,
    what: &str,
) -> Result<Vec<u8>> {
    let fail = |reason: String| Error::Decompress {
        offset,
        reason: format!("{what}: {reason}"),
    };
    let frame_len = ::zstd::zstd_safe::find_frame_compressed_size(frame)
        .map_err(|code| fail(::zstd::zstd_safe::get_error_name(code).to_owned()))?;
    if frame_len != frame.len() {
        return Err(fail(format!(
            "{} bytes follow the {frame_len}-byte frame",
            frame.len() - frame_len
        )));
    }
    let mut decoder = run_decoder(frame, offset)?.single_frame();
    let mut out = Vec::new();
    (&mut decoder)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| fail(e.to_string()))?;
    let actual = out.len() as u64;
    if actual > limit {
        return Err(Error::LimitExceeded {
            limit: crate::LimitKind::MemberBytes,
            actual,
            max: limit,
        });
    }
    Ok(out)
}

/// A streaming decoder over a run of concatenated zstd frames held in memory (skippable
/// frames are passed over), with the window capped at 2^[`MAX_WINDOW_LOG`] bytes. The
/// decoder fails on a truncated frame, a bad checksum or bytes that are not a frame.
///
/// # Errors
///
/// [`Error::Decompress`] at `offset` if libzstd cannot set up a decoder.
pub fn run_decoder(compressed: &[u8], offset: u64) -> Result<Decoder<'static, &[u8]>> {
    let fail = |e: std::io::Error| Error::Decompress {
        offset,
        reason: format!("setting up a zstd decoder: {e}"),
    };
    let mut decoder = Decoder::with_buffer(compressed).map_err(fail)?;
    decoder.window_log_max(MAX_WINDOW_LOG).map_err(fail)?;
    Ok(decoder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 13) as u8).collect()
    }

    #[test]
    fn reused_encoder_writes_the_same_bytes_as_a_new_one() {
        let (a, b) = (sample(200_000), sample(3000));
        let mut enc = FrameEncoder::new(3).unwrap();
        let first_a = enc.compress(&a).unwrap();
        let first_b = enc.compress(&b).unwrap();
        assert_eq!(enc.compress(&a).unwrap(), first_a);
        assert_eq!(compress_frame(&b, 3).unwrap(), first_b);
        assert_ne!(compress_frame(&a, 19).unwrap(), first_a);
    }

    #[test]
    fn frames_record_size_and_checksum() {
        let data = sample(10_000);
        let frame = compress_frame(&data, 3).unwrap();
        assert_eq!(
            ::zstd::zstd_safe::get_frame_content_size(&frame).unwrap(),
            Some(10_000)
        );
        // Frame header descriptor: bit 2 is the content-checksum flag.
        assert_eq!(frame[4] & 0b100, 0b100);
        let mut bad = frame.clone();
        let n = bad.len();
        bad[n - 1] ^= 1; // the checksum
        assert!(matches!(
            decode_frame(&bad, 20_000),
            Err(Error::Decompress { .. })
        ));
    }

    #[test]
    fn levels_are_checked() {
        assert!(compress_frame(b"x", 0).is_err());
        assert!(compress_frame(b"x", 23).is_err());
        assert!(compress_frame(b"x", 1).is_ok());
    }

    #[test]
    fn decode_limits_truncation_and_trailing_bytes() {
        let frame = compress_frame(&vec![0u8; 1 << 20], 3).unwrap();
        assert!(frame.len() < 1000);
        assert!(matches!(
            decode_frame(&frame, (1 << 20) - 1),
            Err(Error::LimitExceeded {
                actual: 1_048_576,
                ..
            })
        ));
        assert_eq!(decode_frame(&frame, 1 << 20).unwrap().len(), 1 << 20);
        assert!(decode_frame(&frame[..frame.len() - 1], 1 << 20).is_err());
        let mut two = frame.clone();
        two.extend_from_slice(&frame);
        assert!(decode_frame(&two, 2 << 20).is_err());
        assert!(decode_frame(b"not zstd", 10).is_err());
        assert!(decode_frame(b"", 10).is_err());
    }

    #[test]
    fn run_decoder_concatenates_frames_and_skips_skippable_ones() {
        let mut run = compress_frame(b"hello, ", 3).unwrap();
        run.extend_from_slice(&super::super::skippable_frame_header(3));
        run.extend_from_slice(b"abc");
        run.extend(compress_frame(b"world", 1).unwrap());
        let mut out = String::new();
        run_decoder(&run, 0)
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "hello, world");
        // A truncated last frame is an error, not a short read.
        let mut out = Vec::new();
        assert!(
            run_decoder(&run[..run.len() - 2], 0)
                .unwrap()
                .read_to_end(&mut out)
                .is_err()
        );
    }

    #[test]
    fn windows_beyond_the_cap_are_refused() {
        // A frame header asking for a 2^31-byte window (single-segment off, no size):
        // magic, descriptor 0x00, window descriptor (exponent 21 → 2^(10+21)).
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3];
        // A last raw block of 1 byte.
        frame.extend_from_slice(&[0x09, 0x00, 0x00, b'x']);
        assert!(decode_frame(&frame, 10).is_err());
        // The same frame with a small window (exponent 0 → 1 KiB) decodes.
        frame[5] = 0;
        assert_eq!(decode_frame(&frame, 10).unwrap(), b"x");
    }
}
