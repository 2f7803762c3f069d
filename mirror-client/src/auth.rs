//! Registry authentication, sans-IO: `WWW-Authenticate` challenges, the token endpoint's
//! reply, and a cache of tokens with expiry.
//!
//! Nothing here reads a clock or makes a request. The caller passes the current time in,
//! which keeps expiry logic testable.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, header};

use crate::error::{Error, Result};
use crate::multipart::{is_tchar, quoted_string};

const WHAT: &str = "WWW-Authenticate header";
const WHAT_TOKEN: &str = "token reply";

/// The lifetime of a token whose reply has no `expires_in` (distribution's token spec).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// One challenge from a `WWW-Authenticate` header (RFC 9110 §11.6.1).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// The authentication scheme as sent, e.g. `Bearer`. Compare it case-insensitively.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the scheme is `name`, ignoring case.
    pub fn is_scheme(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The `token68` form of credentials data, if the challenge used it instead of
    /// parameters.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The value of parameter `name` (case-insensitive), quoted strings unescaped.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in order, names lower-cased.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The Bearer challenge this is, if its scheme is `Bearer` and it has a `realm`.
    pub fn bearer(&self) -> Option<BearerChallenge> {
        if !self.is_scheme("bearer") {
            return None;
        }
        Some(BearerChallenge {
            realm: self.param("realm")?.to_owned(),
            service: self.param("service").map(str::to_owned),
            scope: self.param("scope").map(str::to_owned),
            error: self.param("error").map(str::to_owned),
        })
    }
}

/// A `Bearer` challenge: where to get a token and for what.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct BearerChallenge {
    /// The token endpoint's URL.
    pub realm: String,
    /// The `service` to ask the token endpoint for, if given.
    pub service: Option<String>,
    /// The `scope` (e.g. `repository:library/ubuntu:pull`), if given. Several scopes are
    /// separated by spaces.
    pub scope: Option<String>,
    /// The `error` code (e.g. `invalid_token`, `insufficient_scope`), if given.
    pub error: Option<String>,
}

impl BearerChallenge {
    /// The key under which a token for this challenge is cached.
    pub fn cache_key(&self) -> TokenKey {
        TokenKey {
            realm: self.realm.clone(),
            service: self.service.clone().unwrap_or_default(),
            scope: self.scope.clone().unwrap_or_default(),
        }
    }
}

/// Parses one `WWW-Authenticate` header value, which may hold several challenges.
pub fn parse_www_authenticate(value: &[u8]) -> Result<Vec<Challenge>> {
    let mut p = Parser { s: value, pos: 0 };
    let mut challenges = Vec::new();
    loop {
        p.skip_list_separators();
        if p.at_end() {
            return Ok(challenges);
        }
        let scheme = p
            .token()
            .ok_or_else(|| p.error("expected an auth scheme"))?;
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let had_space = p.skip_spaces();
        if had_space && !p.at_end() && p.peek() != Some(b',') {
            if let Some(t68) = p.token68() {
                challenge.token68 = Some(t68);
            } else {
                p.params(&mut challenge)?;
            }
        }
        challenges.push(challenge);
        p.skip_spaces();
        match p.peek() {
            None | Some(b',') => {}
            Some(_) => return Err(p.error("expected ',' between challenges")),
        }
    }
}

/// Parses every `WWW-Authenticate` header in `headers`, in order.
pub fn challenges_from_headers(headers: &HeaderMap) -> Result<Vec<Challenge>> {
    let mut all = Vec::new();
    for value in headers.get_all(header::WWW_AUTHENTICATE) {
        all.extend(parse_www_authenticate(value.as_bytes())?);
    }
    Ok(all)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn error(&self, reason: &str) -> Error {
        Error::bad_reply(WHAT, Some(self.pos as u64), reason)
    }

    fn skip_spaces(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let t = self.s.get(start..self.pos).unwrap_or_default();
        (!t.is_empty()).then(|| String::from_utf8_lossy(t).into_owned())
    }

    /// `token68` if the next item is one (followed by the end or a comma); otherwise leaves
    /// the position unchanged.
    fn token68(&mut self) -> Option<String> {
        let start = self.pos;
        let mut i = start;
        let is_t68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
        while self.s.get(i).copied().is_some_and(is_t68) {
            i += 1;
        }
        if i == start {
            return None;
        }
        while self.s.get(i) == Some(&b'=') {
            i += 1;
        }
        let mut j = i;
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if !matches!(self.s.get(j), None | Some(b',')) {
            return None;
        }
        // `name=` followed by a comma is an auth-param with an empty value only if a value
        // follows '=', which it does not here, so this is token68.
        self.pos = i;
        Some(String::from_utf8_lossy(self.s.get(start..i).unwrap_or_default()).into_owned())
    }

    /// `auth-param *( OWS "," OWS auth-param )`, stopping before a comma that starts the
    /// next challenge.
    fn params(&mut self, challenge: &mut Challenge) -> Result<()> {
        loop {
            let name = self
                .token()
                .ok_or_else(|| self.error("expected a parameter name"))?
                .to_ascii_lowercase();
            self.skip_spaces();
            if self.peek() != Some(b'=') {
                return Err(self.error("expected '=' after the parameter name"));
            }
            self.pos += 1;
            self.skip_spaces();
            let value = if self.peek() == Some(b'"') {
                let (text, next) = quoted_string(self.s, self.pos).map_err(|at| {
                    Error::bad_reply(WHAT, Some(at as u64), "malformed quoted string")
                })?;
                self.pos = next;
                text
            } else {
                self.token()
                    .ok_or_else(|| self.error("expected a token or quoted string"))?
            };
            if challenge.params.iter().any(|(n, _)| *n == name) {
                return Err(self.error("parameter given twice in one challenge"));
            }
            challenge.params.push((name, value));
            // Another parameter of this challenge follows if, after commas, a token is
            // followed by '='. Otherwise stop at the comma.
            let save = self.pos;
            self.skip_spaces();
            if self.peek() != Some(b',') {
                self.pos = save;
                return Ok(());
            }
            self.skip_list_separators();
            let next = self.pos;
            let is_param = self.token().is_some() && {
                self.skip_spaces();
                self.peek() == Some(b'=')
            };
            if !is_param {
                self.pos = save;
                return Ok(());
            }
            self.pos = next;
        }
    }
}

/// A secret string (a token or password) whose `Debug` output is redacted.
#[derive(Clone, Eq, Hash, PartialEq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A token endpoint's JSON reply (distribution's `docs/spec/auth/token.md`).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TokenResponse {
    /// The bearer token (`token`, or `access_token` when `token` is absent).
    pub token: Secret,
    /// How long the token is valid after it was issued; 60 s when the reply omits it or
    /// gives 0.
    pub expires_in: Duration,
    /// When the server issued the token (`issued_at`, RFC 3339), if it said.
    pub issued_at: Option<SystemTime>,
    /// A refresh token, if the server sent one.
    pub refresh_token: Option<Secret>,
}

impl TokenResponse {
    /// Parses the JSON body of a token endpoint's reply. Unknown fields are ignored.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| Error::bad_reply(WHAT_TOKEN, None, format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| Error::bad_reply(WHAT_TOKEN, None, "not a JSON object"))?;
        let string = |key: &'static str| -> Result<Option<&str>> {
            match obj.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::bad_reply(
                    WHAT_TOKEN,
                    None,
                    format!("{key}: expected a string"),
                )),
            }
        };
        let token = string("token")?
            .filter(|t| !t.is_empty())
            .or(string("access_token")?.filter(|t| !t.is_empty()))
            .ok_or_else(|| {
                Error::bad_reply(WHAT_TOKEN, None, "neither token nor access_token given")
            })?;
        let expires_in = match obj.get("expires_in") {
            None | Some(serde_json::Value::Null) => DEFAULT_TOKEN_LIFETIME,
            Some(serde_json::Value::Number(n)) => match n.as_u64() {
                Some(0) => DEFAULT_TOKEN_LIFETIME,
                Some(secs) => Duration::from_secs(secs),
                None => {
                    return Err(Error::bad_reply(
                        WHAT_TOKEN,
                        None,
                        "expires_in: expected a non-negative integer",
                    ));
                }
            },
            Some(_) => {
                return Err(Error::bad_reply(
                    WHAT_TOKEN,
                    None,
                    "expires_in: expected a number",
                ));
            }
        };
        let issued_at = string("issued_at")?
            .map(|s| {
                parse_rfc3339(s).ok_or_else(|| {
                    Error::bad_reply(WHAT_TOKEN, None, "issued_at: expected an RFC 3339 time")
                })
            })
            .transpose()?;
        let refresh_token = string("refresh_token")?.map(Secret::new);
        Ok(Self {
            token: Secret::new(token),
            expires_in,
            issued_at,
            refresh_token,
        })
    }
}

/// Parses an RFC 3339 date-time (`2009-11-10T23:00:00Z`, fractional seconds and numeric
/// offsets allowed) into a `SystemTime`. Times before 1970 are rejected.
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let mins = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if c == b'+' { mins * 60 } else { -mins * 60 }
        }
        _ => return None,
    };
    // Days from civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// What a token is cached for: the challenge's realm, service and scope.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct TokenKey {
    /// The token endpoint's URL.
    pub realm: String,
    /// The service (empty when the challenge had none).
    pub service: String,
    /// The scope (empty when the challenge had none).
    pub scope: String,
}

/// The state of a cached token at some instant.
#[derive(Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum TokenState<'a> {
    /// Valid and not yet due for refresh.
    Fresh(&'a Secret),
    /// Still valid, but within the refresh margin: use it, and fetch a new one.
    RefreshDue(&'a Secret),
    /// Expired or never fetched: fetch one before sending the request.
    Missing,
}

#[derive(Clone, Debug)]
struct CachedToken {
    token: Secret,
    /// `None` when the expiry cannot be represented (absurdly long lifetimes).
    expires_at: Option<Instant>,
    refresh_at: Option<Instant>,
}

/// Tokens by (realm, service, scope), with expiry.
///
/// Lifetimes count from when the caller received the reply (the `now` passed to
/// [`TokenCache::insert`]), not from `issued_at`, so clock skew between the registry and
/// this machine does not matter. A token is due for refresh `refresh_margin` before it
/// expires, but never earlier than half-way through its lifetime.
#[derive(Clone, Debug)]
pub struct TokenCache {
    refresh_margin: Duration,
    entries: HashMap<TokenKey, CachedToken>,
}

impl Default for TokenCache {
    /// A cache with a 20-second refresh margin (nydus uses the same).
    fn default() -> Self {
        Self::new(Duration::from_secs(20))
    }
}

impl TokenCache {
    /// An empty cache that refreshes tokens `refresh_margin` before they expire.
    pub fn new(refresh_margin: Duration) -> Self {
        Self {
            refresh_margin,
            entries: HashMap::new(),
        }
    }

    /// Stores a token received at `now`, replacing any older one for `key`, and drops
    /// expired entries.
    pub fn insert(&mut self, key: TokenKey, response: &TokenResponse, now: Instant) {
        self.purge_expired(now);
        let lifetime = response.expires_in;
        let margin = self.refresh_margin.min(lifetime / 2);
        self.entries.insert(
            key,
            CachedToken {
                token: response.token.clone(),
                expires_at: now.checked_add(lifetime),
                refresh_at: now.checked_add(lifetime - margin),
            },
        );
    }

    /// The token for `key` at `now`.
    pub fn lookup(&self, key: &TokenKey, now: Instant) -> TokenState<'_> {
        let Some(entry) = self.entries.get(key) else {
            return TokenState::Missing;
        };
        if entry.expires_at.is_some_and(|t| now >= t) {
            TokenState::Missing
        } else if entry.refresh_at.is_some_and(|t| now >= t) {
            TokenState::RefreshDue(&entry.token)
        } else {
            TokenState::Fresh(&entry.token)
        }
    }

    /// When the token for `key` should be refreshed, if one is cached and its expiry is
    /// representable.
    pub fn refresh_at(&self, key: &TokenKey) -> Option<Instant> {
        self.entries.get(key).and_then(|e| e.refresh_at)
    }

    /// Forgets the token for `key` (for example after the registry rejected it with 401).
    pub fn remove(&mut self, key: &TokenKey) {
        self.entries.remove(key);
    }

    /// Drops every token that has expired at `now`.
    pub fn purge_expired(&mut self, now: Instant) {
        self.entries
            .retain(|_, e| e.expires_at.is_none_or(|t| now < t));
    }

    /// How many tokens are cached (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no tokens are cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn parse(s: &str) -> Vec<Challenge> {
        parse_www_authenticate(s.as_bytes()).unwrap()
    }

    #[test]
    fn docker_hub_bearer() {
        let c = parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#,
        );
        assert_eq!(c.len(), 1);
        let b = c[0].bearer().unwrap();
        assert_eq!(b.realm, "https://auth.docker.io/token");
        assert_eq!(b.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(b.scope.as_deref(), Some("repository:library/ubuntu:pull"));
        assert_eq!(b.error, None);
        assert_eq!(b.cache_key().scope, "repository:library/ubuntu:pull");
    }

    #[test]
    fn several_challenges_escapes_and_token68() {
        let c = parse(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme(), "Newauth");
        assert_eq!(c[0].param("TITLE"), Some(r#"Login to "apps""#));
        assert_eq!(c[0].param("type"), Some("1"));
        assert!(c[1].is_scheme("basic"));
        assert_eq!(c[1].param("realm"), Some("simple"));
        assert!(c[1].bearer().is_none());

        let c = parse("Negotiate abc123==, Basic, Bearer realm=x , error = \"insufficient_scope\"");
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].token68(), Some("abc123=="));
        assert_eq!(c[1].scheme(), "Basic");
        assert_eq!(c[1].params().count(), 0);
        let b = c[2].bearer().unwrap();
        assert_eq!(
            (b.realm.as_str(), b.error.as_deref()),
            ("x", Some("insufficient_scope"))
        );
        assert!(parse("").is_empty());
        assert!(parse(" , ,").is_empty());
        // Bearer without a realm is not usable.
        assert!(parse("Bearer service=x")[0].bearer().is_none());
    }

    #[test]
    fn rejects_malformed_challenges() {
        for bad in [
            "=x",
            "Bearer realm=\"unterminated",
            "Bearer realm=\"a\" service=\"b\"",
            "Bearer realm=a, realm=b",
            "Bearer realm=\"a\"x",
            "Bearer realm=\"\x01\"",
            "Bearer realm=@",
        ] {
            assert!(parse_www_authenticate(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn from_header_map() {
        let mut h = HeaderMap::new();
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Harbor\""),
        );
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"https://h/service/token\""),
        );
        let c = challenges_from_headers(&h).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c[1].bearer().is_some());
    }

    #[test]
    fn token_replies() {
        let t = TokenResponse::parse(
            br#"{"token":"abc","expires_in":300,"issued_at":"2009-11-10T23:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(t.token.expose(), "abc");
        assert_eq!(t.expires_in, Duration::from_secs(300));
        assert_eq!(
            t.issued_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_257_894_000))
        );
        assert!(!format!("{t:?}").contains("abc"));

        let t = TokenResponse::parse(br#"{"access_token":"xyz","refresh_token":"r"}"#).unwrap();
        assert_eq!(t.token.expose(), "xyz");
        assert_eq!(t.expires_in, DEFAULT_TOKEN_LIFETIME);
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("r"));
        let t = TokenResponse::parse(
            br#"{"token":"","access_token":"xyz","issued_at":"2020-02-29T12:30:45.5+01:30"}"#,
        )
        .unwrap();
        assert_eq!(t.token.expose(), "xyz");
        let want = UNIX_EPOCH + Duration::new(1_582_979_445 - 5400, 500_000_000);
        assert_eq!(t.issued_at, Some(want));

        for bad in [
            &br#"{}"#[..],
            br#"[]"#,
            br#"not json"#,
            br#"{"token":5}"#,
            br#"{"token":"a","expires_in":-1}"#,
            br#"{"token":"a","expires_in":"60"}"#,
            br#"{"token":"a","issued_at":"yesterday"}"#,
            br#"{"token":"a","issued_at":"2009-13-10T23:00:00Z"}"#,
            br#"{"token":"a","issued_at":"1969-12-31T23:59:59Z"}"#,
        ] {
            assert!(
                TokenResponse::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn token_cache_expiry() {
        let key = TokenKey {
            realm: "https://auth".into(),
            service: "reg".into(),
            scope: "repository:a:pull".into(),
        };
        let t0 = Instant::now();
        let mut cache = TokenCache::new(Duration::from_secs(20));
        assert_eq!(cache.lookup(&key, t0), TokenState::Missing);
        let reply = TokenResponse::parse(br#"{"token":"abc","expires_in":300}"#).unwrap();
        cache.insert(key.clone(), &reply, t0);
        assert!(
            matches!(cache.lookup(&key, t0 + Duration::from_secs(279)), TokenState::Fresh(t) if t.expose() == "abc")
        );
        assert!(matches!(
            cache.lookup(&key, t0 + Duration::from_secs(280)),
            TokenState::RefreshDue(_)
        ));
        assert_eq!(
            cache.lookup(&key, t0 + Duration::from_secs(300)),
            TokenState::Missing
        );
        assert_eq!(cache.refresh_at(&key), Some(t0 + Duration::from_secs(280)));
        // Short tokens are not refreshed before half their lifetime.
        let short = TokenResponse::parse(br#"{"token":"s","expires_in":10}"#).unwrap();
        cache.insert(key.clone(), &short, t0);
        assert_eq!(cache.refresh_at(&key), Some(t0 + Duration::from_secs(5)));
        // Absurd lifetimes do not overflow.
        let long =
            TokenResponse::parse(br#"{"token":"l","expires_in":18446744073709551615}"#).unwrap();
        cache.insert(key.clone(), &long, t0);
        assert!(matches!(
            cache.lookup(&key, t0 + Duration::from_secs(1 << 40)),
            TokenState::Fresh(_)
        ));
        cache.purge_expired(t0 + Duration::from_secs(1 << 40));
        assert_eq!(cache.len(), 1);
        cache.remove(&key);
        assert!(cache.is_empty());
        // Expired entries are purged on insert.
        let other = TokenKey {
            scope: "x".into(),
            ..key.clone()
        };
        cache.insert(key.clone(), &short, t0);
        cache.insert(other, &short, t0 + Duration::from_secs(11));
        assert_eq!(cache.len(), 1);
    }
}
