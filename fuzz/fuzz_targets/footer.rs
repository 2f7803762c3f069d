//! Footer detection on arbitrary blob tails.
//!
//! Properties: `detect` never panics; when it finds a footer, the footer fits inside the
//! blob, its TOC range lies before the footer, it parses back from its own canonical bytes,
//! and for layouts whose bytes are fully determined by what they say (zstd:chunked v1/v2,
//! external TOC) those bytes are exactly the input's last `kind.size()` bytes. The gzip
//! layouts with a TOC offset may legitimately differ from their canonical bytes (optional
//! gzip header fields, nonzero MTIME/XFL/OS, uppercase hex, a `+` sign, anything after the
//! header), so for them only the Extra-field bytes that carry the meaning are compared
//! when the input's gzip header is the canonical one.

#![no_main]

use estargz_toc::footer::{self, Footer, FooterKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, &[u8])| {
    let (raw_size, tail) = input;
    // Mostly consistent arguments (the blob is at least as long as the tail), but let the
    // fuzzer also explore the argument checks.
    let blob_size = if raw_size & 1 == 0 {
        raw_size.max(tail.len() as u64)
    } else {
        raw_size
    };
    let Ok(found) = footer::detect(tail, blob_size) else {
        return;
    };

    let size = found.size();
    assert!(tail.len() >= size, "detected a footer longer than the tail");
    assert!(
        blob_size >= size as u64,
        "detected a footer longer than the blob"
    );
    let footer_start = blob_size - size as u64;

    let range = found
        .toc_range(blob_size)
        .expect("detect resolved the footer");
    match range {
        Some(range) => {
            assert!(range.start < range.end, "empty TOC range");
            assert!(
                range.end <= footer_start,
                "TOC range reaches into the footer"
            );
            assert_eq!(Some(range.start), found.toc_offset());
            assert_eq!(Some(range.end - range.start), found.toc_len());
            assert!(found.payload_size().is_some_and(|p| p <= range.start));
        }
        None => assert_eq!(found.kind(), FooterKind::ExternalToc),
    }
    if let Some(tar_split) = found.tar_split() {
        assert!(tar_split.offset + tar_split.len <= footer_start);
    }

    // Canonical bytes parse back to the same footer and are found again by detect.
    let canonical = found.to_bytes();
    assert_eq!(canonical.len(), size);
    let reparsed = Footer::parse(found.kind(), &canonical).expect("canonical bytes parse");
    assert_eq!(reparsed.resolve(blob_size), Ok(found));
    let mut canonical_tail = tail.to_vec();
    let at = canonical_tail.len() - size;
    canonical_tail[at..].copy_from_slice(&canonical);
    assert_eq!(footer::detect(&canonical_tail, blob_size), Ok(found));

    let original = &tail[tail.len() - size..];
    match found.kind() {
        FooterKind::ZstdChunkedV1 | FooterKind::ZstdChunkedV2 => {
            assert_eq!(original, &canonical[..], "zstd footer not reproduced");
        }
        FooterKind::Estargz | FooterKind::LegacyStargz | FooterKind::ExternalToc => {
            // With the canonical 12-byte header (fixed fields, FLG = FEXTRA, XLEN) the Extra
            // sits at the canonical place; it must match except for the case and sign of
            // the hex digits, which are not canonical.
            if original[..12] == canonical[..12] {
                let (digits, rest) = match found.kind() {
                    FooterKind::Estargz => (16..32, 32..38),
                    FooterKind::LegacyStargz => (12..28, 28..34),
                    _ => (0..0, 12..33),
                };
                assert_eq!(
                    original[rest.clone()],
                    canonical[rest],
                    "magic not reproduced"
                );
                let normalise = |b: &[u8]| -> u64 {
                    let s = std::str::from_utf8(b).expect("ascii hex");
                    let s = s.trim_start_matches(['+', '-']);
                    u64::from_str_radix(s, 16).expect("hex")
                };
                if !digits.is_empty() {
                    assert_eq!(
                        normalise(&original[digits.clone()]),
                        normalise(&canonical[digits])
                    );
                }
            }
        }
        _ => {}
    }
});
