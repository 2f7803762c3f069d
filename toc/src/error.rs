//! The crate's one error type.

use crate::footer::FooterKind;
use crate::limits::LimitKind;

/// Everything that can go wrong while reading or writing a table of contents or a footer.
///
/// Variants are grouped by who must act: the input is malformed ([`Error::FooterNotFound`],
/// [`Error::InvalidFooter`], [`Error::Json`], [`Error::InvalidEntry`],
/// [`Error::HardlinkTarget`]), a configured limit was exceeded ([`Error::LimitExceeded`]),
/// or the caller passed something invalid ([`Error::InvalidArgument`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No footer variant matched the tail of the blob. Holds one reason per variant tried,
    /// in the order they were tried.
    #[error("no eStargz footer found: {}", join_mismatches(.0))]
    FooterNotFound(Vec<FooterMismatch>),

    /// A footer was recognised, but a field in it is invalid (for example its TOC offset
    /// points past the end of the blob or into the footer itself).
    #[error("{kind} footer: {reason}")]
    InvalidFooter {
        /// Which footer layout was recognised.
        kind: FooterKind,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The TOC JSON is malformed.
    #[error("TOC JSON at byte {offset}: {reason}")]
    Json {
        /// Byte offset in the JSON text where the problem was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// A TOC entry is well-formed JSON but violates the format (a negative size, a chunk
    /// entry with no file before it, overlapping chunks, ...).
    #[error("TOC entry {index} ({name:?}): {reason}")]
    InvalidEntry {
        /// Position of the entry in the TOC's `entries` array.
        index: usize,
        /// The entry's name as written in the TOC (lossily decoded for display).
        name: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// A hardlink's target is not in the TOC, or hardlinks form a cycle.
    #[error("hardlink {name:?} -> {target:?}: {reason}")]
    HardlinkTarget {
        /// The hardlink's cleaned name.
        name: String,
        /// The link target as written.
        target: String,
        /// What is wrong (`"target not found"`, `"cycle"`, ...).
        reason: &'static str,
    },

    /// Input exceeded one of the configured [`Limits`](crate::Limits).
    #[error("limit exceeded: {limit} is {actual}, the maximum is {max}")]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// The value found in the input (or a lower bound of it).
        actual: u64,
        /// The configured maximum.
        max: u64,
    },

    /// The caller passed an argument that can never be valid.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// Why one footer variant did not match the tail of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterMismatch {
    /// The variant that was tried.
    pub kind: FooterKind,
    /// Why it did not match.
    pub reason: &'static str,
}

fn join_mismatches(mismatches: &[FooterMismatch]) -> String {
    let parts: Vec<String> = mismatches
        .iter()
        .map(|m| format!("{}: {}", m.kind, m.reason))
        .collect();
    parts.join("; ")
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
