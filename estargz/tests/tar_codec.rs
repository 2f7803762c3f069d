//! Golden tests of the tar codec against Go 1.19's `archive/tar`, a cross-check against the
//! `tar` crate, and property tests of the encoder/parser round trip.
//!
//! Each fixture `NAME.tar[.gz]` in `tests/fixtures/tar/` has a golden `NAME.go.tar[.gz]`:
//! what Go wrote when it read the fixture with `tar.Reader` and wrote every header and
//! payload back with `tar.Writer` (see `generate.py` there). Re-encoding every parsed header
//! with `encode_header` must give the same bytes.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};

use estargz::tar::{
    EntryKind, PaxRecord, TarEntry, TarError, TarEvent, TarFormat, TarHeader, TarLimits, TarParser,
    TarTime, encode_end_of_archive, encode_header, padding, parse_archive,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tar")
}

/// Reads a fixture, un-gzipping `.gz` files.
fn load(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

/// (name, input, golden) for every fixture.
fn fixtures() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = file
            .strip_suffix(".tar.gz")
            .or_else(|| file.strip_suffix(".tar"))
        else {
            continue;
        };
        if stem.ends_with(".go") {
            continue;
        }
        let ext = &file[stem.len()..];
        let golden = fixture_dir().join(format!("{stem}.go{ext}"));
        out.push((stem.to_owned(), load(&path), load(&golden)));
    }
    out.sort();
    assert!(out.len() >= 10, "fixtures missing: {}", out.len());
    out
}

/// The logical content of an entry, as Go's reader returns it (sparse holes expanded).
fn logical_payload(input: &[u8], e: &TarEntry) -> Vec<u8> {
    let start = e.payload_offset as usize;
    let physical = &input[start..start + e.payload_len as usize];
    match &e.sparse {
        None => physical.to_vec(),
        Some(map) => {
            let mut out = vec![0u8; e.header.size as usize];
            let mut pos = 0usize;
            for frag in &map.data {
                let (o, l) = (frag.offset as usize, frag.length as usize);
                out[o..o + l].copy_from_slice(&physical[pos..pos + l]);
                pos += l;
            }
            assert_eq!(pos, physical.len(), "sparse data length");
            out
        }
    }
}

/// What our codec writes for `input`: every header re-encoded, payloads copied.
fn retar(input: &[u8]) -> Vec<u8> {
    let entries = parse_archive(input, &TarLimits::default()).unwrap();
    let mut out = Vec::new();
    for e in &entries {
        encode_header(&e.header, &mut out).unwrap();
        let len = e.header.data_len();
        if len > 0 {
            let data = logical_payload(input, e);
            assert_eq!(data.len() as u64, len);
            out.extend_from_slice(&data);
        }
        out.resize(out.len() + padding(len) as usize, 0);
    }
    encode_end_of_archive(&mut out);
    out
}

#[test]
fn reencoding_matches_go_retar() {
    for (name, input, golden) in fixtures() {
        let ours = retar(&input);
        if ours != golden {
            let at = ours
                .iter()
                .zip(&golden)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(golden.len()));
            let block = at / 512 * 512;
            panic!(
                "{name}: first difference at byte {at} (ours {} bytes, Go {} bytes)\n\
                 ours: {:?}\ngo:   {:?}",
                ours.len(),
                golden.len(),
                String::from_utf8_lossy(&ours[block..(block + 512).min(ours.len())]),
                String::from_utf8_lossy(&golden[block..(block + 512).min(golden.len())]),
            );
        }
    }
}

#[test]
fn fixtures_have_expected_shapes() {
    let all = fixtures();
    let get = |n: &str| {
        let (_, input, _) = all.iter().find(|(name, ..)| name == n).unwrap();
        parse_archive(input, &TarLimits::default()).unwrap()
    };

    let ustar = get("py-ustar");
    assert!(ustar.iter().all(|e| e.header.format == TarFormat::Ustar));
    let kinds: Vec<_> = ustar.iter().map(|e| e.header.kind()).collect();
    for k in [
        EntryKind::Directory,
        EntryKind::Regular,
        EntryKind::Symlink,
        EntryKind::Hardlink,
        EntryKind::Fifo,
        EntryKind::CharDevice,
        EntryKind::BlockDevice,
    ] {
        assert!(kinds.contains(&k), "{k:?}");
    }
    let dev = ustar.iter().find(|e| e.header.name == b"dev/sda1").unwrap();
    assert_eq!((dev.header.dev_major, dev.header.dev_minor), (8, 1));
    assert!(ustar.iter().any(|e| e.header.name.starts_with(b"./")));

    let gnu = get("py-gnu");
    assert!(gnu.iter().all(|e| e.header.format == TarFormat::Gnu));
    let big = gnu.iter().find(|e| e.header.name == b"biguid").unwrap();
    assert_eq!((big.header.uid, big.header.gid), (3_000_000, 2_097_152));
    let long = gnu.iter().find(|e| e.header.name.len() > 200).unwrap();
    assert!(long.extension_offset.is_some());
    assert!(long.extension_offset.unwrap() < long.header_offset);
    let latin1 = gnu
        .iter()
        .find(|e| e.header.name == b"caf\xe9-latin1.txt")
        .unwrap();
    assert_eq!(latin1.header.size, 14);
    let link = gnu.iter().find(|e| e.header.name == b"longlink").unwrap();
    assert_eq!(link.header.link_name, vec![b't'; 150]);

    let pax = get("py-pax");
    assert_eq!(pax[0].header.kind(), EntryKind::GlobalHeader);
    let x = pax.iter().find(|e| e.header.name == b"xattrs").unwrap();
    assert_eq!(x.header.format, TarFormat::Pax);
    let xattrs = x.header.xattrs();
    assert!(xattrs.contains(&(&b"user.bin"[..], &b"\0\x01\xff"[..])));
    assert!(
        x.header
            .pax_records
            .iter()
            .any(|r| r.key == b"LIBARCHIVE.xattr.user.b64")
    );
    assert_eq!(x.header.atime, TarTime::new(1_700_000_001, 500_000_000));
    let frac = pax.iter().find(|e| e.header.name == b"frac-mtime").unwrap();
    assert_eq!(frac.header.mtime.unwrap().secs(), 1_700_000_000);
    assert!(frac.header.mtime.unwrap().nanos() > 0);

    let sparse = get("gnutar-sparse-gnu");
    assert_eq!(sparse[0].header.typeflag, b'S');
    assert!(sparse[0].sparse.as_ref().unwrap().data.len() > 4);
    for v in ["pax00", "pax01", "pax10"] {
        let e = get(&format!("gnutar-sparse-{v}"));
        assert_eq!(e[0].header.name, b"sparse", "{v}");
        assert!(e[0].sparse.is_some(), "{v}");
    }

    let v7 = get("gnutar-v7");
    assert!(v7.iter().all(|e| e.header.format == TarFormat::Unknown));
}

/// Compares our parse with the `tar` crate's on the fixtures both read the same way.
#[test]
fn parse_agrees_with_tar_crate() {
    for (name, input, _) in fixtures() {
        let ours: Vec<TarEntry> = parse_archive(&input, &TarLimits::default())
            .unwrap()
            .into_iter()
            .filter(|e| e.header.typeflag != b'g')
            .collect();
        let mut archive = tar::Archive::new(&input[..]);
        let theirs: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.header().entry_type() != tar::EntryType::XGlobalHeader)
            .map(|e| {
                (
                    e.path_bytes().into_owned(),
                    e.header().entry_size().unwrap(),
                    e.header().entry_type().as_byte(),
                    e.raw_header_position(),
                    e.raw_file_position(),
                )
            })
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (o, t) in ours.iter().zip(&theirs) {
            // The tar crate does not apply GNU PAX sparse records.
            if o.sparse.is_some() {
                continue;
            }
            assert_eq!(o.header_offset, t.3, "{name}");
            assert_eq!(o.payload_offset, t.4, "{name}");
            assert_eq!(o.header.typeflag, t.2, "{name}");
            assert_eq!(o.payload_len, t.1, "{name}: {:?}", t.0);
            // The tar crate strips nothing but may keep a trailing slash differently.
            assert_eq!(o.header.name, t.0, "{name}");
        }
    }
}

#[test]
fn incremental_parse_equals_whole_parse() {
    for (name, input, _) in fixtures() {
        let whole = parse_archive(&input, &TarLimits::default()).unwrap();
        let mut parser = TarParser::new(TarLimits::default());
        let mut got = Vec::new();
        let mut have = 0usize;
        loop {
            let start = parser.offset() as usize;
            let avail = have.min(input.len() - start);
            match parser.parse(&input[start..start + avail], false).unwrap() {
                TarEvent::NeedData { needed } => {
                    assert!(needed > avail, "{name}");
                    have = needed;
                }
                TarEvent::Entry { entry, .. } | TarEvent::GlobalHeader { entry, .. } => {
                    got.push(*entry);
                    have = 0;
                }
                TarEvent::End { .. } => break,
                other => panic!("{other:?}"),
            }
            if have > input.len() - start {
                // The stream ends here: tell the parser.
                let e = parser.parse(&input[start..], true).unwrap();
                assert!(matches!(e, TarEvent::End { .. }), "{name}: {e:?}");
                break;
            }
        }
        assert_eq!(got, whole, "{name}");
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let (_, input, _) = fixtures().into_iter().next().unwrap();
    for cut in (0..input.len()).step_by(97) {
        let _ = parse_archive(&input[..cut], &TarLimits::default());
    }
    let mut bad = input.clone();
    for i in (0..bad.len()).step_by(131) {
        bad[i] ^= 0x5a;
        let _ = parse_archive(&bad, &TarLimits::default());
    }
    assert!(matches!(
        parse_archive(&[1u8; 512], &TarLimits::default()),
        Err(TarError::BadChecksum { offset: 0 })
    ));
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(b'a'..=b'z', 0..max.min(30)),
            1 => proptest::collection::vec(prop_oneof![Just(b'/'), b'a'..=b'c', 1u8..=255], 0..max),
        ]
    }

    fn time() -> impl Strategy<Value = Option<TarTime>> {
        prop_oneof![
            2 => Just(None),
            2 => (0i64..=(1 << 34), 0u32..1_000_000_000).prop_map(|(s, n)| TarTime::new(s, n)),
            1 => (-(1i64 << 40)..(1 << 40)).prop_map(|s| Some(TarTime::from_secs(s))),
        ]
    }

    fn number() -> impl Strategy<Value = i64> {
        prop_oneof![8 => 0i64..0o7777777, 1 => 0i64..(1 << 40), 1 => -5i64..5]
    }

    prop_compose! {
        fn header()(
            typeflag in prop::sample::select(&b"01234567D"[..]),
            name in bytes(300),
            link_name in bytes(200),
            size in prop_oneof![4 => 0i64..2000, 1 => 0i64..(1 << 40)],
            mode in number(),
            uid in number(),
            gid in number(),
            uname in bytes(40),
            gname in bytes(40),
            mtime in time(),
            atime in time(),
            ctime in time(),
            dev_major in number(),
            dev_minor in number(),
            xattrs in proptest::collection::vec((b'a'..=b'z', proptest::collection::vec(any::<u8>(), 0..20)), 0..3),
            format in prop::sample::select(vec![
                TarFormat::Unknown, TarFormat::Unknown, TarFormat::Unknown,
                TarFormat::Ustar, TarFormat::Pax, TarFormat::Gnu,
            ]),
        ) -> TarHeader {
            let mut h = TarHeader::new(typeflag, name);
            h.link_name = link_name;
            h.size = size;
            h.mode = mode;
            h.uid = uid;
            h.gid = gid;
            h.uname = uname;
            h.gname = gname;
            h.mtime = mtime;
            h.atime = atime;
            h.ctime = ctime;
            h.dev_major = dev_major;
            h.dev_minor = dev_minor;
            h.pax_records = xattrs
                .into_iter()
                .map(|(k, v)| PaxRecord { key: [&b"SCHILY.xattr.user."[..], &[k]].concat(), value: v })
                .collect();
            h.format = format;
            h
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1000,
            max_global_rejects: 1_000_000,
            ..ProptestConfig::default()
        })]

        /// encode -> parse keeps the fields, and re-encoding the parsed header is stable.
        #[test]
        fn encode_parse_round_trip(h in header()) {
            let mut bytes = Vec::new();
            prop_assume!(encode_header(&h, &mut bytes).is_ok());
            let header_len = bytes.len();
            // Only headers go in here; the payload is irrelevant to the parser.
            let mut archive = bytes.clone();
            let mut parser = TarParser::new(TarLimits::default());
            archive.resize(archive.len() + 1024, 0);
            let event = parser.parse(&archive, true).unwrap();
            let TarEvent::Entry { consumed, entry } = event else {
                panic!("{event:?}");
            };
            prop_assert_eq!(consumed, header_len);
            let p = &entry.header;
            prop_assert_eq!(&p.name, &h.name);
            prop_assert_eq!(&p.link_name, &h.link_name);
            prop_assert_eq!(p.typeflag, h.typeflag);
            if h.typeflag != b'S' {
                prop_assert_eq!(p.size, h.size);
            }
            prop_assert_eq!((p.mode, p.uid, p.gid), (h.mode, h.uid, h.gid));
            prop_assert_eq!((p.dev_major, p.dev_minor), (h.dev_major, h.dev_minor));
            prop_assert_eq!(&p.uname, &h.uname);
            prop_assert_eq!(&p.gname, &h.gname);
            prop_assert_eq!(p.xattrs(), h.xattrs());
            let secs = |t: Option<TarTime>| t.map_or(0, |t| t.secs());
            if h.format != TarFormat::Unknown {
                prop_assert_eq!(secs(p.mtime), secs(h.mtime));
            }
            prop_assert_eq!(entry.payload_len, if h.typeflag == b'S' { h.size as u64 } else { h.data_len() });
            // Go re-encodes a header it read with the format it detected: same bytes.
            if h.typeflag != b'S' {
                let mut again = Vec::new();
                encode_header(p, &mut again).unwrap();
                prop_assert_eq!(again, bytes);
            }
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = parse_archive(&data, &TarLimits::default());
            let mut parser = TarParser::new(TarLimits::default());
            let _ = parser.parse(&data, false);
        }
    }
}
