//! Standard base64 with padding, as Go's `base64.StdEncoding` writes and reads it.
//!
//! Go's decoder is not strict: it ignores `\r` and `\n` anywhere, ignores non-zero bits
//! after the last full byte (`QR==` decodes like `QQ==`), and requires padding.

/// The standard alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks bytes outside the alphabet in [`DECODE`].
const INVALID: u8 = 0xff;

/// The value of each alphabet byte, [`INVALID`] for the others.
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Appends the padded base64 encoding of `data` to `out`.
pub(super) fn encode_into(out: &mut Vec<u8>, data: &[u8]) {
    let sym = |v: u32| ALPHABET[(v & 63) as usize];
    out.reserve(data.len().div_ceil(3) * 4);
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let v = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend_from_slice(&[sym(v >> 18), sym(v >> 12), sym(v >> 6), sym(v)]);
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            out.extend_from_slice(&[sym(v >> 18), sym(v >> 12), b'=', b'=']);
        }
        [a, b] => {
            let v = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[sym(v >> 18), sym(v >> 12), sym(v >> 6), b'=']);
        }
        _ => {}
    }
}

/// Why base64 text was rejected: the index of the offending byte in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DecodeError(pub(super) usize);

/// Decodes padded standard base64 the way Go's `StdEncoding.Decode` does.
pub(super) fn decode(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let is_newline = |b: u8| b == b'\n' || b == b'\r';
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut quantum = [0u8; 4];
    let mut filled = 0;
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        i += 1;
        let v = DECODE[usize::from(b)];
        if v != INVALID {
            quantum[filled] = v;
            filled += 1;
            if filled == 4 {
                let n = u32::from(quantum[0]) << 18
                    | u32::from(quantum[1]) << 12
                    | u32::from(quantum[2]) << 6
                    | u32::from(quantum[3]);
                out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
                filled = 0;
            }
            continue;
        }
        if is_newline(b) {
            continue;
        }
        if b != b'=' || filled < 2 {
            return Err(DecodeError(i - 1));
        }
        // Padding: `==` after two symbols (newlines may sit between), `=` after three.
        if filled == 2 {
            while text.get(i).copied().is_some_and(is_newline) {
                i += 1;
            }
            match text.get(i) {
                Some(b'=') => i += 1,
                Some(_) => return Err(DecodeError(i - 1)),
                None => return Err(DecodeError(text.len())),
            }
        }
        while text.get(i).copied().is_some_and(is_newline) {
            i += 1;
        }
        if i < text.len() {
            return Err(DecodeError(i));
        }
        let n =
            u32::from(quantum[0]) << 18 | u32::from(quantum[1]) << 12 | u32::from(quantum[2]) << 6;
        out.push((n >> 16) as u8);
        if filled == 3 {
            out.push((n >> 8) as u8);
        }
        return Ok(out);
    }
    if filled == 0 {
        Ok(out)
    } else {
        Err(DecodeError(text.len() - filled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(data: &[u8]) -> String {
        let mut out = Vec::new();
        encode_into(&mut out, data);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(enc(plain.as_bytes()), coded);
            assert_eq!(decode(coded.as_bytes()).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            assert_eq!(decode(enc(&all[..len]).as_bytes()).unwrap(), &all[..len]);
        }
    }

    #[test]
    fn decodes_like_go() {
        // Newlines are ignored anywhere, including between the two padding bytes.
        assert_eq!(decode(b"QU\nJD\r\nRA=\n=\n").unwrap(), b"ABCD");
        assert_eq!(decode(b"\r\n").unwrap(), b"");
        assert_eq!(decode(b"QQ=\n=").unwrap(), b"A");
        // Non-zero trailing bits are accepted.
        assert_eq!(decode(b"QR==").unwrap(), b"A");
        assert_eq!(decode(b"QUJ=").unwrap(), b"AB");
        // Errors carry the position Go reports.
        assert_eq!(decode(b"QQ"), Err(DecodeError(0)));
        assert_eq!(decode(b"Q"), Err(DecodeError(0)));
        assert_eq!(decode(b"Q==="), Err(DecodeError(1)));
        assert_eq!(decode(b"QQ==QQ=="), Err(DecodeError(4)));
        assert_eq!(decode(b"-_-_"), Err(DecodeError(0)));
        assert_eq!(decode(b"QQ== "), Err(DecodeError(4)));
        assert_eq!(decode(b"QQ=x"), Err(DecodeError(2)));
        assert_eq!(decode(b"QQ="), Err(DecodeError(3)));
    }
}
