//! Read and write eStargz blobs: the lazily-pullable container image layer format.
//!
//! This crate owns the tar header codec ([`tar`]), positioned reads of blobs ([`ReadAt`]),
//! reading blobs lazily with every byte verified ([`reader`]: random-access file reads,
//! read planning and batched prefetch, whole-blob verification, unpacking to tar), and
//! extracting them safely to a directory ([`extract`]). The table of contents itself
//! lives in [`estargz_toc`], chunk planning in [`estargz_chunker`] and digests in
//! [`estargz_verifier`].
//!
//! Writing: [`gzip`] writes gzip members with Go's framing (and level-0 stored blocks
//! byte-identical to Go's); [`encoder`] converts a tar or tar.gz into an eStargz blob, in
//! parallel, with output that never depends on the thread count.
//!
//! # Crate features
//!
//! - `zlib-rs` (default): compress with zlib-rs (safe Rust) and decode through flate2's
//!   zlib-rs backend. Without it, miniz_oxide compresses (smaller build, slower, different
//!   bytes at levels 1–9). [`deflate_backend`] names the default backend.
//! - `libdeflate`: [`gzip::Backend`]`::Libdeflate`, chosen with
//!   [`EncoderBuilder::backend`](encoder::EncoderBuilder::backend): libdeflate (C, built with
//!   `cc`) compresses each member whole, several times faster than zlib-rs at equal size.
//! - `zstd`: zstd:chunked blobs ([`zstd`], [`Format::ZstdChunked`]): write them, and read
//!   them with the same reader (C libzstd, built with `cc`). Without it, such blobs are
//!   refused with [`Error::FeatureDisabled`].

pub mod encoder;
pub mod error;
pub mod extract;
pub mod gzip;
pub mod reader;
pub mod source;
pub mod tar;
pub mod zstd;

pub use encoder::{Encoded, Encoder, EncoderOptions, Format, Layout, TocPlacement};
pub use error::{Error, LimitKind, Result};
pub use gzip::{Compression, deflate_backend};
pub use source::ReadAt;
