//! Malicious eStargz blobs, made on purpose: an honest blob from the crate's encoder, then
//! its members, TOC JSON or footer patched (the footer recomputed with the TOC crate's
//! helpers). Shared by `estargz/tests/hostile.rs` and the CLI's `cli_hostile.rs`; uses
//! only public API.

#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part; `pub` for both.

use std::io::Read;

use estargz::Encoder;
use estargz::gzip::{Compression, MultiMemberDecoder, compress_member};
use estargz::reader::{TocOptions, load_toc};
use estargz::tar::{TarHeader, TarTime, encode_end_of_archive, encode_header, padding};
use estargz_toc::{EntryType, Footer, Toc};

/// Modification time of every input entry.
const MTIME: i64 = 1_600_000_000;

/// Bytes of the sample file `a` (three chunks of 4096 bytes, the last one short).
pub fn a_content() -> Vec<u8> {
    (0..10_000u32).map(|i| (i % 251) as u8).collect()
}

/// An input tar: a directory, a file of three chunks, a small file, a symlink.
pub fn sample_tar() -> Vec<u8> {
    let mut tar = Vec::new();
    let mut add = |typeflag: u8, name: &str, link: &str, data: &[u8]| {
        let mut h = TarHeader::new(typeflag, name);
        h.link_name = link.as_bytes().to_vec();
        h.size = data.len() as i64;
        h.mode = if typeflag == b'5' { 0o755 } else { 0o644 };
        h.mtime = Some(TarTime::from_secs(MTIME));
        encode_header(&h, &mut tar).expect("encodable header");
        tar.extend_from_slice(data);
        tar.resize(tar.len() + padding(data.len() as u64) as usize, 0);
    };
    add(b'5', "d/", "", b"");
    add(b'0', "d/a", "", &a_content());
    add(b'0', "d/b", "", b"bee");
    add(b'2', "d/link", "a", b"");
    encode_end_of_archive(&mut tar);
    tar
}

/// The sample encoded with chunk size 4096 at `level`.
pub fn honest_blob(level: u32) -> Vec<u8> {
    let encoder = Encoder::builder()
        .chunk_size(4096)
        .level(Compression::new(level).expect("valid level"))
        .build()
        .expect("valid options");
    let mut blob = Vec::new();
    encoder
        .encode(sample_tar().as_slice(), &mut blob)
        .expect("encodes");
    blob
}

/// A blob taken apart: the compressed payload and its TOC.
#[derive(Debug, Clone)]
pub struct Opened {
    pub data: Vec<u8>,
    pub toc: Toc,
}

impl Opened {
    pub fn new(blob: &[u8]) -> Self {
        let loaded = load_toc(blob, &TocOptions::default()).expect("honest blob");
        Self {
            data: blob[..loaded.toc_range.start as usize].to_vec(),
            toc: loaded.toc,
        }
    }

    /// The entry named `name` (first match).
    pub fn entry(&mut self, name: &str) -> &mut estargz_toc::TocEntry {
        self.toc
            .entries
            .iter_mut()
            .find(|e| e.name == name && e.kind != EntryType::Chunk)
            .expect("entry in the sample")
    }

    /// The compressed ranges that start a chunk's member, and the header-only start at 0.
    pub fn member_starts(&self) -> Vec<u64> {
        let mut starts: Vec<u64> = self
            .toc
            .entries
            .iter()
            .filter(|e| !e.chunk_digest.is_empty())
            .map(|e| e.offset as u64)
            .collect();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        starts
    }

    /// Decompresses every member, lets `edit` change the uncompressed bytes of each
    /// (given its start offset), recompresses them and moves the TOC offsets along.
    pub fn edit_members(&mut self, mut edit: impl FnMut(u64, &mut Vec<u8>)) {
        let starts = self.member_starts();
        let mut data = Vec::new();
        let mut moved = Vec::new();
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(self.data.len() as u64, |&e| e);
            let mut plain = Vec::new();
            MultiMemberDecoder::new(&self.data[start as usize..end as usize])
                .read_to_end(&mut plain)
                .expect("honest member");
            edit(start, &mut plain);
            moved.push((start, data.len() as u64));
            data.extend(compress_member(&plain, Compression::BEST, false).expect("compresses"));
        }
        for e in &mut self.toc.entries {
            let moved_to = moved.iter().find(|(old, _)| *old == e.offset as u64);
            if let Some(&(_, new)) = moved_to
                && !e.chunk_digest.is_empty()
            {
                e.offset = new as i64;
            }
        }
        self.data = data;
    }

    /// The blob with a TOC member for `json` and a footer pointing at it.
    pub fn assemble_json(&self, json: &[u8]) -> Vec<u8> {
        let mut blob = self.data.clone();
        let toc_offset = blob.len() as u64;
        let mut tar = Vec::new();
        let mut header = TarHeader::new(b'0', "stargz.index.json");
        header.size = json.len() as i64;
        encode_header(&header, &mut tar).expect("encodable header");
        tar.extend_from_slice(json);
        tar.resize(tar.len() + padding(json.len() as u64) as usize, 0);
        encode_end_of_archive(&mut tar);
        blob.extend(compress_member(&tar, Compression::BEST, false).expect("compresses"));
        blob.extend_from_slice(&footer(toc_offset));
        blob
    }

    /// The blob with its (possibly edited) TOC.
    pub fn assemble(&self) -> Vec<u8> {
        self.assemble_json(&self.toc.to_json())
    }
}

/// The 51-byte eStargz footer pointing at `toc_offset`.
pub fn footer(toc_offset: u64) -> Vec<u8> {
    Footer::estargz(toc_offset)
        .expect("footer for any offset")
        .to_bytes()
        .to_vec()
}

/// A tar entry for a regular file `name` with `data`, as bytes of the stream.
pub fn tar_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut h = TarHeader::new(b'0', name);
    h.size = data.len() as i64;
    h.mode = 0o755;
    encode_header(&h, &mut out).expect("encodable header");
    out.extend_from_slice(data);
    out.resize(out.len() + padding(data.len() as u64) as usize, 0);
    out
}

/// A blob whose member after `d/a`'s last chunk carries a tar entry `evil` that the TOC
/// does not list (inserted right after `d/a`'s padding, before the next header).
pub fn injected_entry() -> Vec<u8> {
    let mut opened = Opened::new(&honest_blob(9));
    let last = opened
        .toc
        .entries
        .iter()
        .filter(|e| e.name == "d/a" && !e.chunk_digest.is_empty())
        .map(|e| e.offset as u64)
        .max()
        .expect("chunks of d/a");
    let tail = 10_000 % 4096;
    let at = (tail + padding(10_000)) as usize;
    opened.edit_members(|start, plain| {
        if start == last {
            let evil = tar_file("evil", b"#!/bin/sh\necho pwned\n");
            plain.splice(at..at, evil);
        }
    });
    opened.assemble()
}

/// 1 GiB of zeros, as 64 gzip members of 16 MiB.
fn gigabyte_of_zeros() -> Vec<u8> {
    let zeros = compress_member(&vec![0; 16 << 20], Compression::BEST, false).expect("compresses");
    zeros.repeat(64)
}

/// A gzip bomb. Without `before`: the member of `d/b` (the last file with content) holds
/// its 3 bytes, then 1 GiB of zeros. With `before`: the landmark's member starts with
/// 1 GiB of zeros, and its `innerOffset` says the landmark's byte comes after them.
pub fn bomb(before: bool) -> Vec<u8> {
    let mut opened = Opened::new(&honest_blob(9));
    let zeros = gigabyte_of_zeros();
    if before {
        let landmark = opened.entry(".no.prefetch.landmark");
        landmark.inner_offset = 1 << 30;
        let at = landmark.offset;
        opened
            .data
            .splice(at as usize..at as usize, zeros.iter().copied());
        for e in &mut opened.toc.entries {
            if !e.chunk_digest.is_empty() && e.offset > at {
                e.offset += zeros.len() as i64;
            }
        }
    } else {
        let b = opened.entry("d/b").offset as usize;
        opened.data.truncate(b);
        opened
            .data
            .extend(compress_member(b"bee", Compression::BEST, false).expect("compresses"));
        opened.data.extend(zeros);
    }
    opened.assemble()
}

/// A blob whose TOC JSON holds `count` empty entries.
pub fn many_entries(count: usize) -> Vec<u8> {
    let opened = Opened::new(&honest_blob(9));
    let mut json = Vec::with_capacity(count * 3 + 32);
    json.extend_from_slice(b"{\"version\":1,\"entries\":[");
    for i in 0..count {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(b"{}");
    }
    json.extend_from_slice(b"]}");
    opened.assemble_json(&json)
}

/// A blob whose TOC adds hardlinks `x` → `y` → `x`.
pub fn hardlink_cycle() -> Vec<u8> {
    let mut opened = Opened::new(&honest_blob(9));
    for (name, target) in [("x", "y"), ("y", "x")] {
        opened.toc.entries.push(estargz_toc::TocEntry {
            name: name.into(),
            kind: EntryType::Hardlink,
            link_name: target.into(),
            ..estargz_toc::TocEntry::default()
        });
    }
    opened.assemble()
}

/// An honest blob whose footer points `into` bytes into the footer itself.
pub fn footer_into_footer(into: u64) -> Vec<u8> {
    let mut blob = honest_blob(9);
    let at = blob.len() - 51;
    let patched = footer(at as u64 + into);
    blob[at..].copy_from_slice(&patched);
    blob
}

/// A blob whose TOC says `d/a` starts past the end of the data, or where `d/b` does.
pub fn bad_offsets(overlap: bool) -> Vec<u8> {
    let mut opened = Opened::new(&honest_blob(9));
    let target = if overlap {
        opened.entry("d/a").offset
    } else {
        opened.data.len() as i64 + 100
    };
    opened.entry("d/b").offset = target;
    opened.assemble()
}

/// A blob whose TOC says `d/a` is 12 bytes longer (its last chunk "holds" 1820 bytes).
pub fn lying_sizes() -> Vec<u8> {
    let mut opened = Opened::new(&honest_blob(9));
    opened.entry("d/a").size = 10_012;
    opened.assemble()
}

/// Every hostile blob the CLI is run on, by name.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("injected-entry", injected_entry()),
        ("bomb-after", bomb(false)),
        ("bomb-before", bomb(true)),
        ("hardlink-cycle", hardlink_cycle()),
        ("footer-into-footer", footer_into_footer(10)),
        ("offset-past-end", bad_offsets(false)),
        ("offset-overlap", bad_offsets(true)),
        ("lying-sizes", lying_sizes()),
    ]
}
