//! Encoder tests: member layout, determinism (thread count, read sizes), encode → decode
//! round trips, and the inputs the reference rejects (sparse, contiguous, global headers).

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;

use estargz::encoder::{Encoded, Encoder, Layout};
use estargz::gzip::{Backend, Compression, MultiMemberDecoder, decode_member};
use estargz::tar::{
    PaxRecord, TarFormat, TarHeader, TarLimits, TarTime, encode_end_of_archive, encode_header,
    padding, parse_archive,
};
use estargz::{Error, deflate_backend};
use estargz_toc::model::{LANDMARK_CONTENTS, NO_PREFETCH_LANDMARK, TOC_TAR_NAME};
use estargz_toc::{EntryType, Footer, FooterKind, Index, Limits, Toc};
use estargz_verifier::Digest;
use proptest::prelude::*;

/// One input file for [`tar_of`].
#[derive(Clone, Debug)]
struct File {
    name: String,
    typeflag: u8,
    data: Vec<u8>,
    link: String,
}

impl File {
    fn reg(name: &str, data: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.to_owned(),
            typeflag: b'0',
            data: data.into(),
            link: String::new(),
        }
    }

    fn dir(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            typeflag: b'5',
            data: Vec::new(),
            link: String::new(),
        }
    }

    fn link(name: &str, typeflag: u8, target: &str) -> Self {
        Self {
            name: name.to_owned(),
            typeflag,
            data: Vec::new(),
            link: target.to_owned(),
        }
    }

    fn header(&self) -> TarHeader {
        let mut h = TarHeader::new(self.typeflag, self.name.as_bytes());
        h.size = self.data.len() as i64;
        h.mode = if self.typeflag == b'5' { 0o755 } else { 0o644 };
        h.uid = 1000;
        h.gid = 1000;
        h.uname = b"user".to_vec();
        h.gname = b"group".to_vec();
        h.mtime = Some(TarTime::from_secs(1_700_000_000));
        h.link_name = self.link.as_bytes().to_vec();
        h
    }
}

/// Appends one entry (header, data, padding) as the encoder re-encodes it.
fn push_entry(out: &mut Vec<u8>, header: &TarHeader, data: &[u8]) {
    encode_header(header, out).unwrap();
    out.extend_from_slice(data);
    out.resize(out.len() + padding(data.len() as u64) as usize, 0);
}

/// A tar of `files` (USTAR where possible), with its end-of-archive.
fn tar_of(files: &[File]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in files {
        push_entry(&mut out, &f.header(), &f.data);
    }
    encode_end_of_archive(&mut out);
    out
}

fn encoder(level: u32, chunk: u64, threads: usize) -> Encoder {
    encoder_with(Backend::default(), level, chunk, threads)
}

fn encoder_with(backend: Backend, level: u32, chunk: u64, threads: usize) -> Encoder {
    Encoder::builder()
        .level(Compression::new(level).unwrap())
        .backend(backend)
        .chunk_size(chunk)
        .threads(threads)
        .build()
        .unwrap()
}

fn encode(enc: &Encoder, tar: &[u8]) -> (Vec<u8>, Encoded) {
    let mut blob = Vec::new();
    let encoded = enc.encode_read_at(tar, &mut blob).unwrap();
    (blob, encoded)
}

fn decompress_all(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiMemberDecoder::new(blob).read_to_end(&mut out).unwrap();
    out
}

/// The TOC of a blob, via its footer.
fn toc_of(blob: &[u8]) -> (Toc, u64) {
    let tail = &blob[blob.len() - 51..];
    let footer = Footer::parse(FooterKind::Estargz, tail).unwrap();
    let toc_offset = footer.toc_offset().unwrap();
    let member = decode_member(&blob[toc_offset as usize..], 1 << 30).unwrap();
    let entries = parse_archive(&member, &TarLimits::default()).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].header.name, TOC_TAR_NAME.as_bytes());
    let start = entries[0].payload_offset as usize;
    let json = &member[start..start + entries[0].header.size as usize];
    (
        Toc::from_json(json, &Limits::default()).unwrap(),
        toc_offset,
    )
}

/// Checks everything a reader relies on; returns the decompressed stream.
fn check_blob(blob: &[u8], encoded: &Encoded, expected_payload: &[u8]) -> Toc {
    assert_eq!(encoded.blob_size, blob.len() as u64);
    assert_eq!(encoded.blob_digest, Digest::of(blob));
    let stream = decompress_all(blob);
    assert_eq!(encoded.uncompressed_size, stream.len() as u64);
    assert_eq!(encoded.diff_id, Digest::of(&stream));
    assert!(
        stream.starts_with(expected_payload),
        "the decompressed payload differs from the intended tar"
    );
    let (toc, toc_offset) = toc_of(blob);
    assert_eq!(toc_offset, encoded.toc_offset);
    let json = toc.to_json();
    assert_eq!(Digest::of(&json), encoded.toc_digest);
    // Every data entry points at a member start whose content begins with its chunk.
    let mut file_sizes = std::collections::HashMap::new();
    for e in &toc.entries {
        if e.kind == EntryType::Reg {
            file_sizes.insert(e.name.clone(), e.size);
        }
        if !e.is_data() || (e.kind == EntryType::Reg && e.size == 0) {
            continue;
        }
        let size = file_sizes[&e.name];
        let len = if e.chunk_size > 0 {
            e.chunk_size
        } else {
            size - e.chunk_offset
        };
        let member = decode_member(&blob[e.offset as usize..], 1 << 30).unwrap();
        let skip = e.inner_offset as usize;
        let chunk = &member[skip..skip + len as usize];
        assert_eq!(
            Digest::of(chunk).to_string(),
            e.chunk_digest,
            "chunk of {:?} at {}",
            e.name,
            e.chunk_offset
        );
    }
    Index::build(toc.clone(), toc_offset, &Limits::default()).unwrap();
    toc
}

/// The landmark entry the encoder writes first when nothing is prioritized.
fn no_prefetch_landmark() -> Vec<u8> {
    let mut h = TarHeader::new(b'0', NO_PREFETCH_LANDMARK);
    h.size = 1;
    let mut out = Vec::new();
    push_entry(&mut out, &h, &[LANDMARK_CONTENTS]);
    out
}

fn sample_files() -> Vec<File> {
    let data = |n: usize, seed: u8| -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(i as u8 / 7))
            .collect()
    };
    vec![
        File::dir("d/"),
        File::reg("d/empty", Vec::new()),
        File::reg("d/one", data(1, 3)),
        File::reg("d/4095", data(4095, 5)),
        File::reg("d/4096", data(4096, 7)),
        File::reg("d/4097", data(4097, 11)),
        File::reg("d/10000", data(10000, 13)),
        File::link("d/sym", b'2', "one"),
        File::link("d/hard", b'1', "d/4096"),
        File::dir("d/e/"),
        File::reg("d/e/f", data(300, 17)),
    ]
}

#[test]
fn backend_is_named() {
    let name = deflate_backend();
    assert!(
        name.starts_with("zlib-rs") || name.starts_with("miniz_oxide"),
        "{name}"
    );
}

/// Spec 1.2: member boundaries, chunk entries and `chunkSize` values.
#[test]
fn layout_and_toc_of_a_sample() {
    let files = sample_files();
    let tar = tar_of(&files);
    let (blob, encoded) = encode(&encoder(0, 4096, 1), &tar);
    let mut expected = no_prefetch_landmark();
    expected.extend_from_slice(&tar[..tar.len() - 1024]);
    let toc = check_blob(&blob, &encoded, &expected);

    let summary: Vec<(String, &str, i64, i64)> = toc
        .entries
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                e.kind.json_name(),
                e.chunk_offset,
                e.chunk_size,
            )
        })
        .collect();
    let s = |n: &str, k: &'static str, o: i64, c: i64| (n.to_owned(), k, o, c);
    assert_eq!(
        summary,
        [
            s(NO_PREFETCH_LANDMARK, "reg", 0, 0),
            s("d/", "dir", 0, 0),
            s("d/empty", "reg", 0, 0),
            s("d/one", "reg", 0, 0),
            s("d/4095", "reg", 0, 0),
            s("d/4096", "reg", 0, 4096),
            s("d/4097", "reg", 0, 4096),
            s("d/4097", "chunk", 4096, 0),
            s("d/10000", "reg", 0, 4096),
            s("d/10000", "chunk", 4096, 4096),
            s("d/10000", "chunk", 8192, 0),
            s("d/sym", "symlink", 0, 0),
            s("d/hard", "hardlink", 0, 0),
            s("d/e/", "dir", 0, 0),
            s("d/e/f", "reg", 0, 0),
        ]
    );
    // Member 0 is the landmark header alone: 512 bytes stored in 540 (spec 1.3).
    assert_eq!(toc.entries[0].offset, 540);
    // userName/groupName only on the first entry of each uid/gid.
    let named: Vec<_> = toc
        .entries
        .iter()
        .filter(|e| !e.user_name.is_empty())
        .map(|e| e.name.to_string())
        .collect();
    assert_eq!(named, ["d/"]);
    assert_eq!(toc.entries[2].digest, Digest::EMPTY.to_string());
    assert_eq!(toc.entries[2].offset, 0);
    assert_eq!(toc.entries[0].digest, Digest::LANDMARK.to_string());
    assert_eq!(toc.entries[1].mode, 0o755);
    assert_eq!(toc.entries[1].modtime, "2023-11-14T22:13:20Z");
    assert_eq!(toc.entries[11].link_name, "one");
}

#[test]
fn threads_do_not_change_the_bytes_at_any_level() {
    let tar = tar_of(&sample_files());
    let mut expected = no_prefetch_landmark();
    expected.extend_from_slice(&tar[..tar.len() - 1024]);
    for &backend in Backend::available() {
        for level in [0, 1, 6, 9] {
            let (one, encoded) = encode(&encoder_with(backend, level, 1000, 1), &tar);
            check_blob(&one, &encoded, &expected);
            for threads in [2, 3, 8] {
                let (many, _) = encode(&encoder_with(backend, level, 1000, threads), &tar);
                assert_eq!(one, many, "{backend} level {level}, {threads} threads");
            }
        }
    }
}

/// Every backend writes its own bytes at levels 1-9 (and the TOC member with the same
/// backend), the same bytes at level 0.
#[test]
fn backends_give_their_own_bytes() {
    let tar = tar_of(&sample_files());
    for level in [0, 6] {
        let blobs: Vec<Vec<u8>> = Backend::available()
            .iter()
            .map(|&b| encode(&encoder_with(b, level, 4096, 2), &tar).0)
            .collect();
        for (i, a) in blobs.iter().enumerate() {
            for b in &blobs[i + 1..] {
                assert_eq!(a == b, level == 0, "level {level}");
            }
        }
    }
}

/// A reader that returns at most `step` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn gzip_input_and_streamed_input_give_the_same_blob() {
    for &backend in Backend::available() {
        gzip_and_streamed_input(&encoder_with(backend, 6, 4096, 2));
    }
}

fn gzip_and_streamed_input(enc: &Encoder) {
    let tar = tar_of(&sample_files());
    let (direct, encoded) = encode(enc, &tar);
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut w = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
        w.write_all(&tar).unwrap();
        w.finish().unwrap();
    }
    let (from_gz, encoded_gz) = encode(enc, &gz);
    assert_eq!(direct, from_gz);
    assert_eq!(encoded, encoded_gz);
    for step in [1, 7, 512, 100_000] {
        let mut blob = Vec::new();
        enc.encode(Trickle { data: &tar, step }, &mut blob).unwrap();
        assert_eq!(blob, direct, "reads of {step} bytes");
        let mut blob = Vec::new();
        enc.encode(Trickle { data: &gz, step }, &mut blob).unwrap();
        assert_eq!(blob, direct, "gzip reads of {step} bytes");
    }
}

#[test]
fn prioritized_files_come_first_with_the_prefetch_landmark() {
    let tar = tar_of(&sample_files());
    let enc = Encoder::builder()
        .level(Compression::FAST)
        .chunk_size(4096)
        .prioritized(["d/e/f", "/d/hard", "missing"])
        .allow_prioritized_not_found(true)
        .build()
        .unwrap();
    let (blob, encoded) = encode(&enc, &tar);
    let toc = toc_of(&blob).0;
    let names: Vec<String> = toc
        .entries
        .iter()
        .filter(|e| e.kind != EntryType::Chunk)
        .map(|e| e.name.to_string())
        .take(6)
        .collect();
    assert_eq!(
        names,
        [
            "d/",
            "d/e/",
            "d/e/f",
            "d/4096",
            "d/hard",
            ".prefetch.landmark"
        ]
    );
    assert_eq!(encoded.prioritized_not_found, [b"missing".to_vec()]);

    let strict = Encoder::builder().prioritized(["missing"]).build().unwrap();
    let err = strict.encode_read_at(&tar[..], Vec::new()).unwrap_err();
    assert!(matches!(err, Error::Order(_)), "{err}");
}

#[test]
fn duplicates_landmarks_and_old_tocs_are_dropped() {
    let files = [
        File::reg("a", b"old".to_vec()),
        File::reg("./.no.prefetch.landmark", vec![1]),
        File::reg("stargz.index.json", b"{}".to_vec()),
        File::reg("sub/.prefetch.landmark", vec![2]),
        File::reg("./a", b"new".to_vec()),
    ];
    let (blob, _) = encode(&encoder(0, 4096, 1), &tar_of(&files));
    let toc = toc_of(&blob).0;
    let names: Vec<String> = toc.entries.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(
        names,
        [".no.prefetch.landmark", "sub/.prefetch.landmark", "./a"]
    );
}

#[test]
fn newest_layout_sync_flushes_and_min_chunk_size_packs() {
    let files = sample_files();
    let tar = tar_of(&files);
    let enc = Encoder::builder()
        .level(Compression::NONE)
        .chunk_size(4096)
        .layout(Layout::Newest)
        .threads(1)
        .build()
        .unwrap();
    let (newest, encoded) = encode(&enc, &tar);
    let (old, _) = encode(&encoder(0, 4096, 1), &tar);
    let toc = check_blob(&newest, &encoded, &[]);
    // The landmark header member is 5 bytes longer (spec 1.3: 545 instead of 540).
    assert_eq!(toc.entries[0].offset, 545);
    assert_eq!(
        decompress_all(&newest)[..20_000],
        decompress_all(&old)[..20_000]
    );
    // The same with several threads.
    let parallel = Encoder::builder()
        .level(Compression::NONE)
        .chunk_size(4096)
        .layout(Layout::Newest)
        .threads(4)
        .build()
        .unwrap();
    assert_eq!(encode(&parallel, &tar).0, newest);

    assert!(
        Encoder::builder().min_chunk_size(100).build().is_err(),
        "min chunk size needs the newest layout"
    );
    for level in [0, 9] {
        let packed = Encoder::builder()
            .level(Compression::new(level).unwrap())
            .chunk_size(4096)
            .min_chunk_size(20_000)
            .layout(Layout::Newest)
            .threads(4)
            .build()
            .unwrap();
        let (blob, encoded) = encode(&packed, &tar);
        let toc = check_blob(&blob, &encoded, &[]);
        assert!(toc.entries.iter().any(|e| e.inner_offset > 0));
    }
}

fn packing_encoder(backend: Backend, min_chunk_size: u64, threads: usize) -> Encoder {
    Encoder::builder()
        .level(Compression::new(6).unwrap())
        .backend(backend)
        .chunk_size(4096)
        .min_chunk_size(min_chunk_size)
        .layout(Layout::Newest)
        .threads(threads)
        .build()
        .unwrap()
}

/// A minimum chunk size with every backend: chunks share members at innerOffsets, every
/// chunk verifies, and the thread count changes nothing.
#[test]
fn min_chunk_size_packs_with_every_backend() {
    let tar = tar_of(&sample_files());
    for &backend in Backend::available() {
        let (blob, encoded) = encode(&packing_encoder(backend, 20_000, 1), &tar);
        let toc = check_blob(&blob, &encoded, &[]);
        assert!(toc.entries.iter().any(|e| e.inner_offset > 0), "{backend}");
        let (parallel, _) = encode(&packing_encoder(backend, 20_000, 4), &tar);
        assert!(parallel == blob, "{backend}: threads changed the bytes");
    }
}

/// A one-shot backend holds the open member uncompressed, so with data that compresses to
/// almost nothing it closes the member before a chunk once it holds a chunk size of data
/// (a streaming backend keeps packing until the compressed minimum is reached).
#[test]
fn one_shot_members_stay_bounded_by_the_chunk_size() {
    let files: Vec<File> = (0..40)
        .map(|i| File::reg(&format!("zeros{i}"), vec![0u8; 3000]))
        .collect();
    let tar = tar_of(&files);
    for &backend in Backend::available() {
        let (blob, encoded) = encode(&packing_encoder(backend, 1 << 20, 2), &tar);
        let toc = check_blob(&blob, &encoded, &[]);
        let deepest = toc.entries.iter().map(|e| e.inner_offset).max().unwrap();
        if backend.is_one_shot() {
            assert!(deepest < 4096, "{backend}: innerOffset {deepest}");
        } else {
            assert!(deepest > 40 * 3000, "{backend}: innerOffset {deepest}");
        }
    }
}

/// The uncompressed length of each gzip member before `end`, in order.
fn member_lengths(blob: &[u8], end: u64) -> Vec<usize> {
    let mut lengths = Vec::new();
    let mut rest = &blob[..end as usize];
    while !rest.is_empty() {
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let mut content = Vec::new();
        decoder.read_to_end(&mut content).unwrap();
        lengths.push(content.len());
        rest = decoder.into_inner();
    }
    lengths
}

/// A long run of entries without data (here 5,000 directories, 2.5 MB of headers) does not
/// pile up in one member: a member is closed before the next header once a run reaches a
/// chunk size (at least 1 MiB), whatever the layout, backend and thread count, and the blob
/// stays valid.
#[test]
fn a_long_run_of_entries_without_data_is_cut_at_the_chunk_size() {
    let chunk = 64 << 10;
    let run = 1 << 20;
    let mut files: Vec<File> = (0..5000).map(|i| File::dir(&format!("d{i:05}/"))).collect();
    files.push(File::reg("after", vec![7u8; 100]));
    let tar = tar_of(&files);
    for &backend in Backend::available() {
        for layout in [Layout::Reference012, Layout::Newest] {
            let build = |threads| {
                Encoder::builder()
                    .level(Compression::new(1).unwrap())
                    .backend(backend)
                    .chunk_size(chunk)
                    .layout(layout)
                    .threads(threads)
                    .build()
                    .unwrap()
            };
            let (blob, encoded) = encode(&build(1), &tar);
            let toc = check_blob(&blob, &encoded, &[]);
            assert_eq!(toc.entries.len(), 5002, "{backend} {layout:?}");
            let lengths = member_lengths(&blob, encoded.toc_offset);
            let longest = lengths.iter().copied().max().unwrap();
            assert!(
                longest <= run + 512,
                "{backend} {layout:?}: a member holds {longest} bytes"
            );
            assert!(lengths.len() >= 3, "{lengths:?}");
            let (parallel, _) = encode(&build(3), &tar);
            assert!(
                parallel == blob,
                "{backend} {layout:?}: threads changed the bytes"
            );
        }
    }
}

#[test]
fn sparse_files_become_regular_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tar");
    for name in [
        "gnutar-sparse-gnu.tar.gz",
        "gnutar-sparse-pax00.tar.gz",
        "gnutar-sparse-pax01.tar.gz",
        "gnutar-sparse-pax10.tar.gz",
    ] {
        let gz = std::fs::read(dir.join(name)).unwrap();
        let mut tar = Vec::new();
        MultiMemberDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .unwrap();
        // What the files hold, expanded from the parsed sparse maps.
        let mut expected = std::collections::BTreeMap::new();
        for e in parse_archive(&tar, &TarLimits::default()).unwrap() {
            let Some(map) = &e.sparse else { continue };
            let mut data = vec![0u8; e.header.size as usize];
            let mut physical = e.payload_offset as usize;
            for frag in &map.data {
                let (o, l) = (frag.offset as usize, frag.length as usize);
                data[o..o + l].copy_from_slice(&tar[physical..physical + l]);
                physical += l;
            }
            assert!(data.iter().any(|&b| b != 0));
            expected.insert(String::from_utf8(e.header.name.clone()).unwrap(), data);
        }
        assert!(!expected.is_empty(), "{name}: no sparse file");
        let (blob, encoded) = encode(&encoder(1, 3000, 2), &gz);
        let toc = check_blob(&blob, &encoded, &[]);
        let stream = decompress_all(&blob);
        let entries = parse_archive(&stream, &TarLimits::default()).unwrap();
        for e in &entries {
            assert!(e.sparse.is_none(), "{name}: sparse entry left");
            assert_ne!(e.header.typeflag, b'S');
            assert!(
                !e.header
                    .pax_records
                    .iter()
                    .any(|r| r.key.starts_with(b"GNU.sparse."))
            );
        }
        for (path, data) in &expected {
            let e = entries
                .iter()
                .find(|e| e.header.name == path.as_bytes())
                .unwrap_or_else(|| panic!("{name}: {path} missing"));
            let start = e.payload_offset as usize;
            assert_eq!(
                &stream[start..start + data.len()],
                &data[..],
                "{name}: {path}"
            );
            let toc_entry = toc
                .entries
                .iter()
                .find(|t| t.name == path.as_str())
                .unwrap();
            assert_eq!(toc_entry.kind, EntryType::Reg);
            assert_eq!(toc_entry.digest, Digest::of(data).to_string());
        }
    }
}

#[test]
fn contiguous_and_global_headers_are_converted() {
    let mut tar = Vec::new();
    let mut global = TarHeader::new(b'g', "pax_global_header");
    global.pax_records = vec![PaxRecord {
        key: b"comment".to_vec(),
        value: b"hi".to_vec(),
    }];
    global.format = TarFormat::Pax;
    encode_header(&global, &mut tar).unwrap();
    let mut cont = TarHeader::new(b'7', "contiguous");
    cont.size = 3;
    push_entry(&mut tar, &cont, b"abc");
    let mut xattr = TarHeader::new(b'0', "x");
    xattr.pax_records = vec![
        PaxRecord {
            key: b"SCHILY.xattr.user.a".to_vec(),
            value: b"1".to_vec(),
        },
        PaxRecord {
            key: b"SCHILY.xattr.user.a".to_vec(),
            value: b"2".to_vec(),
        },
    ];
    xattr.format = TarFormat::Pax;
    push_entry(&mut tar, &xattr, b"");
    encode_end_of_archive(&mut tar);

    let (blob, encoded) = encode(&encoder(9, 4096, 1), &tar);
    assert_eq!(encoded.global_headers_skipped, 1);
    let toc = check_blob(&blob, &encoded, &[]);
    assert_eq!(toc.entries[1].name, "contiguous");
    assert_eq!(toc.entries[1].kind, EntryType::Reg);
    assert_eq!(toc.entries[2].xattrs.len(), 1);
    assert_eq!(toc.entries[2].xattrs.values().next().unwrap(), b"2");
    let stream = decompress_all(&blob);
    let entries = parse_archive(&stream, &TarLimits::default()).unwrap();
    assert_eq!(entries[1].header.typeflag, b'0');
    assert!(entries.iter().all(|e| e.header.typeflag != b'g'));
}

#[test]
fn bad_inputs_are_errors() {
    let enc = encoder(1, 4096, 2);
    let zstd = [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0];
    assert!(matches!(
        enc.encode_read_at(&zstd[..], Vec::new()),
        Err(Error::UnsupportedInput { .. })
    ));
    // A truncated payload.
    let tar = tar_of(&[File::reg("f", vec![1; 5000])]);
    let err = enc.encode_read_at(&tar[..2000], Vec::new()).unwrap_err();
    assert!(matches!(err, Error::Tar(_)), "{err}");
    // A bad checksum.
    let mut bad = tar.clone();
    bad[0] ^= 0x40;
    assert!(enc.encode_read_at(&bad[..], Vec::new()).is_err());
    // An unsupported type.
    let mut odd = Vec::new();
    push_entry(&mut odd, &TarHeader::new(b'V', "volume"), b"");
    encode_end_of_archive(&mut odd);
    let err = enc.encode_read_at(&odd[..], Vec::new()).unwrap_err();
    assert!(err.to_string().contains("volume"), "{err}");
    // An empty input is an empty tar: just the landmark.
    let (blob, encoded) = encode(&enc, &[]);
    assert_eq!(check_blob(&blob, &encoded, &[]).entries.len(), 1);
}

/// A writer that fails after `left` bytes.
struct Failing {
    left: usize,
}

impl std::io::Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_stop_every_thread() {
    let tar = tar_of(&sample_files());
    for threads in [1, 4] {
        for left in [0, 600, 5000] {
            let err = encoder(1, 1000, threads)
                .encode_read_at(&tar[..], Failing { left })
                .unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{err}");
        }
    }
}

fn arb_files() -> impl Strategy<Value = Vec<File>> {
    let file = (0u8..4, 0usize..3000, any::<u8>());
    proptest::collection::vec(file, 0..12).prop_map(|specs| {
        let mut files = vec![File::dir("top/")];
        for (i, (kind, len, seed)) in specs.into_iter().enumerate() {
            let name = format!("top/f{i}");
            files.push(match kind {
                0 => File::dir(&format!("{name}/")),
                1 => File::link(&name, b'2', "elsewhere"),
                _ => File::reg(
                    &name,
                    (0..len)
                        .map(|j| (j as u8).wrapping_mul(seed) ^ (j >> 8) as u8)
                        .collect::<Vec<u8>>(),
                ),
            });
        }
        files
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Round trip: the stream is the intended tar, every chunk verifies, the index accepts
    /// the TOC; and neither the thread count nor the read size changes a byte.
    #[test]
    fn round_trip_and_determinism(
        files in arb_files(),
        level in prop_oneof![Just(0u32), Just(1), Just(9)],
        backend in proptest::sample::select(Backend::available()),
        chunk in 1u64..2500,
        step in 1usize..5000,
    ) {
        let tar = tar_of(&files);
        let (blob, encoded) = encode(&encoder_with(backend, level, chunk, 1), &tar);
        let mut expected = no_prefetch_landmark();
        expected.extend_from_slice(&tar[..tar.len() - 1024]);
        check_blob(&blob, &encoded, &expected);
        for threads in [2, 4] {
            let (other, _) = encode(&encoder_with(backend, level, chunk, threads), &tar);
            prop_assert!(other == blob, "{} threads", threads);
        }
        let mut streamed = Vec::new();
        encoder_with(backend, level, chunk, 2)
            .encode(Trickle { data: &tar, step }, &mut streamed)
            .unwrap();
        prop_assert!(streamed == blob, "reads of {} bytes", step);
    }
}
