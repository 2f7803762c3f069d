//! zstd:chunked against the reference (Debian's estargz 0.12.0 `zstdchunked`), both ways.
//!
//! - The reference opens every zstd:chunked blob we build from the generated corpus (the
//!   tars it accepts) and from the minbase layer, verifies it against our TOC digest, reads
//!   every file chunk by chunk and lists exactly the files the input holds.
//! - Our uncompressed stream, hence our DiffID and uncompressed size, equals the
//!   reference's (a zstd:chunked stream holds no TOC, so nothing in it depends on
//!   compressed offsets), and our TOC equals its TOC once `offset`s are set aside.
//! - The reference extracts the same tree from our blob as from its own.
//! - We open the reference's zstd:chunked blobs, verify them against its TOC digest, list
//!   the same files with the same digests, and unpack them to exactly its decompressed
//!   stream.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;

use estargz::encoder::{Encoded, Encoder, Format};
use estargz::reader::{Reader, ReaderOptions};
use estargz_interop::{BuildOptions, Listing, Reference, corpus, reference, scratch_dir, work_dir};
use estargz_toc::{FooterKind, Limits, Toc};
use estargz_verifier::Digest;

fn encode(tar: &Path, out: &Path, chunk_size: Option<u64>) -> Encoded {
    let mut builder = Encoder::builder().format(Format::ZstdChunked).threads(2);
    if let Some(size) = chunk_size {
        builder = builder.chunk_size(size);
    }
    let encoder = builder.build().expect("valid options");
    let input = File::open(tar).expect("open tar");
    let output = File::create(out).expect("create blob");
    encoder
        .encode_read_at(&input, output)
        .unwrap_or_else(|e| panic!("encoding {}: {e}", tar.display()))
}

fn reference_build(
    reference: &Reference,
    tar: &Path,
    out: &Path,
    chunk_size: Option<u64>,
) -> estargz_interop::BuildOutput {
    let options = BuildOptions {
        chunk_size,
        zstd: true,
        ..BuildOptions::default()
    };
    reference
        .build(tar, out, &options)
        .unwrap_or_else(|e| panic!("the reference's zstd build of {}: {e}", tar.display()))
}

fn reference_listing(reference: &Reference, blob: &Path, toc_digest: &str) -> Listing {
    reference
        .listing(blob, toc_digest)
        .unwrap_or_else(|e| panic!("the reference rejects {}: {e}", blob.display()))
}

/// Opens `blob` with our reader (checking the TOC digest), verifies every chunk and file,
/// and lists the regular files.
fn our_listing(blob: &Path, toc_digest: &str) -> Listing {
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(Digest::parse(toc_digest).unwrap());
    let reader = Reader::open(File::open(blob).unwrap(), options)
        .unwrap_or_else(|e| panic!("we cannot open {}: {e}", blob.display()));
    assert_eq!(reader.footer().kind(), FooterKind::ZstdChunkedV1);
    let verification = reader
        .verify_all()
        .unwrap_or_else(|e| panic!("{} does not verify: {e}", blob.display()));
    verification
        .files
        .into_iter()
        .map(|f| {
            let hex = f.sha256.to_string()["sha256:".len()..].to_owned();
            (String::from_utf8_lossy(&f.path).into_owned(), (f.size, hex))
        })
        .collect()
}

/// The TOC with every `offset` set to 0 (the only field that depends on compressed sizes).
fn toc_without_offsets(json: &[u8]) -> Vec<u8> {
    let mut toc = Toc::from_json(json, &Limits::default()).unwrap();
    for e in &mut toc.entries {
        e.offset = 0;
    }
    toc.to_json()
}

/// Every path under `dir` with what it is: a file's content digest and mode, a symlink's
/// target, or a directory.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        use std::os::unix::fs::PermissionsExt;
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.file_type().is_symlink() {
                format!("symlink {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                walk(root, &path, out);
                format!("dir {mode:o}")
            } else if meta.is_file() {
                format!("file {mode:o} {}", Digest::of(&fs::read(&path).unwrap()))
            } else {
                format!("other {mode:o}")
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_reference_verifies_our_zstd_blobs_and_streams_match() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "zstd_compat_ours").unwrap();
    let mut checked = 0;
    for tar in corpus(work).unwrap().accepted() {
        let mut chunk_sizes = vec![None];
        chunk_sizes.extend(tar.suggested_chunk_sizes.iter().copied().map(Some));
        for chunk_size in chunk_sizes {
            let what = format!("{} (chunk size {chunk_size:?})", tar.file);
            let (ours, theirs) = (scratch.join("ours.zst"), scratch.join("theirs.zst"));
            let encoded = encode(&tar.path, &ours, chunk_size);
            let toc_digest = encoded.toc_digest.to_string();
            let info = reference.info(&ours).unwrap();
            assert_eq!(info.format, "zstdchunked", "{what}");
            assert_eq!(info.toc_offset, encoded.toc_offset, "{what}: TOC offset");
            assert_eq!(
                reference_listing(reference, &ours, &toc_digest),
                tar.expected_listing(),
                "{what}: files the reference reads from our blob"
            );

            let built = reference_build(reference, &tar.path, &theirs, chunk_size);
            assert_eq!(encoded.diff_id.to_string(), built.diff_id, "{what}: DiffID");
            assert_eq!(
                encoded.uncompressed_size, built.uncompressed_size,
                "{what}: uncompressed size"
            );
            assert!(
                toc_without_offsets(&reference.toc(&ours).unwrap())
                    == toc_without_offsets(&reference.toc(&theirs).unwrap()),
                "{what}: the TOCs differ in more than offsets"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} blobs checked");
}

#[test]
fn the_reference_extracts_the_same_tree_from_our_zstd_blob() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "zstd_compat_extract").unwrap();
    let mut checked = 0;
    for tar in corpus(work).unwrap().accepted() {
        let (ours, theirs) = (scratch.join("ours.zst"), scratch.join("theirs.zst"));
        let encoded = encode(&tar.path, &ours, None);
        let built = reference_build(reference, &tar.path, &theirs, None);
        let (a, b) = (scratch.join("from-ours"), scratch.join("from-theirs"));
        for dir in [&a, &b] {
            let _ = fs::remove_dir_all(dir);
        }
        reference
            .extract(&ours, &encoded.toc_digest.to_string(), &a)
            .unwrap_or_else(|e| panic!("{}: extracting our blob: {e}", tar.file));
        reference
            .extract(&theirs, &built.toc_digest, &b)
            .unwrap_or_else(|e| panic!("{}: extracting its blob: {e}", tar.file));
        let ours_tree = tree(&a);
        assert!(!ours_tree.is_empty(), "{}", tar.file);
        assert_eq!(ours_tree, tree(&b), "{}: extracted trees", tar.file);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} tars checked");
}

#[test]
fn we_read_verify_and_unpack_the_references_zstd_blobs() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "zstd_compat_theirs").unwrap();
    let mut checked = 0;
    for tar in corpus(work).unwrap().accepted() {
        let mut chunk_sizes = vec![None];
        chunk_sizes.extend(tar.suggested_chunk_sizes.iter().copied().map(Some));
        for chunk_size in chunk_sizes {
            let what = format!("{} (chunk size {chunk_size:?})", tar.file);
            let theirs = scratch.join("theirs.zst");
            let built = reference_build(reference, &tar.path, &theirs, chunk_size);
            assert_eq!(
                our_listing(&theirs, &built.toc_digest),
                tar.expected_listing(),
                "{what}: files we read from the reference's blob"
            );
            // Unpacking gives the reference's decompressed stream, plus the end-of-archive
            // a zstd:chunked stream lacks.
            let reader =
                Reader::open(File::open(&theirs).unwrap(), ReaderOptions::default()).unwrap();
            let mut unpacked = Vec::new();
            reader
                .unpack_to_tar(&mut unpacked)
                .unwrap_or_else(|e| panic!("{what}: unpacking: {e}"));
            let stream_len = usize::try_from(built.uncompressed_size).unwrap();
            assert_eq!(unpacked.len(), stream_len + 1024, "{what}");
            assert_eq!(
                Digest::of(&unpacked[..stream_len]).to_string(),
                built.diff_id,
                "{what}: unpacked stream"
            );
            assert!(unpacked[stream_len..].iter().all(|&b| b == 0), "{what}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} blobs checked");
}

#[test]
fn minbase_zstd_both_ways() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let tar = estargz_interop::minbase_tar(work).unwrap().to_path_buf();
    let scratch = scratch_dir(work, "zstd_compat_minbase").unwrap();
    let (ours, theirs) = (scratch.join("ours.zst"), scratch.join("theirs.zst"));

    let encoded = encode(&tar, &ours, None);
    let built = reference_build(reference, &tar, &theirs, None);
    assert_eq!(
        encoded.diff_id.to_string(),
        built.diff_id,
        "minbase: DiffID"
    );
    // The reference reading our blob and we reading the reference's see the same files.
    let ours_by_reference = reference_listing(reference, &ours, &encoded.toc_digest.to_string());
    let theirs_by_us = our_listing(&theirs, &built.toc_digest);
    assert_eq!(ours_by_reference, theirs_by_us, "minbase: files");
    assert!(
        ours_by_reference.len() > 3000,
        "{} files",
        ours_by_reference.len()
    );
    // At the same level (3) and chunk size, our blob is no larger than the reference's.
    assert!(
        encoded.blob_size <= built.blob_size,
        "minbase: our blob has {} bytes, the reference's {}",
        encoded.blob_size,
        built.blob_size
    );
}
