//! `esgz ls`: the entries of a blob's TOC.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use estargz::reader::ReaderOptions;
use estargz_toc::EntryType;

use crate::output::{TocArg, open_reader};

/// Arguments of `esgz ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// The blob to list.
    blob: PathBuf,
    #[command(flatten)]
    toc: TocArg,
    /// Long listing: type, mode, uid/gid, size, modification time, path, link target.
    #[arg(short = 'l')]
    long: bool,
}

pub(crate) fn run_ls(args: &LsArgs) -> Result<(), String> {
    let name = args.blob.display().to_string();
    let file = File::open(&args.blob).map_err(|e| format!("{name}: {e}"))?;
    let reader = open_reader(file, &name, &args.toc, ReaderOptions::default())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for entry in &reader.toc().entries {
        if entry.kind == EntryType::Chunk {
            continue;
        }
        let cleaned = estargz_toc::path::clean(entry.name.as_bytes());
        if cleaned.is_empty() {
            continue;
        }
        let mut path = String::from_utf8_lossy(&cleaned).into_owned();
        if entry.kind == EntryType::Dir {
            path.push('/');
        }
        let line = if args.long {
            let link = match entry.kind {
                EntryType::Symlink | EntryType::Hardlink => format!(" -> {}", entry.link_name),
                _ => String::new(),
            };
            let size = match entry.kind {
                EntryType::Char | EntryType::Block => {
                    format!("{},{}", entry.dev_major, entry.dev_minor)
                }
                _ => entry.size.to_string(),
            };
            format!(
                "{:<8} {:04o} {}/{} {:>10} {} {path}{link}",
                entry.kind.json_name(),
                entry.mode & 0o7777,
                entry.uid,
                entry.gid,
                size,
                if entry.modtime.is_empty() {
                    "-"
                } else {
                    &entry.modtime
                },
            )
        } else {
            path
        };
        if writeln!(out, "{line}").is_err() {
            // Standard output closed (for example `esgz ls | head`): stop quietly.
            return Ok(());
        }
    }
    // The process exits next: freeing a large TOC entry by entry would only add to the
    // command's run time, so hand the memory back with the process instead.
    std::mem::forget(reader);
    out.flush().or(Ok(()))
}
