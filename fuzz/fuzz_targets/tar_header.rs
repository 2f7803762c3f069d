//! Parses arbitrary bytes as a tar stream with `estargz::tar` and, where the `tar` crate
//! also accepts the input, compares entry names, sizes and types. Also re-encodes every
//! parsed header, which must never panic.

#![no_main]

use estargz::tar::{TarLimits, encode_header, parse_archive};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = TarLimits::default();
    let Ok(ours) = parse_archive(data, &limits) else {
        return;
    };
    for e in &ours {
        let mut out = Vec::new();
        let _ = encode_header(&e.header, &mut out);
    }

    // The tar crate as an oracle: compare only when it reads every entry without error.
    let mut archive = tar::Archive::new(data);
    let Ok(entries) = archive.entries() else {
        return;
    };
    let mut theirs = Vec::new();
    for entry in entries {
        let Ok(entry) = entry else {
            return;
        };
        let header = entry.header();
        let (Ok(size), ty) = (header.entry_size(), header.entry_type()) else {
            return;
        };
        if ty == tar::EntryType::XGlobalHeader {
            continue;
        }
        theirs.push((entry.path_bytes().into_owned(), size, ty.as_byte()));
    }
    let ours: Vec<_> = ours.iter().filter(|e| e.header.typeflag != b'g').collect();
    // The readers differ on corner cases (e.g. the tar crate stops at the first zero block,
    // does not apply PAX sparse records, and treats empty PAX values differently), so only
    // compare archives where both see the same number of entries and no sparse files.
    if ours.len() != theirs.len() || ours.iter().any(|e| e.sparse.is_some()) {
        return;
    }
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o.header.name, t.0, "name");
        assert_eq!(o.payload_len, t.1, "size");
        assert_eq!(o.header.typeflag, t.2, "type");
    }
});
