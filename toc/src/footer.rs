//! Footers: the fixed-size tail of a blob that says where the table of contents is.

use std::fmt;

/// The footer layouts this crate recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FooterKind {
    /// eStargz: a 51-byte empty gzip member whose `SG` extra subfield holds the TOC offset.
    Estargz,
    /// Legacy stargz (google/crfs): a 47-byte empty gzip member with a bare 22-byte extra.
    LegacyStargz,
    /// eStargz with the TOC in a separate blob: a 46-byte empty gzip member.
    ExternalToc,
    /// zstd:chunked as the reference writes it: a 40-byte payload (magic `GnUlInUx`) in a
    /// zstd skippable frame.
    ZstdChunkedV1,
    /// zstd:chunked as current containers/storage writes it: a 64-byte payload (magic
    /// `GNUlInUx`) in a zstd skippable frame.
    ZstdChunkedV2,
}

impl fmt::Display for FooterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Estargz => "eStargz",
            Self::LegacyStargz => "legacy stargz",
            Self::ExternalToc => "external-TOC eStargz",
            Self::ZstdChunkedV1 => "zstd:chunked (v1)",
            Self::ZstdChunkedV2 => "zstd:chunked (v2)",
        })
    }
}
