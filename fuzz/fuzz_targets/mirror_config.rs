//! Config parsing never panics, and the result is the same whether the format is given or
//! guessed.
#![no_main]

use estargz_mirror::{parse_config, parse_nydus_json, parse_stargz_toml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let guessed = parse_config(data);
    let is_json = data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let explicit = if is_json {
        parse_nydus_json(data)
    } else {
        match std::str::from_utf8(data) {
            Ok(text) => parse_stargz_toml(text),
            Err(_) => return assert!(guessed.is_err()),
        }
    };
    assert_eq!(guessed.is_ok(), explicit.is_ok());
    if let (Ok(a), Ok(b)) = (guessed, explicit) {
        assert_eq!(a.registries.len(), b.registries.len());
        assert_eq!(a.warnings, b.warnings);
        for r in &a.registries {
            assert!(r.origin.url.scheme_str().is_some());
        }
    }
    let _ = parse_nydus_json(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_stargz_toml(text);
    }
});
