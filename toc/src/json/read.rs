//! The reader: a hand-written JSON parser that decodes a TOC as Go's `json.Decoder` decodes
//! it into the reference's structs.

use std::collections::BTreeMap;

use super::base64;
use super::scan::plain_run;
use super::utf8::{REPLACEMENT, push_char, sequence_len};
use crate::error::{Error, Result};
use crate::limits::{LimitKind, Limits};
use crate::model::{EntryType, GoString, Toc, TocEntry};

/// Go's decoder refuses to nest deeper than this, whatever our limits say.
const GO_MAX_DEPTH: u64 = 10_000;

/// The JSON keys of the top-level object, in the reference's field order.
const TOC_FIELDS: [&[u8]; 2] = [b"version", b"entries"];

/// The fields of the top-level object.
#[derive(Clone, Copy)]
enum TocField {
    Version,
    Entries,
}

const TOC_FIELD_IDS: [TocField; 2] = [TocField::Version, TocField::Entries];

/// The JSON keys of an entry, in the reference's field order.
const ENTRY_FIELDS: [&[u8]; 19] = [
    b"name",
    b"type",
    b"size",
    b"modtime",
    b"linkName",
    b"mode",
    b"uid",
    b"gid",
    b"userName",
    b"groupName",
    b"offset",
    b"innerOffset",
    b"devMajor",
    b"devMinor",
    b"xattrs",
    b"digest",
    b"chunkOffset",
    b"chunkSize",
    b"chunkDigest",
];

/// The fields of an entry, in the order of [`ENTRY_FIELDS`].
#[derive(Clone, Copy)]
enum EntryField {
    Name,
    Type,
    Size,
    Modtime,
    LinkName,
    Mode,
    Uid,
    Gid,
    UserName,
    GroupName,
    Offset,
    InnerOffset,
    DevMajor,
    DevMinor,
    Xattrs,
    Digest,
    ChunkOffset,
    ChunkSize,
    ChunkDigest,
}

const ENTRY_FIELD_IDS: [EntryField; 19] = [
    EntryField::Name,
    EntryField::Type,
    EntryField::Size,
    EntryField::Modtime,
    EntryField::LinkName,
    EntryField::Mode,
    EntryField::Uid,
    EntryField::Gid,
    EntryField::UserName,
    EntryField::GroupName,
    EntryField::Offset,
    EntryField::InnerOffset,
    EntryField::DevMajor,
    EntryField::DevMinor,
    EntryField::Xattrs,
    EntryField::Digest,
    EntryField::ChunkOffset,
    EntryField::ChunkSize,
    EntryField::ChunkDigest,
];

/// Finds the field a key names, as Go does: an exact match first, then the first field
/// whose name matches with case folded.
fn match_field<F: Copy>(key: &[u8], names: &[&[u8]], ids: &[F]) -> Option<F> {
    let exact = names.iter().position(|name| *name == key);
    exact
        .or_else(|| names.iter().position(|name| fold_eq(name, key)))
        .and_then(|i| ids.get(i).copied())
}

/// The top-level field `key` names.
fn toc_field(key: &[u8]) -> Option<TocField> {
    match key {
        b"version" => Some(TocField::Version),
        b"entries" => Some(TocField::Entries),
        _ => match_field(key, &TOC_FIELDS, &TOC_FIELD_IDS),
    }
}

/// The entry field `key` names. The common spellings are matched directly.
fn entry_field(key: &[u8]) -> Option<EntryField> {
    match key {
        b"name" => Some(EntryField::Name),
        b"type" => Some(EntryField::Type),
        b"size" => Some(EntryField::Size),
        b"modtime" => Some(EntryField::Modtime),
        b"mode" => Some(EntryField::Mode),
        b"offset" => Some(EntryField::Offset),
        b"digest" => Some(EntryField::Digest),
        b"chunkSize" => Some(EntryField::ChunkSize),
        b"chunkDigest" => Some(EntryField::ChunkDigest),
        _ => match_field(key, &ENTRY_FIELDS, &ENTRY_FIELD_IDS),
    }
}

/// Go's case-folded comparison of an ASCII-letter field name with a key: ASCII letters
/// match in either case, and the key may spell `k` as U+212A KELVIN SIGN and `s` as U+017F
/// LATIN SMALL LETTER LONG S (their simple case folds).
fn fold_eq(field: &[u8], key: &[u8]) -> bool {
    let mut key = key;
    for &f in field {
        match key.first() {
            None => return false,
            Some(&k) if k < 0x80 => {
                if !k.eq_ignore_ascii_case(&f) {
                    return false;
                }
                key = key.get(1..).unwrap_or_default();
            }
            Some(_) => {
                let special: &[u8] = match f {
                    b'k' | b'K' => "\u{212a}".as_bytes(),
                    b's' | b'S' => "\u{17f}".as_bytes(),
                    _ => return false,
                };
                match key.strip_prefix(special) {
                    Some(rest) => key = rest,
                    None => return false,
                }
            }
        }
    }
    key.is_empty()
}

/// What an escape `\ufffd` decodes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fffd {
    /// The single byte 0xFF: the [`GoString`] contract for names.
    Byte,
    /// U+FFFD itself, for fields the model keeps as `String`.
    Char,
}

/// A JSON number, classified for an `int64` field.
enum Number {
    /// An integer in `i64` range.
    Int(i64),
    /// A fraction or an exponent: Go will not store it in an integer.
    NotInteger,
    /// An integer out of `i64` range.
    OutOfRange,
}

/// Parses one TOC document from the start of `input`, returning it and the number of bytes
/// its JSON value took (leading whitespace included, trailing bytes not).
pub(super) fn parse(input: &[u8], limits: &Limits) -> Result<(Toc, usize)> {
    Limits::check(
        LimitKind::TocBytes,
        u64::try_from(input.len()).unwrap_or(u64::MAX),
        limits.max_toc_bytes,
    )?;
    let mut p = Parser {
        input,
        pos: 0,
        depth: 0,
        max_depth: limits.max_json_depth,
        limits,
        scratch: Vec::new(),
    };
    let toc = p.toc()?;
    Ok((toc, p.pos))
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    depth: u64,
    max_depth: u64,
    limits: &'a Limits,
    /// Reused buffer for keys with escapes and for base64 text.
    scratch: Vec<u8>,
}

impl<'a> Parser<'a> {
    // ---- the documents -------------------------------------------------------------------

    fn toc(&mut self) -> Result<Toc> {
        let mut toc = Toc::default();
        self.skip_ws();
        match self.peek() {
            None => return Err(self.error("unexpected end of input: no JSON value")),
            Some(b'n') => {
                // `null` leaves Go's struct at its zero value.
                self.literal(b"null")?;
                return Ok(toc);
            }
            Some(b'{') => {}
            Some(_) => return Err(self.type_error("a TOC object")),
        }
        let mut more = self.open(b'{', b'}')?;
        while more {
            match self.key(toc_field)? {
                Some(TocField::Version) => self.int_field(&mut toc.version, "version")?,
                Some(TocField::Entries) => self.entries(&mut toc.entries)?,
                None => self.skip_value()?,
            }
            more = self.next_item(b'}')?;
        }
        Ok(toc)
    }

    fn entries(&mut self, entries: &mut Vec<TocEntry>) -> Result<()> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                entries.clear();
                return Ok(());
            }
            Some(b'[') => {}
            _ => return Err(self.type_error("an array of entries")),
        }
        // Go decodes a repeated `entries` key into the elements already there (merging
        // fields), appends fresh elements beyond them, and truncates to the new length.
        let mut more = self.open(b'[', b']')?;
        let mut count = 0usize;
        while more {
            match entries.get_mut(count) {
                Some(entry) => self.entry(entry)?,
                None => {
                    Limits::check(
                        LimitKind::Entries,
                        u64::try_from(count).unwrap_or(u64::MAX).saturating_add(1),
                        self.limits.max_entries,
                    )?;
                    // An absent `type` is Go's empty string, not `reg`. The entry is
                    // decoded in place, saving a move of the whole struct.
                    entries.push(TocEntry {
                        kind: EntryType::Other(String::new()),
                        ..TocEntry::default()
                    });
                    if let Some(entry) = entries.last_mut() {
                        self.entry(entry)?;
                    }
                }
            }
            count += 1;
            more = self.next_item(b']')?;
        }
        entries.truncate(count);
        Ok(())
    }

    fn entry(&mut self, e: &mut TocEntry) -> Result<()> {
        match self.peek() {
            Some(b'{') => {}
            Some(b'n') => {
                return Err(
                    self.error("null entry (the reference stores a nil pointer and crashes on it)")
                );
            }
            _ => return Err(self.type_error("an entry object")),
        }
        let mut more = self.open(b'{', b'}')?;
        while more {
            let Some(field) = self.key(entry_field)? else {
                self.skip_value()?;
                more = self.next_item(b'}')?;
                continue;
            };
            match field {
                EntryField::Name => self.name_field(&mut e.name, "name")?,
                EntryField::Type => self.type_field(&mut e.kind)?,
                EntryField::Size => self.int_field(&mut e.size, "size")?,
                EntryField::Modtime => {
                    if let Some(s) = self.string_field("modtime")? {
                        e.modtime = s;
                    }
                }
                EntryField::LinkName => self.name_field(&mut e.link_name, "linkName")?,
                EntryField::Mode => self.int_field(&mut e.mode, "mode")?,
                EntryField::Uid => self.int_field(&mut e.uid, "uid")?,
                EntryField::Gid => self.int_field(&mut e.gid, "gid")?,
                EntryField::UserName => {
                    if let Some(s) = self.go_string_field("userName")? {
                        e.user_name = s;
                    }
                }
                EntryField::GroupName => {
                    if let Some(s) = self.go_string_field("groupName")? {
                        e.group_name = s;
                    }
                }
                EntryField::Offset => self.int_field(&mut e.offset, "offset")?,
                EntryField::InnerOffset => self.int_field(&mut e.inner_offset, "innerOffset")?,
                EntryField::DevMajor => self.int_field(&mut e.dev_major, "devMajor")?,
                EntryField::DevMinor => self.int_field(&mut e.dev_minor, "devMinor")?,
                EntryField::Xattrs => self.xattrs(&mut e.xattrs)?,
                EntryField::Digest => {
                    if let Some(s) = self.string_field("digest")? {
                        e.digest = s;
                    }
                }
                EntryField::ChunkOffset => self.int_field(&mut e.chunk_offset, "chunkOffset")?,
                EntryField::ChunkSize => self.int_field(&mut e.chunk_size, "chunkSize")?,
                EntryField::ChunkDigest => {
                    if let Some(s) = self.string_field("chunkDigest")? {
                        e.chunk_digest = s;
                    }
                }
            }
            more = self.next_item(b'}')?;
        }
        Ok(())
    }

    fn xattrs(&mut self, xattrs: &mut BTreeMap<GoString, Vec<u8>>) -> Result<()> {
        match self.peek() {
            Some(b'n') => {
                // `null` sets Go's map to nil.
                self.literal(b"null")?;
                xattrs.clear();
                return Ok(());
            }
            Some(b'{') => {}
            _ => return Err(self.type_error("an object for \"xattrs\"")),
        }
        // A repeated `xattrs` key merges into the map Go already has.
        let mut total: u64 = xattrs
            .iter()
            .map(|(k, v)| xattr_size(k.as_bytes(), v))
            .fold(0, u64::saturating_add);
        let mut more = self.open(b'{', b'}')?;
        while more {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string as object key"));
            }
            let mut key = Vec::new();
            self.string_into(&mut key, Fffd::Byte)?;
            self.colon()?;
            let value_at = self.pos;
            let value = match self.peek() {
                Some(b'"') => {
                    let mut text = std::mem::take(&mut self.scratch);
                    text.clear();
                    let decoded = self.string_into(&mut text, Fffd::Char).and_then(|()| {
                        base64::decode(&text).map_err(|base64::DecodeError(at)| Error::Json {
                            offset: offset(value_at),
                            reason: format!("xattr value: illegal base64 data at input byte {at}"),
                        })
                    });
                    self.scratch = text;
                    decoded?
                }
                // Go keeps a nil slice, which it would write back as `null`; the model has
                // no such value, so it becomes empty.
                Some(b'n') => {
                    self.literal(b"null")?;
                    Vec::new()
                }
                _ => return Err(self.type_error("a base64 string as xattr value")),
            };
            let added = xattr_size(&key, &value);
            let key = GoString::from(key);
            if let Some(old) = xattrs.get(&key) {
                total = total.saturating_sub(xattr_size(key.as_bytes(), old));
            }
            total = total.saturating_add(added);
            Limits::check(LimitKind::XattrBytes, total, self.limits.max_xattr_bytes)?;
            xattrs.insert(key, value);
            more = self.next_item(b'}')?;
        }
        Ok(())
    }

    // ---- typed fields ---------------------------------------------------------------------

    /// An `int`/`int64` field: an integer, or `null` to leave it unchanged.
    fn int_field(&mut self, slot: &mut i64, field: &str) -> Result<()> {
        let at = self.pos;
        match self.peek() {
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => match self.number()? {
                Number::Int(v) => {
                    *slot = v;
                    Ok(())
                }
                Number::NotInteger => Err(self.error_at(
                    at,
                    format!("{field}: number {} is not an integer", self.text(at)),
                )),
                Number::OutOfRange => Err(self.error_at(
                    at,
                    format!("{field}: number {} is out of int64 range", self.text(at)),
                )),
            },
            _ => Err(self.type_error(&format!("an integer for {field:?}"))),
        }
    }

    /// A name-like field with the name limit: a string, or `null` to leave it unchanged.
    fn name_field(&mut self, slot: &mut GoString, field: &str) -> Result<()> {
        if let Some(s) = self.go_string_field(field)? {
            Limits::check(
                LimitKind::NameBytes,
                u64::try_from(s.len()).unwrap_or(u64::MAX),
                self.limits.max_name_bytes,
            )?;
            *slot = s;
        }
        Ok(())
    }

    /// A string field kept as bytes; `None` for `null`.
    fn go_string_field(&mut self, field: &str) -> Result<Option<GoString>> {
        match self.peek() {
            Some(b'"') => {
                let mut out = Vec::new();
                self.string_into(&mut out, Fffd::Byte)?;
                Ok(Some(GoString::from(out)))
            }
            Some(b'n') => self.literal(b"null").map(|()| None),
            _ => Err(self.type_error(&format!("a string for {field:?}"))),
        }
    }

    /// The `type` field: a string, or `null` to leave it unchanged.
    fn type_field(&mut self, slot: &mut EntryType) -> Result<()> {
        match self.peek() {
            Some(b'"') => {
                let mut text = std::mem::take(&mut self.scratch);
                text.clear();
                let parsed = self.string_into(&mut text, Fffd::Char);
                if parsed.is_ok() {
                    // Decoding with `Fffd::Char` only ever produces UTF-8.
                    *slot = EntryType::from_json_name(&String::from_utf8_lossy(&text));
                }
                self.scratch = text;
                parsed
            }
            Some(b'n') => self.literal(b"null"),
            _ => Err(self.type_error("a string for \"type\"")),
        }
    }

    /// A string field kept as `String`; `None` for `null`.
    fn string_field(&mut self, field: &str) -> Result<Option<String>> {
        match self.peek() {
            Some(b'"') => {
                let mut out = Vec::new();
                self.string_into(&mut out, Fffd::Char)?;
                // Decoding with `Fffd::Char` only ever produces UTF-8; stay total anyway.
                Ok(Some(String::from_utf8(out).unwrap_or_else(|e| {
                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                })))
            }
            Some(b'n') => self.literal(b"null").map(|()| None),
            _ => Err(self.type_error(&format!("a string for {field:?}"))),
        }
    }

    // ---- structure ------------------------------------------------------------------------

    /// Parses an object key and the colon after it; returns the field `lookup` finds for it.
    fn key<F>(&mut self, lookup: fn(&[u8]) -> Option<F>) -> Result<Option<F>> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string as object key"));
        }
        // Fast path: a key without escapes is matched in place.
        let body = self.input.get(self.pos + 1..).unwrap_or_default();
        let run = plain_run(body);
        let found = if body.get(run) == Some(&b'"') {
            let key = body.get(..run).unwrap_or_default();
            self.pos += run + 2;
            lookup(key)
        } else {
            let mut key = std::mem::take(&mut self.scratch);
            key.clear();
            let parsed = self.string_into(&mut key, Fffd::Char);
            let found = lookup(&key);
            self.scratch = key;
            parsed?;
            found
        };
        self.colon()?;
        Ok(found)
    }

    fn colon(&mut self) -> Result<()> {
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.error("expected ':' after object key"));
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    /// Consumes `open` and the whitespace after it. Returns whether a member or element
    /// follows (false when `close` came at once and was consumed too).
    fn open(&mut self, open: u8, close: u8) -> Result<bool> {
        debug_assert_eq!(self.peek(), Some(open));
        self.enter()?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After an object member (`close` is `}`) or an array element (`]`): consumes `,`
    /// (and whitespace, returning true) or the closing bracket (returning false).
    fn next_item(&mut self, close: u8) -> Result<bool> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            None if close == b'}' => Err(self.error("unexpected end of input in object")),
            None => Err(self.error("unexpected end of input in array")),
            Some(_) if close == b'}' => Err(self.error("expected ',' or '}' after object member")),
            Some(_) => Err(self.error("expected ',' or ']' after array element")),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > GO_MAX_DEPTH {
            return Err(self.error("exceeded max depth"));
        }
        Limits::check(LimitKind::JsonDepth, self.depth, self.max_depth)
    }

    /// Skips any JSON value (checking its syntax), without recursion.
    fn skip_value(&mut self) -> Result<()> {
        // One entry per open container: true for an object, false for an array.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            // A value is expected here.
            match self.peek() {
                Some(b'{') => {
                    if self.open(b'{', b'}')? {
                        stack.push(true);
                        self.skip_key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    if self.open(b'[', b']')? {
                        stack.push(false);
                        continue;
                    }
                }
                Some(b'"') => self.skip_string()?,
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                None => return Err(self.error("unexpected end of input: expected a value")),
                Some(_) => return Err(self.error("invalid character: expected a value")),
            }
            // The value is complete: close containers until one continues.
            loop {
                let Some(&is_object) = stack.last() else {
                    return Ok(());
                };
                let more = if is_object {
                    self.next_item(b'}')?
                } else {
                    self.next_item(b']')?
                };
                if more {
                    if is_object {
                        self.skip_key()?;
                    }
                    break;
                }
                stack.pop();
            }
        }
    }

    fn skip_key(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string as object key"));
        }
        self.skip_string()?;
        self.colon()
    }

    /// Skips a string, checking its escapes.
    fn skip_string(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        loop {
            let rest = self.input.get(self.pos..).unwrap_or_default();
            self.pos += plain_run(rest);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                // Any byte from 0x80 up may stand raw in a string.
                Some(0x80..=0xff) => self.pos += 1,
                Some(b'\\') => {
                    let mut sink = Vec::new();
                    self.escape(&mut sink, Fffd::Char)?;
                }
                Some(_) => return Err(self.error("invalid control character in string")),
                None => return Err(self.error_at(start, "unterminated string".into())),
            }
        }
    }

    // ---- scalars --------------------------------------------------------------------------

    /// Decodes the string at `self.pos` (which is at its opening quote) onto `out`, as Go's
    /// decoder does: each raw byte that is not valid UTF-8 becomes U+FFFD; escapes are
    /// decoded, an unpaired surrogate escape as U+FFFD; the escape `\ufffd` per `fffd`.
    fn string_into(&mut self, out: &mut Vec<u8>, fffd: Fffd) -> Result<()> {
        let start = self.pos;
        self.pos += 1;
        loop {
            let rest = self.input.get(self.pos..).unwrap_or_default();
            let run = plain_run(rest);
            out.extend_from_slice(rest.get(..run).unwrap_or_default());
            self.pos += run;
            let rest = self.input.get(self.pos..).unwrap_or_default();
            match rest.first() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.escape(out, fffd)?,
                Some(&b) if b < 0x20 => {
                    return Err(self.error("invalid control character in string"));
                }
                Some(_) => match sequence_len(rest) {
                    0 => {
                        out.extend_from_slice(REPLACEMENT);
                        self.pos += 1;
                    }
                    n => {
                        out.extend_from_slice(rest.get(..n).unwrap_or_default());
                        self.pos += n;
                    }
                },
                None => return Err(self.error_at(start, "unterminated string".into())),
            }
        }
    }

    /// Decodes the escape at `self.pos` (a backslash) onto `out`.
    fn escape(&mut self, out: &mut Vec<u8>, fffd: Fffd) -> Result<()> {
        let at = self.pos;
        let Some(&c) = self.input.get(at + 1) else {
            return Err(self.error_at(at, "unterminated string".into()));
        };
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => 0,
            _ => return Err(self.error_at(at, "invalid escape in string".into())),
        };
        if c != b'u' {
            out.push(simple);
            self.pos += 2;
            return Ok(());
        }
        let Some(unit) = self.hex4(at + 2) else {
            return Err(self.error_at(at, "invalid \\u escape in string".into()));
        };
        self.pos += 6;
        if (0xd800..0xdc00).contains(&unit) {
            // A high surrogate pairs with an immediately following low-surrogate escape.
            let low = self.input.get(self.pos..self.pos + 2) == Some(b"\\u");
            if let Some(low @ 0xdc00..0xe000) = low.then(|| self.hex4(self.pos + 2)).flatten() {
                let scalar = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                push_char(
                    out,
                    char::from_u32(scalar).unwrap_or(char::REPLACEMENT_CHARACTER),
                );
                self.pos += 6;
                return Ok(());
            }
        }
        match char::from_u32(unit) {
            // Surrogates that did not pair.
            None => out.extend_from_slice(REPLACEMENT),
            Some('\u{fffd}') if fffd == Fffd::Byte => out.push(0xff),
            Some(ch) => push_char(out, ch),
        }
        Ok(())
    }

    /// The value of four hex digits at `at`.
    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.input.get(at..at + 4)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            let v = char::from(d).to_digit(16)?;
            Some(acc << 4 | v)
        })
    }

    /// Parses a JSON number (syntax as JSON defines it), classifying it for an int field.
    fn number(&mut self) -> Result<Number> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        // Accumulate negatively so that i64::MIN fits.
        let mut acc: Option<i64> = Some(0);
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    acc = acc
                        .and_then(|a| a.checked_mul(10))
                        .and_then(|a| a.checked_sub(i64::from(d - b'0')));
                    self.pos += 1;
                }
            }
            _ => return Err(self.error_at(start, "invalid number".into())),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.digits() {
                return Err(self.error("invalid number: expected a digit after '.'"));
            }
            integer = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.digits() {
                return Err(self.error("invalid number: expected a digit in exponent"));
            }
            integer = false;
        }
        if !integer {
            return Ok(Number::NotInteger);
        }
        let value = if negative {
            acc
        } else {
            acc.and_then(i64::checked_neg)
        };
        Ok(value.map_or(Number::OutOfRange, Number::Int))
    }

    /// Consumes one or more digits; false if there was none.
    fn digits(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self
            .input
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    // ---- helpers --------------------------------------------------------------------------

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The input from `start` to the current position, for messages.
    fn text(&self, start: usize) -> String {
        String::from_utf8_lossy(self.input.get(start..self.pos).unwrap_or_default()).into_owned()
    }

    fn error(&self, reason: &str) -> Error {
        self.error_at(self.pos, reason.to_owned())
    }

    fn error_at(&self, at: usize, reason: String) -> Error {
        Error::Json {
            offset: offset(at),
            reason,
        }
    }

    /// A value of the wrong JSON type (Go's `UnmarshalTypeError`).
    fn type_error(&self, expected: &str) -> Error {
        let found = match self.peek() {
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) => "an invalid character",
            None => "the end of input",
        };
        self.error_at(self.pos, format!("expected {expected}, found {found}"))
    }
}

/// The size an xattr counts against [`Limits::max_xattr_bytes`].
fn xattr_size(key: &[u8], value: &[u8]) -> u64 {
    u64::try_from(key.len().saturating_add(value.len())).unwrap_or(u64::MAX)
}

fn offset(at: usize) -> u64 {
    u64::try_from(at).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Toc> {
        Toc::from_json(json.as_bytes(), &Limits::default())
    }

    fn one(json_entry: &str) -> TocEntry {
        let toc = read(&format!(r#"{{"version":1,"entries":[{json_entry}]}}"#)).unwrap();
        toc.entries.into_iter().next().unwrap()
    }

    fn json_error(result: Result<Toc>) -> (u64, String) {
        match result {
            Err(Error::Json { offset, reason }) => (offset, reason),
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    fn limit_error(result: Result<Toc>) -> LimitKind {
        match result {
            Err(Error::LimitExceeded { limit, .. }) => limit,
            other => panic!("expected a limit error, got {other:?}"),
        }
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn reads_every_field() {
        let e = one(
            r#"{"name":"n","type":"chunk","size":1,"modtime":"m","linkName":"l","mode":2,
            "uid":3,"gid":4,"userName":"u","groupName":"g","offset":5,"innerOffset":6,
            "devMajor":7,"devMinor":8,"xattrs":{"k":"dg=="},"digest":"d","chunkOffset":9,
            "chunkSize":10,"chunkDigest":"c"}"#,
        );
        let expected = TocEntry {
            name: "n".into(),
            kind: EntryType::Chunk,
            size: 1,
            modtime: "m".into(),
            link_name: "l".into(),
            mode: 2,
            uid: 3,
            gid: 4,
            user_name: "u".into(),
            group_name: "g".into(),
            offset: 5,
            inner_offset: 6,
            dev_major: 7,
            dev_minor: 8,
            xattrs: [(GoString::from("k"), b"v".to_vec())].into(),
            digest: "d".into(),
            chunk_offset: 9,
            chunk_size: 10,
            chunk_digest: "c".into(),
        };
        assert_eq!(e, expected);
    }

    #[test]
    fn missing_type_is_go_empty_string() {
        assert_eq!(one(r#"{"name":"a"}"#).kind, EntryType::Other(String::new()));
        assert_eq!(
            one(r#"{"type":null}"#).kind,
            EntryType::Other(String::new())
        );
        assert_eq!(one(r#"{"type":"reg","type":null}"#).kind, EntryType::Reg);
    }

    #[test]
    fn keys_fold_like_go() {
        let e = one(r#"{"NAME":"a","Type":"dir","LinkNAME":"l","chunksize":3}"#);
        assert_eq!((e.name.as_bytes(), &e.kind), (&b"a"[..], &EntryType::Dir));
        assert_eq!((e.link_name.as_bytes(), e.chunk_size), (&b"l"[..], 3));
        // Kelvin sign for k, long s for s, raw or escaped; not for other letters.
        let e = one("{\"\u{17f}ize\":1,\"lin\u{212a}Name\":\"k\",\"chun\\u212a\\u017fize\":2}");
        assert_eq!(
            (e.size, e.link_name.as_bytes(), e.chunk_size),
            (1, &b"k"[..], 2)
        );
        let e = one("{\"n\u{17f}me\":\"x\",\"di\u{212a}est\":\"y\",\"NumLink\":4}");
        assert_eq!(e, one("{}"));
        // Exact and folded keys name the same field; the last one wins.
        assert_eq!(one(r#"{"name":"a","Name":"b"}"#).name, "b");
        assert_eq!(one(r#"{"Name":"b","name":"a"}"#).name, "a");
        assert!(!fold_eq(b"name", b"nam"));
        assert!(!fold_eq(b"name", b"names"));
        assert!(!fold_eq(b"uid", b"u\xffd"));
    }

    #[test]
    fn null_leaves_scalars_and_clears_collections() {
        let e =
            one(r#"{"name":"a","name":null,"size":5,"size":null,"xattrs":{"k":""},"xattrs":null}"#);
        assert_eq!(
            (e.name.as_bytes(), e.size, e.xattrs.len()),
            (&b"a"[..], 5, 0)
        );
        let toc = read(r#"{"version":2,"version":null,"entries":[{}],"entries":null}"#).unwrap();
        assert_eq!(
            toc,
            Toc {
                version: 2,
                entries: vec![]
            }
        );
        assert_eq!(read(" null ").unwrap(), Toc::default());
    }

    #[test]
    fn repeated_collections_merge_like_go() {
        let e = one(r#"{"xattrs":{"a":"YQ==","b":"Yg=="},"xattrs":{"a":"QQ=="}}"#);
        assert_eq!(e.xattrs.len(), 2);
        assert_eq!(e.xattrs[&GoString::from("a")], b"A");
        let toc =
            read(r#"{"entries":[{"name":"a","size":5},{"name":"b"}],"entries":[{"mode":1}]}"#)
                .unwrap();
        assert_eq!(toc.entries.len(), 1);
        assert_eq!(
            (
                toc.entries[0].name.as_bytes(),
                toc.entries[0].size,
                toc.entries[0].mode
            ),
            (&b"a"[..], 5, 1)
        );
        assert!(
            read(r#"{"entries":[{}],"entries":[]}"#)
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn integers_like_go() {
        assert_eq!(one(r#"{"size":-0}"#).size, 0);
        assert_eq!(one(r#"{"size":-9223372036854775808}"#).size, i64::MIN);
        assert_eq!(one(r#"{"size":9223372036854775807}"#).size, i64::MAX);
        let entry_at = r#"{"version":1,"entries":[{"size":"#.len() as u64;
        for (bad, what) in [
            ("1.5", "not an integer"),
            ("1.0", "not an integer"),
            ("1e3", "not an integer"),
            ("1E-3", "not an integer"),
            ("9223372036854775808", "out of int64 range"),
            ("-9223372036854775809", "out of int64 range"),
            ("\"5\"", "expected an integer"),
            ("true", "expected an integer"),
            ("{}", "expected an integer"),
        ] {
            let (offset, reason) = json_error(read(&format!(
                r#"{{"version":1,"entries":[{{"size":{bad}}}]}}"#
            )));
            assert_eq!(offset, entry_at, "{bad}");
            assert!(reason.contains(what), "{bad}: {reason}");
        }
        for bad in ["01", "+1", "-", "1.", "1e", "1e+", ".5", "-a"] {
            json_error(read(&format!(r#"{{"version":{bad}}}"#)));
        }
        assert!(
            json_error(read(r#"{"version":99999999999999999999}"#))
                .1
                .contains("range")
        );
    }

    #[test]
    fn strings_like_go() {
        let name = |s: &str| one(&format!(r#"{{"name":"{s}"}}"#)).name.into_bytes();
        assert_eq!(name(r#"\"\\\/\b\f\n\r\t"#), b"\"\\/\x08\x0c\n\r\t");
        assert_eq!(name(r"\u0041\u00e9\u20AC\ud83d\ude00"), "Aé€😀".as_bytes());
        // The escape \ufffd is the byte 0xFF in names; a raw U+FFFD stays itself.
        assert_eq!(name(r"a\ufffdb\uFFFD"), b"a\xffb\xff");
        assert_eq!(name("\u{fffd}"), "\u{fffd}".as_bytes());
        // Unpaired surrogate escapes are U+FFFD, as in Go.
        assert_eq!(
            name(r"\ud800x\udc00\ud800\u0041\ud83d"),
            "\u{fffd}x\u{fffd}\u{fffd}A\u{fffd}".as_bytes()
        );
        assert_eq!(name(r"\ud800\ud800\udc00"), "\u{fffd}\u{10000}".as_bytes());
        // In `String` fields the escape stays U+FFFD.
        assert_eq!(one(r#"{"digest":"\ufffd"}"#).digest, "\u{fffd}");
        // Raw bytes that are not UTF-8 become U+FFFD, one per byte, as Go makes them.
        let toc = Toc::from_json(
            b"{\"entries\":[{\"name\":\"a\x80\xe2\x82\",\"digest\":\"\xff\"}]}",
            &limits(),
        )
        .unwrap();
        assert_eq!(
            toc.entries[0].name.as_bytes(),
            "a\u{fffd}\u{fffd}\u{fffd}".as_bytes()
        );
        assert_eq!(toc.entries[0].digest, "\u{fffd}");
        // DEL and U+2028 may be raw.
        assert_eq!(name("\x7f\u{2028}"), "\x7f\u{2028}".as_bytes());
        for bad in ["\\x41", "\\u12", "\\u12G4", "a\x01", "a\tb", "\\"] {
            json_error(read(&format!(r#"{{"entries":[{{"name":"{bad}"}}]}}"#)));
        }
    }

    #[test]
    fn xattr_values_are_go_base64() {
        let e = one(
            r#"{"xattrs":{"a":"QU\nJD\r\nRA=\n=","b":"QR==","c":"","d":null,"\u00e9":"QUI="}}"#,
        );
        let get = |k: &str| e.xattrs[&GoString::from(k)].clone();
        assert_eq!(
            (get("a"), get("b"), get("c"), get("d"), get("é")),
            (
                b"ABCD".to_vec(),
                b"A".to_vec(),
                vec![],
                vec![],
                b"AB".to_vec()
            )
        );
        for bad in [
            r#""QQ""#,
            r#""Q===""#,
            r#""QQ==QQ==""#,
            r#""-_-_""#,
            r#""QQ== ""#,
            "1",
            "[]",
            "{}",
        ] {
            json_error(read(&format!(
                r#"{{"entries":[{{"xattrs":{{"k":{bad}}}}}]}}"#
            )));
        }
        json_error(read(r#"{"entries":[{"xattrs":[]}]}"#));
        json_error(read(r#"{"entries":[{"xattrs":"x"}]}"#));
    }

    #[test]
    fn unknown_values_are_skipped_but_checked() {
        let toc = read(
            r#"{"x":{"a":[1,-2.5e+3,true,false,null,"s\"\u0041",{},[]],"b":{"c":{}}},"version":3,
            "entries":[{"n":[[[{"deep":[]}]]],"name":"a"}],"y":"z"}"#,
        )
        .unwrap();
        assert_eq!((toc.version, toc.entries.len()), (3, 1));
        for bad in [
            r#"{"x":[1,]}"#,
            r#"{"x":{"a"}}"#,
            r#"{"x":{"a":1,}}"#,
            r#"{"x":{1:2}}"#,
            r#"{"x":[1 2]}"#,
            r#"{"x":tru}"#,
            r#"{"x":"\q"}"#,
            r#"{"x":[}"#,
            r#"{"x":{]}"#,
            r#"{"x":1."#,
        ] {
            json_error(read(bad));
        }
    }

    #[test]
    fn structure_errors() {
        for (bad, offset) in [
            ("", 0),
            ("  ", 2),
            ("[]", 0),
            ("\"x\"", 0),
            ("1", 0),
            ("\u{feff}{}", 0),
            ("{", 1),
            ("{\"version\" 1}", 11),
            ("{'version':1}", 1),
            ("{\"version\":1,}", 13),
            ("{\"entries\":{}}", 11),
            ("{\"entries\":[1]}", 12),
            ("{\"entries\":[null]}", 12),
            ("{\"entries\":[{}] }x", 14),
            ("{\"entries\":[{}", 14),
            ("{\"entries\":[{\"name\":\"a", 20),
        ] {
            let result = read(bad);
            if bad.ends_with('x') {
                assert!(result.is_ok(), "{bad}");
                continue;
            }
            assert_eq!(json_error(result).0, offset, "{bad}");
        }
    }

    #[test]
    fn trailing_bytes_are_ignored_and_reported() {
        let (toc, used) =
            Toc::from_json_prefix(b" {\"version\":1}\n{\"version\":2}", &limits()).unwrap();
        assert_eq!((toc.version, used), (1, 14));
        let (toc, used) = Toc::from_json_prefix(b"nullx", &limits()).unwrap();
        assert_eq!((toc, used), (Toc::default(), 4));
        json_error(read("nul"));
    }

    #[test]
    fn limits_are_enforced() {
        let mut l = limits();
        l.max_toc_bytes = 10;
        assert_eq!(
            limit_error(Toc::from_json(b"{\"version\":1}", &l)),
            LimitKind::TocBytes
        );
        assert!(Toc::from_json(b"{        }", &l).is_ok());

        let mut l = limits();
        l.max_entries = 2;
        assert!(Toc::from_json(br#"{"entries":[{},{}]}"#, &l).is_ok());
        assert_eq!(
            limit_error(Toc::from_json(br#"{"entries":[{},{},{}]}"#, &l)),
            LimitKind::Entries
        );

        let mut l = limits();
        l.max_name_bytes = 3;
        assert!(
            Toc::from_json(br#"{"entries":[{"name":"abc","linkName":"\u0041bc"}]}"#, &l).is_ok()
        );
        assert_eq!(
            limit_error(Toc::from_json(br#"{"entries":[{"name":"abcd"}]}"#, &l)),
            LimitKind::NameBytes
        );
        assert_eq!(
            limit_error(Toc::from_json(br#"{"entries":[{"linkName":"abcd"}]}"#, &l)),
            LimitKind::NameBytes
        );

        let mut l = limits();
        l.max_xattr_bytes = 4;
        // Keys count, decoded values count, a replaced value no longer counts.
        assert!(Toc::from_json(br#"{"entries":[{"xattrs":{"k":"YWJj"}}]}"#, &l).is_ok());
        assert!(Toc::from_json(br#"{"entries":[{"xattrs":{"k":"YWJj","k":"YQ=="}}]}"#, &l).is_ok());
        assert_eq!(
            limit_error(Toc::from_json(
                br#"{"entries":[{"xattrs":{"k":"YWJj","l":""}}]}"#,
                &l
            )),
            LimitKind::XattrBytes
        );
        assert_eq!(
            limit_error(Toc::from_json(
                br#"{"entries":[{"xattrs":{"k":"YWJj"},"xattrs":{"l":""}}]}"#,
                &l
            )),
            LimitKind::XattrBytes
        );

        let mut l = limits();
        l.max_json_depth = 4;
        assert!(Toc::from_json(br#"{"entries":[{"xattrs":{}}],"x":[[[]]]}"#, &l).is_ok());
        assert_eq!(
            limit_error(Toc::from_json(br#"{"x":[[[[]]]]}"#, &l)),
            LimitKind::JsonDepth
        );
        assert_eq!(
            limit_error(Toc::from_json(br#"{"x":[[[{}]]]}"#, &l)),
            LimitKind::JsonDepth
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let mut l = limits();
        l.max_json_depth = u64::MAX;
        let deep = format!("{{\"x\":{}", "[".repeat(1_000_000));
        let (_, reason) = json_error(Toc::from_json(deep.as_bytes(), &l));
        assert!(reason.contains("depth"));
        let ok = format!("{{\"x\":{}{}}}", "[".repeat(9_000), "]".repeat(9_000));
        assert!(Toc::from_json(ok.as_bytes(), &l).is_ok());
    }
}
