//! The crate's one error type.

use std::io;

/// Everything that can go wrong while reading or writing an eStargz blob.
///
/// Variants are grouped by who must act: the source failed ([`Error::Io`]); the blob is
/// malformed ([`Error::Toc`], [`Error::Tar`], [`Error::Decompress`],
/// [`Error::TocMember`]); its bytes do
/// not match their digests ([`Error::DigestMismatch`]); it exceeds a configured limit
/// ([`Error::LimitExceeded`]); or the caller asked for something impossible
/// ([`Error::InvalidArgument`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, including the offset or path where it applies.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The footer or table of contents is malformed.
    #[error(transparent)]
    Toc(#[from] estargz_toc::Error),

    /// A tar stream (the input of the encoder, or a TOC member) is malformed.
    #[error(transparent)]
    Tar(#[from] crate::tar::TarError),

    /// Compressed data in the blob could not be decompressed.
    #[error("compressed data at blob offset {offset}: {reason}")]
    Decompress {
        /// Blob offset of the member (or range) being decompressed.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// The member that should hold the TOC does not (wrong tar entry name, missing header,
    /// truncated JSON).
    #[error("TOC member at blob offset {offset}: {reason}")]
    TocMember {
        /// Blob offset of the TOC member.
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// Bytes do not match the digest recorded for them.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was checked: `"TOC"`, or an entry name with the chunk's offset.
        what: String,
        /// The recorded or expected digest.
        expected: String,
        /// The digest of the bytes actually read.
        actual: String,
    },

    /// Input exceeded one of the configured limits.
    #[error("limit exceeded: {limit} is {actual}, the maximum is {max}")]
    LimitExceeded {
        /// Which limit.
        limit: &'static str,
        /// The value found in the input (or a lower bound of it).
        actual: u64,
        /// The configured maximum.
        max: u64,
    },

    /// The caller passed an argument that can never be valid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// No entry has this path in the blob's TOC.
    #[error("{path:?}: no such entry in the TOC")]
    NotFound {
        /// The path asked for, as given.
        path: String,
    },

    /// The entry exists but is not a regular file (after hardlink resolution), so it has no
    /// content to read.
    #[error("{path:?}: not a regular file (type {kind})")]
    NotRegularFile {
        /// The cleaned path.
        path: String,
        /// The entry's TOC type.
        kind: String,
    },

    /// A digest recorded in the TOC for an entry is not a valid `sha256:<hex>` digest.
    #[error("{what}: invalid digest in the TOC: {source}")]
    InvalidDigest {
        /// Which entry, and which of its digests.
        what: String,
        /// Why the digest is invalid.
        #[source]
        source: estargz_verifier::Error,
    },

    /// Content cannot be verified because the TOC records no digest that covers it (for
    /// example a range of a chunked legacy stargz file, which has no `chunkDigest`), and
    /// verification was not turned off.
    #[error("{what}: cannot be verified: {reason}")]
    Unverifiable {
        /// Which entry and range.
        what: String,
        /// Why.
        reason: &'static str,
    },

    /// The TOC's chunks do not fit together in the blob (chunks that share a member
    /// overlap, or member runs are out of order or overlap).
    #[error("TOC entry {entry} ({path:?}): {reason}")]
    InvalidLayout {
        /// Position of the entry in the TOC.
        entry: usize,
        /// The entry's cleaned path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// An entry cannot be extracted to a directory safely or at all (extraction): an
    /// unsupported type, a uid or gid out of range, a name that cannot be a file name, a
    /// parent on disk that is not a directory (for example a symlink put there while
    /// extracting), or a hardlink whose target was not extracted.
    #[error("{path:?}: cannot extract: {reason}")]
    Extract {
        /// The entry's cleaned path.
        path: String,
        /// Why.
        reason: String,
    },

    /// The blob's tar stream does not match its TOC: a tar header the TOC does not list or
    /// lists differently, a TOC entry without its tar header, or file content outside the
    /// chunks the TOC records. (Tar headers are covered by no digest, so this is how a
    /// blob that would unpack to something other than its verified TOC is caught.)
    #[error("tar stream in the compressed data at blob offset {blob_offset}: {what}: {reason}")]
    TarMismatch {
        /// Blob offset of the compressed member (or member run) holding the bytes.
        blob_offset: u64,
        /// The tar entry (by its header's name) or TOC entry concerned.
        what: String,
        /// What differs.
        reason: String,
    },

    /// The operation needs a crate feature this build lacks (for example zstd:chunked
    /// without the `zstd` feature).
    #[error("{what} needs the crate feature `{feature}`, which this build lacks")]
    FeatureDisabled {
        /// The feature.
        feature: &'static str,
        /// What was asked for.
        what: String,
    },

    /// The deflate backend failed while compressing (encoder).
    #[error("compression failed: {reason}")]
    Compress {
        /// What the backend reported.
        reason: String,
    },

    /// The encoder's input cannot be converted (for example zstd-compressed input, or a tar
    /// entry of a type eStargz cannot hold).
    #[error("unsupported input: {reason}")]
    UnsupportedInput {
        /// What is unsupported, naming the entry or offset.
        reason: String,
    },

    /// Ordering the encoder's entries failed (a prioritized file was not found, or
    /// prioritized hardlinks form a cycle).
    #[error(transparent)]
    Order(#[from] estargz_chunker::Error),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
