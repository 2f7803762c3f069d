//! Reads arbitrary bytes as TOC JSON with small limits. Reading never panics, and whatever
//! reads successfully writes, reads back to the same TOC, and rewrites to the same bytes.

#![no_main]

use estargz_toc::{Limits, Toc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_toc_bytes = 1 << 20;
    limits.max_entries = 1024;
    limits.max_name_bytes = 256;
    limits.max_xattr_bytes = 1024;
    limits.max_json_depth = 32;

    let Ok((toc, used)) = Toc::from_json_prefix(data, &limits) else {
        return;
    };
    assert!(used <= data.len());

    let json = toc.to_json();
    // Writing may only grow a TOC past `max_toc_bytes` (escapes are longer than raw
    // bytes), never past the other limits, so read the rewrite with the size limit lifted.
    let mut relaxed = limits;
    relaxed.max_toc_bytes = u64::MAX;
    let again = match Toc::from_json(&json, &relaxed) {
        Ok(again) => again,
        Err(e) => panic!("our own output does not read back: {e}"),
    };
    assert_eq!(again, toc, "TOC changed in a round trip");
    assert_eq!(again.to_json(), json, "rewrite changed the bytes");
});
