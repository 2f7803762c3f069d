//! The reading core shared by [`RangeReader`](crate::RangeReader) (blocking) and the
//! async reader (feature `reqwest`): written once as async code over [`Io`].
//!
//! Each read plans its ranges ([`plan_ranges`]), tries the endpoints in failover order
//! (mirrors, then the origin), sends each endpoint what it has shown it can take (several
//! ranges per request, or one), checks every reply against what was asked
//! ([`classify_range_reply`], [`check_coverage`]), keeps what arrived, and asks the next
//! request (or the next endpoint) for exactly what is still missing.
//!
//! Locks are never held across an `.await`; the single-flight waits (of ranges and
//! tokens) go through [`Io::wait`], so a blocking reader waits on a condition variable
//! and an async one yields to its runtime.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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
use crate::error::{Error, LimitKind, Result, TransportErrorKind};
use crate::io::{Head, Io, Signal};
use crate::multipart::{Event, MultipartParser};
use crate::policy::{self, Availability, Decision, EndpointState, MultiRange, Role};
use crate::range::{ByteRange, plan_ranges, range_header_value};
use crate::reader::{EndpointMetrics, EndpointStatus, Metrics, ReaderOptions, Verifier};
use crate::reply::{ReplyBody, classify_range_reply};
use crate::tail::{ProbeStep, TailProbe};
use crate::transport::{SendOptions, Timeouts};

/// Size of the buffer bodies are read with.
const READ_CHUNK: usize = 64 * 1024;
/// The most bytes of a token endpoint's reply that are read.
const MAX_TOKEN_REPLY: u64 = 1024 * 1024;
/// How long a reader waits for another thread's fetch (of a token or of the same range)
/// before doing it itself.
const FLIGHT_WAIT: Duration = Duration::from_secs(120);

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

/// A range being fetched by one task for others to share: its bytes, or `None` if the
/// fetch failed.
type Flight = Signal<Option<Bytes>>;

mod exchange;
mod fetch;
mod probe;
mod token;

use token::Tokens;

/// The state of a reader of one blob, and the loops that drive its reads over `I`.
pub(crate) struct Core<I> {
    repo: String,
    digest: String,
    size: u64,
    fallback_to_origin: bool,
    origin_basic: Option<Secret>,
    origin_bearer: Option<Secret>,
    options: ReaderOptions,
    io: I,
    endpoints: Vec<EndpointInfo>,
    states: Mutex<Vec<EndpointState>>,
    redirects: Mutex<HashMap<usize, (Uri, Instant)>>,
    tokens: Tokens,
    flights: Mutex<HashMap<ByteRange, Arc<Flight>>>,
    kept: Mutex<Option<Kept>>,
    metrics: Mutex<Metrics>,
    rng: AtomicU64,
}

impl<I> fmt::Debug for Core<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
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

impl<I: Io> Core<I> {
    /// The reader behind both constructors. With `blob = Some((repo, digest))` each
    /// endpoint is asked for that registry blob; with `None` each endpoint's URL is the
    /// blob's own.
    pub(crate) async fn build(
        config: MirrorConfig,
        blob: Option<(&str, &str)>,
        blob_size: Option<u64>,
        mut options: ReaderOptions,
        io: I,
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
            tokens: Tokens::new(options.token_refresh_margin),
            flights: Mutex::new(HashMap::new()),
            kept: Mutex::new(None),
            metrics: Mutex::new(metrics),
            rng: AtomicU64::new(seed),
            options,
            io,
            endpoints,
        };
        reader.size = match blob_size {
            Some(n) => n,
            None => reader.probe_size().await?,
        };
        Ok(reader)
    }

    /// The blob's length in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The repository this reader reads from (empty for [`RangeReader::for_url`]).
    pub(crate) fn repo(&self) -> &str {
        &self.repo
    }

    /// The blob's digest (empty for [`RangeReader::for_url`]).
    pub(crate) fn digest(&self) -> &str {
        &self.digest
    }

    /// The blob's bytes kept from the size probe (normally its last
    /// [`ReaderOptions::tail_bytes`]); reads within them cost no request. `None` when the
    /// size was given, or the probe's reply was not worth keeping (a whole blob longer
    /// than the tail).
    pub(crate) fn kept_tail(&self) -> Option<ByteRange> {
        lock(&self.kept).as_ref().map(|k| k.range)
    }

    /// Like [`RangeReader::read_ranges`], with each range's bytes passed to `verify`
    /// before they are returned. Bytes it rejects are fetched again from the next
    /// endpoint (the ones that served them are not asked again in this call); if every
    /// endpoint's bytes are rejected the result is [`Error::Verification`].
    pub(crate) async fn read_ranges_verified(
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
                LimitKind::ReadBytes,
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
            let fetched = self.fetch(&wanted, verify).await?;
            for (r, bytes) in wanted.iter().zip(fetched) {
                got.insert(*r, bytes);
            }
            guard.publish(&got);
        }
        let mut redo = Vec::new();
        for (r, flight) in follow {
            let waited = self.io.wait(&flight, Instant::now() + FLIGHT_WAIT).await;
            match waited.flatten() {
                Some(bytes) if verify.is_none_or(|v| v(r, &bytes)) => {
                    got.insert(r, bytes);
                }
                _ => redo.push(r),
            }
        }
        if !redo.is_empty() {
            let fetched = self.fetch(&redo, verify).await?;
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
    pub(crate) async fn read_std_ranges(
        &self,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<Bytes>> {
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
        let mut fetched = self.read_ranges_verified(&wanted, None).await?.into_iter();
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
    pub(crate) async fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
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
        let bytes = self.read_ranges_verified(&[range], None).await?;
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
    pub(crate) fn metrics(&self) -> Metrics {
        lock(&self.metrics).clone()
    }

    /// What the reader has learned about each endpoint, mirrors in order then the origin.
    pub(crate) fn endpoint_status(&self) -> Vec<EndpointStatus> {
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

/// The configuration of a reader of the blob at a fixed `url` (see
/// [`RangeReader::for_url`](crate::RangeReader::for_url)): the URL as the origin, no
/// mirrors.
pub(crate) fn url_config(url: &str) -> Result<MirrorConfig> {
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
    Ok(MirrorConfig::new(authority, origin))
}
/// The ranges a call leads; publishes results (or failure, if dropped early) to waiters.
struct LeadGuard<'a, I> {
    reader: &'a Core<I>,
    flights: Vec<(ByteRange, Arc<Flight>)>,
}

impl<I> LeadGuard<'_, I> {
    fn publish(mut self, got: &HashMap<ByteRange, Bytes>) {
        for (r, flight) in std::mem::take(&mut self.flights) {
            finish_flight(self.reader, r, &flight, got.get(&r).cloned());
        }
    }
}

impl<I> Drop for LeadGuard<'_, I> {
    fn drop(&mut self) {
        for (r, flight) in std::mem::take(&mut self.flights) {
            finish_flight(self.reader, r, &flight, None);
        }
    }
}

fn finish_flight<I>(reader: &Core<I>, r: ByteRange, flight: &Arc<Flight>, bytes: Option<Bytes>) {
    {
        let mut flights = lock(&reader.flights);
        if flights.get(&r).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            flights.remove(&r);
        }
    }
    flight.set(bytes);
}
