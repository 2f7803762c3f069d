//! Encode -> decode round trip of arbitrary file sets: the blob does not depend on the thread
//! count, the reader verifies it and lists exactly the input files (plus the landmark), and
//! every file reads back whole.

#![no_main]

mod support;

use estargz::reader::{Reader, ReaderOptions};
use estargz_verifier::Digest;
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(level), Ok(chunk_size), Ok(files)) = (
        u.int_in_range(0..=9u32),
        u.int_in_range(1..=4096u64),
        support::files(&mut u),
    ) else {
        return;
    };
    let tar = support::tar(&files);
    let blob = support::encode(&tar, level, chunk_size, 1);
    assert!(
        support::encode(&tar, level, chunk_size, 2) == blob,
        "the blob depends on the thread count"
    );

    let reader = Reader::open(blob, ReaderOptions::default()).expect("our blob opens");
    let verified = reader.verify_all().expect("our blob verifies");
    assert_eq!(
        verified.files.len(),
        files.len() + 1,
        "files plus the landmark"
    );
    for file in &files {
        let listed = verified
            .files
            .iter()
            .find(|f| f.path == file.path.as_bytes())
            .expect("every input file is listed");
        assert_eq!(listed.size, file.content.len() as u64);
        assert_eq!(listed.sha256, Digest::of(&file.content));
        let read = reader
            .open_file(&file.path)
            .and_then(|f| f.read_to_vec())
            .expect("every file reads");
        assert!(
            read == file.content,
            "{} reads back different bytes",
            file.path
        );
    }
});
