//! Helpers shared by the JSON test files.

use estargz_toc::{GoString, Toc};

/// A string as it reads back from JSON: every byte that is not part of valid UTF-8 is
/// written as `\ufffd` and reads back as the byte 0xFF.
fn normalise(s: &GoString) -> GoString {
    let mut out = Vec::new();
    let mut rest = s.as_bytes();
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.extend_from_slice(valid.as_bytes());
                return GoString::from(out);
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                out.extend_from_slice(valid);
                out.push(0xff);
                rest = &bad[1..];
            }
        }
    }
}

/// The TOC as it reads back. Keys that become equal collapse, the later one (in bytewise
/// order, which is the order they are written in) winning, as in Go.
pub(crate) fn normalise_toc(toc: &Toc) -> Toc {
    let mut toc = toc.clone();
    for e in &mut toc.entries {
        e.name = normalise(&e.name);
        e.link_name = normalise(&e.link_name);
        e.user_name = normalise(&e.user_name);
        e.group_name = normalise(&e.group_name);
        e.xattrs = e
            .xattrs
            .iter()
            .map(|(k, v)| (normalise(k), v.clone()))
            .collect();
    }
    toc
}
