//! The failover and learning policy, sans-IO.
//!
//! Everything here is a pure function or a small state value: which endpoints to try and in
//! what order, what each one has shown it can do with multi-range requests, whether it is
//! healthy, what to do with a reply status, how long to back off, where a blob lives on an
//! endpoint and where a redirect points. Time and randomness are passed in by the caller,
//! so every decision is deterministic and table-tested.
//!
//! Endpoints are numbered as in [`MirrorConfig`]: mirrors `0..mirrors.len()` in order, then
//! the origin at index `mirrors.len()`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode, Uri, header};

use crate::config::{Endpoint, MirrorConfig};
use crate::error::{Error, Result};

/// Whether an endpoint is a mirror or the origin registry.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Role {
    /// A mirror: pull-through cache, Dragonfly daemon, caching proxy.
    Mirror,
    /// The origin registry.
    Origin,
}

/// What an endpoint has shown it does with a request for several ranges.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum MultiRange {
    /// Not learned yet: try multi-range.
    Unknown,
    /// Answers with `multipart/byteranges` (or a single part that covers everything).
    Works,
    /// Answers with the whole blob (200), as S3, ECR and cold pull-through caches do.
    WholeBody,
    /// Refuses with this status: 400 (GCS), 416 (zot) or 501 (GHCR CDN, Dragonfly Go).
    Refused(u16),
    /// Serves only the first range (Dragonfly Rust dfdaemon).
    FirstRangeOnly,
}

impl MultiRange {
    /// Whether requests to this endpoint may carry several ranges.
    pub fn allows_multi(self) -> bool {
        matches!(self, Self::Unknown | Self::Works)
    }
}

/// When an endpoint is taken out of rotation and for how long.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct HealthPolicy {
    /// After this many consecutive failures the endpoint is skipped. Default 3; an
    /// endpoint's own `failure_limit` overrides it.
    pub failure_limit: u32,
    /// How long a failed endpoint is skipped before it is probed again. Default 30 s; an
    /// endpoint's `health_check_interval` overrides it.
    pub cooldown: Duration,
    /// Learned multi-range behaviour is forgotten after this long, so a mirror that was
    /// cold (and answered with whole bodies) is tried with multi-range again. Default 10
    /// minutes.
    pub relearn_after: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            failure_limit: 3,
            cooldown: Duration::from_secs(30),
            relearn_after: Duration::from_secs(600),
        }
    }
}

/// Whether an endpoint may be used now.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Availability {
    /// Healthy: use it.
    Ready,
    /// It failed before and its cooldown has passed: probe it (its ping URL, or one real
    /// request) before trusting it again.
    Probe,
    /// Failed recently: skip it until this instant.
    Down {
        /// When it may be probed.
        until: Instant,
    },
}

/// What the reader has learned about one endpoint.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct EndpointState {
    consecutive_failures: u32,
    down_until: Option<Instant>,
    multi_range: MultiRange,
    learned_at: Option<Instant>,
}

impl Default for EndpointState {
    fn default() -> Self {
        Self::new()
    }
}

impl EndpointState {
    /// A fresh endpoint: healthy, multi-range unknown.
    pub const fn new() -> Self {
        Self {
            consecutive_failures: 0,
            down_until: None,
            multi_range: MultiRange::Unknown,
            learned_at: None,
        }
    }

    /// Whether the endpoint may be used at `now`.
    pub fn availability(&self, now: Instant) -> Availability {
        match self.down_until {
            None => Availability::Ready,
            Some(until) if now < until => Availability::Down { until },
            Some(_) => Availability::Probe,
        }
    }

    /// Consecutive failures so far.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Records a successful exchange: the endpoint is healthy again.
    pub fn record_success(&mut self) {
        self.consecutive_failures = 0;
        self.down_until = None;
    }

    /// Records a failure at `now`. Returns true when this failure took the endpoint out of
    /// rotation (the limit was reached, or a probe failed).
    pub fn record_failure(&mut self, now: Instant, limit: u32, cooldown: Duration) -> bool {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let probing = self.down_until.is_some_and(|t| now >= t);
        if probing || self.consecutive_failures >= limit.max(1) {
            self.down_until = Some(now.checked_add(cooldown).unwrap_or(now));
            true
        } else {
            false
        }
    }

    /// The multi-range behaviour learned, forgotten `relearn_after` after it was learned.
    pub fn multi_range(&self, now: Instant, relearn_after: Duration) -> MultiRange {
        match self.learned_at {
            Some(at) if now.saturating_duration_since(at) >= relearn_after => MultiRange::Unknown,
            _ => self.multi_range,
        }
    }

    /// Records what the endpoint did with a multi-range request at `now`.
    pub fn learn_multi_range(&mut self, seen: MultiRange, now: Instant) {
        self.multi_range = seen;
        self.learned_at = Some(now);
    }
}

/// The endpoints to try for one request, in order, with their availability.
///
/// Mirrors come in configured order, skipping those that are down; the origin comes last
/// when `fallback_to_origin` is set (and is never skipped: it is the last resort). If that
/// leaves nothing, every mirror is tried anyway (probing), so a request always has
/// somewhere to go. `excluded` endpoints (for example ones whose bytes failed verification
/// in this read) are left out.
pub fn failover_order(
    states: &[EndpointState],
    fallback_to_origin: bool,
    excluded: &[usize],
    now: Instant,
) -> Vec<(usize, Availability)> {
    let Some(origin) = states.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut order = Vec::with_capacity(states.len());
    for (i, state) in states.iter().enumerate().take(origin) {
        if excluded.contains(&i) {
            continue;
        }
        match state.availability(now) {
            Availability::Down { .. } => {}
            a => order.push((i, a)),
        }
    }
    if (fallback_to_origin || origin == 0) && !excluded.contains(&origin) {
        let a = match states.get(origin).map(|s| s.availability(now)) {
            Some(Availability::Ready) | None => Availability::Ready,
            Some(_) => Availability::Probe,
        };
        order.push((origin, a));
    }
    if order.is_empty() {
        for i in 0..origin {
            if !excluded.contains(&i) {
                order.push((i, Availability::Probe));
            }
        }
    }
    order
}

/// The `ns` value for mirror requests: the registry's name as configured (e.g.
/// `docker.io`), or the origin's host and port when the name is empty.
pub fn namespace(config: &MirrorConfig) -> String {
    if config.registry.is_empty() {
        config
            .origin
            .url
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default()
    } else {
        config.registry.clone()
    }
}

/// The URL of blob `digest` of `repo` on `endpoint`: `{base}/v2/{repo}/blobs/{digest}`,
/// plus `?ns={ns}` when `ns` is given (mirrors only: the OCI distribution spec's "Registry
/// Proxying" rule). A base URL whose path already ends in `/v2` is not given a second one.
///
/// Fails with [`Error::InvalidArgument`] if `repo` or `digest` hold characters that do not
/// belong in a path, or the result is not a valid URI.
pub fn blob_url(base: &Uri, repo: &str, digest: &str, ns: Option<&str>) -> Result<Uri> {
    let valid_repo = !repo.is_empty()
        && repo
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && repo
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b));
    if !valid_repo {
        return Err(Error::invalid_argument(
            "repo",
            format!("{repo:?} is not a repository name"),
        ));
    }
    let valid_digest = digest.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty()
            && !hex.is_empty()
            && alg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            && hex
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-')
    });
    if !valid_digest {
        return Err(Error::invalid_argument(
            "digest",
            format!("{digest:?} is not a digest"),
        ));
    }
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let prefix = base.path().trim_end_matches('/');
    let v2 = if prefix.ends_with("/v2") { "" } else { "/v2" };
    let mut url = format!("{scheme}://{authority}{prefix}{v2}/{repo}/blobs/{digest}");
    if let Some(ns) = ns {
        url.push_str("?ns=");
        push_query_escaped(&mut url, ns);
    }
    url.parse()
        .map_err(|e| Error::invalid_argument("url", format!("{url:?}: {e}")))
}

/// Appends `value` to `out`, percent-encoding everything but unreserved characters, `:`
/// and `/` (both allowed in a query by RFC 3986).
pub(crate) fn push_query_escaped(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Whether the origin's credentials may be sent to an endpoint with this role.
pub fn may_send_origin_credentials(role: Role, endpoint: &Endpoint) -> bool {
    role == Role::Origin || endpoint.forward_origin_credentials
}

/// The extra headers configured for `endpoint`, to send with every request to it (never
/// to redirect targets). `Range`, `Host` and hop-by-hop headers in the configuration are
/// dropped: the reader sets those itself.
pub fn endpoint_headers(endpoint: &Endpoint) -> HeaderMap {
    let mut out = endpoint.headers.clone();
    for name in [
        header::RANGE,
        header::HOST,
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
        header::ACCEPT_ENCODING,
    ] {
        out.remove(name);
    }
    out
}

/// What to do with a reply, by its status.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// 200 or 206: read the body.
    Accept,
    /// The endpoint refused a multi-range request: remember it and send single ranges to
    /// this endpoint.
    SingleRanges(MultiRange),
    /// Redirect: follow `Location`.
    Redirect,
    /// 401: authenticate and try again.
    Authenticate,
    /// Transient (408, 429, 5xx other than 501, network errors): try this endpoint again
    /// after a back-off, if attempts remain.
    Retry,
    /// Try the next endpoint. `failure` says whether it counts against the endpoint's
    /// health (a 404 on a mirror that does not have the blob does not).
    NextEndpoint {
        /// Whether this counts as a failure of the endpoint.
        failure: bool,
    },
}

/// Decides what to do with a reply's `status` to a request that asked for
/// `multi_range` ranges (more than one) or one range.
pub fn decide(status: StatusCode, multi_range: bool) -> Decision {
    match status.as_u16() {
        200 | 206 => Decision::Accept,
        301 | 302 | 303 | 307 | 308 => Decision::Redirect,
        401 => Decision::Authenticate,
        400 | 416 | 501 if multi_range => {
            Decision::SingleRanges(MultiRange::Refused(status.as_u16()))
        }
        404 | 403 => Decision::NextEndpoint { failure: false },
        408 | 429 => Decision::Retry,
        501 => Decision::NextEndpoint { failure: true },
        500..=599 => Decision::Retry,
        _ => Decision::NextEndpoint { failure: true },
    }
}

/// Retries and back-off.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts per request on a mirror before moving on (first try included). Default 2.
    pub mirror_attempts: u32,
    /// Attempts per request on the origin (first try included). Default 5.
    pub origin_attempts: u32,
    /// The first back-off. Default 100 ms.
    pub min_backoff: Duration,
    /// The longest back-off. Default 10 s.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the endpoint is left for the
    /// next one instead. Default 30 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            mirror_attempts: 2,
            origin_attempts: 5,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Attempts allowed on an endpoint with this role (at least 1).
    pub fn attempts(&self, role: Role) -> u32 {
        match role {
            Role::Mirror => self.mirror_attempts,
            Role::Origin => self.origin_attempts,
        }
        .max(1)
    }

    /// How long to wait before retry number `retry` (0 for the first retry).
    ///
    /// `jitter` is a random number in `[0, 1)` from the caller; the delay is the
    /// exponential back-off `min_backoff * 2^retry`, stretched by up to 2× by `jitter`,
    /// capped at `max_backoff`. A server's `retry_after` replaces it. Returns `None` when
    /// `retry_after` is longer than `max_retry_after`: do not wait, move on.
    pub fn backoff(
        &self,
        retry: u32,
        jitter: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if let Some(after) = retry_after {
            return (after <= self.max_retry_after).then_some(after);
        }
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        let base = self
            .min_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let stretched = Duration::try_from_secs_f64(base.as_secs_f64() * (1.0 + jitter))
            .unwrap_or(self.max_backoff);
        Some(stretched.min(self.max_backoff))
    }
}

/// The `Retry-After` header's delay at `now`: delta-seconds or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`). A date in the past gives zero; anything unparsable
/// gives `None`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_imf_fixdate(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Parses `Sun, 06 Nov 1994 08:49:37 GMT` into seconds since the Unix epoch.
fn parse_imf_fixdate(s: &str) -> Option<u64> {
    let (_, rest) = s.split_once(", ")?;
    let mut it = rest.split(' ');
    let day: u64 = it.next()?.parse().ok()?;
    let month = it.next()?;
    let year: u64 = it.next()?.parse().ok()?;
    let time = it.next()?;
    if it.next()? != "GMT" || it.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = u64::try_from(MONTHS.iter().position(|m| *m == month)?).ok()? + 1;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1970..=9999).contains(&year) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm, for years after 1970).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

/// Resolves a `Location` header value against the URL that was requested.
pub fn resolve_location(base: &Uri, location: &str) -> Result<Uri> {
    let bad = |reason: String| Error::bad_reply("Location header", None, reason);
    let location = location.trim();
    if location.is_empty() {
        return Err(bad("empty".into()));
    }
    // A scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`, then `:`) that
    // is not http(s) is refused, not taken for a relative path.
    let scheme_len = location
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        .count();
    if scheme_len > 0
        && location.as_bytes().get(scheme_len) == Some(&b':')
        && location
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
    {
        let scheme = location.get(..scheme_len).unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(bad(format!("{location:?} is not an http(s) URL")));
        }
    }
    let full = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{}://{rest}", base.scheme_str().unwrap_or("https"))
    } else {
        let scheme = base.scheme_str().unwrap_or("https");
        let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
        if location.starts_with('/') {
            format!("{scheme}://{authority}{location}")
        } else {
            let path = base.path();
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{scheme}://{authority}{dir}/{location}")
        }
    };
    let uri: Uri = full.parse().map_err(|e| bad(format!("{full:?}: {e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err(bad(format!("{full:?} is not an http(s) URL"))),
    }
}

/// Whether two URLs have the same scheme, host and port (credentials may only go to the
/// same origin).
pub fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme_str() == b.scheme_str()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && a.port_u16() == b.port_u16()
}

/// How long a redirect target may be reused: `default_ttl`, shortened to the expiry a
/// signed URL declares (`X-Amz-Expires` or `X-Goog-Expires`, in seconds from signing) less
/// a tenth for safety.
pub fn redirect_ttl(location: &Uri, default_ttl: Duration) -> Duration {
    let declared = location.query().and_then(|q| {
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.eq_ignore_ascii_case("X-Amz-Expires") || k.eq_ignore_ascii_case("X-Goog-Expires"))
                .then(|| v.parse::<u64>().ok())
                .flatten()
        })
    });
    match declared {
        Some(secs) => {
            let d = Duration::from_secs(secs);
            (d - d / 10).min(default_ttl)
        }
        None => default_ttl,
    }
}

/// A URL without its query, for error messages and logs (signed query strings are
/// credentials).
pub fn redact(url: &Uri) -> String {
    let scheme = url.scheme_str().unwrap_or("");
    let authority = url.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("{scheme}://{authority}{}", url.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn decisions_by_status() {
        use Decision::*;
        let table: &[(u16, bool, Decision)] = &[
            (200, false, Accept),
            (206, true, Accept),
            (301, false, Redirect),
            (302, true, Redirect),
            (303, false, Redirect),
            (307, false, Redirect),
            (308, false, Redirect),
            (401, true, Authenticate),
            (400, true, SingleRanges(MultiRange::Refused(400))),
            (416, true, SingleRanges(MultiRange::Refused(416))),
            (501, true, SingleRanges(MultiRange::Refused(501))),
            (400, false, NextEndpoint { failure: true }),
            (416, false, NextEndpoint { failure: true }),
            (501, false, NextEndpoint { failure: true }),
            (404, false, NextEndpoint { failure: false }),
            (403, true, NextEndpoint { failure: false }),
            (408, false, Retry),
            (429, true, Retry),
            (500, false, Retry),
            (502, false, Retry),
            (503, true, Retry),
            (504, false, Retry),
            (418, false, NextEndpoint { failure: true }),
            (204, false, NextEndpoint { failure: true }),
        ];
        for &(status, multi, want) in table {
            let got = decide(StatusCode::from_u16(status).unwrap(), multi);
            assert_eq!(got, want, "status {status} multi {multi}");
        }
    }

    #[test]
    fn backoff_is_exponential_jittered_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis());
        let table: &[(u32, f64, Option<u64>, Option<u128>)] = &[
            (0, 0.0, None, Some(100)),
            (1, 0.0, None, Some(200)),
            (2, 0.0, None, Some(400)),
            (2, 0.5, None, Some(600)),
            (3, 0.0, None, Some(800)),
            (3, 0.99, None, Some(1000)),
            (4, 0.0, None, Some(1000)),
            (100, 0.0, None, Some(1000)),
            (0, f64::NAN, None, Some(100)),
            (0, 7.0, None, Some(200)),
            (0, 0.5, Some(3), Some(3000)),
            (0, 0.5, Some(0), Some(0)),
            (0, 0.5, Some(6), None),
        ];
        for &(retry, jitter, after, want) in table {
            let got = p.backoff(retry, jitter, after.map(Duration::from_secs));
            assert_eq!(
                ms(got),
                want,
                "retry {retry} jitter {jitter} after {after:?}"
            );
        }
        assert_eq!(p.attempts(Role::Mirror), 2);
        assert_eq!(p.attempts(Role::Origin), 5);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::RETRY_AFTER, v.parse().unwrap());
            m
        };
        assert_eq!(retry_after(&h("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&h("Sun, 06 Nov 1994 08:49:47 GMT"), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(&h("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&h("soon"), now), None);
        assert_eq!(retry_after(&h("Sun, 06 Foo 1994 08:49:47 GMT"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
        assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_imf_fixdate("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
    }

    #[test]
    fn health_goes_down_after_the_limit_and_probes_after_cooldown() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(10);
        let mut s = EndpointState::new();
        assert_eq!(s.availability(t0), Availability::Ready);
        assert!(!s.record_failure(t0, 2, cool));
        assert_eq!(s.availability(t0), Availability::Ready);
        assert!(s.record_failure(t0, 2, cool));
        assert_eq!(
            s.availability(t0 + Duration::from_secs(5)),
            Availability::Down { until: t0 + cool }
        );
        let later = t0 + cool;
        assert_eq!(s.availability(later), Availability::Probe);
        // A failed probe takes it down again at once.
        assert!(s.record_failure(later, 2, cool));
        assert_eq!(
            s.availability(later),
            Availability::Down {
                until: later + cool
            }
        );
        s.record_success();
        assert_eq!(s.availability(later), Availability::Ready);
        assert_eq!(s.consecutive_failures(), 0);
    }

    #[test]
    fn multi_range_learning_expires() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(60);
        let mut s = EndpointState::new();
        assert_eq!(s.multi_range(t0, ttl), MultiRange::Unknown);
        assert!(s.multi_range(t0, ttl).allows_multi());
        s.learn_multi_range(MultiRange::Refused(501), t0);
        assert_eq!(s.multi_range(t0, ttl), MultiRange::Refused(501));
        assert!(!s.multi_range(t0, ttl).allows_multi());
        assert_eq!(s.multi_range(t0 + ttl, ttl), MultiRange::Unknown);
        for m in [MultiRange::WholeBody, MultiRange::FirstRangeOnly] {
            assert!(!m.allows_multi());
        }
        assert!(MultiRange::Works.allows_multi());
    }

    #[test]
    fn failover_order_mirrors_then_origin() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(10);
        let down = {
            let mut s = EndpointState::new();
            s.record_failure(t0, 1, cool);
            s
        };
        let ok = EndpointState::new();
        use Availability::*;
        // Two mirrors and the origin, all healthy.
        let states = vec![ok.clone(), ok.clone(), ok.clone()];
        assert_eq!(
            failover_order(&states, true, &[], t0),
            vec![(0, Ready), (1, Ready), (2, Ready)]
        );
        // No fallback: mirrors only.
        assert_eq!(
            failover_order(&states, false, &[], t0),
            vec![(0, Ready), (1, Ready)]
        );
        // First mirror down: skipped until its cooldown passes, then probed.
        let states = vec![down.clone(), ok.clone(), ok.clone()];
        assert_eq!(
            failover_order(&states, true, &[], t0),
            vec![(1, Ready), (2, Ready)]
        );
        assert_eq!(
            failover_order(&states, true, &[], t0 + cool),
            vec![(0, Probe), (1, Ready), (2, Ready)]
        );
        // The origin is never skipped.
        let states = vec![ok.clone(), down.clone()];
        assert_eq!(
            failover_order(&states, true, &[], t0),
            vec![(0, Ready), (1, Probe)]
        );
        // Everything down and no fallback: mirrors are probed anyway.
        let states = vec![down.clone(), down.clone(), ok.clone()];
        assert_eq!(
            failover_order(&states, false, &[], t0),
            vec![(0, Probe), (1, Probe)]
        );
        // Excluded endpoints are left out.
        let states = vec![ok.clone(), ok.clone(), ok.clone()];
        assert_eq!(failover_order(&states, true, &[0, 2], t0), vec![(1, Ready)]);
        // Origin only.
        assert_eq!(failover_order(&[ok], false, &[], t0), vec![(0, Ready)]);
        assert_eq!(failover_order(&[], true, &[], t0), vec![]);
    }

    #[test]
    fn blob_urls() {
        let d = "sha256:0123abcd";
        let table: &[(&str, Option<&str>, &str)] = &[
            (
                "https://registry-1.docker.io",
                None,
                "https://registry-1.docker.io/v2/library/ubuntu/blobs/sha256:0123abcd",
            ),
            (
                "http://127.0.0.1:5000/",
                Some("docker.io"),
                "http://127.0.0.1:5000/v2/library/ubuntu/blobs/sha256:0123abcd?ns=docker.io",
            ),
            (
                "http://m:1/prefix",
                Some("localhost:5000"),
                "http://m:1/prefix/v2/library/ubuntu/blobs/sha256:0123abcd?ns=localhost:5000",
            ),
            (
                "http://m:1/v2/",
                Some("a b"),
                "http://m:1/v2/library/ubuntu/blobs/sha256:0123abcd?ns=a%20b",
            ),
        ];
        for &(base, ns, want) in table {
            let got = blob_url(&uri(base), "library/ubuntu", d, ns).unwrap();
            assert_eq!(got.to_string(), want);
        }
        for repo in ["", "a//b", "../x", "A", "a?b", "a b"] {
            assert!(blob_url(&uri("http://h"), repo, d, None).is_err(), "{repo}");
        }
        for digest in ["", "sha256", ":abc", "sha256:", "sha256:a/b", "sha256:a?b"] {
            assert!(
                blob_url(&uri("http://h"), "r", digest, None).is_err(),
                "{digest}"
            );
        }
    }

    #[test]
    fn namespace_is_the_registry_name() {
        let origin = Endpoint::new("http://127.0.0.1:5000").unwrap();
        let c = MirrorConfig::new("docker.io", origin.clone());
        assert_eq!(namespace(&c), "docker.io");
        let c = MirrorConfig::new("", origin);
        assert_eq!(namespace(&c), "127.0.0.1:5000");
    }

    #[test]
    fn credentials_and_headers_per_endpoint() {
        let mut mirror = Endpoint::new("http://m").unwrap();
        mirror.headers.insert(
            "x-dragonfly-registry",
            "https://index.docker.io".parse().unwrap(),
        );
        mirror
            .headers
            .insert(header::RANGE, "bytes=0-1".parse().unwrap());
        mirror.headers.insert(header::HOST, "evil".parse().unwrap());
        assert!(!may_send_origin_credentials(Role::Mirror, &mirror));
        assert!(may_send_origin_credentials(Role::Origin, &mirror));
        mirror.forward_origin_credentials = true;
        assert!(may_send_origin_credentials(Role::Mirror, &mirror));
        let h = endpoint_headers(&mirror);
        assert_eq!(h.len(), 1);
        assert_eq!(h["x-dragonfly-registry"], "https://index.docker.io");
    }

    #[test]
    fn locations_resolve_and_origins_compare() {
        let base = uri("http://reg:5000/v2/r/blobs/sha256:ab?ns=x");
        let table: &[(&str, &str)] = &[
            (
                "http://s3:9000/b/k?X-Amz-Expires=60",
                "http://s3:9000/b/k?X-Amz-Expires=60",
            ),
            ("/storage/blob?sig=1", "http://reg:5000/storage/blob?sig=1"),
            ("//cdn/x", "http://cdn/x"),
            ("other", "http://reg:5000/v2/r/blobs/other"),
        ];
        for &(loc, want) in table {
            assert_eq!(resolve_location(&base, loc).unwrap().to_string(), want);
        }
        assert!(resolve_location(&base, "").is_err());
        assert!(resolve_location(&base, "ftp://x/y").is_err());
        assert!(resolve_location(&base, "http://bad host/").is_err());
        assert!(same_origin(&uri("http://A:1/x"), &uri("http://a:1/y")));
        assert!(!same_origin(&uri("http://a:1/x"), &uri("http://a:2/x")));
        assert!(!same_origin(&uri("http://a/x"), &uri("https://a/x")));
        assert_eq!(redact(&base), "http://reg:5000/v2/r/blobs/sha256:ab");
    }

    #[test]
    fn redirect_ttls_follow_signed_expiry() {
        let d = Duration::from_secs(600);
        let ttl = |s: &str| redirect_ttl(&uri(s), d).as_secs();
        assert_eq!(ttl("http://s/k"), 600);
        assert_eq!(ttl("http://s/k?X-Amz-Date=1&X-Amz-Expires=100"), 90);
        assert_eq!(ttl("http://s/k?x-goog-expires=1200"), 600);
        assert_eq!(ttl("http://s/k?X-Amz-Expires=junk"), 600);
    }
}
