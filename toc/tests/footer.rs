//! Footer tests through the public API: golden bytes from the reference Go implementation
//! (Debian's estargz 0.12.0 built with Go 1.19), its parse behaviour on odd inputs, and
//! property tests for emit -> parse -> detect.

use estargz_toc::footer::{self, estargz, external_toc, legacy, zstd_v1, zstd_v2};
use estargz_toc::{Error, Footer, FooterKind, TarSplitPosition, ZstdTocPosition};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `(toc offset, estargz footer, legacy footer)`, printed by a throwaway Go program: the
/// eStargz bytes are the last 51 bytes of `estargz.GzipCompressor.WriteTOCAndFooter`; the
/// legacy bytes are what crfs does, Go `gzip` at `NoCompression` with
/// `Header.Extra = fmt.Sprintf("%016xSTARGZ", off)`.
const GO_GZIP_FOOTERS: &[(u64, &str, &str)] = &[
    (
        0,
        "1f8b08040000000000ff1a00534716003030303030303030303030303030303053544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003030303030303030303030303030303053544152475a010000ffff0000000000000000",
    ),
    (
        1,
        "1f8b08040000000000ff1a00534716003030303030303030303030303030303153544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003030303030303030303030303030303153544152475a010000ffff0000000000000000",
    ),
    (
        0xff,
        "1f8b08040000000000ff1a00534716003030303030303030303030303030666653544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003030303030303030303030303030666653544152475a010000ffff0000000000000000",
    ),
    (
        0x2b36,
        "1f8b08040000000000ff1a00534716003030303030303030303030303262333653544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003030303030303030303030303262333653544152475a010000ffff0000000000000000",
    ),
    (
        1 << 32,
        "1f8b08040000000000ff1a00534716003030303030303031303030303030303053544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003030303030303031303030303030303053544152475a010000ffff0000000000000000",
    ),
    (
        0x1234_5678_9abc_def0,
        "1f8b08040000000000ff1a00534716003132333435363738396162636465663053544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003132333435363738396162636465663053544152475a010000ffff0000000000000000",
    ),
    (
        0x7fff_ffff_ffff_ffff,
        "1f8b08040000000000ff1a00534716003766666666666666666666666666666653544152475a010000ffff0000000000000000",
        "1f8b08040000000000ff16003766666666666666666666666666666653544152475a010000ffff0000000000000000",
    ),
];

/// `(TOC offset, footer)`: the last 48 bytes of `zstdchunked.Compressor.WriteTOCAndFooter`
/// (level SpeedDefault) for an empty TOC (`{"version": 1}`, 35 bytes of JSON, 48 compressed),
/// written at offsets 0, 1, 0x229 and 2^32 (the footer's TOC offset is 8 more).
const GO_ZSTD_V1_FOOTERS: &[(u64, &str)] = &[
    (
        8,
        "502a4d18280000000800000000000000300000000000000023000000000000000100000000000000476e556c496e5578",
    ),
    (
        9,
        "502a4d18280000000900000000000000300000000000000023000000000000000100000000000000476e556c496e5578",
    ),
    (
        0x231,
        "502a4d18280000003102000000000000300000000000000023000000000000000100000000000000476e556c496e5578",
    ),
    (
        (1 << 32) + 8,
        "502a4d18280000000800000001000000300000000000000023000000000000000100000000000000476e556c496e5578",
    ),
];

#[test]
fn gzip_footers_equal_the_references_bytes() {
    for &(offset, estargz_hex, legacy_hex) in GO_GZIP_FOOTERS {
        let go = unhex(estargz_hex);
        assert_eq!(
            estargz::emit(offset).expect("fits").to_vec(),
            go,
            "{offset:#x}"
        );
        assert_eq!(Footer::estargz(offset).expect("fits").to_bytes(), go);
        assert_eq!(
            estargz::parse(&go).expect("parses").toc_offset(),
            Some(offset)
        );

        let go = unhex(legacy_hex);
        assert_eq!(
            legacy::emit(offset).expect("fits").to_vec(),
            go,
            "{offset:#x}"
        );
        assert_eq!(
            legacy::parse(&go).expect("parses").toc_offset(),
            Some(offset)
        );
    }
}

#[test]
fn zstd_v1_footers_equal_the_references_bytes() {
    for &(offset, hex) in GO_ZSTD_V1_FOOTERS {
        let toc = ZstdTocPosition {
            offset,
            len: 0x30,
            uncompressed_len: 0x23,
            manifest_type: 1,
        };
        let go = unhex(hex);
        assert_eq!(
            zstd_v1::emit(toc).expect("valid").to_vec(),
            go,
            "{offset:#x}"
        );
        let footer = zstd_v1::parse(&go).expect("parses");
        assert_eq!(footer.zstd_toc(), Some(toc));
        // Go's ParseFooter reports payload size = offset - 8.
        assert_eq!(footer.payload_size(), Some(offset - 8));
    }
}

/// What Go 0.12.0's `GzipDecompressor`/`LegacyGzipDecompressor.ParseFooter` returned for
/// hand-made inputs (`Some(offset)`, `None` for an error, `"panic"` noted), and what we do.
#[test]
fn parse_agrees_with_the_reference_on_odd_inputs() {
    let cases: &[(&str, Option<u64>, &str)] = &[
        // FEXTRA | FNAME, name "n": Go 7.
        (
            "1f8b080c0000000000ff1a00534716003030303030303030303030303030303753544152475a6e00010000ffff000000000000",
            Some(7),
            "fname",
        ),
        // FEXTRA | FCOMMENT: Go 7.
        (
            "1f8b08140000000000ff1a00534716003030303030303030303030303030303753544152475a6300010000ffff000000000000",
            Some(7),
            "fcomment",
        ),
        // FEXTRA | FHCRC with the right CRC: Go 7.
        (
            "1f8b08060000000000ff1a00534716003030303030303030303030303030303753544152475ad782010000ffff000000000000",
            Some(7),
            "fhcrc",
        ),
        // ... with a wrong CRC: Go "gzip: invalid header".
        (
            "1f8b08060000000000ff1a00534716003030303030303030303030303030303753544152475ad682010000ffff000000000000",
            None,
            "bad fhcrc",
        ),
        // Reserved flag bits set: Go ignores them, 7.
        (
            "1f8b08e40000000000ff1a00534716003030303030303030303030303030303753544152475a010000ffff0000000000000000",
            Some(7),
            "reserved flags",
        ),
        // Nonzero MTIME, XFL, OS: Go 7.
        (
            "1f8b08040102030402031a00534716003030303030303030303030303030303753544152475a010000ffff0000000000000000",
            Some(7),
            "mtime",
        ),
        // FNAME whose NUL is found in the deflate bytes: Go 7.
        (
            "1f8b080c0000000000ff1a00534716003030303030303030303030303030303753544152475a6e6e6e010000ffff0000000000",
            Some(7),
            "long fname",
        ),
        // XLEN 27, one byte after STARGZ: Go "STARGZ magic string must be included".
        (
            "1f8b08040000000000ff1b00534716003030303030303030303030303030303753544152475a21010000ffff00000000000000",
            None,
            "long extra",
        ),
        // Subfield data of 3 bytes: Go panics (slice bounds out of range [16:3]).
        (
            "1f8b08040000000000ff070053471600303030010000ffff000000000000000000000000000000000000000000000000000000",
            None,
            "short subfield",
        ),
        // 2-byte Extra: Go panics ([:4] with capacity 2).
        (
            "1f8b08040000000000ff02005347010000ffff0000000000000000000000000000000000000000000000000000000000000000",
            None,
            "2-byte extra",
        ),
        // No Extra: Go panics ([:4] with capacity 0).
        (
            "1f8b08000000000000ff010000ffff000000000000000000000000000000000000000000000000000000000000000000000000",
            None,
            "no extra",
        ),
        // Legacy with "+A00000000000005": Go 0x0a00000000000005.
        (
            "1f8b08040000000000ff16002b41303030303030303030303030303553544152475a010000ffff0000000000000000",
            Some(0x0a00_0000_0000_0005),
            "legacy sign",
        ),
    ];
    for &(hex, go, what) in cases {
        let bytes = unhex(hex);
        let kind = if bytes.len() == 47 {
            FooterKind::LegacyStargz
        } else {
            FooterKind::Estargz
        };
        let ours = Footer::parse(kind, &bytes);
        assert_eq!(
            ours.as_ref().ok().and_then(Footer::toc_offset),
            go,
            "{what}: {ours:?}"
        );
    }
}

/// Go's `ParseInt(s, 16, 64)` outcomes for the 16 offset characters, checked against 0.12.0:
/// uppercase and a `+` are accepted; `-...` is returned negative by Go (rejected here),
/// `-000000000000000` is zero.
#[test]
fn hex_offset_rules_match_go() {
    let template = estargz::emit(0).expect("fits");
    let cases: &[(&[u8; 16], Option<u64>)] = &[
        (b"0000000000002B36", Some(0x2b36)),
        (b"0000000000002b36", Some(0x2b36)),
        (b"+000000000002b36", Some(0x2b36)),
        (b"-000000000002b36", None),
        (b"-000000000000000", Some(0)),
        (b"+000000000000000", Some(0)),
        (b"8000000000000000", None),
        (b"7fffffffffffffff", Some(0x7fff_ffff_ffff_ffff)),
        (b"0x00000000002b36", None),
        (b"00000000_0002b36", None),
        (b" 000000000002b36", None),
        (b"++00000000002b36", None),
    ];
    for &(digits, want) in cases {
        let mut bytes = template;
        bytes[16..32].copy_from_slice(digits);
        let got = estargz::parse(&bytes).ok().and_then(|f| f.toc_offset());
        assert_eq!(got, want, "{}", String::from_utf8_lossy(digits));
    }
}

/// The tail a reader would fetch: `junk` stands for the end of the TOC.
fn tail(junk: &[u8], footer: &[u8], blob_size: u64) -> Vec<u8> {
    let mut all = junk.to_vec();
    all.extend_from_slice(footer);
    let want = usize::try_from(footer::tail_len(blob_size)).expect("small");
    all.split_off(all.len().saturating_sub(want))
}

fn zstd_toc_position() -> impl Strategy<Value = ZstdTocPosition> {
    (8..=u64::MAX - 1)
        .prop_flat_map(|offset| {
            (
                Just(offset),
                1..=u64::MAX - offset,
                any::<u64>(),
                any::<u64>(),
            )
        })
        .prop_map(
            |(offset, len, uncompressed_len, manifest_type)| ZstdTocPosition {
                offset,
                len,
                uncompressed_len,
                manifest_type,
            },
        )
}

/// A TOC and a tar-split after it, with room for the footer after both.
fn zstd_v2_positions() -> impl Strategy<Value = (ZstdTocPosition, Option<TarSplitPosition>)> {
    let quarter = u64::MAX / 4;
    (
        8..quarter,
        1..quarter,
        any::<u64>(),
        any::<u64>(),
        proptest::option::of((0..quarter, 0..quarter, any::<u64>())),
    )
        .prop_map(|(offset, len, uncompressed_len, manifest_type, split)| {
            let toc = ZstdTocPosition {
                offset,
                len,
                uncompressed_len,
                manifest_type,
            };
            let tar_split = split.map(|(gap, len, uncompressed_len)| TarSplitPosition {
                offset: offset + toc.len + 8 + gap,
                len,
                uncompressed_len,
            });
            (toc, tar_split)
        })
}

proptest! {
    #[test]
    fn gzip_emit_parse_detect(
        offset in 0..=i64::MAX as u64,
        toc_len in 1..=1u64 << 32,
        junk in proptest::collection::vec(any::<u8>(), 72),
        legacy_layout: bool,
    ) {
        let (footer, size) = if legacy_layout {
            (Footer::legacy_stargz(offset).expect("fits"), 47)
        } else {
            (Footer::estargz(offset).expect("fits"), 51)
        };
        let bytes = footer.to_bytes();
        prop_assert_eq!(bytes.len(), size);
        let parsed = Footer::parse(footer.kind(), &bytes).expect("parses");
        prop_assert_eq!(parsed, footer);
        prop_assert_eq!(parsed.toc_offset(), Some(offset));

        let Some(blob_size) = offset.checked_add(toc_len).and_then(|n| n.checked_add(size as u64)) else {
            return Ok(());
        };
        let found = footer::detect(&tail(&junk, &bytes, blob_size), blob_size).expect("found");
        prop_assert_eq!(found.kind(), footer.kind());
        prop_assert_eq!(found.toc_len(), Some(toc_len));
        prop_assert_eq!(found.toc_range(blob_size).expect("fits"), Some(offset..offset + toc_len));
    }

    #[test]
    fn gzip_offsets_beyond_i64_are_refused(offset in i64::MAX as u64 + 1..=u64::MAX) {
        prop_assert!(matches!(estargz::emit(offset), Err(Error::InvalidArgument(_))));
        prop_assert!(matches!(legacy::emit(offset), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn zstd_v1_emit_parse_detect(
        toc in zstd_toc_position(),
        slack in 0..=1u64 << 20,
        junk in proptest::collection::vec(any::<u8>(), 72),
    ) {
        let bytes = zstd_v1::emit(toc).expect("valid");
        let parsed = zstd_v1::parse(&bytes).expect("parses");
        prop_assert_eq!(parsed.zstd_toc(), Some(toc));
        prop_assert_eq!(parsed.to_bytes(), bytes.to_vec());

        let Some(blob_size) = (toc.offset + toc.len).checked_add(48 + slack) else {
            return Ok(());
        };
        let found = footer::detect(&tail(&junk, &bytes, blob_size), blob_size).expect("found");
        prop_assert_eq!(found, parsed);
        prop_assert_eq!(found.toc_range(blob_size).expect("fits"), Some(toc.offset..toc.offset + toc.len));
    }

    #[test]
    fn zstd_v2_emit_parse_detect(
        (toc, tar_split) in zstd_v2_positions(),
        junk in proptest::collection::vec(any::<u8>(), 72),
    ) {
        let bytes = zstd_v2::emit(toc, tar_split).expect("valid");
        let parsed = zstd_v2::parse(&bytes).expect("parses");
        prop_assert_eq!(parsed.zstd_toc(), Some(toc));
        prop_assert_eq!(parsed.tar_split(), tar_split);
        prop_assert_eq!(parsed.to_bytes(), bytes.to_vec());

        let end = tar_split.map_or(toc.offset + toc.len, |t| t.offset + t.len);
        let blob_size = end + 72;
        let found = footer::detect(&tail(&junk, &bytes, blob_size), blob_size).expect("found");
        prop_assert_eq!(found, parsed);
    }

    #[test]
    fn external_toc_detected_behind_any_junk(
        junk in proptest::collection::vec(any::<u8>(), 72),
        extra in 0..=1u64 << 40,
    ) {
        let bytes = external_toc::emit();
        let blob_size = 46 + extra;
        let found = footer::detect(&tail(&junk, &bytes, blob_size), blob_size);
        // Only a crafted tail could make an earlier layout match; random junk cannot.
        prop_assert_eq!(found, Ok(Footer::external_toc()));
    }

    #[test]
    fn detect_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..100), blob_size: u64) {
        let blob_size = blob_size.max(tail.len() as u64);
        if let Ok(found) = footer::detect(&tail, blob_size) {
            let size = found.size() as u64;
            if let Some(range) = found.toc_range(blob_size).expect("detect resolved it") {
                prop_assert!(range.start < range.end && range.end <= blob_size - size);
            }
        }
    }
}
