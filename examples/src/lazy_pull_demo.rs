//! `lazy-pull-demo`: lazy pulling end to end, with nothing outside this process.
//!
//! 1. Builds a sample layer (a tar of a few hundred files, about 11 MB) and converts it to
//!    eStargz with [`estargz::Encoder`].
//! 2. Serves the blob from an in-process loopback registry (the origin) and from a
//!    deliberately flaky mirror in front of it, both [`estargz_mirror::testing::Server`]s.
//! 3. Opens the blob through [`estargz_mirror::RangeReader`] (mirror first, origin as the
//!    fallback) with [`estargz::reader::Reader`], which checks the TOC against its digest
//!    and every chunk against its `chunkDigest` before returning a byte.
//! 4. Reads a few files (one of them only partly), and prints what was fetched from each
//!    endpoint against the size of the blob.
//!
//! Run it with `cargo run --release -p estargz-examples --bin lazy-pull-demo`.

use std::process::ExitCode;
use std::sync::Arc;

use estargz::reader::{Reader, ReaderOptions};
use estargz::tar::{TarHeader, encode_end_of_archive, encode_header, padding};
use estargz::{Compression, Encoder};
use estargz_mirror::testing::{Behaviour, Log, Server};
use estargz_mirror::{Endpoint, MirrorConfig, RangeReader};
use estargz_verifier::Digest;

/// The repository the sample layer is served under.
const REPO: &str = "demo/sample";
/// Chunk size of the sample blob: small, so that a lazy read fetches little.
const CHUNK_SIZE: u64 = 256 << 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lazy-pull-demo: {message}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), String> {
    let (tar, files) = sample_layer()?;
    let mut blob = Vec::new();
    let encoded = Encoder::builder()
        .level(Compression::new(6).map_err(|e| e.to_string())?)
        .chunk_size(CHUNK_SIZE)
        .prioritized(["etc/os-release"])
        .build()
        .and_then(|encoder| encoder.encode_tar(&tar, &mut blob))
        .map_err(|e| format!("converting the sample layer: {e}"))?;
    println!(
        "sample layer: {files} files, {} bytes of tar -> eStargz blob of {} bytes",
        tar.len(),
        blob.len()
    );
    println!("  blob {}", encoded.blob_digest);
    println!("  toc  {}", encoded.toc_digest);

    let blob = Arc::new(blob);
    let digest = encoded.blob_digest.to_string();
    let log = Log::new();
    let served = vec![(digest.clone(), Arc::clone(&blob))];
    let origin = Server::start_registry("origin", served.clone(), &log, Behaviour::Honour)
        .map_err(|e| format!("starting the origin registry: {e}"))?;
    // Every third request to the mirror fails: 404, as a mirror that lost the blob answers;
    // that request falls back to the origin.
    let flaky = Behaviour::flaky(3, Behaviour::Status(404));
    let mirror = Server::start_registry("mirror", served, &log, flaky)
        .map_err(|e| format!("starting the mirror: {e}"))?;
    println!("origin registry {} (in process)", origin.url());
    println!(
        "mirror          {} (answers every 3rd request with 404)",
        mirror.url()
    );

    let endpoint = |url: String| Endpoint::new(&url).map_err(|e| format!("{url}: {e}"));
    let mut config = MirrorConfig::new(origin.authority(), endpoint(origin.url())?);
    config.mirrors.push(endpoint(mirror.url())?);
    let source = RangeReader::new(config, REPO, &digest, Some(blob.len() as u64))
        .map_err(|e| format!("setting up the range reader: {e}"))?;

    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(encoded.toc_digest);
    let reader = Reader::open(&source, options).map_err(|e| format!("opening the blob: {e}"))?;
    println!(
        "opened the blob lazily: TOC of {} entries, digest checked",
        reader.toc().entries.len()
    );

    for path in [
        "etc/os-release",
        "usr/share/doc/app/README",
        "usr/lib/app/data-007.bin",
    ] {
        let content = reader
            .open_file(path)
            .and_then(|file| file.read_to_vec())
            .map_err(|e| format!("reading {path}: {e}"))?;
        println!(
            "read {path}: {} bytes, {} (every chunk verified)",
            content.len(),
            Digest::of(&content)
        );
    }
    let tool = reader
        .open_file("usr/bin/tool")
        .map_err(|e| format!("opening usr/bin/tool: {e}"))?;
    let mut window = vec![0; 64 << 10];
    let offset = tool.size() / 2;
    tool.read_at(offset, &mut window)
        .map_err(|e| format!("reading usr/bin/tool at {offset}: {e}"))?;
    println!(
        "read usr/bin/tool: 64 KiB at offset {offset} of {} bytes",
        tool.size()
    );

    let metrics = source.metrics();
    for endpoint in &metrics.endpoints {
        let role = if endpoint.endpoint.contains(&mirror.authority()) {
            "mirror"
        } else {
            "origin"
        };
        println!(
            "{role} {}: {} requests, {} bytes received, {} failures, {} fallbacks, {} retries",
            endpoint.endpoint,
            endpoint.requests,
            endpoint.bytes_received,
            endpoint.failures,
            endpoint.fallbacks,
            endpoint.retries
        );
    }
    let received = metrics.total_bytes_received();
    println!(
        "fetched {received} of {} blob bytes ({:.1}%) in {} requests; {} bytes delivered to the reader",
        blob.len(),
        100.0 * received as f64 / blob.len() as f64,
        metrics.total_requests(),
        metrics.bytes_delivered
    );
    Ok(())
}

/// A deterministic sample layer: configuration, a 3 MiB binary, documentation, data files
/// and a few hundred small locale files. Returns the tar and its number of files.
fn sample_layer() -> Result<(Vec<u8>, usize), String> {
    let mut tar = Vec::new();
    let mut files = 0;
    let add_dir = |tar: &mut Vec<u8>, name: &str| {
        let mut header = TarHeader::new(b'5', format!("{name}/").into_bytes());
        header.mode = 0o755;
        push(tar, &header, &[])
    };
    for dir in [
        "etc",
        "usr",
        "usr/bin",
        "usr/lib",
        "usr/lib/app",
        "usr/share",
        "usr/share/doc",
        "usr/share/doc/app",
        "usr/share/locale",
    ] {
        add_dir(&mut tar, dir)?;
    }
    let mut add_file = |tar: &mut Vec<u8>, name: &str, content: &[u8], mode: i64| {
        let mut header = TarHeader::new(b'0', name.as_bytes().to_vec());
        header.mode = mode;
        header.size = content.len() as i64;
        files += 1;
        push(tar, &header, content)
    };
    add_file(
        &mut tar,
        "etc/os-release",
        b"NAME=\"Sample\"\nVERSION_ID=\"1\"\n",
        0o644,
    )?;
    add_file(&mut tar, "usr/bin/tool", &bytes(3 << 20, 1, false), 0o755)?;
    add_file(
        &mut tar,
        "usr/share/doc/app/README",
        &bytes(48 << 10, 2, true),
        0o644,
    )?;
    for i in 0..40 {
        let name = format!("usr/lib/app/data-{i:03}.bin");
        add_file(
            &mut tar,
            &name,
            &bytes(180 << 10, 10 + i, i % 2 == 0),
            0o644,
        )?;
    }
    for i in 0..300 {
        let name = format!("usr/share/locale/messages-{i:03}.txt");
        add_file(
            &mut tar,
            &name,
            &bytes(200 + 37 * i as usize, 100 + i, true),
            0o644,
        )?;
    }
    encode_end_of_archive(&mut tar);
    Ok((tar, files))
}

fn push(tar: &mut Vec<u8>, header: &TarHeader, content: &[u8]) -> Result<(), String> {
    encode_header(header, tar).map_err(|e| format!("sample tar header: {e}"))?;
    tar.extend_from_slice(content);
    tar.resize(tar.len() + padding(content.len() as u64) as usize, 0);
    Ok(())
}

/// Deterministic content: words (compressible) or noise (not), from a small xorshift.
fn bytes(len: usize, seed: u32, text: bool) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "lazy ", "pull ", "chunk ", "mirror ", "verify ", "layer ", "gzip ", "toc\n",
    ];
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        if text {
            out.extend_from_slice(WORDS[(next() % 8) as usize].as_bytes());
        } else {
            out.extend_from_slice(&next().to_le_bytes());
        }
    }
    out.truncate(len);
    out
}
