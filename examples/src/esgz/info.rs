//! `esgz info` and `esgz toc`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::output::open_blob;

/// Arguments of `esgz info`.
#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// The blob to inspect.
    blob: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `esgz toc`.
#[derive(Debug, Args)]
pub(crate) struct TocArgs {
    /// The blob whose TOC to print.
    blob: PathBuf,
}

pub(crate) fn run_info(args: &InfoArgs) -> Result<(), String> {
    let (_file, loaded) = open_blob(&args.blob)?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for entry in &loaded.toc.entries {
        *counts.entry(entry.kind.json_name()).or_default() += 1;
    }
    let toc_size = loaded.toc_range.end - loaded.toc_range.start;
    if args.json {
        let value = serde_json::json!({
            "footer": loaded.footer.kind().short_name(),
            "blob_size": loaded.blob_size,
            "toc_offset": loaded.toc_range.start,
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
        println!("toc offset:    {}", loaded.toc_range.start);
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
    let (_file, loaded) = open_blob(&args.blob)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&loaded.json)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("writing the TOC: {e}"))
}
