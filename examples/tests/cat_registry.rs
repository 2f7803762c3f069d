//! `esgz cat` on remote sources: a blob built here, served by an in-process loopback origin
//! registry and a flaky mirror in front of it, read through `REGISTRY/REPO@DIGEST` with
//! `--mirror` or `--config`, with `--stats`; and the failures (wrong TOC digest, no
//! registry) exit with 1 and a message.

use std::net::TcpListener;
use std::process::Output;
use std::sync::Arc;

use estargz::tar::{TarHeader, encode_end_of_archive, encode_header, padding};
use estargz::{Compression, Encoder};
use estargz_mirror::testing::{Behaviour, Log, Server};

mod common;
use common::esgz;

const REPO: &str = "demo/repo";
const SMALL: &str = "etc/hello.txt";
const SMALL_CONTENT: &[u8] = b"hello from a lazily pulled layer\n";

struct Fixture {
    blob: Arc<Vec<u8>>,
    blob_digest: String,
    toc_digest: String,
    origin: Server,
    mirror: Server,
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn add(tar: &mut Vec<u8>, name: &str, content: &[u8]) {
    let mut header = TarHeader::new(b'0', name.as_bytes().to_vec());
    header.mode = 0o644;
    header.size = content.len() as i64;
    encode_header(&header, tar).expect("a tar header");
    tar.extend_from_slice(content);
    tar.resize(tar.len() + padding(content.len() as u64) as usize, 0);
}

fn fixture() -> Fixture {
    let mut tar = Vec::new();
    let mut dir = TarHeader::new(b'5', b"etc/".to_vec());
    dir.mode = 0o755;
    encode_header(&dir, &mut tar).expect("a tar header");
    add(&mut tar, SMALL, SMALL_CONTENT);
    add(&mut tar, "usr/lib/big-1.bin", &noise(600 << 10, 7));
    add(&mut tar, "usr/lib/big-2.bin", &noise(600 << 10, 11));
    encode_end_of_archive(&mut tar);
    let mut blob = Vec::new();
    let encoded = Encoder::builder()
        .level(Compression::new(6).expect("level 6"))
        .chunk_size(64 << 10)
        .build()
        .and_then(|encoder| encoder.encode_tar(&tar, &mut blob))
        .expect("encoding the test layer");
    let blob = Arc::new(blob);
    let blob_digest = encoded.blob_digest.to_string();
    let log = Log::new();
    let served = vec![(blob_digest.clone(), Arc::clone(&blob))];
    let origin = Server::start_registry("origin", served.clone(), &log, Behaviour::Honour)
        .expect("starting the origin");
    let mirror = Server::start_registry(
        "mirror",
        served,
        &log,
        Behaviour::flaky(2, Behaviour::Status(404)),
    )
    .expect("starting the mirror");
    Fixture {
        blob,
        blob_digest,
        toc_digest: encoded.toc_digest.to_string(),
        origin,
        mirror,
    }
}

/// The numbers of the `total requests=N received=B delivered=D` last line of `stderr`.
fn totals(stderr: &[u8]) -> (u64, u64, u64) {
    let text = String::from_utf8_lossy(stderr);
    let last = text.lines().last().expect("stats on stderr");
    let fields: Vec<&str> = last.split(' ').collect();
    assert_eq!(fields.len(), 4, "last line: {last:?}");
    assert_eq!(fields[0], "total", "last line: {last:?}");
    let value = |field: &str, key: &str| -> u64 {
        field
            .strip_prefix(key)
            .and_then(|v| v.strip_prefix('='))
            .unwrap_or_else(|| panic!("{key} in {last:?}"))
            .parse()
            .expect("a number")
    };
    (
        value(fields[1], "requests"),
        value(fields[2], "received"),
        value(fields[3], "delivered"),
    )
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cats_a_small_file_through_a_flaky_mirror() {
    let f = fixture();
    let source = format!("{}/{REPO}@{}", f.origin.authority(), f.blob_digest);
    let mirror = f.mirror.url();
    let out = esgz(&[
        "cat",
        &source,
        SMALL,
        "--mirror",
        &mirror,
        "--stats",
        "--toc-digest",
        &f.toc_digest,
    ]);
    assert_ok(&out);
    assert_eq!(out.stdout, SMALL_CONTENT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("mirror {mirror} requests="))),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("origin ") && l.contains("fallbacks=")),
        "{stderr}"
    );
    let (requests, received, delivered) = totals(&out.stderr);
    assert!(requests >= 2, "{stderr}");
    assert_eq!(delivered, SMALL_CONTENT.len() as u64);
    assert!(received > 0, "{stderr}");
    assert!(
        received < f.blob.len() as u64 / 2,
        "received {received} of a {} byte blob:\n{stderr}",
        f.blob.len()
    );
}

#[test]
fn cats_a_big_file_from_the_origin_alone() {
    let f = fixture();
    let source = format!("{}/{REPO}@{}", f.origin.authority(), f.blob_digest);
    let out = esgz(&["cat", &source, "usr/lib/big-2.bin", "--stats"]);
    assert_ok(&out);
    assert_eq!(out.stdout, noise(600 << 10, 11));
    let (_, received, delivered) = totals(&out.stderr);
    assert_eq!(delivered, 600 << 10);
    assert!(received < f.blob.len() as u64, "received {received}");
}

#[test]
fn cats_through_a_mirror_named_in_a_stargz_config() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let toml = format!(
        "[[resolver.host.\"{}\".mirrors]]\nhost = \"{}\"\nunknown_key = 1\n",
        f.origin.authority(),
        f.mirror.url()
    );
    std::fs::write(&config, toml).unwrap();
    let source = format!("{}/{REPO}@{}", f.origin.authority(), f.blob_digest);
    let out = esgz(&[
        "cat",
        &source,
        SMALL,
        "--config",
        config.to_str().unwrap(),
        "--stats",
        "--toc-digest",
        &f.toc_digest,
    ]);
    assert_ok(&out);
    assert_eq!(out.stdout, SMALL_CONTENT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown_key"),
        "warning expected:\n{stderr}"
    );
    let mirror_line = stderr
        .lines()
        .find(|l| l.starts_with(&format!("mirror {} ", f.mirror.url())))
        .unwrap_or_else(|| panic!("no mirror line:\n{stderr}"));
    assert!(!mirror_line.contains("requests=0 "), "{stderr}");
    let (_, _, delivered) = totals(&out.stderr);
    assert_eq!(delivered, SMALL_CONTENT.len() as u64);
}

#[test]
fn cats_from_a_registry_blob_url() {
    let f = fixture();
    let url = format!("{}/v2/{REPO}/blobs/{}", f.origin.url(), f.blob_digest);
    let out = esgz(&["cat", &url, SMALL, "--toc-digest", &f.toc_digest]);
    assert_ok(&out);
    assert_eq!(out.stdout, SMALL_CONTENT);
}

#[test]
fn other_url_schemes_are_refused_with_a_message() {
    // Plain http(s) URLs are read as they are (tests/cat_url.rs); other schemes are not.
    let out = esgz(&["cat", "ftp://storage.example/bucket/blob", SMALL]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported URL scheme"), "{stderr}");
}

#[test]
fn a_wrong_toc_digest_exits_1() {
    let f = fixture();
    let source = format!("{}/{REPO}@{}", f.origin.authority(), f.blob_digest);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let out = esgz(&["cat", &source, SMALL, "--toc-digest", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&source), "{stderr}");
}

#[test]
fn a_missing_path_exits_1() {
    let f = fixture();
    let source = format!("{}/{REPO}@{}", f.origin.authority(), f.blob_digest);
    let out = esgz(&["cat", &source, "no/such/file"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&source), "{stderr}");
}

#[test]
fn an_unreachable_registry_exits_1_with_a_message() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let source = format!("127.0.0.1:{port}/{REPO}@sha256:{}", "a".repeat(64));
    let out = esgz(&["cat", &source, SMALL, "--stats"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("esgz: "), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let out = esgz(&["cat", "only-one-arg"]);
    assert_eq!(out.status.code(), Some(2));
}
