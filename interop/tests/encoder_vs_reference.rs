//! The encoder against the reference: Debian's estargz 0.12.0 (Go 1.19), driven through the
//! `esgz-ref` program in `interop/go/esgz-ref`, built by the interop harness (GOPATH mode
//! against Debian's packages, no network).
//!
//! For several tars (USTAR, GNU long names, PAX records and xattrs; files of 0, 1, 4095,
//! 4096, 4097 and 10000 bytes with 4096-byte chunks; links; `./` names; duplicates;
//! prioritized files) it checks:
//! - level 0 with the 0.12.0 layout: our blob is byte-identical to the reference's (same blob
//!   digest, TOC digest, DiffID and sizes);
//! - levels 1 and 9: the reference verifies our blob with our TOC digest and lists the same
//!   files, sizes and digests as for its own blob; the decompressed streams are identical up
//!   to the TOC entry, and the TOCs are identical once `offset`s are set aside. (The DiffID
//!   itself cannot match at these levels: the TOC inside the stream holds compressed
//!   offsets, and our deflate is not Go's.)
//!
//! The reference always runs with `GOMAXPROCS=1`: otherwise it splits the layer into parts.
//! A missing `go` is a failure, not a skip: CI installs it.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use estargz::encoder::Encoder;
use estargz::gzip::{Compression, MultiMemberDecoder};
use estargz::tar::{
    PaxRecord, TarFormat, TarHeader, TarTime, encode_end_of_archive, encode_header, padding,
};
use estargz_toc::{Limits, Toc};

/// The reference program, built once by the interop harness.
fn reference() -> &'static Path {
    estargz_interop::reference(estargz_interop::work_dir!())
        .unwrap()
        .path()
}

/// Runs the reference with `GOMAXPROCS=1`; returns stdout.
fn run_ref(args: &[&str]) -> Vec<u8> {
    let out = Command::new(reference())
        .args(args)
        .env("GOMAXPROCS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "esgz-ref {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encoder_vs_reference");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(seed).wrapping_add((i / 7) as u8))
        .collect()
}

fn push(out: &mut Vec<u8>, h: &TarHeader, body: &[u8]) {
    encode_header(h, out).unwrap();
    out.extend_from_slice(body);
    out.resize(out.len() + padding(body.len() as u64) as usize, 0);
}

fn header(typeflag: u8, name: &str, size: usize, format: TarFormat) -> TarHeader {
    let mut h = TarHeader::new(typeflag, name);
    h.size = size as i64;
    h.mode = if typeflag == b'5' { 0o755 } else { 0o644 };
    h.uid = 1000;
    h.gid = 100;
    h.uname = b"alice".to_vec();
    h.gname = b"users".to_vec();
    h.mtime = Some(TarTime::from_secs(1_650_000_000));
    h.format = format;
    h
}

/// A tar in `format` with the entries every test wants, plus format-specific ones.
fn make_tar(format: TarFormat) -> Vec<u8> {
    let mut t = Vec::new();
    push(&mut t, &header(b'5', "./", 0, format), &[]);
    push(&mut t, &header(b'5', "./dir/", 0, format), &[]);
    for (i, n) in [0usize, 1, 4095, 4096, 4097, 10000].into_iter().enumerate() {
        let body = data(n, i as u8 + 3);
        push(
            &mut t,
            &header(b'0', &format!("./dir/f{n}"), n, format),
            &body,
        );
    }
    let mut sym = header(b'2', "./dir/sym", 0, format);
    sym.link_name = b"f4096".to_vec();
    push(&mut t, &sym, &[]);
    let mut hard = header(b'1', "./dir/hard", 0, format);
    hard.link_name = b"./dir/f10000".to_vec();
    push(&mut t, &hard, &[]);
    let mut other = header(b'0', "./dir/root-owned", 5, format);
    other.uid = 0;
    other.gid = 0;
    other.uname = b"root".to_vec();
    other.gname = b"root".to_vec();
    push(&mut t, &other, b"owned");
    push(&mut t, &header(b'0', "./dup", 3, format), b"old");
    push(&mut t, &header(b'6', "./fifo", 0, format), &[]);
    match format {
        TarFormat::Gnu => {
            let long = format!("./dir/{}/{}", "a".repeat(90), "b".repeat(70));
            push(&mut t, &header(b'0', &long, 700, format), &data(700, 9));
            let mut link = header(b'2', "./dir/longlink", 0, format);
            link.link_name = "c".repeat(150).into_bytes();
            push(&mut t, &link, &[]);
        }
        TarFormat::Pax => {
            let long = format!("./dir/{}", "p".repeat(130));
            push(&mut t, &header(b'0', &long, 4100, format), &data(4100, 11));
            let mut x = header(b'0', "./dir/xattrs", 2, format);
            x.pax_records = vec![
                PaxRecord {
                    key: b"SCHILY.xattr.user.comment".to_vec(),
                    value: b"<hello & bye>".to_vec(),
                },
                PaxRecord {
                    key: b"SCHILY.xattr.security.capability".to_vec(),
                    value: vec![1, 0, 0, 2, 0xff],
                },
            ];
            push(&mut t, &x, b"xa");
            let mut frac = header(b'0', "./dir/frac", 1, format);
            frac.mtime = TarTime::new(1_650_000_000, 750_000_000);
            push(&mut t, &frac, b"f");
            let mut dev = header(b'3', "./dir/null", 0, format);
            dev.dev_major = 1;
            dev.dev_minor = 3;
            push(&mut t, &dev, &[]);
        }
        _ => {}
    }
    push(&mut t, &header(b'0', "./dup", 7, format), b"new one");
    encode_end_of_archive(&mut t);
    t
}

/// One conversion's results, on either side.
#[derive(Debug, PartialEq)]
struct Outcome {
    toc_digest: String,
    diff_id: String,
    blob_size: u64,
    uncompressed_size: u64,
    blob_digest: String,
}

fn field<'a>(v: &'a serde_json::Value, k: &str) -> &'a serde_json::Value {
    v.get(k).unwrap_or_else(|| panic!("no {k} in {v}"))
}

fn reference_build(tar: &Path, blob: &Path, level: u32, chunk: u64, prio: &[&str]) -> Outcome {
    let (level, chunk, prio) = (level.to_string(), chunk.to_string(), prio.join(","));
    let mut args = vec![
        "build",
        tar.to_str().unwrap(),
        blob.to_str().unwrap(),
        "-level",
        &level,
        "-chunk-size",
        &chunk,
    ];
    if !prio.is_empty() {
        args.extend(["-prioritized", &prio]);
    }
    let v: serde_json::Value = serde_json::from_slice(&run_ref(&args)).unwrap();
    Outcome {
        toc_digest: field(&v, "toc_digest").as_str().unwrap().to_owned(),
        diff_id: field(&v, "diff_id").as_str().unwrap().to_owned(),
        blob_size: field(&v, "blob_size").as_u64().unwrap(),
        uncompressed_size: field(&v, "uncompressed_size").as_u64().unwrap(),
        blob_digest: field(&v, "blob_digest").as_str().unwrap().to_owned(),
    }
}

fn our_build(tar: &[u8], blob: &Path, level: u32, chunk: u64, prio: &[&str]) -> Outcome {
    let enc = Encoder::builder()
        .level(Compression::new(level).unwrap())
        .chunk_size(chunk)
        .prioritized(prio)
        .build()
        .unwrap();
    let mut out = Vec::new();
    let e = enc.encode_read_at(tar, &mut out).unwrap();
    std::fs::write(blob, &out).unwrap();
    Outcome {
        toc_digest: e.toc_digest.to_string(),
        diff_id: e.diff_id.to_string(),
        blob_size: e.blob_size,
        uncompressed_size: e.uncompressed_size,
        blob_digest: e.blob_digest.to_string(),
    }
}

fn decompress(path: &Path) -> Vec<u8> {
    let blob = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    MultiMemberDecoder::new(&blob[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The decompressed stream before the TOC entry's header.
fn payload_stream(path: &Path) -> Vec<u8> {
    let mut s = decompress(path);
    let needle = b"stargz.index.json\0";
    let at = s
        .windows(needle.len())
        .rposition(|w| w == needle)
        .expect("no TOC entry");
    s.truncate(at - at % 512);
    s
}

/// The TOC with every `offset` zeroed.
fn toc_without_offsets(blob: &Path) -> Toc {
    let json = run_ref(&["toc", blob.to_str().unwrap()]);
    let mut toc = Toc::from_json(&json, &Limits::default()).unwrap();
    for e in &mut toc.entries {
        e.offset = 0;
    }
    toc
}

/// Runs every comparison for one tar.
fn compare(name: &str, format: TarFormat) {
    let tar = make_tar(format);
    let d = dir();
    let tar_path = d.join(format!("{name}.tar"));
    std::fs::write(&tar_path, &tar).unwrap();
    let cases: [(u32, u64, &[&str]); 5] = [
        (0, 4096, &[]),
        (0, 4096, &["dir/hard", "./dir/f1"]),
        (0, 3, &[]),
        (9, 4096, &[]),
        (1, 1000, &["dir/f4097"]),
    ];
    for (level, chunk, prio) in cases {
        let tag = format!("{name}-l{level}-c{chunk}-p{}", prio.len());
        let ref_blob = d.join(format!("{tag}.ref.blob"));
        let our_blob = d.join(format!("{tag}.our.blob"));
        let theirs = reference_build(&tar_path, &ref_blob, level, chunk, prio);
        let ours = our_build(&tar, &our_blob, level, chunk, prio);

        // The reference opens and verifies our blob, with our TOC digest, and reads back
        // the same files as from its own blob.
        let our_list = run_ref(&["verify", our_blob.to_str().unwrap(), &ours.toc_digest]);
        let ref_list = run_ref(&["verify", ref_blob.to_str().unwrap(), &theirs.toc_digest]);
        assert_eq!(
            String::from_utf8_lossy(&our_list),
            String::from_utf8_lossy(&ref_list),
            "{tag}: files read back by the reference"
        );
        assert!(!our_list.is_empty());

        if level == 0 {
            assert_eq!(ours, theirs, "{tag}: level 0 must be byte-identical");
            assert_eq!(
                std::fs::read(&our_blob).unwrap(),
                std::fs::read(&ref_blob).unwrap(),
                "{tag}: blob bytes"
            );
        } else {
            assert!(
                payload_stream(&our_blob) == payload_stream(&ref_blob),
                "{tag}: the uncompressed streams differ before the TOC"
            );
            assert_eq!(
                toc_without_offsets(&our_blob),
                toc_without_offsets(&ref_blob),
                "{tag}: TOCs differ beyond offsets"
            );
        }
    }
}

#[test]
fn ustar_input_matches_the_reference() {
    compare("ustar", TarFormat::Ustar);
}

#[test]
fn gnu_input_matches_the_reference() {
    compare("gnu", TarFormat::Gnu);
}

#[test]
fn pax_input_matches_the_reference() {
    compare("pax", TarFormat::Pax);
}
