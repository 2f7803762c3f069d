//! WWW-Authenticate parsing never panics; parsed challenges have a non-empty scheme, and a
//! Bearer view has a realm.
#![no_main]

use estargz_mirror::parse_www_authenticate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(challenges) = parse_www_authenticate(data) else {
        return;
    };
    for c in &challenges {
        assert!(!c.scheme().is_empty());
        if let Some(bearer) = c.bearer() {
            assert_eq!(Some(bearer.realm.as_str()), c.param("realm"));
        }
        for (name, _) in c.params() {
            assert!(c.param(name).is_some());
        }
    }
    // The token reply parser must not panic on the same bytes either.
    let _ = estargz_mirror::TokenResponse::parse(data);
});
