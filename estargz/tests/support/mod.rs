//! A small eStargz blob builder for tests (independent of the crate's encoder).
//!
//! It writes what the reference writer writes, structurally: tar headers ride in the
//! current gzip member, each chunk of file data starts a new member (or, with
//! `share_below`, shares the current member while it holds fewer uncompressed bytes than
//! that, recording `innerOffset`), then a TOC member and the 51-byte footer.

// Each test binary uses a different part; in tests a panic is a failure report.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::Write;

use estargz::tar::{TarHeader, encode_end_of_archive, encode_header, padding};
use estargz_toc::{EntryType, Footer, Toc, TocEntry};
use estargz_verifier::Digest;
use flate2::Compression;
use flate2::write::GzEncoder;

/// One input entry.
#[derive(Debug, Clone)]
pub enum Input {
    Dir(String),
    File(String, Vec<u8>),
    Symlink(String, String),
    Hardlink(String, String),
    /// Raw uncompressed bytes appended to the current member, not described by the TOC.
    Raw(Vec<u8>),
}

/// Builder options.
#[derive(Debug, Clone)]
pub struct BlobBuilder {
    pub chunk_size: u64,
    /// When set, a chunk starts a new member only if the current one already holds at
    /// least this many uncompressed bytes.
    pub share_below: Option<u64>,
    pub level: u32,
    pub inputs: Vec<Input>,
}

/// A built blob, before the TOC and footer are appended (so tests can tamper with them).
#[derive(Debug, Clone)]
pub struct Parts {
    /// The compressed payload: every member before the TOC.
    pub data: Vec<u8>,
    /// The uncompressed payload (the plain tar stream without end-of-archive).
    pub payload: Vec<u8>,
    pub toc: Toc,
    pub level: u32,
}

impl BlobBuilder {
    pub fn new(chunk_size: u64) -> Self {
        Self {
            chunk_size,
            share_below: None,
            level: 6,
            inputs: Vec::new(),
        }
    }

    pub fn dir(mut self, name: &str) -> Self {
        self.inputs.push(Input::Dir(name.into()));
        self
    }

    pub fn file(mut self, name: &str, data: impl Into<Vec<u8>>) -> Self {
        self.inputs.push(Input::File(name.into(), data.into()));
        self
    }

    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.inputs.push(Input::Symlink(name.into(), target.into()));
        self
    }

    pub fn hardlink(mut self, name: &str, target: &str) -> Self {
        self.inputs
            .push(Input::Hardlink(name.into(), target.into()));
        self
    }

    pub fn raw(mut self, bytes: Vec<u8>) -> Self {
        self.inputs.push(Input::Raw(bytes));
        self
    }

    pub fn parts(&self) -> Parts {
        let mut w = Writer {
            data: Vec::new(),
            member: Vec::new(),
            member_start: 0,
            payload: Vec::new(),
            level: self.level,
        };
        let mut entries = Vec::new();
        for input in &self.inputs {
            match input {
                Input::Raw(bytes) => w.put(bytes),
                Input::Dir(name) => {
                    w.header(b'5', name, "", 0, 0o755);
                    entries.push(entry(name, EntryType::Dir, 0o755));
                }
                Input::Symlink(name, target) => {
                    w.header(b'2', name, target, 0, 0o777);
                    let mut e = entry(name, EntryType::Symlink, 0o777);
                    e.link_name = target.as_str().into();
                    entries.push(e);
                }
                Input::Hardlink(name, target) => {
                    w.header(b'1', name, target, 0, 0o644);
                    let mut e = entry(name, EntryType::Hardlink, 0o644);
                    e.link_name = target.as_str().into();
                    entries.push(e);
                }
                Input::File(name, data) => {
                    w.header(b'0', name, "", data.len() as i64, 0o644);
                    let mut reg = entry(name, EntryType::Reg, 0o644);
                    reg.size = data.len() as i64;
                    reg.digest = Digest::of(data).to_string();
                    if data.is_empty() {
                        entries.push(reg);
                        continue;
                    }
                    for (k, chunk) in data.chunks(self.chunk_size as usize).enumerate() {
                        let shared = self
                            .share_below
                            .is_some_and(|min| (w.member.len() as u64) < min);
                        let inner = if shared {
                            w.member.len() as u64
                        } else {
                            w.close();
                            0
                        };
                        let mut e = if k == 0 {
                            std::mem::take(&mut reg)
                        } else {
                            let mut c = entry(name, EntryType::Chunk, 0);
                            c.mode = 0;
                            c
                        };
                        e.offset = w.member_start as i64;
                        e.inner_offset = inner as i64;
                        e.chunk_offset = (k as u64 * self.chunk_size) as i64;
                        e.chunk_size = if chunk.len() as u64 == self.chunk_size {
                            self.chunk_size as i64
                        } else {
                            0
                        };
                        e.chunk_digest = Digest::of(chunk).to_string();
                        entries.push(e);
                        w.put(chunk);
                    }
                    let pad = padding(data.len() as u64) as usize;
                    w.put(&vec![0; pad]);
                }
            }
        }
        w.close();
        Parts {
            data: w.data,
            payload: w.payload,
            toc: Toc {
                version: 1,
                entries,
            },
            level: self.level,
        }
    }

    /// The finished blob and its parts.
    pub fn build(&self) -> (Vec<u8>, Parts) {
        let parts = self.parts();
        (parts.assemble(), parts)
    }
}

impl Parts {
    /// Appends the TOC member and the footer to the payload.
    pub fn assemble(&self) -> Vec<u8> {
        self.assemble_json(&self.toc.to_json())
    }

    pub fn assemble_json(&self, json: &[u8]) -> Vec<u8> {
        let mut blob = self.data.clone();
        let toc_offset = blob.len() as u64;
        let mut tar = Vec::new();
        let mut header = TarHeader::new(b'0', "stargz.index.json");
        header.size = json.len() as i64;
        encode_header(&header, &mut tar).unwrap();
        tar.extend_from_slice(json);
        tar.resize(tar.len() + padding(json.len() as u64) as usize, 0);
        encode_end_of_archive(&mut tar);
        blob.extend_from_slice(&gzip(&tar, self.level));
        blob.extend_from_slice(&Footer::estargz(toc_offset).unwrap().to_bytes());
        blob
    }

    pub fn toc_digest(&self) -> Digest {
        Digest::of(&self.toc.to_json())
    }
}

fn entry(name: &str, kind: EntryType, mode: i64) -> TocEntry {
    TocEntry {
        name: name.into(),
        kind,
        mode,
        modtime: "2020-01-01T00:00:00Z".into(),
        ..TocEntry::default()
    }
}

struct Writer {
    data: Vec<u8>,
    member: Vec<u8>,
    member_start: u64,
    payload: Vec<u8>,
    level: u32,
}

impl Writer {
    fn put(&mut self, bytes: &[u8]) {
        self.member.extend_from_slice(bytes);
        self.payload.extend_from_slice(bytes);
    }

    fn header(&mut self, typeflag: u8, name: &str, link: &str, size: i64, mode: i64) {
        let mut h = TarHeader::new(typeflag, name);
        h.link_name = link.as_bytes().to_vec();
        h.size = size;
        h.mode = mode;
        // The TOC entries say 2020-01-01T00:00:00Z (see `entry`).
        h.mtime = Some(estargz::tar::TarTime::from_secs(1_577_836_800));
        let mut out = Vec::new();
        encode_header(&h, &mut out).unwrap();
        self.put(&out);
    }

    /// Closes the current member (if it has bytes) and starts a new one.
    fn close(&mut self) {
        if !self.member.is_empty() {
            let member = std::mem::take(&mut self.member);
            self.data.extend_from_slice(&gzip(&member, self.level));
        }
        self.member_start = self.data.len() as u64;
    }
}

pub fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::new(level));
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}
