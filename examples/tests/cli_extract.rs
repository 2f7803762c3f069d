//! `esgz extract` on the committed sample layer: the tree appears, verified against the
//! TOC digest; a wrong TOC digest or a layer with a file under a symlink exits 1 naming
//! the problem and writes nothing; missing arguments exit 2.

use std::fs;

use estargz::Encoder;
use estargz::tar::{TarHeader, encode_end_of_archive, encode_header, padding};

mod common;
use common::{SAMPLE, TOC_DIGEST, esgz};

#[test]
fn extracts_the_sample() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("root");
    let out = esgz(&[
        "extract",
        SAMPLE,
        target.to_str().expect("UTF-8 path"),
        "--toc-digest",
        TOC_DIGEST,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readme = fs::read(target.join("usr/share/doc/hello/README")).expect("README");
    assert_eq!(readme.len(), 18541);
    let hello = fs::read(target.join("usr/bin/hello")).expect("hello");
    assert_eq!(
        fs::read(target.join("usr/bin/hello-hard")).expect("hardlink"),
        hello
    );
    assert!(!target.join(".no.prefetch.landmark").exists());
    assert!(String::from_utf8_lossy(&out.stdout).contains("extracted to"));
}

#[test]
fn a_wrong_toc_digest_exits_1_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("root");
    let wrong = format!("sha256:{}", "0".repeat(64));
    let out = esgz(&[
        "extract",
        SAMPLE,
        target.to_str().expect("UTF-8 path"),
        "--toc-digest",
        &wrong,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!target.exists());
}

#[test]
fn a_file_under_a_symlink_exits_1_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tar = Vec::new();
    let mut link = TarHeader::new(b'2', "a");
    link.link_name = b"/tmp".to_vec();
    encode_header(&link, &mut tar).expect("header");
    let mut file = TarHeader::new(b'0', "a/escape");
    file.size = 1;
    file.mode = 0o644;
    encode_header(&file, &mut tar).expect("header");
    tar.push(b'x');
    tar.resize(tar.len() + padding(1) as usize, 0);
    encode_end_of_archive(&mut tar);
    let blob_path = dir.path().join("hostile.esgz");
    let mut blob = Vec::new();
    Encoder::builder()
        .build()
        .expect("encoder")
        .encode(tar.as_slice(), &mut blob)
        .expect("encode");
    fs::write(&blob_path, blob).expect("write blob");
    let target = dir.path().join("root");
    let out = esgz(&[
        "extract",
        blob_path.to_str().expect("UTF-8 path"),
        target.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a/escape"));
    assert!(!std::path::Path::new("/tmp/escape").exists());
}

#[test]
fn missing_arguments_exit_2() {
    assert_eq!(esgz(&["extract", SAMPLE]).status.code(), Some(2));
}
