//! Digests for eStargz blobs (sans-IO).
//!
//! eStargz records sha256 digests everywhere: every regular file's `digest`, every chunk's
//! `chunkDigest`, the TOC digest (published as the layer annotation
//! `containerd.io/snapshot/stargz/toc.digest`), and the layer's DiffID and blob digest. This
//! crate provides:
//!
//! - [`Digest`]: an OCI `sha256:<64 lowercase hex>` digest, parsed as strictly as go-digest,
//!   stored as 32 raw bytes; [`Digest::EMPTY`] and [`Digest::LANDMARK`];
//! - [`Hasher`]: streaming sha256 producing a [`Digest`]; [`toc_digest`];
//! - [`ChunkVerifier`] and [`FileVerifier`]: feed content, then `finish()` checks both size and
//!   digest;
//! - [`DiffIdAccumulator`] and [`BlobDigestAccumulator`]: fed while writing a blob, so the
//!   encoder needs no second pass over its output.
//!
//! # Design
//!
//! Everything takes `&[u8]` and performs no I/O: the hashers and accumulators also implement
//! [`std::io::Write`] for convenience, but never fail. This crate does not know the TOC model;
//! the TOC stores digests as strings, which callers turn into [`Digest`]s with
//! [`Digest::parse`] (or the `parse` constructors of the verifiers). It does not decide *which*
//! chunks to verify; the reader does.
//!
//! Hashing uses the `sha2` crate, which picks SHA-NI or ARMv8 SHA instructions at run time.
//!
//! # Example
//!
//! ```
//! use estargz_verifier::{ChunkVerifier, DiffIdAccumulator, Digest, Error};
//!
//! // What a TOC entry says about a chunk, and the chunk's bytes as decompressed.
//! let chunk_digest = "sha256:dc0e9c3658a1a3ed1ec94274d8b19925c93e1abb7ddba294923ad9bde30f8cb8";
//! let mut v = ChunkVerifier::parse(chunk_digest, 1)?;
//! v.update(&[0x0f]);
//! v.finish()?;
//!
//! // A corrupted chunk is reported with both digests.
//! let mut v = ChunkVerifier::new(Digest::LANDMARK, 1);
//! v.update(&[0x00]);
//! match v.finish() {
//!     Err(Error::Mismatch { expected, actual, .. }) => {
//!         assert_eq!(expected, Digest::LANDMARK);
//!         assert_eq!(actual, Digest::of(&[0x00]));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // While writing: the DiffID over the uncompressed stream.
//! let mut diff_id = DiffIdAccumulator::new();
//! diff_id.update(b"uncompressed tar bytes");
//! let diff_id = diff_id.finish();
//! assert_eq!(diff_id.uncompressed_size, 22);
//! println!("{}", diff_id.digest);
//! # Ok::<(), Error>(())
//! ```

mod accumulate;
mod digest;
mod error;
mod verify;

pub use accumulate::{BlobDigest, BlobDigestAccumulator, DiffId, DiffIdAccumulator};
pub use digest::{Digest, Hasher, toc_digest};
pub use error::{Error, InvalidDigestReason, Subject};
pub use verify::{ChunkVerifier, FileVerifier};
