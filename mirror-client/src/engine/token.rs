//! Bearer tokens and credentials: shared per key, fetched once at a time, sent up front
//! when an endpoint asked for them before.

use super::*;

/// Tokens shared by all reads, fetched once per key at a time.
#[derive(Debug)]
pub(super) struct Tokens {
    inner: Mutex<TokenInner>,
}

#[derive(Debug)]
struct TokenInner {
    /// Tokens fetched with the origin's credentials, and anonymous ones.
    credentialed: TokenCache,
    anonymous: TokenCache,
    /// Token fetches under way, each with the signal its waiters wait for.
    in_flight: HashMap<(bool, TokenKey), Arc<Signal<()>>>,
    /// The token key each endpoint last challenged for, to send it up front next time.
    endpoint_keys: HashMap<usize, TokenKey>,
}

impl Tokens {
    /// No tokens yet; each is renewed `refresh_margin` before it expires.
    pub(super) fn new(refresh_margin: Duration) -> Self {
        Self {
            inner: Mutex::new(TokenInner {
                credentialed: TokenCache::new(refresh_margin),
                anonymous: TokenCache::new(refresh_margin),
                in_flight: HashMap::new(),
                endpoint_keys: HashMap::new(),
            }),
        }
    }
}

impl TokenInner {
    fn cache(&self, credentialed: bool) -> &TokenCache {
        if credentialed {
            &self.credentialed
        } else {
            &self.anonymous
        }
    }

    fn cache_mut(&mut self, credentialed: bool) -> &mut TokenCache {
        if credentialed {
            &mut self.credentialed
        } else {
            &mut self.anonymous
        }
    }
}

/// What a token lookup leads to.
enum TokenStep {
    /// A usable token.
    Have(Secret),
    /// Another task is fetching it: wait for that.
    Wait(Arc<Signal<()>>),
    /// This task fetches it; its flight is registered with this signal.
    Fetch(Arc<Signal<()>>),
}

/// A token fetch this task leads: when dropped (done or abandoned), the flight ends and
/// its waiters wake to look in the cache again.
struct TokenFlight<'a> {
    tokens: &'a Tokens,
    flight: &'a (bool, TokenKey),
    signal: Arc<Signal<()>>,
}

impl Drop for TokenFlight<'_> {
    fn drop(&mut self) {
        {
            let mut inner = lock(&self.tokens.inner);
            // A waiter that gave up on this flight may have started its own since.
            if inner
                .in_flight
                .get(self.flight)
                .is_some_and(|s| Arc::ptr_eq(s, &self.signal))
            {
                inner.in_flight.remove(self.flight);
            }
        }
        self.signal.set(());
    }
}

impl<I: Io> Core<I> {
    /// The `Authorization` to send to `ep` before any challenge: a cached token for the
    /// key it challenged for last time, or configured origin credentials where allowed.
    pub(super) async fn preset_authorization(&self, ep: usize) -> Option<HeaderValue> {
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
                    if let Ok(t) = self.token(ep, &key, info.credentials, false).await {
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
    pub(super) async fn answer_challenge(
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
                .await
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

    /// A token for `key`, from the cache or fetched (once, however many tasks need it).
    pub(super) async fn token(
        &self,
        ep: usize,
        key: &TokenKey,
        credentialed: bool,
        force: bool,
    ) -> Result<Secret> {
        let flight = (credentialed, key.clone());
        let deadline = Instant::now() + FLIGHT_WAIT;
        if force {
            lock(&self.tokens.inner).cache_mut(credentialed).remove(key);
        }
        loop {
            let step = {
                let mut inner = lock(&self.tokens.inner);
                let now = Instant::now();
                let fetching = inner.in_flight.get(&flight).cloned();
                match (inner.cache(credentialed).lookup(key, now), fetching) {
                    (TokenState::Fresh(t), _) => TokenStep::Have(t.clone()),
                    (TokenState::RefreshDue(t), Some(_)) => TokenStep::Have(t.clone()),
                    (TokenState::Missing, Some(signal)) if now < deadline => {
                        TokenStep::Wait(signal)
                    }
                    _ => {
                        let signal = Arc::new(Signal::default());
                        inner.in_flight.insert(flight.clone(), Arc::clone(&signal));
                        TokenStep::Fetch(signal)
                    }
                }
            };
            let signal = match step {
                TokenStep::Have(token) => return Ok(token),
                TokenStep::Wait(signal) => {
                    self.io.wait(&signal, deadline).await;
                    continue;
                }
                TokenStep::Fetch(signal) => signal,
            };
            // Ends the flight even if this future is dropped while fetching.
            let guard = TokenFlight {
                tokens: &self.tokens,
                flight: &flight,
                signal,
            };
            let fetched = self.fetch_token(ep, key, credentialed).await;
            let result = fetched.map(|response| {
                lock(&self.tokens.inner).cache_mut(credentialed).insert(
                    key.clone(),
                    &response,
                    Instant::now(),
                );
                response.token
            });
            drop(guard);
            return result;
        }
    }

    /// Asks the token endpoint (`realm`) for a token.
    pub(super) async fn fetch_token(
        &self,
        ep: usize,
        key: &TokenKey,
        credentialed: bool,
    ) -> Result<TokenResponse> {
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
        let reply = self.io.send(request, &info.send).await?;
        if reply.status != StatusCode::OK {
            return Err(Error::Auth {
                url: policy::redact(&uri),
                reason: format!("token endpoint answered {}", reply.status.as_u16()),
            });
        }
        let body = read_token_reply(&self.io, reply.body, &policy::redact(&uri)).await?;
        TokenResponse::parse(&body)
    }
}

fn bearer_value(token: &Secret) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Reads a token endpoint's reply body, at most [`MAX_TOKEN_REPLY`] bytes: one more byte
/// than that is [`Error::LimitExceeded`], not a truncated body that fails to parse.
async fn read_token_reply<I: Io>(io: &I, mut body: I::Body, url: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    while buf.len() as u64 <= MAX_TOKEN_REPLY {
        let n = match io.read(&mut body, &mut chunk).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from_body_io(url, &e)),
        };
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    if buf.len() as u64 > MAX_TOKEN_REPLY {
        return Err(Error::limit(
            LimitKind::TokenReplyBytes,
            MAX_TOKEN_REPLY,
            buf.len() as u64,
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod token_reply_tests {
    use std::io::Cursor;

    use super::*;
    use crate::io::{BlockingIo, block_on};
    use crate::transport::{Reply, Transport};

    const URL: &str = "http://t/token";

    /// No requests: the token reply bodies are given.
    #[derive(Debug)]
    struct NoRequests;

    impl Transport for NoRequests {
        fn send(&self, _: Request<()>, _: &SendOptions) -> Result<Reply> {
            Err(Error::invalid_argument("request", "none expected"))
        }
    }

    fn io() -> BlockingIo {
        BlockingIo(Arc::new(NoRequests))
    }

    #[test]
    fn a_token_reply_at_the_limit_is_read_whole() {
        let body = vec![b' '; MAX_TOKEN_REPLY as usize];
        let read =
            block_on(read_token_reply(&io(), Box::new(Cursor::new(body)), URL)).expect("read");
        assert_eq!(read.len() as u64, MAX_TOKEN_REPLY);
    }

    #[test]
    fn a_token_reply_over_the_limit_is_a_limit_error() {
        let body = vec![b' '; MAX_TOKEN_REPLY as usize + 1];
        let err = block_on(read_token_reply(&io(), Box::new(Cursor::new(body)), URL))
            .expect_err("over the limit");
        assert!(
            matches!(
                err,
                Error::LimitExceeded {
                    kind: LimitKind::TokenReplyBytes,
                    limit: MAX_TOKEN_REPLY,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
