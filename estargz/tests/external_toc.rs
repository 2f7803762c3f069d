//! The external-TOC variant (`TocPlacement::External`): the blob's layout and footer, the
//! TOC blob against the TOC member of the embedded blob of the same input, the DiffID,
//! and the reader given the TOC blob (lazy reads, verify_all, unpack, extract), with its
//! typed errors and limits.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

mod samples;
use samples::sample_tar;

use std::io::{Read, Write};

use estargz::Error;
use estargz::encoder::{Encoded, Encoder, Format, LAYER_DIGEST_ANNOTATION, TocPlacement};
use estargz::extract::ExtractOptions;
use estargz::gzip::{Compression, MultiMemberDecoder};
use estargz::reader::{Reader, ReaderOptions, TocOptions, load_external_toc, load_toc};
use estargz_toc::{Footer, FooterKind, LimitKind};
use estargz_verifier::Digest;

/// The footer as the spec's table gives it, byte by byte.
const EXTERNAL_FOOTER: [u8; 46] = [
    0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, // gzip header, FEXTRA
    0x15, 0x00, // XLEN 21
    b'S', b'G', 0x11, 0x00, // subfield SG, LEN 17
    b'S', b'T', b'A', b'R', b'G', b'Z', b'E', b'X', b'T', b'E', b'R', b'N', b'A', b'L', b'T', b'O',
    b'C', // magic
    0x01, 0x00, 0x00, 0xff, 0xff, // empty final stored block
    0, 0, 0, 0, 0, 0, 0, 0, // CRC32, ISIZE
];

fn encode(tar: &[u8], placement: TocPlacement, level: u32, threads: usize) -> (Vec<u8>, Encoded) {
    let encoder = Encoder::builder()
        .level(Compression::new(level).unwrap())
        .chunk_size(30_000)
        .threads(threads)
        .toc_placement(placement)
        .build()
        .unwrap();
    let mut blob = Vec::new();
    let encoded = encoder.encode_read_at(tar, &mut blob).unwrap();
    (blob, encoded)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiMemberDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Where the embedded blob's footer says its TOC member starts.
fn embedded_toc_offset(blob: &[u8]) -> usize {
    let footer = Footer::parse(FooterKind::Estargz, &blob[blob.len() - 51..]).unwrap();
    usize::try_from(footer.toc_offset().unwrap()).unwrap()
}

#[test]
fn blob_and_toc_blob_are_the_embedded_blob_split() {
    let (tar, _) = sample_tar(1);
    let (embedded, emb) = encode(&tar, TocPlacement::Embedded, 9, 2);
    let (blob, ext) = encode(&tar, TocPlacement::External, 9, 2);
    let toc_offset = embedded_toc_offset(&embedded);

    // The blob: the embedded blob's payload, then the 46-byte footer of the spec's table.
    assert_eq!(&blob[blob.len() - 46..], &EXTERNAL_FOOTER[..]);
    assert_eq!(Footer::external_toc().to_bytes(), EXTERNAL_FOOTER.to_vec());
    assert_eq!(&blob[..blob.len() - 46], &embedded[..toc_offset]);
    assert_eq!(ext.toc_offset, (blob.len() - 46) as u64);
    assert_eq!(ext.blob_size, blob.len() as u64);
    assert_eq!(ext.blob_digest, Digest::of(&blob));
    assert_eq!(ext.format, Format::Gzip);
    assert!(emb.external_toc.is_none());

    // The TOC blob: byte for byte the embedded blob's TOC member, from its footer offsets.
    let toc_blob = ext.external_toc.as_ref().unwrap();
    assert_eq!(
        toc_blob.bytes.as_slice(),
        &embedded[toc_offset..embedded.len() - 51]
    );
    assert_eq!(toc_blob.digest, Digest::of(&toc_blob.bytes));
    assert_eq!(toc_blob.size, toc_blob.bytes.len() as u64);
    assert_eq!(ext.toc_digest, emb.toc_digest);
    assert_eq!(ext.toc_entries, emb.toc_entries);

    // The decompressed stream is the entries alone: the embedded stream without its TOC
    // entry and end-of-archive. The DiffID covers exactly that.
    let stream = gunzip(&blob);
    let embedded_stream = gunzip(&embedded);
    let toc_tar = gunzip(&toc_blob.bytes);
    assert_eq!([stream.as_slice(), &toc_tar].concat(), embedded_stream);
    assert!(!stream.ends_with(&[0u8; 1024]), "no end-of-archive");
    assert_eq!(ext.diff_id, Digest::of(&stream));
    assert_eq!(ext.uncompressed_size, stream.len() as u64);
    assert_eq!(emb.diff_id, Digest::of(&embedded_stream));

    // Annotations: the TOC digest still applies to the blob; the TOC blob names its blob.
    assert_eq!(
        ext.annotations(),
        vec![
            (
                "containerd.io/snapshot/stargz/toc.digest",
                emb.toc_digest.to_string()
            ),
            (
                "io.containers.estargz.uncompressed-size",
                stream.len().to_string()
            ),
        ]
    );
    assert_eq!(
        toc_blob.annotations(&ext.blob_digest),
        vec![(LAYER_DIGEST_ANNOTATION, ext.blob_digest.to_string())]
    );

    // Neither depends on the thread count.
    let (blob1, ext1) = encode(&tar, TocPlacement::External, 9, 1);
    assert_eq!(blob1, blob);
    assert_eq!(ext1, ext);
}

#[test]
fn reader_given_the_toc_blob_reads_verifies_unpacks_and_extracts() {
    let (tar, files) = sample_tar(2);
    let (embedded, _) = encode(&tar, TocPlacement::Embedded, 6, 2);
    let (blob, ext) = encode(&tar, TocPlacement::External, 6, 2);
    let toc_blob = ext.external_toc.as_ref().unwrap().bytes.clone();

    let loaded = load_external_toc(&blob[..], &toc_blob[..], &TocOptions::default()).unwrap();
    assert_eq!(loaded.footer.kind(), FooterKind::ExternalToc);
    assert_eq!(loaded.digest, ext.toc_digest);
    assert_eq!(loaded.external_toc_size, Some(toc_blob.len() as u64));
    let payload_end = (blob.len() - 46) as u64;
    assert_eq!(loaded.toc_range, payload_end..payload_end);

    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(ext.toc_digest);
    let reader = Reader::open_with_external_toc(blob.clone(), &toc_blob, options).unwrap();
    let reference = Reader::open(embedded, ReaderOptions::default()).unwrap();
    assert_eq!(reader.toc_digest(), reference.toc_digest());
    assert_eq!(reader.toc(), reference.toc());
    assert_eq!(reader.payload_end(), payload_end);

    // Lazy reads, from the middle of a multi-chunk file too.
    for (name, data) in &files {
        assert_eq!(
            &reader.open_file(name).unwrap().read_to_vec().unwrap(),
            data,
            "{name}"
        );
    }
    let big = reader.open_file("b/c/big.bin").unwrap();
    let mut part = [0u8; 100];
    assert_eq!(big.read_at(59_950, &mut part).unwrap(), 100);
    assert_eq!(&part[..], &files["b/c/big.bin"][59_950..60_050]);
    assert_eq!(
        reader.open_file("b/hard").unwrap().read_to_vec().unwrap(),
        files["a/small.txt"]
    );

    // verify_all: the same files and digests as the embedded blob.
    let verified = reader.verify_all().unwrap();
    assert_eq!(verified, reference.verify_all().unwrap());
    assert_eq!(
        verified.files.len(),
        files.len() + 1,
        "files and the landmark"
    );

    // unpack_to_tar: the decompressed stream plus the end-of-archive it lacks, i.e. what
    // the embedded blob unpacks to.
    let mut unpacked = Vec::new();
    reader.unpack_to_tar(&mut unpacked).unwrap();
    assert_eq!(unpacked, [gunzip(&blob), vec![0u8; 1024]].concat());
    let mut from_embedded = Vec::new();
    reference.unpack_to_tar(&mut from_embedded).unwrap();
    assert_eq!(unpacked, from_embedded);

    // extract: the same tree.
    let dir = tempfile::tempdir().unwrap();
    let report = reader
        .extract_to(dir.path(), &ExtractOptions::default())
        .unwrap();
    assert_eq!(report.files, files.len() as u64);
    for (name, data) in &files {
        assert_eq!(
            &std::fs::read(dir.path().join(name)).unwrap(),
            data,
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_link(dir.path().join("a/link")).unwrap(),
        std::path::Path::new("small.txt")
    );

    // The TOC blob from a file works the same.
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&toc_blob).unwrap();
    let from_file = Reader::open_with_external_toc(&blob[..], &file, ReaderOptions::default());
    assert_eq!(from_file.unwrap().toc_digest(), ext.toc_digest);
}

#[test]
fn the_toc_must_be_where_the_footer_says() {
    let (tar, _) = sample_tar(3);
    let (embedded, _) = encode(&tar, TocPlacement::Embedded, 1, 1);
    let (blob, ext) = encode(&tar, TocPlacement::External, 1, 1);
    let toc_blob = ext.external_toc.unwrap().bytes;

    let err = Reader::open(&blob[..], ReaderOptions::default()).unwrap_err();
    assert!(matches!(err, Error::TocIsExternal), "{err}");
    assert!(err.to_string().contains("separate blob"), "{err}");
    let err = load_toc(&blob[..], &TocOptions::default()).unwrap_err();
    assert!(matches!(err, Error::TocIsExternal), "{err}");

    let err = Reader::open_with_external_toc(&embedded[..], &toc_blob, ReaderOptions::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TocIsEmbedded {
                footer: FooterKind::Estargz
            }
        ),
        "{err}"
    );
}

#[test]
fn a_toc_blob_from_another_blob_fails_verification() {
    // Same names and sizes, other content, stored: the TOCs differ only in digests.
    let (tar_a, _) = sample_tar(4);
    let (tar_b, _) = sample_tar(5);
    let (blob_a, ext_a) = encode(&tar_a, TocPlacement::External, 0, 1);
    let (_, ext_b) = encode(&tar_b, TocPlacement::External, 0, 1);
    let toc_b = ext_b.external_toc.unwrap().bytes;
    assert_ne!(ext_a.toc_digest, ext_b.toc_digest);

    // Without the expected TOC digest the wrong TOC opens (it fits the blob) ...
    let reader =
        Reader::open_with_external_toc(&blob_a[..], &toc_b, ReaderOptions::default()).unwrap();
    let err = reader.verify_all().unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let err = reader
        .open_file("b/zeros")
        .unwrap()
        .read_to_vec()
        .unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");

    // ... and with it, opening fails on the TOC digest.
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(ext_a.toc_digest);
    let err = Reader::open_with_external_toc(&blob_a[..], &toc_b, options).unwrap_err();
    assert!(
        matches!(&err, Error::DigestMismatch { what, .. } if what == "TOC"),
        "{err}"
    );
}

#[test]
fn toc_blob_limits_and_damage() {
    let (tar, _) = sample_tar(6);
    let (blob, ext) = encode(&tar, TocPlacement::External, 9, 1);
    let toc_blob = ext.external_toc.unwrap().bytes;

    // Its size is bounded like an embedded TOC member's.
    let mut options = TocOptions::default();
    options.limits.max_toc_bytes = toc_blob.len() as u64 - 1;
    let err = load_external_toc(&blob[..], &toc_blob[..], &options).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Toc(estargz_toc::Error::LimitExceeded {
                limit: LimitKind::TocBytes,
                ..
            })
        ),
        "{err}"
    );

    // So is what it inflates to: 4 MiB of zeros compress to a few KiB.
    let bomb =
        estargz::gzip::compress_member(&vec![0u8; 4 << 20], Compression::BEST, false).unwrap();
    let mut options = TocOptions::default();
    options.limits.max_toc_bytes = 64 << 10;
    assert!((bomb.len() as u64) < options.limits.max_toc_bytes);
    let err = load_external_toc(&blob[..], &bomb[..], &options).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Toc(estargz_toc::Error::LimitExceeded {
                limit: LimitKind::TocBytes,
                ..
            })
        ),
        "{err}"
    );

    // A truncated TOC blob is a decompression error, not a panic.
    let truncated = &toc_blob[..toc_blob.len() / 2];
    let err = load_external_toc(&blob[..], truncated, &TocOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Decompress { .. }), "{err}");
    // An empty source is not a TOC either.
    let empty: &[u8] = &[];
    let err = load_external_toc(&blob[..], empty, &TocOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::Decompress { .. } | Error::TocMember { .. }),
        "{err}"
    );
}

#[test]
fn external_toc_needs_gzip() {
    let err = Encoder::builder()
        .format(Format::ZstdChunked)
        .toc_placement(TocPlacement::External)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
}

/// Spec 1.8: for the same input, the external-TOC blob and the zstd:chunked blob have the
/// same DiffID (both streams are the entries alone).
#[cfg(feature = "zstd")]
#[test]
fn diff_id_equals_zstd_chunked() {
    let (tar, _) = sample_tar(7);
    let (_, ext) = encode(&tar, TocPlacement::External, 9, 2);
    let encoder = Encoder::builder()
        .format(Format::ZstdChunked)
        .chunk_size(30_000)
        .build()
        .unwrap();
    let zstd = encoder.encode_read_at(&tar[..], std::io::sink()).unwrap();
    assert_eq!(ext.diff_id, zstd.diff_id);
    assert_eq!(ext.uncompressed_size, zstd.uncompressed_size);
    assert_eq!(ext.toc_entries, zstd.toc_entries);
}
