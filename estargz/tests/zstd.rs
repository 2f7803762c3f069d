//! zstd:chunked: the encoder's layout (frames, skippable TOC frame, footer, annotations,
//! DiffID), thread-count independence, and the reader on such blobs (lazy verified reads,
//! verify_all, unpack, corruption, limits).
#![cfg(feature = "zstd")]
// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

mod samples;
use samples::sample_tar;

use std::collections::BTreeMap;
use std::io::Read;

use estargz::encoder::{Encoded, Encoder, Format};
use estargz::gzip::{Compression, MultiMemberDecoder};
use estargz::reader::{Reader, ReaderOptions};
use estargz::zstd::{MANIFEST_CHECKSUM_ANNOTATION, MANIFEST_POSITION_ANNOTATION};
use estargz::{Error, ReadAt};
use estargz_toc::{EntryType, Footer, FooterKind};
use estargz_verifier::Digest;

fn encode(tar: &[u8], format: Format, threads: usize, chunk_size: u64) -> (Vec<u8>, Encoded) {
    let encoder = Encoder::builder()
        .format(format)
        .threads(threads)
        .chunk_size(chunk_size)
        .build()
        .unwrap();
    let mut blob = Vec::new();
    let encoded = encoder.encode_read_at(tar, &mut blob).unwrap();
    (blob, encoded)
}

fn zstd_decode_all(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    estargz::zstd::run_decoder(blob, 0)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn layout_digests_and_annotations() {
    let (tar, _) = sample_tar(0);
    let (blob, encoded) = encode(&tar, Format::ZstdChunked, 2, 16 << 10);
    assert_eq!(encoded.format, Format::ZstdChunked);
    assert_eq!(encoded.blob_size, blob.len() as u64);
    assert_eq!(encoded.blob_digest, Digest::of(&blob));

    // The footer: the last 48 bytes, a v1 (reference) zstd:chunked footer.
    let footer = Footer::parse(FooterKind::ZstdChunkedV1, &blob[blob.len() - 48..]).unwrap();
    let position = footer.zstd_toc().unwrap();
    let manifest = encoded.zstd_manifest.unwrap();
    assert_eq!(position, manifest.position);
    assert_eq!(position.offset, encoded.toc_offset);
    assert_eq!(position.offset + position.len + 48, blob.len() as u64);
    // The TOC frame sits in a skippable frame right after the payload.
    let toc_frame = &blob[position.offset as usize..(position.offset + position.len) as usize];
    let header = &blob[position.offset as usize - 8..position.offset as usize];
    assert_eq!(
        header,
        estargz::zstd::skippable_frame_header(position.len as u32)
    );
    let json = estargz::zstd::decode_frame(toc_frame, 1 << 20).unwrap();
    assert_eq!(json.len() as u64, position.uncompressed_len);
    assert_eq!(Digest::of(&json), encoded.toc_digest);
    assert_eq!(manifest.checksum, Digest::of(toc_frame));

    let annotations: BTreeMap<_, _> = encoded.annotations().into_iter().collect();
    assert_eq!(annotations.len(), 4);
    assert_eq!(
        annotations[MANIFEST_CHECKSUM_ANNOTATION],
        Digest::of(toc_frame).to_string()
    );
    assert_eq!(
        annotations[MANIFEST_POSITION_ANNOTATION],
        format!("{}:{}:{}:1", position.offset, position.len, json.len())
    );

    // The decompressed stream (skippable frames are skipped) is the tar entries only: no
    // TOC entry and no end-of-archive. DiffID and uncompressed size cover exactly that.
    let stream = zstd_decode_all(&blob);
    assert_eq!(stream.len() as u64, encoded.uncompressed_size);
    assert_eq!(Digest::of(&stream), encoded.diff_id);
    assert!(!stream.ends_with(&[0u8; 1024]));

    // Every data entry's offset starts a zstd frame.
    let toc = estargz_toc::Toc::from_json(&json, &estargz_toc::Limits::default()).unwrap();
    let mut data_offsets = 0;
    for e in &toc.entries {
        if matches!(e.kind, EntryType::Reg | EntryType::Chunk) && e.offset > 0 {
            let at = e.offset as usize;
            assert_eq!(&blob[at..at + 4], &[0x28, 0xb5, 0x2f, 0xfd], "{:?}", e.name);
            data_offsets += 1;
        }
    }
    // big.bin: 7 chunks of 16 KiB; zeros: 5; small.txt: 1; the landmark: 1.
    assert_eq!(data_offsets, 14);
}

/// The uncompressed stream of a zstd:chunked blob is the gzip blob's stream without the
/// TOC entry and the end-of-archive; the TOCs differ only in offsets.
#[test]
fn same_stream_as_gzip_without_the_toc_entry() {
    let (tar, _) = sample_tar(0);
    let (zblob, zenc) = encode(&tar, Format::ZstdChunked, 1, 16 << 10);
    let (gblob, genc) = encode(&tar, Format::Gzip, 1, 16 << 10);
    let mut gstream = Vec::new();
    MultiMemberDecoder::new(&gblob[..])
        .read_to_end(&mut gstream)
        .unwrap();
    let zstream = zstd_decode_all(&zblob);
    assert!(zstream.len() < gstream.len());
    assert_eq!(&gstream[..zstream.len()], &zstream[..]);
    assert_ne!(zenc.toc_digest, genc.toc_digest);
    let strip = |blob: &[u8]| {
        let reader = Reader::open(blob, ReaderOptions::default()).unwrap();
        let mut toc = reader.toc().clone();
        for e in &mut toc.entries {
            e.offset = 0;
        }
        toc.to_json()
    };
    assert_eq!(strip(&zblob), strip(&gblob));
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let (tar, _) = sample_tar(0);
    let (one, _) = encode(&tar, Format::ZstdChunked, 1, 8 << 10);
    for threads in [2, 3, 8] {
        let (many, _) = encode(&tar, Format::ZstdChunked, threads, 8 << 10);
        assert_eq!(one, many, "{threads} threads");
    }
    // Reading the input through `encode` (spooled) gives the same bytes too.
    let encoder = Encoder::builder()
        .format(Format::ZstdChunked)
        .chunk_size(8 << 10)
        .build()
        .unwrap();
    let mut spooled = Vec::new();
    encoder.encode(&tar[..], &mut spooled).unwrap();
    assert_eq!(one, spooled);
}

#[test]
fn reader_reads_verifies_and_unpacks() {
    let (tar, files) = sample_tar(0);
    let (blob, encoded) = encode(&tar, Format::ZstdChunked, 2, 16 << 10);
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(encoded.toc_digest);
    let reader = Reader::open(&blob[..], options).unwrap();
    assert_eq!(reader.footer().kind(), FooterKind::ZstdChunkedV1);
    assert_eq!(reader.payload_end(), encoded.toc_offset - 8);
    for (name, data) in &files {
        let file = reader.open_file(name).unwrap();
        assert_eq!(&file.read_to_vec().unwrap(), data, "{name}");
        // A read in the middle of a chunk.
        if data.len() > 20_000 {
            let mut buf = vec![0; 5000];
            let n = file.read_at(17_000, &mut buf).unwrap();
            assert_eq!(&buf[..n], &data[17_000..17_000 + n]);
        }
    }
    assert_eq!(
        reader.open_file("b/hard").unwrap().read_to_vec().unwrap(),
        files["a/small.txt"]
    );

    let verification = reader.verify_all().unwrap();
    assert_eq!(verification.files.len(), files.len() + 1); // + the landmark
    for f in &verification.files {
        let path = String::from_utf8(f.path.clone()).unwrap();
        if let Some(data) = files.get(&path) {
            assert_eq!(f.sha256, Digest::of(data), "{path}");
        }
    }

    // Unpacking gives the decompressed stream plus an end-of-archive.
    let mut unpacked = Vec::new();
    reader.unpack_to_tar(&mut unpacked).unwrap();
    let stream = zstd_decode_all(&blob);
    assert_eq!(&unpacked[..stream.len()], &stream[..]);
    let mut archive = tar::Archive::new(&unpacked[..]);
    let mut seen = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        seen.insert(path, data);
    }
    for (name, data) in &files {
        assert_eq!(seen.get(name), Some(data), "{name}");
    }
}

#[test]
fn corruption_is_detected() {
    let (tar, files) = sample_tar(0);
    let (blob, encoded) = encode(&tar, Format::ZstdChunked, 1, 16 << 10);
    let reader = Reader::open(&blob[..], ReaderOptions::default()).unwrap();
    let chunk = reader.open_file("b/c/big.bin").unwrap().chunks()[2];
    drop(reader);

    // A flipped byte inside a chunk's frame: the frame checksum or the chunk digest fails,
    // never wrong bytes.
    let mut bad = blob.clone();
    bad[chunk.blob_offset as usize + 20] ^= 0x40;
    let reader = Reader::open(&bad[..], ReaderOptions::default()).unwrap();
    let file = reader.open_file("b/c/big.bin").unwrap();
    assert!(matches!(
        file.read_to_vec(),
        Err(Error::Decompress { .. } | Error::DigestMismatch { .. })
    ));
    assert!(reader.verify_all().is_err());
    // Other files still read.
    assert_eq!(
        &reader
            .open_file("a/small.txt")
            .unwrap()
            .read_to_vec()
            .unwrap(),
        &files["a/small.txt"]
    );

    // A flipped byte in the TOC frame: the TOC does not load.
    let mut bad = blob.clone();
    bad[encoded.toc_offset as usize + 10] ^= 0x01;
    assert!(Reader::open(&bad[..], ReaderOptions::default()).is_err());

    // A wrong expected TOC digest.
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(Digest::of(b"something else"));
    assert!(matches!(
        Reader::open(&blob[..], options),
        Err(Error::DigestMismatch { .. })
    ));
}

#[test]
fn toc_limits_apply() {
    let (tar, _) = sample_tar(0);
    let (blob, _) = encode(&tar, Format::ZstdChunked, 1, 16 << 10);
    let mut options = ReaderOptions::default();
    options.toc.limits.max_toc_bytes = 100;
    assert!(matches!(
        Reader::open(&blob[..], options),
        Err(Error::Toc(estargz_toc::Error::LimitExceeded { .. }))
    ));
}

#[test]
fn empty_input_gives_a_valid_blob() {
    let tar = vec![0u8; 1024];
    let (blob, encoded) = encode(&tar, Format::ZstdChunked, 1, 4 << 20);
    let reader = Reader::open(&blob[..], ReaderOptions::default()).unwrap();
    assert_eq!(reader.toc_digest(), encoded.toc_digest);
    // Only the landmark.
    assert_eq!(reader.verify_all().unwrap().files.len(), 1);
    assert!(blob.size().unwrap() > 48);
}

#[test]
fn options_are_checked() {
    let build = |b: estargz::encoder::EncoderBuilder| b.format(Format::ZstdChunked).build();
    assert!(build(Encoder::builder().zstd_level(0)).is_err());
    assert!(build(Encoder::builder().zstd_level(23)).is_err());
    assert!(build(Encoder::builder().zstd_level(19)).is_ok());
    assert!(
        build(
            Encoder::builder()
                .layout(estargz::Layout::Newest)
                .min_chunk_size(1000)
        )
        .is_err()
    );
    // The gzip level does not matter to zstd:chunked, and the zstd level not to gzip.
    assert!(build(Encoder::builder().level(Compression::NONE)).is_ok());
}
