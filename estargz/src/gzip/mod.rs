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
//! - Levels 1 to 9 use a [`Backend`]: zlib-rs (feature `zlib-rs`, the default), miniz_oxide,
//!   or libdeflate (feature `libdeflate`). Their bytes differ from each other and from Go's.
//!   For a given streaming backend (zlib-rs, miniz_oxide), version and level they depend
//!   only on the input bytes and on where the caller puts [`MemberEncoder::write`] calls
//!   and sync flushes; the encoder feeds each flush segment of a member in one call, so
//!   blobs never depend on how the input was read. libdeflate is one-shot: a member is
//!   always its whole content compressed in one call.
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
mod multi;
mod stored;
mod stream;
#[cfg(feature = "libdeflate")]
mod whole;

use std::fmt;
use std::io::Read;

use crate::error::{Error, Result};
pub use backend::Backend;
use backend::Deflater;
pub(crate) use backend::DeflaterCache;
pub use multi::{DEFAULT_MAX_MEMBERS, MultiMemberDecoder};
use stored::StoredWriter;
use stream::{Flush, StreamDeflater};
#[cfg(feature = "libdeflate")]
use whole::WholeMember;

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

/// The default deflate backend ([`Backend::default`]), with its major version, e.g.
/// `"zlib-rs 0.6"` or `"miniz_oxide 0.9"`.
///
/// Blob bytes at levels 1–9 are deterministic for a given backend (and backend version),
/// level and options, and never depend on the thread count; level 0 never uses a backend
/// and gives Go's bytes.
pub fn deflate_backend() -> &'static str {
    Backend::default().name()
}

/// Size of the gzip header Go writes (no name, comment or extra field).
pub const HEADER_SIZE: usize = 10;
/// Size of the gzip trailer (CRC-32 and ISIZE).
pub const TRAILER_SIZE: usize = 8;

/// Writes one gzip member incrementally, with sync flushes where the caller wants them.
///
/// Compressed bytes accumulate in an internal buffer: take them with
/// [`take_output`](Self::take_output) or get everything at [`finish`](Self::finish).
///
/// With a one-shot backend ([`Backend::is_one_shot`], libdeflate) the member's uncompressed
/// bytes are kept until [`finish`](Self::finish), which compresses them in one call; a sync
/// flush then writes nothing and only measures the bytes written since the previous one
/// (compressed alone), so that [`compressed_len`](Self::compressed_len) is an estimate.
#[derive(Debug)]
pub struct MemberEncoder {
    level: u8,
    backend: Backend,
    body: Body,
    crc: flate2::Crc,
    out: Vec<u8>,
    produced: u64,
}

#[derive(Debug)]
enum Body {
    Stored(StoredWriter),
    Stream(Box<StreamDeflater>),
    #[cfg(feature = "libdeflate")]
    Whole(Box<WholeMember>),
}

impl MemberEncoder {
    /// A member at `level` with the default [`Backend`]; the gzip header is written at once.
    pub fn new(level: Compression) -> Self {
        Self::with_backend(level, Backend::default())
    }

    /// A member at `level` with `backend`; the gzip header is written at once.
    pub fn with_backend(level: Compression, backend: Backend) -> Self {
        Self::with_cache(level, backend, &mut DeflaterCache::default())
    }

    /// A member at `level` with `backend`, reusing the compressor in `cache` if it fits.
    pub(crate) fn with_cache(
        level: Compression,
        backend: Backend,
        cache: &mut DeflaterCache,
    ) -> Self {
        Self::with_cache_into(level, backend, cache, Vec::new())
    }

    /// As [`with_cache`](Self::with_cache), writing the member into `out` (cleared first),
    /// so that a caller can reuse one buffer for many members.
    fn with_cache_into(
        level: Compression,
        backend: Backend,
        cache: &mut DeflaterCache,
        mut out: Vec<u8>,
    ) -> Self {
        let body = if level.level() == 0 {
            Body::Stored(StoredWriter::default())
        } else {
            Body::from_deflater(cache.take(backend, level.level()))
        };
        out.clear();
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level.xfl(), 0xff]);
        Self {
            level: level.level(),
            backend,
            body,
            crc: flate2::Crc::new(),
            out,
            produced: 0,
        }
    }

    /// Compresses `data`. With a streaming backend at levels 1–9 the output depends on how
    /// data is split into calls; at level 0 and with a one-shot backend it does not.
    ///
    /// # Errors
    ///
    /// [`Error::Compress`] if the backend fails.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.crc.update(data);
        match &mut self.body {
            Body::Stored(w) => w.write(data, &mut self.out),
            Body::Stream(d) => d
                .compress(data, Flush::None, &mut self.out)
                .map_err(compress_error)?,
            #[cfg(feature = "libdeflate")]
            Body::Whole(member) => member.write(data),
        }
        Ok(())
    }

    /// Sync-flushes: everything written so far becomes decodable, followed by an empty
    /// non-final stored block (as Go's `Flush`). With a one-shot backend nothing is written:
    /// the bytes written since the last flush are compressed alone to measure them, for
    /// [`compressed_len`](Self::compressed_len).
    ///
    /// # Errors
    ///
    /// [`Error::Compress`] if the backend fails.
    pub fn sync_flush(&mut self) -> Result<()> {
        match &mut self.body {
            Body::Stored(w) => w.sync_flush(&mut self.out),
            Body::Stream(d) => d
                .compress(&[], Flush::Sync, &mut self.out)
                .map_err(compress_error)?,
            #[cfg(feature = "libdeflate")]
            Body::Whole(member) => member.sync_flush().map_err(compress_error)?,
        }
        Ok(())
    }

    /// Compressed bytes produced so far, the gzip header included. With a one-shot backend,
    /// the header plus the estimate made at the last [`sync_flush`](Self::sync_flush).
    pub fn compressed_len(&self) -> u64 {
        let pending = match &self.body {
            Body::Stored(_) | Body::Stream(_) => 0,
            #[cfg(feature = "libdeflate")]
            Body::Whole(member) => member.estimate(),
        };
        self.produced
            .saturating_add(self.out.len() as u64)
            .saturating_add(pending)
    }

    /// Uncompressed bytes written so far.
    pub fn uncompressed_len(&self) -> u64 {
        u64::from(self.crc.amount())
    }

    /// The backend compressing this member (unused at level 0).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the member is gathered and compressed in one call at the end (a one-shot
    /// backend at levels 1–9): it holds its uncompressed bytes, and a sync flush only
    /// measures.
    pub fn is_one_shot(&self) -> bool {
        match self.body {
            Body::Stored(_) | Body::Stream(_) => false,
            #[cfg(feature = "libdeflate")]
            Body::Whole(_) => true,
        }
    }

    /// Removes and returns the compressed bytes produced so far (with a one-shot backend,
    /// only the gzip header until the member is finished).
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
        let deflater = match self.take_body() {
            Body::Stored(mut w) => {
                w.finish(&mut self.out);
                None
            }
            Body::Stream(mut d) => {
                d.compress(&[], Flush::Finish, &mut self.out)
                    .map_err(compress_error)?;
                Some(Deflater::Stream(*d))
            }
            #[cfg(feature = "libdeflate")]
            Body::Whole(member) => Some(Deflater::Whole(
                member.finish(&mut self.out).map_err(compress_error)?,
            )),
        };
        Ok(self.finish_trailer(cache, deflater))
    }

    /// Takes the body out (leaving an empty stored one), to finish it.
    fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::Stored(StoredWriter::default()))
    }

    /// Appends the gzip trailer once the deflate stream has ended, and leaves the
    /// compressor (if any) in `cache`.
    fn finish_trailer(mut self, cache: &mut DeflaterCache, deflater: Option<Deflater>) -> Vec<u8> {
        self.out.extend_from_slice(&self.crc.sum().to_le_bytes());
        self.out.extend_from_slice(&self.crc.amount().to_le_bytes());
        if let Some(deflater) = deflater {
            cache.put(self.backend, self.level, deflater);
        }
        self.out
    }
}

impl Body {
    /// The body of a member at levels 1–9.
    fn from_deflater(deflater: Deflater) -> Self {
        match deflater {
            Deflater::Stream(d) => Self::Stream(Box::new(d)),
            #[cfg(feature = "libdeflate")]
            Deflater::Whole(d) => Self::Whole(Box::new(WholeMember::new(d))),
        }
    }
}

fn compress_error(reason: String) -> Error {
    Error::Compress { reason }
}

/// Compresses `data` into one complete gzip member with the default [`Backend`], feeding it
/// to the backend in one call; with `sync_flush`, the member ends with a sync flush before
/// the final block (the newest reference's layout for members closed before a chunk).
///
/// # Errors
///
/// [`Error::Compress`] if the backend fails.
pub fn compress_member(data: &[u8], level: Compression, sync_flush: bool) -> Result<Vec<u8>> {
    compress_member_with(data, level, Backend::default(), sync_flush)
}

/// As [`compress_member`], with `backend`. A one-shot backend (libdeflate) writes no sync
/// flush: its member is `data` compressed in one call, whatever `sync_flush` says.
///
/// # Errors
///
/// [`Error::Compress`] if the backend fails.
pub fn compress_member_with(
    data: &[u8],
    level: Compression,
    backend: Backend,
    sync_flush: bool,
) -> Result<Vec<u8>> {
    compress_member_with_cache(
        data,
        level,
        backend,
        sync_flush,
        &mut DeflaterCache::default(),
    )
}

/// As [`compress_member_with`], reusing the compressor in `cache`.
pub(crate) fn compress_member_with_cache(
    data: &[u8],
    level: Compression,
    backend: Backend,
    sync_flush: bool,
    cache: &mut DeflaterCache,
) -> Result<Vec<u8>> {
    compress_member_into(data, level, backend, sync_flush, cache, Vec::new())
}

/// As [`compress_member_with_cache`], writing the member into `out` (cleared first) and
/// returning it, so that one buffer can hold many members in turn.
pub(crate) fn compress_member_into(
    data: &[u8],
    level: Compression,
    backend: Backend,
    sync_flush: bool,
    cache: &mut DeflaterCache,
    out: Vec<u8>,
) -> Result<Vec<u8>> {
    let mut enc = MemberEncoder::with_cache_into(level, backend, cache, out);
    if let Body::Stream(_) = enc.body {
        // Room for the whole member up front; the backend appends.
        enc.out.reserve(data.len() / 2 + 64);
    }
    #[cfg(feature = "libdeflate")]
    if enc.is_one_shot()
        && let Body::Whole(member) = enc.take_body()
    {
        // The whole member is at hand: compress it where it lies, not a gathered copy.
        let mut deflater = member.into_deflater();
        enc.crc.update(data);
        deflater
            .compress(data, &mut enc.out)
            .map_err(compress_error)?;
        return Ok(enc.finish_trailer(cache, Some(Deflater::Whole(deflater))));
    }
    enc.write(data)?;
    if sync_flush && !enc.is_one_shot() {
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
            limit: crate::LimitKind::MemberBytes,
            actual,
            max: limit,
        });
    }
    Ok(out)
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
    fn every_backend_and_level_round_trips() {
        let data = sample(300_000);
        for &backend in Backend::available() {
            for level in 0..=9 {
                let level = Compression::new(level).unwrap();
                for sync in [false, true] {
                    let member = compress_member_with(&data, level, backend, sync).unwrap();
                    assert_eq!(member[8], level.xfl());
                    assert_eq!(decode_member(&member, 300_000).unwrap(), data);
                    let mut back = Vec::new();
                    MultiMemberDecoder::new(&member[..])
                        .read_to_end(&mut back)
                        .unwrap();
                    assert_eq!(back, data, "{backend} level {level} sync {sync}");
                }
            }
        }
        assert_eq!(Backend::available()[0], Backend::default());
    }

    /// Backends give different bytes at levels 1-9, the same stored bytes at level 0.
    #[test]
    fn backends_differ_except_at_level_0() {
        let data = sample(100_000);
        let members = |level| -> Vec<Vec<u8>> {
            Backend::available()
                .iter()
                .map(|&b| compress_member_with(&data, level, b, false).unwrap())
                .collect()
        };
        let stored = members(Compression::NONE);
        assert!(stored.iter().all(|m| *m == stored[0]));
        let best = members(Compression::BEST);
        for (i, a) in best.iter().enumerate() {
            for b in &best[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    /// The encoder keeps one compressor per thread; a reset one must write a new one's bytes.
    #[test]
    fn reused_compressor_writes_the_same_bytes() {
        let mut cache = DeflaterCache::default();
        let (a, b) = (sample(100_000), sample(3000));
        let mut runs = Vec::new();
        for &backend in Backend::available() {
            runs.extend([1, 6, 9, 1].map(|level| (backend, level)));
        }
        // Every backend change drops the cached compressor for another.
        runs.extend(Backend::available().iter().map(|&backend| (backend, 6)));
        for (backend, level) in runs {
            let level = Compression::new(level).unwrap();
            let fresh_a = compress_member_with(&a, level, backend, false).unwrap();
            let fresh_b = compress_member_with(&b, level, backend, true).unwrap();
            for _ in 0..2 {
                let reused_a =
                    compress_member_with_cache(&a, level, backend, false, &mut cache).unwrap();
                assert_eq!(reused_a, fresh_a);
                let reused_b =
                    compress_member_with_cache(&b, level, backend, true, &mut cache).unwrap();
                assert_eq!(reused_b, fresh_b);
            }
        }
    }

    /// libdeflate: a member is its whole content compressed in one call, however it was
    /// written and flushed; a sync flush only measures, so the size is an estimate.
    #[cfg(feature = "libdeflate")]
    #[test]
    fn one_shot_members_do_not_depend_on_writes_or_flushes() {
        let data = sample(200_000);
        let level = Compression::new(6).unwrap();
        let whole = compress_member_with(&data, level, Backend::Libdeflate, false).unwrap();
        assert_eq!(
            compress_member_with(&data, level, Backend::Libdeflate, true).unwrap(),
            whole,
            "no sync flush is written"
        );
        let mut enc = MemberEncoder::with_backend(level, Backend::Libdeflate);
        assert!(enc.is_one_shot());
        let mut taken = enc.take_output();
        assert_eq!(taken.len(), HEADER_SIZE);
        let mut estimates = Vec::new();
        for piece in data.chunks(30_001) {
            enc.write(piece).unwrap();
            enc.sync_flush().unwrap();
            assert!(enc.take_output().is_empty(), "nothing before the end");
            estimates.push(enc.compressed_len());
        }
        assert!(estimates.windows(2).all(|w| w[0] < w[1]), "{estimates:?}");
        // Each piece compressed alone: more than the whole member, never less than its body.
        let estimate = *estimates.last().unwrap();
        assert!(
            estimate + TRAILER_SIZE as u64 > whole.len() as u64,
            "{estimate}"
        );
        taken.extend(enc.finish().unwrap());
        assert_eq!(taken, whole);
        assert_eq!(decode_member(&whole, 200_000).unwrap(), data);
        // Level 0 stays Go's stored framing, sync flush included.
        let stored = MemberEncoder::with_backend(Compression::NONE, Backend::Libdeflate);
        assert!(!stored.is_one_shot());
        assert_eq!(
            compress_member_with(&data, Compression::NONE, Backend::Libdeflate, true).unwrap(),
            compress_member(&data, Compression::NONE, true).unwrap()
        );
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
