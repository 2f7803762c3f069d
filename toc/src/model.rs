//! The TOC model: every field the reference implementation reads or writes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The TOC format version every known writer emits.
pub const TOC_VERSION: i64 = 1;

/// The name of the tar entry that holds the TOC JSON inside a gzip eStargz blob.
pub const TOC_TAR_NAME: &str = "stargz.index.json";

/// The landmark file placed after the prioritized files when there are some.
pub const PREFETCH_LANDMARK: &str = ".prefetch.landmark";

/// The landmark file placed first when no files are prioritized.
pub const NO_PREFETCH_LANDMARK: &str = ".no.prefetch.landmark";

/// The single content byte of a landmark file.
pub const LANDMARK_CONTENTS: u8 = 0x0f;

/// A table of contents: the `stargz.index.json` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toc {
    /// The format version (`version`); [`TOC_VERSION`] for every known writer.
    pub version: i64,
    /// All entries in blob order (`entries`): tar entries, and `chunk` entries for the
    /// second and later chunks of large files right after their file.
    pub entries: Vec<TocEntry>,
}

/// One entry of a table of contents.
///
/// Field names follow the JSON keys (in `lowerCamelCase` there). Numbers are `i64` because
/// the reference decodes them into Go `int`/`int64`: values read from untrusted JSON may be
/// negative, and the index rejects those where they make no sense.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TocEntry {
    /// `name`: the tar header name verbatim (it may keep `./`, a leading `/`, or a trailing
    /// `/` on directories). Readers clean it; see [`crate::path::clean`].
    pub name: GoString,
    /// `type`.
    pub kind: EntryType,
    /// `size`: the logical size of a regular file; 0 otherwise.
    pub size: i64,
    /// `modtime`: RFC 3339 text as stored (`YYYY-MM-DDTHH:MM:SSZ` from known writers), or
    /// empty. See [`crate::time`] to produce and parse it.
    pub modtime: String,
    /// `linkName`: the target of a symlink or hardlink, verbatim.
    pub link_name: GoString,
    /// `mode`: the tar header mode verbatim (it may include file type bits).
    pub mode: i64,
    /// `uid`.
    pub uid: i64,
    /// `gid`.
    pub gid: i64,
    /// `userName`: written only when it differs from the last one written for this `uid`;
    /// readers fill it in (see the index).
    pub user_name: GoString,
    /// `groupName`: as [`TocEntry::user_name`], per `gid`.
    pub group_name: GoString,
    /// `offset`: the compressed offset of the member where this entry's data starts
    /// (`reg` with data, and `chunk`); 0 otherwise.
    pub offset: i64,
    /// `innerOffset`: uncompressed bytes between the start of the member at `offset` and
    /// the first byte of this chunk (blobs built with a minimum chunk size); usually 0.
    pub inner_offset: i64,
    /// `devMajor` of a character or block device.
    pub dev_major: i64,
    /// `devMinor` of a character or block device.
    pub dev_minor: i64,
    /// `xattrs`: extended attributes, values as raw bytes (base64 in JSON), keys sorted.
    pub xattrs: BTreeMap<GoString, Vec<u8>>,
    /// `digest`: `sha256:<hex>` of the whole content of a regular file (empty files too).
    pub digest: String,
    /// `chunkOffset`: the offset of this chunk inside its file.
    pub chunk_offset: i64,
    /// `chunkSize`: the size of this chunk as written (see the format notes: 0 for a short
    /// final chunk); the index fills in the real size.
    pub chunk_size: i64,
    /// `chunkDigest`: `sha256:<hex>` of this chunk's uncompressed bytes.
    pub chunk_digest: String,
}

impl TocEntry {
    /// Whether this entry carries file data: a `reg` or a `chunk`.
    pub fn is_data(&self) -> bool {
        matches!(self.kind, EntryType::Reg | EntryType::Chunk)
    }
}

/// The `type` of a TOC entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryType {
    /// `dir`.
    Dir,
    /// `reg`: a regular file (its first chunk, when it has several).
    #[default]
    Reg,
    /// `symlink`.
    Symlink,
    /// `hardlink`: resolves to the entry named by `linkName`.
    Hardlink,
    /// `char`: a character device.
    Char,
    /// `block`: a block device.
    Block,
    /// `fifo`.
    Fifo,
    /// `chunk`: the second or a later chunk of the preceding regular file.
    Chunk,
    /// A type no known writer produces, kept verbatim so a TOC round-trips.
    Other(String),
}

impl EntryType {
    /// Parses the JSON `type` value. Unknown values become [`EntryType::Other`].
    pub fn from_json_name(name: &str) -> Self {
        match name {
            "dir" => Self::Dir,
            "reg" => Self::Reg,
            "symlink" => Self::Symlink,
            "hardlink" => Self::Hardlink,
            "char" => Self::Char,
            "block" => Self::Block,
            "fifo" => Self::Fifo,
            "chunk" => Self::Chunk,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The JSON `type` value.
    pub fn json_name(&self) -> &str {
        match self {
            Self::Dir => "dir",
            Self::Reg => "reg",
            Self::Symlink => "symlink",
            Self::Hardlink => "hardlink",
            Self::Char => "char",
            Self::Block => "block",
            Self::Fifo => "fifo",
            Self::Chunk => "chunk",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for EntryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json_name())
    }
}

/// A string as Go holds it: bytes that are usually, but not necessarily, UTF-8.
///
/// Tar names are bytes, and the reference writes them into the TOC without converting them.
/// Its JSON encoder then writes each byte that is not part of valid UTF-8 as the escape
/// `\ufffd`, so the original byte is lost. This crate keeps names as bytes so that it can
/// write exactly what the reference writes for any tar name, and it decodes each `\ufffd`
/// escape back to the single byte `0xFF` (which never occurs in UTF-8). A name read from a
/// reference TOC therefore stays recognisably non-UTF-8, writes back to identical JSON, and
/// never collides with a name that holds a real U+FFFD character (which Go writes raw).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoString(Vec<u8>);

impl GoString {
    /// Creates an empty string.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, consuming the string.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The string as `&str` when it is valid UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The string with every invalid UTF-8 sequence replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for GoString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl fmt::Display for GoString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl From<Vec<u8>> for GoString {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for GoString {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<&str> for GoString {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl From<String> for GoString {
    fn from(s: String) -> Self {
        Self(s.into_bytes())
    }
}

impl AsRef<[u8]> for GoString {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for GoString {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for GoString {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_type_names_round_trip() {
        for name in [
            "dir", "reg", "symlink", "hardlink", "char", "block", "fifo", "chunk", "weird",
        ] {
            assert_eq!(EntryType::from_json_name(name).json_name(), name);
        }
        assert_eq!(
            EntryType::from_json_name("weird"),
            EntryType::Other("weird".into())
        );
    }

    #[test]
    fn go_string_keeps_invalid_utf8() {
        let s = GoString::from(&b"caf\xe9"[..]);
        assert_eq!(s.to_str(), None);
        assert_eq!(s.to_string_lossy(), "caf\u{fffd}");
        assert_eq!(GoString::from("a"), "a");
    }
}
