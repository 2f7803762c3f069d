//! The README's main job keeps working: the demo converts a sample layer, serves it behind a
//! flaky mirror, reads files lazily with fallback to the origin, and fetches far less than
//! the whole blob.

use std::process::Command;

#[test]
fn the_demo_reads_lazily_through_a_flaky_mirror() {
    let out = Command::new(env!("CARGO_BIN_EXE_lazy-pull-demo"))
        .output()
        .expect("running lazy-pull-demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in [
        "etc/os-release",
        "usr/share/doc/app/README",
        "usr/lib/app/data-007.bin",
    ] {
        assert!(
            stdout.contains(&format!("read {path}: ")),
            "{path} in:\n{stdout}"
        );
    }
    let number_after = |line: &str, word: &str| -> u64 {
        let start = line.find(word).expect("a metric") + word.len();
        line[start..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    let mirror = stdout
        .lines()
        .find(|l| l.starts_with("mirror http"))
        .expect("mirror line");
    let origin = stdout
        .lines()
        .find(|l| l.starts_with("origin http"))
        .expect("origin line");
    assert!(
        number_after(mirror, "failures, ") >= 1,
        "no fallback:\n{stdout}"
    );
    assert!(
        number_after(origin, ": ") >= 1,
        "origin never used:\n{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("fetched "))
        .expect("summary");
    let fetched = number_after(summary, "fetched ");
    let blob = number_after(summary, " of ");
    assert!(fetched * 5 < blob, "lazy reads fetched too much: {summary}");
}
