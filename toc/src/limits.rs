//! Limits on untrusted input, with safe defaults.

use std::fmt;

/// Bounds on what a table of contents may contain. Exceeding one is
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded), never an allocation failure.
///
/// The defaults accept every real layer we know of (the largest TOCs seen in the wild are a
/// few tens of MiB with a few hundred thousand entries). Memory stays bounded: a parsed entry
/// costs about 300 bytes however little JSON it took, so the worst case is about
/// [`Limits::max_entries`] × 300 bytes (about 1.2 GiB with the defaults, for a TOC of
/// millions of empty objects); lower `max_entries` where that is too much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest uncompressed TOC JSON accepted, in bytes. Default 150 MiB (the value
    /// containers/storage settled on).
    pub max_toc_bytes: u64,
    /// Largest number of entries (files, directories, links and chunks) in a TOC.
    /// Default 4 194 304.
    pub max_entries: u64,
    /// Longest name or link name accepted, in bytes. Default 64 KiB.
    pub max_name_bytes: u64,
    /// Largest total size of one entry's extended attributes (keys and decoded values), in
    /// bytes. Default 1 MiB.
    pub max_xattr_bytes: u64,
    /// Deepest nesting of JSON arrays and objects accepted (unknown fields may nest).
    /// Default 64.
    pub max_json_depth: u64,
    /// Largest total size, in bytes, of the paths of the directories an index creates
    /// implicitly for parents that have no entry of their own. A name with many components
    /// creates one directory per component, so without this bound a small TOC could make
    /// an index allocate quadratically. Default 256 MiB.
    pub max_implicit_dir_bytes: u64,
}

impl Limits {
    /// The default limits (see each field).
    pub const DEFAULT: Self = Self {
        max_toc_bytes: 150 << 20,
        max_entries: 4 << 20,
        max_name_bytes: 64 << 10,
        max_xattr_bytes: 1 << 20,
        max_json_depth: 64,
        max_implicit_dir_bytes: 256 << 20,
    };

    /// Returns an error if `actual` exceeds `max` for the limit `kind`.
    pub(crate) fn check(kind: LimitKind, actual: u64, max: u64) -> crate::Result<()> {
        if actual > max {
            return Err(crate::Error::LimitExceeded {
                limit: kind,
                actual,
                max,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Names one of the [`Limits`], for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// [`Limits::max_toc_bytes`].
    TocBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::max_name_bytes`].
    NameBytes,
    /// [`Limits::max_xattr_bytes`].
    XattrBytes,
    /// [`Limits::max_json_depth`].
    JsonDepth,
    /// [`Limits::max_implicit_dir_bytes`].
    ImplicitDirBytes,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TocBytes => "TOC size in bytes",
            Self::Entries => "number of TOC entries",
            Self::NameBytes => "name length in bytes",
            Self::XattrBytes => "extended attribute bytes of one entry",
            Self::JsonDepth => "JSON nesting depth",
            Self::ImplicitDirBytes => "bytes of implicit directory paths",
        })
    }
}
