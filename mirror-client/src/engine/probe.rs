//! The size probe (the first tail read) and endpoint health checks.

use super::*;

impl<I: Io> Core<I> {
    /// Learns the blob's size with the suffix-range probe ([`TailProbe`]), trying
    /// endpoints in failover order, and keeps the tail bytes it brings.
    ///
    /// A mirror that gives the size but not the tail (a whole-body 200: a cold pull-through
    /// cache, which starts storing the blob) is passed over for the next endpoint, so the
    /// tail is not read out of a whole blob; its size is used if no other endpoint answers.
    pub(super) async fn probe_size(&self) -> Result<u64> {
        let order = {
            let states = lock(&self.states);
            policy::failover_order(&states, self.fallback_to_origin, &[], Instant::now())
        };
        let mut last = None;
        let mut size_only = None;
        let tried = order.len();
        for (ep, _) in order {
            match self.probe_from(ep).await {
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
    pub(super) async fn probe_from(&self, ep: usize) -> Result<u64> {
        let probe = TailProbe::new(self.options.tail_bytes);
        let attempts = self.options.retry.attempts(self.info(ep)?.role);
        let mut retry = 0;
        loop {
            match self.probe_once(ep, &probe).await {
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
                    self.io.sleep(delay).await;
                }
            }
        }
    }

    /// One probe on `ep`: the suffix request and, if it is refused with 416, one explicit
    /// request. Returns the size; keeps the bytes the reply carried.
    pub(super) async fn probe_once(
        &self,
        ep: usize,
        probe: &TailProbe,
    ) -> std::result::Result<u64, Fail> {
        let mut asked: Option<ByteRange> = None;
        loop {
            let value = match asked {
                None => probe.first_range(),
                Some(r) => TailProbe::range_value(r).map_err(|e| Fail::Next(e, false))?,
            };
            let Head {
                status,
                headers,
                body,
            } = self.exchange(ep, &value).await?;
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
                    self.read_span(ep, body, range.start(), range.end(), &mut asm)
                        .await?;
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
    pub(super) async fn probe(&self, ep: usize) -> bool {
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
            .io
            .send(request, &info.send)
            .await
            .is_ok_and(|reply| reply.status.as_u16() < 500);
        if healthy {
            self.with_state(ep, EndpointState::record_success);
        } else {
            self.fail(ep);
        }
        healthy
    }
}
