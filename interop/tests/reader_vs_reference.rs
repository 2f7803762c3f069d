//! Our reader against blobs built by the reference implementation (Debian's estargz
//! 0.12.0, driven by `interop/go/esgz-ref`): `verify_all` must accept them and list exactly
//! the files, sizes and sha256 the reference's own verification lists, and reading every
//! file through the lazy reader must give the input's bytes.
//!
//! The interop harness builds the reference; a missing `go` fails loudly.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use estargz::reader::{Reader, ReaderOptions};
use estargz_verifier::Digest;

/// The reference program, built once by the interop harness.
fn esgz_ref() -> &'static Path {
    estargz_interop::reference(estargz_interop::work_dir!())
        .unwrap()
        .path()
}

fn run_ref(args: &[&str], gomaxprocs: &str) -> String {
    let out = Command::new(esgz_ref())
        .args(args)
        .env("GOMAXPROCS", gomaxprocs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "esgz-ref {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn content(len: usize, seed: u32) -> Vec<u8> {
    // Compressible but not trivially: a slow-changing pseudo-random stream.
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|i| {
            if i % 7 == 0 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
            }
            (x % 61) as u8 + b' '
        })
        .collect()
}

/// A tar with directories, files of sizes around the chunk sizes, links and an empty file;
/// returns the tar and the content of each regular file by cleaned path.
fn make_tar(variant: u32) -> (Vec<u8>, BTreeMap<String, Vec<u8>>) {
    let mut files = BTreeMap::new();
    let mut builder = tar::Builder::new(Vec::new());
    let header = |kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(1_600_000_000);
        h.set_uid(1000);
        h.set_gid(1000);
        h
    };
    for dir in ["etc/", "usr/", "usr/lib/", "usr/share/doc/"] {
        let mut h = header(tar::EntryType::Directory, 0, 0o755);
        builder.append_data(&mut h, dir, std::io::empty()).unwrap();
    }
    let sizes = [
        0usize,
        1,
        511,
        512,
        4095,
        4096,
        4097,
        8192,
        10_000,
        65_536,
        300_000,
        4 << 20,
        (4 << 20) + 1,
        9_000_000,
    ];
    for (i, &size) in sizes.iter().enumerate() {
        let dir = if i % 2 == 0 {
            "usr/lib"
        } else {
            "usr/share/doc"
        };
        let path = format!("{dir}/f{i}-{size}.bin");
        let data = content(size, variant * 100 + i as u32);
        let mut h = header(tar::EntryType::Regular, size as u64, 0o644);
        builder.append_data(&mut h, &path, data.as_slice()).unwrap();
        files.insert(path, data);
    }
    let data = b"NAME=test\n".to_vec();
    let mut h = header(tar::EntryType::Regular, data.len() as u64, 0o644);
    builder
        .append_data(&mut h, "etc/os-release", data.as_slice())
        .unwrap();
    files.insert("etc/os-release".into(), data);
    let mut h = header(tar::EntryType::Symlink, 0, 0o777);
    builder
        .append_link(&mut h, "etc/link", "os-release")
        .unwrap();
    let mut h = header(tar::EntryType::Link, 0, 0o644);
    builder
        .append_link(&mut h, "etc/hard", "etc/os-release")
        .unwrap();
    // A file in a directory that has no entry of its own.
    let data = content(5000, variant);
    let mut h = header(tar::EntryType::Regular, data.len() as u64, 0o600);
    builder
        .append_data(&mut h, "opt/implicit/x", data.as_slice())
        .unwrap();
    files.insert("opt/implicit/x".into(), data);
    (builder.into_inner().unwrap(), files)
}

fn check(level: &str, chunk_size: Option<&str>, gomaxprocs: &str, variant: u32) {
    let tmp = tempfile::tempdir().unwrap();
    let (tar, files) = make_tar(variant);
    let tar_path = tmp.path().join("in.tar");
    let blob_path = tmp.path().join("out.blob");
    std::fs::write(&tar_path, &tar).unwrap();
    let mut args = vec![
        "build",
        tar_path.to_str().unwrap(),
        blob_path.to_str().unwrap(),
        "-level",
        level,
    ];
    if let Some(c) = chunk_size {
        args.extend(["-chunk-size", c]);
    }
    let built: serde_json::Value = serde_json::from_str(&run_ref(&args, gomaxprocs)).unwrap();
    let toc_digest = built["toc_digest"].as_str().unwrap().to_owned();
    let what = format!("level {level}, chunk size {chunk_size:?}, GOMAXPROCS {gomaxprocs}");

    // What the reference's own verification lists.
    let lines = run_ref(&["verify", blob_path.to_str().unwrap(), &toc_digest], "1");
    let reference: Vec<(String, u64, String)> = lines
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                v["path"].as_str().unwrap().to_owned(),
                v["size"].as_u64().unwrap(),
                v["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(reference.len() > files.len(), "{what}: landmark + inputs");

    let blob = std::fs::File::open(&blob_path).unwrap();
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(Digest::parse(&toc_digest).unwrap());
    options.threads = 2;
    let reader = Reader::open(blob, options).unwrap();
    let verification = reader
        .verify_all()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let ours: Vec<(String, u64, String)> = verification
        .files
        .iter()
        .map(|f| {
            let hex = f.sha256.to_string()["sha256:".len()..].to_owned();
            (String::from_utf8(f.path.clone()).unwrap(), f.size, hex)
        })
        .collect();
    assert_eq!(ours, reference, "{what}");

    for (path, data) in &files {
        let file = reader.open_file(path).unwrap();
        assert_eq!(&file.read_to_vec().unwrap(), data, "{what}: {path}");
        // A few random-access reads across chunk boundaries.
        for (off, len) in [
            (0usize, 10usize),
            (4090, 20),
            (4 << 20, 5),
            (data.len() / 2, 9000),
        ] {
            let mut buf = vec![0; len];
            let n = file.read_at(off as u64, &mut buf).unwrap();
            let want = data.get(off..).map_or(&[][..], |r| &r[..len.min(r.len())]);
            assert_eq!(&buf[..n], want, "{what}: {path} at {off}");
        }
    }
    assert_eq!(
        reader.open_file("etc/hard").unwrap().read_to_vec().unwrap(),
        b"NAME=test\n"
    );

    // Unpacking gives the same tar entries as the input (re-encoded headers aside).
    let mut unpacked = Vec::new();
    reader.unpack_to_tar(&mut unpacked).unwrap();
    let mut archive = tar::Archive::new(unpacked.as_slice());
    let mut seen = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if let Some(data) = files.get(&path) {
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut got).unwrap();
            assert_eq!(&got, data, "{what}: unpacked {path}");
            seen += 1;
        }
    }
    assert_eq!(seen, files.len(), "{what}");
}

#[test]
fn chunk_size_4096_level_9() {
    check("9", Some("4096"), "1", 1);
}

#[test]
fn chunk_size_4096_level_0() {
    check("0", Some("4096"), "1", 2);
}

#[test]
fn default_chunk_size_level_9() {
    check("9", None, "1", 3);
}

#[test]
fn default_chunk_size_level_0_in_two_parts() {
    // GOMAXPROCS=2: 0.12.0 builds the layer in two parts (section 3.4 of the format notes).
    check("0", None, "2", 4);
}
