//! Decodes arbitrary bytes as one gzip member with a decompressed-size limit: never panics,
//! never returns more than the limit; and whatever decodes re-encodes (at a level taken from
//! the input) to a member that decodes to the same bytes.

#![no_main]

use estargz::gzip::{Compression, compress_member, decode_member};
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&control, member)) = data.split_first() else {
        return;
    };
    let Ok(decoded) = decode_member(member, LIMIT) else {
        return;
    };
    assert!(decoded.len() as u64 <= LIMIT, "the limit was not enforced");
    let level = Compression::new(u32::from(control % 10)).expect("levels 0-9 are valid");
    let again = compress_member(&decoded, level, control & 0x80 != 0).expect("compressing");
    let round_trip = decode_member(&again, LIMIT).expect("our own member decodes");
    assert_eq!(round_trip, decoded);
});
