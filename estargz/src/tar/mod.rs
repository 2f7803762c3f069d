//! A sans-IO tar header codec that reads like Go's `archive/tar` and writes exactly what
//! Go's `tar.Writer.WriteHeader` writes.
//!
//! The eStargz reference implementation re-encodes every input header with Go's tar writer,
//! so an encoder that wants the same DiffID must make the same choices: keep the format the
//! reader detected (USTAR, PAX, GNU), re-emit PAX records sorted by key, write GNU
//! `././@LongLink` entries, and prefer USTAR, then PAX, then GNU for headers of unknown
//! format.
//!
//! - [`TarParser`] is fed bytes and answers with a [`TarEvent`]: "I need more bytes", an
//!   entry (with the byte offsets of its extension headers, its main header and its
//!   payload), a PAX global header, or the end of the archive. It never reads anything
//!   itself and never consumes payload bytes of regular files.
//! - [`encode_header`] appends the extension blocks and the main header block for a
//!   [`TarHeader`] to a `Vec<u8>`.
//! - [`TarLimits`] bounds what untrusted input may make the parser allocate.
//!
//! Names, link names, user and group names and PAX values are bytes, never forced to UTF-8.
//!
//! This module does not expand sparse files or copy payloads: it reports the sparse map
//! ([`TarEntry::sparse`]) and the logical size ([`TarHeader::size`]) so that the caller can.
//!
//! ```
//! use estargz::tar::{encode_header, parse_archive, TarLimits};
//!
//! let mut header = estargz::tar::TarHeader::default();
//! header.typeflag = b'0';
//! header.name = b"hello.txt".to_vec();
//! header.size = 5;
//! let mut archive = Vec::new();
//! encode_header(&header, &mut archive).unwrap();
//! archive.extend_from_slice(b"hello");
//! archive.resize(archive.len() + 507 + 1024, 0);
//!
//! let entries = parse_archive(&archive, &TarLimits::default()).unwrap();
//! assert_eq!(entries[0].header.name, b"hello.txt");
//! assert_eq!(entries[0].payload_offset, 512);
//! ```

mod block;
mod encode;
mod error;
mod parse;
mod pax;

pub use block::padding;
pub use encode::{encode_end_of_archive, encode_header};
pub use error::TarError;
pub use parse::{TarParser, parse_archive};

/// The format Go's `archive/tar` reader detected for an entry (Go's `tar.Header.Format`).
///
/// This is what decides how the entry is re-encoded. Go reports old V7 headers, STAR
/// headers and USTAR blocks containing non-ASCII bytes or numeric fields without a NUL
/// terminator as "unknown"; [`TarEntry::magic`] tells what the block itself said.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TarFormat {
    /// No format detected, or a synthesised header: the encoder picks USTAR, then PAX,
    /// then GNU, rounds the modification time to seconds and drops atime/ctime.
    #[default]
    Unknown,
    /// POSIX.1-1988 USTAR.
    Ustar,
    /// POSIX.1-2001 PAX (USTAR plus `x` extended headers).
    Pax,
    /// GNU (magic `"ustar  \0"`), with `././@LongLink` long names.
    Gnu,
}

impl TarFormat {
    /// Go's bit value of the format, used by the format-choice logic.
    fn bits(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Ustar => FORMAT_USTAR,
            Self::Pax => FORMAT_PAX,
            Self::Gnu => FORMAT_GNU,
        }
    }

    /// The format for a set of possible formats, after Go's "USTAR or PAX means USTAR".
    fn from_bits(bits: u8) -> Self {
        if bits & FORMAT_USTAR != 0 {
            Self::Ustar
        } else if bits & FORMAT_PAX != 0 {
            Self::Pax
        } else if bits & FORMAT_GNU != 0 {
            Self::Gnu
        } else {
            Self::Unknown
        }
    }
}

const FORMAT_USTAR: u8 = 2;
const FORMAT_PAX: u8 = 4;
const FORMAT_GNU: u8 = 8;
const FORMAT_ALL: u8 = FORMAT_USTAR | FORMAT_PAX | FORMAT_GNU;

/// The magic of a header block as found on disk.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum BlockMagic {
    /// No magic: the original Unix V7 format.
    #[default]
    V7,
    /// `"ustar\0"` (USTAR or PAX).
    Ustar,
    /// `"ustar "` + `" \0"` (GNU).
    Gnu,
    /// `"ustar\0"` with the `"tar\0"` trailer of Schily's star.
    Star,
}

/// What kind of file an entry describes, from its type flag.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum EntryKind {
    /// Regular file: `'0'`, `'\0'` (legacy), `'7'` (contiguous) and `'S'` (GNU sparse).
    Regular,
    /// Hard link (`'1'`).
    Hardlink,
    /// Symbolic link (`'2'`).
    Symlink,
    /// Character device (`'3'`).
    CharDevice,
    /// Block device (`'4'`).
    BlockDevice,
    /// Directory (`'5'`).
    Directory,
    /// FIFO (`'6'`).
    Fifo,
    /// PAX global header (`'g'`).
    GlobalHeader,
    /// Any other type flag (e.g. GNU `'D'`, `'V'`, `'M'`).
    Other(u8),
}

/// A point in time as Go's `time.Time` holds it for tar headers: Unix seconds and
/// nanoseconds (`0 <= nanos < 1_000_000_000`).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct TarTime {
    secs: i64,
    nanos: u32,
}

impl TarTime {
    /// Seconds of Go's zero `time.Time` (January 1, year 1 UTC) relative to the Unix epoch.
    const GO_ZERO_SECS: i64 = -62_135_596_800;

    /// A time from Unix seconds and nanoseconds; `None` if `nanos >= 1_000_000_000`.
    pub fn new(secs: i64, nanos: u32) -> Option<Self> {
        (nanos < 1_000_000_000).then_some(Self { secs, nanos })
    }

    /// A time from whole Unix seconds.
    pub fn from_secs(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }

    /// Unix seconds (rounded down, as Go's `Time.Unix`).
    pub fn secs(self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn nanos(self) -> u32 {
        self.nanos
    }

    /// `Some(time)`, or `None` if it is Go's zero time (which Go treats as "not set").
    fn go(secs: i64, nanos: u32) -> Option<Self> {
        (secs != Self::GO_ZERO_SECS || nanos != 0).then_some(Self { secs, nanos })
    }

    /// Rounded to the nearest second, halves up (Go's `Time.Round(time.Second)`).
    fn round_to_secs(self) -> Option<Self> {
        let up = i64::from(self.nanos >= 500_000_000);
        Self::go(self.secs.saturating_add(up), 0)
    }
}

/// One PAX record, kept as bytes.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct PaxRecord {
    /// The key, e.g. `path` or `SCHILY.xattr.user.foo`.
    pub key: Vec<u8>,
    /// The value (binary-safe for `SCHILY.xattr.*`).
    pub value: Vec<u8>,
}

/// A tar header as Go's `archive/tar` reader returns it (Go's `tar.Header`), and as
/// [`encode_header`] takes it.
///
/// Extension headers are already applied: `name` holds the PAX `path` or GNU long name,
/// `size` the PAX `size` or the real size of a sparse file, and so on.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct TarHeader {
    /// Type flag; a legacy `'\0'` is reported as `'0'` or (trailing slash) `'5'`, as Go does.
    pub typeflag: u8,
    /// Entry name (bytes, not necessarily UTF-8).
    pub name: Vec<u8>,
    /// Link target of hard and symbolic links.
    pub link_name: Vec<u8>,
    /// Logical size in bytes (for sparse files, the expanded size).
    pub size: i64,
    /// Permission and mode bits.
    pub mode: i64,
    /// Owner user id.
    pub uid: i64,
    /// Owner group id.
    pub gid: i64,
    /// Owner user name.
    pub uname: Vec<u8>,
    /// Owner group name.
    pub gname: Vec<u8>,
    /// Modification time; `None` is Go's zero time (written as 0).
    pub mtime: Option<TarTime>,
    /// Access time (PAX `atime` or GNU header field).
    pub atime: Option<TarTime>,
    /// Change time (PAX `ctime` or GNU header field).
    pub ctime: Option<TarTime>,
    /// Device major number.
    pub dev_major: i64,
    /// Device minor number.
    pub dev_minor: i64,
    /// All records of the PAX extended header that preceded this entry, in order,
    /// including unknown ones and duplicates (where, as in Go, the last one counts).
    pub pax_records: Vec<PaxRecord>,
    /// The format the reader detected; drives the re-encoding.
    pub format: TarFormat,
}

impl TarHeader {
    /// A header with the given type flag and name; everything else zero or empty.
    pub fn new(typeflag: u8, name: impl Into<Vec<u8>>) -> Self {
        Self {
            typeflag,
            name: name.into(),
            ..Self::default()
        }
    }

    /// The TOC entry type of a header as written into a blob (type flags `'0'` to `'6'`);
    /// `None` for every other flag, which eStargz cannot hold.
    pub(crate) fn toc_type(&self) -> Option<estargz_toc::EntryType> {
        use estargz_toc::EntryType;
        Some(match self.typeflag {
            b'0' => EntryType::Reg,
            b'1' => EntryType::Hardlink,
            b'2' => EntryType::Symlink,
            b'3' => EntryType::Char,
            b'4' => EntryType::Block,
            b'5' => EntryType::Dir,
            b'6' => EntryType::Fifo,
            _ => return None,
        })
    }

    /// What kind of file this is.
    pub fn kind(&self) -> EntryKind {
        match self.typeflag {
            b'0' | b'\0' | b'7' | b'S' => EntryKind::Regular,
            b'1' => EntryKind::Hardlink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'5' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            b'g' => EntryKind::GlobalHeader,
            other => EntryKind::Other(other),
        }
    }

    /// Whether the type never has a data section, whatever the size field says (links,
    /// devices, directories, FIFOs).
    pub fn is_header_only(&self) -> bool {
        is_header_only(self.typeflag)
    }

    /// Number of payload bytes that follow this header when it is written with
    /// [`encode_header`] (0 for header-only types and global headers).
    pub fn data_len(&self) -> u64 {
        if self.is_header_only() || self.typeflag == b'g' {
            0
        } else {
            u64::try_from(self.size).unwrap_or(0)
        }
    }

    /// Extended attributes: the `SCHILY.xattr.*` PAX records with the prefix stripped,
    /// sorted by name, the last record of a name winning, records with empty values
    /// skipped (as Go's `Header.Xattrs`).
    pub fn xattrs(&self) -> Vec<(&[u8], &[u8])> {
        pax::record_map(&self.pax_records)
            .into_iter()
            .filter_map(|(k, v)| match v {
                std::borrow::Cow::Borrowed(v) if !v.is_empty() => {
                    k.strip_prefix(pax::SCHILY_XATTR).map(|name| (name, v))
                }
                _ => None,
            })
            .collect()
    }
}

/// Whether the type flag never has a data section (Go's `isHeaderOnlyType`).
fn is_header_only(typeflag: u8) -> bool {
    matches!(typeflag, b'1'..=b'6')
}

/// One data fragment of a sparse file: `length` bytes at logical `offset`; everything
/// between fragments is a hole of zeros.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct SparseEntry {
    /// Logical offset of the fragment.
    pub offset: i64,
    /// Length of the fragment.
    pub length: i64,
}

/// Which sparse encoding an entry used.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum SparseFormat {
    /// Old GNU: type `'S'`, map in the header and in extension blocks after it.
    OldGnu,
    /// GNU PAX 0.0: repeated `GNU.sparse.offset`/`GNU.sparse.numbytes` records.
    Pax0_0,
    /// GNU PAX 0.1: one `GNU.sparse.map` record.
    Pax0_1,
    /// GNU PAX 1.0: the map is at the start of the data section (already skipped in
    /// [`TarEntry::payload_offset`]).
    Pax1_0,
}

/// The sparse map of an entry.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct SparseMap {
    /// Which encoding carried the map.
    pub format: SparseFormat,
    /// The data fragments, in order; their total length equals the physical payload
    /// length of a well-formed archive.
    pub data: Vec<SparseEntry>,
}

/// An entry as the parser found it: the header plus where its bytes are.
///
/// All offsets are positions in the uncompressed tar stream.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct TarEntry {
    /// The header with every extension applied.
    pub header: TarHeader,
    /// The magic of the main header block.
    pub magic: BlockMagic,
    /// Offset of the first extension block (PAX `x`, GNU `L`/`K`) of this entry, if any.
    pub extension_offset: Option<u64>,
    /// Offset of the main header block.
    pub header_offset: u64,
    /// Offset of the payload (after old-GNU sparse extension blocks and a PAX 1.0 sparse
    /// map). For global headers, the offset after the record data.
    pub payload_offset: u64,
    /// Physical payload length in the archive (0 for header-only types and global headers;
    /// for sparse files, the stored data without holes).
    pub payload_len: u64,
    /// Zero bytes after the payload up to the next block boundary (fewer if the stream ends
    /// inside them, which Go accepts after the last entry).
    pub padding: u64,
    /// The sparse map, for sparse files.
    pub sparse: Option<SparseMap>,
}

impl TarEntry {
    /// Offset of the first byte after this entry (payload and padding included).
    pub fn end_offset(&self) -> u64 {
        // The parser checked that this sum does not overflow.
        self.payload_offset
            .saturating_add(self.payload_len)
            .saturating_add(self.padding)
    }
}

/// How an archive ended.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Trailer {
    /// Two zero blocks (the standard end-of-archive).
    TwoZeroBlocks,
    /// One zero block, then the end of the input (accepted, as Go does).
    OneZeroBlock,
    /// The input ended without any zero block (accepted, as Go does): at a header
    /// boundary, inside the padding after the last entry or extension header, or after
    /// extension headers that no entry follows (they are dropped).
    Missing,
}

/// What the parser found, or needs.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum TarEvent {
    /// The input must hold at least `needed` bytes (counted from its start) before the parser
    /// can say more. Call again with more bytes; nothing was consumed.
    NeedData {
        /// Minimum input length.
        needed: usize,
    },
    /// An entry. `consumed` bytes of the input (extension headers, the main header and any
    /// sparse map blocks) were used; the payload starts right after them. The next call to
    /// [`TarParser::parse`] must start at [`TarParser::offset`], i.e. after the payload and
    /// its padding.
    Entry {
        /// Bytes of the input used.
        consumed: usize,
        /// The entry.
        entry: Box<TarEntry>,
    },
    /// A PAX global header (`'g'`): its records are in `entry.header.pax_records`, and its
    /// name is the block name (or its own `path` record). Go's estargz rejects these; the
    /// encoder re-emits them as Go's writer would.
    GlobalHeader {
        /// Bytes of the input used (header, records and padding).
        consumed: usize,
        /// The global header.
        entry: Box<TarEntry>,
    },
    /// The end of the archive. Anything after it is not looked at.
    End {
        /// Bytes of the input used (0, 512 or 1024).
        consumed: usize,
        /// How the archive ended.
        trailer: Trailer,
    },
}

/// Limits on what untrusted input may make the parser allocate.
///
/// Exceeding one gives [`TarError::LimitExceeded`] naming it (a
/// [`LimitKind`](crate::LimitKind)), except `max_gzip_members`, which gives
/// [`Error::LimitExceeded`](crate::Error::LimitExceeded).
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct TarLimits {
    /// Maximum size of a PAX extended header payload (`x` or `g`), and of a PAX 1.0 sparse
    /// map at the start of a data section. Default 1 MiB, Go's limit.
    pub max_pax_size: u64,
    /// Maximum size of a GNU long name or long link name payload (`L`/`K`).
    /// Default 1 MiB, Go's limit.
    pub max_long_name_size: u64,
    /// Maximum number of entries of a sparse map. Default 65 536.
    pub max_sparse_entries: u64,
    /// Maximum real (expanded) size of a sparse file, in bytes. A few bytes of sparse map
    /// can declare terabytes of holes, which the encoder must expand into zeros, so this
    /// bounds the work a small input can cause. Default 16 GiB.
    pub max_sparse_size: u64,
    /// Maximum total bytes of `SCHILY.xattr.*` names and values of one entry.
    /// Default 256 KiB (Linux allows 64 KiB per value).
    pub max_xattr_size: u64,
    /// Maximum number of entries of an archive, PAX global headers included. The encoder
    /// holds one TOC entry per tar entry in memory. Default 4 Mi, the TOC reader's
    /// default [`max_entries`](estargz_toc::Limits::max_entries).
    pub max_entries: u64,
    /// Maximum number of gzip members of a compressed input (the encoder's `.tar.gz`
    /// input, decoded by [`MultiMemberDecoder`](crate::gzip::MultiMemberDecoder)); the tar
    /// parser itself does not use it. Default 16 Mi
    /// ([`gzip::DEFAULT_MAX_MEMBERS`](crate::gzip::DEFAULT_MAX_MEMBERS)): an eStargz blob
    /// has about one member per file and chunk, well within the entry limit.
    pub max_gzip_members: u64,
}

impl Default for TarLimits {
    fn default() -> Self {
        Self {
            max_pax_size: 1 << 20,
            max_long_name_size: 1 << 20,
            max_sparse_entries: 1 << 16,
            max_sparse_size: 16 << 30,
            max_xattr_size: 256 << 10,
            max_entries: estargz_toc::Limits::DEFAULT.max_entries,
            max_gzip_members: crate::gzip::DEFAULT_MAX_MEMBERS,
        }
    }
}
