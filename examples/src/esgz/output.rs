//! Opening inputs and printing results.

use std::fs::File;
use std::path::Path;

use estargz::reader::{LoadedToc, TocOptions, load_toc};

/// Opens a local blob and loads its TOC.
pub(crate) fn open_blob(path: &Path) -> Result<(File, LoadedToc), String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let loaded =
        load_toc(&file, &TocOptions::default()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((file, loaded))
}
