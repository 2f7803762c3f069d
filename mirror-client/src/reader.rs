//! [`RangeReader`]: blocking, mirror-aware reads of byte ranges of one blob, and the
//! options, metrics and diagnostics every reader shares.
//!
//! The reads themselves are the crate's async core, driven here on the calling thread
//! without a runtime: the blocking [`Transport`]'s calls complete at once, back-offs are
//! `std::thread::sleep`, and single-flight waits block on condition variables. It never
//! starts an async runtime, so it may be called from anywhere a blocking call may.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::config::MirrorConfig;
use crate::engine::{self, Core};
use crate::error::Result;
use crate::io::{BlockingIo, block_on};
use crate::multipart::MultipartLimits;
use crate::policy::{Availability, HealthPolicy, MultiRange, RetryPolicy, Role};
use crate::range::{ByteRange, PlanOptions};
use crate::transport::Transport;

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
    /// When an endpoint that is not the last one answers ranges with the whole blob (a
    /// cold pull-through cache, which ignores `Range` until it has stored the blob), the
    /// body is read up to the last byte the read needs only if the bytes it would read
    /// without needing them (before and between the needed ranges) are at most this
    /// percentage of the needed bytes. Otherwise the connection is dropped unread and the
    /// request goes to the next endpoint (the origin last), counted as a fallback of the
    /// mirror, not a failure: it is healthy, just cold, and it keeps filling its cache
    /// (distribution stores the blob from its own upstream request). The last endpoint is
    /// always read as far as needed. Default 10 (received bytes at most 1.1 times the
    /// needed ones); `u64::MAX` reads every whole body.
    pub whole_body_overread_percent: u64,
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
            whole_body_overread_percent: 10,
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

/// Reads byte ranges of one blob from an origin registry and its mirrors, with
/// per-request failover. See the [crate docs](crate).
///
/// All methods take `&self`; a reader may be shared between threads (put it in an
/// [`Arc`]). Identical ranges requested by several threads at once are fetched once.
pub struct RangeReader {
    core: Core<BlockingIo>,
}

impl fmt::Debug for RangeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RangeReader").field(&self.core).finish()
    }
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
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `repo` or `digest` is malformed, and with
    /// [`Error::AllEndpointsFailed`](crate::Error::AllEndpointsFailed) if the size had to be learned and no endpoint told it.
    pub fn with_transport(
        config: MirrorConfig,
        repo: &str,
        digest: &str,
        blob_size: Option<u64>,
        options: ReaderOptions,
        transport: Arc<dyn Transport>,
    ) -> Result<Self> {
        let io = BlockingIo(transport);
        let core = block_on(Core::build(
            config,
            Some((repo, digest)),
            blob_size,
            options,
            io,
        ))?;
        Ok(Self { core })
    }

    /// A reader for the blob at a fixed `url`, any `http(s)` URL (query included, e.g. a
    /// presigned object-store URL), requested as it is: no mirrors, no registry path, no
    /// credentials. Replies are checked as for a registry blob, redirects are followed, and
    /// `blob_size` works as in [`RangeReader::with_transport`]. [`RangeReader::repo`] and
    /// [`RangeReader::digest`] are empty; the endpoint's name (in metrics and errors) is
    /// the URL without its query, which may carry a signature.
    ///
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `url` is not an absolute `http(s)` URL with
    /// a host (user information in it is refused: it would be shown), and with
    /// [`Error::AllEndpointsFailed`](crate::Error::AllEndpointsFailed) if the size had to be learned and the server did not
    /// tell it.
    pub fn for_url(
        url: &str,
        blob_size: Option<u64>,
        options: ReaderOptions,
        transport: Arc<dyn Transport>,
    ) -> Result<Self> {
        let config = engine::url_config(url)?;
        let io = BlockingIo(transport);
        let core = block_on(Core::build(config, None, blob_size, options, io))?;
        Ok(Self { core })
    }

    /// The blob's length in bytes.
    pub fn size(&self) -> u64 {
        self.core.size()
    }

    /// The repository this reader reads from (empty for [`RangeReader::for_url`]).
    pub fn repo(&self) -> &str {
        self.core.repo()
    }

    /// The blob's digest (empty for [`RangeReader::for_url`]).
    pub fn digest(&self) -> &str {
        self.core.digest()
    }

    /// The blob's bytes kept from the size probe (normally its last
    /// [`ReaderOptions::tail_bytes`]); reads within them cost no request. `None` when the
    /// size was given, or the probe's reply was not worth keeping (a whole blob longer
    /// than the tail).
    pub fn kept_tail(&self) -> Option<ByteRange> {
        self.core.kept_tail()
    }

    /// Reads `ranges` (any order, overlaps allowed) and returns their bytes in the same
    /// order.
    ///
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) if a range
    /// reaches past the blob's end, with [`Error::LimitExceeded`](crate::Error::LimitExceeded)
    /// if the ranges add up to more than `max_read_bytes`, and with
    /// [`Error::AllEndpointsFailed`](crate::Error::AllEndpointsFailed) when no endpoint
    /// could serve them.
    pub fn read_ranges(&self, ranges: &[ByteRange]) -> Result<Vec<Bytes>> {
        block_on(self.core.read_ranges_verified(ranges, None))
    }

    /// Like [`RangeReader::read_ranges`], with each range's bytes passed to `verify`
    /// before they are returned. Bytes it rejects are fetched again from the next
    /// endpoint (the ones that served them are not asked again in this call); if every
    /// endpoint's bytes are rejected the result is
    /// [`Error::Verification`](crate::Error::Verification).
    pub fn read_ranges_verified(
        &self,
        ranges: &[ByteRange],
        verify: Option<Verifier<'_>>,
    ) -> Result<Vec<Bytes>> {
        block_on(self.core.read_ranges_verified(ranges, verify))
    }

    /// Like [`RangeReader::read_ranges`] for `std` ranges (as a positioned-read trait
    /// takes them); empty ranges give empty buffers.
    ///
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a reversed
    /// range (`start > end`).
    pub fn read_std_ranges(&self, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Bytes>> {
        block_on(self.core.read_std_ranges(ranges))
    }

    /// Fills `buf` with the blob's bytes from `offset`.
    ///
    /// Fails with [`Error::InvalidArgument`](crate::Error::InvalidArgument) if that reaches
    /// past the blob's end.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        block_on(self.core.read_exact_at(offset, buf))
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

#[cfg(test)]
mod fixed_url_tests {
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use http::header::{self, HeaderValue};
    use http::{HeaderMap, Request, StatusCode};

    use super::*;
    use crate::error::Error;
    use crate::transport::{Reply, SendOptions};

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

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
