//! Shared by the encoder and reader fuzz targets: an arbitrary set of files as a tar, and the
//! blob our encoder makes of it.

use estargz::Encoder;
use estargz::gzip::Compression;
use estargz::tar::{TarHeader, encode_end_of_archive, encode_header, padding};
use libfuzzer_sys::arbitrary::{Result, Unstructured};

/// A regular file of the fuzzed layer.
pub struct File {
    pub path: String,
    pub content: Vec<u8>,
}

/// Up to 8 files of up to 2 KiB each, in up to 3 directories.
pub fn files(u: &mut Unstructured<'_>) -> Result<Vec<File>> {
    let count = u.int_in_range(0..=8)?;
    let mut files = Vec::with_capacity(count);
    for i in 0..count {
        let dir = u.int_in_range(0..=3u8)?;
        let path = if dir == 0 {
            format!("file{i}")
        } else {
            format!("dir{dir}/file{i}")
        };
        let len = u.int_in_range(0..=2048usize)?;
        let content = u.bytes(len.min(u.len()))?.to_vec();
        files.push(File { path, content });
    }
    Ok(files)
}

/// The files as a tar (USTAR headers, end-of-archive included).
pub fn tar(files: &[File]) -> Vec<u8> {
    let mut tar = Vec::new();
    for file in files {
        let mut header = TarHeader::new(b'0', file.path.as_bytes().to_vec());
        header.mode = 0o644;
        header.size = file.content.len() as i64;
        encode_header(&header, &mut tar).expect("plain USTAR headers encode");
        tar.extend_from_slice(&file.content);
        tar.resize(tar.len() + padding(file.content.len() as u64) as usize, 0);
    }
    encode_end_of_archive(&mut tar);
    tar
}

/// Encodes `tar` at the given level, chunk size and thread count.
pub fn encode(tar: &[u8], level: u32, chunk_size: u64, threads: usize) -> Vec<u8> {
    let encoder = Encoder::builder()
        .level(Compression::new(level).expect("a valid level"))
        .chunk_size(chunk_size)
        .threads(threads)
        .build()
        .expect("valid options");
    let mut blob = Vec::new();
    encoder
        .encode_tar(&tar.to_vec(), &mut blob)
        .expect("our own tar encodes");
    blob
}
