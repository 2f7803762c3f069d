//! Footers: the fixed-size tail of a blob that says where the table of contents is.
//!
//! Five layouts exist, one submodule each, each with `SIZE`, `parse` and `emit`:
//!
//! | [`FooterKind`] | module | bytes | says |
//! | --- | --- | --- | --- |
//! | [`Estargz`](FooterKind::Estargz) | [`estargz`] | 51 | TOC offset (hex, in a gzip `SG` Extra subfield) |
//! | [`LegacyStargz`](FooterKind::LegacyStargz) | [`legacy`] | 47 | TOC offset (hex, bare gzip Extra) |
//! | [`ExternalToc`](FooterKind::ExternalToc) | [`external_toc`] | 46 | the TOC is in another blob |
//! | [`ZstdChunkedV1`](FooterKind::ZstdChunkedV1) | [`zstd_v1`] | 48 | TOC offset, lengths, manifest type |
//! | [`ZstdChunkedV2`](FooterKind::ZstdChunkedV2) | [`zstd_v2`] | 72 | the same plus the tar-split position |
//!
//! [`Footer`] is what a footer says, whatever its layout. [`detect`] finds the footer in the
//! last [`tail_len`] bytes of a blob and checks it against the blob size;
//! [`Footer::toc_range`] then says which bytes of the blob to read for the TOC.
//!
//! # Detection order
//!
//! [`DETECTION_ORDER`] is eStargz, legacy stargz, zstd:chunked v1, zstd:chunked v2,
//! external TOC; the first layout that parses *and* whose positions fit the blob wins.
//!
//! - eStargz then legacy first, as the reference reader does (it always tries its two gzip
//!   layouts before any others).
//! - The zstd:chunked layouts next: each is recognised by an 8-byte magic plus an 8-byte
//!   skippable-frame header, and its positions are checked against the blob size.
//! - External TOC last: it carries no position, so a match cannot be cross-checked against
//!   the blob; it should win only when nothing that can be checked did.
//!
//! For footers any real writer produces the layouts are disjoint, so the order never
//! changes the answer: the 51- and 47-byte windows over every other layout hit fixed bytes
//! that fail the gzip magic or the Extra checks (a zero `XLEN`, a flag byte without
//! `FEXTRA`); the gzip layouts end in eight zero bytes where the zstd ones need their magic;
//! and the two zstd magics differ (`GnUlInUx`, `GNUlInUx`). The order only decides between
//! crafted tails, and then it prefers the evidence that could be checked.
//!
//! # Deviations from the reference reader
//!
//! All deliberate, all stricter, none rejecting anything a real writer produces:
//!
//! - Nothing panics: a missing or short gzip Extra field is an error (Go 0.12.0 panics).
//! - The hex offset is read like Go's `strconv.ParseInt(s, 16, 64)`: upper- and lowercase
//!   digits and a leading `+` are accepted, as Go does; a negative offset is rejected (Go
//!   returns it and later fails), except `-000000000000000`, which is zero to Go too.
//! - zstd:chunked: the skippable-frame header before the payload must be present with the
//!   right length, the TOC offset must leave room for the TOC's own frame header, and the
//!   TOC length must not be zero (Go checks only the magic).
//! - Positions must fit the blob: a TOC must start before the footer and end at or before
//!   it (Go finds out only when reading the TOC fails).
//!
//! # Example
//!
//! ```
//! use estargz_toc::footer::{self, Footer, FooterKind};
//!
//! // A fake blob: 0x2b36 bytes of payload, a 100-byte TOC, then the footer.
//! let mut blob = vec![0u8; 0x2b36 + 100];
//! blob.extend_from_slice(&Footer::estargz(0x2b36)?.to_bytes());
//! let blob_size = blob.len() as u64;
//!
//! // A reader fetches the tail once ...
//! let tail_len = footer::tail_len(blob_size) as usize;
//! let tail = &blob[blob.len() - tail_len..];
//!
//! // ... detects the footer, and learns which bytes hold the TOC.
//! let found = footer::detect(tail, blob_size)?;
//! assert_eq!(found.kind(), FooterKind::Estargz);
//! assert_eq!(found.toc_offset(), Some(0x2b36));
//! assert_eq!(found.toc_len(), Some(100));
//! assert_eq!(found.toc_range(blob_size)?, Some(0x2b36..0x2b36 + 100));
//! # Ok::<(), estargz_toc::Error>(())
//! ```

use std::fmt;
use std::ops::Range;

use crate::error::{Error, FooterMismatch, Result};

pub mod estargz;
pub mod external_toc;
mod gzip;
pub mod legacy;
mod zstd;
pub mod zstd_v1;
pub mod zstd_v2;

/// Size of the largest footer layout (zstd:chunked v2, 72 bytes). [`detect`] needs the last
/// `min(blob size, MAX_FOOTER_SIZE)` bytes of a blob; see [`tail_len`].
pub const MAX_FOOTER_SIZE: usize = zstd_v2::SIZE;

/// Size of the smallest footer layout (external TOC, 46 bytes). A shorter blob has no
/// footer.
pub const MIN_FOOTER_SIZE: usize = external_toc::SIZE;

/// The order in which [`detect`] tries the layouts (see the [module docs](self) for why).
pub const DETECTION_ORDER: [FooterKind; 5] = [
    FooterKind::Estargz,
    FooterKind::LegacyStargz,
    FooterKind::ZstdChunkedV1,
    FooterKind::ZstdChunkedV2,
    FooterKind::ExternalToc,
];

/// How many bytes at the end of a blob of `blob_size` bytes [`detect`] needs:
/// `min(blob_size, MAX_FOOTER_SIZE)`.
///
/// # Examples
///
/// ```
/// use estargz_toc::footer;
///
/// assert_eq!(footer::tail_len(1 << 20), 72);
/// assert_eq!(footer::tail_len(50), 50);
/// ```
pub fn tail_len(blob_size: u64) -> u64 {
    blob_size.min(u64::try_from(MAX_FOOTER_SIZE).unwrap_or(u64::MAX))
}

/// How many bytes at the end of a blob to fetch in the first read.
///
/// Without a hint this is [`tail_len`]. With a hint of where the TOC starts (for example
/// from an annotation, like the reference's `WithTOCOffset`), it is everything from the
/// hint to the end if that is more, so that footer and TOC arrive in one request; pass the
/// whole read to [`detect`] and take the TOC bytes from it.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if the hint is beyond the end of the blob.
///
/// # Examples
///
/// ```
/// use estargz_toc::footer;
///
/// assert_eq!(footer::first_read_len(1 << 20, None)?, 72);
/// assert_eq!(footer::first_read_len(1 << 20, Some((1 << 20) - 4096))?, 4096);
/// assert_eq!(footer::first_read_len(1 << 20, Some((1 << 20) - 10))?, 72);
/// assert!(footer::first_read_len(100, Some(101)).is_err());
/// # Ok::<(), estargz_toc::Error>(())
/// ```
pub fn first_read_len(blob_size: u64, toc_offset_hint: Option<u64>) -> Result<u64> {
    let tail = tail_len(blob_size);
    let Some(hint) = toc_offset_hint else {
        return Ok(tail);
    };
    let from_hint = blob_size.checked_sub(hint).ok_or(Error::InvalidArgument(
        "the TOC offset hint is beyond the end of the blob",
    ))?;
    Ok(tail.max(from_hint))
}

/// Finds the footer at the end of a blob of `blob_size` bytes, given its `tail`.
///
/// `tail` must be the last bytes of the blob, at least [`tail_len`]`(blob_size)` of them
/// (more is fine: only the end is looked at). The layouts are tried in
/// [`DETECTION_ORDER`]; the first whose footer parses and whose positions fit the blob (a
/// TOC starting before the footer and ending at or before it; a tar-split likewise) is
/// returned, resolved against `blob_size` (see [`Footer::resolve`]).
///
/// # Errors
///
/// - [`Error::FooterNotFound`] with one reason per layout, in the order tried, if none
///   matches (including a blob too short for any footer, or a footer whose TOC offset
///   points past the end).
/// - [`Error::InvalidArgument`] if `tail` is longer than the blob or shorter than
///   [`tail_len`]`(blob_size)`.
pub fn detect(tail: &[u8], blob_size: u64) -> Result<Footer> {
    const LONGER: &str = "the tail is longer than the blob";
    let have = u64::try_from(tail.len()).map_err(|_| Error::InvalidArgument(LONGER))?;
    if have > blob_size {
        return Err(Error::InvalidArgument(LONGER));
    }
    if have < tail_len(blob_size) {
        return Err(Error::InvalidArgument(
            "the tail is shorter than footer::tail_len(blob size)",
        ));
    }
    let mut mismatches = Vec::with_capacity(DETECTION_ORDER.len());
    for kind in DETECTION_ORDER {
        let found = tail
            .len()
            .checked_sub(kind.size())
            .and_then(|start| tail.get(start..))
            .ok_or(BLOB_TOO_SHORT)
            .and_then(|bytes| Footer::parse_raw(kind, bytes))
            .and_then(|footer| footer.check_against(blob_size));
        match found {
            Ok(footer) => return Ok(footer),
            Err(reason) => mismatches.push(FooterMismatch { kind, reason }),
        }
    }
    Err(Error::FooterNotFound(mismatches))
}

/// Reason for a blob smaller than the footer being tried.
const BLOB_TOO_SHORT: &str = "the blob is shorter than this footer";

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

impl FooterKind {
    /// Size of this layout's footer on disk, in bytes (zstd:chunked: skippable-frame header
    /// included, so 48 and 72).
    pub const fn size(self) -> usize {
        match self {
            Self::Estargz => estargz::SIZE,
            Self::LegacyStargz => legacy::SIZE,
            Self::ExternalToc => external_toc::SIZE,
            Self::ZstdChunkedV1 => zstd_v1::SIZE,
            Self::ZstdChunkedV2 => zstd_v2::SIZE,
        }
    }

    /// A stable, machine-readable name: `estargz`, `legacy-stargz`, `external-toc`,
    /// `zstd-chunked-v1` or `zstd-chunked-v2` (the [`Display`](fmt::Display) form is for
    /// people).
    pub const fn short_name(self) -> &'static str {
        match self {
            Self::Estargz => "estargz",
            Self::LegacyStargz => "legacy-stargz",
            Self::ExternalToc => "external-toc",
            Self::ZstdChunkedV1 => "zstd-chunked-v1",
            Self::ZstdChunkedV2 => "zstd-chunked-v2",
        }
    }
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

/// Where a zstd:chunked footer says the TOC is (the fields of the
/// `manifest-position` annotation).
///
/// Rules, checked when a footer is built or parsed: `offset >= 8` (the TOC's own
/// skippable-frame header sits just before it), `len > 0` (a zstd frame is never empty),
/// and `offset + len` fits in a `u64`. `uncompressed_len` and `manifest_type` are kept as
/// they are (the reference ignores both; the only manifest type defined is 1, CRFS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ZstdTocPosition {
    /// Offset in the blob of the compressed TOC (the zstd frame inside the skippable frame).
    pub offset: u64,
    /// Length of the compressed TOC, in bytes.
    pub len: u64,
    /// Length of the TOC JSON once decompressed, in bytes.
    pub uncompressed_len: u64,
    /// Manifest type; 1 ("CRFS") is the only one defined.
    pub manifest_type: u64,
}

/// Where a zstd:chunked v2 footer says the tar-split data is.
///
/// Rules: `offset >= 8`, `offset + len` fits in a `u64`, and the tar-split's skippable frame
/// (header included) does not overlap the TOC's. All-zero fields on disk mean "none" and
/// are read as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TarSplitPosition {
    /// Offset in the blob of the compressed tar-split data.
    pub offset: u64,
    /// Length of the compressed tar-split data, in bytes.
    pub len: u64,
    /// Length of the tar-split data once decompressed, in bytes.
    pub uncompressed_len: u64,
}

/// What a footer says, whatever its layout.
///
/// Build one with a constructor ([`Footer::estargz`], ...), parse one from its bytes with
/// [`Footer::parse`], or find one in a blob's tail with [`detect`]. Every `Footer` obeys its
/// layout's rules, so [`Footer::to_bytes`] always succeeds and parses back to an equal
/// value.
///
/// The gzip layouts do not store the TOC's length: the TOC runs up to the footer, so its
/// length follows from the blob size. A footer from [`detect`] or [`Footer::resolve`] knows
/// it; one from [`Footer::parse`] or a constructor does not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Footer {
    layout: Layout,
}

/// The layout-specific contents of a [`Footer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Layout {
    /// `toc_offset <= i64::MAX`; `toc_len` once resolved against a blob size.
    Estargz {
        toc_offset: u64,
        toc_len: Option<u64>,
    },
    /// As `Estargz`.
    LegacyStargz {
        toc_offset: u64,
        toc_len: Option<u64>,
    },
    /// No position at all.
    ExternalToc,
    /// `toc` obeys [`zstd::check_toc`].
    ZstdChunkedV1 { toc: ZstdTocPosition },
    /// `toc` obeys [`zstd::check_toc`], `tar_split` [`zstd::check_tar_split`].
    ZstdChunkedV2 {
        toc: ZstdTocPosition,
        tar_split: Option<TarSplitPosition>,
    },
}

impl Footer {
    /// An eStargz footer for a TOC starting at `toc_offset`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `toc_offset` exceeds `i64::MAX` (the reference stores
    /// a Go `int64`).
    pub fn estargz(toc_offset: u64) -> Result<Self> {
        estargz::emit(toc_offset)?;
        Ok(Self::new(Layout::Estargz {
            toc_offset,
            toc_len: None,
        }))
    }

    /// A legacy stargz footer for a TOC starting at `toc_offset`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `toc_offset` exceeds `i64::MAX`.
    pub fn legacy_stargz(toc_offset: u64) -> Result<Self> {
        legacy::emit(toc_offset)?;
        Ok(Self::new(Layout::LegacyStargz {
            toc_offset,
            toc_len: None,
        }))
    }

    /// An external-TOC footer (the TOC is in a separate blob).
    pub fn external_toc() -> Self {
        Self::new(Layout::ExternalToc)
    }

    /// A zstd:chunked v1 footer for a TOC at `toc`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `toc` breaks a rule listed on [`ZstdTocPosition`].
    pub fn zstd_chunked_v1(toc: ZstdTocPosition) -> Result<Self> {
        zstd::check_toc(&toc).map_err(Error::InvalidArgument)?;
        Ok(Self::new(Layout::ZstdChunkedV1 { toc }))
    }

    /// A zstd:chunked v2 footer for a TOC at `toc` and tar-split data at `tar_split`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if a position breaks a rule listed on
    /// [`ZstdTocPosition`] or [`TarSplitPosition`].
    pub fn zstd_chunked_v2(
        toc: ZstdTocPosition,
        tar_split: Option<TarSplitPosition>,
    ) -> Result<Self> {
        zstd::check_toc(&toc).map_err(Error::InvalidArgument)?;
        if let Some(tar_split) = &tar_split {
            zstd::check_tar_split(tar_split, &toc).map_err(Error::InvalidArgument)?;
        }
        Ok(Self::new(Layout::ZstdChunkedV2 { toc, tar_split }))
    }

    /// Parses `bytes`, which must be exactly one footer of layout `kind`
    /// ([`FooterKind::size`] bytes), following the rules in that layout's module.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFooter`] naming the first rule that failed (a wrong length
    /// included).
    ///
    /// # Examples
    ///
    /// ```
    /// use estargz_toc::{Error, Footer, FooterKind};
    ///
    /// let bytes = Footer::legacy_stargz(7)?.to_bytes();
    /// assert_eq!(Footer::parse(FooterKind::LegacyStargz, &bytes)?.toc_offset(), Some(7));
    /// assert!(matches!(
    ///     Footer::parse(FooterKind::Estargz, &bytes),
    ///     Err(Error::InvalidFooter { kind: FooterKind::Estargz, .. })
    /// ));
    /// # Ok::<(), estargz_toc::Error>(())
    /// ```
    pub fn parse(kind: FooterKind, bytes: &[u8]) -> Result<Self> {
        Self::parse_raw(kind, bytes).map_err(|reason| Error::InvalidFooter { kind, reason })
    }

    /// Which layout this footer has.
    pub fn kind(&self) -> FooterKind {
        match self.layout {
            Layout::Estargz { .. } => FooterKind::Estargz,
            Layout::LegacyStargz { .. } => FooterKind::LegacyStargz,
            Layout::ExternalToc => FooterKind::ExternalToc,
            Layout::ZstdChunkedV1 { .. } => FooterKind::ZstdChunkedV1,
            Layout::ZstdChunkedV2 { .. } => FooterKind::ZstdChunkedV2,
        }
    }

    /// Size of this footer on disk, in bytes (the same as `self.kind().size()`).
    pub fn size(&self) -> usize {
        self.kind().size()
    }

    /// Offset in the blob of the (compressed) TOC; `None` for an external TOC.
    ///
    /// For gzip layouts this is where the TOC's gzip member starts; for zstd:chunked, where
    /// the TOC's zstd frame starts, just past its 8-byte skippable-frame header.
    pub fn toc_offset(&self) -> Option<u64> {
        match self.layout {
            Layout::Estargz { toc_offset, .. } | Layout::LegacyStargz { toc_offset, .. } => {
                Some(toc_offset)
            }
            Layout::ExternalToc => None,
            Layout::ZstdChunkedV1 { toc } | Layout::ZstdChunkedV2 { toc, .. } => Some(toc.offset),
        }
    }

    /// Length of the stored (compressed) TOC in bytes, when known: zstd:chunked footers say
    /// it; for the gzip layouts it is `blob size - TOC offset - footer size`, known once the
    /// footer has been resolved against a blob size ([`detect`], [`Footer::resolve`]).
    /// `None` for an external TOC.
    pub fn toc_len(&self) -> Option<u64> {
        match self.layout {
            Layout::Estargz { toc_len, .. } | Layout::LegacyStargz { toc_len, .. } => toc_len,
            Layout::ExternalToc => None,
            Layout::ZstdChunkedV1 { toc } | Layout::ZstdChunkedV2 { toc, .. } => Some(toc.len),
        }
    }

    /// Length of the TOC JSON once decompressed, as a zstd:chunked footer says it; `None`
    /// for the gzip layouts, which do not.
    pub fn toc_uncompressed_len(&self) -> Option<u64> {
        self.zstd_toc().map(|toc| toc.uncompressed_len)
    }

    /// The manifest type a zstd:chunked footer states (1 = CRFS); `None` for the gzip
    /// layouts.
    pub fn manifest_type(&self) -> Option<u64> {
        self.zstd_toc().map(|toc| toc.manifest_type)
    }

    /// The TOC position of a zstd:chunked footer, all fields; `None` for the gzip layouts.
    pub fn zstd_toc(&self) -> Option<ZstdTocPosition> {
        match self.layout {
            Layout::ZstdChunkedV1 { toc } | Layout::ZstdChunkedV2 { toc, .. } => Some(toc),
            _ => None,
        }
    }

    /// Where a zstd:chunked v2 footer says the tar-split data is; `None` for every other
    /// layout and for a v2 footer whose tar-split fields are zero.
    pub fn tar_split(&self) -> Option<TarSplitPosition> {
        match self.layout {
            Layout::ZstdChunkedV2 { tar_split, .. } => tar_split,
            _ => None,
        }
    }

    /// Number of payload bytes (the compressed tar entries) at the start of the blob, before
    /// the TOC: the TOC offset for the gzip layouts, the TOC offset minus the TOC's
    /// skippable-frame header for zstd:chunked. `None` for an external TOC, where the
    /// payload is everything before the footer (`blob size - 46`).
    pub fn payload_size(&self) -> Option<u64> {
        match self.layout {
            Layout::Estargz { toc_offset, .. } | Layout::LegacyStargz { toc_offset, .. } => {
                Some(toc_offset)
            }
            Layout::ExternalToc => None,
            Layout::ZstdChunkedV1 { toc } | Layout::ZstdChunkedV2 { toc, .. } => {
                toc.offset.checked_sub(zstd::FRAME_HEADER_LEN)
            }
        }
    }

    /// Checks this footer against the size of the blob it ends, and returns it with the
    /// TOC length filled in for the gzip layouts.
    ///
    /// The rules: the blob holds the footer; the TOC starts before the footer and ends at
    /// or before it (gzip layouts: it is not empty); a v2 tar-split likewise.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidFooter`] if a rule fails.
    /// - [`Error::InvalidArgument`] if this footer was already resolved against a different
    ///   blob size (its TOC length would change).
    pub fn resolve(self, blob_size: u64) -> Result<Self> {
        let kind = self.kind();
        let resolved = self
            .check_against(blob_size)
            .map_err(|reason| Error::InvalidFooter { kind, reason })?;
        let earlier = match self.layout {
            Layout::Estargz { toc_len, .. } | Layout::LegacyStargz { toc_len, .. } => toc_len,
            _ => None,
        };
        if earlier.is_some() && earlier != resolved.toc_len() {
            return Err(Error::InvalidArgument(
                "the footer was resolved against a different blob size",
            ));
        }
        Ok(resolved)
    }

    /// The bytes of the blob that hold the (compressed) TOC, given the blob's size; `None`
    /// for an external TOC. The range never reaches into the footer.
    ///
    /// # Errors
    ///
    /// As [`Footer::resolve`].
    ///
    /// # Examples
    ///
    /// ```
    /// use estargz_toc::{Footer, ZstdTocPosition};
    ///
    /// let toc = ZstdTocPosition { offset: 0x231, len: 0x1d7, uncompressed_len: 0x6f1, manifest_type: 1 };
    /// let footer = Footer::zstd_chunked_v1(toc)?;
    /// let blob_size = 0x231 + 0x1d7 + 48;
    /// assert_eq!(footer.toc_range(blob_size)?, Some(0x231..0x231 + 0x1d7));
    /// assert!(footer.toc_range(blob_size - 1).is_err());
    /// # Ok::<(), estargz_toc::Error>(())
    /// ```
    pub fn toc_range(&self, blob_size: u64) -> Result<Option<Range<u64>>> {
        let resolved = self.resolve(blob_size)?;
        Ok(match (resolved.toc_offset(), resolved.toc_len()) {
            (Some(start), Some(len)) => start.checked_add(len).map(|end| start..end),
            _ => None,
        })
    }

    /// The footer's bytes, exactly as the reference (or containers/storage, for v2)
    /// writes them: lowercase hex and Go's fixed gzip header for the gzip layouts.
    ///
    /// A footer parsed from non-canonical bytes (uppercase hex, a `+` sign, extra gzip
    /// header fields) says the same thing but is written back canonically.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.layout {
            Layout::Estargz { toc_offset, .. } => estargz::encode(*toc_offset).to_vec(),
            Layout::LegacyStargz { toc_offset, .. } => legacy::encode(*toc_offset).to_vec(),
            Layout::ExternalToc => external_toc::emit().to_vec(),
            Layout::ZstdChunkedV1 { toc } => zstd_v1::encode(toc).to_vec(),
            Layout::ZstdChunkedV2 { toc, tar_split } => {
                zstd_v2::encode(toc, tar_split.as_ref()).to_vec()
            }
        }
    }

    /// Wraps a layout whose rules have been checked.
    fn new(layout: Layout) -> Self {
        Self { layout }
    }

    /// [`Footer::parse`] with the reason not yet wrapped in an error.
    fn parse_raw(kind: FooterKind, bytes: &[u8]) -> Result<Self, &'static str> {
        let layout = match kind {
            FooterKind::Estargz => Layout::Estargz {
                toc_offset: estargz::decode(bytes)?,
                toc_len: None,
            },
            FooterKind::LegacyStargz => Layout::LegacyStargz {
                toc_offset: legacy::decode(bytes)?,
                toc_len: None,
            },
            FooterKind::ExternalToc => {
                external_toc::decode(bytes)?;
                Layout::ExternalToc
            }
            FooterKind::ZstdChunkedV1 => Layout::ZstdChunkedV1 {
                toc: zstd_v1::decode(bytes)?,
            },
            FooterKind::ZstdChunkedV2 => {
                let (toc, tar_split) = zstd_v2::decode(bytes)?;
                Layout::ZstdChunkedV2 { toc, tar_split }
            }
        };
        Ok(Self::new(layout))
    }

    /// [`Footer::resolve`] without the already-resolved check and with the reason not yet
    /// wrapped in an error.
    fn check_against(self, blob_size: u64) -> Result<Self, &'static str> {
        let size = u64::try_from(self.size()).map_err(|_| BLOB_TOO_SHORT)?;
        let footer_start = blob_size.checked_sub(size).ok_or(BLOB_TOO_SHORT)?;
        let gzip_toc_len = |toc_offset: u64| {
            footer_start
                .checked_sub(toc_offset)
                .filter(|&len| len > 0)
                .ok_or("the TOC offset points into or past the footer")
        };
        let toc_fits = |toc: &ZstdTocPosition| match zstd::check_toc(toc) {
            Ok(end) if end <= footer_start => Ok(()),
            Ok(_) => Err("the TOC runs into the footer or past the end of the blob"),
            Err(reason) => Err(reason),
        };
        let layout = match self.layout {
            Layout::Estargz { toc_offset, .. } => Layout::Estargz {
                toc_offset,
                toc_len: Some(gzip_toc_len(toc_offset)?),
            },
            Layout::LegacyStargz { toc_offset, .. } => Layout::LegacyStargz {
                toc_offset,
                toc_len: Some(gzip_toc_len(toc_offset)?),
            },
            Layout::ExternalToc => Layout::ExternalToc,
            Layout::ZstdChunkedV1 { toc } => {
                toc_fits(&toc)?;
                Layout::ZstdChunkedV1 { toc }
            }
            Layout::ZstdChunkedV2 { toc, tar_split } => {
                toc_fits(&toc)?;
                if let Some(tar_split) = &tar_split {
                    let end = zstd::check_tar_split(tar_split, &toc)?;
                    if end > footer_start {
                        return Err(
                            "the tar-split runs into the footer or past the end of the blob",
                        );
                    }
                }
                Layout::ZstdChunkedV2 { toc, tar_split }
            }
        };
        Ok(Self::new(layout))
    }
}

/// Concatenates `parts` into an array of exactly `N` bytes. The callers' parts always add
/// up to `N`; were they not to, the output would be truncated or zero-padded, never panic.
fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut slots = out.iter_mut();
    for &byte in parts.iter().flat_map(|part| part.iter()) {
        if let Some(slot) = slots.next() {
            *slot = byte;
        }
    }
    debug_assert!(
        slots.next().is_none(),
        "footer parts do not fill the footer"
    );
    out
}

#[cfg(test)]
mod tests;
