//! `esgz cat` on a plain http(s) URL (not a registry blob path): `examples/data/sample.esgz`
//! served by an in-process loopback server at `/files/sample.esgz?sig=1`, read lazily with
//! range requests to exactly that URL, directly and through a redirect to signed storage;
//! `--mirror` with such a URL is a usage error.

use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use estargz_mirror::testing::{Behaviour, Log, Server};

mod common;
use common::{TOC_DIGEST, esgz};

const FILE: &str = "usr/share/doc/hello/README";

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sample.esgz")
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The file as the local reader gives it, to compare the remote read with.
fn local_content() -> Vec<u8> {
    let sample = sample();
    let out = esgz(&["cat", sample.to_str().expect("a UTF-8 path"), FILE]);
    assert_ok(&out);
    assert!(out.stdout.len() > 8192, "{FILE} spans several chunks");
    out.stdout
}

fn start(label: &str, log: &Log, behaviour: Behaviour) -> Server {
    let blob = Arc::new(std::fs::read(sample()).expect("reading sample.esgz"));
    Server::start(label, blob, log, behaviour).expect("starting a server")
}

#[test]
fn cats_a_file_from_a_plain_url_with_a_query() {
    let expected = local_content();
    let log = Log::new();
    let server = start("files", &log, Behaviour::Honour);
    let url = format!("{}/files/sample.esgz?sig=1", server.url());
    let out = esgz(&["cat", &url, FILE, "--toc-digest", TOC_DIGEST, "--stats"]);
    assert_ok(&out);
    assert_eq!(out.stdout, expected);

    let entries = log.entries();
    assert!(!entries.is_empty());
    for entry in &entries {
        assert_eq!(entry.method, "GET");
        assert_eq!(entry.path, "/files/sample.esgz", "{entry:?}");
        assert_eq!(entry.query.as_deref(), Some("sig=1"), "{entry:?}");
        assert!(
            entry.header("range").is_some(),
            "a range request: {entry:?}"
        );
    }

    let stderr = String::from_utf8_lossy(&out.stderr);
    let endpoint = format!("url {}/files/sample.esgz requests=", server.url());
    assert!(stderr.contains(&endpoint), "{stderr}");
    assert!(
        !stderr.contains("sig=1"),
        "the query is not shown: {stderr}"
    );
    let last = stderr.lines().last().expect("stats");
    assert!(
        last.starts_with(&format!("total requests={} ", entries.len()))
            && last.ends_with(&format!(" delivered={}", expected.len())),
        "{last}"
    );
}

#[test]
fn follows_a_redirect_to_signed_storage() {
    let expected = local_content();
    let log = Log::new();
    let storage = start("storage", &log, Behaviour::Storage);
    let front = start(
        "front",
        &log,
        Behaviour::Redirect {
            status: 307,
            target: storage.url(),
            ttl: Duration::from_secs(600),
        },
    );
    let url = format!("{}/files/sample.esgz?sig=1", front.url());
    let out = esgz(&["cat", &url, FILE, "--toc-digest", TOC_DIGEST]);
    assert_ok(&out);
    assert_eq!(out.stdout, expected);
    let entries = log.entries();
    assert!(entries.iter().any(|e| e.server == "front"));
    assert!(
        entries
            .iter()
            .any(|e| e.server == "storage" && e.path == "/storage/blob"),
        "{entries:?}"
    );
}

#[test]
fn a_mirror_with_a_plain_url_is_a_usage_error() {
    let log = Log::new();
    let server = start("files", &log, Behaviour::Honour);
    let url = format!("{}/files/sample.esgz?sig=1", server.url());
    let mirror = server.url();
    let out = esgz(&["cat", &url, FILE, "--mirror", &mirror]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--mirror"), "{stderr}");
    assert!(log.is_empty(), "nothing was requested: {:?}", log.entries());
}

#[test]
fn a_wrong_toc_digest_fails_with_exit_1() {
    let log = Log::new();
    let server = start("files", &log, Behaviour::Honour);
    let url = format!("{}/files/sample.esgz?sig=1", server.url());
    let wrong = format!("sha256:{}", "0".repeat(64));
    let out = esgz(&["cat", &url, FILE, "--toc-digest", &wrong]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
}
