//! Content-Range parsing never panics, accepts only consistent values, and what it accepts
//! prints back to a value that parses to the same thing.
#![no_main]

use estargz_mirror::ContentRange;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = ContentRange::parse(data) else {
        return;
    };
    match parsed {
        ContentRange::Satisfied {
            range,
            complete_length,
        } => {
            assert!(range.start() < range.end());
            if let Some(n) = complete_length {
                assert!(range.end() <= n);
            }
        }
        ContentRange::Unsatisfied { .. } => {}
    }
    let printed = parsed.to_string();
    assert_eq!(ContentRange::parse(printed.as_bytes()).ok(), Some(parsed));
});
