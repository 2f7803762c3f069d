//! `esgz convert --format zstd-chunked` and every read command on the result, with no Go
//! toolchain needed: the committed sample layer (an eStargz blob is also a tar.gz) is
//! converted to zstd:chunked, then listed, inspected, verified, read and extracted.
#![cfg(feature = "zstd")]

use std::path::Path;

mod common;
use common::{HELLO, SAMPLE, esgz, json, ok};

#[test]
fn convert_to_zstd_chunked_then_read_it_back() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let blob = dir.path().join("sample.zst");
    let blob_arg = blob.to_str().expect("UTF-8 path");
    let converted = json(&esgz(&[
        "convert",
        SAMPLE,
        blob_arg,
        "--format",
        "zstd-chunked",
        "--json",
    ]));
    assert_eq!(converted["format"], "zstd-chunked");
    let toc_digest = converted["toc_digest"]
        .as_str()
        .expect("toc_digest")
        .to_owned();
    let annotations = converted["annotations"].as_object().expect("annotations");
    assert_eq!(annotations.len(), 4, "{annotations:?}");
    let position = annotations["io.containers.zstd-chunked.manifest-position"]
        .as_str()
        .expect("manifest position");
    assert!(
        position.starts_with(&format!("{}:", converted["toc_offset"])),
        "{position}"
    );
    let bytes = std::fs::read(&blob).expect("the blob");
    assert_eq!(&bytes[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    assert_eq!(&bytes[bytes.len() - 8..], b"GnUlInUx");

    let info = json(&esgz(&["info", "--json", blob_arg]));
    assert_eq!(info["footer"], "zstd-chunked-v1");
    assert_eq!(info["toc_digest"], toc_digest.as_str());

    let listing = String::from_utf8(ok(&esgz(&["ls", blob_arg])).to_vec()).expect("UTF-8");
    assert!(listing.lines().any(|l| l == "usr/bin/hello"), "{listing}");
    assert!(!listing.contains("stargz.index.json"), "{listing}");

    let verified = json(&esgz(&[
        "verify",
        "--json",
        "--toc-digest",
        &toc_digest,
        blob_arg,
    ]));
    assert_eq!(verified["ok"], true);
    assert!(verified["files"].as_array().expect("files").len() > 3);

    let cat = esgz(&[
        "cat",
        "--toc-digest",
        &toc_digest,
        blob_arg,
        "usr/bin/hello",
    ]);
    assert_eq!(ok(&cat), HELLO);

    let out_dir = dir.path().join("tree");
    ok(&esgz(&[
        "extract",
        blob_arg,
        out_dir.to_str().expect("UTF-8 path"),
    ]));
    assert_eq!(
        std::fs::read(Path::new(&out_dir).join("usr/bin/hello")).expect("extracted file"),
        HELLO
    );

    // A wrong TOC digest is a verification failure (exit 1).
    let wrong = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        esgz(&["verify", "--toc-digest", &wrong, blob_arg])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn zstd_options_are_checked() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let blob = dir.path().join("x.zst");
    let blob_arg = blob.to_str().expect("UTF-8 path");
    let out = esgz(&[
        "convert",
        SAMPLE,
        blob_arg,
        "--format",
        "zstd-chunked",
        "--min-chunk-size",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("zstd:chunked"));
    assert!(!blob.exists());
    // `--level` picks the zstd level; a higher level gives a blob no larger.
    let sizes: Vec<u64> = ["1", "9"]
        .iter()
        .map(|level| {
            let out = json(&esgz(&[
                "convert",
                SAMPLE,
                blob_arg,
                "--format",
                "zstd-chunked",
                "--level",
                level,
                "--json",
            ]));
            out["blob_size"].as_u64().expect("blob_size")
        })
        .collect();
    assert!(sizes[1] <= sizes[0], "{sizes:?}");
}
