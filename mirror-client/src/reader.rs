//! [`RangeReader`]: blocking, mirror-aware reads of byte ranges of one blob.
//!
//! Each read plans its ranges ([`plan_ranges`]), tries the endpoints in failover order
//! (mirrors, then the origin), sends each endpoint what it has shown it can take (several
//! ranges per request, or one), checks every reply against what was asked
//! ([`classify_range_reply`], [`check_coverage`]), keeps what arrived, and asks the next
//! request (or the next endpoint) for exactly what is still missing.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, StatusCode, Uri};

use crate::assembly::{Assembly, merge};
use crate::auth::{
    Secret, TokenCache, TokenKey, TokenResponse, TokenState, challenges_from_headers,
};
use crate::config::{Endpoint, MirrorConfig};
use crate::coverage::check_coverage;
use crate::error::{Error, Result, TransportErrorKind};
use crate::multipart::{Event, MultipartLimits, MultipartParser};
use crate::policy::{
    self, Availability, Decision, EndpointState, HealthPolicy, MultiRange, RetryPolicy, Role,
};
use crate::range::{ByteRange, PlanOptions, plan_ranges, range_header_value};
use crate::reply::{ReplyBody, classify_range_reply};
use crate::tail::{ProbeStep, TailProbe};
use crate::transport::{Reply, SendOptions, Timeouts, Transport};

/// Size of the buffer bodies are read with.
const READ_CHUNK: usize = 64 * 1024;
/// The most bytes of a token endpoint's reply that are read.
const MAX_TOKEN_REPLY: u64 = 1024 * 1024;
/// How long a reader waits for another thread's fetch (of a token or of the same range)
/// before doing it itself.
const FLIGHT_WAIT: Duration = Duration::from_secs(120);

/// A check of the bytes read for one requested range, e.g. a chunk digest. Return `false`
/// to reject them: they are fetched again from the next endpoint.
pub type Verifier<'a> = &'a (dyn Fn(ByteRange, &[u8]) -> bool + Sync);

/// Settings for a [`RangeReader`]. Every field has a sensible default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReaderOptions {
    /// How ranges are coalesced into requests. The default bridges gaps up to 1024 bytes,
    /// puts at most 1024 ranges in one request, and splits into as many requests as
    /// needed rather than bridging large gaps (`max_requests = usize::MAX`).
    pub plan: PlanOptions,
    /// Retries and back-off.
    pub retry: RetryPolicy,
    /// Health checks and how long learned behaviour is kept.
    pub health: HealthPolicy,
    /// Connect timeout when the endpoint sets none. Default 10 s.
    pub connect_timeout: Duration,
    /// Time to the reply head; an endpoint's `request_timeout` lowers it. Default 30 s.
    pub first_byte_timeout: Duration,
    /// The longest a body may make no progress; an endpoint's `request_timeout` lowers
    /// it. Default 30 s.
    pub stall_timeout: Duration,
    /// The most redirects followed for one request. Default 5.
    pub max_redirects: u32,
    /// How long a redirect target is reused when its URL declares no expiry. Default 10
    /// minutes.
    pub redirect_ttl: Duration,
    /// When a mirror that is not the last endpoint answers with the whole blob (a cold
    /// pull-through cache), it is read up to the last needed byte only if that lies within
    /// this many bytes; otherwise the request goes to the next endpoint. The last endpoint
    /// is always read as far as needed. Default 64 MiB.
    pub whole_body_skip_limit: u64,
    /// The most bytes one call may ask for. Default 1 GiB.
    pub max_read_bytes: u64,
    /// Limits for `multipart/byteranges` bodies.
    pub multipart: MultipartLimits,
    /// Tokens are renewed this long before they expire. Default 20 s.
    pub token_refresh_margin: Duration,
    /// When the blob's size is not given, it is learned with a request for the blob's last
    /// this many bytes (`Range: bytes=-N`, see [`tail`](crate::tail)), and those bytes are
    /// kept for the reader's lifetime: reads that fall in them (an eStargz footer and TOC)
    /// cost no request, and reads that overlap them fetch only the rest. Default 64 KiB,
    /// the `estargz` reader's default tail guess; 0 keeps nothing beyond one byte.
    pub tail_bytes: u64,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            plan: PlanOptions {
                max_requests: usize::MAX,
                ..PlanOptions::default()
            },
            retry: RetryPolicy::default(),
            health: HealthPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(30),
            max_redirects: 5,
            redirect_ttl: Duration::from_secs(600),
            whole_body_skip_limit: 64 * 1024 * 1024,
            max_read_bytes: 1024 * 1024 * 1024,
            multipart: MultipartLimits::default(),
            token_refresh_margin: Duration::from_secs(20),
            tail_bytes: 64 * 1024,
        }
    }
}

/// Counters for one endpoint.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct EndpointMetrics {
    /// The endpoint's base URL.
    pub endpoint: String,
    /// Requests sent (redirect hops and retries included; token requests not).
    pub requests: u64,
    /// Body bytes received from it (and from its redirect targets).
    pub bytes_received: u64,
    /// Failures that count against its health (network errors, 5xx, bad replies).
    pub failures: u64,
    /// Times a read left it for the next endpoint with bytes still missing.
    pub fallbacks: u64,
    /// Retries on it after transient errors.
    pub retries: u64,
    /// Replies that carried the whole blob although ranges were asked for.
    pub whole_body_replies: u64,
    /// Times it refused multi-range or served part of it, so single ranges were sent.
    pub single_range_fallbacks: u64,
}

/// A snapshot of a reader's counters.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// Per endpoint, mirrors in order then the origin.
    pub endpoints: Vec<EndpointMetrics>,
    /// Bytes handed to callers.
    pub bytes_delivered: u64,
    /// Requests to token endpoints.
    pub token_fetches: u64,
    /// Ranges whose bytes the caller's verifier rejected.
    pub verification_failures: u64,
    /// Bytes of reads served from the blob's tail kept by the size probe (no request).
    pub tail_bytes_reused: u64,
}

impl Metrics {
    /// Requests to all endpoints.
    pub fn total_requests(&self) -> u64 {
        self.endpoints.iter().map(|e| e.requests).sum()
    }

    /// Body bytes received from all endpoints.
    pub fn total_bytes_received(&self) -> u64 {
        self.endpoints.iter().map(|e| e.bytes_received).sum()
    }
}

/// What the reader knows about one endpoint, for diagnostics.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct EndpointStatus {
    /// The endpoint's base URL.
    pub endpoint: String,
    /// Mirror or origin.
    pub role: Role,
    /// What it does with multi-range requests, as learned.
    pub multi_range: MultiRange,
    /// Whether it is in rotation.
    pub availability: Availability,
}

/// A fixed fact about one endpoint.
#[derive(Debug)]
struct EndpointInfo {
    endpoint: Endpoint,
    role: Role,
    name: String,
    blob_url: Uri,
    headers: HeaderMap,
    send: SendOptions,
    credentials: bool,
}

/// Why an attempt on one endpoint did not complete.
enum Fail {
    /// Try this endpoint again after a back-off (server's `Retry-After`, if any).
    Retry(Error, Option<Duration>),
    /// Leave this endpoint; `failure` says whether it counts against its health.
    Next(Error, bool),
}

/// What one ranged request achieved.
enum Progress {
    /// The reply was used (it may have covered less than asked).
    Served,
    /// The endpoint refused several ranges; plan again with single ranges.
    Replan,
}

/// The blob's bytes kept from the size probe, and the endpoint that sent them.
#[derive(Debug)]
struct Kept {
    range: ByteRange,
    bytes: Bytes,
    ep: usize,
}

/// A range being fetched by one thread for others to share.
#[derive(Debug, Default)]
struct Flight {
    result: Mutex<Option<Option<Bytes>>>,
    done: Condvar,
}

/// Tokens shared by all reads, fetched once per key at a time.
#[derive(Debug)]
struct Tokens {
    inner: Mutex<TokenInner>,
    changed: Condvar,
}

#[derive(Debug)]
struct TokenInner {
    /// Tokens fetched with the origin's credentials, and anonymous ones.
    credentialed: TokenCache,
    anonymous: TokenCache,
    in_flight: Vec<(bool, TokenKey)>,
    /// The token key each endpoint last challenged for, to send it up front next time.
    endpoint_keys: HashMap<usize, TokenKey>,
}

/// Reads byte ranges of one blob from an origin registry and its mirrors, with
/// per-request failover. See the [crate docs](crate).
///
/// All methods take `&self`; a reader may be shared between threads (put it in an
/// [`Arc`]). Identical ranges requested by several threads at once are fetched once.
pub struct RangeReader {
    repo: String,
    digest: String,
    size: u64,
    fallback_to_origin: bool,
    origin_basic: Option<Secret>,
    origin_bearer: Option<Secret>,
    options: ReaderOptions,
    transport: Arc<dyn Transport>,
    endpoints: Vec<EndpointInfo>,
    states: Mutex<Vec<EndpointState>>,
    redirects: Mutex<HashMap<usize, (Uri, Instant)>>,
    tokens: Tokens,
    flights: Mutex<HashMap<ByteRange, Arc<Flight>>>,
    kept: Mutex<Option<Kept>>,
    metrics: Mutex<Metrics>,
    rng: AtomicU64,
}

impl fmt::Debug for RangeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeReader")
            .field("repo", &self.repo)
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field(
                "endpoints",
                &self.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind (counters, caches),
    // which stays usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RangeReader {
    /// A reader for blob `digest` of `repo` over the default [`UreqTransport`] with
    /// default options.
    ///
    /// `blob_size` is the blob's length from its descriptor; when `None` it is learned
    /// with a suffix-range `GET` for the blob's last [`ReaderOptions::tail_bytes`] (no
    /// `HEAD`, which some storage refuses), whose bytes are kept to serve later reads.
    ///
    /// [`UreqTransport`]: crate::UreqTransport
    #[cfg(feature = "ureq")]
    pub fn new(
        config: MirrorConfig,
        repo: &str,
        digest: &str,
        blob_size: Option<u64>,
    ) -> Result<Self> {
        Self::with_transport(
            config,
            repo,
            digest,
            blob_size,
            ReaderOptions::default(),
            Arc::new(crate::transport::UreqTransport::new()),
        )
    }

    /// A reader over any [`Transport`] with the given options.
    ///
    /// `blob_size` is the blob's length from its descriptor; when `None` it is learned
    /// with a suffix-range request (`Range: bytes=-N`, N = [`ReaderOptions::tail_bytes`])
    /// whose bytes, the blob's tail, are kept to serve later reads (see
    /// [`RangeReader::kept_tail`]).
    ///
    /// A `retry_limit` in `config` (nydus) sets the attempts per endpoint to that many
    /// retries plus one, overriding `options.retry`.
    ///
    /// Fails with [`Error::InvalidArgument`] if `repo` or `digest` is malformed, and with
    /// [`Error::AllEndpointsFailed`] if the size had to be learned and no endpoint told it.
    pub fn with_transport(
        config: MirrorConfig,
        repo: &str,
        digest: &str,
        blob_size: Option<u64>,
        options: ReaderOptions,
        transport: Arc<dyn Transport>,
    ) -> Result<Self> {
        Self::build(config, Some((repo, digest)), blob_size, options, transport)
    }

    /// A reader for the blob at a fixed `url`, any `http(s)` URL (query included, e.g. a
    /// presigned object-store URL), requested as it is: no mirrors, no registry path, no
    /// credentials. Replies are checked as for a registry blob, redirects are followed, and
    /// `blob_size` works as in [`RangeReader::with_transport`]. [`RangeReader::repo`] and
    /// [`RangeReader::digest`] are empty; the endpoint's name (in metrics and errors) is
    /// the URL without its query, which may carry a signature.
    ///
    /// Fails with [`Error::InvalidArgument`] if `url` is not an absolute `http(s)` URL with
    /// a host (user information in it is refused: it would be shown), and with
    /// [`Error::AllEndpointsFailed`] if the size had to be learned and the server did not
    /// tell it.
    pub fn for_url(
        url: &str,
        blob_size: Option<u64>,
        options: ReaderOptions,
        transport: Arc<dyn Transport>,
    ) -> Result<Self> {
        let bad = |why: &str| Error::invalid_argument("url", format!("{url:?}: {why}"));
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_owned(),
            _ => return Err(bad("not an http(s) URL")),
        };
        let authority = match uri.authority() {
            Some(a) if !a.host().is_empty() && !a.as_str().contains('@') => a.as_str().to_owned(),
            _ => return Err(bad("no host, or user information")),
        };
        let mut origin = Endpoint::new(&format!("{scheme}://{authority}"))?;
        origin.url = uri;
        let config = MirrorConfig::new(authority, origin);
        Self::build(config, None, blob_size, options, transport)
    }

    /// The reader behind both constructors. With `blob = Some((repo, digest))` each
    /// endpoint is asked for that registry blob; with `None` each endpoint's URL is the
    /// blob's own.
    fn build(
        config: MirrorConfig,
        blob: Option<(&str, &str)>,
        blob_size: Option<u64>,
        mut options: ReaderOptions,
        transport: Arc<dyn Transport>,
    ) -> Result<Self> {
        if let Some(retries) = config.retry_limit {
            let attempts = retries.saturating_add(1);
            options.retry.mirror_attempts = attempts;
            options.retry.origin_attempts = attempts;
        }
        let ns = policy::namespace(&config);
        let mut endpoints = Vec::with_capacity(config.mirrors.len() + 1);
        let all = config
            .mirrors
            .iter()
            .map(|e| (e, Role::Mirror))
            .chain(std::iter::once((&config.origin, Role::Origin)));
        for (endpoint, role) in all {
            let ns = (role == Role::Mirror).then_some(ns.as_str());
            let blob_url = match blob {
                Some((repo, digest)) => policy::blob_url(&endpoint.url, repo, digest, ns)?,
                None => endpoint.url.clone(),
            };
            let first_byte = endpoint
                .request_timeout
                .map_or(options.first_byte_timeout, |t| {
                    t.min(options.first_byte_timeout)
                });
            let stall = endpoint
                .request_timeout
                .map_or(options.stall_timeout, |t| t.min(options.stall_timeout));
            let send = SendOptions {
                timeouts: Timeouts::new(
                    Some(endpoint.connect_timeout.unwrap_or(options.connect_timeout)),
                    Some(first_byte),
                    Some(stall),
                ),
                insecure_tls: endpoint.skip_tls_verify,
            };
            endpoints.push(EndpointInfo {
                name: policy::redact(&endpoint.url)
                    .trim_end_matches('/')
                    .to_owned(),
                headers: policy::endpoint_headers(endpoint),
                credentials: policy::may_send_origin_credentials(role, endpoint),
                endpoint: endpoint.clone(),
                role,
                blob_url,
                send,
            });
        }
        let metrics = Metrics {
            endpoints: endpoints
                .iter()
                .map(|e| EndpointMetrics {
                    endpoint: e.name.clone(),
                    ..EndpointMetrics::default()
                })
                .collect(),
            ..Metrics::default()
        };
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
            | 1;
        let credentials = config.origin_credentials.clone().unwrap_or_default();
        let mut reader = Self {
            repo: blob.map_or("", |b| b.0).to_owned(),
            digest: blob.map_or("", |b| b.1).to_owned(),
            size: 0,
            fallback_to_origin: config.fallback_to_origin,
            origin_basic: credentials.basic,
            origin_bearer: credentials.bearer,
            states: Mutex::new(vec![EndpointState::new(); endpoints.len()]),
            redirects: Mutex::new(HashMap::new()),
            tokens: Tokens {
                inner: Mutex::new(TokenInner {
                    credentialed: TokenCache::new(options.token_refresh_margin),
                    anonymous: TokenCache::new(options.token_refresh_margin),
                    in_flight: Vec::new(),
                    endpoint_keys: HashMap::new(),
                }),
                changed: Condvar::new(),
            },
            flights: Mutex::new(HashMap::new()),
            kept: Mutex::new(None),
            metrics: Mutex::new(metrics),
            rng: AtomicU64::new(seed),
            options,
            transport,
            endpoints,
        };
        reader.size = match blob_size {
            Some(n) => n,
            None => reader.probe_size()?,
        };
        Ok(reader)
    }

    /// The blob's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The repository this reader reads from (empty for [`RangeReader::for_url`]).
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// The blob's digest (empty for [`RangeReader::for_url`]).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The blob's bytes kept from the size probe (normally its last
    /// [`ReaderOptions::tail_bytes`]); reads within them cost no request. `None` when the
    /// size was given, or the probe's reply was not worth keeping (a whole blob longer
    /// than the tail).
    pub fn kept_tail(&self) -> Option<ByteRange> {
        lock(&self.kept).as_ref().map(|k| k.range)
    }

    /// Reads `ranges` (any order, overlaps allowed) and returns their bytes in the same
    /// order.
    ///
    /// Fails with [`Error::InvalidArgument`] if a range reaches past the blob's end, with
    /// [`Error::LimitExceeded`] if the ranges add up to more than `max_read_bytes`, and with
    /// [`Error::AllEndpointsFailed`] when no endpoint could serve them.
    pub fn read_ranges(&self, ranges: &[ByteRange]) -> Result<Vec<Bytes>> {
        self.read_ranges_verified(ranges, None)
    }

    /// Like [`RangeReader::read_ranges`], with each range's bytes passed to `verify`
    /// before they are returned. Bytes it rejects are fetched again from the next
    /// endpoint (the ones that served them are not asked again in this call); if every
    /// endpoint's bytes are rejected the result is [`Error::Verification`].
    pub fn read_ranges_verified(
        &self,
        ranges: &[ByteRange],
        verify: Option<Verifier<'_>>,
    ) -> Result<Vec<Bytes>> {
        let mut total: u64 = 0;
        for r in ranges {
            if r.end() > self.size {
                return Err(Error::invalid_argument(
                    "ranges",
                    format!("{r} reaches past the end of the {}-byte blob", self.size),
                ));
            }
            total = total.saturating_add(r.len());
        }
        if total > self.options.max_read_bytes {
            return Err(Error::limit(
                "bytes per read",
                self.options.max_read_bytes,
                total,
            ));
        }
        let mut unique: Vec<ByteRange> = ranges.iter().copied().filter(|r| !r.is_empty()).collect();
        unique.sort_unstable();
        unique.dedup();

        // Split into ranges this call fetches and ranges another thread is fetching.
        let mut lead = Vec::new();
        let mut follow = Vec::new();
        {
            let mut flights = lock(&self.flights);
            for r in &unique {
                match flights.get(r) {
                    Some(f) => follow.push((*r, Arc::clone(f))),
                    None => {
                        let f = Arc::new(Flight::default());
                        flights.insert(*r, Arc::clone(&f));
                        lead.push((*r, f));
                    }
                }
            }
        }
        let mut got: HashMap<ByteRange, Bytes> = HashMap::with_capacity(unique.len());
        if !lead.is_empty() {
            let guard = LeadGuard {
                reader: self,
                flights: lead,
            };
            let wanted: Vec<ByteRange> = guard.flights.iter().map(|(r, _)| *r).collect();
            let fetched = self.fetch(&wanted, verify)?;
            for (r, bytes) in wanted.iter().zip(fetched) {
                got.insert(*r, bytes);
            }
            guard.publish(&got);
        }
        let mut redo = Vec::new();
        for (r, flight) in follow {
            match wait_flight(&flight) {
                Some(bytes) if verify.is_none_or(|v| v(r, &bytes)) => {
                    got.insert(r, bytes);
                }
                _ => redo.push(r),
            }
        }
        if !redo.is_empty() {
            let fetched = self.fetch(&redo, verify)?;
            for (r, bytes) in redo.iter().zip(fetched) {
                got.insert(*r, bytes);
            }
        }
        let mut out = Vec::with_capacity(ranges.len());
        for r in ranges {
            out.push(if r.is_empty() {
                Bytes::new()
            } else {
                got.get(r).cloned().unwrap_or_default()
            });
        }
        lock(&self.metrics).bytes_delivered += total;
        Ok(out)
    }

    /// Like [`RangeReader::read_ranges`] for `std` ranges (as a positioned-read trait
    /// takes them); empty ranges give empty buffers.
    ///
    /// Fails with [`Error::InvalidArgument`] for a reversed range (`start > end`).
    pub fn read_std_ranges(&self, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Bytes>> {
        let mut wanted = Vec::with_capacity(ranges.len());
        for r in ranges {
            if r.start > r.end {
                return Err(Error::invalid_argument(
                    "ranges",
                    format!("{}..{} is reversed", r.start, r.end),
                ));
            }
            if r.start < r.end {
                wanted.push(ByteRange::new(r.start, r.end)?);
            }
        }
        let mut fetched = self.read_ranges(&wanted)?.into_iter();
        Ok(ranges
            .iter()
            .map(|r| {
                if r.start < r.end {
                    fetched.next().unwrap_or_default()
                } else {
                    Bytes::new()
                }
            })
            .collect())
    }

    /// Fills `buf` with the blob's bytes from `offset`.
    ///
    /// Fails with [`Error::InvalidArgument`] if that reaches past the blob's end.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if len == 0 {
            return if offset <= self.size {
                Ok(())
            } else {
                Err(Error::invalid_argument(
                    "offset",
                    "past the end of the blob",
                ))
            };
        }
        let range = offset
            .checked_add(len)
            .and_then(|end| ByteRange::new(offset, end).ok())
            .ok_or_else(|| Error::invalid_argument("offset", "offset + length overflows"))?;
        let bytes = self.read_ranges(&[range])?;
        match bytes.first() {
            Some(b) if b.len() == buf.len() => {
                buf.copy_from_slice(b);
                Ok(())
            }
            _ if buf.is_empty() => Ok(()),
            _ => Err(Error::invalid_argument("buf", "short read")),
        }
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> Metrics {
        lock(&self.metrics).clone()
    }

    /// What the reader has learned about each endpoint, mirrors in order then the origin.
    pub fn endpoint_status(&self) -> Vec<EndpointStatus> {
        let now = Instant::now();
        let states = lock(&self.states);
        self.endpoints
            .iter()
            .zip(states.iter())
            .map(|(info, state)| EndpointStatus {
                endpoint: info.name.clone(),
                role: info.role,
                multi_range: state.multi_range(now, self.options.health.relearn_after),
                availability: state.availability(now),
            })
            .collect()
    }

    // ----- reading -----

    /// Fetches `wanted` (sorted, unique, non-empty ranges), verifies, and returns their
    /// bytes in order.
    fn fetch(&self, wanted: &[ByteRange], verify: Option<Verifier<'_>>) -> Result<Vec<Bytes>> {
        let mut asm = Assembly::new(merge(wanted));
        if let Some(kept) = lock(&self.kept).as_ref() {
            let reused = asm.write(kept.range.start(), &kept.bytes, kept.ep);
            asm.commit();
            lock(&self.metrics).tail_bytes_reused += reused;
        }
        let mut attempted: Vec<usize> = Vec::new();
        let mut excluded: Vec<usize> = Vec::new();
        let mut last: Option<Error> = None;
        loop {
            if asm.is_complete() {
                let rejected: Vec<ByteRange> = match verify {
                    Some(v) => wanted
                        .iter()
                        .copied()
                        .filter(|r| asm.slice(*r).is_none_or(|b| !v(*r, b)))
                        .collect(),
                    None => Vec::new(),
                };
                if rejected.is_empty() {
                    break;
                }
                lock(&self.metrics).verification_failures += rejected.len() as u64;
                // The kept tail may hold rejected bytes: never serve it again.
                *lock(&self.kept) = None;
                let mut culprit = None;
                for r in &rejected {
                    for ep in asm.discard(*r) {
                        culprit = Some(ep);
                        if !excluded.contains(&ep) {
                            excluded.push(ep);
                        }
                    }
                }
                if let Some(first) = rejected.first() {
                    last = Some(Error::Verification {
                        range: *first,
                        endpoint: culprit.map(|i| self.name(i)).unwrap_or_default(),
                    });
                }
            }
            let order = {
                let states = lock(&self.states);
                policy::failover_order(&states, self.fallback_to_origin, &excluded, Instant::now())
            };
            let Some((ep, availability)) = order.into_iter().find(|(i, _)| !attempted.contains(i))
            else {
                let tried = attempted.len();
                return Err(match last {
                    Some(e @ Error::Verification { .. }) => e,
                    Some(e) => Error::AllEndpointsFailed {
                        tried,
                        last: Box::new(e),
                    },
                    None => Error::AllEndpointsFailed {
                        tried,
                        last: Box::new(Error::invalid_argument("endpoints", "none usable")),
                    },
                });
            };
            attempted.push(ep);
            if availability == Availability::Probe && !self.probe(ep) {
                continue;
            }
            if let Err(e) = self.fetch_from(ep, &mut asm) {
                if !asm.is_complete() {
                    self.bump(ep, |m| m.fallbacks += 1);
                }
                last = Some(e);
            }
        }
        let buffers: Vec<(ByteRange, Bytes)> = asm
            .into_buffers()
            .into_iter()
            .map(|(r, b)| (r, Bytes::from(b)))
            .collect();
        Ok(wanted
            .iter()
            .map(|r| {
                buffers
                    .iter()
                    .find(|(m, _)| m.contains_range(*r))
                    .and_then(|(m, b)| {
                        let from = usize::try_from(r.start() - m.start()).ok()?;
                        let to = usize::try_from(r.end() - m.start()).ok()?;
                        (to <= b.len()).then(|| b.slice(from..to))
                    })
                    .unwrap_or_default()
            })
            .collect())
    }

    /// Fetches what `asm` is missing from endpoint `ep`, with retries.
    fn fetch_from(&self, ep: usize, asm: &mut Assembly) -> Result<()> {
        let info = self.info(ep)?;
        let max_attempts = self.options.retry.attempts(info.role);
        let mut retries: u32 = 0;
        // Each round either completes, makes progress, learns something, or uses up an
        // attempt; bound the rounds anyway.
        let max_rounds = usize::try_from(max_attempts)
            .map_or(usize::MAX, |a| a.saturating_mul(4).saturating_add(8));
        for _ in 0..max_rounds {
            let missing = asm.missing();
            if missing.is_empty() {
                self.with_state(ep, EndpointState::record_success);
                return Ok(());
            }
            let multi = self.multi_range_of(ep);
            let mut plan_options = self.options.plan.clone();
            if !multi.allows_multi() {
                plan_options.max_ranges_per_request = 1;
            }
            let plan = plan_ranges(&missing, &plan_options)?;
            let mut outcome: std::result::Result<(), Fail> = Ok(());
            for request in plan.requests() {
                // An earlier whole-body reply may have served this request already.
                if !asm.lacks_any(request.ranges()) {
                    continue;
                }
                match self.request_ranges(ep, request.ranges(), asm) {
                    Ok(Progress::Served) => {}
                    Ok(Progress::Replan) => break,
                    Err(f) => {
                        outcome = Err(f);
                        break;
                    }
                }
            }
            match outcome {
                Ok(()) => {}
                Err(Fail::Next(e, failure)) => {
                    if failure {
                        self.fail(ep);
                    }
                    return Err(e);
                }
                Err(Fail::Retry(e, retry_after)) => {
                    retries += 1;
                    if retries >= max_attempts {
                        self.fail(ep);
                        return Err(e);
                    }
                    let Some(delay) =
                        self.options
                            .retry
                            .backoff(retries - 1, self.jitter(), retry_after)
                    else {
                        return Err(e);
                    };
                    self.bump(ep, |m| m.retries += 1);
                    std::thread::sleep(delay);
                }
            }
        }
        if asm.is_complete() {
            self.with_state(ep, EndpointState::record_success);
            return Ok(());
        }
        self.fail(ep);
        Err(Error::bad_reply(
            "replies",
            None,
            format!("{} made no progress", self.name(ep)),
        ))
    }

    /// Sends one ranged request to `ep` and stores what comes back in `asm`.
    fn request_ranges(
        &self,
        ep: usize,
        ranges: &[ByteRange],
        asm: &mut Assembly,
    ) -> std::result::Result<Progress, Fail> {
        let multi = ranges.len() > 1;
        let value = range_header_value(ranges).map_err(|e| Fail::Next(e, false))?;
        let reply = self.exchange(ep, &value)?;
        let status = reply.status;
        let url = self.name(ep);
        match policy::decide(status, multi) {
            Decision::Accept => {}
            Decision::SingleRanges(seen) => {
                self.learn(ep, seen);
                return Ok(Progress::Replan);
            }
            Decision::Retry => {
                let after = policy::retry_after(&reply.headers, SystemTime::now());
                return Err(Fail::Retry(
                    Error::Status {
                        url,
                        status: status.as_u16(),
                    },
                    after,
                ));
            }
            Decision::NextEndpoint { failure } => {
                return Err(Fail::Next(
                    Error::Status {
                        url,
                        status: status.as_u16(),
                    },
                    failure,
                ));
            }
            Decision::Redirect | Decision::Authenticate => {
                return Err(Fail::Next(
                    Error::Status {
                        url,
                        status: status.as_u16(),
                    },
                    true,
                ));
            }
        }
        let classified = classify_range_reply(ranges, status, &reply.headers, Some(self.size))
            .map_err(|e| Fail::Next(e, true))?;
        let Reply { body, .. } = reply;
        match classified.body().clone() {
            ReplyBody::Single { range, .. } => {
                if multi {
                    let covers_all = ranges.iter().all(|r| range.contains_range(*r));
                    if covers_all {
                        self.learn(ep, MultiRange::Works);
                    } else {
                        self.learn(ep, MultiRange::FirstRangeOnly);
                    }
                }
                self.read_span(ep, body, range.start(), range.end(), asm)?;
                Ok(Progress::Served)
            }
            ReplyBody::Multipart { boundary } => {
                let parts = self.read_multipart(ep, body, boundary, asm)?;
                let report = check_coverage(ranges, &parts, Some(self.size)).map_err(|e| {
                    asm.rollback();
                    Fail::Next(e, true)
                })?;
                asm.commit();
                if multi {
                    if report.is_complete() {
                        self.learn(ep, MultiRange::Works);
                    } else {
                        self.learn(ep, MultiRange::FirstRangeOnly);
                    }
                }
                Ok(Progress::Served)
            }
            ReplyBody::Whole { .. } => {
                self.bump(ep, |m| m.whole_body_replies += 1);
                if multi {
                    self.learn(ep, MultiRange::WholeBody);
                }
                // Serve everything this read still needs from this one body.
                let end = asm.missing().last().map_or(0, |r| r.end());
                let is_last = self.is_last_endpoint(ep);
                if !is_last && end > self.options.whole_body_skip_limit {
                    return Err(Fail::Next(
                        Error::bad_reply(
                            "status",
                            None,
                            format!(
                                "{url} answered ranges with the whole blob; needed bytes lie beyond the skip limit"
                            ),
                        ),
                        false,
                    ));
                }
                self.read_span(ep, body, 0, end, asm)?;
                Ok(Progress::Served)
            }
            ReplyBody::Unsatisfiable { .. } => {
                if multi {
                    self.learn(ep, MultiRange::Refused(416));
                    Ok(Progress::Replan)
                } else {
                    Err(Fail::Next(Error::Status { url, status: 416 }, true))
                }
            }
        }
    }

    /// Reads a body holding the blob's bytes `from..to` into `asm`, committing as it goes
    /// (the head was checked), and stops at `to` even if the body goes on.
    fn read_span(
        &self,
        ep: usize,
        mut body: Box<dyn Read + Send>,
        from: u64,
        to: u64,
        asm: &mut Assembly,
    ) -> std::result::Result<(), Fail> {
        let mut at = from;
        let mut buf = vec![0u8; READ_CHUNK];
        while at < to {
            let want = usize::try_from((to - at).min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            let n = match body.read(buf.get_mut(..want).unwrap_or_default()) {
                Ok(0) => {
                    return Err(self.body_fail(
                        ep,
                        Error::transport(
                            self.name(ep),
                            TransportErrorKind::Reset,
                            format!("body ended at byte {at} of {to}"),
                        ),
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.body_fail(ep, Error::from_body_io(&self.name(ep), &e)));
                }
            };
            self.bump(ep, |m| m.bytes_received += n as u64);
            asm.write(at, buf.get(..n).unwrap_or_default(), ep);
            asm.commit();
            at += n as u64;
        }
        Ok(())
    }

    /// Commits what arrived and turns a body error into a retry.
    fn body_fail(&self, _ep: usize, e: Error) -> Fail {
        Fail::Retry(e, None)
    }

    /// Streams a `multipart/byteranges` body into `asm`, committing each complete part.
    /// Returns the parts seen.
    fn read_multipart(
        &self,
        ep: usize,
        mut body: Box<dyn Read + Send>,
        boundary: crate::multipart::Boundary,
        asm: &mut Assembly,
    ) -> std::result::Result<Vec<ByteRange>, Fail> {
        let mut parser = MultipartParser::new(boundary, self.options.multipart.clone());
        let mut parts: Vec<ByteRange> = Vec::new();
        let mut at = 0u64;
        let size = self.size;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut on_event = |event: Event<'_>, asm: &mut Assembly| -> Result<()> {
            match event {
                Event::PartStart(head) => {
                    if head.range.end() > size {
                        return Err(Error::bad_reply(
                            "reply parts",
                            None,
                            format!(
                                "part {} reaches past the end of the {size}-byte blob",
                                head.range
                            ),
                        ));
                    }
                    at = head.range.start();
                    parts.push(head.range);
                }
                Event::Body(bytes) => {
                    asm.write(at, bytes, ep);
                    at += bytes.len() as u64;
                }
                Event::PartEnd => asm.commit(),
                _ => {}
            }
            Ok(())
        };
        loop {
            let n = match body.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    asm.rollback();
                    return Err(self.body_fail(ep, Error::from_body_io(&self.name(ep), &e)));
                }
            };
            if n == 0 {
                break;
            }
            self.bump(ep, |m| m.bytes_received += n as u64);
            let result = parser.feed(buf.get(..n).unwrap_or_default(), |ev| on_event(ev, asm));
            if let Err(e) = result {
                asm.rollback();
                return Err(Fail::Next(e, true));
            }
            if parser.is_done() {
                break;
            }
        }
        if let Err(e) = parser.finish(|ev| on_event(ev, asm)) {
            asm.rollback();
            // A body cut short is transient; a malformed one is the server's fault.
            return Err(if parser.is_done() {
                Fail::Next(e, true)
            } else {
                Fail::Retry(e, None)
            });
        }
        Ok(parts)
    }

    // ----- one exchange: redirects and authentication -----

    /// Sends `GET` with `Range: range` to endpoint `ep`, following redirects (from the
    /// cache when fresh) and answering authentication challenges. Returns the first reply
    /// that is neither.
    fn exchange(&self, ep: usize, range: &str) -> std::result::Result<Reply, Fail> {
        let info = self.info(ep).map_err(|e| Fail::Next(e, false))?;
        let base = info.blob_url.clone();
        let cached = self.cached_redirect(ep);
        let mut from_cache = cached.is_some();
        let mut url = cached.unwrap_or_else(|| base.clone());
        let mut hops: u32 = 0;
        let mut auth_rounds: u32 = 0;
        let mut authorization = self.preset_authorization(ep);
        let mut sent_token: Option<(bool, TokenKey)> = None;
        loop {
            let at_endpoint = policy::same_origin(&url, &base);
            let mut request = Request::get(url.clone()).body(()).map_err(|e| {
                Fail::Next(Error::invalid_argument("request", e.to_string()), false)
            })?;
            let headers = request.headers_mut();
            if at_endpoint {
                for (name, value) in &info.headers {
                    headers.append(name, value.clone());
                }
                if let Some(value) = &authorization {
                    headers.insert(header::AUTHORIZATION, value.clone());
                }
            }
            if let Ok(v) = HeaderValue::from_str(range) {
                headers.insert(header::RANGE, v);
            }
            self.bump(ep, |m| m.requests += 1);
            let reply = self
                .transport
                .send(request, &info.send)
                .map_err(|e| match &e {
                    // A mirror that cannot be reached is left at once; the origin, the last
                    // resort, is retried.
                    Error::Transport {
                        kind: TransportErrorKind::Connect,
                        ..
                    } if info.role == Role::Mirror => Fail::Next(e, true),
                    Error::Transport { kind, .. } if kind.is_transient() => Fail::Retry(e, None),
                    _ => Fail::Next(e, true),
                })?;
            let status = reply.status;
            match status.as_u16() {
                301 | 302 | 303 | 307 | 308 => {
                    hops += 1;
                    if hops > self.options.max_redirects {
                        return Err(Fail::Next(
                            Error::bad_reply(
                                "Location header",
                                None,
                                format!("more than {} redirects", self.options.max_redirects),
                            ),
                            true,
                        ));
                    }
                    let location = reply
                        .headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .ok_or_else(|| {
                            Fail::Next(
                                Error::bad_reply("Location header", None, "missing on a redirect"),
                                true,
                            )
                        })?;
                    let target = policy::resolve_location(&url, location)
                        .map_err(|e| Fail::Next(e, true))?;
                    let ttl = policy::redirect_ttl(&target, self.options.redirect_ttl);
                    let expires = Instant::now().checked_add(ttl).unwrap_or_else(Instant::now);
                    lock(&self.redirects).insert(ep, (target.clone(), expires));
                    from_cache = false;
                    url = target;
                }
                401 | 403 if url != base => {
                    // The redirect target refused: a cached one has probably expired, so
                    // resolve it again (once); a fresh one is the endpoint's fault.
                    lock(&self.redirects).remove(&ep);
                    if !from_cache {
                        return Err(Fail::Next(
                            Error::Status {
                                url: policy::redact(&url),
                                status: status.as_u16(),
                            },
                            true,
                        ));
                    }
                    from_cache = false;
                    url = base.clone();
                }
                401 => {
                    auth_rounds += 1;
                    if auth_rounds > 2 {
                        return Err(Fail::Next(
                            Error::Auth {
                                url: info.name.clone(),
                                reason: "credentials rejected".into(),
                            },
                            true,
                        ));
                    }
                    authorization =
                        Some(self.answer_challenge(ep, &reply.headers, &mut sent_token)?);
                }
                _ => return Ok(reply),
            }
        }
    }

    /// The `Authorization` to send to `ep` before any challenge: a cached token for the
    /// key it challenged for last time, or configured origin credentials where allowed.
    fn preset_authorization(&self, ep: usize) -> Option<HeaderValue> {
        let info = self.endpoints.get(ep)?;
        let origin = self.endpoints.len().checked_sub(1)?;
        // The key this endpoint challenged for last time; a forwarding mirror (e.g.
        // Dragonfly) that never challenged passes the origin's token on.
        let key = {
            let inner = lock(&self.tokens.inner);
            inner.endpoint_keys.get(&ep).cloned().or_else(|| {
                (info.credentials && info.role == Role::Mirror)
                    .then(|| inner.endpoint_keys.get(&origin).cloned())
                    .flatten()
            })
        };
        if let Some(key) = key {
            let state = {
                let inner = lock(&self.tokens.inner);
                let cache = if info.credentials {
                    &inner.credentialed
                } else {
                    &inner.anonymous
                };
                match cache.lookup(&key, Instant::now()) {
                    TokenState::Fresh(t) => Some(Ok(t.clone())),
                    TokenState::RefreshDue(_) => Some(Err(())),
                    TokenState::Missing => None,
                }
            };
            match state {
                Some(Ok(t)) => return bearer_value(&t),
                // Renew ahead of expiry; on failure the request goes without and a 401
                // will say what is needed.
                Some(Err(())) => {
                    if let Ok(t) = self.token(ep, &key, info.credentials, false) {
                        return bearer_value(&t);
                    }
                }
                None => {}
            }
        }
        if !info.credentials {
            return None;
        }
        self.origin_bearer.as_ref().and_then(bearer_value)
    }

    /// Works out an `Authorization` value for a 401 from `ep`.
    fn answer_challenge(
        &self,
        ep: usize,
        headers: &HeaderMap,
        sent: &mut Option<(bool, TokenKey)>,
    ) -> std::result::Result<HeaderValue, Fail> {
        let info = self.info(ep).map_err(|e| Fail::Next(e, false))?;
        let auth_err = |reason: String| {
            Fail::Next(
                Error::Auth {
                    url: info.name.clone(),
                    reason,
                },
                true,
            )
        };
        let challenges = challenges_from_headers(headers).map_err(|e| Fail::Next(e, true))?;
        if let Some(bearer) = challenges.iter().find_map(|c| c.bearer()) {
            let key = bearer.cache_key();
            let credentialed = info.credentials;
            let force = sent.as_ref() == Some(&(credentialed, key.clone()));
            let token = self
                .token(ep, &key, credentialed, force)
                .map_err(|e| Fail::Next(e, true))?;
            lock(&self.tokens.inner)
                .endpoint_keys
                .insert(ep, key.clone());
            *sent = Some((credentialed, key));
            return bearer_value(&token)
                .ok_or_else(|| auth_err("token is not a valid header value".into()));
        }
        if challenges.iter().any(|c| c.is_scheme("basic"))
            && info.credentials
            && let Some(basic) = &self.origin_basic
        {
            return HeaderValue::from_str(&format!("Basic {}", basic.expose()))
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
                .map_err(|_| auth_err("credentials are not a valid header value".into()));
        }
        Err(auth_err("no usable challenge or credentials".into()))
    }

    /// A token for `key`, from the cache or fetched (once, however many threads need it).
    fn token(&self, ep: usize, key: &TokenKey, credentialed: bool, force: bool) -> Result<Secret> {
        let flight = (credentialed, key.clone());
        let deadline = Instant::now() + FLIGHT_WAIT;
        let mut inner = lock(&self.tokens.inner);
        if force {
            let cache = if credentialed {
                &mut inner.credentialed
            } else {
                &mut inner.anonymous
            };
            cache.remove(key);
        }
        loop {
            let now = Instant::now();
            let cache = if credentialed {
                &inner.credentialed
            } else {
                &inner.anonymous
            };
            let fetching = inner.in_flight.contains(&flight);
            match cache.lookup(key, now) {
                TokenState::Fresh(t) => return Ok(t.clone()),
                TokenState::RefreshDue(t) if fetching => return Ok(t.clone()),
                TokenState::Missing if fetching && now < deadline => {
                    inner = self
                        .tokens
                        .changed
                        .wait_timeout(inner, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    continue;
                }
                _ => {}
            }
            inner.in_flight.push(flight.clone());
            drop(inner);
            let fetched = self.fetch_token(ep, key, credentialed);
            inner = lock(&self.tokens.inner);
            inner.in_flight.retain(|f| f != &flight);
            let result = fetched.map(|response| {
                let cache = if credentialed {
                    &mut inner.credentialed
                } else {
                    &mut inner.anonymous
                };
                cache.insert(key.clone(), &response, Instant::now());
                response.token
            });
            self.tokens.changed.notify_all();
            return result;
        }
    }

    /// Asks the token endpoint (`realm`) for a token.
    fn fetch_token(&self, ep: usize, key: &TokenKey, credentialed: bool) -> Result<TokenResponse> {
        let info = self.info(ep)?;
        let mut url = key.realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (name, value) in [("service", &key.service), ("scope", &key.scope)] {
            if value.is_empty() {
                continue;
            }
            for part in value.split(' ').filter(|p| !p.is_empty()) {
                url.push(sep);
                url.push_str(name);
                url.push('=');
                policy::push_query_escaped(&mut url, part);
                sep = '&';
            }
        }
        let uri: Uri = url.parse().map_err(|e| Error::Auth {
            url: key.realm.clone(),
            reason: format!("bad realm URL: {e}"),
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(Error::Auth {
                url: key.realm.clone(),
                reason: "realm is not an http(s) URL".into(),
            });
        }
        let mut request = Request::get(uri.clone())
            .body(())
            .map_err(|e| Error::invalid_argument("request", e.to_string()))?;
        if credentialed && let Some(basic) = &self.origin_basic {
            let mut v =
                HeaderValue::from_str(&format!("Basic {}", basic.expose())).map_err(|_| {
                    Error::Auth {
                        url: key.realm.clone(),
                        reason: "credentials are not a valid header value".into(),
                    }
                })?;
            v.set_sensitive(true);
            request.headers_mut().insert(header::AUTHORIZATION, v);
        }
        lock(&self.metrics).token_fetches += 1;
        let reply = self.transport.send(request, &info.send)?;
        if reply.status != StatusCode::OK {
            return Err(Error::Auth {
                url: policy::redact(&uri),
                reason: format!("token endpoint answered {}", reply.status.as_u16()),
            });
        }
        let body = read_token_reply(reply.body, &policy::redact(&uri))?;
        TokenResponse::parse(&body)
    }

    fn cached_redirect(&self, ep: usize) -> Option<Uri> {
        let mut redirects = lock(&self.redirects);
        match redirects.get(&ep) {
            Some((url, expires)) if Instant::now() < *expires => Some(url.clone()),
            Some(_) => {
                redirects.remove(&ep);
                None
            }
            None => None,
        }
    }

    // ----- size, health -----

    /// Learns the blob's size with the suffix-range probe ([`TailProbe`]), trying
    /// endpoints in failover order, and keeps the tail bytes it brings.
    ///
    /// A mirror that gives the size but not the tail (a whole-body 200: a cold pull-through
    /// cache, which starts storing the blob) is passed over for the next endpoint, so the
    /// tail is not read out of a whole blob; its size is used if no other endpoint answers.
    fn probe_size(&self) -> Result<u64> {
        let order = {
            let states = lock(&self.states);
            policy::failover_order(&states, self.fallback_to_origin, &[], Instant::now())
        };
        let mut last = None;
        let mut size_only = None;
        let tried = order.len();
        for (ep, _) in order {
            match self.probe_from(ep) {
                Ok(n) if self.kept_tail().is_some() || self.is_last_endpoint(ep) => return Ok(n),
                Ok(n) => size_only = Some(n),
                Err(e) => {
                    self.bump(ep, |m| m.fallbacks += 1);
                    last = Some(e);
                }
            }
        }
        if let Some(n) = size_only {
            return Ok(n);
        }
        Err(Error::AllEndpointsFailed {
            tried,
            last: Box::new(
                last.unwrap_or_else(|| Error::invalid_argument("endpoints", "none usable")),
            ),
        })
    }

    /// The probe on one endpoint, with retries.
    fn probe_from(&self, ep: usize) -> Result<u64> {
        let probe = TailProbe::new(self.options.tail_bytes);
        let attempts = self.options.retry.attempts(self.info(ep)?.role);
        let mut retry = 0;
        loop {
            match self.probe_once(ep, &probe) {
                Ok(size) => {
                    self.with_state(ep, EndpointState::record_success);
                    return Ok(size);
                }
                Err(Fail::Next(e, failure)) => {
                    if failure {
                        self.fail(ep);
                    }
                    return Err(e);
                }
                Err(Fail::Retry(e, after)) => {
                    retry += 1;
                    if retry >= attempts {
                        self.fail(ep);
                        return Err(e);
                    }
                    let Some(delay) = self.options.retry.backoff(retry - 1, self.jitter(), after)
                    else {
                        return Err(e);
                    };
                    self.bump(ep, |m| m.retries += 1);
                    std::thread::sleep(delay);
                }
            }
        }
    }

    /// One probe on `ep`: the suffix request and, if it is refused with 416, one explicit
    /// request. Returns the size; keeps the bytes the reply carried.
    fn probe_once(&self, ep: usize, probe: &TailProbe) -> std::result::Result<u64, Fail> {
        let mut asked: Option<ByteRange> = None;
        loop {
            let value = match asked {
                None => probe.first_range(),
                Some(r) => TailProbe::range_value(r).map_err(|e| Fail::Next(e, false))?,
            };
            let Reply {
                status,
                headers,
                body,
            } = self.exchange(ep, &value)?;
            let url = self.name(ep);
            let status_error = || Error::Status {
                url: url.clone(),
                status: status.as_u16(),
            };
            if status != StatusCode::RANGE_NOT_SATISFIABLE {
                match policy::decide(status, false) {
                    Decision::Accept => {}
                    Decision::Retry => {
                        let after = policy::retry_after(&headers, SystemTime::now());
                        return Err(Fail::Retry(status_error(), after));
                    }
                    Decision::NextEndpoint { failure } => {
                        return Err(Fail::Next(status_error(), failure));
                    }
                    _ => return Err(Fail::Next(status_error(), true)),
                }
            }
            // A reply without the length (`/*`) is not a fault of the endpoint.
            match probe
                .step(asked, status, &headers)
                .map_err(|e| Fail::Next(e, false))?
            {
                // The body is dropped unread.
                ProbeStep::SizeOnly { size } => return Ok(size),
                ProbeStep::Ask { range } if asked.is_none() => asked = Some(range),
                ProbeStep::Keep { range, size } => {
                    let mut asm = Assembly::new(vec![range]);
                    self.read_span(ep, body, range.start(), range.end(), &mut asm)?;
                    let bytes = asm
                        .into_buffers()
                        .into_iter()
                        .next()
                        .map(|(_, b)| Bytes::from(b))
                        .unwrap_or_default();
                    *lock(&self.kept) = Some(Kept { range, bytes, ep });
                    return Ok(size);
                }
                step => {
                    return Err(Fail::Next(
                        Error::bad_reply("status", None, format!("{url}: {step:?} again")),
                        true,
                    ));
                }
            }
        }
    }

    /// Probes an endpoint whose cooldown has passed: `GET` its ping URL when configured
    /// (healthy if the status is below 500). Without a ping URL the next real request is
    /// the probe. Returns whether to use the endpoint.
    fn probe(&self, ep: usize) -> bool {
        let Some(info) = self.endpoints.get(ep) else {
            return false;
        };
        let Some(ping) = info.endpoint.ping_url.clone() else {
            return true;
        };
        let Ok(request) = Request::get(ping).body(()) else {
            return true;
        };
        self.bump(ep, |m| m.requests += 1);
        let healthy = self
            .transport
            .send(request, &info.send)
            .is_ok_and(|reply| reply.status.as_u16() < 500);
        if healthy {
            self.with_state(ep, EndpointState::record_success);
        } else {
            self.fail(ep);
        }
        healthy
    }

    // ----- small helpers -----

    fn info(&self, ep: usize) -> Result<&EndpointInfo> {
        self.endpoints
            .get(ep)
            .ok_or_else(|| Error::invalid_argument("endpoint", format!("no endpoint {ep}")))
    }

    fn name(&self, ep: usize) -> String {
        self.endpoints
            .get(ep)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    }

    fn is_last_endpoint(&self, ep: usize) -> bool {
        let origin = self.endpoints.len().saturating_sub(1);
        if self.fallback_to_origin {
            ep == origin
        } else {
            ep + 1 >= origin
        }
    }

    fn with_state(&self, ep: usize, f: impl FnOnce(&mut EndpointState)) {
        if let Some(s) = lock(&self.states).get_mut(ep) {
            f(s);
        }
    }

    fn fail(&self, ep: usize) {
        let (limit, cooldown) = match self.endpoints.get(ep) {
            Some(info) => (
                info.endpoint
                    .failure_limit
                    .unwrap_or(self.options.health.failure_limit),
                info.endpoint
                    .health_check_interval
                    .unwrap_or(self.options.health.cooldown),
            ),
            None => return,
        };
        let now = Instant::now();
        self.with_state(ep, |s| {
            s.record_failure(now, limit, cooldown);
        });
        self.bump(ep, |m| m.failures += 1);
    }

    fn learn(&self, ep: usize, seen: MultiRange) {
        let now = Instant::now();
        let changed = {
            let mut states = lock(&self.states);
            match states.get_mut(ep) {
                Some(s) => {
                    let before = s.multi_range(now, self.options.health.relearn_after);
                    s.learn_multi_range(seen, now);
                    before.allows_multi() && !seen.allows_multi()
                }
                None => false,
            }
        };
        if changed {
            self.bump(ep, |m| m.single_range_fallbacks += 1);
        }
    }

    fn multi_range_of(&self, ep: usize) -> MultiRange {
        lock(&self.states).get(ep).map_or(MultiRange::Unknown, |s| {
            s.multi_range(Instant::now(), self.options.health.relearn_after)
        })
    }

    fn bump(&self, ep: usize, f: impl FnOnce(&mut EndpointMetrics)) {
        if let Some(m) = lock(&self.metrics).endpoints.get_mut(ep) {
            f(m);
        }
    }

    /// A number in `[0, 1)` from a xorshift generator (jitter needs no more).
    fn jitter(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn bearer_value(token: &Secret) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Waits for another thread's fetch of a range. `None` if it failed or took too long.
fn wait_flight(flight: &Flight) -> Option<Bytes> {
    let deadline = Instant::now() + FLIGHT_WAIT;
    let mut result = lock(&flight.result);
    loop {
        if let Some(r) = result.as_ref() {
            return r.clone();
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        result = flight
            .done
            .wait_timeout(result, deadline - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// The ranges a call leads; publishes results (or failure, if dropped early) to waiters.
struct LeadGuard<'a> {
    reader: &'a RangeReader,
    flights: Vec<(ByteRange, Arc<Flight>)>,
}

impl LeadGuard<'_> {
    fn publish(mut self, got: &HashMap<ByteRange, Bytes>) {
        for (r, flight) in std::mem::take(&mut self.flights) {
            finish_flight(self.reader, r, &flight, got.get(&r).cloned());
        }
    }
}

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        for (r, flight) in std::mem::take(&mut self.flights) {
            finish_flight(self.reader, r, &flight, None);
        }
    }
}

fn finish_flight(reader: &RangeReader, r: ByteRange, flight: &Arc<Flight>, bytes: Option<Bytes>) {
    {
        let mut flights = lock(&reader.flights);
        if flights.get(&r).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            flights.remove(&r);
        }
    }
    *lock(&flight.result) = Some(bytes);
    flight.done.notify_all();
}

/// Reads a token endpoint's reply body, at most [`MAX_TOKEN_REPLY`] bytes: one more byte
/// than that is [`Error::LimitExceeded`], not a truncated body that fails to parse.
fn read_token_reply(body: impl Read, url: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    body.take(MAX_TOKEN_REPLY + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::from_body_io(url, &e))?;
    if buf.len() as u64 > MAX_TOKEN_REPLY {
        return Err(Error::limit(
            "bytes of a token endpoint's reply",
            MAX_TOKEN_REPLY,
            buf.len() as u64,
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod token_reply_tests {
    use super::*;

    #[test]
    fn a_token_reply_at_the_limit_is_read_whole() {
        let body = vec![b' '; MAX_TOKEN_REPLY as usize];
        let read = read_token_reply(&body[..], "http://t/token").expect("read");
        assert_eq!(read.len() as u64, MAX_TOKEN_REPLY);
    }

    #[test]
    fn a_token_reply_over_the_limit_is_a_limit_error() {
        let body = vec![b' '; MAX_TOKEN_REPLY as usize + 1];
        let err = read_token_reply(&body[..], "http://t/token").expect_err("over the limit");
        assert!(
            matches!(
                err,
                Error::LimitExceeded {
                    what: "bytes of a token endpoint's reply",
                    limit: MAX_TOKEN_REPLY,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[cfg(test)]
mod fixed_url_tests {
    use super::*;

    /// Answers every request with bytes 2..5 of `0123456789` and records what it was sent.
    #[derive(Debug, Default)]
    struct Recorder {
        sent: Mutex<Vec<(String, Option<String>)>>,
    }

    impl Transport for Recorder {
        fn send(&self, request: Request<()>, _: &SendOptions) -> Result<Reply> {
            let range = request
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            lock(&self.sent).push((request.uri().to_string(), range));
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_static("bytes 2-4/10"),
            );
            Ok(Reply {
                status: StatusCode::PARTIAL_CONTENT,
                headers,
                body: Box::new(&b"234"[..]),
            })
        }
    }

    #[test]
    fn a_fixed_url_is_requested_as_given() {
        let transport = Arc::new(Recorder::default());
        let url = "https://s3.example:8443/bucket/layer.esgz?X-Sig=a%2Fb&exp=1";
        let reader =
            RangeReader::for_url(url, Some(10), ReaderOptions::default(), transport.clone())
                .expect("a reader");
        let got = reader
            .read_ranges(&[ByteRange::new(2, 5).expect("a range")])
            .expect("read");
        assert_eq!(&got[0][..], b"234");
        assert_eq!(
            *lock(&transport.sent),
            vec![(url.to_owned(), Some("bytes=2-4".to_owned()))]
        );
        assert_eq!(reader.repo(), "");
        assert_eq!(
            reader.metrics().endpoints[0].endpoint,
            "https://s3.example:8443/bucket/layer.esgz"
        );
    }

    #[test]
    fn only_absolute_http_urls_without_user_information_are_taken() {
        for url in [
            "ftp://h/blob",
            "/bucket/blob",
            "https:///blob",
            "https://user:pw@h/blob",
            "not a url",
        ] {
            let err = RangeReader::for_url(
                url,
                Some(1),
                ReaderOptions::default(),
                Arc::new(Recorder::default()),
            )
            .expect_err(url);
            assert!(
                matches!(err, Error::InvalidArgument { .. }),
                "{url}: {err:?}"
            );
        }
    }
}
