//! Gzip members as the eStargz reference writes them, with our own framing.
//!
//! An eStargz blob is a sequence of independent gzip members (RFC 1952). This module writes
//! the framing itself, exactly as Go's `compress/gzip` does — the 10-byte header
//! `1f 8b 08 00 00000000 XFL ff` (XFL `02` at level 9, `04` at level 1, `00` otherwise) and
//! the CRC-32/ISIZE trailer — and asks a deflate backend only for raw deflate data.
//!
//! - Level 0 is never given to a backend: [`MemberEncoder`] writes Go's stored-block framing
//!   (non-final blocks of at most 65,535 bytes, an empty final block `01 00 00 ff ff`, and an
//!   empty non-final block `00 00 00 ff ff` at each sync flush), so level-0 members are
//!   byte-identical to Go's.
//! - Levels 1 to 9 use the backend compiled in ([`deflate_backend`]): zlib-rs with the
//!   default feature `zlib-rs`, miniz_oxide without it. Their bytes differ from each other
//!   and from Go's; for a given backend, version and level they depend only on the input
//!   bytes and on where the caller puts [`MemberEncoder::write`] calls and sync flushes.
//!   The encoder feeds each flush segment of a member in one call, so blobs never depend
//!   on how the input was read.
//!
//! Decoding uses flate2: [`decode_member`] (one member, with an output limit) and
//! [`MultiMemberDecoder`] (a whole blob as one stream).
//!
//! ```
//! use estargz::gzip::{Compression, compress_member, decode_member};
//!
//! let member = compress_member(&[7u8; 512], Compression::NONE, false)?;
//! assert_eq!(member.len(), 540); // 10 + (5 + 512) + 5 + 8, as Go writes it
//! assert_eq!(&member[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
//! assert_eq!(decode_member(&member, 1 << 20)?, vec![7u8; 512]);
//! # Ok::<(), estargz::Error>(())
//! ```

mod backend;
mod stored;

use std::fmt;
use std::io::{self, Read};

use crate::error::{Error, Result};
use backend::{Deflater, Flush};
use stored::StoredWriter;

/// A gzip compression level from 0 (stored, no compression) to 9 (best).
///
/// The default is 9, the reference's default (`gzip.BestCompression`).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, PartialOrd, Ord)]
pub struct Compression(u8);

impl Compression {
    /// Level 0: stored blocks, byte-identical to Go's `gzip.NoCompression`.
    pub const NONE: Self = Self(0);
    /// Level 1: fastest.
    pub const FAST: Self = Self(1);
    /// Level 9: best compression (the reference's default).
    pub const BEST: Self = Self(9);

    /// The given level.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `level` is above 9.
    pub fn new(level: u32) -> Result<Self> {
        u8::try_from(level)
            .ok()
            .filter(|l| *l <= 9)
            .map(Self)
            .ok_or_else(|| Error::InvalidArgument(format!("gzip level {level} is not in 0..=9")))
    }

    /// The level, 0 to 9.
    pub fn level(self) -> u8 {
        self.0
    }

    /// The gzip header's XFL byte Go writes for this level.
    pub fn xfl(self) -> u8 {
        match self.0 {
            9 => 2,
            1 => 4,
            _ => 0,
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Self::BEST
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The deflate backend compiled in, with its major version, e.g. `"zlib-rs 0.6"` or
/// `"miniz_oxide 0.9"`.
///
/// Blob bytes at levels 1–9 are deterministic for a given backend (and backend version),
/// level and options, and never depend on the thread count; level 0 never uses a backend
/// and gives Go's bytes.
pub fn deflate_backend() -> &'static str {
    backend::NAME
}

/// Size of the gzip header Go writes (no name, comment or extra field).
pub const HEADER_SIZE: usize = 10;
/// Size of the gzip trailer (CRC-32 and ISIZE).
pub const TRAILER_SIZE: usize = 8;

/// Writes one gzip member incrementally, with sync flushes where the caller wants them.
///
/// Compressed bytes accumulate in an internal buffer: take them with
/// [`take_output`](Self::take_output) or get everything at [`finish`](Self::finish).
#[derive(Debug)]
pub struct MemberEncoder {
    level: u8,
    body: Body,
    crc: flate2::Crc,
    out: Vec<u8>,
    produced: u64,
}

#[derive(Debug)]
enum Body {
    Stored(StoredWriter),
    Deflate(Box<Deflater>),
}

/// A compressor kept from one member to the next, so that its state (hundreds of KiB) is not
/// allocated for every member. A reset compressor writes the same bytes as a new one.
#[derive(Debug, Default)]
pub(crate) struct DeflaterCache(Option<(u8, Box<Deflater>)>);

impl DeflaterCache {
    fn take(&mut self, level: u8) -> Box<Deflater> {
        match self.0.take() {
            Some((cached, mut deflater)) if cached == level => {
                deflater.reset();
                deflater
            }
            _ => Box::new(Deflater::new(level)),
        }
    }
}

impl MemberEncoder {
    /// A member at `level`; the gzip header is written at once.
    pub fn new(level: Compression) -> Self {
        Self::with_cache(level, &mut DeflaterCache::default())
    }

    /// A member at `level`, reusing the compressor in `cache` if there is one.
    pub(crate) fn with_cache(level: Compression, cache: &mut DeflaterCache) -> Self {
        let body = if level.level() == 0 {
            Body::Stored(StoredWriter::default())
        } else {
            Body::Deflate(cache.take(level.level()))
        };
        let mut out = Vec::new();
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level.xfl(), 0xff]);
        Self {
            level: level.level(),
            body,
            crc: flate2::Crc::new(),
            out,
            produced: 0,
        }
    }

    /// Compresses `data`. At levels 1–9 the output depends on how data is split into calls;
    /// at level 0 it does not.
    ///
    /// # Errors
    ///
    /// [`Error::Compress`] if the backend fails.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.crc.update(data);
        match &mut self.body {
            Body::Stored(w) => {
                w.write(data, &mut self.out);
                Ok(())
            }
            Body::Deflate(d) => d
                .compress(data, Flush::None, &mut self.out)
                .map_err(|reason| Error::Compress { reason }),
        }
    }

    /// Sync-flushes: everything written so far becomes decodable, followed by an empty
    /// non-final stored block (as Go's `Flush`).
    ///
    /// # Errors
    ///
    /// [`Error::Compress`] if the backend fails.
    pub fn sync_flush(&mut self) -> Result<()> {
        match &mut self.body {
            Body::Stored(w) => {
                w.sync_flush(&mut self.out);
                Ok(())
            }
            Body::Deflate(d) => d
                .compress(&[], Flush::Sync, &mut self.out)
                .map_err(|reason| Error::Compress { reason }),
        }
    }

    /// Compressed bytes produced so far, the gzip header included.
    pub fn compressed_len(&self) -> u64 {
        self.produced.saturating_add(self.out.len() as u64)
    }

    /// Uncompressed bytes written so far.
    pub fn uncompressed_len(&self) -> u64 {
        u64::from(self.crc.amount())
    }

    /// Removes and returns the compressed bytes produced so far.
    pub fn take_output(&mut self) -> Vec<u8> {
        let out = std::mem::take(&mut self.out);
        self.produced = self.produced.saturating_add(out.len() as u64);
        out
    }

    /// Ends the member (final block and trailer) and returns the compressed bytes not yet
    /// taken.
    ///
    /// # Errors
    ///
    /// [`Error::Compress`] if the backend fails.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.finish_with_cache(&mut DeflaterCache::default())
    }

    /// As [`finish`](Self::finish), leaving the compressor in `cache` for the next member.
    pub(crate) fn finish_with_cache(mut self, cache: &mut DeflaterCache) -> Result<Vec<u8>> {
        match &mut self.body {
            Body::Stored(w) => w.finish(&mut self.out),
            Body::Deflate(d) => d
                .compress(&[], Flush::Finish, &mut self.out)
                .map_err(|reason| Error::Compress { reason })?,
        }
        self.out.extend_from_slice(&self.crc.sum().to_le_bytes());
        self.out.extend_from_slice(&self.crc.amount().to_le_bytes());
        if let Body::Deflate(deflater) = self.body {
            cache.0 = Some((self.level, deflater));
        }
        Ok(self.out)
    }
}

/// Compresses `data` into one complete gzip member, feeding it to the backend in one call;
/// with `sync_flush`, the member ends with a sync flush before the final block (the newest
/// reference's layout for members closed before a chunk).
///
/// # Errors
///
/// [`Error::Compress`] if the backend fails.
pub fn compress_member(data: &[u8], level: Compression, sync_flush: bool) -> Result<Vec<u8>> {
    compress_member_with_cache(data, level, sync_flush, &mut DeflaterCache::default())
}

/// As [`compress_member`], reusing the compressor in `cache`.
pub(crate) fn compress_member_with_cache(
    data: &[u8],
    level: Compression,
    sync_flush: bool,
    cache: &mut DeflaterCache,
) -> Result<Vec<u8>> {
    let mut enc = MemberEncoder::with_cache(level, cache);
    if let Body::Deflate(_) = enc.body {
        // Room for the whole member up front; the backend appends.
        enc.out.reserve(data.len() / 2 + 64);
    }
    enc.write(data)?;
    if sync_flush {
        enc.sync_flush()?;
    }
    enc.finish_with_cache(cache)
}

/// Decodes the single gzip member at the start of `member` and returns its content.
///
/// Bytes after the member are ignored. `limit` bounds the decompressed size.
///
/// # Errors
///
/// [`Error::Decompress`] (offset 0) if the data is not a valid gzip member or its CRC or
/// size do not match; [`Error::LimitExceeded`] if it decompresses to more than `limit`
/// bytes.
pub fn decode_member(member: &[u8], limit: u64) -> Result<Vec<u8>> {
    let decoder = flate2::read::GzDecoder::new(member);
    let mut out = Vec::new();
    decoder
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Decompress {
            offset: 0,
            reason: e.to_string(),
        })?;
    let actual = out.len() as u64;
    if actual > limit {
        return Err(Error::LimitExceeded {
            limit: "decompressed member size",
            actual,
            max: limit,
        });
    }
    Ok(out)
}

/// Decodes a sequence of gzip members (a whole blob, or a `.tar.gz`) as one stream.
///
/// ```
/// use std::io::Read;
/// use estargz::gzip::{Compression, MultiMemberDecoder, compress_member};
///
/// let mut blob = compress_member(b"hello, ", Compression::BEST, false)?;
/// blob.extend(compress_member(b"world", Compression::NONE, true)?);
/// let mut text = String::new();
/// MultiMemberDecoder::new(&blob[..]).read_to_string(&mut text)?;
/// assert_eq!(text, "hello, world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MultiMemberDecoder<R: Read> {
    inner: flate2::read::MultiGzDecoder<R>,
}

impl<R: Read> MultiMemberDecoder<R> {
    /// Decodes the members read from `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            inner: flate2::read::MultiGzDecoder::new(reader),
        }
    }

    /// Returns the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner.into_inner()
    }
}

impl<R: Read> Read for MultiMemberDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Read> fmt::Debug for MultiMemberDecoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiMemberDecoder").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 13) as u8).collect()
    }

    #[test]
    fn levels_are_checked() {
        assert_eq!(Compression::new(0).unwrap(), Compression::NONE);
        assert_eq!(Compression::new(9).unwrap().level(), 9);
        assert!(Compression::new(10).is_err());
        assert_eq!(Compression::default(), Compression::BEST);
        assert_eq!(
            [0, 1, 2, 6, 9].map(|l| Compression::new(l).unwrap().xfl()),
            [0, 4, 0, 0, 2]
        );
    }

    /// Spec 1.3: a 512-byte member is 540 bytes (0.12.0) or 545 bytes (newest, sync-flushed).
    #[test]
    fn level0_golden_sizes_and_tail() {
        let data = sample(512);
        let plain = compress_member(&data, Compression::NONE, false).unwrap();
        assert_eq!(plain.len(), 540);
        assert_eq!(&plain[10..15], &[0, 0, 2, 0xff, 0xfd]);
        assert_eq!(&plain[15..527], &data[..]);
        assert_eq!(&plain[527..532], &[1, 0, 0, 0xff, 0xff]);
        let crc = {
            let mut c = flate2::Crc::new();
            c.update(&data);
            c.sum()
        };
        assert_eq!(&plain[532..536], &crc.to_le_bytes());
        assert_eq!(&plain[536..], &512u32.to_le_bytes());
        let synced = compress_member(&data, Compression::NONE, true).unwrap();
        assert_eq!(synced.len(), 545);
        assert_eq!(
            &synced[527..537],
            &[0, 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff]
        );
        // An empty member: header, final block, trailer.
        assert_eq!(
            compress_member(&[], Compression::NONE, false)
                .unwrap()
                .len(),
            23
        );
    }

    #[test]
    fn every_level_round_trips() {
        let data = sample(300_000);
        for level in 0..=9 {
            let level = Compression::new(level).unwrap();
            for sync in [false, true] {
                let member = compress_member(&data, level, sync).unwrap();
                assert_eq!(member[8], level.xfl());
                assert_eq!(decode_member(&member, 300_000).unwrap(), data);
                let mut back = Vec::new();
                MultiMemberDecoder::new(&member[..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back, data);
            }
        }
    }

    /// The encoder keeps one compressor per thread; a reset one must write a new one's bytes.
    #[test]
    fn reused_compressor_writes_the_same_bytes() {
        let mut cache = DeflaterCache::default();
        let (a, b) = (sample(100_000), sample(3000));
        for level in [1, 6, 9, 1] {
            let level = Compression::new(level).unwrap();
            let fresh_a = compress_member(&a, level, false).unwrap();
            let fresh_b = compress_member(&b, level, true).unwrap();
            for _ in 0..2 {
                let reused_a = compress_member_with_cache(&a, level, false, &mut cache).unwrap();
                assert_eq!(reused_a, fresh_a);
                let reused_b = compress_member_with_cache(&b, level, true, &mut cache).unwrap();
                assert_eq!(reused_b, fresh_b);
            }
        }
    }

    #[test]
    fn sync_flush_mid_member_decodes() {
        let mut enc = MemberEncoder::new(Compression::BEST);
        enc.write(b"abc").unwrap();
        enc.sync_flush().unwrap();
        let first = enc.take_output();
        // After a sync flush, everything so far decodes as a prefix.
        assert!(first.ends_with(&[0, 0, 0xff, 0xff]));
        enc.write(b"def").unwrap();
        assert_eq!(enc.uncompressed_len(), 6);
        let total = enc.compressed_len();
        let mut member = first;
        member.extend(enc.finish().unwrap());
        assert!(member.len() as u64 > total - 1);
        assert_eq!(decode_member(&member, 6).unwrap(), b"abcdef");
    }

    #[test]
    fn decode_limits_and_errors() {
        let member = compress_member(&sample(1000), Compression::FAST, false).unwrap();
        assert!(matches!(
            decode_member(&member, 999),
            Err(Error::LimitExceeded { actual: 1000, .. })
        ));
        let mut bad = member.clone();
        let n = bad.len();
        bad[n - 5] ^= 1; // ISIZE
        assert!(matches!(
            decode_member(&bad, 10_000),
            Err(Error::Decompress { .. })
        ));
        assert!(decode_member(b"not gzip", 10).is_err());
    }

    #[test]
    fn backend_is_reported() {
        assert!(!deflate_backend().is_empty());
    }
}
