//! A mirror-aware HTTP range reader for blobs in OCI registries.
//!
//! This crate reads byte ranges of blobs (`/v2/<repo>/blobs/<digest>`) from an origin
//! registry and an ordered list of mirrors (pull-through caches, Dragonfly daemons, nginx),
//! with failover between them on every request. It knows nothing of the eStargz format:
//! it serves bytes, and lets the caller check them.
//!
//! # Reading ranges
//!
//! [`RangeReader`] is the public face. Give it a [`MirrorConfig`] (built in code, or read
//! from a stargz-snapshotter TOML or nydusd JSON file with [`parse_config`]), a repository
//! and a digest, and ask for ranges:
//!
//! ```no_run
//! use estargz_mirror::{ByteRange, Endpoint, MirrorConfig, RangeReader};
//!
//! # #[cfg(not(feature = "ureq"))] fn main() {}
//! # #[cfg(feature = "ureq")]
//! # fn main() -> Result<(), estargz_mirror::Error> {
//! let mut config = MirrorConfig::new("docker.io", Endpoint::new("registry-1.docker.io")?);
//! config.mirrors.push(Endpoint::new("http://127.0.0.1:65001")?);
//! let digest = "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1";
//! // The size from the layer's descriptor; `None` learns it with a request for the
//! // blob's last 64 KiB, which are kept and serve later reads of them.
//! let reader = RangeReader::new(config, "library/ubuntu", digest, Some(32))?;
//! let parts = reader.read_ranges(&[ByteRange::new(0, 10)?, ByteRange::new(20, 32)?])?;
//! assert_eq!(parts[0].len(), 10);
//! for endpoint in reader.metrics().endpoints {
//!     println!("{}: {} requests", endpoint.endpoint, endpoint.requests);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! When the blob's size is not given, the reader learns it with one suffix-range request
//! (`Range: bytes=-N`, [`tail`]) and keeps the tail it brings, so opening an eStargz blob
//! (footer and TOC at the end) usually costs that one request in all.
//!
//! For each read the reader:
//!
//! * plans requests with [`plan_ranges`] (small gaps bridged, a cap on ranges per
//!   request);
//! * tries the mirrors in order and the origin last, each mirror request carrying
//!   `?ns=<registry>` (the OCI "Registry Proxying" rule; never sent to the origin) and the
//!   mirror's configured headers (such as `X-Dragonfly-Registry`);
//! * sends several ranges per request to endpoints that handle it, and learns, per
//!   endpoint, those that do not: a 400, 416 or 501, a whole-body 200, or only the first
//!   range served ([`MultiRange`]); those get single ranges from then on;
//! * checks every reply ([`classify_range_reply`], [`check_coverage`]), streams
//!   `multipart/byteranges` bodies through [`MultipartParser`], and asks again for
//!   exactly the bytes still missing (after a truncated body, a dropped part, a failover);
//! * reads a whole-body 200 (a cold pull-through cache, S3) only up to the last byte the
//!   read needs, serves every range of the read from that one body, and drops the
//!   connection; when that would read more than 10 % beyond the needed bytes
//!   ([`ReaderOptions::whole_body_overread_percent`]) and another endpoint is left, it
//!   drops the reply unread and asks the next endpoint (the mirror keeps filling its
//!   cache and serves ranges once warm);
//! * follows redirects itself (never carrying `Authorization` or configured headers to
//!   another host), caches the target per endpoint until it expires or is refused;
//! * answers Bearer challenges with tokens from the challenge's realm, cached per
//!   (realm, service, scope), fetched once however many threads need one, and renewed
//!   before they expire; origin credentials go only to the origin, or to mirrors
//!   configured to forward them;
//! * retries 408, 429 and 5xx other than 501, and network errors, with exponential
//!   back-off and jitter, honouring `Retry-After`; moves on when attempts run out, a mirror
//!   answers 403/404, or it cannot be reached; takes endpoints that keep failing out of
//!   rotation for a cooldown and probes them (with their ping URL when configured) before
//!   use;
//! * fetches identical ranges requested by several threads at once only once, passes the
//!   bytes to an optional caller verifier (e.g. a chunk digest) and fetches rejected bytes
//!   from the next endpoint;
//! * counts requests, bytes received, failures, fallbacks and retries per endpoint
//!   ([`RangeReader::metrics`]).
//!
//! Memory is bounded by what the caller asks for: bodies are streamed in 64 KiB pieces into
//! the caller's buffers, and bytes nobody asked for are dropped as they pass.
//!
//! # Design: a sans-IO core and a thin blocking transport
//!
//! Everything that decides is pure and tested without a network:
//!
//! * [`range`]: [`ByteRange`], the `Range` header, and [`plan_ranges`], which coalesces the
//!   ranges a reader needs into few requests: small gaps are always bridged, and when the
//!   caps on ranges per request, header length or number of requests bind, the cheapest gaps
//!   are bridged first (as containers/storage does).
//! * [`content_range`]: strict [`ContentRange`] parsing, including `bytes a-b/*` (which
//!   stargz-snapshotter's regular expression rejects) and `bytes */N`.
//! * [`reply`]: [`classify_range_reply`] says what a reply's body will hold: one range, a
//!   `multipart/byteranges` body, the whole blob (the server ignored `Range`), or nothing
//!   (416), after checking status, `Content-Range`, `Content-Length` and the blob length.
//! * [`multipart`]: [`MultipartParser`], an incremental `multipart/byteranges` parser that
//!   takes input in pieces of any size and hands out body bytes without buffering parts.
//! * [`coverage`]: [`check_coverage`] compares the parts received with the ranges asked
//!   for; parts may come in any order, merged, or be missing (first-range-only servers), and
//!   the report says which bytes to ask for again.
//! * [`tail`]: [`TailProbe`], the size probe: what a reply to `bytes=-N` says (206, a
//!   whole-body 200, a 416 to a suffix longer than the blob) and what to ask next.
//! * [`auth`]: `WWW-Authenticate` challenges, the token endpoint's reply, and a
//!   [`TokenCache`] that says when to refresh, with time passed in by the caller.
//! * [`config`]: mirror settings from stargz-snapshotter's resolver TOML or nydusd's JSON
//!   backend configuration, with warnings for ignored keys.
//! * [`policy`]: failover order, per-endpoint health and multi-range learning, what to do
//!   with each status, back-off and `Retry-After`, blob URLs with `ns`, redirect targets
//!   and their lifetime. Time and randomness are arguments.
//!
//! The loops that drive the policy (failover, retries and back-off, redirects, tokens,
//! single-flight, the size probe) are written once, as async code over a small private
//! I/O interface (send, read a body, sleep, wait for another task's result), and driven
//! two ways:
//!
//! * blocking ([`RangeReader`], the default): a [`Transport`] (send a `GET` as an
//!   `http::Request<()>`, get the status, headers and a `Read` body, with connect,
//!   first-byte and stalled-body timeouts), `std::thread::sleep` and condition
//!   variables, run by a few-line executor on the calling thread: no runtime is created;
//! * async (`AsyncRangeReader`, feature `reqwest`): `reqwest` and tokio timers on the
//!   caller's runtime, which it never replaces or nests.
//!
//! # What it does not do
//!
//! * It does not know the blob format: verifying digests is the caller's job (the
//!   `estargz` crate checks chunk digests; pass a verifier to
//!   [`RangeReader::read_ranges_verified`] to have rejected bytes fetched elsewhere).
//! * No cache of blob bytes, on disk or in memory, and no background prefetch.
//! * No hedged requests, and no request-rate budget per origin.
//! * No HTTP proxies (`HTTP_PROXY`) and no TLS client certificates.
//!
//! # Crate features
//!
//! * `ureq` (default): `UreqTransport`, a [`Transport`] on `ureq` 3 with rustls (ring,
//!   webpki roots), no content decoding and no automatic redirects. Without it, bring your
//!   own [`Transport`] and use [`RangeReader::with_transport`].
//! * `reqwest`: `AsyncRangeReader` and `ReqwestTransport`, the same reader as async
//!   methods over `reqwest` (rustls with ring, webpki roots; no HTTP/2, no proxies, no
//!   content decoding) on the caller's tokio runtime (its time driver must be enabled).
//!   Its futures are `Send`, and dropping one mid-read hands the ranges and tokens it
//!   was fetching for others back to them.
//! * `estargz`: implements `estargz::ReadAt` for [`RangeReader`], so `estargz`'s lazy,
//!   verified reader can open a blob straight from a registry; its batch reads become
//!   coalesced range requests. `RangeReader::open_estargz` opens the reader with its tail
//!   guess set to the kept tail, so footer and TOC come from the size probe's reply.
//! * `testing`: the `testing` module, a loopback HTTP server that replays registry and
//!   mirror quirks (multi-range refusals, ignored ranges, truncation, 429, expiring
//!   redirects, token and Basic auth, deterministic flakiness) and serves blobs by digest,
//!   for tests and demos. Std only; not for production traffic.
//!
//! # Example: the sans-IO pieces
//!
//! Plan a request for three ranges, then check a multipart reply to it:
//!
//! ```
//! use estargz_mirror::{
//!     ByteRange, Event, MultipartLimits, MultipartParser, PlanOptions, ReplyBody,
//!     check_coverage, classify_range_reply, plan_ranges,
//! };
//! use http::{HeaderMap, HeaderValue, StatusCode, header};
//!
//! # fn main() -> Result<(), estargz_mirror::Error> {
//! let wanted = [
//!     ByteRange::new(0, 100)?,
//!     ByteRange::new(150, 200)?,
//!     ByteRange::new(10_000, 10_010)?,
//! ];
//! let plan = plan_ranges(&wanted, &PlanOptions::default())?;
//! let request = &plan.requests()[0];
//! // The 50-byte gap is bridged; the large one is not.
//! assert_eq!(request.header_value(), "bytes=0-199,10000-10009");
//!
//! // A server answered with only the first range, as a multipart body.
//! let mut headers = HeaderMap::new();
//! headers.insert(
//!     header::CONTENT_TYPE,
//!     HeaderValue::from_static("multipart/byteranges; boundary=XYZ"),
//! );
//! let reply = classify_range_reply(request.ranges(), StatusCode::PARTIAL_CONTENT, &headers, None)?;
//! let ReplyBody::Multipart { boundary } = reply.body().clone() else { unreachable!() };
//!
//! let body = b"--XYZ\r\nContent-Range: bytes 0-199/20000\r\n\r\n";
//! let mut parser = MultipartParser::new(boundary, MultipartLimits::default());
//! let mut parts = Vec::new();
//! let mut received = 0;
//! let mut on_event = |event: Event<'_>| -> Result<(), estargz_mirror::Error> {
//!     match event {
//!         Event::PartStart(head) => parts.push(head.range),
//!         Event::Body(bytes) => received += bytes.len(),
//!         _ => {}
//!     }
//!     Ok(())
//! };
//! parser.feed(body, &mut on_event)?;
//! parser.feed(&[7u8; 200], &mut on_event)?;
//! parser.feed(b"\r\n--XYZ--\r\n", &mut on_event)?;
//! parser.finish(&mut on_event)?;
//! assert_eq!(received, 200);
//!
//! let report = check_coverage(&wanted, &parts, Some(20_000))?;
//! assert_eq!(report.satisfied(), &[0, 1]);
//! assert_eq!(report.missing(), &[ByteRange::new(10_000, 10_010)?]);
//! # Ok(())
//! # }
//! ```

mod assembly;
#[cfg(feature = "reqwest")]
pub mod async_reader;
pub mod auth;
pub mod config;
pub mod content_range;
pub mod coverage;
mod engine;
pub mod error;
#[cfg(feature = "estargz")]
mod estargz_source;
mod io;
pub mod multipart;
pub mod policy;
pub mod range;
pub mod reader;
pub mod reply;
pub mod tail;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transport;

#[cfg(feature = "reqwest")]
pub use crate::async_reader::{AsyncRangeReader, ReqwestTransport};
pub use crate::auth::{
    BearerChallenge, Challenge, Secret, TokenCache, TokenKey, TokenResponse, TokenState,
    challenges_from_headers, parse_www_authenticate,
};
pub use crate::config::{
    ConfigWarning, Endpoint, LoadedConfig, MirrorConfig, OriginCredentials, WarningKind,
    parse_config, parse_nydus_json, parse_stargz_toml,
};
pub use crate::content_range::ContentRange;
pub use crate::coverage::{CoverageReport, check_coverage};
pub use crate::error::{Error, LimitKind, Result, TransportErrorKind};
pub use crate::multipart::{Boundary, Event, MultipartLimits, MultipartParser, PartHeader};
pub use crate::policy::{Availability, HealthPolicy, MultiRange, RetryPolicy, Role};
pub use crate::range::{
    ByteRange, PlanOptions, RangePlan, RangeRequest, plan_ranges, range_header_value,
};
pub use crate::reader::{
    EndpointMetrics, EndpointStatus, Metrics, RangeReader, ReaderOptions, Verifier,
};
pub use crate::reply::{RangeReply, ReplyBody, classify_range_reply};
pub use crate::tail::{ProbeStep, TailProbe};
#[cfg(feature = "ureq")]
pub use crate::transport::UreqTransport;
pub use crate::transport::{Reply, SendOptions, Timeouts, Transport};
