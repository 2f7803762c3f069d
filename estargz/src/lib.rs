//! Read and write eStargz blobs: the lazily-pullable container image layer format.
//!
//! This crate will own the tar header codec, gzip member writing and reading, the encoder
//! (tar in, blob out), the lazy verified reader and safe extraction. The table of contents
//! itself lives in [`estargz_toc`], chunk planning in [`estargz_chunker`] and digests in
//! [`estargz_verifier`].
