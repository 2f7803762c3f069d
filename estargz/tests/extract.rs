//! Extraction to a directory: a tree with every entry type and its metadata, and hostile
//! layers (names that climb out, symlinks on the way, hardlinks that go nowhere,
//! duplicates, things already in the target), each checked to write nothing outside a
//! sandbox directory.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use estargz::extract::{ExtractOptions, ExtractReport, SkipReason};
use estargz::reader::{Reader, ReaderOptions};
use estargz::tar::{PaxRecord, TarHeader, TarTime, encode_end_of_archive, encode_header, padding};
use estargz::{Encoder, Error};
use support::BlobBuilder;

const MTIME: i64 = 1_600_000_000;

/// One tar entry for [`tar_of`].
struct E {
    header: TarHeader,
    data: Vec<u8>,
}

fn entry(typeflag: u8, name: &str, mode: i64) -> E {
    let mut header = TarHeader::new(typeflag, name);
    header.mode = mode;
    header.mtime = Some(TarTime::from_secs(MTIME));
    E {
        header,
        data: Vec::new(),
    }
}

fn dir(name: &str) -> E {
    entry(b'5', name, 0o755)
}

fn file(name: &str, data: &[u8]) -> E {
    let mut e = entry(b'0', name, 0o644);
    e.header.size = data.len() as i64;
    e.data = data.to_vec();
    e
}

fn link(typeflag: u8, name: &str, target: &str) -> E {
    let mut e = entry(typeflag, name, 0o777);
    e.header.link_name = target.as_bytes().to_vec();
    e
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        encode_header(&e.header, &mut out).unwrap();
        out.extend_from_slice(&e.data);
        out.resize(out.len() + padding(e.data.len() as u64) as usize, 0);
    }
    encode_end_of_archive(&mut out);
    out
}

/// Our encoder's blob of `entries`, chunk size 4096.
fn blob_of(entries: &[E]) -> Vec<u8> {
    let mut blob = Vec::new();
    Encoder::builder()
        .chunk_size(4096)
        .build()
        .unwrap()
        .encode(tar_of(entries).as_slice(), &mut blob)
        .unwrap();
    blob
}

/// A sandbox directory with an empty `target/` inside; returns (sandbox, target).
fn new_sandbox() -> (tempfile::TempDir, PathBuf) {
    let sandbox = tempfile::tempdir().unwrap();
    let target = sandbox.path().join("target");
    fs::create_dir(&target).unwrap();
    (sandbox, target)
}

fn extract(blob: Vec<u8>, target: &Path) -> estargz::Result<ExtractReport> {
    let reader = Reader::open(blob, ReaderOptions::default())?;
    reader.extract_to(target, &ExtractOptions::default())
}

/// Everything under `dir` (not following symlinks), as sorted relative paths.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The sandbox holds the target and nothing else.
fn assert_only_target(sandbox: &Path) {
    assert_eq!(
        listing(sandbox)
            .iter()
            .filter(|p| !p.starts_with("target"))
            .count(),
        0,
        "written outside the target: {:?}",
        listing(sandbox)
    );
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn extracts_every_type_with_its_metadata() {
    let big: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut tagged = file("etc/tagged", b"xattrs");
    tagged.header.pax_records.push(PaxRecord {
        key: b"SCHILY.xattr.user.demo".to_vec(),
        value: b"v\0\xff".to_vec(),
    });
    let mut setuid = file("usr/bin/su", b"#!");
    setuid.header.mode = 0o4755;
    let mut owned = file("home/u/owned", b"mine");
    owned.header.uid = 1234;
    owned.header.gid = 5678;
    let mut private = dir("private/");
    private.header.mode = 0o700;
    private.header.mtime = Some(TarTime::from_secs(MTIME - 100));
    let mut readonly = dir("ro/");
    readonly.header.mode = 0o555;
    let mut null = entry(b'3', "dev/null", 0o666);
    null.header.dev_major = 1;
    null.header.dev_minor = 3;
    let entries = [
        dir("./"),
        dir("etc/"),
        file("etc/big", &big),
        file("etc/empty", b""),
        tagged,
        dir("usr/"),
        dir("usr/bin/"),
        setuid,
        link(b'2', "usr/bin/sh", "/bin/dash"),
        link(b'1', "usr/bin/su2", "usr/bin/su"),
        owned,
        private,
        file("private/f", b"p"),
        readonly,
        file("ro/f", b"r"),
        entry(b'6', "run/fifo", 0o600),
        null,
    ];
    let (sandbox, target) = new_sandbox();
    let report = extract(blob_of(&entries), &target).unwrap();

    assert_eq!(fs::read(target.join("etc/big")).unwrap(), big);
    assert_eq!(fs::read(target.join("etc/empty")).unwrap(), b"");
    assert_eq!(
        fs::read_link(target.join("usr/bin/sh")).unwrap(),
        Path::new("/bin/dash")
    );
    let su = fs::metadata(target.join("usr/bin/su")).unwrap();
    let su2 = fs::metadata(target.join("usr/bin/su2")).unwrap();
    assert_eq!(su.ino(), su2.ino(), "hardlink shares the inode");
    assert_eq!(su.nlink(), 2);
    assert_eq!(su.mode() & 0o7777, if is_root() { 0o4755 } else { 0o755 });
    assert_eq!(su.mtime(), MTIME);
    let private = fs::metadata(target.join("private")).unwrap();
    assert_eq!(private.mode() & 0o7777, 0o700);
    assert_eq!(private.mtime(), MTIME - 100, "directory times are set last");
    assert_eq!(
        fs::metadata(target.join("ro")).unwrap().mode() & 0o7777,
        0o555
    );
    assert_eq!(fs::read(target.join("ro/f")).unwrap(), b"r");
    assert_eq!(
        fs::metadata(target.join("home")).unwrap().mode() & 0o7777,
        0o755,
        "implicit"
    );
    assert_eq!(
        fs::metadata(&target).unwrap().mtime(),
        MTIME,
        "root entry applied"
    );
    let fifo = fs::symlink_metadata(target.join("run/fifo")).unwrap();
    assert!(fifo.file_type().is_fifo());
    assert_eq!(fifo.mode() & 0o7777, 0o600);
    assert!(
        !target.join(".no.prefetch.landmark").exists(),
        "landmark left out"
    );
    let tagged = target.join("etc/tagged");
    let mut value = [0u8; 16];
    match rustix::fs::getxattr(&tagged, "user.demo", &mut value) {
        Ok(n) => assert_eq!(&value[..n], b"v\0\xff"),
        Err(_) => assert!(report.skipped.iter().any(|s| matches!(&s.reason,
            SkipReason::Xattr { name, .. } if name == b"user.demo"))),
    }
    let owned = fs::metadata(target.join("home/u/owned")).unwrap();
    let null = fs::symlink_metadata(target.join("dev/null"));
    if is_root() {
        assert_eq!((owned.uid(), owned.gid()), (1234, 5678));
        let null = null.unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    } else {
        assert!(null.is_err());
        assert!(
            report
                .skipped
                .iter()
                .any(|s| s.path == b"dev/null" && s.reason == SkipReason::Device)
        );
    }
    assert_eq!(report.files, 7);
    assert_eq!(report.hardlinks, 1);
    assert_eq!(report.symlinks, 1);
    assert_eq!(report.bytes, 10_000 + 6 + 2 + 4 + 1 + 1);
    assert!(
        listing(&target)
            .iter()
            .all(|p| !p.contains(".esgz-extract")),
        "no temp files left"
    );
    assert_only_target(sandbox.path());
}

#[test]
fn climbing_and_absolute_names_land_inside() {
    let entries = [
        file("../x", b"1"),
        file("/abs", b"2"),
        file("./../../y/z", b"3"),
        link(b'1', "../../h", "/abs"),
    ];
    let (sandbox, target) = new_sandbox();
    extract(blob_of(&entries), &target).unwrap();
    assert_eq!(fs::read(target.join("x")).unwrap(), b"1");
    assert_eq!(fs::read(target.join("abs")).unwrap(), b"2");
    assert_eq!(fs::read(target.join("y/z")).unwrap(), b"3");
    assert_eq!(fs::read(target.join("h")).unwrap(), b"2");
    assert_only_target(sandbox.path());
}

#[test]
fn a_file_under_a_symlink_is_rejected_naming_it() {
    let (sandbox, target) = new_sandbox();
    let outside = sandbox.path().join("outside");
    let entries = [
        link(b'2', "a", outside.to_str().unwrap()),
        file("a/file", b"escape"),
    ];
    let err = extract(blob_of(&entries), &target).unwrap_err();
    assert!(err.to_string().contains("a/file"), "{err}");
    assert!(!outside.exists());
    assert_only_target(sandbox.path());
}

#[test]
fn symlinks_to_parents_are_created_verbatim_and_never_followed() {
    let entries = [
        link(b'2', "up", ".."),
        dir("d/"),
        link(b'2', "d/up2", "../.."),
        link(b'2', "d/abs", "/"),
        file("d/f", b"in"),
        link(b'1', "d/hl", "d/f"),
    ];
    let (sandbox, target) = new_sandbox();
    extract(blob_of(&entries), &target).unwrap();
    assert_eq!(fs::read_link(target.join("up")).unwrap(), Path::new(".."));
    assert_eq!(
        fs::read_link(target.join("d/up2")).unwrap(),
        Path::new("../..")
    );
    assert_eq!(fs::read(target.join("d/hl")).unwrap(), b"in");
    assert_only_target(sandbox.path());
}

#[test]
fn symlinks_already_in_the_target_are_replaced_not_followed() {
    let (sandbox, target) = new_sandbox();
    let outside = sandbox.path().join("outside");
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("d")).unwrap();
    std::os::unix::fs::symlink(outside.join("f"), target.join("f")).unwrap();
    fs::create_dir(target.join("was-dir")).unwrap();
    fs::write(target.join("was-file"), b"old").unwrap();
    let entries = [
        dir("d/"),
        file("d/inner", b"in"),
        file("f", b"replaced"),
        file("was-dir", b"now a file"),
        dir("was-file/"),
        file("was-file/x", b"x"),
    ];
    extract(blob_of(&entries), &target).unwrap();
    assert!(fs::symlink_metadata(target.join("d")).unwrap().is_dir());
    assert_eq!(fs::read(target.join("d/inner")).unwrap(), b"in");
    assert!(fs::symlink_metadata(target.join("f")).unwrap().is_file());
    assert_eq!(fs::read(target.join("was-dir")).unwrap(), b"now a file");
    assert_eq!(fs::read(target.join("was-file/x")).unwrap(), b"x");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through links"
    );
}

#[test]
fn a_non_empty_directory_where_a_file_belongs_is_an_error() {
    let (_sandbox, target) = new_sandbox();
    fs::create_dir_all(target.join("busy/child")).unwrap();
    let err = extract(blob_of(&[file("busy", b"x")]), &target).unwrap_err();
    assert!(err.to_string().contains("busy"), "{err}");
    assert!(target.join("busy/child").is_dir());
}

#[test]
fn hardlinks_to_missing_targets_or_through_symlinks_are_typed_errors() {
    let missing = BlobBuilder::new(4096)
        .file("f", "x")
        .hardlink("h", "nope")
        .build()
        .0;
    let (sandbox, target) = new_sandbox();
    let err = extract(missing, &target).unwrap_err();
    assert!(
        matches!(err, Error::Toc(estargz_toc::Error::HardlinkTarget { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope"), "{err}");

    let via_symlink = BlobBuilder::new(4096)
        .dir("d/")
        .file("d/f", "x")
        .symlink("s", "d")
        .hardlink("h", "s/f")
        .build()
        .0;
    let err = extract(via_symlink, &target).unwrap_err();
    assert!(
        matches!(err, Error::Toc(estargz_toc::Error::HardlinkTarget { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("s/f"), "{err}");
    assert_eq!(
        listing(&target),
        Vec::<String>::new(),
        "nothing written on bad input"
    );
    assert_only_target(sandbox.path());
}

#[test]
fn duplicate_names_keep_the_last_and_may_change_type() {
    let entries = [
        file("x", b"one"),
        file("./x", b"two"),
        file("y", b"file first"),
        dir("y/"),
        file("y/z", b"z"),
        dir("w/"),
        file("w", b"dir replaced"),
    ];
    let (sandbox, target) = new_sandbox();
    extract(blob_of(&entries), &target).unwrap();
    assert_eq!(fs::read(target.join("x")).unwrap(), b"two");
    assert_eq!(fs::read(target.join("y/z")).unwrap(), b"z");
    assert_eq!(fs::read(target.join("w")).unwrap(), b"dir replaced");
    assert_only_target(sandbox.path());

    // A directory with children that a later file replaces leaves the children orphaned.
    let orphan = [dir("v/"), file("v/c", b"c"), file("v", b"file")];
    let (_sandbox, target) = new_sandbox();
    let err = extract(blob_of(&orphan), &target).unwrap_err();
    assert!(err.to_string().contains("v/c"), "{err}");
}

#[test]
fn a_file_that_fails_verification_is_not_written() {
    let (_, mut parts) = BlobBuilder::new(4)
        .dir("d/")
        .file("d/a-good", "fine")
        .file("d/b-bad", "tampered")
        .build();
    let bad = parts
        .toc
        .entries
        .iter_mut()
        .rfind(|e| e.name.as_bytes() == b"d/b-bad")
        .unwrap();
    bad.chunk_digest = estargz_verifier::Digest::of(b"something else").to_string();
    let (_sandbox, target) = new_sandbox();
    let err = extract(parts.assemble(), &target).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("d/b-bad"), "{err}");
    assert_eq!(
        listing(&target),
        ["d", "d/a-good"],
        "no partial or temporary file"
    );
}

#[test]
fn deep_trees_reopen_directories_beyond_the_held_descriptors() {
    let mut entries = Vec::new();
    let mut path = String::new();
    for level in 0..150 {
        path.push_str("d/");
        let mut d = dir(&path);
        d.header.mode = 0o751;
        entries.push(d);
        if level % 10 == 0 {
            entries.push(file(&format!("{path}f"), path.as_bytes()));
        }
    }
    let mut sibling = file("d/late", b"after the deep part");
    sibling.header.mode = 0o600;
    entries.push(sibling);
    let (sandbox, target) = new_sandbox();
    let report = extract(blob_of(&entries), &target).unwrap();
    assert_eq!(report.directories, 151);
    let mut path = target.clone();
    for level in 0..150 {
        path.push("d");
        assert_eq!(
            fs::metadata(&path).unwrap().mode() & 0o7777,
            0o751,
            "level {level}"
        );
        if level % 10 == 0 {
            let rel = "d/".repeat(level + 1);
            assert_eq!(fs::read(path.join("f")).unwrap(), rel.as_bytes());
        }
    }
    assert_eq!(
        fs::read(target.join("d/late")).unwrap(),
        b"after the deep part"
    );
    assert_eq!(
        fs::metadata(target.join("d/late"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_only_target(sandbox.path());
}
