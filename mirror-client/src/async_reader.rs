//! [`AsyncRangeReader`]: the mirror-aware range reader as async methods (feature
//! `reqwest`).
//!
//! It runs the same core as the blocking [`RangeReader`](crate::RangeReader), with every
//! feature (failover, multi-range learning, redirects, tokens, retries, single-flight,
//! verified reads, metrics), over [`ReqwestTransport`]. Timers (back-off, timeouts,
//! single-flight deadlines) are tokio's, on the caller's runtime: nothing here starts a
//! runtime or a thread. The runtime must have its time driver enabled (as
//! `#[tokio::main]` and `Builder::enable_all` do). The futures are `Send`, so reads may
//! be spawned; dropping one mid-way is safe (ranges and tokens it was fetching for
//! others are handed back to them).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;

use crate::config::MirrorConfig;
use crate::engine::{self, Core};
use crate::error::{Error, Result, TransportErrorKind};
use crate::io::{Head, Io, Signal};
use crate::policy::redact;
use crate::range::ByteRange;
use crate::reader::{EndpointStatus, Metrics, ReaderOptions, Verifier};
use crate::transport::SendOptions;

/// An async HTTP transport on [`reqwest`] with rustls: no redirects followed, no content
/// decoding, no proxies, every status returned as a reply. Connections are pooled per
/// (connect timeout, TLS verification) setting; connect, first-byte and stalled-body
/// timeouts apply per request as in the blocking [`Transport`](crate::Transport).
#[derive(Debug, Default)]
pub struct ReqwestTransport {
    clients: Mutex<HashMap<(bool, Option<Duration>), reqwest::Client>>,
}

impl ReqwestTransport {
    /// A transport with its own connection pools.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client for `options`' connect timeout and TLS setting, built on first use.
    fn client(&self, options: &SendOptions) -> Result<reqwest::Client> {
        let key = (options.insecure_tls, options.timeouts.connect);
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .danger_accept_invalid_certs(options.insecure_tls)
            .user_agent(concat!("estargz-mirror/", env!("CARGO_PKG_VERSION")));
        if let Some(connect) = options.timeouts.connect {
            builder = builder.connect_timeout(connect);
        }
        let client = builder
            .build()
            .map_err(|e| Error::transport("", TransportErrorKind::Other, e.to_string()))?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Sends a `GET` and returns the reply head and body.
    async fn send(&self, request: Request<()>, options: &SendOptions) -> Result<Head<AsyncBody>> {
        let url = redact(request.uri());
        let client = self.client(options)?;
        let (parts, ()) = request.into_parts();
        let target = reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
            Error::transport(url.clone(), TransportErrorKind::Protocol, e.to_string())
        })?;
        let sent = client.get(target).headers(parts.headers).send();
        let reply = match options.timeouts.first_byte {
            // The connect timeout is the client's; this one covers the rest until the head.
            Some(limit) => {
                let limit = limit.saturating_add(options.timeouts.connect.unwrap_or_default());
                tokio::time::timeout(limit, sent).await.map_err(|_| {
                    Error::transport(url.clone(), TransportErrorKind::Timeout, "no reply head")
                })?
            }
            None => sent.await,
        }
        .map_err(|e| Error::transport(url, send_error_kind(&e), e.to_string()))?;
        Ok(Head {
            status: reply.status(),
            headers: reply.headers().clone(),
            body: AsyncBody {
                reply,
                pending: Bytes::new(),
                stall: options.timeouts.stall,
            },
        })
    }
}

fn send_error_kind(e: &reqwest::Error) -> TransportErrorKind {
    if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_builder() {
        TransportErrorKind::Protocol
    } else if e.is_request() || e.is_body() {
        TransportErrorKind::Reset
    } else {
        TransportErrorKind::Other
    }
}

/// A reply body being read: the reply and the rest of its last chunk.
#[derive(Debug)]
pub(crate) struct AsyncBody {
    reply: reqwest::Response,
    pending: Bytes,
    stall: Option<Duration>,
}

/// The async driver of the core: [`ReqwestTransport`] and tokio timers.
#[derive(Debug)]
pub(crate) struct ReqwestIo(Arc<ReqwestTransport>);

/// Waits for a [`Signal`] to be set.
struct SignalWait<'a, T>(&'a Signal<T>);

impl<T: Clone> Future for SignalWait<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.poll_value(cx)
    }
}

impl Io for ReqwestIo {
    type Body = AsyncBody;

    async fn send(&self, request: Request<()>, options: &SendOptions) -> Result<Head<AsyncBody>> {
        self.0.send(request, options).await
    }

    async fn read(&self, body: &mut AsyncBody, buf: &mut [u8]) -> io::Result<usize> {
        if body.pending.is_empty() {
            let next = body.reply.chunk();
            let chunk = match body.stall {
                Some(limit) => tokio::time::timeout(limit, next)
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the body stalled"))?,
                None => next.await,
            };
            match chunk.map_err(|e| {
                let kind = if e.is_timeout() {
                    io::ErrorKind::TimedOut
                } else {
                    io::ErrorKind::UnexpectedEof
                };
                io::Error::new(kind, e.to_string())
            })? {
                Some(bytes) => body.pending = bytes,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(body.pending.len());
        let part = body.pending.split_to(n);
        if let Some(dest) = buf.get_mut(..n) {
            dest.copy_from_slice(&part);
        }
        Ok(n)
    }

    async fn sleep(&self, delay: Duration) {
        tokio::time::sleep(delay).await;
    }

    async fn wait<T: Clone + Send>(&self, signal: &Signal<T>, deadline: Instant) -> Option<T> {
        let deadline = tokio::time::Instant::from_std(deadline);
        tokio::time::timeout_at(deadline, SignalWait(signal))
            .await
            .ok()
    }
}

/// Reads byte ranges of one blob from an origin registry and its mirrors, with
/// per-request failover, as async methods on the caller's tokio runtime. The async twin
/// of [`RangeReader`](crate::RangeReader): same options, metrics and behaviour (see the
/// [crate docs](crate)).
///
/// All methods take `&self`; share a reader between tasks with an [`Arc`]. Identical
/// ranges requested by several tasks at once are fetched once.
///
/// ```no_run
/// use estargz_mirror::{AsyncRangeReader, ByteRange, Endpoint, MirrorConfig};
///
/// # async fn run() -> Result<(), estargz_mirror::Error> {
/// let config = MirrorConfig::new("docker.io", Endpoint::new("registry-1.docker.io")?);
/// let digest = "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1";
/// let reader = AsyncRangeReader::new(config, "library/ubuntu", digest, Some(32)).await?;
/// let parts = reader.read_ranges(&[ByteRange::new(0, 10)?]).await?;
/// assert_eq!(parts[0].len(), 10);
/// # Ok(())
/// # }
/// ```
pub struct AsyncRangeReader {
    core: Core<ReqwestIo>,
}

impl fmt::Debug for AsyncRangeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsyncRangeReader").field(&self.core).finish()
    }
}

impl AsyncRangeReader {
    /// A reader for blob `digest` of `repo` over a new [`ReqwestTransport`] with default
    /// options. `blob_size` as in [`RangeReader::new`](crate::RangeReader::new).
    pub async fn new(
        config: MirrorConfig,
        repo: &str,
        digest: &str,
        blob_size: Option<u64>,
    ) -> Result<Self> {
        let transport = Arc::new(ReqwestTransport::new());
        Self::with_transport(
            config,
            repo,
            digest,
            blob_size,
            ReaderOptions::default(),
            transport,
        )
        .await
    }

    /// A reader with the given options over `transport` (share one between readers to
    /// share its connection pools). Arguments and errors as in
    /// [`RangeReader::with_transport`](crate::RangeReader::with_transport).
    pub async fn with_transport(
        config: MirrorConfig,
        repo: &str,
        digest: &str,
        blob_size: Option<u64>,
        options: ReaderOptions,
        transport: Arc<ReqwestTransport>,
    ) -> Result<Self> {
        let io = ReqwestIo(transport);
        let core = Core::build(config, Some((repo, digest)), blob_size, options, io).await?;
        Ok(Self { core })
    }

    /// A reader for the blob at a fixed `url`, as
    /// [`RangeReader::for_url`](crate::RangeReader::for_url).
    pub async fn for_url(
        url: &str,
        blob_size: Option<u64>,
        options: ReaderOptions,
        transport: Arc<ReqwestTransport>,
    ) -> Result<Self> {
        let config = engine::url_config(url)?;
        let core = Core::build(config, None, blob_size, options, ReqwestIo(transport)).await?;
        Ok(Self { core })
    }

    /// The blob's length in bytes.
    pub fn size(&self) -> u64 {
        self.core.size()
    }

    /// The repository this reader reads from (empty for [`AsyncRangeReader::for_url`]).
    pub fn repo(&self) -> &str {
        self.core.repo()
    }

    /// The blob's digest (empty for [`AsyncRangeReader::for_url`]).
    pub fn digest(&self) -> &str {
        self.core.digest()
    }

    /// The blob's bytes kept from the size probe, as
    /// [`RangeReader::kept_tail`](crate::RangeReader::kept_tail).
    pub fn kept_tail(&self) -> Option<ByteRange> {
        self.core.kept_tail()
    }

    /// Reads `ranges` (any order, overlaps allowed) and returns their bytes in the same
    /// order. Errors as [`RangeReader::read_ranges`](crate::RangeReader::read_ranges).
    pub async fn read_ranges(&self, ranges: &[ByteRange]) -> Result<Vec<Bytes>> {
        self.core.read_ranges_verified(ranges, None).await
    }

    /// Like [`AsyncRangeReader::read_ranges`], with each range's bytes passed to `verify`;
    /// rejected bytes are fetched from the next endpoint, as
    /// [`RangeReader::read_ranges_verified`](crate::RangeReader::read_ranges_verified).
    pub async fn read_ranges_verified(
        &self,
        ranges: &[ByteRange],
        verify: Option<Verifier<'_>>,
    ) -> Result<Vec<Bytes>> {
        self.core.read_ranges_verified(ranges, verify).await
    }

    /// Like [`AsyncRangeReader::read_ranges`] for `std` ranges; empty ranges give empty
    /// buffers, reversed ones are [`Error::InvalidArgument`].
    pub async fn read_std_ranges(&self, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Bytes>> {
        self.core.read_std_ranges(ranges).await
    }

    /// Fills `buf` with the blob's bytes from `offset`; [`Error::InvalidArgument`] if that
    /// reaches past the blob's end.
    pub async fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.core.read_exact_at(offset, buf).await
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> Metrics {
        self.core.metrics()
    }

    /// What the reader has learned about each endpoint, mirrors in order then the origin.
    pub fn endpoint_status(&self) -> Vec<EndpointStatus> {
        self.core.endpoint_status()
    }
}
