//! Shared by the `esgz` integration tests: running the binary and the committed sample layer.
// Each test crate uses a different subset of these.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The committed sample layer (built by the reference; see `examples/data`).
pub(crate) const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.esgz");
/// The TOC digest of [`SAMPLE`].
pub(crate) const TOC_DIGEST: &str =
    "sha256:386a8a6bae1bac92248dce7c57d51c30caaa49c6d2ca17395e92bfadc5959647";

/// The content of `bin/hello` in [`SAMPLE`].
pub(crate) const HELLO: &[u8] = b"#!/bin/sh\necho hello from a lazily pulled layer\n";

/// Runs `esgz` with `args` and returns its output.
pub(crate) fn esgz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esgz"))
        .args(args)
        .output()
        .expect("running esgz")
}

/// The standard output of a run that must have succeeded (its standard error otherwise).
pub(crate) fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

/// The one JSON object a successful `--json` run printed.
pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(ok(out)).expect("one JSON object")
}
