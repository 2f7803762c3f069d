//! A small tar shared by the test binaries that check a blob variant against the same
//! input (zstd:chunked, external TOC).

// In tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

/// Directories, files of 0, 1 and several chunks, a symlink and a hardlink; `seed` changes
/// the content of the files but not their names or sizes.
pub(crate) fn sample_tar(seed: u8) -> (Vec<u8>, BTreeMap<String, Vec<u8>>) {
    let mut files = BTreeMap::new();
    files.insert("a/empty".to_owned(), Vec::new());
    files.insert("a/small.txt".to_owned(), vec![b'a' + seed; 11]);
    files.insert(
        "b/c/big.bin".to_owned(),
        (0..100_000u32)
            .map(|i| (i * 31 % 251) as u8 ^ seed)
            .collect(),
    );
    files.insert("b/zeros".to_owned(), vec![seed; 70_000]);
    let mut builder = tar::Builder::new(Vec::new());
    for dir in ["a/", "b/", "b/c/"] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        builder.append_data(&mut h, dir, &[][..]).unwrap();
    }
    for (name, data) in &files {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        builder.append_data(&mut h, name, &data[..]).unwrap();
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    builder.append_link(&mut h, "a/link", "small.txt").unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    builder
        .append_link(&mut h, "b/hard", "a/small.txt")
        .unwrap();
    (builder.into_inner().unwrap(), files)
}
