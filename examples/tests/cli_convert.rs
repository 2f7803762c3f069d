//! `esgz convert`'s deflate backends, with no Go toolchain needed: the committed sample layer
//! converted with each `--deflate` choice and verified by `esgz verify`; libdeflate at level 6
//! is the default; level 0 is the same stored bytes whatever the backend; the thread count
//! changes no byte.

mod common;
use common::{SAMPLE, esgz};

use std::path::Path;

/// Converts the sample to `out` with `args`; returns the `--json` output.
fn convert(out: &Path, args: &[&str]) -> serde_json::Value {
    let out_arg = out.to_str().expect("UTF-8 temporary path");
    let output = esgz(&[&["convert", SAMPLE, out_arg, "--json"][..], args].concat());
    assert!(
        output.status.success(),
        "convert {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("convert --json prints JSON")
}

/// `esgz verify` accepts `blob` against the TOC digest `convert` printed.
fn verify(blob: &Path, converted: &serde_json::Value) {
    let digest = converted["toc_digest"].as_str().expect("a TOC digest");
    let blob = blob.to_str().expect("UTF-8 temporary path");
    let output = esgz(&["verify", "--toc-digest", digest, blob]);
    assert!(
        output.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_deflate_backend_converts_and_verifies() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = |name: &str| dir.path().join(name);

    let default = convert(&path("default.esgz"), &[]);
    assert!(
        default["deflate_backend"]
            .as_str()
            .is_some_and(|b| b.starts_with("libdeflate")),
        "{default}"
    );
    let explicit = convert(
        &path("explicit.esgz"),
        &["--deflate", "libdeflate", "--level", "6", "--threads", "1"],
    );
    assert_eq!(default["blob_digest"], explicit["blob_digest"]);
    verify(&path("default.esgz"), &default);

    let mut digests = Vec::new();
    for (backend, name) in [
        ("libdeflate", "libdeflate"),
        ("zlib-rs", "zlib-rs"),
        ("miniz", "miniz_oxide"),
    ] {
        let blob = path(&format!("{backend}.esgz"));
        let converted = convert(&blob, &["--deflate", backend, "--level", "9"]);
        assert!(
            converted["deflate_backend"]
                .as_str()
                .is_some_and(|b| b.starts_with(name)),
            "{converted}"
        );
        verify(&blob, &converted);
        digests.push(converted["blob_digest"].clone());

        // Level 0 never uses the backend: Go's stored framing, the same bytes for all.
        let stored = convert(
            &path("stored.esgz"),
            &["--deflate", backend, "--level", "0"],
        );
        assert_eq!(stored["deflate_backend"], serde_json::Value::Null);
        digests.push(stored["blob_digest"].clone());
    }
    // Each backend its own bytes at level 9; one stored blob at level 0.
    assert_ne!(digests[0], digests[2]);
    assert_ne!(digests[2], digests[4]);
    assert_ne!(digests[0], digests[4]);
    assert_eq!(digests[1], digests[3]);
    assert_eq!(digests[3], digests[5]);
}
