//! Read and write eStargz blobs: the lazily-pullable container image layer format.
//!
//! This crate owns the tar header codec ([`tar`]), positioned reads of blobs ([`ReadAt`]),
//! and reading blobs ([`reader`]). The encoder, the verified chunk reader and extraction
//! land next. The table of contents itself lives in [`estargz_toc`], chunk planning in
//! [`estargz_chunker`] and digests in [`estargz_verifier`].

pub mod error;
pub mod reader;
pub mod source;
pub mod tar;

pub use error::{Error, Result};
pub use source::ReadAt;
