//! `esgz info --json` and `esgz toc` agree with the reference on every blob it builds from
//! the generated corpus, and fail with exit code 1 (never a panic) on damaged blobs.

use std::path::Path;

use estargz_interop::json::{self, Value};
use estargz_interop::{corpus, reference, scratch_dir, work_dir};

mod common;
use common::esgz;

fn info_json(blob: &Path) -> Value {
    let out = esgz(&["info", "--json", blob.to_str().expect("UTF-8 path")]);
    assert!(
        out.status.success(),
        "esgz info {}: {}",
        blob.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    json::parse_bytes(&out.stdout).expect("esgz info --json prints one JSON object")
}

#[test]
fn info_and_toc_match_the_reference() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "esgz_info").unwrap();
    let mut checked = 0;
    for tar in corpus(work).unwrap().accepted() {
        let blob = scratch.join(format!("{}.esgz", tar.file));
        let built = reference
            .build(&tar.path, &blob, &Default::default())
            .unwrap();
        let go_info = reference.info(&blob).unwrap();

        let ours = info_json(&blob);
        let field = |k: &str| {
            ours.get(k)
                .unwrap_or_else(|| panic!("{}: no {k}", tar.file))
        };
        assert_eq!(
            field("toc_offset").as_u64(),
            Some(go_info.toc_offset),
            "{}",
            tar.file
        );
        assert_eq!(
            field("toc_digest").as_str(),
            Some(built.toc_digest.as_str()),
            "{}",
            tar.file
        );
        assert_eq!(
            field("entries").as_u64(),
            Some(go_info.entries),
            "{}",
            tar.file
        );
        assert_eq!(
            field("blob_size").as_u64(),
            Some(built.blob_size),
            "{}",
            tar.file
        );
        assert_eq!(field("footer").as_str(), Some("estargz"), "{}", tar.file);

        let toc = esgz(&["toc", blob.to_str().unwrap()]);
        assert!(toc.status.success(), "{}", tar.file);
        assert_eq!(
            toc.stdout,
            reference.toc(&blob).unwrap(),
            "{}: esgz toc",
            tar.file
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} blobs checked");
}

#[test]
fn damaged_blobs_exit_1_with_a_message() {
    let work = work_dir!();
    let reference = reference(work).unwrap();
    let scratch = scratch_dir(work, "esgz_info_damaged").unwrap();
    let tar = corpus(work).unwrap().get("basic-ustar.tar").unwrap();
    let blob = scratch.join("good.esgz");
    reference
        .build(&tar.path, &blob, &Default::default())
        .unwrap();
    let good = std::fs::read(&blob).unwrap();
    let toc_offset = reference.info(&blob).unwrap().toc_offset as usize;

    let mut damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("footer only", good[good.len() - 51..].to_vec()),
        ("truncated by one byte", good[..good.len() - 1].to_vec()),
        ("cut inside the TOC", good[..toc_offset + 20].to_vec()),
    ];
    let mut flip = |what, at: usize| {
        let mut bytes = good.clone();
        bytes[at] ^= 0x55;
        damaged.push((what, bytes));
    };
    flip("footer magic", good.len() - 51);
    flip("footer offset digit", good.len() - 51 + 20);
    flip("TOC gzip header", toc_offset);
    flip("TOC deflate data", toc_offset + 30);
    flip("TOC gzip trailer", good.len() - 51 - 6);

    for (what, bytes) in damaged {
        let path = scratch.join("damaged.esgz");
        std::fs::write(&path, &bytes).unwrap();
        for command in ["info", "toc"] {
            let out = esgz(&[command, path.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}: esgz {command}: {stderr}"
            );
            assert!(
                stderr.starts_with("esgz: "),
                "{what}: esgz {command}: {stderr}"
            );
            assert!(
                !stderr.contains("panicked"),
                "{what}: esgz {command}: {stderr}"
            );
        }
    }
}
