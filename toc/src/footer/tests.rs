//! Unit tests for every layout, every error branch and detection.

use super::*;

/// The eStargz footer from a real blob, TOC at 0x2b36 (spec 1.4).
const ESTARGZ_EXAMPLE: &str = "1f8b08040000000000ff1a00534716003030303030303030303030303262333653544152475a010000ffff0000000000000000";

/// A zstd:chunked v1 footer observed in a blob made by the reference (spec 1.7).
const ZSTD_V1_EXAMPLE: &str = concat!(
    "502a4d18",
    "28000000",
    "3102000000000000",
    "d701000000000000",
    "f106000000000000",
    "0100000000000000",
    "476e556c496e5578",
);

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn invalid(kind: FooterKind, reason: &'static str) -> Result<Footer> {
    Err(Error::InvalidFooter { kind, reason })
}

/// A gzip member of exactly `size` bytes: header with `flags`, then `optional` (XLEN,
/// Extra, ...), then the empty body, then zero padding (or truncation).
fn gzip_member(flags: u8, optional: &[u8], size: usize) -> Vec<u8> {
    let mut bytes = vec![0x1f, 0x8b, 0x08, flags, 0, 0, 0, 0, 0, 0xff];
    bytes.extend_from_slice(optional);
    bytes.extend_from_slice(&gzip::EMPTY_BODY);
    bytes.resize(size, 0);
    bytes
}

/// `XLEN` followed by `extra`.
fn with_xlen(extra: &[u8]) -> Vec<u8> {
    let mut bytes = u16::try_from(extra.len())
        .expect("short")
        .to_le_bytes()
        .to_vec();
    bytes.extend_from_slice(extra);
    bytes
}

fn zstd_toc(offset: u64, len: u64) -> ZstdTocPosition {
    ZstdTocPosition {
        offset,
        len,
        uncompressed_len: 3 * len,
        manifest_type: 1,
    }
}

#[test]
fn spec_estargz_example_parses_and_emits_back() {
    let bytes = unhex(ESTARGZ_EXAMPLE);
    assert_eq!(bytes.len(), estargz::SIZE);
    let footer = estargz::parse(&bytes).expect("parses");
    assert_eq!(footer.kind(), FooterKind::Estargz);
    assert_eq!(footer.toc_offset(), Some(0x2b36));
    assert_eq!(footer.payload_size(), Some(0x2b36));
    assert_eq!(footer.toc_len(), None);
    assert_eq!(footer.toc_uncompressed_len(), None);
    assert_eq!(footer.manifest_type(), None);
    assert_eq!(footer.tar_split(), None);
    assert_eq!(footer.to_bytes(), bytes);
    assert_eq!(estargz::emit(0x2b36).expect("fits").to_vec(), bytes);

    let blob_size = 0x2b36 + 1000 + 51;
    let resolved = footer.resolve(blob_size).expect("fits");
    assert_eq!(resolved.toc_len(), Some(1000));
    assert_eq!(
        footer.toc_range(blob_size).expect("fits"),
        Some(0x2b36..0x2b36 + 1000)
    );
}

#[test]
fn spec_zstd_v1_example_parses_and_emits_back() {
    let bytes = unhex(ZSTD_V1_EXAMPLE);
    assert_eq!(bytes.len(), zstd_v1::SIZE);
    let footer = zstd_v1::parse(&bytes).expect("parses");
    assert_eq!(footer.kind(), FooterKind::ZstdChunkedV1);
    assert_eq!(footer.toc_offset(), Some(0x231));
    assert_eq!(footer.toc_len(), Some(0x1d7));
    assert_eq!(footer.toc_uncompressed_len(), Some(0x6f1));
    assert_eq!(footer.manifest_type(), Some(1));
    assert_eq!(footer.payload_size(), Some(0x229));
    assert_eq!(footer.to_bytes(), bytes);
    let toc = footer.zstd_toc().expect("zstd");
    assert_eq!(zstd_v1::emit(toc).expect("valid").to_vec(), bytes);
    // The reference writes the footer right after the TOC frame.
    let blob_size = 0x231 + 0x1d7 + 48;
    assert_eq!(
        footer.toc_range(blob_size).expect("fits"),
        Some(0x231..0x231 + 0x1d7)
    );
}

/// Upstream TestGzipFooter: every offset 0..200000 step 1023, both gzip layouts.
#[test]
fn gzip_footers_round_trip_like_upstream_test() {
    for off in (0..200_000u64).step_by(1023) {
        let bytes = estargz::emit(off).expect("fits");
        assert_eq!(bytes.len(), 51);
        let footer = estargz::parse(&bytes).expect("parses");
        assert_eq!(
            (footer.kind(), footer.toc_offset(), footer.payload_size()),
            (FooterKind::Estargz, Some(off), Some(off))
        );

        let bytes = legacy::emit(off).expect("fits");
        assert_eq!(bytes.len(), 47);
        let footer = legacy::parse(&bytes).expect("parses");
        assert_eq!(
            (footer.kind(), footer.toc_offset(), footer.payload_size()),
            (FooterKind::LegacyStargz, Some(off), Some(off))
        );
    }
}

/// Upstream TestGzipParseFooterInvalidExtra: no, empty and 2-byte Extra fields are errors,
/// not panics, for all three gzip layouts.
#[test]
fn short_or_missing_extra_is_an_error_not_a_panic() {
    for (kind, size) in [
        (FooterKind::Estargz, 51),
        (FooterKind::LegacyStargz, 47),
        (FooterKind::ExternalToc, 46),
    ] {
        let none = gzip_member(0, &[], size);
        assert_eq!(
            Footer::parse(kind, &none),
            invalid(kind, "gzip header has no extra field")
        );
        for extra in [&[][..], b"SG"] {
            let bytes = gzip_member(0x04, &with_xlen(extra), size);
            let expected = if kind == FooterKind::LegacyStargz {
                "extra field is not 22 bytes long"
            } else {
                "extra field is shorter than a subfield header"
            };
            assert_eq!(Footer::parse(kind, &bytes), invalid(kind, expected));
        }
    }
}

#[test]
fn estargz_error_branches() {
    let kind = FooterKind::Estargz;
    let good = estargz::emit(5).expect("fits").to_vec();
    assert_eq!(
        estargz::parse(&good[1..]),
        invalid(kind, "not 51 bytes long")
    );
    assert_eq!(estargz::parse(&[]), invalid(kind, "not 51 bytes long"));

    let mut bad_magic = good.clone();
    bad_magic[0] = 0;
    assert_eq!(
        estargz::parse(&bad_magic),
        invalid(kind, "no gzip magic (1f 8b)")
    );

    let mut subfield = b"XG\x16\x000000000000000005STARGZ".to_vec();
    let bytes = gzip_member(0x04, &with_xlen(&subfield), 51);
    assert_eq!(
        estargz::parse(&bytes),
        invalid(kind, "extra subfield ID is not SG")
    );

    subfield[0] = b'S';
    subfield[2] = 21;
    let bytes = gzip_member(0x04, &with_xlen(&subfield), 51);
    assert_eq!(
        estargz::parse(&bytes),
        invalid(kind, "extra subfield length is not 22")
    );

    subfield[2] = 22;
    subfield[21] = b'X';
    let bytes = gzip_member(0x04, &with_xlen(&subfield), 51);
    assert_eq!(
        estargz::parse(&bytes),
        invalid(kind, "STARGZ magic missing from the extra subfield")
    );

    // Subfield data shorter than the 16 digits (Go 0.12.0 would panic slicing it).
    let bytes = gzip_member(0x04, &with_xlen(b"SG\x16\x000000"), 51);
    assert_eq!(
        estargz::parse(&bytes),
        invalid(kind, "STARGZ magic missing from the extra subfield")
    );

    // Extra longer than the subfield: the rest must be exactly the magic, as in Go.
    let bytes = gzip_member(0x04, &with_xlen(b"SG\x16\x000000000000000005STARGZ!"), 51);
    assert_eq!(
        estargz::parse(&bytes),
        invalid(kind, "STARGZ magic missing from the extra subfield")
    );

    for (digits, reason) in [
        (&b"00000000000000x5"[..], "TOC offset is not a hex number"),
        (b"-000000000000005", "TOC offset is negative"),
        (b"8000000000000000", "TOC offset does not fit in an i64"),
    ] {
        let mut bytes = good.clone();
        bytes[16..32].copy_from_slice(digits);
        assert_eq!(estargz::parse(&bytes), invalid(kind, reason));
    }

    // Extra past the end of the 51 bytes.
    let bytes = gzip_member(0x04, &[0xff, 0x00], 51);
    assert_eq!(
        estargz::parse(&bytes),
        invalid(kind, "truncated gzip extra field")
    );
}

#[test]
fn estargz_accepts_what_go_accepts() {
    let good = estargz::emit(0x2b36).expect("fits").to_vec();
    for digits in [
        &b"0000000000002B36"[..],
        b"+000000000002b36",
        b"+000000000002B36",
    ] {
        let mut bytes = good.clone();
        bytes[16..32].copy_from_slice(digits);
        let footer = estargz::parse(&bytes).expect("Go accepts this");
        assert_eq!(footer.toc_offset(), Some(0x2b36));
        // Written back canonically.
        assert_eq!(footer.to_bytes(), good);
    }

    // FNAME after the Extra, within the 51 bytes: Go reads the header and ignores the
    // rest, so do we.
    let mut optional = with_xlen(b"SG\x16\x000000000000000007STARGZ");
    optional.extend_from_slice(b"n\0");
    let bytes = gzip_member(0x04 | 0x08, &optional, 51);
    let footer = estargz::parse(&bytes).expect("flags honoured");
    assert_eq!(footer.toc_offset(), Some(7));
    assert_eq!(footer.to_bytes(), estargz::emit(7).expect("fits").to_vec());

    // Nonzero MTIME, XFL and OS are ignored.
    let mut bytes = estargz::emit(9).expect("fits").to_vec();
    bytes[4..10].copy_from_slice(&[1, 2, 3, 4, 2, 3]);
    assert_eq!(
        estargz::parse(&bytes).expect("ignored").toc_offset(),
        Some(9)
    );
}

#[test]
fn legacy_error_branches() {
    let kind = FooterKind::LegacyStargz;
    let good = legacy::emit(5).expect("fits").to_vec();
    assert_eq!(
        legacy::parse(&good[..46]),
        invalid(kind, "not 47 bytes long")
    );

    let bytes = gzip_member(0x04, &with_xlen(b"0000000000000005STARGZX"), 47);
    assert_eq!(
        legacy::parse(&bytes),
        invalid(kind, "extra field is not 22 bytes long")
    );

    let mut bytes = good.clone();
    bytes[33] = b'z';
    assert_eq!(
        legacy::parse(&bytes),
        invalid(kind, "STARGZ magic missing from the extra field")
    );

    let mut bytes = good.clone();
    bytes[12] = b'g';
    assert_eq!(
        legacy::parse(&bytes),
        invalid(kind, "TOC offset is not a hex number")
    );

    let mut bytes = good;
    bytes[12..14].copy_from_slice(b"+A");
    assert_eq!(
        legacy::parse(&bytes).expect("Go accepts").toc_offset(),
        Some(0x0a00_0000_0000_0005)
    );
}

#[test]
fn external_toc_round_trip_and_error_branches() {
    let kind = FooterKind::ExternalToc;
    let good = external_toc::emit();
    assert_eq!(
        hex(&good),
        "1f8b08040000000000ff1500534711005354415247\
5a45585445524e414c544f43010000ffff0000000000000000"
    );
    let footer = external_toc::parse(&good).expect("parses");
    assert_eq!(footer, Footer::external_toc());
    assert_eq!(footer.toc_offset(), None);
    assert_eq!(footer.toc_len(), None);
    assert_eq!(footer.payload_size(), None);
    assert_eq!(footer.to_bytes(), good.to_vec());
    assert_eq!(footer.toc_range(46).expect("fits"), None);
    assert_eq!(footer.toc_range(1 << 40).expect("fits"), None);

    assert_eq!(
        external_toc::parse(&good[..45]),
        invalid(kind, "not 46 bytes long")
    );
    let mut bytes = good;
    bytes[12] = b'E';
    assert_eq!(
        external_toc::parse(&bytes),
        invalid(kind, "extra subfield ID is not SG")
    );
    let mut bytes = good;
    bytes[14] = 16;
    assert_eq!(
        external_toc::parse(&bytes),
        invalid(kind, "extra subfield length is not 17")
    );
    let mut bytes = good;
    bytes[20] = b'g';
    assert_eq!(
        external_toc::parse(&bytes),
        invalid(
            kind,
            "STARGZEXTERNALTOC magic missing from the extra subfield"
        )
    );
    let mut bytes = good;
    bytes[2] = 9;
    assert_eq!(
        external_toc::parse(&bytes),
        invalid(kind, "gzip compression method is not deflate")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn zstd_v1_error_branches() {
    let kind = FooterKind::ZstdChunkedV1;
    let good = zstd_v1::emit(zstd_toc(100, 10)).expect("valid");
    assert_eq!(
        zstd_v1::parse(&good[8..]),
        invalid(kind, "not 48 bytes long")
    );

    let mut bytes = good;
    bytes[41] = b'N';
    assert_eq!(zstd_v1::parse(&bytes), invalid(kind, "no GnUlInUx magic"));

    let mut bytes = good;
    bytes[0] = 0x51;
    assert_eq!(
        zstd_v1::parse(&bytes),
        invalid(
            kind,
            "no zstd skippable-frame magic (50 2a 4d 18) before the footer"
        )
    );
    let mut bytes = good;
    bytes[4] = 64;
    assert_eq!(
        zstd_v1::parse(&bytes),
        invalid(kind, "the footer's skippable frame has the wrong length")
    );

    for (toc, reason) in [
        (
            zstd_toc(7, 10),
            "TOC offset is smaller than its skippable-frame header",
        ),
        (zstd_toc(100, 0), "TOC length is zero"),
        (zstd_toc(u64::MAX, 1), "TOC end does not fit in a u64"),
    ] {
        let bytes = zstd_v1::encode(&toc);
        assert_eq!(zstd_v1::parse(&bytes), invalid(kind, reason));
        assert_eq!(zstd_v1::emit(toc), Err(Error::InvalidArgument(reason)));
        assert_eq!(
            Footer::zstd_chunked_v1(toc),
            Err(Error::InvalidArgument(reason))
        );
    }

    // Largest valid positions.
    let toc = zstd_toc(u64::MAX - 1, 1);
    let footer = zstd_v1::parse(&zstd_v1::emit(toc).expect("valid")).expect("parses");
    assert_eq!(footer.zstd_toc(), Some(toc));
    assert_eq!(footer.payload_size(), Some(u64::MAX - 9));
}

#[test]
fn zstd_v2_round_trip_and_error_branches() {
    let kind = FooterKind::ZstdChunkedV2;
    // containers/storage's TestGenerateAndReadFooter values (type 1, offsets 2..7) are not
    // valid positions (offset 2 < 8), so the layout is checked with valid ones.
    let toc = ZstdTocPosition {
        offset: 0x10,
        len: 3,
        uncompressed_len: 4,
        manifest_type: 1,
    };
    let tar_split = TarSplitPosition {
        offset: 0x1b,
        len: 6,
        uncompressed_len: 7,
    };
    let bytes = zstd_v2::emit(toc, Some(tar_split)).expect("valid");
    assert_eq!(
        hex(&bytes),
        "502a4d1840000000\
         1000000000000000\
         0300000000000000\
         0400000000000000\
         0100000000000000\
         1b00000000000000\
         0600000000000000\
         0700000000000000\
         474e556c496e5578"
            .replace(' ', "")
    );
    let footer = zstd_v2::parse(&bytes).expect("parses");
    assert_eq!(footer.zstd_toc(), Some(toc));
    assert_eq!(footer.tar_split(), Some(tar_split));
    assert_eq!(footer.payload_size(), Some(8));
    assert_eq!(footer.to_bytes(), bytes.to_vec());
    // Tar-split ends at 0x21, the footer must start at or after it.
    assert_eq!(footer.toc_range(0x21 + 72).expect("fits"), Some(0x10..0x13));
    assert_eq!(
        footer.toc_range(0x20 + 72),
        Err(Error::InvalidFooter {
            kind,
            reason: "the tar-split runs into the footer or past the end of the blob"
        })
    );

    // No tar-split: zeros on disk, None in memory.
    let bytes = zstd_v2::emit(toc, None).expect("valid");
    assert_eq!(&bytes[40..64], &[0u8; 24]);
    assert_eq!(zstd_v2::parse(&bytes).expect("parses").tar_split(), None);

    // The tar-split may also come before the TOC, as long as the frames do not overlap.
    let before = TarSplitPosition {
        offset: 8,
        len: 0,
        uncompressed_len: 0,
    };
    assert!(Footer::zstd_chunked_v2(toc, Some(before)).is_ok());

    assert_eq!(
        zstd_v2::parse(&bytes[..71]),
        invalid(kind, "not 72 bytes long")
    );
    let mut bad = bytes;
    bad[65] = b'n';
    assert_eq!(zstd_v2::parse(&bad), invalid(kind, "no GNUlInUx magic"));
    let mut bad = bytes;
    bad[4] = 40;
    assert_eq!(
        zstd_v2::parse(&bad),
        invalid(kind, "the footer's skippable frame has the wrong length")
    );

    for (toc, tar_split, reason) in [
        (
            zstd_toc(0, 3),
            None,
            "TOC offset is smaller than its skippable-frame header",
        ),
        (zstd_toc(16, 0), None, "TOC length is zero"),
        (
            zstd_toc(16, 3),
            Some(TarSplitPosition {
                offset: 7,
                len: 1,
                uncompressed_len: 1,
            }),
            "tar-split offset is smaller than its skippable-frame header",
        ),
        (
            zstd_toc(16, 3),
            Some(TarSplitPosition {
                offset: u64::MAX,
                len: 1,
                uncompressed_len: 1,
            }),
            "tar-split end does not fit in a u64",
        ),
        (
            // The tar-split frame header would start at 0x12, inside the TOC (0x10..0x13).
            zstd_toc(16, 3),
            Some(TarSplitPosition {
                offset: 0x1a,
                len: 1,
                uncompressed_len: 1,
            }),
            "tar-split frame overlaps the TOC frame",
        ),
        (
            // Ends after the TOC's frame header starts.
            zstd_toc(16, 3),
            Some(TarSplitPosition {
                offset: 8,
                len: 1,
                uncompressed_len: 0,
            }),
            "tar-split frame overlaps the TOC frame",
        ),
    ] {
        let bytes = zstd_v2::encode(&toc, tar_split.as_ref());
        assert_eq!(zstd_v2::parse(&bytes), invalid(kind, reason));
        assert_eq!(
            zstd_v2::emit(toc, tar_split),
            Err(Error::InvalidArgument(reason))
        );
    }
}

#[test]
fn gzip_offsets_above_i64_max_cannot_be_emitted() {
    let too_big = gzip::MAX_OFFSET + 1;
    for result in [
        estargz::emit(too_big).map(|b| b.to_vec()),
        legacy::emit(too_big).map(|b| b.to_vec()),
        Footer::estargz(too_big).map(|f| f.to_bytes()),
        Footer::legacy_stargz(too_big).map(|f| f.to_bytes()),
    ] {
        assert!(matches!(result, Err(Error::InvalidArgument(_))));
    }
    let max = Footer::estargz(gzip::MAX_OFFSET).expect("fits");
    assert_eq!(estargz::parse(&max.to_bytes()).expect("parses"), max);
}

#[test]
fn resolve_checks_positions_against_the_blob() {
    let footer = Footer::estargz(100).expect("fits");
    let kind = FooterKind::Estargz;
    assert_eq!(
        footer.resolve(50),
        invalid(kind, "the blob is shorter than this footer")
    );
    // TOC offset at the footer start: empty TOC.
    assert_eq!(
        footer.resolve(151),
        invalid(kind, "the TOC offset points into or past the footer")
    );
    assert_eq!(
        footer.resolve(120),
        invalid(kind, "the TOC offset points into or past the footer")
    );
    let resolved = footer.resolve(152).expect("one-byte TOC");
    assert_eq!(resolved.toc_len(), Some(1));
    // Resolving again against the same size is fine, against another is a caller error.
    assert_eq!(resolved.resolve(152), Ok(resolved));
    assert_eq!(resolved.toc_range(152).expect("same"), Some(100..101));
    assert!(matches!(
        resolved.resolve(153),
        Err(Error::InvalidArgument(_))
    ));

    let legacy = Footer::legacy_stargz(0).expect("fits");
    assert_eq!(legacy.toc_range(48).expect("fits"), Some(0..1));

    let v1 = Footer::zstd_chunked_v1(zstd_toc(8, 10)).expect("valid");
    assert_eq!(v1.toc_range(18 + 48).expect("fits"), Some(8..18));
    assert_eq!(v1.toc_range(1000).expect("fits"), Some(8..18));
    assert_eq!(
        v1.toc_range(17 + 48),
        invalid(
            FooterKind::ZstdChunkedV1,
            "the TOC runs into the footer or past the end of the blob"
        )
        .map(|_| None)
    );
    assert_eq!(
        v1.resolve(47),
        invalid(
            FooterKind::ZstdChunkedV1,
            "the blob is shorter than this footer"
        )
    );

    assert_eq!(
        Footer::external_toc().resolve(45),
        invalid(
            FooterKind::ExternalToc,
            "the blob is shorter than this footer"
        )
    );
}

/// A blob tail: `junk` bytes, then `footer`; returns the tail and the blob size for a blob
/// of `blob_size` bytes (the junk stands for the end of the TOC).
fn tail_of(footer: &[u8], junk: &[u8], blob_size: u64) -> Vec<u8> {
    let mut tail = junk.to_vec();
    tail.extend_from_slice(footer);
    let want = usize::try_from(tail_len(blob_size)).expect("small");
    let cut = tail.len().saturating_sub(want);
    tail.split_off(cut)
}

fn all_examples() -> Vec<(Footer, u64)> {
    vec![
        (Footer::estargz(0x2b36).expect("fits"), 0x2b36 + 500 + 51),
        (
            Footer::legacy_stargz(0x2b36).expect("fits"),
            0x2b36 + 500 + 47,
        ),
        (Footer::external_toc(), 12345),
        (
            Footer::zstd_chunked_v1(zstd_toc(0x231, 0x1d7)).expect("valid"),
            0x231 + 0x1d7 + 48,
        ),
        (
            Footer::zstd_chunked_v2(
                zstd_toc(0x231, 0x1d7),
                Some(TarSplitPosition {
                    offset: 0x231 + 0x1d7 + 8,
                    len: 0x40,
                    uncompressed_len: 0x400,
                }),
            )
            .expect("valid"),
            0x231 + 0x1d7 + 8 + 0x40 + 72,
        ),
    ]
}

#[test]
fn detect_finds_each_layout_behind_junk() {
    for junk in [[0u8; 80], [0xff; 80], [0x1f; 80], {
        let mut j = [0u8; 80];
        for (i, b) in j.iter_mut().enumerate() {
            *b = u8::try_from(i * 37 % 251).expect("small");
        }
        j
    }] {
        for (footer, blob_size) in all_examples() {
            let tail = tail_of(&footer.to_bytes(), &junk, blob_size);
            let found = detect(&tail, blob_size).expect("found");
            assert_eq!(found, footer.resolve(blob_size).expect("fits"));
            // A longer tail (more of the blob) gives the same answer.
            let mut longer = junk.to_vec();
            longer.extend_from_slice(&footer.to_bytes());
            assert_eq!(detect(&longer, blob_size), Ok(found));
        }
    }
}

#[test]
fn no_layout_parses_another_layouts_bytes() {
    let gzipish = [0x1f, 0x8b, 0x08, 0x04].repeat(20);
    let junks: [&[u8]; 3] = [&[0u8; 80], &[0xff; 80], &gzipish];
    for (footer, _) in all_examples() {
        for junk in junks {
            let mut tail = junk.to_vec();
            tail.extend_from_slice(&footer.to_bytes());
            for kind in DETECTION_ORDER {
                if kind == footer.kind() {
                    continue;
                }
                let window = &tail[tail.len() - kind.size()..];
                assert!(
                    Footer::parse(kind, window).is_err(),
                    "{kind} parsed the tail of a {} footer",
                    footer.kind()
                );
            }
        }
    }
}

#[test]
fn detect_reports_one_reason_per_layout() {
    let garbage = [0x5au8; 72];
    let Err(Error::FooterNotFound(mismatches)) = detect(&garbage, 1 << 20) else {
        panic!("garbage matched");
    };
    let kinds: Vec<_> = mismatches.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, DETECTION_ORDER);
    assert_eq!(mismatches[0].reason, "no gzip magic (1f 8b)");
    assert_eq!(mismatches[2].reason, "no GnUlInUx magic");
    assert_eq!(mismatches[3].reason, "no GNUlInUx magic");

    // Blobs too small for some or all footers.
    for blob_size in [0u64, 1, 45] {
        let tail = vec![0u8; usize::try_from(blob_size).expect("small")];
        let Err(Error::FooterNotFound(mismatches)) = detect(&tail, blob_size) else {
            panic!("tiny blob matched");
        };
        assert_eq!(mismatches.len(), 5);
        assert!(
            mismatches
                .iter()
                .all(|m| m.reason == "the blob is shorter than this footer")
        );
    }

    // A blob that is nothing but an external-TOC footer.
    let external = external_toc::emit();
    assert_eq!(
        detect(&external, 46).map(|f| f.kind()),
        Ok(FooterKind::ExternalToc)
    );

    // A real footer whose TOC offset is beyond the blob: parsed, then rejected.
    let footer = estargz::emit(1 << 40).expect("fits");
    let tail = tail_of(&footer, &[0; 21], 51 + 100);
    let Err(Error::FooterNotFound(mismatches)) = detect(&tail, 51 + 100) else {
        panic!("offset beyond the blob accepted");
    };
    assert_eq!(
        mismatches[0].reason,
        "the TOC offset points into or past the footer"
    );
    assert!(
        Error::FooterNotFound(mismatches)
            .to_string()
            .contains("eStargz: the TOC offset")
    );
}

#[test]
fn detect_rejects_inconsistent_tails() {
    assert!(matches!(
        detect(&[0u8; 10], 9),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        detect(&[0u8; 71], 1000),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        detect(&[0u8; 49], 50),
        Err(Error::InvalidArgument(_))
    ));
    // A truncated footer at the end of a tail of the right length is just not found.
    let footer = estargz::emit(0).expect("fits");
    let mut tail = vec![0u8; 72];
    tail[21..].copy_from_slice(&footer);
    tail.rotate_left(1);
    assert!(matches!(detect(&tail, 200), Err(Error::FooterNotFound(_))));
}

#[test]
fn read_lengths() {
    assert_eq!(tail_len(0), 0);
    assert_eq!(tail_len(72), 72);
    assert_eq!(tail_len(u64::MAX), 72);
    assert_eq!(first_read_len(100, Some(100)), Ok(72));
    assert_eq!(first_read_len(100, Some(0)), Ok(100));
    assert!(first_read_len(0, Some(1)).is_err());
    assert_eq!(MAX_FOOTER_SIZE, 72);
    assert_eq!(MIN_FOOTER_SIZE, 46);
    let sizes: Vec<_> = DETECTION_ORDER.iter().map(|k| k.size()).collect();
    assert_eq!(sizes, [51, 47, 48, 72, 46]);
    assert_eq!(sizes.iter().max(), Some(&MAX_FOOTER_SIZE));
    assert_eq!(sizes.iter().min(), Some(&MIN_FOOTER_SIZE));
}

#[test]
fn kinds_display() {
    let names: Vec<_> = DETECTION_ORDER.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        names,
        [
            "eStargz",
            "legacy stargz",
            "zstd:chunked (v1)",
            "zstd:chunked (v2)",
            "external-TOC eStargz"
        ]
    );
}
