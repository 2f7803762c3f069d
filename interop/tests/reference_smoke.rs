//! Smoke tests of the interop harness itself: the reference Go program builds,
//! the corpus generates, and the reference agrees with the corpus manifest.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use estargz_interop::{
    BuildOptions, CorpusTar, LANDMARK_SHA256, NO_PREFETCH_LANDMARK, Reference, VerifiedFile,
    corpus, json, reference, scratch_dir, work_dir,
};
use sha2::{Digest as _, Sha256};

fn sha256_hex(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn expected_listing(tar: &CorpusTar) -> Vec<VerifiedFile> {
    let mut v = vec![VerifiedFile {
        path: NO_PREFETCH_LANDMARK.into(),
        size: 1,
        sha256: LANDMARK_SHA256.into(),
    }];
    v.extend(tar.expected_regular_files.iter().map(|f| VerifiedFile {
        path: f.path.clone(),
        size: f.size,
        sha256: f.sha256.clone(),
    }));
    v
}

fn first_difference(got: &[VerifiedFile], want: &[VerifiedFile]) -> String {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            return format!("entry {i}: got {g:?}, want {w:?}");
        }
    }
    format!("lengths differ: got {}, want {}", got.len(), want.len())
}

/// Builds, dumps, inspects and verifies one tar; returns the TOC digest.
fn round_trip(
    r: &Reference,
    tar: &CorpusTar,
    blob: &Path,
    opts: &BuildOptions,
) -> Result<String, String> {
    let built = r.build(&tar.path, blob, opts).map_err(|e| e.to_string())?;
    let blob_bytes = fs::read(blob).map_err(|e| e.to_string())?;
    if built.blob_size != blob_bytes.len() as u64 {
        return Err(format!(
            "blob_size {} but the file has {} bytes",
            built.blob_size,
            blob_bytes.len()
        ));
    }
    if built.blob_digest != format!("sha256:{}", sha256_hex(&blob_bytes)) {
        return Err("blob_digest is not the sha256 of the blob".into());
    }
    let toc = r.toc(blob).map_err(|e| e.to_string())?;
    let toc_value = json::parse_bytes(&toc).map_err(|e| format!("TOC is not valid JSON: {e}"))?;
    if toc_value.get("version").and_then(json::Value::as_i64) != Some(1) {
        return Err("TOC version is not 1".into());
    }
    let toc_digest = format!("sha256:{}", sha256_hex(&toc));
    if toc_digest != built.toc_digest {
        return Err(format!(
            "sha256 of `toc` output {toc_digest} != build's toc_digest {}",
            built.toc_digest
        ));
    }
    let info = r.info(blob).map_err(|e| e.to_string())?;
    if info.toc_digest != built.toc_digest {
        return Err(format!(
            "info toc_digest {} != build's {}",
            info.toc_digest, built.toc_digest
        ));
    }
    let entries = toc_value
        .get("entries")
        .and_then(json::Value::as_array)
        .map_or(0, <[_]>::len) as u64;
    if info.entries != entries {
        return Err(format!(
            "info entries {} != {entries} entries in the TOC",
            info.entries
        ));
    }
    let (format, footer) = if opts.zstd {
        ("zstdchunked", 40)
    } else {
        ("estargz", 51)
    };
    if info.format != format || info.footer_size != footer || info.toc_offset >= built.blob_size {
        return Err(format!("unexpected info {info:?}"));
    }
    if !opts.zstd
        && u64::from_str_radix(&hex_footer_offset(&blob_bytes)?, 16).ok() != Some(info.toc_offset)
    {
        return Err("info toc_offset differs from the footer".into());
    }
    let listed = r
        .verify(blob, &built.toc_digest)
        .map_err(|e| e.to_string())?;
    let want = expected_listing(tar);
    if listed != want {
        return Err(format!(
            "verify listing differs from the manifest: {}",
            first_difference(&listed, &want)
        ));
    }
    Ok(built.toc_digest)
}

fn hex_footer_offset(blob: &[u8]) -> Result<String, String> {
    let footer = blob
        .get(blob.len().saturating_sub(51)..)
        .ok_or("blob shorter than a footer")?;
    std::str::from_utf8(&footer[16..32])
        .map(str::to_owned)
        .map_err(|e| e.to_string())
}

fn check_all(results: Vec<String>) {
    assert!(
        results.is_empty(),
        "{} failure(s):\n{}",
        results.len(),
        results.join("\n")
    );
}

#[test]
fn reference_round_trips_every_accepted_tar() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    assert!(c.accepted().count() >= 20, "corpus too small");
    let dir = scratch_dir(work, "smoke-default").expect("scratch");
    let mut failures = Vec::new();
    for tar in c.accepted() {
        let blob = dir.join(format!("{}.blob", tar.file));
        if let Err(e) = round_trip(r, tar, &blob, &BuildOptions::default()) {
            failures.push(format!("{}: {e}", tar.file));
        }
        let _ = fs::remove_file(&blob);
    }
    check_all(failures);
}

#[test]
fn reference_round_trips_suggested_chunk_sizes() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-chunks").expect("scratch");
    let mut failures = Vec::new();
    for tar in c.accepted() {
        for &chunk in &tar.suggested_chunk_sizes {
            // Level 0 is the byte-compatibility level (stored deflate blocks).
            let opts = BuildOptions {
                chunk_size: Some(chunk),
                level: Some(0),
                ..Default::default()
            };
            let blob = dir.join(format!("{}.{chunk}.blob", tar.file));
            if let Err(e) = round_trip(r, tar, &blob, &opts) {
                failures.push(format!("{} chunk {chunk}: {e}", tar.file));
            }
            let _ = fs::remove_file(&blob);
        }
    }
    check_all(failures);
}

#[test]
fn reference_builds_zstd_chunked() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-zstd").expect("scratch");
    let mut failures = Vec::new();
    for name in [
        "basic-ustar.tar",
        "hardlinks.tar",
        "small-chunks.tar",
        "empty.tar",
    ] {
        let tar = c.get(name).expect("tar in corpus");
        let opts = BuildOptions {
            zstd: true,
            chunk_size: Some(4096),
            ..Default::default()
        };
        if let Err(e) = round_trip(r, tar, &dir.join(format!("{name}.zst.blob")), &opts) {
            failures.push(format!("{name}: {e}"));
        }
    }
    check_all(failures);
}

#[test]
fn reference_rejects_what_the_manifest_says() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-rejected").expect("scratch");
    let rejected: Vec<&str> = c.rejected().map(|t| t.file.as_str()).collect();
    for must in ["pax-global.tar", "contiguous.tar", "sparse-gnu.tar"] {
        assert!(
            rejected.contains(&must),
            "{must} should be rejected by the reference; rejected: {rejected:?}"
        );
    }
    for tar in c.rejected() {
        let err = r
            .build(&tar.path, &dir.join("x.blob"), &BuildOptions::default())
            .expect_err(&format!("{} should be rejected", tar.file));
        let msg = err.reference_stderr().unwrap_or_default().trim().to_owned();
        assert_eq!(
            Some(msg.as_str()),
            tar.reference_error.as_deref(),
            "{}",
            tar.file
        );
    }
}

#[test]
fn prioritized_files_and_missing_ones() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-prioritized").expect("scratch");
    let tar = c.get("implicit-parents.tar").expect("tar");
    let blob = dir.join("p.blob");
    // m/n/ has an entry but m/ has none: the reference reports it as missing
    // (spec 3.3 quirk); x/y/z.txt likewise.
    let opts = BuildOptions {
        prioritized: vec!["m/n/o".into(), "x/y/z.txt".into()],
        allow_missing: true,
        ..Default::default()
    };
    let built = r.build(&tar.path, &blob, &opts).expect("build");
    assert_eq!(
        built.missed_prioritized,
        Some(vec!["m/n/o".to_owned(), "x/y/z.txt".to_owned()])
    );
    let listed = r.verify(&blob, &built.toc_digest).expect("verify");
    assert_eq!(
        listed.first().map(|f| f.path.as_str()),
        Some(".prefetch.landmark")
    );

    let tar = c.get("basic-ustar.tar").expect("tar");
    let opts = BuildOptions {
        prioritized: vec!["bin/nothing-here".into()],
        ..Default::default()
    };
    let err = r
        .build(&tar.path, &blob, &opts)
        .expect_err("missing prioritized file must fail");
    assert!(err.to_string().contains("not found"), "{err}");
    let opts = BuildOptions {
        prioritized: vec!["etc/hostname".into()],
        ..Default::default()
    };
    let built = r.build(&tar.path, &blob, &opts).expect("build");
    let listed = r.verify(&blob, &built.toc_digest).expect("verify");
    let paths: Vec<&str> = listed.iter().take(2).map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["etc/hostname", ".prefetch.landmark"]);
}

#[test]
fn retar_oracle_writes_complete_tars() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-retar").expect("scratch");
    let mut failures = Vec::new();
    for tar in c.accepted() {
        for single in [false, true] {
            let out = dir.join(format!("{}.{single}.tar", tar.file));
            let again = dir.join(format!("{}.{single}.again.tar", tar.file));
            let res = r
                .retar(&tar.path, &out, single)
                .and_then(|()| r.retar(&out, &again, single));
            if let Err(e) = res {
                failures.push(format!("{} single={single}: {e}", tar.file));
                continue;
            }
            let a = fs::read(&out).expect("read");
            let b = fs::read(&again).expect("read");
            if !a.len().is_multiple_of(512)
                || a.len() < 1024
                || a[a.len() - 1024..].iter().any(|&x| x != 0)
            {
                failures.push(format!(
                    "{} single={single}: output does not end with a trailer",
                    tar.file
                ));
            }
            if a != b {
                failures.push(format!(
                    "{} single={single}: re-encoding is not a fixpoint",
                    tar.file
                ));
            }
            let _ = fs::remove_file(&out);
            let _ = fs::remove_file(&again);
        }
    }
    check_all(failures);
}

#[test]
fn reference_extraction_reproduces_regular_files() {
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-extract").expect("scratch");
    let mut failures = Vec::new();
    for tar in c.accepted() {
        let blob = dir.join(format!("{}.blob", tar.file));
        let tree = dir.join(format!("{}.d", tar.file));
        let opts = BuildOptions {
            level: Some(1),
            ..Default::default()
        };
        let res = r
            .build(&tar.path, &blob, &opts)
            .and_then(|b| r.extract(&blob, &b.toc_digest, &tree));
        if let Err(e) = res {
            failures.push(format!("{}: {e}", tar.file));
            continue;
        }
        for f in &tar.expected_regular_files {
            match fs::read(tree.join(&f.path)) {
                Ok(data) if sha256_hex(&data) == f.sha256 => {}
                Ok(_) => failures.push(format!("{}: {} has the wrong content", tar.file, f.path)),
                Err(e) => failures.push(format!("{}: {}: {e}", tar.file, f.path)),
            }
        }
        let _ = fs::remove_file(&blob);
        let _ = fs::remove_dir_all(&tree);
    }
    check_all(failures);
}

/// The `retar` oracle must reproduce exactly the tar stream `estargz.Build`
/// writes: the decompressed blob is the landmark entry (1024 bytes), the
/// re-encoded entries, then the TOC entry. Checked on the tars Build does not
/// reorder (no duplicates, no reserved names).
#[test]
fn retar_matches_the_tar_stream_inside_build_output() {
    use std::io::Read as _;
    let work = work_dir!();
    let r = reference(work).expect("reference program");
    let c = corpus(work).expect("corpus");
    let dir = scratch_dir(work, "smoke-retar-vs-build").expect("scratch");
    let mut failures = Vec::new();
    for tar in c.accepted() {
        if tar
            .features
            .iter()
            .any(|f| f == "duplicate" || f == "reserved-name")
        {
            continue;
        }
        let blob = dir.join("b.blob");
        let retarred = dir.join("r.tar");
        let opts = BuildOptions {
            level: Some(0),
            ..Default::default()
        };
        let built = match r
            .build(&tar.path, &blob, &opts)
            .and_then(|b| r.retar(&tar.path, &retarred, false).map(|()| b))
        {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: {e}", tar.file));
                continue;
            }
        };
        let mut stream = Vec::new();
        flate2::read::MultiGzDecoder::new(fs::File::open(&blob).expect("open blob"))
            .read_to_end(&mut stream)
            .expect("gunzip blob");
        assert_eq!(stream.len() as u64, built.uncompressed_size, "{}", tar.file);
        assert_eq!(
            format!("sha256:{}", sha256_hex(&stream)),
            built.diff_id,
            "{}",
            tar.file
        );
        let re = fs::read(&retarred).expect("read retar output");
        let entries = &re[..re.len() - 1024]; // without the trailer Build never writes
        if stream.get(1024..1024 + entries.len()) != Some(entries) {
            let at = stream[1024..].iter().zip(entries).position(|(a, b)| a != b);
            failures.push(format!(
                "{}: retar output differs from Build's stream at entry byte {at:?}",
                tar.file
            ));
        }
    }
    check_all(failures);
}
