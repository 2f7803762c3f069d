//! The lazy verified reader against blobs built in the test.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use estargz::Error;
use estargz::reader::{Reader, ReaderOptions};
use estargz_verifier::Digest;
use proptest::prelude::*;
use support::BlobBuilder;

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn sample(chunk_size: u64, share: Option<u64>) -> BlobBuilder {
    let mut b = BlobBuilder::new(chunk_size)
        .dir("a/")
        .file("a/empty", Vec::new())
        .file("a/one", content(1, 1))
        .file("a/four", content(4, 2))
        .file("a/five", content(5, 3))
        .file("a/nine", content(9, 4))
        .symlink("a/sym", "nine")
        .file("b/seventeen", content(17, 5))
        .hardlink("b/hl", "a/nine")
        .file("c", content(600, 6));
    b.share_below = share;
    b
}

fn open(blob: Vec<u8>) -> Reader<Vec<u8>> {
    Reader::open(blob, ReaderOptions::default()).unwrap()
}

fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a/empty", Vec::new()),
        ("a/one", content(1, 1)),
        ("a/four", content(4, 2)),
        ("a/five", content(5, 3)),
        ("a/nine", content(9, 4)),
        ("b/seventeen", content(17, 5)),
        ("b/hl", content(9, 4)),
        ("c", content(600, 6)),
    ]
}

fn check_every_range(reader: &Reader<Vec<u8>>) {
    for (path, expected) in files() {
        let file = reader.open_file(path).unwrap();
        assert_eq!(file.size(), expected.len() as u64, "{path}");
        // Every offset and length for small files; a sample of them for larger ones.
        let step = if expected.len() > 40 { 37 } else { 1 };
        for offset in (0..=expected.len() + 1).step_by(step) {
            for len in (0..=expected.len() + 1)
                .step_by(step)
                .chain([1, 2, 3, 4, 5])
            {
                let mut buf = vec![0xAA; len];
                let n = file.read_at(offset as u64, &mut buf).unwrap();
                let want = expected
                    .get(offset..)
                    .map_or(&[][..], |rest| &rest[..len.min(rest.len())]);
                assert_eq!(&buf[..n], want, "{path} at {offset} len {len}");
            }
        }
        assert_eq!(file.read_to_vec().unwrap(), expected);
        let mut out = Vec::new();
        assert_eq!(file.copy_to(&mut out).unwrap(), expected.len() as u64);
        assert_eq!(out, expected);
    }
}

#[test]
fn every_range_of_every_file_with_chunk_size_4() {
    let (blob, _) = sample(4, None).build();
    check_every_range(&open(blob));
}

#[test]
fn every_range_with_shared_members_and_inner_offsets() {
    let (blob, parts) = sample(4, Some(1000)).build();
    assert!(parts.toc.entries.iter().any(|e| e.inner_offset > 0));
    let reader = open(blob);
    check_every_range(&reader);
    // Without a cache, every read decompresses again and still verifies.
    let mut options = ReaderOptions::default();
    options.cache_bytes = 0;
    let reader = Reader::open(reader.source().clone(), options).unwrap();
    check_every_range(&reader);
}

#[test]
fn verify_all_lists_every_regular_file() {
    for share in [None, Some(1000), Some(40)] {
        let (blob, parts) = sample(4, share).build();
        let reader = open(blob);
        let v = reader.verify_all().unwrap();
        assert_eq!(v.toc_digest, parts.toc_digest());
        let got: Vec<(String, u64, Digest)> = v
            .files
            .iter()
            .map(|f| (String::from_utf8(f.path.clone()).unwrap(), f.size, f.sha256))
            .collect();
        let want: Vec<(String, u64, Digest)> = files()
            .into_iter()
            .filter(|(p, _)| *p != "b/hl")
            .map(|(p, c)| (p.to_owned(), c.len() as u64, Digest::of(&c)))
            .collect();
        assert_eq!(got, want, "share {share:?}");
    }
}

#[test]
fn verify_all_is_independent_of_thread_count() {
    let mut b = BlobBuilder::new(4096);
    for i in 0..200 {
        b = b.file(&format!("f{i}"), content(i * 997 % 50_000, i as u8));
    }
    let (blob, _) = b.build();
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        let mut options = ReaderOptions::default();
        options.threads = threads;
        let reader = Reader::open(blob.clone(), options).unwrap();
        results.push(reader.verify_all().unwrap());
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
}

#[test]
fn hardlinks_read_their_target_and_other_types_are_rejected() {
    let (blob, _) = sample(4, None).build();
    let reader = open(blob);
    assert_eq!(
        reader.open_file("./b/hl").unwrap().read_to_vec().unwrap(),
        content(9, 4)
    );
    assert_eq!(reader.lookup("b/hl").unwrap().path(), b"a/nine");
    assert!(matches!(
        reader.open_file("a/sym"),
        Err(Error::NotRegularFile { .. })
    ));
    assert!(matches!(
        reader.open_file("a"),
        Err(Error::NotRegularFile { .. })
    ));
    assert!(matches!(
        reader.open_file("nope"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn cursor_reads_and_seeks() {
    let (blob, _) = sample(4, None).build();
    let reader = open(blob);
    let file = reader.open_file("c").unwrap();
    let mut cursor = file.cursor();
    let mut all = Vec::new();
    cursor.read_to_end(&mut all).unwrap();
    assert_eq!(all, content(600, 6));
    cursor.seek(SeekFrom::End(-10)).unwrap();
    let mut tail = Vec::new();
    cursor.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, content(600, 6)[590..]);
    assert!(cursor.seek(SeekFrom::Current(-1000)).is_err());
}

/// Flips one byte of chunk data inside a stored (level 0) member.
fn corrupt_chunk(parts: &mut support::Parts, path: &str) {
    let entry = parts.toc.entries.iter().find(|e| e.name == path).unwrap();
    // Stored block: 10-byte gzip header, 5-byte block header, then the data.
    let at = entry.offset as usize + 15 + entry.inner_offset as usize;
    parts.data[at] ^= 0xff;
}

#[test]
fn corrupted_chunk_bytes_are_a_digest_mismatch() {
    let mut b = sample(4, None);
    b.level = 0;
    let mut parts = b.parts();
    corrupt_chunk(&mut parts, "a/five");
    let reader = open(parts.assemble());
    let file = reader.open_file("a/five").unwrap();
    let err = file.read_at(0, &mut [0; 2]).unwrap_err();
    match &err {
        Error::DigestMismatch { what, .. } => {
            assert!(
                what.contains("a/five") && what.contains("offset 0"),
                "{what}"
            )
        }
        other => panic!("{other:?}"),
    }
    // The second chunk is intact and readable on its own.
    let mut one = [0];
    assert_eq!(file.read_at(4, &mut one).unwrap(), 1);
    assert_eq!(one[0], content(5, 3)[4]);
    let err = reader.verify_all().unwrap_err();
    assert!(
        matches!(err, Error::DigestMismatch { .. } | Error::Decompress { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("a/five"), "{err}");
    assert!(reader.unpack_to_tar(&mut Vec::new()).is_err());
}

#[test]
fn wrong_chunk_digest_in_the_toc_is_a_digest_mismatch() {
    let mut parts = sample(4, None).parts();
    let e = parts
        .toc
        .entries
        .iter_mut()
        .find(|e| e.name == "b/seventeen" && e.chunk_offset == 8)
        .unwrap();
    e.chunk_digest = Digest::of(b"something else").to_string();
    let reader = open(parts.assemble());
    let file = reader.open_file("b/seventeen").unwrap();
    assert_eq!(file.read_at(0, &mut [0; 8]).unwrap(), 8);
    let err = file.read_at(7, &mut [0; 2]).unwrap_err();
    assert!(
        matches!(&err, Error::DigestMismatch { what, .. } if what.contains("offset 8")),
        "{err:?}"
    );
    let err = reader.verify_all().unwrap_err();
    assert!(
        matches!(&err, Error::DigestMismatch { what, .. } if what.contains("b/seventeen")),
        "{err:?}"
    );
    // Opting out of verification is explicit and returns the bytes unchecked.
    let mut options = ReaderOptions::default();
    options.verify_chunks = false;
    let reader = Reader::open(parts.assemble(), options).unwrap();
    let data = reader
        .open_file("b/seventeen")
        .unwrap()
        .read_to_vec()
        .unwrap();
    assert_eq!(data, content(17, 5));
}

#[test]
fn wrong_file_digest_fails_whole_reads_and_verification() {
    let mut parts = sample(4, None).parts();
    let e = parts
        .toc
        .entries
        .iter_mut()
        .find(|e| e.name == "a/nine")
        .unwrap();
    e.digest = Digest::of(b"x").to_string();
    let reader = open(parts.assemble());
    let file = reader.open_file("a/nine").unwrap();
    assert_eq!(file.read_at(1, &mut [0; 8]).unwrap(), 8);
    assert!(matches!(
        file.read_to_vec(),
        Err(Error::DigestMismatch { .. })
    ));
    assert!(matches!(
        reader.verify_all(),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn expected_toc_digest_is_checked() {
    let (blob, parts) = sample(4, None).build();
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(parts.toc_digest());
    assert!(Reader::open(blob.clone(), options.clone()).is_ok());
    options.toc.expected_digest = Some(Digest::EMPTY);
    assert!(matches!(
        Reader::open(blob, options),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn offsets_past_the_data_or_overlapping_are_rejected_at_open() {
    let parts = sample(4, None).parts();
    let mut past = parts.clone();
    let e = past.toc.entries.iter_mut().find(|e| e.name == "c").unwrap();
    e.offset = past.data.len() as i64 + 10;
    assert!(matches!(
        Reader::open(past.assemble(), ReaderOptions::default()),
        Err(Error::Toc(_))
    ));

    let mut overlap = parts.clone();
    let first = overlap
        .toc
        .entries
        .iter()
        .find(|e| e.name == "a/five")
        .unwrap()
        .offset;
    let e = overlap
        .toc
        .entries
        .iter_mut()
        .find(|e| e.name == "a/nine")
        .unwrap();
    e.offset = first;
    assert!(Reader::open(overlap.assemble(), ReaderOptions::default()).is_err());

    // Shared members whose inner offsets overlap.
    let mut shared = sample(4, Some(1000)).parts();
    let e = shared
        .toc
        .entries
        .iter_mut()
        .find(|e| e.name == "a/nine")
        .unwrap();
    e.inner_offset = 1;
    assert!(matches!(
        Reader::open(shared.assemble(), ReaderOptions::default()),
        Err(Error::InvalidLayout { .. })
    ));
}

#[test]
fn truncated_blobs_and_short_members_fail() {
    let (blob, _) = sample(4, None).build();
    for cut in [1, 30, blob.len() / 2] {
        assert!(Reader::open(blob[..blob.len() - cut].to_vec(), ReaderOptions::default()).is_err());
    }
    // A file whose member ends before the TOC's size: the last file, 512 bytes (no padding).
    let mut parts = BlobBuilder::new(4096).file("f", content(512, 9)).parts();
    let e = parts
        .toc
        .entries
        .iter_mut()
        .find(|e| e.name == "f")
        .unwrap();
    let mut longer = content(512, 9);
    longer.push(0);
    e.size = 513;
    e.digest = Digest::of(&longer).to_string();
    e.chunk_digest = e.digest.clone();
    let reader = open(parts.assemble());
    let err = reader.open_file("f").unwrap().read_to_vec().unwrap_err();
    assert!(
        matches!(&err, Error::Decompress { reason, .. } if reason.contains("early")),
        "{err:?}"
    );
    // Whole-blob verification sees first that the tar header says 512 bytes.
    assert!(matches!(
        reader.verify_all(),
        Err(Error::TarMismatch { .. })
    ));
}

#[test]
fn a_member_that_inflates_far_beyond_its_chunk_is_a_limit_error() {
    let (blob, _) = BlobBuilder::new(4)
        .file("bomb", b"abcd".to_vec())
        .raw(vec![0; 2 << 20])
        .file("after", b"xy".to_vec())
        .build();
    let mut options = ReaderOptions::default();
    options.header_slack = 16 << 10;
    let reader = Reader::open(blob, options).unwrap();
    // The chunk itself is fine and reading it never inflates the rest.
    assert_eq!(
        reader.open_file("bomb").unwrap().read_to_vec().unwrap(),
        b"abcd"
    );
    let err = reader.verify_all().unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    let err = reader.unpack_to_tar(&mut std::io::sink()).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
}

#[test]
fn chunk_size_limit_bounds_memory() {
    let (blob, _) = BlobBuilder::new(1 << 20)
        .file("big", content(1 << 20, 1))
        .build();
    let mut options = ReaderOptions::default();
    options.max_chunk_bytes = 1000;
    let reader = Reader::open(blob, options).unwrap();
    let err = reader
        .open_file("big")
        .unwrap()
        .read_at(0, &mut [0; 1])
        .unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    // Whole-blob verification streams and needs no chunk buffer.
    assert!(reader.verify_all().is_ok());
}

#[test]
fn legacy_files_without_chunk_digests() {
    let mut parts = sample(4, None).parts();
    for e in &mut parts.toc.entries {
        e.chunk_digest.clear();
    }
    let reader = open(parts.assemble());
    // One chunk: checked against the file digest.
    assert_eq!(
        reader
            .open_file("a/four")
            .unwrap()
            .read_at(1, &mut [0; 2])
            .unwrap(),
        2
    );
    // Several chunks: only whole reads can be verified.
    let file = reader.open_file("a/nine").unwrap();
    assert!(matches!(
        file.read_at(1, &mut [0; 2]),
        Err(Error::Unverifiable { .. })
    ));
    assert_eq!(file.read_to_vec().unwrap(), content(9, 4));
    let mut all = [0; 9];
    assert_eq!(file.read_at(0, &mut all).unwrap(), 9);
    let mut out = Vec::new();
    file.copy_to(&mut out).unwrap();
    assert_eq!(out, content(9, 4));
    assert_eq!(reader.verify_all().unwrap().files.len(), 7);
    let mut tar = Vec::new();
    reader.unpack_to_tar(&mut tar).unwrap();
}

#[test]
fn unpack_gives_the_payload_with_an_end_of_archive() {
    for share in [None, Some(1000)] {
        let (blob, parts) = sample(4, share).build();
        let reader = open(blob);
        let mut tar = Vec::new();
        let n = reader.unpack_to_tar(&mut tar).unwrap();
        assert_eq!(n as usize, tar.len());
        assert_eq!(&tar[..parts.payload.len()], &parts.payload[..]);
        assert_eq!(tar.len(), parts.payload.len() + 1024);
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 10);
    }
}

#[test]
fn planning_merges_ranges_and_fetching_fills_the_cache() {
    let (blob, _) = sample(4, None).build();
    let reader = open(blob);
    let ranges = reader.plan_files(["a/nine"]).unwrap();
    assert_eq!(ranges.len(), 1, "adjacent members merge: {ranges:?}");
    let nine = reader.lookup("a/nine").unwrap();
    let chunks = nine.chunks();
    assert_eq!(ranges[0], chunks[0].blob_offset..chunks[2].blob_end);
    let part = reader.plan_reads([("a/nine", 4..5)]).unwrap();
    assert_eq!(part, vec![chunks[1].blob_range()]);
    assert!(reader.plan_files(["zzz"]).is_err());
    assert_eq!(reader.prefetch_range(), None);

    let summary = reader.fetch_files(["a/nine", "b/seventeen", "c"]).unwrap();
    assert_eq!(summary.batches, 1);
    assert_eq!(summary.chunks, 3 + 5 + 150);
    let before = reader.stats();
    assert_eq!(
        reader.open_file("c").unwrap().read_to_vec().unwrap(),
        content(600, 6)
    );
    let after = reader.stats();
    assert_eq!(
        after.chunk_reads, before.chunk_reads,
        "served from the cache"
    );
}

#[test]
fn prefetch_reads_up_to_the_landmark_in_one_batch() {
    let (blob, _) = BlobBuilder::new(4)
        .file("hot", content(10, 1))
        .file(".prefetch.landmark", vec![0x0f])
        .file("cold", content(10, 2))
        .build();
    let reader = open(blob);
    let landmark = reader.lookup(".prefetch.landmark").unwrap().chunks()[0].blob_offset;
    assert_eq!(reader.prefetch_range(), Some(0..landmark));
    let summary = reader.prefetch().unwrap();
    assert_eq!((summary.batches, summary.chunks), (1, 3));
    let before = reader.stats().chunk_reads;
    reader.open_file("hot").unwrap().read_to_vec().unwrap();
    assert_eq!(reader.stats().chunk_reads, before);

    let (blob, _) = BlobBuilder::new(4)
        .file(".no.prefetch.landmark", vec![0x0f])
        .file("cold", content(10, 2))
        .build();
    assert_eq!(open(blob).prefetch_range(), None);
}

#[test]
fn reads_from_many_threads() {
    let (blob, _) = sample(4, Some(40)).build();
    let reader = Arc::new(open(blob));
    std::thread::scope(|s| {
        for t in 0..4 {
            let reader = Arc::clone(&reader);
            s.spawn(move || {
                for round in 0..20 {
                    for (path, expected) in files() {
                        let file = reader.open_file(path).unwrap();
                        let off = (round + t) % (expected.len() + 1);
                        let mut buf = vec![0; 7];
                        let n = file.read_at(off as u64, &mut buf).unwrap();
                        assert_eq!(&buf[..n], &expected[off..(off + 7).min(expected.len())]);
                    }
                }
            });
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_reads_equal_the_content(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        chunk in 1u64..700,
        share in proptest::option::of(1u64..2000),
        cache in 0u64..4000,
        reads in proptest::collection::vec((0usize..3100, 0usize..800), 1..20),
    ) {
        let mut b = BlobBuilder::new(chunk).file("x", b"pre".to_vec()).file("f", data.clone());
        b.share_below = share;
        let (blob, _) = b.build();
        let mut options = ReaderOptions::default();
        options.cache_bytes = cache;
        let reader = Reader::open(blob, options).unwrap();
        let file = reader.open_file("f").unwrap();
        for (off, len) in reads {
            let mut buf = vec![0; len];
            let n = file.read_at(off as u64, &mut buf).unwrap();
            let want = data.get(off..).map_or(&[][..], |r| &r[..len.min(r.len())]);
            prop_assert_eq!(&buf[..n], want);
        }
        prop_assert!(reader.verify_all().is_ok());
    }
}

/// A TOC may claim any size: buffers sized from it must fail with a typed error, never
/// abort the process on an impossible allocation.
#[test]
fn absurd_sizes_in_the_toc_are_typed_errors() {
    let mut parts = BlobBuilder::new(1 << 20).file("big", vec![7u8; 10]).parts();
    let entry = parts
        .toc
        .entries
        .iter_mut()
        .find(|e| e.name == "big")
        .unwrap();
    entry.size = 1 << 40;
    entry.chunk_size = 0;
    let reader = open(parts.assemble());
    let mut out = Vec::new();
    // Unpacking sees first that the tar header says 10 bytes.
    assert!(matches!(
        reader.unpack_to_tar(&mut out),
        Err(Error::TarMismatch { .. })
    ));
    assert!(matches!(
        reader.open_file("big").and_then(|f| f.read_to_vec()),
        Err(Error::LimitExceeded { .. })
    ));
}
