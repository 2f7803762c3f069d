//! Opening inputs and printing results.

use std::fs::File;
use std::path::{Path, PathBuf};

use clap::Args;
use estargz::reader::{LoadedToc, Reader, ReaderOptions, TocOptions, load_external_toc, load_toc};
use estargz::{Error, ReadAt};

/// `--toc TOCBLOB`, shared by the commands that read a blob.
#[derive(Debug, Args)]
pub(crate) struct TocArg {
    /// The separate TOC blob of an external-TOC blob (as `convert --external-toc` writes
    /// it); the blob's footer must say its TOC is external.
    #[arg(long = "toc", value_name = "TOCBLOB")]
    pub(crate) toc_blob: Option<PathBuf>,
}

impl TocArg {
    /// The TOC blob, opened.
    fn open(&self) -> Result<Option<File>, String> {
        self.toc_blob
            .as_ref()
            .map(|path| File::open(path).map_err(|e| format!("{}: {e}", path.display())))
            .transpose()
    }
}

/// The message for a failure to open the blob `name`.
pub(crate) fn open_error(name: &str, e: &Error) -> String {
    match e {
        Error::TocIsExternal => format!("{name}: {e} (pass it with --toc TOCBLOB)"),
        _ => format!("{name}: {e}"),
    }
}

/// Opens a local blob and loads its TOC (from `toc`'s TOC blob when given).
pub(crate) fn open_blob(
    path: &Path,
    toc: &TocArg,
    options: &TocOptions,
) -> Result<(File, LoadedToc), String> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let loaded = match toc.open()? {
        Some(toc_blob) => load_external_toc(&file, &toc_blob, options),
        None => load_toc(&file, options),
    }
    .map_err(|e| open_error(&name, &e))?;
    Ok((file, loaded))
}

/// Opens `source` (named `name` in messages) for reading, with its TOC from `toc`'s TOC
/// blob when given.
pub(crate) fn open_reader<R: ReadAt>(
    source: R,
    name: &str,
    toc: &TocArg,
    options: ReaderOptions,
) -> Result<Reader<R>, String> {
    match toc.open()? {
        Some(toc_blob) => Reader::open_with_external_toc(source, &toc_blob, options),
        None => Reader::open(source, options),
    }
    .map_err(|e| open_error(name, &e))
}
