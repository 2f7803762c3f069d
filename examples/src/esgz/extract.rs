//! `esgz extract`: write a local blob's tree to a directory, every file verified.

use std::fs::File;
use std::path::PathBuf;

use clap::Args;
use estargz::extract::ExtractOptions;
use estargz::reader::ReaderOptions;
use estargz_verifier::Digest;

use crate::output::{TocArg, open_reader};
use crate::verify::parse_digest;

/// Arguments of `esgz extract`.
#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    /// The blob to extract.
    blob: PathBuf,
    /// The directory to extract into (created if missing).
    dir: PathBuf,
    #[command(flatten)]
    toc: TocArg,
    /// The TOC digest the blob must have (`sha256:...`).
    #[arg(long, value_parser = parse_digest)]
    toc_digest: Option<Digest>,
}

pub(crate) fn run_extract(args: &ExtractArgs) -> Result<(), String> {
    let name = args.blob.display().to_string();
    let file = File::open(&args.blob).map_err(|e| format!("{name}: {e}"))?;
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = args.toc_digest;
    let reader = open_reader(file, &name, &args.toc, options)?;
    let report = reader
        .extract_to(&args.dir, &ExtractOptions::default())
        .map_err(|e| format!("{name}: {e}"))?;
    for skipped in &report.skipped {
        eprintln!("esgz: skipped: {skipped}");
    }
    println!(
        "{name}: extracted to {}: {} directories, {} files ({} bytes), {} symlinks, {} hardlinks, \
         {} special files, {} skipped",
        args.dir.display(),
        report.directories,
        report.files,
        report.bytes,
        report.symlinks,
        report.hardlinks,
        report.specials,
        report.skipped.len(),
    );
    Ok(())
}
