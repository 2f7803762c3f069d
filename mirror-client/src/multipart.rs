//! A sans-IO, incremental parser for `multipart/byteranges` bodies (RFC 9110 §14.6,
//! RFC 2046 §5.1).
//!
//! Feed it byte slices as they arrive with [`MultipartParser::feed`] and it calls back with
//! [`Event`]s: a part starts (with its `Content-Range`), body bytes, the part ends, the
//! closing delimiter was seen. Body bytes are handed out as slices of the input, never
//! collected; the parser keeps at most one part's header block (bounded by
//! [`MultipartLimits::max_header_size`]) or a few bytes of a delimiter between calls.
//!
//! Tolerance follows Go's `mime/multipart`, which most registries and clients use: a
//! preamble before the first delimiter line (a line in it that merely starts with the
//! boundary is preamble), spaces and tabs after a delimiter, header and delimiter lines
//! ending in CRLF or a bare LF, folded header lines, and an epilogue after the closing
//! delimiter. As in Go, the first delimiter line decides whether part bodies are followed
//! by CRLF or a bare LF. Go ends a part only at a delimiter; here a part ends after exactly
//! the bytes its `Content-Range` names and a delimiter must follow, so a body longer or
//! shorter than announced is an error rather than bytes silently shifted.
//!
//! Memory held between calls is at most about `max_header_size` plus 4 KiB.

use crate::content_range::ContentRange;
use crate::error::{Error, LimitKind, Result};
use crate::range::ByteRange;

const WHAT: &str = "multipart body";
const WHAT_TYPE: &str = "Content-Type header";

/// The longest boundary accepted. RFC 2046 allows 70 characters; some servers go beyond.
pub const MAX_BOUNDARY_LEN: usize = 200;

/// How many bytes are moved into the internal buffer at a time when input has to be joined
/// with bytes left over from an earlier call.
const CARRY_STEP: usize = 4096;

/// A validated multipart boundary.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct Boundary {
    /// `--` followed by the boundary, as it appears in a delimiter line.
    dashed: Vec<u8>,
}

impl Boundary {
    /// A boundary of 1 to [`MAX_BOUNDARY_LEN`] printable ASCII characters or spaces (a
    /// boundary may not end in a space).
    pub fn new(boundary: &str) -> Result<Self> {
        let bytes = boundary.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_BOUNDARY_LEN {
            return Err(Error::bad_reply(
                WHAT_TYPE,
                None,
                format!("boundary must be 1 to {MAX_BOUNDARY_LEN} characters long"),
            ));
        }
        if !bytes.iter().all(|&b| b == b' ' || b.is_ascii_graphic()) || bytes.ends_with(b" ") {
            return Err(Error::bad_reply(
                WHAT_TYPE,
                None,
                "boundary has characters outside printable ASCII or ends in a space",
            ));
        }
        let mut dashed = Vec::with_capacity(bytes.len() + 2);
        dashed.extend_from_slice(b"--");
        dashed.extend_from_slice(bytes);
        Ok(Self { dashed })
    }

    /// The boundary of a `Content-Type: multipart/byteranges; boundary=...` header value.
    ///
    /// The media type is compared case-insensitively; the boundary may be a token or a
    /// quoted string. An unquoted boundary may contain `:` and other characters that are
    /// not allowed in a token, as CloudFront sends (`boundary=CloudFront:20AC6F72F9836FF0`).
    pub fn from_content_type(value: &[u8]) -> Result<Self> {
        let params = media_type_params(value, b"multipart/byteranges")?;
        let mut found = None;
        for (name, value) in params {
            if name.eq_ignore_ascii_case("boundary") {
                if found.is_some() {
                    return Err(Error::bad_reply(WHAT_TYPE, None, "boundary given twice"));
                }
                found = Some(value);
            }
        }
        let boundary =
            found.ok_or_else(|| Error::bad_reply(WHAT_TYPE, None, "no boundary parameter"))?;
        Self::new(&boundary)
    }

    /// The boundary, without the leading dashes.
    pub fn as_str(&self) -> &str {
        // Invariant: built from a &str, after two ASCII dashes.
        std::str::from_utf8(self.dashed.get(2..).unwrap_or_default()).unwrap_or_default()
    }
}

/// Whether a `Content-Type` value names the media type `multipart/byteranges`.
pub fn is_multipart_byteranges(content_type: &[u8]) -> bool {
    media_type_params(content_type, b"multipart/byteranges").is_ok()
}

/// Parses `type/subtype *(OWS ";" OWS name=value)`, checks the media type, and returns
/// the parameters.
fn media_type_params(value: &[u8], expected: &[u8]) -> Result<Vec<(String, String)>> {
    let err = |at: usize, reason: &str| Error::bad_reply(WHAT_TYPE, Some(at as u64), reason);
    let mut i = 0;
    let skip_ows = |i: &mut usize| {
        while matches!(value.get(*i), Some(b' ' | b'\t')) {
            *i += 1;
        }
    };
    skip_ows(&mut i);
    let start = i;
    while value
        .get(i)
        .is_some_and(|&b| b != b';' && b != b' ' && b != b'\t')
    {
        i += 1;
    }
    let media = value.get(start..i).unwrap_or_default();
    if !media.eq_ignore_ascii_case(expected) {
        return Err(err(start, "not multipart/byteranges"));
    }
    let mut params = Vec::new();
    loop {
        skip_ows(&mut i);
        match value.get(i) {
            None => return Ok(params),
            Some(b';') => i += 1,
            Some(_) => return Err(err(i, "expected ';' between parameters")),
        }
        skip_ows(&mut i);
        if i >= value.len() {
            // A trailing ';' is harmless.
            return Ok(params);
        }
        let name_start = i;
        while value.get(i).is_some_and(|&b| is_tchar(b)) {
            i += 1;
        }
        let name = value.get(name_start..i).unwrap_or_default();
        if name.is_empty() || value.get(i) != Some(&b'=') {
            return Err(err(i, "expected a parameter name and '='"));
        }
        i += 1;
        let param_value = if value.get(i) == Some(&b'"') {
            let (text, next) =
                quoted_string(value, i).map_err(|at| err(at, "bad quoted string"))?;
            i = next;
            text
        } else {
            let value_start = i;
            while value
                .get(i)
                .is_some_and(|&b| b.is_ascii_graphic() && b != b';' && b != b'"')
            {
                i += 1;
            }
            let raw = value.get(value_start..i).unwrap_or_default();
            if raw.is_empty() {
                return Err(err(i, "empty parameter value"));
            }
            String::from_utf8_lossy(raw).into_owned()
        };
        params.push((String::from_utf8_lossy(name).into_owned(), param_value));
    }
}

/// A `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a quoted string starting at `value[start] == '"'`. Returns the unescaped text and
/// the index after the closing quote, or the index of the error.
pub(crate) fn quoted_string(
    value: &[u8],
    start: usize,
) -> std::result::Result<(String, usize), usize> {
    let mut out = Vec::new();
    let mut i = start + 1;
    loop {
        match value.get(i) {
            None => return Err(i),
            Some(b'"') => return Ok((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            Some(b'\\') => match value.get(i + 1) {
                Some(&c) if c == b'\t' || c == b' ' || (c >= 0x21 && c != 0x7f) => {
                    out.push(c);
                    i += 2;
                }
                _ => return Err(i),
            },
            Some(&c) if c == b'\t' || c == b' ' || (c >= 0x21 && c != 0x7f) => {
                out.push(c);
                i += 1;
            }
            Some(_) => return Err(i),
        }
    }
}

/// Limits that bound the parser's memory and work on untrusted bodies.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct MultipartLimits {
    /// The most bytes one part's header block may take, line ends included. Default 8 KiB.
    pub max_header_size: usize,
    /// The most parts a body may have. Default 1024; set it to the number of ranges asked
    /// for when known.
    pub max_parts: usize,
    /// The most bytes of preamble before the first delimiter. Default 64 KiB.
    pub max_preamble: u64,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        Self {
            max_header_size: 8 * 1024,
            max_parts: 1024,
            max_preamble: 64 * 1024,
        }
    }
}

/// The headers of one part that matter.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PartHeader {
    /// The bytes of the blob this part holds (from its `Content-Range`).
    pub range: ByteRange,
    /// The blob's length from the part's `Content-Range`, or `None` for `*`.
    pub complete_length: Option<u64>,
    /// The part's `Content-Type`, if it had one.
    pub content_type: Option<String>,
}

/// What the parser found in the input.
#[derive(Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A part begins. Its body follows in [`Event::Body`] events.
    PartStart(PartHeader),
    /// The next bytes of the current part's body (never empty).
    Body(&'a [u8]),
    /// The current part ended where its `Content-Range` said, and a delimiter followed.
    PartEnd,
    /// The closing delimiter was seen; anything after it is epilogue and ignored.
    Done,
}

/// Where the parser is.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum State {
    /// Before the first delimiter line.
    Preamble { at_line_start: bool },
    /// After `--boundary`: an optional `--`, spaces or tabs, and a line end follow.
    Tail {
        in_preamble: bool,
        is_final: Option<bool>,
        lwsp: usize,
    },
    /// A part's header block. `scan_from` is where the first unterminated line begins.
    Headers { scan_from: usize },
    /// Inside a part's body.
    Body { remaining: u64 },
    /// After a body: a line end and `--boundary` must follow.
    AfterBody,
    /// After the closing delimiter line.
    Epilogue,
    /// An error was returned; the parser refuses further input.
    Failed,
}

/// What one parsing step did.
enum Step<'a> {
    /// Consumed this many bytes (possibly zero, with a change of state) and goes on.
    Consumed(usize),
    /// Consumed this many bytes and produced an event.
    Emit(usize, Event<'a>),
    /// Cannot go on without more input.
    NeedMore,
}

/// An incremental `multipart/byteranges` parser. See the [module docs](self).
#[derive(Debug)]
pub struct MultipartParser {
    boundary: Boundary,
    limits: MultipartLimits,
    state: State,
    /// Input bytes left over from an earlier call that could not be parsed yet.
    carry: Vec<u8>,
    /// Bytes consumed so far, for error positions.
    offset: u64,
    preamble: u64,
    parts: usize,
    done: bool,
    /// Whether part bodies end at a bare LF rather than CRLF (set by the first delimiter).
    bare_lf: bool,
}

impl MultipartParser {
    /// A parser for a body with this boundary.
    pub fn new(boundary: Boundary, limits: MultipartLimits) -> Self {
        Self {
            boundary,
            limits,
            state: State::Preamble {
                at_line_start: true,
            },
            carry: Vec::new(),
            offset: 0,
            preamble: 0,
            parts: 0,
            done: false,
            bare_lf: false,
        }
    }

    /// Whether the closing delimiter has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// How many parts have started so far.
    pub fn parts(&self) -> usize {
        self.parts
    }

    /// Parses the next bytes of the body, calling `on_event` for each event.
    ///
    /// An error from `on_event` stops parsing and is returned. After any error the parser
    /// refuses further input.
    pub fn feed<E, F>(&mut self, mut data: &[u8], mut on_event: F) -> std::result::Result<(), E>
    where
        E: From<Error>,
        F: FnMut(Event<'_>) -> std::result::Result<(), E>,
    {
        if self.state == State::Failed {
            return Err(self.failed().into());
        }
        // Join leftover bytes with new input a piece at a time, until nothing is left over.
        while !self.carry.is_empty() {
            if data.is_empty() {
                return Ok(());
            }
            let (head, tail) = data.split_at(data.len().min(CARRY_STEP));
            data = tail;
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(head);
            let used = self.run(&carry, false, &mut on_event)?;
            carry.drain(..used.min(carry.len()));
            self.carry = carry;
        }
        let used = self.run(data, false, &mut on_event)?;
        self.carry
            .extend_from_slice(data.get(used..).unwrap_or_default());
        Ok(())
    }

    /// Signals the end of the body. Fails if it ended before the closing delimiter.
    pub fn finish<E, F>(&mut self, mut on_event: F) -> std::result::Result<(), E>
    where
        E: From<Error>,
        F: FnMut(Event<'_>) -> std::result::Result<(), E>,
    {
        if self.state == State::Failed {
            return Err(self.failed().into());
        }
        let carry = std::mem::take(&mut self.carry);
        let used = self.run(&carry, true, &mut on_event)?;
        if self.done && used == carry.len() {
            return Ok(());
        }
        self.state = State::Failed;
        Err(Error::bad_reply(
            WHAT,
            Some(self.offset),
            "body ended before the closing boundary delimiter",
        )
        .into())
    }

    fn failed(&self) -> Error {
        Error::bad_reply(WHAT, Some(self.offset), "parser already failed")
    }

    /// Runs steps over `buf` until more input is needed; returns the bytes consumed.
    fn run<E, F>(
        &mut self,
        buf: &[u8],
        eof: bool,
        on_event: &mut F,
    ) -> std::result::Result<usize, E>
    where
        E: From<Error>,
        F: FnMut(Event<'_>) -> std::result::Result<(), E>,
    {
        let mut pos = 0;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            let step = match self.step(rest, eof) {
                Ok(step) => step,
                Err(e) => {
                    self.state = State::Failed;
                    return Err(e.into());
                }
            };
            match step {
                Step::NeedMore => return Ok(pos),
                Step::Consumed(n) => {
                    pos += n;
                    self.offset += n as u64;
                }
                Step::Emit(n, event) => {
                    pos += n;
                    self.offset += n as u64;
                    if let Err(e) = on_event(event) {
                        self.state = State::Failed;
                        return Err(e);
                    }
                }
            }
        }
    }

    fn error(&self, reason: impl Into<String>) -> Error {
        Error::bad_reply(WHAT, Some(self.offset), reason)
    }

    /// One step of the state machine over the unconsumed input `buf`.
    fn step<'a>(&mut self, buf: &'a [u8], eof: bool) -> Result<Step<'a>> {
        match self.state {
            State::Preamble { at_line_start } => self.preamble(buf, eof, at_line_start),
            State::Tail {
                in_preamble,
                is_final,
                lwsp,
            } => self.tail(buf, eof, in_preamble, is_final, lwsp),
            State::Headers { scan_from } => self.headers(buf, eof, scan_from),
            State::Body { remaining } => {
                if buf.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let (body, _) = buf.split_at(n);
                let remaining = remaining - n as u64;
                if remaining == 0 {
                    self.state = State::AfterBody;
                } else {
                    self.state = State::Body { remaining };
                }
                Ok(Step::Emit(n, Event::Body(body)))
            }
            State::AfterBody => {
                let dashed = &self.boundary.dashed;
                // As in Go, the first delimiter line decides whether a body ends at CRLF or
                // at a bare LF; accepting both here would make `...\r\n--b` ambiguous.
                let nl: &[u8] = if self.bare_lf { b"\n" } else { b"\r\n" };
                {
                    let total = nl.len() + dashed.len();
                    let have = buf.len().min(total);
                    let expected = nl.iter().chain(dashed.iter()).take(have);
                    if buf.iter().take(have).eq(expected) {
                        if have < total {
                            return if eof {
                                Err(self.truncated())
                            } else {
                                Ok(Step::NeedMore)
                            };
                        }
                        self.state = State::Tail {
                            in_preamble: false,
                            is_final: None,
                            lwsp: 0,
                        };
                        return Ok(Step::Emit(total, Event::PartEnd));
                    }
                }
                Err(self.error("part body is not followed by a boundary delimiter"))
            }
            State::Epilogue => {
                if buf.is_empty() {
                    Ok(Step::NeedMore)
                } else {
                    Ok(Step::Consumed(buf.len()))
                }
            }
            State::Failed => Err(self.failed()),
        }
    }

    fn truncated(&self) -> Error {
        self.error("body ended before the closing boundary delimiter")
    }

    fn preamble<'a>(&mut self, buf: &'a [u8], eof: bool, at_line_start: bool) -> Result<Step<'a>> {
        if buf.is_empty() {
            return if eof {
                Err(self.truncated())
            } else {
                Ok(Step::NeedMore)
            };
        }
        let dashed = &self.boundary.dashed;
        if at_line_start {
            if buf.starts_with(dashed) {
                self.state = State::Tail {
                    in_preamble: true,
                    is_final: None,
                    lwsp: 0,
                };
                return Ok(Step::Consumed(dashed.len()));
            }
            if dashed.starts_with(buf) {
                return if eof {
                    Err(self.truncated())
                } else {
                    Ok(Step::NeedMore)
                };
            }
        }
        // Not a delimiter line: skip to the start of the next line.
        let (n, at_line_start) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        self.count_preamble(n)?;
        self.state = State::Preamble { at_line_start };
        Ok(Step::Consumed(n))
    }

    fn count_preamble(&mut self, n: usize) -> Result<()> {
        self.preamble = self.preamble.saturating_add(n as u64);
        if self.preamble > self.limits.max_preamble {
            return Err(Error::limit(
                LimitKind::MultipartPreambleBytes,
                self.limits.max_preamble,
                self.preamble,
            ));
        }
        Ok(())
    }

    fn tail<'a>(
        &mut self,
        buf: &'a [u8],
        eof: bool,
        in_preamble: bool,
        is_final: Option<bool>,
        lwsp: usize,
    ) -> Result<Step<'a>> {
        let not_delimiter = |this: &mut Self| -> Result<Step<'a>> {
            if in_preamble {
                // What looked like a delimiter line is preamble after all.
                let dashes = if is_final == Some(true) { 2 } else { 0 };
                this.count_preamble(this.boundary.dashed.len() + dashes + lwsp)?;
                this.state = State::Preamble {
                    at_line_start: false,
                };
                Ok(Step::Consumed(0))
            } else {
                Err(this.error("boundary delimiter is not followed by a line end or '--'"))
            }
        };
        let Some(is_final) = is_final else {
            // Is this the closing delimiter (`--boundary--`)?
            return match (buf.first(), buf.get(1)) {
                (Some(b'-'), Some(b'-')) => {
                    self.set_tail(in_preamble, true, 0);
                    Ok(Step::Consumed(2))
                }
                (Some(b'-'), None) if !eof => Ok(Step::NeedMore),
                (Some(b'-'), _) => not_delimiter(self),
                (Some(_), _) => {
                    self.set_tail(in_preamble, false, 0);
                    Ok(Step::Consumed(0))
                }
                (None, _) if eof => not_delimiter(self),
                (None, _) => Ok(Step::NeedMore),
            };
        };
        // Transport padding: spaces and tabs.
        let pad = buf.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        if pad > 0 {
            let lwsp = lwsp.saturating_add(pad);
            if lwsp > self.limits.max_header_size {
                return if in_preamble {
                    not_delimiter(self)
                } else {
                    Err(Error::limit(
                        LimitKind::MultipartDelimiterPadding,
                        self.limits.max_header_size as u64,
                        lwsp as u64,
                    ))
                };
            }
            self.set_tail(in_preamble, is_final, lwsp);
            return Ok(Step::Consumed(pad));
        }
        let line_end = match (buf.first(), buf.get(1)) {
            (Some(b'\n'), _) => Some(1),
            (Some(b'\r'), Some(b'\n')) => Some(2),
            (Some(b'\r'), None) | (None, _) if !eof => return Ok(Step::NeedMore),
            (None, _) if is_final => Some(0),
            _ => None,
        };
        let Some(n) = line_end else {
            return not_delimiter(self);
        };
        if in_preamble && !is_final {
            self.bare_lf = n == 1;
        }
        if is_final {
            self.state = State::Epilogue;
            self.done = true;
            Ok(Step::Emit(n, Event::Done))
        } else {
            self.state = State::Headers { scan_from: 0 };
            Ok(Step::Consumed(n))
        }
    }

    fn set_tail(&mut self, in_preamble: bool, is_final: bool, lwsp: usize) {
        self.state = State::Tail {
            in_preamble,
            is_final: Some(is_final),
            lwsp,
        };
    }

    fn headers<'a>(&mut self, buf: &'a [u8], eof: bool, scan_from: usize) -> Result<Step<'a>> {
        let max = self.limits.max_header_size;
        let mut line_start = scan_from;
        loop {
            let window = buf.get(line_start..buf.len().min(max)).unwrap_or_default();
            let Some(i) = window.iter().position(|&b| b == b'\n') else {
                self.state = State::Headers {
                    scan_from: line_start,
                };
                if buf.len() >= max {
                    return Err(Error::limit(
                        LimitKind::MultipartPartHeaderBytes,
                        max as u64,
                        buf.len() as u64,
                    ));
                }
                return if eof {
                    Err(self.truncated())
                } else {
                    Ok(Step::NeedMore)
                };
            };
            let line_end = line_start + i;
            let line = buf.get(line_start..line_end).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                let header = self.part_header(buf.get(..line_start).unwrap_or_default())?;
                self.parts += 1;
                if self.parts > self.limits.max_parts {
                    return Err(Error::limit(
                        LimitKind::MultipartParts,
                        self.limits.max_parts as u64,
                        self.parts as u64,
                    ));
                }
                self.state = State::Body {
                    remaining: header.range.len(),
                };
                return Ok(Step::Emit(line_end + 1, Event::PartStart(header)));
            }
            line_start = line_end + 1;
        }
    }

    /// Parses a complete header block (without the empty line that ends it).
    fn part_header(&self, block: &[u8]) -> Result<PartHeader> {
        let mut fields: Vec<(&[u8], Vec<u8>)> = Vec::new();
        for raw in block.split(|&b| b == b'\n') {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.is_empty() {
                continue;
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                // Obsolete line folding: continues the previous field's value.
                let Some((_, value)) = fields.last_mut() else {
                    return Err(self.error("part header block starts with a continuation line"));
                };
                value.push(b' ');
                value.extend_from_slice(trim_ows(line));
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(self.error("part header line has no ':'"));
            };
            let (name, value) = line.split_at(colon);
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(self.error("malformed part header name"));
            }
            fields.push((name, trim_ows(value.get(1..).unwrap_or_default()).to_vec()));
        }
        let mut content_range = None;
        let mut content_type = None;
        for (name, value) in &fields {
            if name.eq_ignore_ascii_case(b"content-range") {
                if content_range.is_some() {
                    return Err(self.error("part has more than one Content-Range"));
                }
                content_range = Some(ContentRange::parse(value)?);
            } else if name.eq_ignore_ascii_case(b"content-type") {
                content_type = Some(String::from_utf8_lossy(value).into_owned());
            }
        }
        match content_range {
            Some(ContentRange::Satisfied {
                range,
                complete_length,
            }) => Ok(PartHeader {
                range,
                complete_length,
                content_type,
            }),
            Some(ContentRange::Unsatisfied { .. }) => {
                Err(self.error("part has an unsatisfied Content-Range"))
            }
            None => Err(self.error("part has no Content-Range")),
        }
    }
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct Collected {
        parts: Vec<(PartHeader, Vec<u8>)>,
        ended: usize,
        done: bool,
    }

    fn collect_into(c: &mut Collected, e: Event<'_>) -> Result<()> {
        match e {
            Event::PartStart(h) => c.parts.push((h, Vec::new())),
            Event::Body(b) => {
                assert!(!b.is_empty());
                c.parts.last_mut().unwrap().1.extend_from_slice(b);
            }
            Event::PartEnd => c.ended += 1,
            Event::Done => c.done = true,
        }
        Ok(())
    }

    fn parse_chunks(
        boundary: &str,
        chunks: &[&[u8]],
        limits: MultipartLimits,
    ) -> Result<Collected> {
        let mut p = MultipartParser::new(Boundary::new(boundary)?, limits);
        let mut c = Collected::default();
        for chunk in chunks {
            p.feed(chunk, |e| collect_into(&mut c, e))?;
        }
        p.finish(|e| collect_into(&mut c, e))?;
        Ok(c)
    }

    fn parse(boundary: &str, body: &[u8]) -> Result<Collected> {
        parse_chunks(boundary, &[body], MultipartLimits::default())
    }

    fn parse_bytewise(boundary: &str, body: &[u8]) -> Result<Collected> {
        let chunks: Vec<&[u8]> = body.chunks(1).collect();
        parse_chunks(boundary, &chunks, MultipartLimits::default())
    }

    const GO_STYLE: &[u8] = b"--3d6b6a416f9b5\r\n\
Content-Type: application/octet-stream\r\n\
Content-Range: bytes 0-4/20\r\n\
\r\n\
hello\r\n\
--3d6b6a416f9b5\r\n\
Content-Range: bytes 10-14/20\r\n\
\r\n\
world\r\n\
--3d6b6a416f9b5--\r\n";

    #[test]
    fn parses_go_style_body() {
        for c in [
            parse("3d6b6a416f9b5", GO_STYLE).unwrap(),
            parse_bytewise("3d6b6a416f9b5", GO_STYLE).unwrap(),
        ] {
            assert!(c.done);
            assert_eq!(c.ended, 2);
            assert_eq!(c.parts.len(), 2);
            assert_eq!(c.parts[0].0.range, ByteRange::new(0, 5).unwrap());
            assert_eq!(c.parts[0].0.complete_length, Some(20));
            assert_eq!(
                c.parts[0].0.content_type.as_deref(),
                Some("application/octet-stream")
            );
            assert_eq!(c.parts[0].1, b"hello");
            assert_eq!(c.parts[1].0.range, ByteRange::new(10, 15).unwrap());
            assert_eq!(c.parts[1].0.content_type, None);
            assert_eq!(c.parts[1].1, b"world");
        }
    }

    #[test]
    fn tolerates_preamble_lf_padding_folding_epilogue() {
        let body = b"this is a preamble\n--b not a delimiter\n--bx\n--b  \t\n\
content-range:\n  bytes 2-3/*\n\nab\n--b-- \nepilogue\r\nmore";
        let c = parse("b", body).unwrap();
        assert_eq!(c, parse_bytewise("b", body).unwrap());
        assert!(c.done);
        assert_eq!(c.parts.len(), 1);
        assert_eq!(c.parts[0].0.range, ByteRange::new(2, 4).unwrap());
        assert_eq!(c.parts[0].0.complete_length, None);
        assert_eq!(c.parts[0].1, b"ab");
    }

    #[test]
    fn closing_delimiter_without_line_end_at_eof() {
        let c = parse("b", b"--b\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--b--").unwrap();
        assert!(c.done);
        // A preamble-only body with just a closing delimiter has no parts (Go agrees).
        let c = parse("b", b"--b--\r\n").unwrap();
        assert!(c.done && c.parts.is_empty());
    }

    #[test]
    fn body_containing_the_boundary_is_fine() {
        // The part length comes from Content-Range, so the boundary string in the data does
        // not end the part.
        let body = b"--b\r\nContent-Range: bytes 0-6/7\r\n\r\n\r\n--b\r\n\r\n--b--\r\n";
        let c = parse("b", body).unwrap();
        assert_eq!(c.parts[0].1, b"\r\n--b\r\n");
    }

    #[test]
    fn rejects_malformed_bodies() {
        let bad: &[&[u8]] = &[
            b"",
            b"preamble only\r\n",
            b"--b\r\nContent-Range: bytes 0-4/20\r\n\r\nhel",
            b"--b\r\nContent-Range: bytes 0-4/20\r\n\r\nhello!\r\n--b--\r\n",
            b"--b\r\nContent-Range: bytes 0-4/20\r\n\r\nhell\r\n--b--\r\n",
            b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
            b"--b\r\nContent-Range: bytes */20\r\n\r\n\r\n--b--\r\n",
            b"--b\r\nContent-Range: bytes 0-0/1\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--b--\r\n",
            b"--b\r\nContent-Range bytes 0-0/1\r\n\r\nx\r\n--b--\r\n",
            b"--b\r\n continuation\r\n\r\nx\r\n--b--\r\n",
            b"--b\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--bx\r\n",
            b"--b\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--b--junk\r\n",
            b"--b\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--b--\r",
            b"--b\r\nContent-Range: bytes 0-0/1\r\n\r\nx\r\n--b\r\n",
        ];
        for body in bad {
            assert!(
                parse("b", body).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(body)
            );
            assert!(parse_bytewise("b", body).is_err());
        }
    }

    #[test]
    fn enforces_limits_and_stays_failed() {
        let limits = MultipartLimits {
            max_parts: 1,
            ..MultipartLimits::default()
        };
        let err = parse_chunks("3d6b6a416f9b5", &[GO_STYLE], limits).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                kind: LimitKind::MultipartParts,
                ..
            }
        ));

        let limits = MultipartLimits {
            max_header_size: 32,
            ..MultipartLimits::default()
        };
        let long = format!("--b\r\nX-Long: {}\r\n", "a".repeat(100));
        let header_limit = |e: &Error| {
            matches!(
                e,
                Error::LimitExceeded {
                    kind: LimitKind::MultipartPartHeaderBytes,
                    ..
                }
            )
        };
        let err = parse_chunks("b", &[long.as_bytes()], limits.clone()).unwrap_err();
        assert!(header_limit(&err), "{err:?}");
        let chunks: Vec<&[u8]> = long.as_bytes().chunks(3).collect();
        let err = parse_chunks("b", &chunks, limits).unwrap_err();
        assert!(header_limit(&err), "{err:?}");

        let limits = MultipartLimits {
            max_preamble: 4,
            ..MultipartLimits::default()
        };
        assert!(parse_chunks("b", &[b"12345\n--b--\n"], limits).is_err());

        let mut p = MultipartParser::new(Boundary::new("b").unwrap(), MultipartLimits::default());
        assert!(
            p.feed(b"--b\r\nbad\r\n\r\n", |_| Ok::<_, Error>(()))
                .is_err()
        );
        assert!(p.feed(b"more", |_| Ok::<_, Error>(())).is_err());
        assert!(p.finish(|_| Ok::<_, Error>(())).is_err());
    }

    #[test]
    fn callback_errors_stop_parsing() {
        let mut p = MultipartParser::new(
            Boundary::new("3d6b6a416f9b5").unwrap(),
            MultipartLimits::default(),
        );
        let r = p.feed(GO_STYLE, |e| match e {
            Event::Body(_) => Err(Error::invalid_argument("sink", "full")),
            _ => Ok(()),
        });
        assert!(matches!(r, Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn content_type_boundaries() {
        let b =
            Boundary::from_content_type(b"multipart/byteranges; boundary=3d6b6a416f9b5").unwrap();
        assert_eq!(b.as_str(), "3d6b6a416f9b5");
        let b =
            Boundary::from_content_type(b"Multipart/ByteRanges;charset=x;BOUNDARY=\"a b\\\"c\"")
                .unwrap();
        assert_eq!(b.as_str(), "a b\"c");
        // CloudFront sends an unquoted ':'.
        let b = Boundary::from_content_type(
            b"multipart/byteranges; boundary=CloudFront:20AC6F72F9836FF0",
        )
        .unwrap();
        assert_eq!(b.as_str(), "CloudFront:20AC6F72F9836FF0");
        assert!(Boundary::from_content_type(b"multipart/byteranges; boundary=x;").is_ok());
        for bad in [
            &b"multipart/mixed; boundary=x"[..],
            b"multipart/byteranges",
            b"multipart/byteranges; boundary=",
            b"multipart/byteranges; boundary=\"\"",
            b"multipart/byteranges; boundary=\"unterminated",
            b"multipart/byteranges; boundary=a; boundary=b",
            b"multipart/byteranges boundary=a",
            b"multipart/byteranges; =a",
        ] {
            assert!(
                Boundary::from_content_type(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(is_multipart_byteranges(b"multipart/byteranges; boundary=x"));
        assert!(!is_multipart_byteranges(b"application/octet-stream"));
        assert!(Boundary::new(&"x".repeat(MAX_BOUNDARY_LEN + 1)).is_err());
        assert!(Boundary::new("ends in space ").is_err());
        assert!(Boundary::new("tab\there").is_err());
    }

    /// Builds a multipart body for `ranges` of `blob`.
    fn build_body(
        blob: &[u8],
        ranges: &[ByteRange],
        boundary: &str,
        crlf: bool,
        preamble: &str,
        epilogue: &str,
    ) -> Vec<u8> {
        let nl: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut out = Vec::new();
        out.extend_from_slice(preamble.as_bytes());
        for r in ranges {
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary.as_bytes());
            out.extend_from_slice(nl);
            out.extend_from_slice(b"Content-Type: application/octet-stream");
            out.extend_from_slice(nl);
            out.extend_from_slice(format!("Content-Range: bytes {}/{}", r, blob.len()).as_bytes());
            out.extend_from_slice(nl);
            out.extend_from_slice(nl);
            out.extend_from_slice(&blob[r.start() as usize..r.end() as usize]);
            out.extend_from_slice(nl);
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"--");
        out.extend_from_slice(nl);
        out.extend_from_slice(epilogue.as_bytes());
        out
    }

    fn arb_case() -> impl Strategy<
        Value = (
            Vec<u8>,
            Vec<ByteRange>,
            String,
            bool,
            String,
            String,
            Vec<usize>,
        ),
    > {
        prop::collection::vec(any::<u8>(), 1..400).prop_flat_map(|blob| {
            let n = blob.len() as u64;
            let ranges = prop::collection::vec((0..n, 1..=n), 0..6).prop_map(move |v| {
                v.into_iter()
                    .map(|(s, l)| ByteRange::new(s, (s + l).min(n)).unwrap())
                    .collect::<Vec<_>>()
            });
            (
                Just(blob),
                ranges,
                "[0-9A-Za-z'()+_,./:=?-]{1,70}",
                any::<bool>(),
                "([a-z ]{0,10}\r?\n){0,3}",
                "[a-z\r\n]{0,20}",
                prop::collection::vec(1usize..64, 0..40),
            )
        })
    }

    proptest! {
        #[test]
        fn round_trip_with_random_chunking((blob, ranges, boundary, crlf, preamble, epilogue, cuts) in arb_case()) {
            // A boundary may not end in a space; the regex never generates spaces.
            let body = build_body(&blob, &ranges, &boundary, crlf, &preamble, &epilogue);
            let mut chunks = Vec::new();
            let mut rest = &body[..];
            for cut in cuts {
                let (a, b) = rest.split_at(cut.min(rest.len()));
                chunks.push(a);
                rest = b;
            }
            chunks.push(rest);
            let c = parse_chunks(&boundary, &chunks, MultipartLimits::default()).unwrap();
            prop_assert!(c.done);
            prop_assert_eq!(c.ended, ranges.len());
            prop_assert_eq!(c.parts.len(), ranges.len());
            for ((header, bytes), r) in c.parts.iter().zip(&ranges) {
                prop_assert_eq!(header.range, *r);
                prop_assert_eq!(header.complete_length, Some(blob.len() as u64));
                prop_assert_eq!(&bytes[..], &blob[r.start() as usize..r.end() as usize]);
            }
        }

        #[test]
        fn chunking_does_not_change_the_result(body in prop::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let whole = parse("b", &body).map_err(|e| e.to_string());
            let bytewise = parse_bytewise("b", &body).map_err(|e| e.to_string());
            let (a, b) = body.split_at(cut.min(body.len()));
            let two = parse_chunks("b", &[a, b], MultipartLimits::default()).map_err(|e| e.to_string());
            prop_assert_eq!(whole.is_ok(), bytewise.is_ok());
            prop_assert_eq!(whole.is_ok(), two.is_ok());
            if let (Ok(w), Ok(x), Ok(y)) = (whole, bytewise, two) {
                prop_assert_eq!(&w, &x);
                prop_assert_eq!(&w, &y);
            }
        }
    }
}
