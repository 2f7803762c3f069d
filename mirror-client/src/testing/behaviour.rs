//! What a server does with a blob request: the quirks of real registries, CDNs and mirrors
//! (spec `mirror-behaviour.md` §2.7).

use std::time::Duration;

/// How a [`Server`](super::Server) answers a blob request.
///
/// Token (`/token`) and ping (`/ping`) requests are not blob requests and are always
/// answered normally.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behaviour {
    /// A correct server: one range as 206, several as `multipart/byteranges`, none as 200,
    /// unsatisfiable ones as 416.
    Honour,
    /// 200 with the whole blob, whatever the `Range` (S3, ECR, a cold pull-through cache).
    IgnoreRange,
    /// Several ranges: this status with an empty body (GCS 400, zot 416, GHCR and the Go
    /// Dragonfly daemon 501). One range: honoured.
    RefuseMulti(u16),
    /// Several ranges: a plain 206 holding only the first (the Rust Dragonfly daemon).
    FirstRangeOnly,
    /// Honour, but write `Content-Range: bytes a-b/*` (an unknown total).
    StarTotal,
    /// Honour, but answer a suffix range longer than the blob (`bytes=-N`, N > length) with
    /// 416 and `Content-Range: bytes */<length>` instead of the whole blob.
    RefuseLongSuffix,
    /// Honour, but cut the body after this many bytes and close the connection.
    Truncate(usize),
    /// Honour, but send this many body bytes, then stall for the duration, then close.
    Stall(usize, Duration),
    /// This status with an empty body.
    Status(u16),
    /// 429 with `Retry-After` set to this many seconds.
    TooMany(u64),
    /// Redirect with `status` to a signed URL, `{target}/storage/<name>?exp=<ms>&...`, where
    /// `<name>` is `blob` on a single-blob server and the digest on a registry. A server
    /// with [`Behaviour::Storage`] at `target` refuses the URL (403) once `ttl` has passed.
    Redirect {
        /// 301, 302, 303 or 307.
        status: u16,
        /// The storage server's base URL, such as another server's [`url`](super::Server::url).
        target: String,
        /// How long the signed URL is valid.
        ttl: Duration,
    },
    /// An object store behind a redirect: serves the blob at `/storage/<name>` while the
    /// query's `exp` (milliseconds since the Unix epoch) lies in the future, else 403.
    /// No authentication is asked for.
    Storage,
    /// Honour, but with every byte of the blob inverted (a mirror serving the wrong object).
    Corrupt,
    /// Wait, then honour.
    Delay(Duration),
    /// A deliberately flaky server: every `every`-th request answered with this behaviour
    /// gets `fault`, the others are honoured. Deterministic: the count starts at 1 when the
    /// server starts or [`set`](super::Server::set) is called, so with `every: 3` requests
    /// 3, 6, 9, ... fail. `every: 0` never faults. A `Flaky` fault is itself resolved
    /// against the same count.
    Flaky {
        /// The period of the faults.
        every: u32,
        /// What the faulty requests get.
        fault: Box<Behaviour>,
    },
}

impl Behaviour {
    /// A [`Behaviour::Flaky`]: every `every`-th request gets `fault`.
    pub fn flaky(every: u32, fault: Behaviour) -> Self {
        Self::Flaky {
            every,
            fault: Box::new(fault),
        }
    }

    /// The behaviour for the `n`-th request (counted from 1) answered with `self`:
    /// `Flaky` resolved, everything else as is.
    pub(super) fn resolve(&self, n: u64) -> &Self {
        match self {
            Self::Flaky { every, fault } => {
                // `is_multiple_of(0)` holds for 0 only, and `n` counts from 1.
                if n.is_multiple_of(u64::from(*every)) {
                    fault.resolve(n)
                } else {
                    &Self::Honour
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(b: &Behaviour, requests: u64) -> Vec<&Behaviour> {
        (1..=requests).map(|n| b.resolve(n)).collect()
    }

    #[test]
    fn flaky_faults_every_nth_request_deterministically() {
        let b = Behaviour::flaky(3, Behaviour::Status(503));
        let fault = Behaviour::Status(503);
        let ok = Behaviour::Honour;
        assert_eq!(
            pattern(&b, 7),
            [&ok, &ok, &fault, &ok, &ok, &fault, &ok],
            "requests 3 and 6 fail"
        );
        assert_eq!(pattern(&b, 7), pattern(&b.clone(), 7));
    }

    #[test]
    fn flaky_edge_periods_and_nesting() {
        let never = Behaviour::flaky(0, Behaviour::Corrupt);
        assert!(pattern(&never, 10).iter().all(|b| **b == Behaviour::Honour));
        let always = Behaviour::flaky(1, Behaviour::TooMany(1));
        assert!(
            pattern(&always, 10)
                .iter()
                .all(|b| **b == Behaviour::TooMany(1))
        );
        // Outer every 2nd, inner every 3rd of the same count: only multiples of 6 fail.
        let nested = Behaviour::flaky(2, Behaviour::flaky(3, Behaviour::Status(500)));
        let failing: Vec<u64> = (1..=12)
            .filter(|&n| *nested.resolve(n) != Behaviour::Honour)
            .collect();
        assert_eq!(failing, [6, 12]);
        // Other behaviours resolve to themselves.
        assert_eq!(Behaviour::StarTotal.resolve(5), &Behaviour::StarTotal);
    }
}
