//! `esgz verify`: every chunk, every file and the TOC digest of a local blob.

use std::fs::File;
use std::path::PathBuf;

use clap::Args;
use estargz::reader::ReaderOptions;
use estargz_verifier::Digest;

use crate::output::{TocArg, open_reader};

/// Arguments of `esgz verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The blob to verify.
    blob: PathBuf,
    #[command(flatten)]
    toc: TocArg,
    /// The TOC digest the blob must have (`sha256:...`, the layer annotation
    /// `containerd.io/snapshot/stargz/toc.digest`).
    #[arg(long, value_parser = parse_digest)]
    toc_digest: Option<Digest>,
    /// Print one JSON object: `ok`, `toc_digest`, and `files` (`path`, `size`, `sha256`).
    #[arg(long)]
    json: bool,
}

pub(crate) fn parse_digest(s: &str) -> Result<Digest, String> {
    Digest::parse(s).map_err(|e| e.to_string())
}

pub(crate) fn run_verify(args: &VerifyArgs) -> Result<(), String> {
    let result = verify(args);
    match (&result, args.json) {
        (Ok(value), true) => println!("{value}"),
        (Err(message), true) => {
            println!("{}", serde_json::json!({ "ok": false, "error": message }));
        }
        _ => {}
    }
    result.map(|_| ())
}

fn verify(args: &VerifyArgs) -> Result<serde_json::Value, String> {
    let name = args.blob.display().to_string();
    let file = File::open(&args.blob).map_err(|e| format!("{name}: {e}"))?;
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = args.toc_digest;
    let reader = open_reader(file, &name, &args.toc, options)?;
    let verification = reader.verify_all().map_err(|e| format!("{name}: {e}"))?;
    if !args.json {
        println!(
            "{name}: ok: {} regular files, {} chunks, {} bytes of content; TOC digest {}{}",
            verification.files.len(),
            verification.chunks,
            verification.content_bytes,
            verification.toc_digest,
            if args.toc_digest.is_some() {
                " (as expected)"
            } else {
                " (not checked: no --toc-digest)"
            },
        );
        return Ok(serde_json::Value::Null);
    }
    let files: Vec<serde_json::Value> = verification
        .files
        .iter()
        .map(|f| {
            let digest = f.sha256.to_string();
            serde_json::json!({
                "path": String::from_utf8_lossy(&f.path),
                "size": f.size,
                "sha256": digest.strip_prefix("sha256:").unwrap_or(&digest),
            })
        })
        .collect();
    Ok(serde_json::json!({
        "ok": true,
        "toc_digest": verification.toc_digest.to_string(),
        "toc_digest_checked": args.toc_digest.is_some(),
        "chunks": verification.chunks,
        "content_bytes": verification.content_bytes,
        "files": files,
    }))
}
