//! Extraction against two references: for every corpus tar the reference accepts (and
//! the Debian minbase layer), the reference builds the blob (gzip; for the corpus also
//! zstd:chunked); we extract it, the reference
//! extracts it (`esgz-ref extract`), and GNU tar extracts the source tar. The three trees
//! must agree on names, types, modes, owners, link targets, hardlink groups, device
//! numbers, contents and the modification times of files and symlinks; extended
//! attributes are compared with GNU tar (the reference program does not set them).
//!
//! Intended differences, normalised here:
//! - the landmark file: the reference extracts `.no.prefetch.landmark`; we leave it out
//!   (it is not part of the layer);
//! - directories: their times are not compared (implicit ones get the time of
//!   extraction), nor the root;
//! - GNU tar keeps sub-second and exact PAX mtimes; the TOC rounds them to the nearest
//!   second (halves up), so tar's times are rounded before comparing;
//! - GNU tar refuses member names containing `..` (we and the reference clean them to
//!   names inside the target) and extracts the root `stargz.index.json` and landmark
//!   names that `Build` drops: those paths are left out of the comparison with tar;
//! - names that are not UTF-8 go through the TOC JSON lossily (the reference writes U+FFFD
//!   for every invalid byte; we keep the byte 0xFF): names are compared after replacing
//!   invalid UTF-8 by U+FFFD.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use estargz::extract::ExtractOptions;
use estargz::reader::{Reader, ReaderOptions};
use estargz_interop::{BuildOptions, corpus, minbase_tar, reference, scratch_dir, work_dir};
use estargz_verifier::Digest;
use sha2::{Digest as _, Sha256};

/// Tars of which GNU tar leaves entries out: `../` names (refused) and a hardlink to a
/// target that comes later in the tar (it cannot link to what does not exist yet).
const GNU_TAR_SKIPS: [&str; 2] = ["prefixes.tar", "hardlink-forward.tar"];

/// What is compared of one tree entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    /// Content sha256 (files), link target (symlinks), device numbers (devices).
    data: String,
    /// Files and symlinks only, in whole seconds.
    mtime: Option<i64>,
    /// The first path (in sorted order) of the file's hardlink group.
    group: Option<String>,
    xattrs: BTreeMap<String, Vec<u8>>,
}

type Tree = BTreeMap<String, Node>;

/// Walks `root` without following symlinks.
fn tree(root: &Path) -> Tree {
    let mut out = Tree::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    let mut paths = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path.clone());
            }
            paths.push(path);
        }
    }
    paths.sort();
    for path in paths {
        let rel = path.strip_prefix(root).unwrap().as_os_str().as_bytes();
        let name = String::from_utf8_lossy(rel).into_owned();
        let meta = fs::symlink_metadata(&path).unwrap();
        let ft = meta.file_type();
        let (kind, data) = if ft.is_dir() {
            ("dir", String::new())
        } else if ft.is_file() {
            let digest = Sha256::digest(fs::read(&path).unwrap());
            ("reg", format!("{digest:x}"))
        } else if ft.is_symlink() {
            let target = fs::read_link(&path).unwrap();
            (
                "symlink",
                String::from_utf8_lossy(target.as_os_str().as_bytes()).into_owned(),
            )
        } else if ft.is_fifo() {
            ("fifo", String::new())
        } else if ft.is_char_device() {
            ("char", meta.rdev().to_string())
        } else if ft.is_block_device() {
            ("block", meta.rdev().to_string())
        } else {
            ("other", String::new())
        };
        let group = (ft.is_file() && meta.nlink() > 1).then(|| {
            inodes
                .entry(meta.ino())
                .or_insert_with(|| name.clone())
                .clone()
        });
        out.insert(
            name,
            Node {
                kind,
                mode: if ft.is_symlink() {
                    0
                } else {
                    meta.mode() & 0o7777
                },
                uid: meta.uid(),
                gid: meta.gid(),
                data,
                // Rounded to the nearest second, halves up, as the TOC stores times.
                mtime: (ft.is_file() || ft.is_symlink())
                    .then(|| meta.mtime() + i64::from(meta.mtime_nsec() >= 500_000_000)),
                group,
                xattrs: xattrs(&path),
            },
        );
    }
    out
}

fn xattrs(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut names = vec![0u8; 1 << 16];
    let n = rustix::fs::llistxattr(path, &mut names[..]).unwrap_or(0);
    let mut out = BTreeMap::new();
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let mut value = vec![0u8; 1 << 16];
        if let Ok(len) = rustix::fs::lgetxattr(path, name, &mut value[..]) {
            value.truncate(len);
            out.insert(String::from_utf8_lossy(name).into_owned(), value);
        }
    }
    out
}

/// Differences between two trees, as readable lines (empty when equal).
fn diff(what: &str, a: &Tree, b: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for (path, node) in a {
        match b.get(path) {
            None => out.push(format!("{what}: {path:?} only in the first")),
            Some(other) if other != node => {
                out.push(format!("{what}: {path:?}:\n  {node:?}\n  {other:?}"));
            }
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        out.push(format!("{what}: {path:?} only in the second"));
    }
    out
}

fn without_xattrs(tree: &Tree) -> Tree {
    tree.iter()
        .map(|(p, n)| {
            let mut n = n.clone();
            n.xattrs.clear();
            (p.clone(), n)
        })
        .collect()
}

/// How the reference builds the blob that is extracted.
#[derive(Clone, Copy, PartialEq)]
enum Compression {
    Gzip,
    ZstdChunked,
}

/// Extracts `tar` three ways (from a blob the reference builds with `compression`) and
/// returns the differences found.
fn compare(name: &str, tar: &Path, compression: Compression) -> Vec<String> {
    let work = work_dir!();
    let zstd = compression == Compression::ZstdChunked;
    let scratch_name = format!("extract-{name}{}", if zstd { "-zstd" } else { "" });
    let scratch = scratch_dir(work, &scratch_name).unwrap();
    let blob = scratch.join("blob");
    // gzip level 1: the tree does not depend on the level, and Go's level 9 dominates the
    // time. zstd:chunked at the reference's default level.
    let build_options = BuildOptions {
        level: (!zstd).then_some(1),
        zstd,
        ..BuildOptions::default()
    };
    let built = reference(work)
        .unwrap()
        .build(tar, &blob, &build_options)
        .unwrap();

    let ours = scratch.join("ours");
    let mut options = ReaderOptions::default();
    options.toc.expected_digest = Some(Digest::parse(&built.toc_digest).unwrap());
    let reader = Reader::open(File::open(&blob).unwrap(), options).unwrap();
    assert_eq!(
        reader.footer().kind() == estargz_toc::FooterKind::ZstdChunkedV1,
        zstd,
        "{name}: footer {}",
        reader.footer().kind()
    );
    reader
        .extract_to(&ours, &ExtractOptions::default())
        .unwrap();

    let theirs = scratch.join("reference");
    reference(work)
        .unwrap()
        .extract(&blob, &built.toc_digest, &theirs)
        .unwrap();

    let gnu = scratch.join("gnu-tar");
    fs::create_dir_all(&gnu).unwrap();
    let out = Command::new("tar")
        .args(["-x", "--numeric-owner", "--same-owner", "-p", "--xattrs"])
        .arg("--xattrs-include=*")
        .arg("-f")
        .arg(tar)
        .arg("-C")
        .arg(&gnu)
        .output()
        .unwrap();
    // GNU tar exits 2 after skipping `..` names; what it did extract is compared.
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "tar: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ours = tree(&ours);
    let mut theirs = tree(&theirs);
    theirs.remove(estargz_interop::NO_PREFETCH_LANDMARK);
    let mut gnu = tree(&gnu);
    for reserved in [
        "stargz.index.json",
        ".prefetch.landmark",
        ".no.prefetch.landmark",
    ] {
        gnu.remove(reserved);
    }
    let mut problems = diff(
        &format!("{name} ours/reference"),
        &without_xattrs(&ours),
        &without_xattrs(&theirs),
    );
    if GNU_TAR_SKIPS.contains(&name) {
        // Compare what GNU tar did extract, without hardlink groups.
        let keep = |tree: &Tree| -> Tree {
            tree.iter()
                .filter(|(p, _)| gnu.contains_key(*p))
                .map(|(p, n)| {
                    (
                        p.clone(),
                        Node {
                            group: None,
                            ..n.clone()
                        },
                    )
                })
                .collect()
        };
        problems.extend(diff(
            &format!("{name} ours/gnu-tar"),
            &keep(&ours),
            &keep(&gnu),
        ));
    } else {
        problems.extend(diff(&format!("{name} ours/gnu-tar"), &ours, &gnu));
    }
    assert!(ours.len() >= gnu.len().min(1), "{name}: nothing extracted");
    problems
}

#[test]
fn corpus_trees_match_the_reference_and_gnu_tar() {
    let corpus = corpus(work_dir!()).unwrap();
    let mut problems = Vec::new();
    let mut compared = 0;
    for tar in corpus.accepted() {
        problems.extend(compare(&tar.file, &tar.path, Compression::Gzip));
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} corpus tars");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same for zstd:chunked blobs the reference builds: our reader decodes zstd frames,
/// the trees must not change.
#[test]
fn corpus_zstd_chunked_trees_match_the_reference_and_gnu_tar() {
    let corpus = corpus(work_dir!()).unwrap();
    let mut problems = Vec::new();
    let mut compared = 0;
    for tar in corpus.accepted() {
        problems.extend(compare(&tar.file, &tar.path, Compression::ZstdChunked));
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} corpus tars");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_minbase_layer_matches_the_reference_and_gnu_tar() {
    let tar = minbase_tar(work_dir!()).unwrap();
    let problems = compare("minbase.tar", tar, Compression::Gzip);
    assert!(
        problems.is_empty(),
        "{}",
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
