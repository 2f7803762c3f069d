//! zstd:chunked v2 (containers/storage's layout) against Debian's tar-split library, over
//! the whole generated corpus (every tar our v2 writer accepts):
//!
//! - the tar-split JSON lines in our blob are byte-identical to what tar-split writes for
//!   the same tar read as containers/storage's compressor reads a layer;
//! - tar-split rebuilds the input tar exactly from them and the file contents our reader
//!   reads from the blob (it checks every file's CRC-64 on the way);
//! - our reader verifies the blob and unpacks it to the input tar.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use estargz::encoder::{Encoder, Format};
use estargz::reader::{Reader, ReaderOptions};
use estargz_interop::{corpus, scratch_dir, tar_split_ref, work_dir};
use estargz_toc::{EntryType, FooterKind};

/// Encodes `tar` as zstd:chunked v2; `None` if the writer refuses it as unsupported input.
fn encode(tar: &Path, out: &Path) -> Option<()> {
    let encoder = Encoder::builder()
        .format(Format::ZstdChunkedV2)
        .threads(2)
        .build()
        .unwrap();
    let input = File::open(tar).unwrap();
    match encoder.encode_read_at(&input, File::create(out).unwrap()) {
        Ok(_) => Some(()),
        Err(estargz::Error::UnsupportedInput { reason }) => {
            eprintln!("{}: not stored as v2: {reason}", tar.display());
            None
        }
        Err(e) => panic!("encoding {}: {e}", tar.display()),
    }
}

/// The tar-split JSON lines stored in the v2 blob.
fn stored_tar_split(blob: &[u8]) -> Vec<u8> {
    let footer = estargz_toc::footer::zstd_v2::parse(&blob[blob.len() - 72..]).unwrap();
    let at = footer.tar_split().unwrap();
    let frame = &blob[at.offset as usize..(at.offset + at.len) as usize];
    estargz::zstd::decode_frame(frame, 1 << 30).unwrap()
}

/// Writes every regular file's content, read from the blob by our reader, under `root` at
/// its tar name (as the input tar spells it: the manifest JSON cannot hold names that are
/// not UTF-8, tar-split can).
fn write_files(reader: &Reader<&[u8]>, input: &[u8], root: &Path) {
    let mut archive = tar::Archive::new(input);
    let tar_names = archive.entries().unwrap().filter_map(|entry| {
        let entry = entry.unwrap();
        let is_file = entry.header().entry_type().is_file() && entry.size() > 0;
        is_file.then(|| entry.path_bytes().into_owned())
    });
    let toc_names = reader
        .index()
        .toc()
        .entries
        .iter()
        .filter(|e| e.kind == EntryType::Reg && e.size > 0)
        .map(|e| estargz_toc::path::clean(e.name.as_bytes()).into_owned());
    for (tar_name, toc_name) in tar_names.zip(toc_names) {
        let data = reader.open_file(&toc_name).unwrap().read_to_vec().unwrap();
        // tar-split joins names to its root as Go's filepath.Join does: a leading `/` too.
        let relative = tar_name.strip_prefix(b"/").unwrap_or(&tar_name);
        let path = root.join(std::ffi::OsStr::from_bytes(relative));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }
}

#[test]
fn tar_split_matches_and_rebuilds_the_corpus() {
    let work = work_dir!();
    let tar_split = tar_split_ref(work).unwrap();
    let corpus = corpus(work).unwrap();
    let scratch = scratch_dir(work, "zstd_v2_tar_split").unwrap();
    let mut stored = 0;
    for tar in corpus.accepted().chain(corpus.rejected()) {
        let blob_path = scratch.join(format!("{}.zstd-v2", tar.file));
        if encode(&tar.path, &blob_path).is_none() {
            continue;
        }
        let input = fs::read(&tar.path).unwrap();
        let blob = fs::read(&blob_path).unwrap();
        let ours = stored_tar_split(&blob);
        let theirs = tar_split.disassemble(&tar.path).unwrap();
        assert!(
            ours == theirs,
            "{}: tar-split JSON differs:\nours:   {}\ntheirs: {}",
            tar.file,
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );

        let reader = Reader::open(&blob[..], ReaderOptions::default()).unwrap();
        assert_eq!(reader.footer().kind(), FooterKind::ZstdChunkedV2);
        reader
            .verify_all()
            .unwrap_or_else(|e| panic!("{}: verify_all: {e}", tar.file));
        let mut unpacked = Vec::new();
        reader.unpack_to_tar(&mut unpacked).unwrap();
        assert!(unpacked == input, "{}: unpacked tar differs", tar.file);

        let root = scratch.join(format!("{}.files", tar.file));
        fs::create_dir_all(&root).unwrap();
        write_files(&reader, &input, &root);
        let jsonl = scratch.join(format!("{}.tar-split", tar.file));
        fs::write(&jsonl, &ours).unwrap();
        let rebuilt = scratch.join(format!("{}.rebuilt", tar.file));
        tar_split
            .assemble(&jsonl, &root, &rebuilt)
            .unwrap_or_else(|e| panic!("{}: tar-split assembly: {e}", tar.file));
        assert!(
            fs::read(&rebuilt).unwrap() == input,
            "{}: tar-split rebuilt a different tar",
            tar.file
        );
        stored += 1;
    }
    eprintln!("{stored} corpus tars stored as zstd:chunked v2 and rebuilt by tar-split");
    assert!(stored >= 10, "only {stored} corpus tars were stored");
}
