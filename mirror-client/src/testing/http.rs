//! A deliberately small HTTP/1.1 request reader with hard limits, and the reply writer.
//!
//! Only what a registry client sends is accepted: an origin-form request line, header
//! lines, and at most a small `Content-Length` body (read and dropped). Anything else is
//! an error, and the connection is closed after a short error reply.

use std::fmt::Write as _;
use std::io::{self, BufRead, Read, Write};

use http::StatusCode;

/// Bounds on what one request may contain.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Longest request or header line, line ending included.
    pub(super) line: usize,
    /// Most header lines.
    pub(super) headers: usize,
    /// Most bytes in the request line and the header lines together.
    pub(super) head: usize,
    /// Largest `Content-Length` body, which is read and dropped.
    pub(super) body: u64,
}

impl Limits {
    pub(super) const DEFAULT: Self = Self {
        line: 8 * 1024,
        headers: 100,
        head: 64 * 1024,
        body: 64 * 1024,
    };
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Option<String>,
    /// Names lower-cased, values trimmed.
    pub(super) headers: Vec<(String, String)>,
    /// The client asked for (or, with HTTP/1.0, implied) the end of the connection.
    pub(super) close: bool,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

/// Why a request could not be read. Every case ends the connection.
#[derive(Debug)]
pub(super) enum RequestError {
    /// Reading failed (timeout, reset) or the peer closed in the middle of a request.
    Io,
    /// A request or header line is longer than [`Limits::line`].
    LineTooLong,
    /// More than [`Limits::headers`] header lines.
    TooManyHeaders,
    /// The head is larger than [`Limits::head`].
    HeadTooLarge,
    /// A body larger than [`Limits::body`], or chunked.
    BodyNotAccepted,
    /// Not an HTTP/1.x request as this server understands it.
    Malformed,
}

impl RequestError {
    /// The status to answer with before closing, if the peer may still be listening.
    pub(super) fn status(&self) -> Option<u16> {
        match self {
            Self::Io => None,
            Self::LineTooLong | Self::TooManyHeaders | Self::HeadTooLarge => Some(431),
            Self::BodyNotAccepted => Some(413),
            Self::Malformed => Some(400),
        }
    }
}

/// Reads one request. `Ok(None)`: the peer closed the connection between requests.
pub(super) fn read_request(
    reader: &mut impl BufRead,
    limits: &Limits,
) -> Result<Option<Request>, RequestError> {
    let mut budget = limits.head;
    let Some(line) = read_line(reader, limits.line, &mut budget)? else {
        return Ok(None);
    };
    let (method, target, http10) = parse_request_line(&line)?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, limits.line, &mut budget)?.ok_or(RequestError::Io)?;
        if line.is_empty() {
            break;
        }
        if headers.len() == limits.headers {
            return Err(RequestError::TooManyHeaders);
        }
        headers.push(parse_header_line(&line)?);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let connection = |token: &str| {
        headers
            .iter()
            .filter(|(n, _)| n == "connection")
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let close = connection("close") || (http10 && !connection("keep-alive"));
    let request = Request {
        method: method.to_owned(),
        path,
        query,
        headers,
        close,
    };
    skip_body(reader, &request, limits)?;
    Ok(Some(request))
}

/// Reads one line of at most `max` bytes (and at most `budget`, which it lowers),
/// returning it without its `\r\n` or `\n`. `Ok(None)`: end of input before any byte.
fn read_line(
    reader: &mut impl BufRead,
    max: usize,
    budget: &mut usize,
) -> Result<Option<String>, RequestError> {
    let cap = max.min(*budget);
    let mut buf = Vec::new();
    // One byte more than allowed tells "too long" from "exactly at the limit".
    let take = u64::try_from(cap).map_or(u64::MAX, |c| c.saturating_add(1));
    let n = reader
        .take(take)
        .read_until(b'\n', &mut buf)
        .map_err(|_| RequestError::Io)?;
    if n == 0 {
        return Ok(None);
    }
    if n > cap {
        return Err(if cap < max {
            RequestError::HeadTooLarge
        } else {
            RequestError::LineTooLong
        });
    }
    if buf.last() != Some(&b'\n') {
        return Err(RequestError::Io); // the peer closed mid-line
    }
    *budget -= n; // n <= cap <= budget
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| RequestError::Malformed)
}

/// `METHOD SP /target SP HTTP/1.x` into (method, target, is HTTP/1.0).
fn parse_request_line(line: &str) -> Result<(&str, &str, bool), RequestError> {
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed);
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(RequestError::Malformed),
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    let target_ok = target.starts_with('/') && target.bytes().all(|b| b.is_ascii_graphic());
    if !method_ok || !target_ok {
        return Err(RequestError::Malformed);
    }
    Ok((method, target, http10))
}

/// `Name: value` into (lower-cased name, trimmed value). No obsolete line folding.
fn parse_header_line(line: &str) -> Result<(String, String), RequestError> {
    let (name, value) = line.split_once(':').ok_or(RequestError::Malformed)?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(RequestError::Malformed);
    }
    Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
}

/// Reads and drops a small `Content-Length` body; refuses chunked or large ones.
fn skip_body(
    reader: &mut impl BufRead,
    request: &Request,
    limits: &Limits,
) -> Result<(), RequestError> {
    if request.header("transfer-encoding").is_some() {
        return Err(RequestError::BodyNotAccepted);
    }
    let Some(length) = request.header("content-length") else {
        return Ok(());
    };
    let length: u64 = length.parse().map_err(|_| RequestError::Malformed)?;
    if length > limits.body {
        return Err(RequestError::BodyNotAccepted);
    }
    let copied =
        io::copy(&mut reader.take(length), &mut io::sink()).map_err(|_| RequestError::Io)?;
    if copied == length {
        Ok(())
    } else {
        Err(RequestError::Io)
    }
}

/// The status line and headers of a reply whose body is `length` bytes.
pub(super) fn head(status: u16, headers: &[(&str, &str)], length: usize, close: bool) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut h = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\n");
    for (name, value) in headers {
        // Writing to a String cannot fail.
        let _ = write!(h, "{name}: {value}\r\n");
    }
    if close {
        h.push_str("Connection: close\r\n");
    }
    h.push_str("\r\n");
    h
}

/// Writes a complete reply (no body for `HEAD`).
pub(super) fn write_reply(
    out: &mut impl Write,
    request: &Request,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let h = head(status, headers, body.len(), request.close);
    out.write_all(h.as_bytes())?;
    if !request.is_head() {
        out.write_all(body)?;
    }
    out.flush()
}

/// Writes an empty error reply that announces the end of the connection.
pub(super) fn write_error(out: &mut impl Write, status: u16) -> io::Result<()> {
    out.write_all(head(status, &[], 0, true).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        line: 32,
        headers: 2,
        head: 64,
        body: 4,
    };

    fn read(input: &[u8], limits: &Limits) -> Result<Option<Request>, RequestError> {
        read_request(&mut io::Cursor::new(input), limits)
    }

    #[test]
    fn reads_requests_one_after_another() {
        let mut input = io::Cursor::new(
            &b"GET /v2/a/blobs/d?ns=x HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n\
               HEAD /p HTTP/1.0\n\n"[..],
        );
        let limits = Limits::DEFAULT;
        let first = read_request(&mut input, &limits).unwrap().unwrap();
        assert_eq!(first.method, "GET");
        assert_eq!(first.path, "/v2/a/blobs/d");
        assert_eq!(first.query.as_deref(), Some("ns=x"));
        assert_eq!(first.header("range"), Some("bytes=0-1"));
        assert!(!first.close);
        let second = read_request(&mut input, &limits).unwrap().unwrap();
        assert!(second.is_head());
        assert!(second.close, "HTTP/1.0 without keep-alive");
        assert!(read_request(&mut input, &limits).unwrap().is_none());
    }

    #[test]
    fn line_length_is_bounded() {
        // 30 bytes + CRLF = 32: at the limit.
        let ok = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(16));
        assert!(read(ok.as_bytes(), &SMALL).unwrap().is_some());
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(17));
        assert!(matches!(
            read(long.as_bytes(), &SMALL),
            Err(RequestError::LineTooLong)
        ));
        // A line that never ends is cut at the limit, not read forever.
        let endless = vec![b'G'; 10_000];
        assert!(matches!(
            read(&endless, &SMALL),
            Err(RequestError::LineTooLong)
        ));
    }

    #[test]
    fn header_count_and_head_size_are_bounded() {
        let two = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n";
        assert_eq!(read(two, &SMALL).unwrap().unwrap().headers.len(), 2);
        let three = b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        assert!(matches!(
            read(three, &SMALL),
            Err(RequestError::TooManyHeaders)
        ));
        let wide = Limits {
            headers: 100,
            ..SMALL
        };
        let big = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "x: 0123456789abcdef\r\n".repeat(3)
        );
        let err = read(big.as_bytes(), &wide).unwrap_err();
        assert!(matches!(err, RequestError::HeadTooLarge));
        assert_eq!(err.status(), Some(431));
    }

    #[test]
    fn garbage_is_rejected() {
        for input in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"[..],
            b"GET\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET http://x/ HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        ] {
            let err = read(input, &SMALL).unwrap_err();
            assert!(matches!(err, RequestError::Malformed), "{input:?}: {err:?}");
            assert_eq!(err.status(), Some(400));
        }
    }

    #[test]
    fn bodies_are_small_or_refused_and_truncation_is_an_error() {
        let mut input = io::Cursor::new(
            &b"POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nbodyGET /b HTTP/1.1\r\n\r\n"[..],
        );
        assert_eq!(
            read_request(&mut input, &SMALL).unwrap().unwrap().path,
            "/a"
        );
        assert_eq!(
            read_request(&mut input, &SMALL).unwrap().unwrap().path,
            "/b"
        );
        let large = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nbody!";
        assert!(matches!(
            read(large, &SMALL),
            Err(RequestError::BodyNotAccepted)
        ));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(
            read(chunked, &SMALL),
            Err(RequestError::BodyNotAccepted)
        ));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nRange: by", &SMALL),
            Err(RequestError::Io)
        ));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\n", &SMALL),
            Err(RequestError::Io)
        ));
    }

    #[test]
    fn replies_carry_length_reason_and_close() {
        let request = read(b"HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n", &SMALL)
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        write_reply(
            &mut out,
            &request,
            206,
            &[("Content-Range", "bytes 0-1/9")],
            b"ab",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 206 Partial Content\r\nContent-Length: 2\r\n\
             Content-Range: bytes 0-1/9\r\nConnection: close\r\n\r\n"
        );
    }
}
