//! The blocking transport: send one request, get the reply head and a body to read.
//!
//! [`Transport`] is the only place where the reader touches the network. It must not
//! follow redirects, decode content encodings or retry: the reader does all of that
//! itself, because it has to see every hop (to drop credentials across hosts and cache
//! redirect targets) and every byte (blob bytes are checked by digest).
//!
//! `UreqTransport` (feature `ureq`, on by default) is the default implementation.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use http::{HeaderMap, Request, StatusCode};

use crate::error::Result;

/// Timeouts for one request.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct Timeouts {
    /// For connecting (name resolution, TCP and TLS). `None`: no limit.
    pub connect: Option<Duration>,
    /// From sending the request until the reply head has arrived. `None`: no limit.
    pub first_byte: Option<Duration>,
    /// The longest time a body read may make no progress. `None`: no limit. A slow but
    /// moving body is never cut off.
    pub stall: Option<Duration>,
}

impl Timeouts {
    /// Timeouts with every field set.
    pub fn new(
        connect: Option<Duration>,
        first_byte: Option<Duration>,
        stall: Option<Duration>,
    ) -> Self {
        Self {
            connect,
            first_byte,
            stall,
        }
    }
}

/// Per-request settings for a [`Transport`].
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct SendOptions {
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Accept any TLS certificate (an endpoint's `skip_tls_verify`).
    pub insecure_tls: bool,
}

/// A reply: status, headers and the body as a reader.
///
/// Dropping the body before its end abandons the rest of it (the connection is closed, not
/// reused).
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, undecoded. Read errors are [`std::io::Error`]s whose kind says what
    /// happened (`TimedOut` for a stall, `UnexpectedEof` or `ConnectionReset` for a body
    /// cut short).
    pub body: Box<dyn Read + Send>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// Sends blocking HTTP requests.
///
/// Implementations must not follow redirects, must not add `Accept-Encoding` or decode
/// bodies, must return every status (4xx and 5xx included) as a [`Reply`], and report
/// network failures as [`Error::Transport`](crate::Error::Transport) with a fitting
/// [`TransportErrorKind`](crate::TransportErrorKind).
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` (a `GET` without a body) and returns the reply head and body.
    fn send(&self, request: Request<()>, options: &SendOptions) -> Result<Reply>;
}

#[cfg(feature = "ureq")]
pub use self::ureq_impl::UreqTransport;

#[cfg(feature = "ureq")]
mod ureq_impl {
    use std::io;

    use http::Request;

    use super::{Reply, SendOptions, Transport};
    use crate::error::{Error, Result, TransportErrorKind};
    use crate::policy::redact;

    /// A [`Transport`] on [`ureq`] with rustls: no redirects followed, no content decoding,
    /// HTTP error statuses returned as replies, connections pooled.
    #[derive(Debug)]
    pub struct UreqTransport {
        agent: ureq::Agent,
        insecure: ureq::Agent,
    }

    impl Default for UreqTransport {
        fn default() -> Self {
            Self::new()
        }
    }

    impl UreqTransport {
        /// A transport with its own connection pool.
        pub fn new() -> Self {
            Self {
                agent: agent(false),
                insecure: agent(true),
            }
        }
    }

    fn agent(insecure: bool) -> ureq::Agent {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(insecure)
            .build();
        ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .accept_encoding("")
            .tls_config(tls)
            .user_agent(concat!("estargz-mirror/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent()
    }

    impl Transport for UreqTransport {
        fn send(&self, request: Request<()>, options: &SendOptions) -> Result<Reply> {
            let url = redact(request.uri());
            let agent = if options.insecure_tls {
                &self.insecure
            } else {
                &self.agent
            };
            let t = options.timeouts;
            let request = agent
                .configure_request(request)
                .timeout_connect(t.connect)
                .timeout_recv_response(t.first_byte)
                .timeout_per_read(t.stall)
                .build();
            let response = agent.run(request).map_err(|e| map_error(&url, e))?;
            let (parts, body) = response.into_parts();
            let reader = body.into_reader();
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body: Box::new(BodyErrors(reader)),
            })
        }
    }

    /// Gives body read errors a kind that says what happened: ureq wraps its own errors
    /// (timeouts among them) as `io::ErrorKind::Other`.
    struct BodyErrors<R>(R);

    impl<R: io::Read> io::Read for BodyErrors<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf).map_err(|e| {
                let inner = e.get_ref().and_then(|x| x.downcast_ref::<ureq::Error>());
                match inner {
                    Some(ureq::Error::Timeout(_)) => {
                        io::Error::new(io::ErrorKind::TimedOut, e.to_string())
                    }
                    Some(ureq::Error::Protocol(_)) => {
                        io::Error::new(io::ErrorKind::InvalidData, e.to_string())
                    }
                    Some(ureq::Error::Io(io)) => io::Error::new(io.kind(), e.to_string()),
                    _ => e,
                }
            })
        }
    }

    fn map_error(url: &str, e: ureq::Error) -> Error {
        let kind = match &e {
            ureq::Error::Timeout(t) => match t {
                ureq::Timeout::Connect | ureq::Timeout::Resolve => TransportErrorKind::Connect,
                _ => TransportErrorKind::Timeout,
            },
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
                TransportErrorKind::Connect
            }
            ureq::Error::Io(io) => match io.kind() {
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::NotFound => TransportErrorKind::Connect,
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportErrorKind::Timeout,
                _ => TransportErrorKind::Reset,
            },
            ureq::Error::Protocol(_) | ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
                TransportErrorKind::Protocol
            }
            ureq::Error::Tls(_) => TransportErrorKind::Connect,
            _ => TransportErrorKind::Other,
        };
        Error::transport(url, kind, e.to_string())
    }
}
