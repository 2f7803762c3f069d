//! Our encoder against the reference over the whole generated corpus and a real layer.
//!
//! For every tar (including those the reference itself refuses to convert: sparse files,
//! PAX global headers, type '7'):
//! - the reference opens our blob, verifies its TOC against our TOC digest and every chunk,
//!   and lists exactly the regular files the input holds (sizes and sha256);
//! - at level 0 (the reference's stored framing) our blob is byte-identical to the
//!   reference's: same blob digest, TOC digest, DiffID and uncompressed size;
//! - at the default level 9 the uncompressed stream up to the TOC entry equals the
//!   reference's, and our DiffID is the digest of our own decompressed blob. The DiffIDs
//!   themselves differ by design at levels 1-9: the TOC inside the stream records compressed
//!   offsets, and our deflate (zlib-rs) is not Go's.
//! - with the libdeflate backend (the `esgz` default, level 6), once per tar at the default
//!   chunk size and on the real layer: the reference verifies our blob and lists the same
//!   files.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use estargz::Encoder;
use estargz::gzip::{Backend, Compression, MultiMemberDecoder};
use estargz_interop::{
    BuildOptions, LANDMARK_SHA256, Listing, NO_PREFETCH_LANDMARK, Reference, corpus, reference,
    scratch_dir, work_dir,
};
use estargz_verifier::Digest;

fn encode(tar: &Path, out: &Path, level: u8, chunk_size: Option<u64>) -> estargz::Encoded {
    encode_with(Backend::default(), tar, out, level, chunk_size)
}

fn encode_with(
    backend: Backend,
    tar: &Path,
    out: &Path,
    level: u8,
    chunk_size: Option<u64>,
) -> estargz::Encoded {
    let mut builder = Encoder::builder()
        .level(Compression::new(u32::from(level)).expect("valid level"))
        .backend(backend)
        .threads(2);
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

fn reference_listing(reference: &Reference, blob: &Path, toc_digest: &str) -> Listing {
    reference
        .listing(blob, toc_digest)
        .unwrap_or_else(|e| panic!("the reference rejects our {}: {e}", blob.display()))
}

/// What GNU tar extracts from a tar the reference cannot convert: every regular file
/// (hardlinks excluded, as the reference's listing excludes them), sparse holes expanded.
fn gnu_tar_listing(tar: &Path, scratch: &Path) -> Listing {
    let dir = scratch.join("gnu-extract");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let status = Command::new("tar")
        .args(["--no-same-owner", "-xf"])
        .arg(tar)
        .arg("-C")
        .arg(&dir)
        .status()
        .expect("running GNU tar");
    assert!(status.success(), "GNU tar -x {}", tar.display());
    let links = hardlink_names(tar);
    let mut listing = Listing::new();
    walk(&dir, &dir, &links, &mut listing);
    listing.insert(NO_PREFETCH_LANDMARK.into(), (1, LANDMARK_SHA256.into()));
    listing
}

fn hardlink_names(tar: &Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tvf").arg(tar).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('h'))
        .filter_map(|l| l.split(" link to ").next())
        .filter_map(|l| l.split_whitespace().last().map(str::to_owned))
        .collect()
}

fn walk(root: &Path, dir: &Path, links: &[String], listing: &mut Listing) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            walk(root, &path, links, listing);
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if links.contains(&rel) {
                continue;
            }
            let bytes = fs::read(&path).unwrap();
            let hex = Digest::of(&bytes).to_string()["sha256:".len()..].to_owned();
            listing.insert(rel, (bytes.len() as u64, hex));
        }
    }
}

fn decompress(blob: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    MultiMemberDecoder::new(File::open(blob).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The decompressed stream up to (not including) the TOC's tar entry.
fn payload(blob: &Path) -> Vec<u8> {
    let mut stream = decompress(blob);
    let marker = b"stargz.index.json\0";
    let toc_header = stream
        .chunks(512)
        .rposition(|block| block.starts_with(marker))
        .expect("a TOC entry");
    stream.truncate(toc_header * 512);
    stream
}

#[test]
fn the_reference_verifies_every_blob_we_build() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "encoder_compat").unwrap();
    let (mut checked, mut one_shot) = (0, 0);
    for tar in &corpus(work).unwrap().tars {
        // Every chunk size with the default backend, and the default chunk size with
        // libdeflate at the CLI's default level (one more pass over the corpus).
        let mut runs = vec![(Backend::default(), 9, None)];
        runs.extend(
            tar.suggested_chunk_sizes
                .iter()
                .map(|&size| (Backend::default(), 9, Some(size))),
        );
        runs.push((Backend::Libdeflate, 6, None));
        for (backend, level, chunk_size) in runs {
            let what = format!(
                "{} ({backend} level {level}, chunk size {chunk_size:?})",
                tar.file
            );
            let ours = scratch.join("ours.esgz");
            let encoded = encode_with(backend, &tar.path, &ours, level, chunk_size);
            let listed = reference_listing(reference, &ours, &encoded.toc_digest.to_string());
            let expected = if tar.reference_accepts {
                tar.expected_listing()
            } else {
                gnu_tar_listing(&tar.path, &scratch)
            };
            assert_eq!(
                listed, expected,
                "{what}: files the reference reads from our blob"
            );
            let stream = decompress(&ours);
            assert_eq!(stream.len() as u64, encoded.uncompressed_size, "{what}");
            assert_eq!(Digest::of(&stream), encoded.diff_id, "{what}: DiffID");
            if backend.is_one_shot() {
                one_shot += 1;
            } else {
                checked += 1;
            }
        }
    }
    assert!(checked >= 29, "only {checked} blobs checked");
    assert_eq!(
        one_shot,
        corpus(work).unwrap().tars.len(),
        "libdeflate blobs checked"
    );
}

#[test]
fn level_0_blobs_are_byte_identical_to_the_reference() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "encoder_compat_level0").unwrap();
    let mut checked = 0;
    for tar in corpus(work).unwrap().accepted() {
        let mut chunk_sizes = vec![None];
        chunk_sizes.extend(tar.suggested_chunk_sizes.iter().copied().map(Some));
        for chunk_size in chunk_sizes {
            let what = format!("{} (chunk size {chunk_size:?})", tar.file);
            let (ours, theirs) = (scratch.join("ours.esgz"), scratch.join("theirs.esgz"));
            let encoded = encode(&tar.path, &ours, 0, chunk_size);
            let options = BuildOptions {
                level: Some(0),
                chunk_size,
                ..BuildOptions::default()
            };
            let built = reference.build(&tar.path, &theirs, &options).unwrap();
            assert_eq!(
                encoded.toc_digest.to_string(),
                built.toc_digest,
                "{what}: TOC digest"
            );
            assert_eq!(encoded.diff_id.to_string(), built.diff_id, "{what}: DiffID");
            assert_eq!(encoded.uncompressed_size, built.uncompressed_size, "{what}");
            assert_eq!(encoded.blob_size, built.blob_size, "{what}: blob size");
            assert_eq!(
                encoded.blob_digest.to_string(),
                built.blob_digest,
                "{what}: blob digest"
            );
            assert!(
                fs::read(&ours).unwrap() == fs::read(&theirs).unwrap(),
                "{what}: bytes"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} blobs checked");
}

#[test]
fn level_9_streams_match_the_reference_up_to_the_toc() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "encoder_compat_level9").unwrap();
    for tar in corpus(work).unwrap().accepted() {
        let (ours, theirs) = (scratch.join("ours.esgz"), scratch.join("theirs.esgz"));
        encode(&tar.path, &ours, 9, None);
        reference
            .build(&tar.path, &theirs, &BuildOptions::default())
            .unwrap();
        assert!(
            payload(&ours) == payload(&theirs),
            "{}: the uncompressed tar streams differ",
            tar.file
        );
    }
}

#[test]
fn real_layer_level_0_is_byte_identical_and_level_9_verifies() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let tar: PathBuf = estargz_interop::minbase_tar(work).unwrap().to_path_buf();
    let scratch = scratch_dir(work, "encoder_compat_minbase").unwrap();
    let (ours, theirs) = (scratch.join("ours.esgz"), scratch.join("theirs.esgz"));

    let encoded = encode(&tar, &ours, 0, None);
    let options = BuildOptions {
        level: Some(0),
        ..BuildOptions::default()
    };
    let built = reference.build(&tar, &theirs, &options).unwrap();
    assert_eq!(
        encoded.blob_digest.to_string(),
        built.blob_digest,
        "minbase level 0"
    );
    assert_eq!(
        encoded.diff_id.to_string(),
        built.diff_id,
        "minbase level 0"
    );
    assert_eq!(
        encoded.toc_digest.to_string(),
        built.toc_digest,
        "minbase level 0"
    );

    let encoded = encode(&tar, &ours, 9, None);
    let ours_listed = reference_listing(reference, &ours, &encoded.toc_digest.to_string());
    let built = reference
        .build(&tar, &theirs, &BuildOptions::default())
        .unwrap();
    let theirs_listed = reference_listing(reference, &theirs, &built.toc_digest);
    assert_eq!(ours_listed, theirs_listed, "minbase level 9: files");
    assert!(ours_listed.len() > 3000, "{} files", ours_listed.len());

    // libdeflate at the CLI's default level: verified, the same files, and (as `esgz
    // convert` promises by default) no larger than the reference's level-9 blob.
    let encoded = encode_with(Backend::Libdeflate, &tar, &ours, 6, None);
    let listed = reference_listing(reference, &ours, &encoded.toc_digest.to_string());
    assert_eq!(listed, theirs_listed, "minbase libdeflate level 6: files");
    assert!(
        encoded.blob_size <= built.blob_size,
        "libdeflate level 6: {} bytes, the reference's level 9: {}",
        encoded.blob_size,
        built.blob_size
    );
}
