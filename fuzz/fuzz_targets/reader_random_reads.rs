//! Random reads on a blob our encoder made from arbitrary files, after arbitrary corruption
//! of its bytes: every read that succeeds returns exactly the original bytes of that range
//! (corruption must surface as a typed error, never as wrong bytes); nothing panics.

#![no_main]

mod support;

use estargz::reader::{Reader, ReaderOptions};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(chunk_size), Ok(files)) = (u.int_in_range(1..=1024u64), support::files(&mut u)) else {
        return;
    };
    let tar = support::tar(&files);
    let mut blob = support::encode(&tar, 6, chunk_size, 1);
    let flips = u.int_in_range(0..=4u8).unwrap_or(0);
    for _ in 0..flips {
        let (Ok(at), Ok(mask)) = (
            u.int_in_range(0..=blob.len() - 1),
            u.int_in_range(1..=255u8),
        ) else {
            break;
        };
        blob[at] ^= mask;
    }

    let Ok(reader) = Reader::open(blob, ReaderOptions::default()) else {
        return;
    };
    // Unstructured keeps answering once its input is used up, so bound the reads.
    for _ in 0..32 {
        if u.is_empty() {
            break;
        }
        let (Ok(which), Ok(offset), Ok(len)) = (
            u.int_in_range(0..=files.len()),
            u.int_in_range(0..=2100u64),
            u.int_in_range(0..=600usize),
        ) else {
            break;
        };
        let Some(file) = files.get(which) else {
            continue;
        };
        let Ok(opened) = reader.open_file(&file.path) else {
            continue;
        };
        let mut buf = vec![0; len];
        if let Ok(n) = opened.read_at(offset, &mut buf) {
            let start = (offset as usize).min(file.content.len());
            let end = (start + n).min(file.content.len());
            assert_eq!(n, end - start, "short or long read of {}", file.path);
            assert!(
                buf[..n] == file.content[start..end],
                "wrong bytes from {}",
                file.path
            );
        }
    }
});
