//! The external-TOC variant against the reference. Debian's estargz 0.12.0 has no
//! `externaltoc` package, so it cannot open our external-TOC blobs; what it can check is
//! the two parts they are made of:
//!
//! - at level 0 with the 0.12.0 layout, our payload (the blob before its 46-byte footer)
//!   is byte for byte the reference's blob before its TOC member, and our TOC blob is byte
//!   for byte its TOC member (located through its footer), with the same TOC digest;
//! - at level 9, the payload and TOC blob put back together with a 51-byte footer make a
//!   blob the reference verifies against our TOC digest, listing the same files as for its
//!   own blob.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use estargz::encoder::{Encoded, Encoder, TocPlacement};
use estargz::gzip::Compression;
use estargz_interop::{BuildOptions, Reference, reference, scratch_dir, work_dir};
use estargz_toc::{Footer, FooterKind};

const CHUNK: u64 = 4096;

/// A small tar: directories, files of 0, 1, 4096 and 10000 bytes, a symlink.
fn write_tar(path: &Path) {
    let mut builder = tar::Builder::new(Vec::new());
    for dir in ["d/", "d/e/"] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        builder.append_data(&mut h, dir, &[][..]).unwrap();
    }
    for (i, n) in [0usize, 1, 4096, 10_000].into_iter().enumerate() {
        let data: Vec<u8> = (0..n).map(|j| (j * 7 + i) as u8).collect();
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(n as u64);
        h.set_mtime(1_650_000_000);
        builder
            .append_data(&mut h, format!("d/e/f{n}"), &data[..])
            .unwrap();
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    builder.append_link(&mut h, "d/link", "e/f1").unwrap();
    std::fs::write(path, builder.into_inner().unwrap()).unwrap();
}

/// Our external-TOC blob: (blob, TOC blob, what the encoder said).
fn encode_external(tar: &Path, level: u32) -> (Vec<u8>, Vec<u8>, Encoded) {
    let encoder = Encoder::builder()
        .level(Compression::new(level).unwrap())
        .chunk_size(CHUNK)
        .threads(1)
        .toc_placement(TocPlacement::External)
        .build()
        .unwrap();
    let mut blob = Vec::new();
    let input = std::fs::File::open(tar).unwrap();
    let encoded = encoder.encode_read_at(&input, &mut blob).unwrap();
    let toc_blob = encoded.external_toc.as_ref().unwrap().bytes.clone();
    (blob, toc_blob, encoded)
}

fn reference_build(r: &Reference, tar: &Path, out: &Path, level: i32) -> Vec<u8> {
    let opts = BuildOptions {
        level: Some(level),
        chunk_size: Some(CHUNK),
        ..BuildOptions::default()
    };
    r.build(tar, out, &opts).unwrap();
    std::fs::read(out).unwrap()
}

#[test]
fn payload_and_toc_blob_match_the_reference_blob() {
    let r = reference(work_dir!()).unwrap();
    let dir = scratch_dir(work_dir!(), "external_toc_compat").unwrap();
    let tar = dir.join("input.tar");
    write_tar(&tar);

    // Level 0: byte-identical parts.
    let theirs = reference_build(r, &tar, &dir.join("ref0.esgz"), 0);
    let footer = Footer::parse(FooterKind::Estargz, &theirs[theirs.len() - 51..]).unwrap();
    let toc_offset = usize::try_from(footer.toc_offset().unwrap()).unwrap();
    let (blob, toc_blob, encoded) = encode_external(&tar, 0);
    assert_eq!(&blob[..blob.len() - 46], &theirs[..toc_offset]);
    assert_eq!(toc_blob.as_slice(), &theirs[toc_offset..theirs.len() - 51]);
    assert_eq!(
        encoded.toc_digest.to_string(),
        r.info(&dir.join("ref0.esgz")).unwrap().toc_digest
    );

    // Level 9: the reference verifies our parts joined into an embedded blob.
    let theirs_path = dir.join("ref9.esgz");
    let theirs = reference_build(r, &tar, &theirs_path, 9);
    let their_digest = r.info(&theirs_path).unwrap().toc_digest;
    let (blob, toc_blob, encoded) = encode_external(&tar, 9);
    let payload = &blob[..blob.len() - 46];
    let joined = [
        payload,
        &toc_blob,
        &Footer::estargz(payload.len() as u64).unwrap().to_bytes(),
    ]
    .concat();
    assert_ne!(joined, theirs, "our deflate is not Go's at level 9");
    let joined_path = dir.join("joined9.esgz");
    std::fs::write(&joined_path, &joined).unwrap();
    let ours = r
        .verify(&joined_path, &encoded.toc_digest.to_string())
        .unwrap();
    assert_eq!(ours, r.verify(&theirs_path, &their_digest).unwrap());
    assert_eq!(ours.len(), 5, "four files and the landmark: {ours:?}");
}
