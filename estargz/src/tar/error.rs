//! The error type of the tar codec.

/// Everything that can go wrong while parsing or encoding tar headers.
///
/// Parse errors carry the offset, in the uncompressed tar stream, of the block or byte
/// where the problem was found. Encode errors carry the entry name (lossily converted to
/// UTF-8 for display).
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TarError {
    /// The stream ended inside a header, an extension payload or the end-of-archive marker.
    #[error("tar stream truncated at offset {offset}")]
    Truncated {
        /// Offset of the first missing byte.
        offset: u64,
    },
    /// The header checksum does not match the header bytes (neither the unsigned nor the
    /// signed sum), or the checksum field is not octal.
    #[error("bad tar header checksum in the block at offset {offset}")]
    BadChecksum {
        /// Offset of the header block.
        offset: u64,
    },
    /// A numeric header field is neither valid octal nor valid base-256.
    #[error("invalid numeric field `{field}` in the tar header at offset {offset}")]
    BadNumber {
        /// Offset of the header block.
        offset: u64,
        /// Name of the field (`size`, `mode`, `uid`, ...).
        field: &'static str,
    },
    /// A size is negative.
    #[error("negative size {size} in the tar header at offset {offset}")]
    NegativeSize {
        /// Offset of the header block.
        offset: u64,
        /// The size that was read.
        size: i64,
    },
    /// An offset or size computation overflowed.
    #[error("tar sizes overflow at offset {offset}")]
    SizeOverflow {
        /// Offset of the header block.
        offset: u64,
    },
    /// A zero block was followed by a non-zero block.
    #[error("non-zero block after a zero block at offset {offset}")]
    BadEndOfArchive {
        /// Offset of the non-zero block.
        offset: u64,
    },
    /// A PAX extended header is malformed.
    #[error("invalid PAX record in the extended header at offset {offset}: {reason}")]
    BadPaxRecord {
        /// Offset of the extended header block.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A well-formed PAX record has a value that cannot be parsed (e.g. `uid=abc`).
    #[error("invalid value for PAX record `{key}` applying to the header at offset {offset}")]
    BadPaxValue {
        /// Offset of the header block the record applies to.
        offset: u64,
        /// The record key (lossily converted to UTF-8).
        key: String,
    },
    /// A sparse map (old GNU or PAX) is malformed or inconsistent with the size.
    #[error("invalid sparse map for the tar header at offset {offset}: {reason}")]
    BadSparseMap {
        /// Offset of the header block.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A configured limit ([`TarLimits`](super::TarLimits)) was exceeded.
    #[error("tar limit `{limit}` exceeded at offset {offset}: {value} > {max}")]
    LimitExceeded {
        /// Offset of the header block.
        offset: u64,
        /// Which limit.
        limit: crate::error::LimitKind,
        /// The value found.
        value: u64,
        /// The configured maximum.
        max: u64,
    },
    /// A header cannot be encoded in any tar format (Go's `WriteHeader` would fail too).
    #[error("cannot encode tar header for {name:?}: {reason}")]
    Unencodable {
        /// The entry name (lossily converted to UTF-8).
        name: String,
        /// Why.
        reason: &'static str,
    },
}
