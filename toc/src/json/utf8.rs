//! UTF-8 validation one sequence at a time, with Go's rules.
//!
//! Go's encoder and decoder both walk a string with `utf8.DecodeRune`, which treats every
//! byte that does not start a valid, shortest-form sequence of a scalar value as one invalid
//! byte on its own. Rust's `from_utf8` reports "maximal subparts" instead (`E2 82` is one
//! error there, two in Go), so we decide validity here, one sequence at a time.

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
pub(super) const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

/// The length of the valid UTF-8 sequence at the start of `s`, or 0 when the first byte
/// is not the start of one (or `s` is empty). ASCII bytes count as sequences of length 1.
pub(super) fn sequence_len(s: &[u8]) -> usize {
    let cont = |i: usize, lo: u8, hi: u8| s.get(i).is_some_and(|&b| (lo..=hi).contains(&b));
    let Some(&first) = s.first() else {
        return 0;
    };
    match first {
        0x00..=0x7f => 1,
        0xc2..=0xdf if cont(1, 0x80, 0xbf) => 2,
        0xe0 if cont(1, 0xa0, 0xbf) && cont(2, 0x80, 0xbf) => 3,
        0xe1..=0xec | 0xee..=0xef if cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) => 3,
        0xed if cont(1, 0x80, 0x9f) && cont(2, 0x80, 0xbf) => 3,
        0xf0 if cont(1, 0x90, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) => 4,
        0xf1..=0xf3 if cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) => 4,
        0xf4 if cont(1, 0x80, 0x8f) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) => 4,
        _ => 0,
    }
}

/// Appends `c` encoded as UTF-8.
pub(super) fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_on_every_short_sequence() {
        // Every 1..=4 byte prefix built from interesting bytes: a sequence is valid for us
        // exactly when std accepts it as one char.
        let interesting = [
            0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
            0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
        ];
        for &a in &interesting {
            for &b in &interesting {
                for &c in &interesting {
                    for &d in &interesting {
                        let s = [a, b, c, d];
                        let n = sequence_len(&s);
                        let expected = (1..=4)
                            .find(|&len| {
                                std::str::from_utf8(&s[..len]).is_ok_and(|t| t.chars().count() == 1)
                            })
                            .unwrap_or(0);
                        assert_eq!(n, expected, "{s:02x?}");
                    }
                }
            }
        }
        assert_eq!(sequence_len(&[]), 0);
        assert_eq!(sequence_len(&[0xe2, 0x82]), 0);
    }
}
