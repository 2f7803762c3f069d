//! zstd:chunked v2 (the layout current containers/storage writes): frames that decompress
//! to the input tar, content-defined chunks, the manifest JSON's shape, the tar-split data
//! (which must rebuild the tar), the 72-byte footer and the annotations, thread-count
//! independence, and our reader on such blobs (lazy verified reads, verify_all, unpack,
//! extract).
#![cfg(feature = "zstd")]
// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use estargz::encoder::{Encoded, Encoder, Format};
use estargz::extract::ExtractOptions;
use estargz::reader::{Reader, ReaderOptions};
use estargz::zstd::{
    MANIFEST_CHECKSUM_ANNOTATION, V2_MANIFEST_CHECKSUM_ANNOTATION, V2_MANIFEST_POSITION_ANNOTATION,
    V2_TAR_SPLIT_POSITION_ANNOTATION,
};
use estargz_toc::{Footer, FooterKind};
use estargz_verifier::Digest;
use serde_json::Value;

/// Bytes without zeros that the rolling checksum cuts into several chunks.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            ((x >> 24) as u8).max(1)
        })
        .collect()
}

/// A tricky tar: directories, empty and small files, a file the checksum cuts into several
/// chunks with a hole (a zeros chunk) in it, a file of zeros, a short zero run, a GNU long
/// name, PAX records (sub-second mtime, an xattr), a non-UTF-8 name, links, and GNU tar's
/// padding of the archive to a 10 KiB record after the end-of-archive.
fn tricky_tar() -> (Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut files: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut holey = noise(400_000, 7);
    holey.extend_from_slice(&[0; 6000]);
    holey.extend(noise(200_000, 9));
    holey.extend_from_slice(&[0; 1000]);
    holey.extend(noise(3, 11));
    files.insert(b"b/c/holey.bin".to_vec(), holey);
    files.insert(b"a/empty".to_vec(), Vec::new());
    files.insert(b"a/small.txt".to_vec(), b"hello, v2".to_vec());
    files.insert(b"b/zeros".to_vec(), vec![0; 70_000]);
    let long = format!("a/{}", "long-name-".repeat(15));
    files.insert(long.into_bytes(), b"long".to_vec());
    files.insert(b"a/\xffraw".to_vec(), b"not utf-8".to_vec());

    let mut builder = tar::Builder::new(Vec::new());
    for dir in ["a/", "b/", "b/c/"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        builder.append_data(&mut h, dir, &[][..]).unwrap();
    }
    for (i, (name, data)) in files.iter().enumerate() {
        if name == b"a/small.txt" {
            builder
                .append_pax_extensions([
                    ("mtime", &b"1700000000.25"[..]),
                    ("SCHILY.xattr.user.k", &b"v<&>"[..]),
                ])
                .unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000 + i as u64);
        h.set_uid(1000);
        h.set_username("user").unwrap();
        let path = Path::new(std::ffi::OsStr::from_bytes(name));
        builder.append_data(&mut h, path, &data[..]).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    builder.append_link(&mut h, "a/link", "small.txt").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    builder
        .append_link(&mut h, "b/hard", "a/small.txt")
        .unwrap();
    let mut tar = builder.into_inner().unwrap();
    tar.resize(tar.len().next_multiple_of(10240), 0);
    (tar, files)
}

fn encode(tar: &[u8], threads: usize) -> (Vec<u8>, Encoded) {
    let encoder = Encoder::builder()
        .format(Format::ZstdChunkedV2)
        .threads(threads)
        .build()
        .unwrap();
    let mut blob = Vec::new();
    let encoded = encoder.encode_read_at(tar, &mut blob).unwrap();
    (blob, encoded)
}

/// The start offsets of the zstd frames from 0 to `end`, and `end`.
fn frame_starts(blob: &[u8], end: usize) -> BTreeSet<u64> {
    let mut starts = BTreeSet::new();
    let mut at = 0;
    while at < end {
        starts.insert(at as u64);
        at += zstd::zstd_safe::find_frame_compressed_size(&blob[at..end]).unwrap();
    }
    assert_eq!(at, end, "frames end where the payload ends");
    starts.insert(end as u64);
    starts
}

fn decode_run(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    estargz::zstd::run_decoder(blob, 0)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Go's `base64.StdEncoding` (padded) decoding, for the JSON's `[]byte` values.
fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = bits << 6 | ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The blob's parts as its footer locates them.
struct Parts {
    footer: Footer,
    manifest_frame: Vec<u8>,
    manifest: Vec<u8>,
    tar_split_frame: Vec<u8>,
    tar_split: Vec<u8>,
}

fn parts(blob: &[u8]) -> Parts {
    let footer = Footer::parse(FooterKind::ZstdChunkedV2, &blob[blob.len() - 72..]).unwrap();
    let toc = footer.zstd_toc().unwrap();
    let split = footer.tar_split().unwrap();
    let range = |offset: u64, len: u64| {
        let (start, end) = (offset as usize, (offset + len) as usize);
        // Each sits in a skippable frame whose header says its length.
        assert_eq!(
            blob[start - 8..start],
            estargz::zstd::skippable_frame_header(len as u32)
        );
        blob[start..end].to_vec()
    };
    let manifest_frame = range(toc.offset, toc.len);
    let tar_split_frame = range(split.offset, split.len);
    let manifest = estargz::zstd::decode_frame(&manifest_frame, 1 << 24).unwrap();
    let tar_split = estargz::zstd::decode_frame(&tar_split_frame, 1 << 24).unwrap();
    assert_eq!(manifest.len() as u64, toc.uncompressed_len);
    assert_eq!(tar_split.len() as u64, split.uncompressed_len);
    Parts {
        footer,
        manifest_frame,
        manifest,
        tar_split_frame,
        tar_split,
    }
}

#[test]
fn footer_positions_and_annotations_match_the_blob() {
    let (tar, _) = tricky_tar();
    let (blob, encoded) = encode(&tar, 2);
    assert_eq!(encoded.format, Format::ZstdChunkedV2);
    assert_eq!(encoded.blob_size, blob.len() as u64);
    assert_eq!(encoded.blob_digest, Digest::of(&blob));
    let p = parts(&blob);
    let toc = p.footer.zstd_toc().unwrap();
    let split = p.footer.tar_split().unwrap();
    let manifest = encoded.zstd_manifest.unwrap();
    assert_eq!((manifest.position, manifest.tar_split), (toc, Some(split)));
    assert_eq!(toc.manifest_type, 1);
    assert_eq!(encoded.toc_offset, toc.offset);
    // TOC frame, then the tar-split frame, then the footer, then nothing.
    assert_eq!(split.offset, toc.offset + toc.len + 8);
    assert_eq!(split.offset + split.len + 72, blob.len() as u64);
    assert_eq!(&blob[blob.len() - 8..], b"GNUlInUx");
    assert_eq!(Digest::of(&p.manifest), encoded.toc_digest);

    let annotations: BTreeMap<_, _> = encoded.annotations().into_iter().collect();
    let expected: BTreeMap<_, _> = [
        (
            V2_MANIFEST_CHECKSUM_ANNOTATION,
            Digest::of(&p.manifest_frame).to_string(),
        ),
        (
            V2_MANIFEST_POSITION_ANNOTATION,
            format!("{}:{}:{}:1", toc.offset, toc.len, p.manifest.len()),
        ),
        (
            V2_TAR_SPLIT_POSITION_ANNOTATION,
            format!("{}:{}:{}", split.offset, split.len, p.tar_split.len()),
        ),
    ]
    .into_iter()
    .collect();
    // Exactly these: no eStargz TOC digest (containers/storage refuses layers with both).
    assert_eq!(annotations, expected);
    assert!(!annotations.contains_key(MANIFEST_CHECKSUM_ANNOTATION));

    // The manifest names the tar-split frame's digest.
    let json: Value = serde_json::from_slice(&p.manifest).unwrap();
    assert_eq!(
        json["tarSplitDigest"],
        Digest::of(&p.tar_split_frame).to_string()
    );
}

#[test]
fn frames_decompress_to_the_input_tar_and_chunks_start_frames() {
    let (tar, files) = tricky_tar();
    let (blob, encoded) = encode(&tar, 3);
    let payload_end = (encoded.toc_offset - 8) as usize;
    assert_eq!(decode_run(&blob[..payload_end]), tar);
    assert_eq!(encoded.diff_id, Digest::of(&tar));
    assert_eq!(encoded.uncompressed_size, tar.len() as u64);

    let starts = frame_starts(&blob, payload_end);
    let json: Value = serde_json::from_slice(&parts(&blob).manifest).unwrap();
    let entries = json["entries"].as_array().unwrap();
    let mut file_end = 0;
    let mut zeros_chunks = 0;
    for (i, e) in entries.iter().enumerate() {
        let offset = e["offset"].as_u64().unwrap_or(0);
        if e["type"] == "reg" && e["size"].as_u64().unwrap_or(0) > 0 {
            file_end = e["endOffset"].as_u64().unwrap();
            assert!(starts.contains(&file_end), "entry {i}: endOffset");
        }
        if offset == 0 {
            continue;
        }
        assert!(starts.contains(&offset), "entry {i}: offset {offset}");
        // The chunk's bytes are the frames from its offset to the next chunk or the end of
        // the file; they hash to its digest.
        let next = entries
            .get(i + 1)
            .filter(|n| n["type"] == "chunk")
            .map_or(file_end, |n| n["offset"].as_u64().unwrap());
        let bytes = decode_run(&blob[offset as usize..next as usize]);
        let digest = e["chunkDigest"].as_str().or(e["digest"].as_str()).unwrap();
        assert_eq!(Digest::of(&bytes).to_string(), digest, "entry {i}");
        if e["chunkType"] == "zeros" {
            zeros_chunks += 1;
            assert!(bytes.len() >= 1024 && bytes.iter().all(|&b| b == 0));
        }
    }
    // The 6000-byte hole; not the 1000-byte run, nor the file of zeros, which is one chunk
    // (a file of one chunk has no chunk fields).
    assert_eq!(zeros_chunks, 1);
    assert_eq!(entries.iter().filter(|e| e["name"] == "b/zeros").count(), 1);
    let holey = entries
        .iter()
        .filter(|e| e["name"] == "b/c/holey.bin")
        .count();
    assert!(holey > 4, "the checksum cut the file into {holey} chunks");
    assert_eq!(files.len(), 6);
}

#[test]
fn manifest_json_has_containers_storage_shape() {
    let (tar, _) = tricky_tar();
    let (blob, _) = encode(&tar, 1);
    let p = parts(&blob);
    let text = String::from_utf8(p.manifest.clone()).unwrap();
    // Compact JSON, fields in Go declaration order.
    assert!(text.starts_with(r#"{"version":1,"entries":[{"type":"dir","name":"a/","mode":493,"#));
    assert!(!text.contains('\n') && !text.contains(": "));
    let order = [
        "type",
        "name",
        "linkName",
        "mode",
        "size",
        "uid",
        "gid",
        "modtime",
        "accesstime",
        "changetime",
        "devMajor",
        "devMinor",
        "xattrs",
        "digest",
        "offset",
        "endOffset",
        "chunkSize",
        "chunkOffset",
        "chunkDigest",
        "chunkType",
    ];
    let json: Value = serde_json::from_str(&text).unwrap();
    let top: BTreeSet<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        top,
        ["entries", "tarSplitDigest", "version"]
            .map(String::from)
            .into()
    );
    let entries = json["entries"].as_array().unwrap();
    for e in entries {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        for k in &keys {
            assert!(order.contains(&k.as_str()), "unexpected field {k}");
        }
        // Fields appear in the text in declaration order.
        // (serde_json writes U+FFFD as is, Go as `\ufffd`: that entry is found by type.)
        let name = e["name"].as_str().unwrap();
        let head = format!(
            r#"{{"type":{},"name":{}"#,
            e["type"],
            serde_json::to_string(name)
                .unwrap()
                .replace('\u{fffd}', "\\ufffd")
        );
        let at = text.find(&head).unwrap();
        let mut last = 0;
        for k in order.iter().filter(|k| e.get(**k).is_some()) {
            let pos = text[at..].find(&format!(r#""{k}":"#)).unwrap();
            assert!(pos >= last, "{name}: {k} out of order");
            last = pos;
        }
        if e["type"] != "chunk" {
            let modtime = e["modtime"].as_str().unwrap();
            assert!(modtime.ends_with('Z') && modtime.len() >= 20, "{modtime}");
        }
        // No eStargz-only fields.
        assert!(e.get("userName").is_none() && e.get("innerOffset").is_none());
    }
    let by_name = |n: &str| entries.iter().find(|e| e["name"] == n).unwrap();
    let small = by_name("a/small.txt");
    assert_eq!(small["modtime"], "2023-11-14T22:13:20.25Z");
    assert_eq!(small["xattrs"]["user.k"], "djwmPg==");
    assert_eq!(small["uid"], 1000);
    assert!(small.get("chunkDigest").is_none() && small.get("chunkSize").is_none());
    assert!(by_name("a/empty").get("digest").is_none());
    assert_eq!(by_name("b/hard")["type"], "hardlink");
    assert_eq!(by_name("b/hard")["linkName"], "a/small.txt");
    assert_eq!(by_name("a/link")["type"], "symlink");
    assert_eq!(by_name("a/\u{fffd}raw")["size"], 9);
    let holey: Vec<&Value> = entries
        .iter()
        .filter(|e| e["name"] == "b/c/holey.bin")
        .collect();
    assert_eq!(holey[0]["type"], "reg");
    assert!(holey[0].get("chunkOffset").is_none());
    for c in &holey[1..] {
        assert_eq!(c["type"], "chunk");
        assert!(c["chunkOffset"].as_u64().unwrap() > 0);
        assert!(c.get("endOffset").is_none() && c.get("digest").is_none());
    }
    let sizes: u64 = holey.iter().map(|c| c["chunkSize"].as_u64().unwrap()).sum();
    assert_eq!(sizes, 607_003);
}

#[test]
fn tar_split_rebuilds_the_tar() {
    let (tar, files) = tricky_tar();
    let (blob, _) = encode(&tar, 2);
    let p = parts(&blob);
    let mut rebuilt = Vec::new();
    for (i, line) in String::from_utf8(p.tar_split).unwrap().lines().enumerate() {
        let e: Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["position"], i);
        match e["type"].as_u64().unwrap() {
            2 => rebuilt.extend(base64(e["payload"].as_str().unwrap())),
            1 => {
                let name = match e.get("name_raw") {
                    Some(raw) => base64(raw.as_str().unwrap()),
                    None => e["name"].as_str().unwrap().as_bytes().to_vec(),
                };
                let size = e["size"].as_u64().unwrap_or(0);
                if size > 0 {
                    let data = &files[&name];
                    assert_eq!(data.len() as u64, size);
                    assert_eq!(base64(e["payload"].as_str().unwrap()).len(), 8);
                    rebuilt.extend_from_slice(data);
                } else {
                    assert!(e["payload"].is_null());
                }
            }
            other => panic!("entry type {other}"),
        }
    }
    assert_eq!(rebuilt, tar);
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let (tar, _) = tricky_tar();
    let (one, a) = encode(&tar, 1);
    let (four, b) = encode(&tar, 4);
    assert_eq!(one, four);
    assert_eq!(a, b);
}

#[test]
fn reader_reads_verifies_unpacks_and_extracts() {
    let (tar, files) = tricky_tar();
    let (blob, encoded) = encode(&tar, 2);
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(encoded.toc_digest);
    let reader = Reader::open(&blob[..], options).unwrap();
    assert_eq!(reader.footer().kind(), FooterKind::ZstdChunkedV2);
    assert_eq!(reader.payload_end(), encoded.toc_offset - 8);
    for (name, data) in &files {
        let file = reader.open_file(name).unwrap();
        assert_eq!(&file.read_to_vec().unwrap(), data, "{name:?}");
        if data.len() > 300_000 {
            let mut buf = vec![0; 9000];
            let n = file.read_at(398_000, &mut buf).unwrap();
            assert_eq!(&buf[..n], &data[398_000..398_000 + n]);
        }
    }
    let verification = reader.verify_all().unwrap();
    assert_eq!(verification.files.len(), files.len());
    for f in &verification.files {
        assert_eq!(f.sha256, Digest::of(&files[&f.path]));
    }
    let mut unpacked = Vec::new();
    reader.unpack_to_tar(&mut unpacked).unwrap();
    assert_eq!(unpacked, tar);

    let dir = tempfile::tempdir().unwrap();
    reader
        .extract_to(dir.path(), &ExtractOptions::default())
        .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("b/c/holey.bin")).unwrap(),
        files[&b"b/c/holey.bin"[..]]
    );
    assert_eq!(
        std::fs::read(dir.path().join("b/hard")).unwrap(),
        b"hello, v2"
    );
}

#[test]
fn corruption_in_a_chunk_frame_is_detected() {
    let (tar, files) = tricky_tar();
    let (mut blob, _) = encode(&tar, 1);
    let reader = Reader::open(&blob[..], ReaderOptions::default()).unwrap();
    let chunk = reader.open_file("b/c/holey.bin").unwrap().chunks()[2];
    drop(reader);
    // Flip a byte in the middle of the chunk's frame (its content checksum catches it even
    // before the chunk digest does).
    blob[((chunk.blob_offset + chunk.blob_end) / 2) as usize] ^= 0x55;
    let reader = Reader::open(&blob[..], ReaderOptions::default()).unwrap();
    assert!(
        reader
            .open_file("b/c/holey.bin")
            .unwrap()
            .read_to_vec()
            .is_err()
    );
    assert_eq!(
        reader
            .open_file("a/small.txt")
            .unwrap()
            .read_to_vec()
            .unwrap(),
        files[&b"a/small.txt"[..]]
    );
    assert!(reader.verify_all().is_err());
}

#[test]
fn what_containers_storage_cannot_store_is_refused() {
    let encoder = || Encoder::builder().format(Format::ZstdChunkedV2).threads(1);
    assert!(encoder().prioritized(["a"]).build().is_err());
    // Two entries for one path (tar-split refuses them).
    let mut builder = tar::Builder::new(Vec::new());
    for _ in 0..2 {
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        builder.append_data(&mut h, "dup", &b"x"[..]).unwrap();
    }
    let dup = builder.into_inner().unwrap();
    let err = encoder()
        .build()
        .unwrap()
        .encode_read_at(&dup[..], &mut Vec::new())
        .unwrap_err();
    assert!(
        matches!(err, estargz::Error::UnsupportedInput { .. }),
        "{err}"
    );
    // An empty input still makes a valid, readable blob.
    let mut blob = Vec::new();
    let encoded = encoder()
        .build()
        .unwrap()
        .encode_read_at(&[][..], &mut blob)
        .unwrap();
    assert_eq!(encoded.toc_entries, 0);
    let reader = Reader::open(&blob[..], ReaderOptions::default()).unwrap();
    assert!(reader.verify_all().unwrap().files.is_empty());
    assert!(
        parts(&blob)
            .manifest
            .starts_with(br#"{"version":1,"entries":null,"#)
    );
}
