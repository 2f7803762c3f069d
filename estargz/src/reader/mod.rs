//! Reading blobs: the TOC first, then verified chunks on demand.

mod toc_load;

pub use toc_load::{LoadedToc, TocOptions, load_toc};
