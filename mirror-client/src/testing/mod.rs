//! A loopback HTTP/1.1 server that replays registry, CDN and mirror quirks, for tests and
//! demos (crate feature `testing`).
//!
//! A [`Server`] listens on `127.0.0.1` (never another interface) on a free port and
//! answers blob requests with a scripted [`Behaviour`]: honest ranges, `Range` ignored,
//! multi-range refused with 400/416/501, only the first range served, `bytes a-b/*`,
//! truncated or stalled bodies, error statuses, 429 with `Retry-After`, redirects to
//! expiring signed URLs, corrupt bytes, delays, and [`Behaviour::Flaky`] (every n-th request
//! fails, deterministically). It can also demand a Bearer token (with its own `/token`
//! endpoint) or Basic credentials, as registries do (spec `mirror-behaviour.md` §2.7 and
//! §7 item 13).
//!
//! A server holds either one blob, served at every path ([`Server::start`]), or several
//! blobs by digest under `/v2/<repo>/blobs/<digest>` ([`Server::start_registry`], a small
//! in-process registry). Every request is appended to a [`Log`] that several servers can
//! share, so a test can check which endpoint was asked, in what order, with which headers.
//!
//! # Limits
//!
//! The server is meant for loopback tests, but it still bounds what a client can make it
//! do: request lines and header lines of at most 8 KiB, at most 100 header lines and 64 KiB
//! of head, request bodies of at most 64 KiB (read and dropped; chunked ones refused),
//! 256 connections at once, and 5 s without a request (10 s for a blocked write) before a
//! connection is closed. A connection that sends something other than an HTTP/1.x request
//! gets a 400 (or 413, 431) and is closed. It never panics on what clients send; a
//! connection whose socket fails just ends.
//!
//! Every connection has its own thread. Dropping the [`Server`] (or calling
//! [`Server::stop`]) stops accepting, shuts the open connections down, wakes sleeping
//! quirks, and waits for the accepting thread only.
//!
//! # Example: a registry with a quirk
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::sync::Arc;
//!
//! use estargz_mirror::testing::{Behaviour, Log, Server, blob};
//!
//! # fn main() -> std::io::Result<()> {
//! let log = Log::new();
//! let data = blob(1000);
//! let digest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
//! // A registry that refuses multi-range requests with 501, as GHCR's CDN does.
//! let blobs = vec![(digest.to_owned(), Arc::clone(&data))];
//! let registry = Server::start_registry("origin", blobs, &log, Behaviour::RefuseMulti(501))?;
//!
//! let get = |range: &str| -> std::io::Result<Vec<u8>> {
//!     let mut conn = TcpStream::connect(registry.addr())?;
//!     write!(
//!         conn,
//!         "GET /v2/library/demo/blobs/{digest} HTTP/1.1\r\nHost: {}\r\n\
//!          Range: {range}\r\nConnection: close\r\n\r\n",
//!         registry.authority(),
//!     )?;
//!     let mut reply = Vec::new();
//!     conn.read_to_end(&mut reply)?;
//!     Ok(reply)
//! };
//! let one = get("bytes=10-19")?;
//! assert!(one.starts_with(b"HTTP/1.1 206 Partial Content\r\n"));
//! assert!(one.ends_with(&data[10..20]));
//! let two = get("bytes=0-9,20-29")?;
//! assert!(two.starts_with(b"HTTP/1.1 501 Not Implemented\r\n"));
//!
//! let entries = log.entries();
//! assert_eq!(entries.len(), 2);
//! assert_eq!(entries[0].server, "origin");
//! assert_eq!(entries[1].header("range"), Some("bytes=0-9,20-29"));
//! # Ok(())
//! # }
//! ```
//!
//! # Example: a deliberately flaky mirror in front of a registry
//!
//! With the `ureq` feature, a [`RangeReader`](crate::RangeReader) reads through a mirror
//! that fails every second request with a 503; every read still returns the right bytes.
//!
//! ```
//! # #[cfg(feature = "ureq")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use estargz_mirror::testing::{Behaviour, Log, Server, blob};
//! use estargz_mirror::{ByteRange, Endpoint, MirrorConfig, RangeReader};
//!
//! let log = Log::new();
//! let data = blob(4096);
//! let digest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
//! let blobs = vec![(digest.to_owned(), Arc::clone(&data))];
//! let origin = Server::start_registry("origin", blobs.clone(), &log, Behaviour::Honour)?;
//! let flaky = Behaviour::flaky(2, Behaviour::Status(503));
//! let mirror = Server::start_registry("mirror", blobs, &log, flaky)?;
//!
//! let mut config = MirrorConfig::new(origin.authority(), Endpoint::new(&origin.url())?);
//! config.mirrors.push(Endpoint::new(&mirror.url())?);
//! let reader = RangeReader::new(config, "library/demo", digest, Some(4096))?;
//! for start in [0, 1000, 2000, 3000] {
//!     let parts = reader.read_ranges(&[ByteRange::new(start, start + 10)?])?;
//!     let start = start as usize;
//!     assert_eq!(&parts[0][..], &data[start..start + 10]);
//! }
//! let servers: Vec<String> = log.entries().into_iter().map(|e| e.server).collect();
//! assert_eq!(servers[0], "mirror");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "ureq"))]
//! # fn main() {}
//! ```

mod behaviour;
mod http;
mod log;
mod ranges;
mod respond;
mod server;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use self::behaviour::Behaviour;
pub use self::log::{Entry, Log};
pub use self::server::Server;

/// `len` deterministic, non-repeating-looking bytes: a blob whose ranges are easy to
/// tell apart.
pub fn blob(len: usize) -> Arc<Vec<u8>> {
    // Truncation to a byte is the point.
    Arc::new(
        (0..len)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
            .collect(),
    )
}

/// Locks `mutex`, recovering the data if a thread panicked while holding it (the data
/// here stays consistent whatever the panic: counters, queues, a log).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use super::*;

    const DIGEST: &str = "sha256:aa";

    fn get(server: &Server, path: &str) -> String {
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        write!(conn, "GET {path} HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = Vec::new();
        conn.read_to_end(&mut reply).unwrap();
        String::from_utf8_lossy(&reply).into_owned()
    }

    fn registry(behaviour: Behaviour) -> (Server, Log) {
        let log = Log::new();
        let blobs = vec![(DIGEST.to_owned(), blob(100))];
        let server = Server::start_registry("r", blobs, &log, behaviour).unwrap();
        (server, log)
    }

    #[test]
    fn registry_serves_known_digests_only() {
        let (server, log) = registry(Behaviour::Honour);
        assert!(get(&server, "/v2/a/b/blobs/sha256:aa").starts_with("HTTP/1.1 200 OK"));
        assert!(get(&server, "/v2/a/blobs/sha256:bb").starts_with("HTTP/1.1 404"));
        assert!(get(&server, "/v2/a/manifests/x").starts_with("HTTP/1.1 404"));
        assert!(get(&server, "/v2/").contains("registry/2.0"));
        assert_eq!(log.len(), 4);
    }

    #[test]
    fn flaky_server_fails_every_nth_blob_request() {
        let (server, _log) = registry(Behaviour::flaky(3, Behaviour::Status(503)));
        let path = format!("/v2/a/blobs/{DIGEST}");
        let codes: Vec<String> = (0..6)
            .map(|_| get(&server, &path)[9..12].to_owned())
            .collect();
        assert_eq!(codes, ["200", "200", "503", "200", "200", "503"]);
        // `set` restarts the count; pings do not count.
        server.set(Behaviour::flaky(2, Behaviour::TooMany(7)));
        assert!(get(&server, "/ping").starts_with("HTTP/1.1 200"));
        assert!(get(&server, &path).starts_with("HTTP/1.1 200"));
        assert!(get(&server, &path).contains("Retry-After: 7"));
    }

    #[test]
    fn garbage_gets_an_error_and_the_connection_closes() {
        let (server, log) = registry(Behaviour::Honour);
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        conn.write_all(b"\x16\x03\x01 hello\r\n\r\n").unwrap();
        let mut reply = String::new();
        conn.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
        assert!(log.is_empty());
    }

    #[test]
    fn stop_wakes_stalls_and_does_not_hang() {
        let (server, _log) = registry(Behaviour::Delay(Duration::from_secs(30)));
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        write!(conn, "GET /v2/a/blobs/{DIGEST} HTTP/1.1\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        drop(server);
        let mut reply = Vec::new();
        let _ = conn.read_to_end(&mut reply);
        assert!(reply.is_empty());
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
}
