//! Property tests: TOC JSON written by us reads back to the same TOC, and rewrites to the
//! same bytes.

use std::collections::BTreeMap;

mod common;

use common::normalise_toc;
use estargz_toc::{EntryType, GoString, Limits, Toc, TocEntry};
use proptest::prelude::*;

/// Bytes for names: ASCII (controls and HTML characters included), valid multi-byte
/// characters (U+2028, U+FFFD, emoji), and stray bytes that are not UTF-8 (0xFF often).
fn go_string() -> impl Strategy<Value = GoString> {
    let piece = prop_oneof![
        4 => (0x20u8..0x7f).prop_map(|b| vec![b]),
        1 => (0u8..0x20).prop_map(|b| vec![b]),
        1 => Just(vec![0x7f]),
        1 => prop::sample::select(vec!["<", ">", "&", "\"", "\\", "/", "\u{2028}", "\u{2029}", "\u{fffd}", "é", "😀"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        1 => Just(vec![0xff]),
        1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
        1 => prop::sample::select(vec![&b"\xe2\x82"[..], b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"])
            .prop_map(<[u8]>::to_vec),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| GoString::from(v.concat()))
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => "sha256:[0-9a-f]{64}",
        2 => prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ]
}

fn number() -> impl Strategy<Value = i64> {
    prop_oneof![3 => Just(0i64), 1 => -3i64..1000, 1 => any::<i64>(), 1 => Just(i64::MIN), 1 => Just(i64::MAX)]
}

fn kind() -> impl Strategy<Value = EntryType> {
    prop_oneof![
        8 => prop::sample::select(vec!["dir", "reg", "symlink", "hardlink", "char", "block", "fifo", "chunk"])
            .prop_map(EntryType::from_json_name),
        1 => string().prop_map(|s| EntryType::from_json_name(&s)),
    ]
}

fn xattrs() -> impl Strategy<Value = BTreeMap<GoString, Vec<u8>>> {
    prop::collection::btree_map(go_string(), prop::collection::vec(any::<u8>(), 0..24), 0..4)
}

fn entry() -> impl Strategy<Value = TocEntry> {
    (
        (
            go_string(),
            kind(),
            number(),
            string(),
            go_string(),
            number(),
        ),
        (
            number(),
            number(),
            go_string(),
            go_string(),
            number(),
            number(),
        ),
        (
            number(),
            number(),
            xattrs(),
            string(),
            number(),
            number(),
            string(),
        ),
    )
        .prop_map(
            |(
                (name, kind, size, modtime, link_name, mode),
                (uid, gid, user_name, group_name, offset, inner_offset),
                (dev_major, dev_minor, xattrs, digest, chunk_offset, chunk_size, chunk_digest),
            )| TocEntry {
                name,
                kind,
                size,
                modtime,
                link_name,
                mode,
                uid,
                gid,
                user_name,
                group_name,
                offset,
                inner_offset,
                dev_major,
                dev_minor,
                xattrs,
                digest,
                chunk_offset,
                chunk_size,
                chunk_digest,
            },
        )
}

fn toc() -> impl Strategy<Value = Toc> {
    (number(), prop::collection::vec(entry(), 0..6))
        .prop_map(|(version, entries)| Toc { version, entries })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reads_back_what_it_writes(toc in toc()) {
        let json = toc.to_json();
        let read = Toc::from_json(&json, &Limits::default()).unwrap();
        prop_assert_eq!(&read, &normalise_toc(&toc));
        // A normalised TOC round-trips exactly.
        let again = Toc::from_json(&read.to_json(), &Limits::default()).unwrap();
        prop_assert_eq!(again, read);
    }

    #[test]
    fn rewrites_identical_bytes(toc in toc()) {
        // Any TOC: the bytes written after reading are those of the normalised TOC. (They
        // can differ from the first write: a stray byte such as 0x80 sorts first among
        // xattr keys but reads back as 0xFF, which sorts last; Go behaves the same.)
        let json = toc.to_json();
        let read = Toc::from_json(&json, &Limits::default()).unwrap();
        let normalised = normalise_toc(&toc);
        prop_assert_eq!(read.to_json(), normalised.to_json());
        // A normalised TOC (every TOC the reader produces) rewrites to identical bytes.
        let json = normalised.to_json();
        let read = Toc::from_json(&json, &Limits::default()).unwrap();
        prop_assert_eq!(read.to_json(), json);
    }

    #[test]
    fn consumed_length_ignores_trailing_bytes(toc in toc(), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut json = toc.to_json();
        let len = json.len();
        json.extend_from_slice(&tail);
        let (read, used) = Toc::from_json_prefix(&json, &Limits::default()).unwrap();
        prop_assert_eq!(used, len);
        prop_assert_eq!(read, normalise_toc(&toc));
    }

    #[test]
    fn never_panics_on_mutated_json(
        toc in toc(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut json = toc.to_json();
        for (at, byte) in edits {
            let i = at.index(json.len());
            json[i] = byte;
        }
        let limits = Limits::default();
        if let Ok(read) = Toc::from_json(&json, &limits) {
            let again = Toc::from_json(&read.to_json(), &limits).unwrap();
            prop_assert_eq!(again, read);
        }
        let _ = Toc::from_json(&json[..cut.index(json.len())], &limits);
    }

    #[test]
    fn never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Toc::from_json(&bytes, &Limits::default());
    }
}

/// A TOC shaped like a real layer's: directories, files with digests, some chunked.
fn big_toc(n: usize) -> Toc {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let entries = (0..n)
        .map(|i| {
            let dir = i % 10 == 0;
            TocEntry {
                name: format!(
                    "./usr/lib/python3.11/site-packages/pkg{}/module_{i}.py",
                    i / 100
                )
                .into(),
                kind: if dir { EntryType::Dir } else { EntryType::Reg },
                size: if dir { 0 } else { 1000 + i as i64 },
                modtime: "2023-05-06T07:08:09Z".into(),
                mode: if dir { 0o40755 } else { 0o100644 },
                user_name: if i == 0 {
                    "root".into()
                } else {
                    GoString::new()
                },
                offset: if dir { 0 } else { 4096 * i as i64 },
                digest: if dir { String::new() } else { digest.clone() },
                chunk_digest: if dir { String::new() } else { digest.clone() },
                ..TocEntry::default()
            }
        })
        .collect();
    Toc {
        version: 1,
        entries,
    }
}

/// Run with `cargo test --release -p estargz-toc --test json_roundtrip -- --ignored
/// --nocapture` to see how fast a 55 000-entry TOC is read and written.
#[test]
#[ignore = "timing; run in release"]
fn speed_55k_entries() {
    let toc = big_toc(55_000);
    let json = toc.to_json();
    let limits = Limits::default();
    let mut best_read = std::time::Duration::MAX;
    let mut best_write = std::time::Duration::MAX;
    for _ in 0..10 {
        let t = std::time::Instant::now();
        let read = Toc::from_json(&json, &limits).unwrap();
        best_read = best_read.min(t.elapsed());
        let t = std::time::Instant::now();
        let again = read.to_json();
        best_write = best_write.min(t.elapsed());
        assert_eq!(again.len(), json.len());
    }
    println!(
        "{} entries, {} bytes: read {:?}, write {:?}",
        toc.entries.len(),
        json.len(),
        best_read,
        best_write
    );
}
