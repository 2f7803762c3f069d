//! `esgz convert --external-toc` and `--toc TOCBLOB` on every read command, with no Go
//! toolchain needed: the committed sample layer (an eStargz blob is also a tar.gz) is
//! converted with its TOC in a separate blob, then inspected, listed, verified, read and
//! extracted with that TOC blob; without it, or with a TOC blob that does not belong,
//! the commands fail with exit code 1, and misused flags exit 2.

use std::path::Path;
use std::process::Output;

mod common;
use common::{HELLO, SAMPLE, esgz, json, ok};

fn fails(out: &Output, code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read");
    estargz_verifier::Digest::of(&bytes).to_string()
}

#[test]
fn convert_with_external_toc_then_read_it_back() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (blob, toc) = (
        dir.path().join("sample.esgz"),
        dir.path().join("sample.toc"),
    );
    let embedded = dir.path().join("embedded.esgz");
    let (blob_arg, toc_arg) = (arg(&blob), arg(&toc));
    let common = ["--level", "0", "--threads", "1"];
    let converted = json(&esgz(
        &[
            &[
                "convert",
                SAMPLE,
                blob_arg,
                "--external-toc",
                toc_arg,
                "--json",
            ][..],
            &common,
        ]
        .concat(),
    ));
    let plain = json(&esgz(
        &[&["convert", SAMPLE, arg(&embedded), "--json"][..], &common].concat(),
    ));

    // The TOC blob's digest and size, and its layer annotation naming the blob.
    assert_eq!(converted["toc_blob_digest"], sha256_of(&toc).as_str());
    let toc_len = std::fs::metadata(&toc).expect("TOC blob").len();
    assert_eq!(converted["toc_blob_size"], toc_len);
    assert_eq!(converted["blob_digest"], sha256_of(&blob).as_str());
    assert_eq!(
        converted["toc_blob_annotations"]["containerd.io/snapshot/stargz/layer.digest"],
        converted["blob_digest"]
    );
    assert!(plain.get("toc_blob_digest").is_none(), "{plain}");
    // The same TOC as the embedded blob; the blob ends in the external-TOC footer.
    let toc_digest = converted["toc_digest"]
        .as_str()
        .expect("toc_digest")
        .to_owned();
    assert_eq!(plain["toc_digest"], toc_digest.as_str());
    assert_eq!(
        converted["annotations"]["containerd.io/snapshot/stargz/toc.digest"],
        toc_digest.as_str()
    );
    let bytes = std::fs::read(&blob).expect("the blob");
    assert_eq!(
        &bytes[bytes.len() - 30..bytes.len() - 13],
        b"STARGZEXTERNALTOC"
    );

    let info = json(&esgz(&["info", "--json", blob_arg, "--toc", toc_arg]));
    assert_eq!(info["footer"], "external-toc");
    assert_eq!(info["toc_external"], true);
    assert!(info["toc_offset"].is_null(), "{info}");
    assert_eq!(info["toc_size"], toc_len);
    assert_eq!(info["toc_digest"], toc_digest.as_str());

    let stored = ok(&esgz(&["toc", blob_arg, "--toc", toc_arg])).to_vec();
    assert_eq!(stored, ok(&esgz(&["toc", arg(&embedded)])));

    let listing = ok(&esgz(&["ls", "-l", blob_arg, "--toc", toc_arg])).to_vec();
    assert_eq!(listing, ok(&esgz(&["ls", "-l", arg(&embedded)])));
    assert!(String::from_utf8_lossy(&listing).contains("usr/bin/hello"));

    let verified = json(&esgz(&[
        "verify",
        "--json",
        "--toc-digest",
        &toc_digest,
        blob_arg,
        "--toc",
        toc_arg,
    ]));
    assert_eq!(verified["ok"], true);
    assert_eq!(
        verified["files"],
        json(&esgz(&["verify", "--json", arg(&embedded)]))["files"]
    );

    let cat = esgz(&[
        "cat",
        "--toc-digest",
        &toc_digest,
        "--toc",
        toc_arg,
        blob_arg,
        "usr/bin/hello",
    ]);
    assert_eq!(ok(&cat), HELLO);

    let out = dir.path().join("tree");
    ok(&esgz(&["extract", blob_arg, arg(&out), "--toc", toc_arg]));
    assert_eq!(
        std::fs::read(out.join("usr/bin/hello")).expect("extracted"),
        HELLO
    );
}

#[test]
fn missing_or_foreign_toc_blobs_fail() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (blob, toc) = (dir.path().join("a.esgz"), dir.path().join("a.toc"));
    let embedded = dir.path().join("embedded.esgz");
    ok(&esgz(&[
        "convert",
        SAMPLE,
        arg(&blob),
        "--external-toc",
        arg(&toc),
    ]));
    ok(&esgz(&["convert", SAMPLE, arg(&embedded), "--level", "1"]));

    // Without --toc: exit 1, saying the TOC is external and how to give it.
    for command in [
        &["info", arg(&blob)][..],
        &["toc", arg(&blob)],
        &["ls", arg(&blob)],
        &["verify", arg(&blob)],
        &["cat", arg(&blob), "usr/bin/hello"],
    ] {
        let stderr = fails(&esgz(command), 1);
        assert!(
            stderr.contains("separate blob") && stderr.contains("--toc"),
            "{command:?}: {stderr}"
        );
    }
    // A TOC blob for a blob that embeds its TOC.
    let stderr = fails(&esgz(&["verify", arg(&embedded), "--toc", arg(&toc)]), 1);
    assert!(stderr.contains("points at a TOC in the blob"), "{stderr}");
    // Another blob's TOC: the TOC digest annotation rejects it.
    let other = dir.path().join("other.toc");
    ok(&esgz(&[
        "convert",
        SAMPLE,
        arg(&dir.path().join("other.esgz")),
        "--external-toc",
        arg(&other),
        "--chunk-size",
        "512",
    ]));
    let digest = json(&esgz(&["info", "--json", arg(&blob), "--toc", arg(&toc)]))["toc_digest"]
        .as_str()
        .expect("toc_digest")
        .to_owned();
    let stderr = fails(
        &esgz(&[
            "verify",
            arg(&blob),
            "--toc",
            arg(&other),
            "--toc-digest",
            &digest,
        ]),
        1,
    );
    assert!(stderr.contains("digest mismatch"), "{stderr}");
}

#[test]
fn misused_external_toc_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let blob = dir.path().join("out.blob");
    let toc = dir.path().join("out.toc");
    #[cfg(feature = "zstd")]
    {
        let stderr = fails(
            &esgz(&[
                "convert",
                SAMPLE,
                arg(&blob),
                "--format",
                "zstd-chunked",
                "--external-toc",
                arg(&toc),
            ]),
            2,
        );
        assert!(stderr.contains("--external-toc"), "{stderr}");
    }
    let stderr = fails(
        &esgz(&["convert", SAMPLE, arg(&blob), "--external-toc", arg(&blob)]),
        2,
    );
    assert!(stderr.contains("different file"), "{stderr}");
    assert!(!blob.exists() && !toc.exists(), "nothing written");
}
