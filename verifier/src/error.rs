//! The crate's error type.

use core::fmt;

use crate::Digest;

/// Everything that can go wrong in this crate.
///
/// Variants are grouped by who has to act: [`Error::InvalidDigest`] is a malformed digest string
/// (bad input), [`Error::Mismatch`] and [`Error::SizeMismatch`] are failed verifications.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A digest string is not `sha256:` followed by exactly 64 lowercase hex digits.
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest {
        /// The offending input (truncated to its first 100 bytes, on a character boundary).
        input: String,
        /// What exactly is wrong with it.
        reason: InvalidDigestReason,
    },
    /// The content hashed to a different digest than expected.
    #[error("{subject} digest mismatch: expected {expected}, got {actual}")]
    Mismatch {
        /// What was being verified.
        subject: Subject,
        /// The digest the content should have had.
        expected: Digest,
        /// The digest the content actually has.
        actual: Digest,
    },
    /// More or fewer bytes than expected were fed to a verifier.
    #[error("{subject} size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// What was being verified.
        subject: Subject,
        /// The number of bytes the content should have had.
        expected: u64,
        /// The number of bytes actually fed.
        actual: u64,
    },
}

/// Why a string is not a valid sha256 OCI digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidDigestReason {
    /// There is no `algorithm:` prefix at all.
    MissingAlgorithm,
    /// The algorithm is not `sha256` (only sha256 is used by eStargz; the match is
    /// case-sensitive, as in go-digest).
    UnsupportedAlgorithm,
    /// The hex part does not have exactly 64 characters.
    WrongLength {
        /// The length of the hex part, in bytes.
        len: usize,
    },
    /// An uppercase hex digit (`A`-`F`), which go-digest rejects.
    UppercaseHex {
        /// The byte position in the hex part.
        position: usize,
    },
    /// A byte that is not a hex digit.
    NotHex {
        /// The byte position in the hex part.
        position: usize,
    },
}

impl fmt::Display for InvalidDigestReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingAlgorithm => f.write_str("missing \"sha256:\" prefix"),
            Self::UnsupportedAlgorithm => f.write_str("unsupported algorithm (only sha256)"),
            Self::WrongLength { len } => {
                write!(f, "expected 64 hex digits after \"sha256:\", found {len}")
            }
            Self::UppercaseHex { position } => {
                write!(
                    f,
                    "uppercase hex digit at position {position} (must be lowercase)"
                )
            }
            Self::NotHex { position } => write!(f, "non-hex character at position {position}"),
        }
    }
}

/// What a verifier was checking, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// One chunk of a regular file (`chunkDigest` in the TOC).
    Chunk,
    /// A whole regular file (`digest` in the TOC).
    File,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Chunk => "chunk",
            Self::File => "file",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let err = Error::InvalidDigest {
            input: "md5:00".to_owned(),
            reason: InvalidDigestReason::UnsupportedAlgorithm,
        };
        assert_eq!(
            err.to_string(),
            "invalid digest \"md5:00\": unsupported algorithm (only sha256)"
        );
        let err = Error::SizeMismatch {
            subject: Subject::Chunk,
            expected: 3,
            actual: 4,
        };
        assert_eq!(
            err.to_string(),
            "chunk size mismatch: expected 3 bytes, got 4"
        );
    }
}
