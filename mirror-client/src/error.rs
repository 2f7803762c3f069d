//! The crate's error type.
//!
//! Variants are grouped by who has to act: a server that sent a bad reply, a user whose
//! configuration is wrong, a limit that protects us from untrusted input, or a caller that
//! passed an invalid argument.

use std::fmt;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A server sent a reply that breaks the protocol (status, header or body).
    ///
    /// The server (or whoever operates it) must act; a client may try another endpoint.
    #[error("bad reply: {what}{}: {reason}", At(*.offset))]
    BadReply {
        /// Which part of the reply is wrong, e.g. `"Content-Range header"`.
        what: &'static str,
        /// Byte offset into the parsed input (header value or body) where the problem was
        /// found, when known.
        offset: Option<u64>,
        /// What is wrong, in words.
        reason: String,
    },

    /// A configuration file or value is invalid. The user must fix it.
    #[error("invalid config: {}{reason}", Path(.path))]
    InvalidConfig {
        /// Where in the configuration, e.g. `resolver.host."docker.io".mirrors[0].insecure`;
        /// empty when the whole document is at fault (syntax error).
        path: String,
        /// What is wrong, e.g. `expected a boolean`.
        reason: String,
    },

    /// Untrusted input exceeded a configured limit.
    #[error("limit exceeded: {kind} (limit {limit}, got {actual})")]
    LimitExceeded {
        /// Which limit.
        kind: LimitKind,
        /// The configured limit.
        limit: u64,
        /// The value that was reached (at least this much).
        actual: u64,
    },

    /// The caller passed an argument that cannot be used.
    #[error("invalid argument: {what}: {reason}")]
    InvalidArgument {
        /// Which argument, e.g. `"ranges"`.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A request could not be completed at the network level: connecting failed, a timeout
    /// expired, or the connection was reset or closed early.
    ///
    /// Usually transient; the reader retries and fails over before reporting it.
    #[error("transport error ({kind}) for {url}: {message}")]
    Transport {
        /// The URL the request went to (without query).
        url: String,
        /// What kind of failure.
        kind: TransportErrorKind,
        /// Details from the transport.
        message: String,
    },

    /// A server answered with a status the reader cannot use (after retries, redirects and
    /// authentication were tried).
    #[error("HTTP status {status} from {url}")]
    Status {
        /// The URL the request went to (without query).
        url: String,
        /// The status code.
        status: u16,
    },

    /// Authentication failed: no usable challenge, the token endpoint refused, or the
    /// credentials were rejected.
    #[error("authentication failed for {url}: {reason}")]
    Auth {
        /// The URL that demanded authentication (without query).
        url: String,
        /// What went wrong.
        reason: String,
    },

    /// Bytes received for a range were rejected by the caller's verifier on every endpoint
    /// that served them.
    #[error("verification failed for bytes {range} of the blob (last served by {endpoint})")]
    Verification {
        /// The requested range whose bytes failed verification.
        range: crate::range::ByteRange,
        /// The endpoint that served the bytes last.
        endpoint: String,
    },

    /// Every endpoint was tried and none served the request. `last` is the last endpoint's
    /// error.
    #[error("all {tried} endpoints failed; last error: {last}")]
    AllEndpointsFailed {
        /// How many endpoints were tried.
        tried: usize,
        /// The error from the last endpoint tried.
        last: Box<Error>,
    },
}

/// Which limit an [`Error::LimitExceeded`] names.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum LimitKind {
    /// Bytes before the first boundary of a `multipart/byteranges` body
    /// ([`MultipartLimits::max_preamble`](crate::MultipartLimits::max_preamble)).
    MultipartPreambleBytes,
    /// Whitespace after a multipart delimiter (bounded by
    /// [`MultipartLimits::max_header_size`](crate::MultipartLimits::max_header_size)).
    MultipartDelimiterPadding,
    /// Bytes of one multipart part's header block
    /// ([`MultipartLimits::max_header_size`](crate::MultipartLimits::max_header_size)).
    MultipartPartHeaderBytes,
    /// Parts in one multipart body
    /// ([`MultipartLimits::max_parts`](crate::MultipartLimits::max_parts)).
    MultipartParts,
    /// Bytes one read may ask for
    /// ([`ReaderOptions::max_read_bytes`](crate::ReaderOptions::max_read_bytes)).
    ReadBytes,
    /// Bytes of a token endpoint's reply (1 MiB).
    TokenReplyBytes,
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MultipartPreambleBytes => "multipart preamble bytes",
            Self::MultipartDelimiterPadding => "multipart delimiter padding",
            Self::MultipartPartHeaderBytes => "multipart part header bytes",
            Self::MultipartParts => "multipart parts",
            Self::ReadBytes => "bytes per read",
            Self::TokenReplyBytes => "bytes of a token endpoint's reply",
        })
    }
}

/// The kind of a [`Error::Transport`] failure.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Connecting (name resolution, TCP, TLS) failed or timed out.
    Connect,
    /// No reply head arrived within the first-byte timeout, or the body made no progress
    /// within the stall timeout.
    Timeout,
    /// The connection was reset or closed before the reply was complete.
    Reset,
    /// The server spoke invalid HTTP.
    Protocol,
    /// Anything else the transport reported.
    Other,
}

impl TransportErrorKind {
    /// Whether a failure of this kind may succeed when tried again.
    pub fn is_transient(self) -> bool {
        !matches!(self, Self::Protocol)
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Protocol => "protocol",
            Self::Other => "other",
        })
    }
}

impl Error {
    /// Shorthand for [`Error::BadReply`].
    pub(crate) fn bad_reply(
        what: &'static str,
        offset: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        Self::BadReply {
            what,
            offset,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidConfig`].
    pub(crate) fn config(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::LimitExceeded`].
    pub(crate) fn limit(kind: LimitKind, limit: u64, actual: u64) -> Self {
        Self::LimitExceeded {
            kind,
            limit,
            actual,
        }
    }

    /// Shorthand for [`Error::Transport`].
    pub(crate) fn transport(
        url: impl Into<String>,
        kind: TransportErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self::Transport {
            url: url.into(),
            kind,
            message: message.into(),
        }
    }

    /// A transport error from an I/O error while reading a body.
    pub(crate) fn from_body_io(url: &str, e: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::TimedOut | K::WouldBlock => TransportErrorKind::Timeout,
            K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
                TransportErrorKind::Reset
            }
            K::InvalidData => TransportErrorKind::Protocol,
            _ => TransportErrorKind::Other,
        };
        Self::transport(url, kind, e.to_string())
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub(crate) fn invalid_argument(what: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            what,
            reason: reason.into(),
        }
    }
}

/// Formats an optional offset as ` at byte N`.
struct At(Option<u64>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(offset) => write!(f, " at byte {offset}"),
            None => Ok(()),
        }
    }
}

/// Formats a config path followed by `: `, or nothing when the path is empty.
struct Path<'a>(&'a str);

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_what_and_where() {
        let e = Error::bad_reply("Content-Range header", Some(7), "expected a digit");
        assert_eq!(
            e.to_string(),
            "bad reply: Content-Range header at byte 7: expected a digit"
        );
        let e = Error::bad_reply("status", None, "unexpected 500");
        assert_eq!(e.to_string(), "bad reply: status: unexpected 500");
        let e = Error::config("resolver.request_timeout_sec", "expected an integer");
        assert_eq!(
            e.to_string(),
            "invalid config: resolver.request_timeout_sec: expected an integer"
        );
        let e = Error::config("", "TOML syntax");
        assert_eq!(e.to_string(), "invalid config: TOML syntax");
        let e = Error::limit(LimitKind::MultipartParts, 2, 3);
        assert_eq!(
            e.to_string(),
            "limit exceeded: multipart parts (limit 2, got 3)"
        );
        let e = Error::invalid_argument("ranges", "empty");
        assert_eq!(e.to_string(), "invalid argument: ranges: empty");
    }
}
