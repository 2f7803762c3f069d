//! The eStargz table of contents: model, Go-compatible JSON, footers and index (sans-IO).
//!
//! An eStargz blob is a gzip (or zstd) stream of tar entries, cut into independently
//! decompressible members, followed by a table of contents (TOC) and a footer that says where
//! the TOC starts. This crate owns everything about the TOC and the footer, and nothing
//! about compression or I/O: every function takes bytes or values and returns values.
//!
//! - [`Toc`] and [`TocEntry`] model every field the reference Go implementation reads or
//!   writes.
//! - [`footer`] parses, emits and detects every footer layout.
//! - [`Limits`] bounds what untrusted input may make this crate allocate.
//!
//! Strings in a TOC are [`GoString`]s: bytes that are usually, but not always, UTF-8,
//! because tar names are bytes.

pub mod error;
pub mod footer;
pub mod index;
pub mod json;
pub mod limits;
pub mod model;
pub mod path;
pub mod time;

pub use error::{Error, FooterMismatch, Result};
pub use footer::{Footer, FooterKind, TarSplitPosition, ZstdTocPosition};
pub use index::{Chunk, Index, Node, NodeId};
pub use limits::{LimitKind, Limits};
pub use model::{EntryType, GoString, Toc, TocEntry};
