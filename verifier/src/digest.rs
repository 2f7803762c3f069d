//! The [`Digest`] type and streaming [`Hasher`].

use core::fmt;
use core::str::FromStr;

use sha2::Digest as _;

use crate::error::{Error, InvalidDigestReason};

/// The algorithm prefix of every digest this crate handles.
const PREFIX: &str = "sha256:";

/// Number of hex digits in a sha256 digest.
const HEX_LEN: usize = 64;

/// The longest input kept in an [`Error::InvalidDigest`], in bytes.
const MAX_ERROR_INPUT: usize = 100;

/// An OCI content digest using sha256: `sha256:` followed by 64 lowercase hex digits.
///
/// This is the format of the TOC's `digest` and `chunkDigest` fields, of the TOC digest and of
/// DiffIDs. Parsing is as strict as go-digest: other algorithms, uppercase hex and wrong
/// lengths are rejected. The value stores only the 32 raw hash bytes, so it is `Copy` and
/// cheap to compare; ordering is by those bytes.
///
/// ```
/// use estargz_verifier::Digest;
///
/// let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
///     .parse()?;
/// assert_eq!(d, Digest::EMPTY);
/// assert_eq!(d, Digest::of(b""));
/// assert!(Digest::parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855").is_err());
/// # Ok::<(), estargz_verifier::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of empty content (what the TOC records for empty regular files).
    pub const EMPTY: Self =
        Self::from_hex_const("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /// The digest of a landmark file's content (the single byte `0x0f`).
    pub const LANDMARK: Self =
        Self::from_hex_const("dc0e9c3658a1a3ed1ec94274d8b19925c93e1abb7ddba294923ad9bde30f8cb8");

    /// Wraps 32 raw sha256 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses `sha256:` followed by exactly 64 lowercase hex digits.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDigest`], with the reason: missing or unsupported algorithm, wrong
    /// length, uppercase or non-hex digit.
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::parse_inner(s).map_err(|reason| Error::InvalidDigest {
            input: truncate(s, MAX_ERROR_INPUT).to_owned(),
            reason,
        })
    }

    /// The sha256 digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        let mut hasher = Hasher::new();
        hasher.update(data);
        hasher.finalize()
    }

    /// The 32 raw hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks that `data` hashes to this digest.
    ///
    /// # Errors
    ///
    /// [`Error::Mismatch`] (with `subject`) when it does not.
    pub fn verify(&self, subject: crate::Subject, data: &[u8]) -> Result<(), Error> {
        let actual = Self::of(data);
        if actual == *self {
            Ok(())
        } else {
            Err(Error::Mismatch {
                subject,
                expected: *self,
                actual,
            })
        }
    }

    fn parse_inner(s: &str) -> Result<Self, InvalidDigestReason> {
        let Some((algorithm, hex)) = s.split_once(':') else {
            return Err(InvalidDigestReason::MissingAlgorithm);
        };
        if algorithm != "sha256" {
            return Err(InvalidDigestReason::UnsupportedAlgorithm);
        }
        let hex = hex.as_bytes();
        if hex.len() != HEX_LEN {
            return Err(InvalidDigestReason::WrongLength { len: hex.len() });
        }
        let mut out = [0u8; 32];
        for (i, (byte, pair)) in out.iter_mut().zip(hex.chunks_exact(2)).enumerate() {
            let mut value = 0u8;
            for (j, &c) in pair.iter().enumerate() {
                let position = i * 2 + j;
                let nibble = match c {
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => c - b'a' + 10,
                    b'A'..=b'F' => return Err(InvalidDigestReason::UppercaseHex { position }),
                    _ => return Err(InvalidDigestReason::NotHex { position }),
                };
                value = (value << 4) | nibble;
            }
            *byte = value;
        }
        Ok(Self(out))
    }

    /// Compile-time hex decoding for the constants; an invalid literal fails the build.
    const fn from_hex_const(hex: &str) -> Self {
        const fn nibble(c: u8) -> u8 {
            match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => panic!("invalid hex digit in digest constant"),
            }
        }
        let hex = hex.as_bytes();
        assert!(
            hex.len() == HEX_LEN,
            "digest constant must have 64 hex digits"
        );
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            out[i] = (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]);
            i += 1;
        }
        Self(out)
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Digest {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl From<[u8; 32]> for Digest {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; PREFIX.len() + HEX_LEN];
        let (prefix, hex) = buf.split_at_mut(PREFIX.len());
        prefix.copy_from_slice(PREFIX.as_bytes());
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            for (slot, nibble) in pair.iter_mut().zip([byte >> 4, byte & 0x0f]) {
                // `nibble` < 16, so the lookup always succeeds.
                *slot = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
            }
        }
        // Every byte is ASCII by construction.
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// Streaming sha256 that produces a [`Digest`].
///
/// Also implements [`std::io::Write`] (never failing) so it can sit behind `io::copy` or a
/// tee; it performs no I/O itself.
///
/// ```
/// use estargz_verifier::{Digest, Hasher};
///
/// let mut h = Hasher::new();
/// h.update(b"hello ");
/// h.update(b"world");
/// assert_eq!(h.finalize(), Digest::of(b"hello world"));
/// ```
#[derive(Clone, Default)]
pub struct Hasher(sha2::Sha256);

impl Hasher {
    /// A hasher over no bytes yet.
    pub fn new() -> Self {
        Self(sha2::Sha256::new())
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed so far.
    pub fn finalize(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").finish_non_exhaustive()
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The TOC digest: sha256 of the exact TOC JSON bytes (spec 3.5).
///
/// Pass exactly the bytes of the `stargz.index.json` entry (or of the zstd:chunked / external
/// TOC), with nothing trailing.
pub fn toc_digest(json: &[u8]) -> Digest {
    Digest::of(json)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANDMARK_HEX: &str =
        "sha256:dc0e9c3658a1a3ed1ec94274d8b19925c93e1abb7ddba294923ad9bde30f8cb8";
    const EMPTY_HEX: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn reason(s: &str) -> InvalidDigestReason {
        match Digest::parse(s) {
            Err(Error::InvalidDigest { reason, .. }) => reason,
            other => panic!("expected InvalidDigest for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn constants_are_hashes_of_their_content() {
        assert_eq!(Digest::EMPTY, Digest::of(b""));
        assert_eq!(Digest::LANDMARK, Digest::of(&[0x0f]));
        assert_eq!(Digest::EMPTY.to_string(), EMPTY_HEX);
        assert_eq!(Digest::LANDMARK.to_string(), LANDMARK_HEX);
    }

    #[test]
    fn parse_and_display_round_trip() {
        let d = Digest::parse(LANDMARK_HEX).unwrap();
        assert_eq!(d, Digest::LANDMARK);
        assert_eq!(d.to_string(), LANDMARK_HEX);
        assert_eq!(format!("{d:?}"), format!("Digest({LANDMARK_HEX})"));
        assert_eq!(Digest::try_from(LANDMARK_HEX).unwrap(), d);
        assert_eq!(Digest::from(*d.as_bytes()), d);
        assert_eq!(Digest::from_bytes(*d.as_bytes()), d);
    }

    #[test]
    fn parse_rejects_with_reason() {
        assert_eq!(reason(""), InvalidDigestReason::MissingAlgorithm);
        assert_eq!(
            reason(&LANDMARK_HEX[7..]),
            InvalidDigestReason::MissingAlgorithm
        );
        assert_eq!(
            reason(&LANDMARK_HEX.replace("sha256", "sha512")),
            InvalidDigestReason::UnsupportedAlgorithm
        );
        assert_eq!(
            reason(&LANDMARK_HEX.replace("sha256", "SHA256")),
            InvalidDigestReason::UnsupportedAlgorithm
        );
        assert_eq!(
            reason(&LANDMARK_HEX[..70]),
            InvalidDigestReason::WrongLength { len: 63 }
        );
        assert_eq!(
            reason(&format!("{LANDMARK_HEX}0")),
            InvalidDigestReason::WrongLength { len: 65 }
        );
        assert_eq!(
            reason(&LANDMARK_HEX.replace("dc0e", "DC0e")),
            InvalidDigestReason::UppercaseHex { position: 0 }
        );
        assert_eq!(
            reason(&LANDMARK_HEX.replace("dc0e", "dc0g")),
            InvalidDigestReason::NotHex { position: 3 }
        );
        // Multi-byte characters: a wrong length, never a panic.
        assert_eq!(
            reason("sha256:é"),
            InvalidDigestReason::WrongLength { len: 2 }
        );
        let with_utf8 = format!("sha256:{}é", &LANDMARK_HEX[7..69]);
        assert_eq!(
            reason(&with_utf8),
            InvalidDigestReason::NotHex { position: 62 }
        );
    }

    #[test]
    fn error_input_is_truncated_on_char_boundary() {
        let long = format!("sha256:{}", "é".repeat(100));
        match Digest::parse(&long) {
            Err(Error::InvalidDigest { input, .. }) => {
                assert!(input.len() <= MAX_ERROR_INPUT);
                assert!(long.starts_with(&input));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ordering_is_by_bytes() {
        let a = Digest::from_bytes([0; 32]);
        let b = Digest::from_bytes([0xff; 32]);
        assert!(a < b);
        assert_eq!(a.to_string(), format!("sha256:{}", "0".repeat(64)));
        assert_eq!(b.to_string(), format!("sha256:{}", "f".repeat(64)));
    }

    #[test]
    fn hasher_streams_and_writes() {
        use std::io::Write as _;
        let mut h = Hasher::default();
        h.write_all(b"ab").unwrap();
        h.flush().unwrap();
        let snapshot = h.clone();
        h.update(b"c");
        assert_eq!(h.finalize(), Digest::of(b"abc"));
        assert_eq!(snapshot.finalize(), Digest::of(b"ab"));
        assert_eq!(toc_digest(b"{}"), Digest::of(b"{}"));
    }

    #[test]
    fn verify_reports_mismatch() {
        assert!(
            Digest::LANDMARK
                .verify(crate::Subject::File, &[0x0f])
                .is_ok()
        );
        assert_eq!(
            Digest::LANDMARK.verify(crate::Subject::File, b""),
            Err(Error::Mismatch {
                subject: crate::Subject::File,
                expected: Digest::LANDMARK,
                actual: Digest::EMPTY,
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn display_parse_round_trip(bytes: [u8; 32]) {
            let d = Digest::from_bytes(bytes);
            proptest::prop_assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        }

        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = Digest::parse(&s);
        }

        #[test]
        fn streaming_equals_one_shot(data: Vec<u8>, split in 0usize..64) {
            let split = split.min(data.len());
            let (a, b) = data.split_at(split);
            let mut h = Hasher::new();
            h.update(a);
            h.update(b);
            proptest::prop_assert_eq!(h.finalize(), Digest::of(&data));
        }
    }
}
