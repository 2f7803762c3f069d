//! Fast scanning for the bytes that end a plain run inside a JSON string, eight at a time.

/// One in every byte lane.
const LO: u64 = 0x0101_0101_0101_0101;
/// The top bit of every byte lane.
const HI: u64 = 0x8080_8080_8080_8080;

/// Sets the top bit of each byte lane of `word` equal to `byte`, and possibly of lanes
/// above the lowest such lane (borrows), when no lane holds a byte of 0x80 or more.
fn eq_lanes(word: u64, byte: u8) -> u64 {
    (word ^ (LO * u64::from(byte))).wrapping_sub(LO)
}

/// The index of the first byte of `s` that is `"`, `\`, below 0x20 or at least 0x80 (or
/// also `<`, `>` or `&` when `html` is set); `s.len()` when there is none.
fn run(s: &[u8], html: bool) -> usize {
    let stop = |b: u8| {
        b == b'"'
            || b == b'\\'
            || !(0x20..0x80).contains(&b)
            || (html && matches!(b, b'<' | b'>' | b'&'))
    };
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(lanes);
        // The lowest flagged lane is always a real hit: a borrow only starts at a lane that
        // is one, and a lane of 0x80 or more is flagged by `word` itself.
        let mut hits =
            word.wrapping_sub(LO * 0x20) | eq_lanes(word, b'"') | eq_lanes(word, b'\\') | word;
        if html {
            hits |= eq_lanes(word, b'<') | eq_lanes(word, b'>') | eq_lanes(word, b'&');
        }
        let hits = hits & HI;
        if hits != 0 {
            // trailing_zeros() / 8 is below 8.
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let tail = chunks.remainder();
    at + tail.iter().position(|&b| stop(b)).unwrap_or(tail.len())
}

/// The length of the prefix of `s` a JSON string can hold unchanged when read: no `"`,
/// `\`, control byte or non-ASCII byte.
pub(super) fn plain_run(s: &[u8]) -> usize {
    run(s, false)
}

/// The length of the prefix of `s` Go's encoder writes unchanged: as [`plain_run`], and no
/// `<`, `>` or `&` either.
pub(super) fn plain_run_html(s: &[u8]) -> usize {
    run(s, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_stop_byte_in_any_lane() {
        for stop in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xff, b'<', b'>', b'&'] {
            for len in 0..20 {
                for at in 0..=len {
                    let mut s = vec![b'a'; len];
                    if at < len {
                        s[at] = stop;
                        // Later bytes that also stop must not hide the first one.
                        if at + 1 < len {
                            s[at + 1] = 0x00;
                        }
                    }
                    let html = matches!(stop, b'<' | b'>' | b'&');
                    assert_eq!(plain_run_html(&s), at, "{stop:#x} at {at} of {len}");
                    assert_eq!(
                        plain_run(&s),
                        if html && at < len {
                            (at + 1).min(len)
                        } else {
                            at
                        }
                    );
                }
            }
        }
        assert_eq!(plain_run(b" !#[]~\x7f0123456789"), 17);
        assert_eq!(plain_run_html(b"abcdefgh<"), 8);
    }
}
