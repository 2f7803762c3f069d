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
        // Go (and we) read the USTAR prefix whenever the magic is "ustar\0"; the tar crate
        // only when the version field is also "00" (regressions/tar_header/crash-058c691c…).
        if header.as_ustar().is_none() && header.as_bytes()[257..263] == *b"ustar\0" {
            return;
        }
        let path = entry.path_bytes().into_owned();
        // Go (and we) read an old-style NUL typeflag as a directory when the final name
        // (after PAX and GNU long names) ends in '/'; the tar crate keeps it a regular file
        // (regressions/tar_header/crash-bf2e068a…).
        let ty = if header.as_old().linkflag[0] == 0 && path.ends_with(b"/") {
            b'5'
        } else {
            ty.as_byte()
        };
        theirs.push((path, size, ty));
    }
    let ours: Vec<_> = ours.iter().filter(|e| e.header.typeflag != b'g').collect();
    // A PAX `path`/`linkpath` value may contain a newline: Go (and we) keep it, the record
    // length delimiting it; the tar crate then falls back to the header's own name
    // (regressions/tar_header/crash-6d99ca6c…; Go's reading is pinned by
    // estargz::tar::parse's `pax_string_values_read_as_go_reads_them`).
    if ours
        .iter()
        .any(|e| e.header.name.contains(&b'\n') || e.header.link_name.contains(&b'\n'))
    {
        return;
    }
    // The readers differ on corner cases (e.g. the tar crate stops at the first zero block,
    // does not apply PAX sparse records, and treats empty PAX values differently), so only
    // compare archives where both see the same number of entries and no sparse files.
    if ours.len() != theirs.len() || ours.iter().any(|e| e.sparse.is_some()) {
        return;
    }
    // Links, devices, directories and FIFOs carry no data in Go (and here) whatever their
    // size field says; the tar crate reads that many bytes as data, so from there on the two
    // walk different blocks (regressions/tar_header/crash-37542524…, crash-78555f06…).
    if ours
        .iter()
        .any(|e| matches!(e.header.typeflag, b'1'..=b'6') && e.header.size != 0)
    {
        return;
    }
    for (o, t) in ours.iter().zip(&theirs) {
        // A GNU long name is a C string to Go (and to us): it ends at its first NUL, and an
        // empty one leaves the header's own name in place. The tar crate keeps the bytes up
        // to the last NUL instead, so compare only what Go would read, and skip the
        // fallback case (regressions/tar_header/crash-bb1fbe75…: an all-NUL long name).
        let theirs_name = t.0.split(|&b| b == 0).next().unwrap_or_default();
        if theirs_name.is_empty() && !t.0.is_empty() {
            return;
        }
        assert_eq!(o.header.name, theirs_name, "name");
        assert_eq!(o.payload_len, t.1, "size");
        assert_eq!(o.header.typeflag, t.2, "type");
    }
});
