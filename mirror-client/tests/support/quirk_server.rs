//! A loopback HTTP/1.1 server that serves one blob with scripted quirks, for tests.
//!
//! One thread per connection, keep-alive supported, every request logged (server label,
//! path, query, headers) into a log shared by all servers of a test, so tests can assert
//! which endpoint was tried, in what order, with which headers.

#![allow(dead_code)] // Each test binary uses a different subset.
#![allow(clippy::unwrap_used)] // Test support: a failure here is a test failure.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the server answers a blob request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Single ranges as 206, several as `multipart/byteranges`.
    Honour,
    /// 200 with the whole blob, whatever the `Range`.
    IgnoreRange,
    /// Several ranges: this status (400, 416 or 501); one range: honoured.
    RefuseMulti(u16),
    /// Several ranges: a plain 206 holding only the first (Dragonfly Rust dfdaemon).
    FirstRangeOnly,
    /// Honour, but with `Content-Range: bytes a-b/*` (single ranges only).
    StarTotal,
    /// Honour, but cut the body after this many bytes and close.
    Truncate(usize),
    /// Honour, but send this many body bytes, then stall for the duration, then close.
    Stall(usize, Duration),
    /// This status with an empty body.
    Status(u16),
    /// 429 with `Retry-After: N`.
    TooMany(u64),
    /// Redirect with this status to `{target}/storage/blob?exp=<ms>`; the storage server
    /// refuses (403) after `ttl`.
    Redirect {
        /// 301, 302, 303 or 307.
        status: u16,
        /// The storage server's base URL.
        target: String,
        /// How long the signed URL is valid.
        ttl: Duration,
    },
    /// Serve the blob wherever the path ends in `/storage/blob`, checking `exp`.
    Storage,
    /// Answer with these bytes instead of the blob's (a mirror serving the wrong object).
    Corrupt,
    /// Wait, then honour.
    Delay(Duration),
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The server's label.
    pub server: String,
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Entry {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The log shared by the servers of one test.
pub type Log = Arc<Mutex<Vec<Entry>>>;

/// A new, empty log.
pub fn new_log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

struct Shared {
    label: String,
    blob: Arc<Vec<u8>>,
    log: Log,
    default: Mutex<Behaviour>,
    once: Mutex<VecDeque<Behaviour>>,
    /// Bearer token required on blob requests, if set.
    token: Mutex<Option<String>>,
    /// `Authorization: Basic ...` value required on blob requests, if set.
    basic: Mutex<Option<String>>,
    token_fetches: AtomicU64,
    token_expires_in: AtomicU64,
    stopped: AtomicBool,
    base: String,
}

/// A running quirk server. Stops when dropped.
pub struct Server {
    shared: Arc<Shared>,
    port: u16,
}

impl Server {
    /// Starts a server labelled `label` serving `blob` with `behaviour`.
    pub fn start(label: &str, blob: Arc<Vec<u8>>, log: &Log, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            label: label.to_owned(),
            blob,
            log: Arc::clone(log),
            default: Mutex::new(behaviour),
            once: Mutex::new(VecDeque::new()),
            token: Mutex::new(None),
            basic: Mutex::new(None),
            token_fetches: AtomicU64::new(0),
            token_expires_in: AtomicU64::new(300),
            stopped: AtomicBool::new(false),
            base: format!("http://127.0.0.1:{port}"),
        });
        let s = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = Arc::clone(&s);
                thread::spawn(move || serve_connection(&s, stream));
            }
        });
        Self { shared, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.shared.base.clone()
    }

    /// `127.0.0.1:PORT`.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Changes the behaviour for later requests.
    pub fn set(&self, b: Behaviour) {
        *self.shared.default.lock().unwrap() = b;
    }

    /// Uses `b` for the next blob request only (queued after earlier one-shots).
    pub fn once(&self, b: Behaviour) {
        self.shared.once.lock().unwrap().push_back(b);
    }

    /// Demands `Authorization: Bearer TOKEN` on blob requests, with the token endpoint
    /// at `/token` on this server.
    pub fn require_token(&self, token: &str, expires_in: u64) {
        *self.shared.token.lock().unwrap() = Some(token.to_owned());
        self.shared
            .token_expires_in
            .store(expires_in, Ordering::SeqCst);
    }

    /// Demands `Authorization: Basic CREDENTIALS` on blob requests.
    pub fn require_basic(&self, credentials: &str) {
        *self.shared.basic.lock().unwrap() = Some(credentials.to_owned());
    }

    /// How many times `/token` was fetched.
    pub fn token_fetches(&self) -> u64 {
        self.shared.token_fetches.load(Ordering::SeqCst)
    }

    /// Stops accepting and closes connections at their next request.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Deterministic blob bytes.
pub fn blob(len: usize) -> Arc<Vec<u8>> {
    Arc::new(
        (0..len)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
            .collect(),
    )
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn serve_connection(s: &Shared, stream: TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        if s.stopped.load(Ordering::SeqCst) {
            let _ = out.shutdown(Shutdown::Both);
            return;
        }
        let target = line.split(' ').nth(1).unwrap_or("/").to_owned();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.clone(), None),
        };
        let entry = Entry {
            server: s.label.clone(),
            method: line.split(' ').next().unwrap_or("").to_owned(),
            path: path.clone(),
            query: query.clone(),
            headers,
        };
        s.log.lock().unwrap().push(entry.clone());
        if !respond(s, &mut out, &entry) {
            let _ = out.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Writes one reply; returns whether the connection may be reused.
fn respond(s: &Shared, out: &mut TcpStream, e: &Entry) -> bool {
    if e.path == "/token" {
        s.token_fetches.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50)); // widen the window for concurrent callers
        let token = s.token.lock().unwrap().clone().unwrap_or_default();
        let body = format!(
            r#"{{"token":"{token}","expires_in":{}}}"#,
            s.token_expires_in.load(Ordering::SeqCst)
        );
        return write_reply(out, 200, &[], body.as_bytes());
    }
    if e.path == "/ping" {
        return write_reply(out, 200, &[], b"");
    }
    let behaviour = s
        .once
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| s.default.lock().unwrap().clone());
    let storage = matches!(behaviour, Behaviour::Storage);
    if !storage
        && let Some(token) = s.token.lock().unwrap().clone()
        && e.header("authorization") != Some(&format!("Bearer {token}"))
    {
        let challenge = format!(
            r#"Bearer realm="{}/token",service="quirk",scope="repository:library/test:pull""#,
            s.base
        );
        return write_reply(out, 401, &[("WWW-Authenticate", &challenge)], b"");
    }
    if !storage
        && let Some(basic) = s.basic.lock().unwrap().clone()
        && e.header("authorization") != Some(&format!("Basic {basic}"))
    {
        let challenge = r#"Basic realm="quirk""#;
        return write_reply(out, 401, &[("WWW-Authenticate", challenge)], b"");
    }
    let blob = &s.blob;
    let ranges = e.header("range").map(parse_ranges).unwrap_or_default();
    match behaviour {
        Behaviour::Status(code) => write_reply(out, code, &[], b""),
        Behaviour::TooMany(secs) => {
            write_reply(out, 429, &[("Retry-After", &secs.to_string())], b"")
        }
        Behaviour::IgnoreRange => write_reply(out, 200, &[], blob),
        Behaviour::Corrupt => {
            let bad: Vec<u8> = blob.iter().map(|b| b ^ 0xff).collect();
            serve_ranges(out, &bad, &ranges, false)
        }
        Behaviour::Redirect {
            status,
            target,
            ttl,
        } => {
            let exp = now_ms() + ttl.as_millis();
            let location = format!("{target}/storage/blob?exp={exp}&X-Amz-Signature=abc");
            write_reply(out, status, &[("Location", &location)], b"")
        }
        Behaviour::Storage => {
            let exp: u128 = e
                .query
                .as_deref()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("exp=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if now_ms() > exp {
                return write_reply(out, 403, &[], b"expired");
            }
            serve_ranges(out, blob, &ranges, false)
        }
        Behaviour::RefuseMulti(code) if ranges.len() > 1 => write_reply(out, code, &[], b""),
        Behaviour::FirstRangeOnly if ranges.len() > 1 => {
            serve_ranges(out, blob, &ranges[..1], false)
        }
        Behaviour::StarTotal => serve_ranges(out, blob, &ranges, true),
        Behaviour::Delay(d) => {
            thread::sleep(d);
            serve_ranges(out, blob, &ranges, false)
        }
        Behaviour::Truncate(n) => {
            let (head, body) = build(blob, &ranges, false);
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(&body[..n.min(body.len())]);
            let _ = out.flush();
            false
        }
        Behaviour::Stall(n, d) => {
            let (head, body) = build(blob, &ranges, false);
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(&body[..n.min(body.len())]);
            let _ = out.flush();
            thread::sleep(d);
            false
        }
        _ => serve_ranges(out, blob, &ranges, false),
    }
}

fn serve_ranges(out: &mut TcpStream, blob: &[u8], ranges: &[(usize, usize)], star: bool) -> bool {
    let (head, body) = build(blob, ranges, star);
    out.write_all(head.as_bytes()).is_ok() && out.write_all(&body).is_ok() && out.flush().is_ok()
}

/// The reply head and body for `ranges` (inclusive pairs) of `blob`.
fn build(blob: &[u8], ranges: &[(usize, usize)], star: bool) -> (String, Vec<u8>) {
    let total = blob.len();
    let total_s = if star {
        "*".to_owned()
    } else {
        total.to_string()
    };
    let valid: Vec<(usize, usize)> = ranges
        .iter()
        .copied()
        .filter(|&(a, b)| a <= b && b < total)
        .collect();
    match valid.as_slice() {
        [] if ranges.is_empty() => (head(200, &[], total), blob.to_vec()),
        [] => (
            head(416, &[("Content-Range", &format!("bytes */{total}"))], 0),
            Vec::new(),
        ),
        [(a, b)] => {
            let cr = format!("bytes {a}-{b}/{total_s}");
            let body = blob[*a..=*b].to_vec();
            (head(206, &[("Content-Range", &cr)], body.len()), body)
        }
        many => {
            let mut body = Vec::new();
            for (a, b) in many {
                body.extend_from_slice(
                    format!(
                        "--QUIRK\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {a}-{b}/{total_s}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(&blob[*a..=*b]);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"--QUIRK--\r\n");
            let ct = "multipart/byteranges; boundary=QUIRK";
            (head(206, &[("Content-Type", ct)], body.len()), body)
        }
    }
}

fn head(status: u16, extra: &[(&str, &str)], len: usize) -> String {
    let mut h = format!("HTTP/1.1 {status} X\r\nContent-Length: {len}\r\n");
    for (n, v) in extra {
        h.push_str(&format!("{n}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

fn write_reply(out: &mut TcpStream, status: u16, extra: &[(&str, &str)], body: &[u8]) -> bool {
    let h = head(status, extra, body.len());
    out.write_all(h.as_bytes()).is_ok() && out.write_all(body).is_ok() && out.flush().is_ok()
}

/// Parses `bytes=a-b,c-d` into inclusive pairs; anything unparsable is dropped.
fn parse_ranges(v: &str) -> Vec<(usize, usize)> {
    let Some(specs) = v.strip_prefix("bytes=") else {
        return Vec::new();
    };
    specs
        .split(',')
        .filter_map(|spec| {
            let (a, b) = spec.trim().split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

/// Reads everything from a reader (helper for tests that talk to the server directly).
pub fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = r.read_to_end(&mut v);
    v
}
