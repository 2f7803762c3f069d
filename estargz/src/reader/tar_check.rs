//! Checking the blob's tar stream against its TOC while it is decompressed.
//!
//! File content is covered by chunk digests, but the tar headers between chunks are covered
//! by no digest at all. A blob could therefore carry tar entries its TOC does not list (or
//! lists differently), and unpacking it would produce a tar that differs from the verified
//! TOC. [`TarCheck`] follows the uncompressed stream and requires every tar header to
//! describe the next TOC entry (name, type, size, link name, mode, owner, modification
//! time, device numbers, xattrs), every TOC entry to have its header, and every byte of
//! file content to come from the chunk the TOC records for it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use estargz_toc::{Chunk, EntryType, GoString, Index, TocEntry};

use crate::error::{Error, Result};
use crate::tar::{TarEntry, TarEvent, TarHeader, TarLimits, TarParser, Trailer, padding};

/// Where the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting tar header bytes (or the end-of-archive).
    Headers,
    /// Inside the content of the regular file at TOC position `entry`.
    Data { entry: usize, pos: u64, size: u64 },
    /// Padding bytes left after a file's content.
    Padding(u64),
    /// After the end-of-archive; later bytes are ignored by tar readers.
    Ended(Trailer),
}

/// Follows a decompressed payload and checks it against the TOC (see the module docs).
pub(crate) struct TarCheck<'a> {
    index: &'a Index,
    parser: TarParser,
    /// Header bytes not yet parsed.
    pending: Vec<u8>,
    /// The next TOC position a tar header may describe (chunk entries are skipped).
    next: usize,
    state: State,
    /// Blob offset of the compressed bytes being decompressed, for error reports.
    blob_offset: u64,
    /// Whether owner names are compared (not when the TOC records none).
    owner_names: bool,
}

impl<'a> TarCheck<'a> {
    /// Compares owner names only if `compare` (pass `false` for TOCs that record none,
    /// such as a zstd:chunked v2 manifest).
    pub(crate) fn owner_names(mut self, compare: bool) -> Self {
        self.owner_names = compare;
        self
    }

    /// A check from the start of the payload.
    pub(crate) fn new(index: &'a Index) -> Self {
        Self {
            index,
            parser: TarParser::new(TarLimits::default()),
            pending: Vec::new(),
            next: 0,
            state: State::Headers,
            blob_offset: 0,
            owner_names: true,
        }
    }

    /// A check that starts where the content of the file whose first chunk is `chunk`
    /// starts (its header was checked by whoever checked the bytes before).
    pub(crate) fn at_file(index: &'a Index, chunk: &Chunk) -> Self {
        let size = index
            .toc()
            .entries
            .get(chunk.entry)
            .map_or(0, |e| u64::try_from(e.size).unwrap_or(0));
        Self {
            next: chunk.entry + 1,
            state: State::Data {
                entry: chunk.entry,
                pos: 0,
                size,
            },
            blob_offset: chunk.blob_offset,
            ..Self::new(index)
        }
    }

    /// Says which compressed bytes are being decompressed now (for error reports).
    pub(crate) fn set_blob_offset(&mut self, blob_offset: u64) {
        self.blob_offset = blob_offset;
    }

    fn fail(&self, what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::TarMismatch {
            blob_offset: self.blob_offset,
            what: what.into(),
            reason: reason.into(),
        }
    }

    fn toc_name(&self, entry: usize) -> String {
        self.index.toc().entries.get(entry).map_or_else(
            || format!("TOC entry {entry}"),
            |e| format!("TOC entry {entry} ({:?})", e.name.to_string_lossy()),
        )
    }

    /// Bytes between chunks: tar headers, padding, the end-of-archive.
    pub(crate) fn gap(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            match self.state {
                State::Ended(_) => return Ok(()),
                State::Data { entry, pos, .. } => return Err(self.outside_chunks(entry, pos)),
                State::Padding(left) => {
                    let n = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    bytes = bytes.get(n..).unwrap_or_default();
                    self.set_padding(left - n as u64);
                }
                State::Headers => {
                    self.pending.extend_from_slice(bytes);
                    bytes = &[];
                    self.drive(false)?;
                }
            }
        }
        Ok(())
    }

    fn set_padding(&mut self, left: u64) {
        self.state = if left == 0 {
            State::Headers
        } else {
            State::Padding(left)
        };
    }

    /// Parses pending header bytes.
    fn drive(&mut self, eof: bool) -> Result<()> {
        // Bytes of `pending` used so far; removed once at the end (not per entry, which
        // would move the rest of the buffer for every header).
        let mut used = 0;
        while self.state == State::Headers {
            let input = self.pending.get(used..).unwrap_or_default();
            match self.parser.parse(input, eof)? {
                TarEvent::NeedData { .. } => break,
                TarEvent::Entry { consumed, entry } => {
                    used += consumed;
                    self.accept(&entry)?;
                    // Bytes after the header that arrived with it: padding or the next
                    // headers, never file content.
                    let rest = self.pending.len().saturating_sub(used) as u64;
                    match self.state {
                        State::Data { entry, pos, .. } if rest > 0 => {
                            return Err(self.outside_chunks(entry, pos));
                        }
                        State::Padding(left) => {
                            let n = left.min(rest);
                            used += n as usize;
                            self.set_padding(left - n);
                        }
                        _ => {}
                    }
                }
                TarEvent::GlobalHeader { entry, .. } => {
                    return Err(self.fail(
                        format!(
                            "tar global header {:?}",
                            String::from_utf8_lossy(&entry.header.name)
                        ),
                        "the TOC cannot list PAX global headers",
                    ));
                }
                TarEvent::End { trailer, .. } => {
                    self.state = State::Ended(trailer);
                    used = self.pending.len();
                }
            }
        }
        self.pending.drain(..used.min(self.pending.len()));
        Ok(())
    }

    fn outside_chunks(&self, entry: usize, pos: u64) -> Error {
        self.fail(
            self.toc_name(entry),
            format!("file content at offset {pos} is outside the chunks the TOC records"),
        )
    }

    /// Checks a parsed header against the next TOC entry.
    fn accept(&mut self, entry: &TarEntry) -> Result<()> {
        let h = &entry.header;
        let what = || format!("tar entry {:?}", String::from_utf8_lossy(&h.name));
        let toc = &self.index.toc().entries;
        while toc
            .get(self.next)
            .is_some_and(|e| e.kind == EntryType::Chunk)
        {
            self.next += 1;
        }
        let position = self.next;
        let Some(expected) = toc.get(position) else {
            return Err(self.fail(what(), "the TOC does not list it (it has no entries left)"));
        };
        if entry.sparse.is_some() {
            return Err(self.fail(what(), "a sparse file, which no TOC entry can describe"));
        }
        if let Some(reason) = mismatch(h, expected, self.index, position, self.owner_names) {
            return Err(self.fail(
                what(),
                format!("does not match {}: {reason}", self.toc_name(position)),
            ));
        }
        self.next += 1;
        let size = entry.payload_len;
        if expected.kind == EntryType::Reg && size > 0 {
            self.state = State::Data {
                entry: position,
                pos: 0,
                size,
            };
        } else {
            self.set_padding(entry.padding);
        }
        Ok(())
    }

    /// A chunk starts: the stream must be inside its file's content, exactly where the
    /// chunk belongs.
    pub(crate) fn chunk(&mut self, chunk: &Chunk) -> Result<()> {
        self.expect_chunk(chunk)?;
        if let State::Data { entry, pos, size } = self.state {
            let pos = pos + chunk.size;
            if pos < size {
                self.state = State::Data { entry, pos, size };
            } else {
                self.set_padding(padding(size));
            }
        }
        Ok(())
    }

    /// Checks that `chunk` could start now, without consuming it.
    pub(crate) fn expect_chunk(&self, chunk: &Chunk) -> Result<()> {
        let owner = self.toc_name(chunk.entry);
        match self.state {
            State::Data { entry, pos, size }
                if pos == chunk.file_offset
                    && chunk.size <= size - pos
                    && (pos > 0 || entry == chunk.entry)
                    && self.pending.is_empty() =>
            {
                Ok(())
            }
            State::Data { entry, pos, .. } => Err(self.fail(
                owner,
                format!(
                    "its chunk at file offset {} starts where the tar stream holds offset \
                     {pos} of {}",
                    chunk.file_offset,
                    self.toc_name(entry)
                ),
            )),
            _ => Err(self.fail(
                owner,
                format!(
                    "its chunk at file offset {} starts where the tar stream expects a header \
                     (the header before it does not describe this file)",
                    chunk.file_offset
                ),
            )),
        }
    }

    /// The payload ended: every TOC entry must have had its header. Returns how the tar
    /// stream ended.
    pub(crate) fn finish(mut self) -> Result<Trailer> {
        if self.state == State::Headers {
            self.drive(true)?;
        }
        let trailer = match self.state {
            State::Ended(trailer) => trailer,
            State::Headers | State::Padding(_) => Trailer::Missing,
            State::Data { entry, pos, .. } => {
                return Err(self.fail(
                    self.toc_name(entry),
                    format!("the payload ends at offset {pos} of its content"),
                ));
            }
        };
        let toc = &self.index.toc().entries;
        while toc
            .get(self.next)
            .is_some_and(|e| e.kind == EntryType::Chunk)
        {
            self.next += 1;
        }
        if self.next < toc.len() {
            return Err(self.fail(
                self.toc_name(self.next),
                "the payload has no tar header for it",
            ));
        }
        Ok(trailer)
    }
}

/// Why the header `h` does not describe the TOC entry `e` (at `position`), if it does not.
fn mismatch(
    h: &TarHeader,
    e: &TocEntry,
    index: &Index,
    position: usize,
    owner_names: bool,
) -> Option<String> {
    let differs = |field: &str, tar: &dyn std::fmt::Debug, toc: &dyn std::fmt::Debug| {
        Some(format!(
            "{field} is {tar:?} in the tar header, {toc:?} in the TOC"
        ))
    };
    let Some(kind) = h.toc_type() else {
        return differs("the type", &char::from(h.typeflag), &e.kind.to_string());
    };
    if kind != e.kind {
        return differs("the type", &kind.to_string(), &e.kind.to_string());
    }
    if !same_go_string(&h.name, &e.name) {
        return differs(
            "the name",
            &String::from_utf8_lossy(&h.name),
            &e.name.to_string_lossy(),
        );
    }
    let size = if kind == EntryType::Reg { h.size } else { 0 };
    if size != e.size {
        return differs("the size", &size, &e.size);
    }
    let is_link = matches!(kind, EntryType::Hardlink | EntryType::Symlink);
    if is_link && !same_go_string(&h.link_name, &e.link_name) {
        return differs(
            "the link name",
            &String::from_utf8_lossy(&h.link_name),
            &e.link_name.to_string_lossy(),
        );
    }
    if h.mode != e.mode {
        return differs("the mode", &h.mode, &e.mode);
    }
    if h.uid != e.uid || h.gid != e.gid {
        return differs("uid:gid", &(h.uid, h.gid), &(e.uid, e.gid));
    }
    // An omitted name means "the last name written for this id" (or none at all).
    let owner_ok = |tar: &[u8], own: &GoString, filled: &GoString| {
        if own.is_empty() {
            tar.is_empty() || same_go_string(tar, filled)
        } else {
            same_go_string(tar, own)
        }
    };
    if owner_names && !owner_ok(&h.uname, &e.user_name, index.user_name(position)) {
        return differs(
            "the user name",
            &String::from_utf8_lossy(&h.uname),
            &index.user_name(position).to_string_lossy(),
        );
    }
    if owner_names && !owner_ok(&h.gname, &e.group_name, index.group_name(position)) {
        return differs(
            "the group name",
            &String::from_utf8_lossy(&h.gname),
            &index.group_name(position).to_string_lossy(),
        );
    }
    if let Some(reason) = modtime_mismatch(h, e) {
        return Some(reason);
    }
    let is_device = matches!(kind, EntryType::Char | EntryType::Block);
    if is_device && (h.dev_major != e.dev_major || h.dev_minor != e.dev_minor) {
        return differs(
            "the device number",
            &(h.dev_major, h.dev_minor),
            &(e.dev_major, e.dev_minor),
        );
    }
    if !same_xattrs(h, &e.xattrs) {
        return Some("the xattrs differ between the tar header and the TOC".into());
    }
    None
}

/// Compares modification times to the second (the TOC rounds to seconds; a header written
/// without sub-second precision was rounded too). A TOC time that does not parse records
/// nothing (readers ignore it).
fn modtime_mismatch(h: &TarHeader, e: &TocEntry) -> Option<String> {
    let tar = h.mtime.map_or(0, |t| t.secs());
    let toc = if e.modtime.is_empty() {
        0
    } else {
        estargz_toc::time::parse_modtime(&e.modtime)?.0
    };
    (tar.abs_diff(toc) > 1).then(|| {
        format!(
            "the modification time is {tar} in the tar header, {:?} in the TOC",
            e.modtime
        )
    })
}

/// Whether the TOC's xattrs are exactly the header's `SCHILY.xattr.*` records.
fn same_xattrs(h: &TarHeader, toc: &BTreeMap<GoString, Vec<u8>>) -> bool {
    let tar = crate::encoder::toc_xattrs(h);
    tar.len() == toc.len()
        && tar
            .iter()
            .zip(toc)
            .all(|((tk, tv), (k, v))| tv == v && same_go_string(tk.as_bytes(), k))
}

/// Whether tar bytes `tar` are what a TOC holds for them: equal, or equal after the JSON
/// round trip that turns each byte of invalid UTF-8 into 0xFF (see [`GoString`]).
fn same_go_string(tar: &[u8], toc: &GoString) -> bool {
    tar == toc.as_bytes() || json_lossy(tar).as_ref() == toc.as_bytes()
}

/// `bytes` with every byte that is not part of valid UTF-8 replaced by 0xFF.
fn json_lossy(mut bytes: &[u8]) -> Cow<'_, [u8]> {
    if std::str::from_utf8(bytes).is_ok() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                out.extend_from_slice(bytes);
                break;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.extend_from_slice(valid);
                let bad = e.error_len().unwrap_or(rest.len()).max(1).min(rest.len());
                out.extend(std::iter::repeat_n(0xFF, bad));
                bytes = rest.get(bad..).unwrap_or_default();
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_bytes_become_ff_each() {
        assert_eq!(json_lossy(b"abc").as_ref(), b"abc");
        assert_eq!(json_lossy(b"a\xe9b").as_ref(), b"a\xffb");
        assert_eq!(json_lossy(b"\xe2\x82a").as_ref(), b"\xff\xffa");
        assert_eq!(json_lossy(b"x\xe2\x82").as_ref(), b"x\xff\xff");
    }
}
