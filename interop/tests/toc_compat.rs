//! The foundation's interop promise: for every tar of the generated corpus that the
//! reference accepts, built by the reference with several option sets,
//!
//! - our footer detection finds the reference's TOC offset,
//! - the TOC JSON we extract is the reference's, and hashes to its TOC digest,
//! - parsing that JSON and writing it again reproduces it byte for byte,
//! - our index accepts the TOC and finds every regular file the reference lists, with the
//!   same size and digest.

use std::collections::HashMap;
use std::fs;

use estargz::reader::{TocOptions, load_toc};
use estargz_interop::{BuildOptions, corpus, reference, scratch_dir, work_dir};
use estargz_toc::{EntryType, FooterKind, Index, Limits, Node, Toc};

/// The option sets every accepted tar is built with.
fn option_sets(suggested_chunk_sizes: &[u64]) -> Vec<(String, BuildOptions)> {
    let mut sets = vec![
        ("default".to_owned(), BuildOptions::default()),
        (
            "level0".to_owned(),
            BuildOptions {
                level: Some(0),
                ..BuildOptions::default()
            },
        ),
        (
            "level1-chunk1000".to_owned(),
            BuildOptions {
                level: Some(1),
                chunk_size: Some(1000),
                ..BuildOptions::default()
            },
        ),
    ];
    for &size in suggested_chunk_sizes {
        sets.push((
            format!("chunk{size}"),
            BuildOptions {
                chunk_size: Some(size),
                ..BuildOptions::default()
            },
        ));
    }
    sets
}

#[test]
fn toc_json_footer_and_index_match_the_reference() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let corpus = corpus(work).unwrap();
    let scratch = scratch_dir(work, "toc_compat").unwrap();
    let mut checked = 0;
    for tar in corpus.accepted() {
        for (label, options) in option_sets(&tar.suggested_chunk_sizes) {
            let what = format!("{} ({label})", tar.file);
            let blob_path = scratch.join(format!("{}.{label}.esgz", tar.file));
            let built = reference.build(&tar.path, &blob_path, &options).unwrap();
            let info = reference.info(&blob_path).unwrap();
            let go_json = reference.toc(&blob_path).unwrap();
            let blob = fs::read(&blob_path).unwrap();

            let loaded = load_toc(&blob, &TocOptions::default())
                .unwrap_or_else(|e| panic!("{what}: loading the TOC: {e}"));
            assert_eq!(loaded.footer.kind(), FooterKind::Estargz, "{what}");
            assert_eq!(
                loaded.toc_range.start, info.toc_offset,
                "{what}: TOC offset"
            );
            assert_eq!(loaded.json, go_json, "{what}: TOC JSON bytes");
            assert_eq!(
                loaded.digest.to_string(),
                built.toc_digest,
                "{what}: TOC digest"
            );
            assert_eq!(
                info.toc_digest, built.toc_digest,
                "{what}: reference consistency"
            );
            let fits_tail_guess =
                loaded.blob_size - loaded.toc_range.start <= TocOptions::default().tail_guess;
            let expected_reads = if fits_tail_guess { 1 } else { 2 };
            assert_eq!(
                loaded.reads, expected_reads,
                "{what}: reads to load the TOC"
            );

            let reparsed = Toc::from_json(&go_json, &Limits::default()).unwrap();
            assert_eq!(reparsed, loaded.toc, "{what}");
            assert!(
                reparsed.to_json() == go_json,
                "{what}: parse -> write differs from the reference's TOC JSON"
            );

            let index = Index::build(loaded.toc, loaded.toc_range.start, &Limits::default())
                .unwrap_or_else(|e| panic!("{what}: index: {e}"));
            // Invalid UTF-8 in names reaches the TOC as \ufffd escapes, which read back as
            // 0xFF bytes; the manifest, like Go, spells each as U+FFFD.
            let by_lossy_path: HashMap<String, Node<'_>> = index
                .nodes()
                .map(|n| (String::from_utf8_lossy(n.path()).into_owned(), n))
                .collect();
            for expected in &tar.expected_regular_files {
                let name = &expected.path;
                let node = by_lossy_path
                    .get(name)
                    .unwrap_or_else(|| panic!("{what}: {name} not in our index"));
                assert_eq!(node.kind(), &EntryType::Reg, "{what}: {name}");
                assert_eq!(node.size(), expected.size, "{what}: {name}");
                let digest = &node.entry().unwrap().digest;
                assert_eq!(
                    digest,
                    &format!("sha256:{}", expected.sha256),
                    "{what}: {name}"
                );
                let covered: u64 = node.chunks().iter().map(|c| c.size).sum();
                assert_eq!(
                    covered, expected.size,
                    "{what}: {name}: chunks cover the file"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} blobs checked");
}

#[test]
fn real_layer_toc_round_trips_byte_for_byte() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let tar = estargz_interop::minbase_tar(work).unwrap();
    let scratch = scratch_dir(work, "toc_compat_minbase").unwrap();
    let blob_path = scratch.join("minbase.esgz");
    let built = reference
        .build(tar, &blob_path, &BuildOptions::default())
        .unwrap();
    let info = reference.info(&blob_path).unwrap();
    let blob = fs::File::open(&blob_path).unwrap();

    let loaded = load_toc(&blob, &TocOptions::default()).unwrap();
    assert_eq!(loaded.toc_range.start, info.toc_offset);
    assert_eq!(loaded.digest.to_string(), built.toc_digest);
    assert_eq!(loaded.json, reference.toc(&blob_path).unwrap());
    assert!(
        loaded.toc.to_json() == loaded.json,
        "minbase TOC: parse -> write differs"
    );
    let entries = loaded.toc.entries.len();
    assert!(
        entries > 5000,
        "a minbase root has thousands of entries, got {entries}"
    );
    let index = Index::build(loaded.toc, loaded.toc_range.start, &Limits::default()).unwrap();
    let bash = index
        .lookup("usr/bin/bash")
        .expect("usr/bin/bash in the index");
    assert_eq!(bash.kind(), &EntryType::Reg);
    assert!(bash.size() > 100_000);
}
