//! Digests for eStargz blobs (sans-IO).
//!
//! This crate will own, as the encoder and reader land: a `Digest` type (`sha256:` followed
//! by 64 lowercase hex digits), streaming hashers, chunk and file verification against the
//! table of contents, the TOC digest, and DiffID and blob digests accumulated while writing.
//!
//! It performs no I/O.
