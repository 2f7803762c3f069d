//! `esgz` on hostile blobs (built by `estargz/tests/hostile/blobs.rs`): `info`, `ls`,
//! `verify` and `cat` exit with 1 and a message where the blob is bad, 0 where the command
//! does not touch the bad part, and never panic.

#[path = "../../estargz/tests/hostile/blobs.rs"]
mod blobs;

mod common;

/// What `esgz` must do with one hostile blob.
struct Case {
    name: &'static str,
    /// Whether the footer and TOC JSON load (then `info`, which reads only them, succeeds).
    loads: bool,
    /// Whether the TOC is also consistent (then `ls` succeeds).
    opens: bool,
    /// A path to `cat`, and the exit code that must give.
    cat: (&'static str, i32),
}

const CASES: &[Case] = &[
    Case {
        name: "injected-entry",
        loads: true,
        opens: true,
        cat: ("evil", 1),
    },
    Case {
        name: "bomb-after",
        loads: true,
        opens: true,
        cat: ("d/b", 0),
    },
    Case {
        name: "bomb-before",
        loads: true,
        opens: true,
        cat: (".no.prefetch.landmark", 1),
    },
    Case {
        name: "lying-sizes",
        loads: true,
        opens: true,
        cat: ("d/a", 1),
    },
    Case {
        name: "hardlink-cycle",
        loads: true,
        opens: false,
        cat: ("d/a", 1),
    },
    Case {
        name: "footer-into-footer",
        loads: false,
        opens: false,
        cat: ("d/a", 1),
    },
    Case {
        name: "offset-past-end",
        loads: true,
        opens: false,
        cat: ("d/a", 1),
    },
    Case {
        name: "offset-overlap",
        loads: true,
        opens: false,
        cat: ("d/a", 1),
    },
];

/// Runs `esgz args`, checks it did not panic, and returns its exit code and stderr.
fn esgz(args: &[&str]) -> (i32, String) {
    let out = common::esgz(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "esgz {args:?} panicked:\n{stderr}"
    );
    (out.status.code().expect("exited, not killed"), stderr)
}

fn expect_failure(args: &[&str]) {
    let (code, stderr) = esgz(args);
    assert_eq!(code, 1, "esgz {args:?}: {stderr}");
    assert!(!stderr.trim().is_empty(), "esgz {args:?}: no message");
}

#[test]
fn hostile_blobs_fail_with_exit_code_1_and_never_panic() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let blobs = blobs::all();
    assert_eq!(blobs.len(), CASES.len());
    for case in CASES {
        let blob = &blobs
            .iter()
            .find(|(name, _)| *name == case.name)
            .expect("a blob for every case")
            .1;
        let path = dir.path().join(case.name);
        std::fs::write(&path, blob).expect("writing the blob");
        let path = path.to_str().expect("UTF-8 temporary path");
        check(case, path);
    }
}

fn check(case: &Case, path: &str) {
    for (command, fine) in [("info", case.loads), ("ls", case.opens)] {
        if fine {
            let (code, stderr) = esgz(&[command, path]);
            assert_eq!(code, 0, "{}: esgz {command}: {stderr}", case.name);
        } else {
            expect_failure(&[command, path]);
        }
    }
    expect_failure(&["verify", path]);
    let (file, want) = case.cat;
    if want == 1 {
        expect_failure(&["cat", path, file]);
    } else {
        let (code, stderr) = esgz(&["cat", path, file]);
        assert_eq!(code, want, "{}: esgz cat {file}: {stderr}", case.name);
    }
}
