//! A mirror-aware HTTP range reader for blobs in OCI registries.
//!
//! This crate reads byte ranges of blobs (`/v2/<repo>/blobs/<digest>`) from an origin
//! registry and an ordered list of mirrors (pull-through caches, Dragonfly daemons, nginx),
//! with failover between them. It knows nothing of the eStargz format: it serves bytes.
//!
//! # What is here today: the sans-IO protocol core
//!
//! Every piece is a pure function or state machine over bytes and `http` values, so it can
//! be tested without a network and fuzzed:
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
//! * [`auth`]: `WWW-Authenticate` challenges, the token endpoint's reply, and a
//!   [`TokenCache`] that says when to refresh, with time passed in by the caller.
//! * [`config`]: mirror settings from stargz-snapshotter's resolver TOML or nydusd's JSON
//!   backend configuration, with warnings for ignored keys.
//!
//! # What it does not do
//!
//! * No network I/O, threads or clocks in this core. Nothing here sends a request.
//! * No knowledge of blob contents: verifying digests of what was read is the caller's
//!   job (the `estargz` crate verifies chunk digests).
//! * No caching of blob bytes.
//!
//! # Planned architecture
//!
//! On top of this core come a pure *policy* layer (endpoint order and failover, per-endpoint
//! learning of range support, redirects, retries with backoff and `Retry-After`, token
//! flow) that plans `http::Request`s and classifies `http::response::Parts`, and a thin
//! blocking `Transport` trait (send a request, get the head and a `Read` body) with a
//! default implementation on `ureq`. An async transport may follow behind a feature. The
//! range reader built on them implements the workspace's positioned-read trait.
//!
//! # Example
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

pub mod auth;
pub mod config;
pub mod content_range;
pub mod coverage;
pub mod error;
pub mod multipart;
pub mod range;
pub mod reply;

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
pub use crate::error::{Error, Result};
pub use crate::multipart::{Boundary, Event, MultipartLimits, MultipartParser, PartHeader};
pub use crate::range::{
    ByteRange, PlanOptions, RangePlan, RangeRequest, plan_ranges, range_header_value,
};
pub use crate::reply::{RangeReply, ReplyBody, classify_range_reply};
