//! `esgz` on the committed sample layer (built by the reference; see `examples/data`), with
//! no Go toolchain needed: listing, verification against the known TOC digest, reading a
//! file, and exit code 1 on a wrong TOC digest.

mod common;
use common::{SAMPLE, TOC_DIGEST, esgz};

#[test]
fn lists_the_sample() {
    let out = esgz(&["ls", SAMPLE]);
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    let paths: Vec<&str> = listing.lines().collect();
    assert_eq!(paths.first(), Some(&".no.prefetch.landmark"));
    for path in [
        "etc/",
        "etc/os-release",
        "usr/bin/hello",
        "usr/bin/hello-hard",
    ] {
        assert!(paths.contains(&path), "{path} missing from:\n{listing}");
    }
}

#[test]
fn verifies_the_sample_against_its_toc_digest() {
    let out = esgz(&["verify", "--json", "--toc-digest", TOC_DIGEST, SAMPLE]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    let readme = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "usr/share/doc/hello/README")
        .expect("README verified");
    assert_eq!(readme["size"], 18541);
}

#[test]
fn cats_a_file() {
    let out = esgz(&["cat", "--toc-digest", TOC_DIGEST, SAMPLE, "usr/bin/hello"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, common::HELLO);
}

#[test]
fn a_wrong_toc_digest_exits_1() {
    let wrong = format!("sha256:{}", "0".repeat(64));
    for args in [
        vec!["verify", "--toc-digest", &wrong, SAMPLE],
        vec!["cat", "--toc-digest", &wrong, SAMPLE, "usr/bin/hello"],
    ] {
        let out = esgz(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("digest mismatch"), "{args:?}: {stderr}");
    }
}
