//! `esgz convert`: a tar or tar.gz to an eStargz or zstd:chunked blob.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{Args, ValueEnum};
use estargz::encoder::{Encoded, Encoder, Format as BlobFormat, Layout, TocPlacement};
use estargz::gzip::{Backend, Compression};

/// The output format.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub(crate) enum Format {
    /// gzip eStargz (the default).
    Estargz,
    /// zstd:chunked in the reference's layout (needs the `zstd` feature, on by default).
    ZstdChunked,
    /// zstd:chunked in current containers/storage's layout: the tar kept as is (no
    /// reordering, no landmark, no --prioritized), content-defined chunks (no
    /// --chunk-size), its manifest, tar-split data, 72-byte footer and
    /// `io.github.containers.zstd-chunked.*` annotations.
    ZstdChunkedV2,
}

impl Format {
    fn blob_format(self) -> BlobFormat {
        match self {
            Self::Estargz => BlobFormat::Gzip,
            Self::ZstdChunked => BlobFormat::ZstdChunked,
            Self::ZstdChunkedV2 => BlobFormat::ZstdChunkedV2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Estargz => "estargz",
            Self::ZstdChunked => "zstd-chunked",
            Self::ZstdChunkedV2 => "zstd-chunked-v2",
        }
    }
}

/// The deflate implementation for gzip levels 1 to 9.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
pub(crate) enum Deflate {
    /// libdeflate (the default): the fastest and smallest at a given level; each member is
    /// compressed in one call.
    Libdeflate,
    /// zlib-rs (a Rust port of zlib-ng), streaming.
    ZlibRs,
    /// miniz_oxide (safe Rust), streaming; the slowest.
    Miniz,
}

/// The gzip level without `--level` for libdeflate: its level 6 makes blobs no larger than
/// zlib-rs's (and the reference's) level 9, several times faster (scripts/bench-convert.sh).
const LIBDEFLATE_DEFAULT_LEVEL: u32 = 6;

impl Deflate {
    fn backend(self) -> Backend {
        match self {
            Self::Libdeflate => Backend::Libdeflate,
            Self::ZlibRs => Backend::ZlibRs,
            Self::Miniz => Backend::Miniz,
        }
    }

    /// The gzip level used without `--level`.
    fn default_level(self) -> u32 {
        match self {
            Self::Libdeflate => LIBDEFLATE_DEFAULT_LEVEL,
            Self::ZlibRs | Self::Miniz => 9,
        }
    }
}

/// Arguments of `esgz convert`.
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The input: a tar, a tar.gz, or `-` for standard input.
    input: String,
    /// The blob to write (atomically: a temporary file in the same directory, renamed).
    output: PathBuf,
    /// Compression level. Gzip: 0 (stored, byte-identical to the reference) to 9 (best);
    /// levels 1-9 are the deflate backend's own levels 1-9. Default: 6 with libdeflate (a
    /// blob no larger than the reference's level 9, much faster), 9 with zlib-rs or miniz.
    /// zstd:chunked: the zstd level 1 to 9, or 0 for zstd's default (3, also the default
    /// without --level).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=9))]
    level: Option<u32>,
    /// The deflate implementation for gzip levels 1-9 (each gives different bytes; blobs are
    /// deterministic for a given one, level and options, whatever the thread count).
    #[arg(long, value_enum, default_value_t = Deflate::Libdeflate)]
    deflate: Deflate,
    /// Chunk size in bytes.
    #[arg(long, default_value_t = estargz::encoder::DEFAULT_CHUNK_SIZE,
          value_parser = clap::value_parser!(u64).range(1..))]
    chunk_size: u64,
    /// Minimum compressed member size before a chunk starts a new member (non-zero values
    /// use the newest reference's layout and write innerOffsets; encodes on one thread).
    #[arg(long, default_value_t = 0)]
    min_chunk_size: u64,
    /// Prioritized files, comma-separated, in order.
    #[arg(long, value_delimiter = ',')]
    prioritized: Vec<String>,
    /// A file listing prioritized files, one per line (after those of --prioritized).
    #[arg(long)]
    prioritized_file: Option<PathBuf>,
    /// Compression threads (default: the available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Estargz)]
    format: Format,
    /// Store the TOC in a separate blob, written (atomically, before OUT) to TOCOUT; OUT
    /// then ends with the 46-byte external-TOC footer. eStargz (gzip) only; read such a
    /// blob with `--toc TOCOUT`.
    #[arg(long, value_name = "TOCOUT")]
    external_toc: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_convert(args: &ConvertArgs) -> Result<(), String> {
    // The encoder's member buffers are large and reused: with transparent huge pages the
    // allocator backs them with partly touched 2 MiB pages, which nearly doubled the peak
    // resident memory. Other commands keep huge pages (they speed up opening a large TOC).
    // Best effort: a kernel without the setting just keeps its default.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let mut prioritized = args.prioritized.clone();
    if let Some(path) = &args.prioritized_file {
        prioritized.extend(read_list(path)?);
    }
    let mut builder = Encoder::builder().format(args.format.blob_format());
    builder = match (args.format, args.level) {
        (Format::Estargz, level) => {
            let level = level.unwrap_or_else(|| args.deflate.default_level());
            let level = Compression::new(level).map_err(|e| e.to_string())?;
            builder.level(level).backend(args.deflate.backend())
        }
        (Format::ZstdChunked | Format::ZstdChunkedV2, None | Some(0)) => {
            builder.zstd_level(estargz::zstd::DEFAULT_LEVEL)
        }
        (Format::ZstdChunked | Format::ZstdChunkedV2, Some(level)) => {
            builder.zstd_level(i32::try_from(level).map_err(|e| e.to_string())?)
        }
    };
    let mut builder = builder
        .chunk_size(args.chunk_size)
        .min_chunk_size(args.min_chunk_size)
        .prioritized(&prioritized);
    if args.min_chunk_size > 0 {
        builder = builder.layout(Layout::Newest);
    }
    if let Some(threads) = args.threads {
        builder = builder.threads(usize::try_from(threads).unwrap_or(usize::MAX));
    }
    if let Some(toc_out) = &args.external_toc {
        check_external_toc(args, toc_out);
        builder = builder.toc_placement(TocPlacement::External);
    }
    let encoder = builder.build().map_err(|e| e.to_string())?;

    let name = if args.input == "-" {
        "standard input"
    } else {
        args.input.as_str()
    };
    let progress = Progress::new();
    let encoded = write_atomically(&args.output, |out| {
        let out = Counting {
            inner: out,
            progress: &progress,
        };
        let result = if args.input == "-" {
            encoder.encode(std::io::stdin().lock(), out)
        } else {
            let file = File::open(&args.input).map_err(|e| format!("{name}: {e}"))?;
            encoder.encode_read_at(&file, out)
        };
        let encoded = result.map_err(|e| format!("converting {name}: {e}"))?;
        // The TOC blob goes into place first: the blob never exists without its TOC.
        if let (Some(path), Some(toc)) = (&args.external_toc, &encoded.external_toc) {
            write_atomically(path, |out| {
                out.write_all(&toc.bytes)
                    .map_err(|e| format!("writing {}: {e}", path.display()))
            })?;
        }
        Ok(encoded)
    });
    progress.finish();
    let encoded = encoded?;
    print(&encoded, args, encoder.options().level);
    Ok(())
}

/// Exits with a usage error (2) when `--external-toc` cannot apply: with zstd:chunked, or
/// naming the blob's own output.
fn check_external_toc(args: &ConvertArgs, toc_out: &Path) {
    let conflict = if args.format != Format::Estargz {
        "--external-toc needs --format estargz (the external-TOC variant is gzip only)"
    } else if toc_out == args.output {
        "--external-toc must name a different file than OUT"
    } else {
        return;
    };
    clap::Error::raw(ErrorKind::ArgumentConflict, format!("{conflict}\n")).exit();
}

/// Reads a list of names, one per line; blank lines are skipped.
fn read_list(path: &Path) -> Result<Vec<String>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        let line = line.trim_end_matches('\r');
        if !line.is_empty() {
            names.push(line.to_owned());
        }
    }
    Ok(names)
}

/// Runs `write` into a temporary file next to `path`, syncs it and renames it to `path`;
/// on any error the temporary file is removed and `path` is left alone.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> Result<T, String>,
) -> Result<T, String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".esgz-convert-")
        .tempfile_in(dir)
        .map_err(|e| format!("creating a temporary file in {}: {e}", dir.display()))?;
    let value = {
        let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file());
        let value = write(&mut out)?;
        out.flush()
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        value
    };
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("syncing {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("renaming into {}: {}", path.display(), e.error))?;
    Ok(value)
}

fn print(encoded: &Encoded, args: &ConvertArgs, level: Compression) {
    let format = args.format;
    let annotations: serde_json::Map<String, serde_json::Value> = encoded
        .annotations()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
        .collect();
    if args.json {
        let mut value = serde_json::json!({
            "format": format.name(),
            "toc_digest": encoded.toc_digest.to_string(),
            "diff_id": encoded.diff_id.to_string(),
            "uncompressed_size": encoded.uncompressed_size,
            "blob_size": encoded.blob_size,
            "blob_digest": encoded.blob_digest.to_string(),
            "toc_offset": encoded.toc_offset,
            "toc_entries": encoded.toc_entries,
            "deflate_backend": deflate_name(args, level),
            "annotations": annotations,
        });
        if let Some(toc) = &encoded.external_toc {
            let toc_annotations: serde_json::Map<String, serde_json::Value> = toc
                .annotations(&encoded.blob_digest)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
                .collect();
            value["toc_blob_digest"] = toc.digest.to_string().into();
            value["toc_blob_size"] = toc.size.into();
            value["toc_blob_annotations"] = toc_annotations.into();
        }
        println!("{value}");
    } else {
        println!("format:            {}", format.name());
        println!("toc digest:        {}", encoded.toc_digest);
        println!("diff id:           {}", encoded.diff_id);
        println!("uncompressed size: {}", encoded.uncompressed_size);
        println!("blob digest:       {}", encoded.blob_digest);
        println!("blob size:         {}", encoded.blob_size);
        if let Some(toc) = &encoded.external_toc {
            println!("toc blob digest:   {}", toc.digest);
            println!("toc blob size:     {}", toc.size);
        }
    }
}

/// What compressed the payload: the deflate backend, or none (stored blocks, zstd).
fn deflate_name(args: &ConvertArgs, level: Compression) -> Option<&'static str> {
    (args.format == Format::Estargz && level != Compression::NONE)
        .then(|| args.deflate.backend().name())
}

/// A spinner on standard error showing the blob bytes written, when it is a terminal.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} converting: {bytes} written ({bytes_per_sec}, {elapsed})",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self(Some(bar))
    }

    fn add(&self, bytes: usize) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes as u64);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A writer that reports what passes through it to a [`Progress`].
struct Counting<'a, W> {
    inner: W,
    progress: &'a Progress,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.add(n);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_writes_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("out.blob");
        let err = write_atomically(&path, |out| {
            out.write_all(b"partial").map_err(|e| e.to_string())?;
            Err::<(), _>("boom".to_owned())
        });
        assert_eq!(err, Err("boom".to_owned()));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        write_atomically(&path, |out| {
            out.write_all(b"done").map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).ok(), Some(b"done".to_vec()));
    }
}
