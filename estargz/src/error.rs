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

    /// The blob's footer says its TOC is stored in a separate blob (the external-TOC
    /// eStargz variant), and no TOC blob was given: open it with
    /// [`Reader::open_with_external_toc`](crate::reader::Reader::open_with_external_toc)
    /// or [`load_external_toc`](crate::reader::load_external_toc).
    #[error(
        "the blob's footer says its TOC is stored in a separate blob (external TOC); \
         give that TOC blob to read it"
    )]
    TocIsExternal,

    /// A separate TOC blob was given, but the blob's footer points at a TOC stored in the
    /// blob itself.
    #[error(
        "a separate TOC blob was given, but the blob's {footer} footer points at a TOC in the blob"
    )]
    TocIsEmbedded {
        /// The blob's footer layout.
        footer: estargz_toc::FooterKind,
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
        /// Which limit: the option that sets it, or the bound of the format or platform.
        limit: LimitKind,
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
    /// Wraps an I/O error with what was being done; an error of ours that travelled
    /// through an `io::Read` (a limit of [`MultiMemberDecoder`](crate::gzip::MultiMemberDecoder))
    /// comes back as itself.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        match source.downcast::<Self>() {
            Ok(e) => e,
            Err(source) => Self::Io {
                context: context.into(),
                source,
            },
        }
    }
}

/// Names the limit an [`Error::LimitExceeded`] or a
/// [`TarError::LimitExceeded`](crate::tar::TarError::LimitExceeded) reports: the option that
/// sets it, or the bound of the format or the platform. Its `Display` names the option and
/// what it bounds.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum LimitKind {
    /// [`TarLimits::max_pax_size`](crate::tar::TarLimits::max_pax_size).
    PaxSize,
    /// [`TarLimits::max_long_name_size`](crate::tar::TarLimits::max_long_name_size).
    LongNameSize,
    /// [`TarLimits::max_sparse_entries`](crate::tar::TarLimits::max_sparse_entries).
    SparseEntries,
    /// [`TarLimits::max_sparse_size`](crate::tar::TarLimits::max_sparse_size).
    SparseSize,
    /// [`TarLimits::max_xattr_size`](crate::tar::TarLimits::max_xattr_size).
    XattrSize,
    /// [`TarLimits::max_entries`](crate::tar::TarLimits::max_entries).
    TarEntries,
    /// [`TarLimits::max_gzip_members`](crate::tar::TarLimits::max_gzip_members).
    GzipMembers,
    /// The `limit` argument of [`gzip::decode_member`](crate::gzip::decode_member) or
    /// `zstd::decode_frame`: decompressed bytes of one gzip member or zstd frame.
    MemberBytes,
    /// [`ReaderOptions::max_chunk_bytes`](crate::reader::ReaderOptions::max_chunk_bytes).
    ChunkBytes,
    /// [`ReaderOptions::max_fetch_bytes`](crate::reader::ReaderOptions::max_fetch_bytes).
    FetchBytes,
    /// [`ReaderOptions::max_read_to_vec_bytes`](crate::reader::ReaderOptions::max_read_to_vec_bytes).
    ReadToVecBytes,
    /// [`ReaderOptions::header_slack`](crate::reader::ReaderOptions::header_slack).
    HeaderSlack,
    /// What this platform can address (`usize::MAX`): a size from the input that cannot
    /// be held in memory at all.
    AddressSpace,
    /// The 4 GiB a zstd skippable frame can hold (the zstd:chunked TOC's frame).
    SkippableFrame,
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PaxSize => "TarLimits::max_pax_size (bytes of a PAX extended header)",
            Self::LongNameSize => "TarLimits::max_long_name_size (bytes of a GNU long name)",
            Self::SparseEntries => "TarLimits::max_sparse_entries (entries of a sparse map)",
            Self::SparseSize => "TarLimits::max_sparse_size (real size of a sparse file)",
            Self::XattrSize => "TarLimits::max_xattr_size (xattr bytes of one entry)",
            Self::TarEntries => "TarLimits::max_entries (entries of a tar archive)",
            Self::GzipMembers => "TarLimits::max_gzip_members (gzip members of the input)",
            Self::MemberBytes => "decompressed bytes of one member (the decode limit)",
            Self::ChunkBytes => "ReaderOptions::max_chunk_bytes (uncompressed bytes of one chunk)",
            Self::FetchBytes => {
                "ReaderOptions::max_fetch_bytes (compressed bytes fetched in one range)"
            }
            Self::ReadToVecBytes => {
                "ReaderOptions::max_read_to_vec_bytes (bytes of a file read into memory)"
            }
            Self::HeaderSlack => {
                "ReaderOptions::header_slack (decompressed bytes between chunks of a member run)"
            }
            Self::AddressSpace => "the address space (a size that cannot fit in memory)",
            Self::SkippableFrame => "the 4 GiB a zstd skippable frame holds",
        })
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
