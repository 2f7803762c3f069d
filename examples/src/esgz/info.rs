//! `esgz info` and `esgz toc`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use estargz::reader::TocOptions;

use crate::output::{TocArg, open_blob};

/// Arguments of `esgz info`.
#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// The blob to inspect.
    blob: PathBuf,
    #[command(flatten)]
    toc: TocArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `esgz toc`.
#[derive(Debug, Args)]
pub(crate) struct TocArgs {
    /// The blob whose TOC to print.
    blob: PathBuf,
    #[command(flatten)]
    toc: TocArg,
}

pub(crate) fn run_info(args: &InfoArgs) -> Result<(), String> {
    let (_file, loaded) = open_blob(&args.blob, &args.toc, &TocOptions::default())?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for entry in &loaded.toc.entries {
        *counts.entry(entry.kind.json_name()).or_default() += 1;
    }
    // An external TOC has no offset in the blob; its size is the TOC blob's.
    let toc_offset = loaded
        .external_toc_size
        .is_none()
        .then_some(loaded.toc_range.start);
    let toc_size = loaded
        .external_toc_size
        .unwrap_or(loaded.toc_range.end - loaded.toc_range.start);
    if args.json {
        let value = serde_json::json!({
            "footer": loaded.footer.kind().short_name(),
            "blob_size": loaded.blob_size,
            "toc_offset": toc_offset,
            "toc_external": loaded.external_toc_size.is_some(),
            "toc_size": toc_size,
            "toc_json_size": loaded.json.len(),
            "toc_digest": loaded.digest.to_string(),
            "entries": loaded.toc.entries.len(),
            "entry_counts": counts,
        });
        println!("{value}");
    } else {
        println!("footer:        {}", loaded.footer.kind());
        println!("blob size:     {}", loaded.blob_size);
        match toc_offset {
            Some(offset) => println!("toc offset:    {offset}"),
            None => println!("toc offset:    external (in the TOC blob)"),
        }
        println!(
            "toc size:      {toc_size} (stored), {} (JSON)",
            loaded.json.len()
        );
        println!("toc digest:    {}", loaded.digest);
        let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "entries:       {} ({})",
            loaded.toc.entries.len(),
            counts.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn run_toc(args: &TocArgs) -> Result<(), String> {
    let (_file, loaded) = open_blob(&args.blob, &args.toc, &TocOptions::default())?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&loaded.json)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("writing the TOC: {e}"))
}
