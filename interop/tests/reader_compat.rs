//! Our lazy reader against blobs the reference builds, over the whole generated corpus and a
//! real layer: opening with the reference's TOC digest, `verify_all` must accept every blob
//! and list exactly the regular files (path, size, sha256) the reference's own verification
//! lists, and reading each file through the lazy reader must give the same bytes.

use std::fs::File;
use std::path::Path;

use estargz::reader::{Reader, ReaderOptions};
use estargz_interop::{BuildOptions, Listing, Reference, corpus, reference, scratch_dir, work_dir};
use estargz_verifier::Digest;

fn hex(digest: &Digest) -> String {
    digest.to_string()["sha256:".len()..].to_owned()
}

/// Opens `blob` with the expected TOC digest, verifies everything, and checks the listing
/// against the reference's; reads every file lazily when `read_files` is set.
fn check(reference: &Reference, blob: &Path, toc_digest: &str, read_files: bool, what: &str) {
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(toc_digest.parse().expect("a sha256 digest"));
    let reader = Reader::open(File::open(blob).expect("open blob"), options)
        .unwrap_or_else(|e| panic!("{what}: open: {e}"));
    let verified = reader
        .verify_all()
        .unwrap_or_else(|e| panic!("{what}: verify_all: {e}"));
    let ours: Listing = verified
        .files
        .iter()
        .map(|f| {
            let path = String::from_utf8_lossy(&f.path).into_owned();
            (path, (f.size, hex(&f.sha256)))
        })
        .collect();
    let theirs = reference
        .listing(blob, toc_digest)
        .expect("the reference verifies its own blob");
    assert_eq!(ours, theirs, "{what}: verified files");
    if read_files {
        for file in &verified.files {
            let content = reader
                .open_file(&file.path)
                .and_then(|f| f.read_to_vec())
                .unwrap_or_else(|e| panic!("{what}: reading {:?}: {e}", file.path));
            assert_eq!(Digest::of(&content), file.sha256, "{what}: {:?}", file.path);
        }
    }
}

#[test]
fn we_verify_and_read_every_reference_blob() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "reader_compat").unwrap();
    let mut checked = 0;
    for tar in corpus(work).unwrap().accepted() {
        let mut option_sets = vec![
            BuildOptions::default(),
            BuildOptions {
                level: Some(0),
                ..BuildOptions::default()
            },
        ];
        for &size in &tar.suggested_chunk_sizes {
            option_sets.push(BuildOptions {
                chunk_size: Some(size),
                ..BuildOptions::default()
            });
        }
        for options in option_sets {
            let what = format!("{} ({options:?})", tar.file);
            let blob = scratch.join("theirs.esgz");
            let built = reference.build(&tar.path, &blob, &options).unwrap();
            let many_files = tar.expected_regular_files.len() > 1000;
            check(reference, &blob, &built.toc_digest, !many_files, &what);
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} blobs checked");
}

#[test]
fn we_verify_a_real_layer_built_by_the_reference() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let tar = estargz_interop::minbase_tar(work).unwrap();
    let scratch = scratch_dir(work, "reader_compat_minbase").unwrap();
    let blob = scratch.join("minbase.esgz");
    let built = reference
        .build(tar, &blob, &BuildOptions::default())
        .unwrap();
    check(reference, &blob, &built.toc_digest, false, "minbase");
}
