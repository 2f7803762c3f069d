//! Hostile input: blobs made malicious on purpose (see `hostile/blobs.rs`). Every one must
//! fail with a typed error of the right kind, within the configured limits, never with a
//! panic, an abort or unbounded work.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

#[path = "hostile/blobs.rs"]
mod blobs;

use std::io::Read;

use estargz::reader::{Reader, ReaderOptions};
use estargz::tar::{TarError, TarLimits};
use estargz::{Encoder, Error, LimitKind};

use blobs::Opened;

fn open(blob: Vec<u8>) -> Reader<Vec<u8>> {
    Reader::open(blob, ReaderOptions::default()).unwrap()
}

/// Names of the entries of a tar stream.
fn tar_names(tar: &[u8]) -> Vec<String> {
    let entries = estargz::tar::parse_archive(tar, &TarLimits::default()).unwrap();
    entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.header.name).into_owned())
        .collect()
}

#[test]
fn honest_blobs_unpack_to_their_payload_and_verify() {
    let blob = blobs::honest_blob(9);
    let reader = open(blob);
    reader.verify_all().unwrap();
    let mut tar = Vec::new();
    reader.unpack_to_tar(&mut tar).unwrap();
    let names = tar_names(&tar);
    assert_eq!(names[1..], ["d/", "d/a", "d/b", "d/link"]);
    // The tar stream is exactly the one the encoder wrote (its DiffID).
    let mut inner = Vec::new();
    estargz::gzip::MultiMemberDecoder::new(&Opened::new(&blobs::honest_blob(9)).data[..])
        .read_to_end(&mut inner)
        .unwrap();
    assert_eq!(&tar[..inner.len()], &inner[..]);
}

/// Incompressible bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Six incompressible files of 512 KiB with a directory before each, so that whole-blob
/// verification splits the work into several tasks.
fn big_tar() -> Vec<u8> {
    let mut tar = Vec::new();
    for i in 0..6u64 {
        for (typeflag, name, data) in [
            (b'5', format!("dir{i}/"), Vec::new()),
            (b'0', format!("dir{i}/file"), noise(512 << 10, i)),
        ] {
            let mut h = estargz::tar::TarHeader::new(typeflag, name);
            h.size = data.len() as i64;
            h.mode = 0o644;
            h.uname = b"user".to_vec();
            h.mtime = Some(estargz::tar::TarTime::new(1_600_000_000, 700_000_000).unwrap());
            estargz::tar::encode_header(&h, &mut tar).unwrap();
            tar.extend_from_slice(&data);
            tar.resize(
                tar.len() + estargz::tar::padding(data.len() as u64) as usize,
                0,
            );
        }
    }
    estargz::tar::encode_end_of_archive(&mut tar);
    tar
}

fn encode(tar: &[u8], min_chunk_size: u64) -> Vec<u8> {
    let mut blob = Vec::new();
    Encoder::builder()
        .chunk_size(100_000)
        .min_chunk_size(min_chunk_size)
        .layout(estargz::Layout::Newest)
        .threads(2)
        .build()
        .unwrap()
        .encode(tar, &mut blob)
        .unwrap();
    blob
}

/// The header checks hold across verification tasks and shared members: honest blobs
/// verify with any thread count and unpack to the encoder's tar stream; an entry injected
/// into a later task is found.
#[test]
fn header_checks_span_tasks_and_shared_members() {
    let tar = big_tar();
    for min_chunk_size in [0, 300_000] {
        let blob = encode(&tar, min_chunk_size);
        for threads in [1, 3] {
            let mut options = ReaderOptions::default();
            options.threads = threads;
            let reader = Reader::open(blob.clone(), options).unwrap();
            assert_eq!(reader.verify_all().unwrap().files.len(), 7);
        }
        let reader = open(blob.clone());
        let mut unpacked = Vec::new();
        reader.unpack_to_tar(&mut unpacked).unwrap();
        let mut payload = Vec::new();
        estargz::gzip::MultiMemberDecoder::new(&Opened::new(&blob).data[..])
            .read_to_end(&mut payload)
            .unwrap();
        assert_eq!(&unpacked[..payload.len()], &payload[..]);
    }
    // An extra entry after the padding of the fifth file's last chunk.
    let mut opened = Opened::new(&encode(&tar, 0));
    let last = opened
        .toc
        .entries
        .iter()
        .filter(|e| e.name == "dir4/file")
        .map(|e| e.offset as u64)
        .max()
        .unwrap();
    let at = (512 << 10) % 100_000;
    opened.edit_members(|start, plain| {
        if start == last {
            plain.splice(at..at, blobs::tar_file("evil", b"x"));
        }
    });
    let mut options = ReaderOptions::default();
    options.threads = 3;
    let reader = Reader::open(opened.assemble(), options).unwrap();
    let err = reader.verify_all().unwrap_err();
    assert!(
        matches!(&err, Error::TarMismatch { what, .. } if what.contains("evil")),
        "{err:?}"
    );
}

#[test]
fn a_tar_entry_the_toc_does_not_list_is_rejected() {
    let reader = open(blobs::injected_entry());
    // Every listed file still reads and verifies chunk by chunk...
    assert_eq!(
        reader.open_file("d/a").unwrap().read_to_vec().unwrap(),
        blobs::a_content()
    );
    // ...but whole-blob operations see the extra header.
    let err = reader.verify_all().unwrap_err();
    assert!(
        matches!(&err, Error::TarMismatch { what, .. } if what.contains("evil")),
        "{err:?}"
    );
    let mut tar = Vec::new();
    let err = reader.unpack_to_tar(&mut tar).unwrap_err();
    assert!(
        matches!(&err, Error::TarMismatch { what, .. } if what.contains("evil")),
        "{err}"
    );
}

#[test]
fn a_header_that_differs_from_its_toc_entry_is_rejected() {
    for (field, patch) in [
        (
            "mode",
            (|e| e.mode = 0o4755) as fn(&mut estargz_toc::TocEntry),
        ),
        ("uid", |e| e.uid = 1),
        ("modtime", |e| e.modtime = "2001-01-01T00:00:00Z".into()),
        ("link", |e| e.link_name = "b".into()),
    ] {
        let mut opened = Opened::new(&blobs::honest_blob(9));
        let name = if field == "link" { "d/link" } else { "d/b" };
        patch(opened.entry(name));
        let reader = open(opened.assemble());
        let err = reader.verify_all().unwrap_err();
        assert!(matches!(err, Error::TarMismatch { .. }), "{field}: {err:?}");
        let err = reader.unpack_to_tar(&mut std::io::sink()).unwrap_err();
        assert!(matches!(err, Error::TarMismatch { .. }), "{field}: {err:?}");
    }
}

#[test]
fn a_toc_entry_without_its_header_is_rejected() {
    let mut opened = Opened::new(&blobs::honest_blob(9));
    opened.toc.entries.push(estargz_toc::TocEntry {
        name: "ghost".into(),
        kind: estargz_toc::EntryType::Dir,
        ..estargz_toc::TocEntry::default()
    });
    let reader = open(opened.assemble());
    let err = reader.verify_all().unwrap_err();
    assert!(
        matches!(&err, Error::TarMismatch { what, .. } if what.contains("ghost")),
        "{err:?}"
    );
}

#[test]
fn toc_offsets_past_the_end_or_overlapping_fail_at_open() {
    for overlap in [false, true] {
        let err = Reader::open(blobs::bad_offsets(overlap), ReaderOptions::default()).unwrap_err();
        assert!(
            matches!(err, Error::Toc(_) | Error::InvalidLayout { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn chunk_sizes_that_lie_are_caught() {
    let reader = open(blobs::lying_sizes());
    let err = reader.open_file("d/a").unwrap().read_to_vec().unwrap_err();
    assert!(
        matches!(err, Error::DigestMismatch { .. } | Error::Decompress { .. }),
        "{err:?}"
    );
    let err = reader.verify_all().unwrap_err();
    assert!(matches!(err, Error::TarMismatch { .. }), "{err:?}");
}

#[test]
fn a_member_that_inflates_to_a_gigabyte_stops_at_the_limit() {
    let reader = open(blobs::bomb(false));
    // The chunk itself is read without inflating the rest.
    assert_eq!(
        reader.open_file("d/b").unwrap().read_to_vec().unwrap(),
        b"bee"
    );
    let err = reader.verify_all().unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    let err = reader.unpack_to_tar(&mut std::io::sink()).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
}

#[test]
fn an_inner_offset_past_a_gigabyte_of_zeros_is_not_inflated() {
    let reader = open(blobs::bomb(true));
    let err = reader
        .open_file(".no.prefetch.landmark")
        .unwrap()
        .read_to_vec()
        .unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded { max, .. } if max < 4 << 20),
        "{err:?}"
    );
    let err = reader.verify_all().unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
}

#[test]
fn a_toc_with_millions_of_entries_is_bounded_by_the_limits() {
    let blob = blobs::many_entries(2_000_000);
    let mut options = ReaderOptions::default();
    options.toc.limits.max_entries = 100_000;
    let err = Reader::open(blob, options).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Toc(estargz_toc::Error::LimitExceeded {
                limit: estargz_toc::LimitKind::Entries,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn hardlink_cycles_fail_at_open() {
    let err = Reader::open(blobs::hardlink_cycle(), ReaderOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Toc(_)), "{err:?}");
}

#[test]
fn a_footer_pointing_into_the_footer_fails_at_open() {
    for into in [0, 10, 50] {
        let err =
            Reader::open(blobs::footer_into_footer(into), ReaderOptions::default()).unwrap_err();
        assert!(
            matches!(err, Error::Toc(_) | Error::TocMember { .. }),
            "{into}: {err:?}"
        );
    }
}

/// Flips one byte at each of a few offsets of every region of a blob written at level 0
/// (so that every flipped byte changes the decompressed stream or its framing) and checks
/// that opening or verifying fails with an error of the region's kind.
#[test]
fn a_corrupted_byte_in_every_region_is_caught() {
    let blob = blobs::honest_blob(0);
    let reader = open(blob.clone());
    let toc_start = reader.toc_range().start as usize;
    let a = reader.lookup("d/a").unwrap().chunks()[0];
    let first_chunk = a.blob_offset as usize;
    let footer = blob.len() - 51;
    let regions: [(&str, Vec<usize>); 4] = [
        // Member 0: the tar headers before the first file content.
        ("headers", vec![20, first_chunk / 2, first_chunk - 6]),
        (
            "chunk",
            vec![
                first_chunk + 20,
                first_chunk + 2000,
                a.blob_end as usize - 6,
            ],
        ),
        ("toc", vec![toc_start + 20, toc_start + 300, footer - 6]),
        // The magic, the subfield id, a hex digit of the TOC offset, "STARGZ" (not the
        // FTEXT flag, which means nothing).
        (
            "footer",
            vec![footer, footer + 12, footer + 20, footer + 33],
        ),
    ];
    for (region, offsets) in regions {
        for at in offsets {
            let mut bad = blob.clone();
            bad[at] ^= 0x01;
            let err = match Reader::open(bad, ReaderOptions::default()) {
                Ok(reader) => match reader.verify_all() {
                    Ok(_) => panic!("{region} at {at}: verified"),
                    Err(err) => err,
                },
                Err(err) => {
                    assert!(
                        matches!(region, "toc" | "footer"),
                        "{region} at {at}: open failed: {err:?}"
                    );
                    err
                }
            };
            let ok = match region {
                "headers" => matches!(
                    err,
                    Error::Decompress { .. } | Error::Tar(_) | Error::TarMismatch { .. }
                ),
                "chunk" => matches!(err, Error::DigestMismatch { .. } | Error::Decompress { .. }),
                _ => matches!(
                    err,
                    Error::Toc(_) | Error::TocMember { .. } | Error::Decompress { .. }
                ),
            };
            assert!(ok, "{region} at {at}: {err:?}");
        }
    }
}

/// Sparse files are bounded in real size (a few bytes of map can declare terabytes of
/// holes for the encoder to expand): with a small limit, every sparse format is refused by
/// the parser and the encoder, naming the limit.
#[test]
fn sparse_files_are_bounded_in_real_size() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tar");
    let mut limits = TarLimits::default();
    limits.max_sparse_size = 100;
    for name in [
        "gnutar-sparse-gnu.tar.gz",
        "gnutar-sparse-pax00.tar.gz",
        "gnutar-sparse-pax01.tar.gz",
        "gnutar-sparse-pax10.tar.gz",
    ] {
        let gz = std::fs::read(dir.join(name)).unwrap();
        let mut tar = Vec::new();
        estargz::gzip::MultiMemberDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .unwrap();
        let err = estargz::tar::parse_archive(&tar, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                TarError::LimitExceeded {
                    limit: LimitKind::SparseSize,
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        let err = Encoder::builder()
            .tar_limits(limits.clone())
            .build()
            .unwrap()
            .encode(tar.as_slice(), &mut Vec::new())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Tar(TarError::LimitExceeded {
                    limit: LimitKind::SparseSize,
                    ..
                })
            ),
            "{name}: {err:?}"
        );
    }
}

/// A legacy file (no `chunkDigest`) can only be checked whole: a failed check must leave
/// the caller's buffer untouched.
#[test]
fn unverified_bytes_never_reach_the_callers_buffer() {
    let mut opened = Opened::new(&blobs::honest_blob(9));
    for e in &mut opened.toc.entries {
        e.chunk_digest.clear();
    }
    opened.entry("d/a").digest = estargz_verifier::Digest::of(b"other").to_string();
    let reader = open(opened.assemble());
    let file = reader.open_file("d/a").unwrap();
    let mut buf = vec![0xAA; 10_000];
    let err = file.read_at(0, &mut buf).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(
        buf.iter().all(|&b| b == 0xAA),
        "unverified bytes were copied"
    );
    // An honest legacy file still reads whole.
    opened.entry("d/a").digest = estargz_verifier::Digest::of(&blobs::a_content()).to_string();
    let reader = open(opened.assemble());
    let file = reader.open_file("d/a").unwrap();
    assert_eq!(file.read_at(0, &mut buf).unwrap(), 10_000);
    assert_eq!(buf, blobs::a_content());
}

#[test]
fn a_member_run_over_max_fetch_bytes_is_not_fetched() {
    let mut options = ReaderOptions::default();
    options.max_fetch_bytes = 16;
    let reader = Reader::open(blobs::honest_blob(9), options).unwrap();
    // The first (and only) run of the batch is checked too.
    let err = reader.fetch_files(["d/b"]).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::LimitExceeded { limit: LimitKind::FetchBytes, max: 16, actual }
                if *actual > 16
        ),
        "{err:?}"
    );
    let err = reader.fetch_files(["d/a", "d/b"]).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    // With the default limit the same files are fetched.
    let reader = open(blobs::honest_blob(9));
    assert!(reader.fetch_files(["d/a", "d/b"]).unwrap().bytes > 16);
}

#[test]
fn a_file_size_over_max_read_to_vec_bytes_is_not_allocated() {
    let mut options = ReaderOptions::default();
    options.max_read_to_vec_bytes = 1 << 20;
    let mut opened = blobs::Opened::new(&blobs::honest_blob(9));
    opened.entry("d/a").size = 2 << 20;
    let reader = Reader::open(opened.assemble(), options.clone()).unwrap();
    let err = reader.open_file("d/a").unwrap().read_to_vec().unwrap_err();
    assert!(
        matches!(
            &err,
            Error::LimitExceeded {
                limit: LimitKind::ReadToVecBytes,
                actual: 0x20_0000,
                max: 0x10_0000
            }
        ),
        "{err:?}"
    );
    // An honest file under the limit is read.
    let reader = Reader::open(blobs::honest_blob(9), options).unwrap();
    let file = reader.open_file("d/a").unwrap();
    assert_eq!(file.read_to_vec().unwrap(), blobs::a_content());
}

/// The encoder holds a TOC entry per input entry in memory: an input with more entries
/// than `TarLimits::max_entries` is refused, naming the limit, for plain and gzip input.
#[test]
fn an_input_over_max_entries_is_refused_by_the_encoder() {
    let tar = blobs::sample_tar(); // 4 entries
    let gz = estargz::gzip::compress_member(&tar, estargz::Compression::FAST, false).unwrap();
    let encoder = |max_entries| {
        let mut limits = TarLimits::default();
        limits.max_entries = max_entries;
        Encoder::builder().tar_limits(limits).build().unwrap()
    };
    for input in [&tar, &gz] {
        let err = encoder(3)
            .encode(input.as_slice(), &mut Vec::new())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Tar(TarError::LimitExceeded {
                    limit: LimitKind::TarEntries,
                    value: 4,
                    max: 3,
                    ..
                })
            ),
            "{err:?}"
        );
        encoder(4)
            .encode(input.as_slice(), &mut Vec::new())
            .unwrap();
    }
}

/// A `.tar.gz` input split into more gzip members than `TarLimits::max_gzip_members` is
/// refused before it is decompressed to its end, with the limit named, whether it is
/// streamed or read in place.
#[test]
fn a_gzip_input_over_max_gzip_members_is_refused_by_the_encoder() {
    let tar = blobs::sample_tar();
    let third = tar.len() / 3;
    let gz: Vec<u8> = tar
        .chunks(third + 1)
        .flat_map(|piece| {
            estargz::gzip::compress_member(piece, estargz::Compression::FAST, false).unwrap()
        })
        .collect();
    let encoder = |max_gzip_members| {
        let mut limits = TarLimits::default();
        limits.max_gzip_members = max_gzip_members;
        Encoder::builder().tar_limits(limits).build().unwrap()
    };
    let is_member_limit = |err: &Error| {
        matches!(
            err,
            Error::LimitExceeded {
                limit: LimitKind::GzipMembers,
                actual: 3,
                max: 2
            }
        )
    };
    let err = encoder(2)
        .encode(gz.as_slice(), &mut Vec::new())
        .unwrap_err();
    assert!(is_member_limit(&err), "{err:?}");
    let err = encoder(2)
        .encode_read_at(gz.as_slice(), &mut Vec::new())
        .unwrap_err();
    assert!(is_member_limit(&err), "{err:?}");
    let mut a = Vec::new();
    let mut b = Vec::new();
    encoder(3).encode(gz.as_slice(), &mut a).unwrap();
    encoder(3).encode(tar.as_slice(), &mut b).unwrap();
    assert_eq!(a, b);
}

/// Go's reader accepts a tar that ends inside the padding after its last entry (the
/// reference then converts it); so do we, also when the last payload is larger than the
/// encoder's read-ahead window, and the blob is the one the whole tar gives.
#[test]
fn a_tar_cut_inside_its_last_padding_encodes_as_the_whole_one() {
    let big = noise(300_033, 7); // 511 bytes of padding, past the 256 KiB window
    let mut whole = blobs::tar_file("small", b"abc");
    whole.extend(blobs::tar_file("big", &big));
    let cut = whole.len() - 100;
    whole.resize(whole.len() + 1024, 0);
    let encoder = Encoder::builder().threads(1).build().unwrap();
    let mut expected = Vec::new();
    encoder.encode(whole.as_slice(), &mut expected).unwrap();
    for input in [&whole[..cut], &whole[..cut - 411]] {
        let mut blob = Vec::new();
        encoder.encode_read_at(input, &mut blob).unwrap();
        assert_eq!(blob, expected);
    }
    // A payload cut short is still an error.
    let err = encoder
        .encode_read_at(&whole[..cut - 412], &mut Vec::new())
        .unwrap_err();
    assert!(
        matches!(err, Error::Tar(TarError::Truncated { .. })),
        "{err:?}"
    );
}
