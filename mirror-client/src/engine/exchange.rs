//! One exchange with an endpoint: redirects (cached per endpoint) and authentication
//! challenges, until a reply that is neither.

use super::*;

impl<I: Io> Core<I> {
    /// Sends `GET` with `Range: range` to endpoint `ep`, following redirects (from the
    /// cache when fresh) and answering authentication challenges. Returns the first reply
    /// that is neither.
    pub(super) async fn exchange(
        &self,
        ep: usize,
        range: &str,
    ) -> std::result::Result<Head<I::Body>, Fail> {
        let info = self.info(ep).map_err(|e| Fail::Next(e, false))?;
        let base = info.blob_url.clone();
        let cached = self.cached_redirect(ep);
        let mut from_cache = cached.is_some();
        let mut url = cached.unwrap_or_else(|| base.clone());
        let mut hops: u32 = 0;
        let mut auth_rounds: u32 = 0;
        let mut authorization = self.preset_authorization(ep).await;
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
                .io
                .send(request, &info.send)
                .await
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
                    authorization = Some(
                        self.answer_challenge(ep, &reply.headers, &mut sent_token)
                            .await?,
                    );
                }
                _ => return Ok(reply),
            }
        }
    }

    pub(super) fn cached_redirect(&self, ep: usize) -> Option<Uri> {
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
}
