//! Fetching ranges: failover across endpoints, ranged requests, and reading single-range
//! and `multipart/byteranges` replies into the assembly.

use super::*;

impl<I: Io> Core<I> {
    /// Fetches `wanted` (sorted, unique, non-empty ranges), verifies, and returns their
    /// bytes in order.
    pub(super) async fn fetch(
        &self,
        wanted: &[ByteRange],
        verify: Option<Verifier<'_>>,
    ) -> Result<Vec<Bytes>> {
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
            if availability == Availability::Probe && !self.probe(ep).await {
                continue;
            }
            if let Err(e) = self.fetch_from(ep, &mut asm).await {
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
    pub(super) async fn fetch_from(&self, ep: usize, asm: &mut Assembly) -> Result<()> {
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
                match self.request_ranges(ep, request.ranges(), asm).await {
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
                    self.io.sleep(delay).await;
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
    pub(super) async fn request_ranges(
        &self,
        ep: usize,
        ranges: &[ByteRange],
        asm: &mut Assembly,
    ) -> std::result::Result<Progress, Fail> {
        let multi = ranges.len() > 1;
        let value = range_header_value(ranges).map_err(|e| Fail::Next(e, false))?;
        let reply = self.exchange(ep, &value).await?;
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
        let Head { body, .. } = reply;
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
                self.read_span(ep, body, range.start(), range.end(), asm)
                    .await?;
                Ok(Progress::Served)
            }
            ReplyBody::Multipart { boundary } => {
                let parts = self.read_multipart(ep, body, boundary, asm).await?;
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
                // Serve everything this read still needs from this one body, unless that
                // means reading too much that is not needed; the body is then dropped.
                let missing = asm.missing();
                let end = missing.last().map_or(0, |r| r.end());
                let needed: u64 = missing.iter().map(|r| r.len()).sum();
                let overread = end.saturating_sub(needed);
                let budget = needed.saturating_mul(self.options.whole_body_overread_percent) / 100;
                if overread > budget && !self.is_last_endpoint(ep) {
                    return Err(Fail::Next(
                        Error::bad_reply(
                            "status",
                            None,
                            format!(
                                "{url} answered ranges with the whole blob; reading it to byte \
                                 {end} for {needed} needed bytes is over the budget"
                            ),
                        ),
                        false,
                    ));
                }
                self.read_span(ep, body, 0, end, asm).await?;
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
    pub(super) async fn read_span(
        &self,
        ep: usize,
        mut body: I::Body,
        from: u64,
        to: u64,
        asm: &mut Assembly,
    ) -> std::result::Result<(), Fail> {
        let mut at = from;
        let mut buf = vec![0u8; READ_CHUNK];
        while at < to {
            let want = usize::try_from((to - at).min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            let n = match self
                .io
                .read(&mut body, buf.get_mut(..want).unwrap_or_default())
                .await
            {
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
    pub(super) fn body_fail(&self, _ep: usize, e: Error) -> Fail {
        Fail::Retry(e, None)
    }

    /// Streams a `multipart/byteranges` body into `asm`, committing each complete part.
    /// Returns the parts seen.
    pub(super) async fn read_multipart(
        &self,
        ep: usize,
        mut body: I::Body,
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
            let n = match self.io.read(&mut body, &mut buf).await {
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
}
