//! TOC JSON, read and written exactly as the reference implementation does.
//!
//! The reference writes `stargz.index.json` with Go 1.19's
//! `json.MarshalIndent(toc, "", "\t")` and reads it with a `json.Decoder` into its `JTOC`
//! and `TOCEntry` structs. The TOC digest is the SHA-256 of those bytes, so the writer here
//! reproduces them exactly, and the reader accepts what Go's decoder accepts.
//!
//! # Writing
//!
//! [`Toc::to_json`] and [`Toc::write_json`] produce tab-indented JSON with `": "` after
//! keys and no trailing newline; keys in the reference's field order; zero numbers, empty
//! strings and empty `xattrs` left out (`omitempty`) except `version`, `name` and `type`;
//! `"entries": null` when there are no entries; `xattrs` keys sorted bytewise and values in
//! padded standard base64. Strings are escaped as Go does (see [`write_string`]): `<`, `>`,
//! `&`, U+2028 and U+2029 as `\u` escapes, and each byte of a [`GoString`] that is not
//! part of valid UTF-8 as `\ufffd`.
//!
//! # Reading
//!
//! [`Toc::from_json`] is a hand-written parser over a byte slice, as tolerant as Go's
//! decoder into the reference's structs:
//!
//! - unknown keys are skipped at any level (their values are still checked for syntax);
//!   missing fields keep their defaults; `null` leaves a string or number field unchanged,
//!   and empties `entries` or `xattrs`;
//! - keys match exactly, or else with ASCII case folded (plus the Unicode folds of `k` and
//!   `s` that Go honours), so `"Name"` is `name`; an old `"NumLink"` is simply unknown;
//! - a repeated key wins over earlier ones; a repeated `xattrs` merges into the map so far,
//!   and a repeated `entries` decodes into the entries so far, as Go does;
//! - numbers must be integers within `i64` (`-0` is 0; `1.0` and `1e3` are errors);
//! - strings take every JSON escape; a raw byte that is not valid UTF-8 becomes U+FFFD (as
//!   Go makes it), an unpaired surrogate escape becomes U+FFFD, and the escape `\ufffd`
//!   becomes the single byte `0xFF` in [`GoString`] fields (the [`GoString`] contract), or
//!   U+FFFD in `String` fields;
//! - `xattrs` values are padded standard base64, `\r` and `\n` ignored;
//! - an entry without `type` gets Go's empty type, `EntryType::Other("")`, not `reg`;
//! - a top-level `null` is an empty TOC with version 0;
//! - bytes after the top-level value are ignored, as Go's streaming decoder ignores them;
//!   [`Toc::from_json_prefix`] says how many bytes the value took.
//!
//! Where Go would store something the model cannot hold, the reader either errors or picks
//! the nearest value: an entry that is `null` is an error (the reference crashes on it);
//! an xattr value `null` reads as empty; `"entries": []` reads as no entries (written back
//! as `null`). Every [`Limits`] bound is checked as the input is read, and every error is
//! an [`Error::Json`] carrying the byte offset, or an [`Error::LimitExceeded`].
//!
//! Reading and writing round-trip: `Toc::from_json(&toc.to_json(), ..)` gives back every
//! TOC the reader can produce, that is every TOC whose [`GoString`]s hold no invalid UTF-8
//! other than `0xFF` bytes and whose kinds are not [`EntryType::Other`] spelling a known
//! type. Other TOCs read back normalised (each other invalid byte as `0xFF`).
//!
//! # Example
//!
//! ```
//! use estargz_toc::{EntryType, GoString, Limits, Toc, TocEntry};
//!
//! let toc = Toc {
//!     version: 1,
//!     entries: vec![TocEntry {
//!         name: GoString::from(&b"bin/caf\xff <&>"[..]),
//!         kind: EntryType::Reg,
//!         size: 3,
//!         mode: 0o100644,
//!         xattrs: [(GoString::from("user.k"), b"v".to_vec())].into(),
//!         ..TocEntry::default()
//!     }],
//! };
//! let json = toc.to_json();
//! assert_eq!(
//!     String::from_utf8(json.clone()).unwrap(),
//!     "{\n\t\"version\": 1,\n\t\"entries\": [\n\t\t{\n\
//!      \t\t\t\"name\": \"bin/caf\\ufffd \\u003c\\u0026\\u003e\",\n\
//!      \t\t\t\"type\": \"reg\",\n\
//!      \t\t\t\"size\": 3,\n\
//!      \t\t\t\"mode\": 33188,\n\
//!      \t\t\t\"xattrs\": {\n\t\t\t\t\"user.k\": \"dg==\"\n\t\t\t}\n\
//!      \t\t}\n\t]\n}"
//! );
//! assert_eq!(Toc::from_json(&json, &Limits::default())?, toc);
//!
//! // Go's tolerance: case-folded keys, unknown keys, trailing bytes.
//! let (old, used) = Toc::from_json_prefix(
//!     br#"{"Version":1,"entries":[{"Name":"a","type":"dir","NumLink":0}]} trailing"#,
//!     &Limits::default(),
//! )?;
//! assert_eq!(old.entries[0].name, "a");
//! assert_eq!(used, 63);
//! # Ok::<(), estargz_toc::Error>(())
//! ```

mod base64;
mod read;
mod scan;
mod utf8;
mod write;

pub use write::write_string;

/// Appends `data` as a JSON string of its padded standard base64 (Go's encoding of a
/// `[]byte`), quotes included.
///
/// ```
/// let mut out = Vec::new();
/// estargz_toc::json::write_base64(&mut out, b"hi");
/// assert_eq!(out, br#""aGk=""#);
/// ```
pub fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    base64::encode_into(out, data);
    out.push(b'"');
}

#[cfg(doc)]
use crate::{EntryType, Error, GoString};
use crate::{Limits, Result, Toc};

impl Toc {
    /// The TOC as the reference writes it: `json.MarshalIndent(toc, "", "\t")` of Go 1.19,
    /// byte for byte. See the [module documentation](crate::json).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    /// Appends [`Toc::to_json`]'s bytes to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        write::write_toc(out, self);
    }

    /// Reads a TOC as the reference's JSON decoder does, ignoring bytes after the JSON
    /// value. See the [module documentation](crate::json) for the rules.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the input is not JSON or does not fit the TOC structure;
    /// [`Error::LimitExceeded`] when it exceeds one of `limits`.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Toc> {
        read::parse(bytes, limits).map(|(toc, _)| toc)
    }

    /// As [`Toc::from_json`], also returning how many bytes of `bytes` the JSON value took
    /// (leading whitespace included), so callers can tell whether anything follows it.
    ///
    /// # Errors
    ///
    /// As [`Toc::from_json`].
    pub fn from_json_prefix(bytes: &[u8], limits: &Limits) -> Result<(Toc, usize)> {
        read::parse(bytes, limits)
    }
}
