//! Reading blobs: the TOC first, then verified chunks on demand.
//!
//! - [`load_toc`] reads only the footer and the TOC; [`load_external_toc`] does the same
//!   for a blob whose TOC is stored in a separate blob (the external-TOC variant).
//! - [`Reader`] opens a blob for lazy, verified reads: lookups through its
//!   [`Index`](estargz_toc::Index), random-access file reads ([`FileReader`], with a
//!   `Read + Seek` adapter [`FileCursor`]), read planning ([`Reader::plan_files`],
//!   [`Reader::prefetch_range`]) and batched fetching ([`Reader::prefetch`],
//!   [`Reader::fetch_files`]), whole-blob verification ([`Reader::verify_all`]) and
//!   unpacking to a plain tar stream ([`Reader::unpack_to_tar`]).
//!
//! Every byte of file content is checked against the TOC's digests before it is returned,
//! unless [`ReaderOptions::verify_chunks`] is turned off.

mod blob;
mod cache;
mod codec;
mod decode;
mod file;
mod layout;
mod options;
mod plan;
mod tar_check;
mod toc_load;
mod unpack;
mod verify;
mod walk;

pub use blob::{ReadStats, Reader};
pub use file::{FileCursor, FileReader};
pub use options::ReaderOptions;
pub use plan::{FetchSummary, merge};
pub use toc_load::{LoadedToc, TocOptions, load_external_toc, load_toc};
pub use verify::{Verification, VerifiedFile};
