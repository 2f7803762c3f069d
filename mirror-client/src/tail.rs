//! The size probe: learning a blob's length with one suffix-range request that also brings
//! the blob's last bytes.
//!
//! A reader that does not know a blob's length asks for its last `N` bytes,
//! `Range: bytes=-N`. The reply's `Content-Range: bytes a-b/SIZE` says the length, and the
//! body holds the tail, which is where an eStargz footer and (usually) its TOC live, so
//! the first read of a lazy reader costs no second request.
//!
//! [`TailProbe`] decides, from a reply's status and headers alone, what the body holds and
//! what to do next; it does no I/O. Servers differ:
//!
//! * a correct server answers 206 with the last `min(N, SIZE)` bytes (RFC 9110 serves a
//!   suffix longer than the blob as the whole blob);
//! * a server that ignores `Range` (or suffix ranges) answers 200 with the whole blob: its
//!   `Content-Length` gives the length, and the body is read only if the whole blob is no
//!   longer than `N` (else it is dropped unread);
//! * some servers answer 416 to a suffix longer than the blob: with `Content-Range:
//!   bytes */SIZE` the tail is asked for again with an explicit range, without it with
//!   `bytes=0-(N-1)`, which any server clips to the blob.
//!
//! Statuses other than 200, 206 and 416 (redirects, 401, errors) are the reader's policy
//! ([`decide`](crate::policy::decide)), as for every request.

use http::{HeaderMap, StatusCode, header};

use crate::content_range::ContentRange;
use crate::error::{Error, Result};
use crate::range::{ByteRange, range_header_value};

/// What to do with a reply to a probe request.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ProbeStep {
    /// The blob has `size` bytes and the body holds exactly its bytes `range`: read them.
    Keep {
        /// The blob's bytes the body holds.
        range: ByteRange,
        /// The blob's length.
        size: u64,
    },
    /// The blob has `size` bytes; the body is not worth reading (it holds more than the
    /// probe wants, or nothing).
    SizeOnly {
        /// The blob's length.
        size: u64,
    },
    /// The server refused the suffix range (416): ask again for `range`, an explicit
    /// range (which a server clips to the blob's end).
    Ask {
        /// The range to ask for next.
        range: ByteRange,
    },
}

/// Plans and checks the requests that learn a blob's length and its last bytes. See the
/// [module docs](self).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct TailProbe {
    want: u64,
}

impl TailProbe {
    /// A probe for the blob's last `want` bytes (at least 1).
    pub fn new(want: u64) -> Self {
        Self { want: want.max(1) }
    }

    /// How many of the blob's last bytes the probe asks for.
    pub fn want(&self) -> u64 {
        self.want
    }

    /// The `Range` value of the first request: `bytes=-N`.
    pub fn first_range(&self) -> String {
        format!("bytes=-{}", self.want)
    }

    /// The `Range` value of a follow-up request (after [`ProbeStep::Ask`]).
    pub fn range_value(range: ByteRange) -> Result<String> {
        range_header_value(&[range])
    }

    /// What the reply (200, 206 or 416) to a probe request says. `asked` is `None` for the
    /// first request (the suffix) and the range of a follow-up request otherwise.
    ///
    /// Fails with [`Error::BadReply`] when the reply does not give the blob's length
    /// (`Content-Range` with a `*` total, a 200 without `Content-Length`), when its range
    /// is not the one asked for (clipped to the blob), when lengths disagree, for a
    /// `multipart/byteranges` body, for a 416 to a follow-up request, and for other
    /// statuses.
    pub fn step(
        &self,
        asked: Option<ByteRange>,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<ProbeStep> {
        let content_length = crate::reply::content_length(headers)?;
        let content_range = match headers.get(header::CONTENT_RANGE) {
            Some(v) => Some(ContentRange::parse(v.as_bytes())?),
            None => None,
        };
        match (status, content_range) {
            (
                StatusCode::PARTIAL_CONTENT | StatusCode::OK,
                Some(ContentRange::Satisfied {
                    range,
                    complete_length,
                }),
            ) => {
                let size = complete_length.ok_or_else(|| no_length("Content-Range header"))?;
                let expected = self.expected(asked, size);
                if expected != Some(range) {
                    return Err(Error::bad_reply(
                        "Content-Range header",
                        None,
                        format!(
                            "{range} of a {size}-byte blob does not answer {}",
                            self.describe(asked)
                        ),
                    ));
                }
                if let Some(n) = content_length
                    && n != range.len()
                {
                    return Err(Error::bad_reply(
                        "Content-Length header",
                        None,
                        format!("{n} bytes, but Content-Range {range} has {}", range.len()),
                    ));
                }
                Ok(ProbeStep::Keep { range, size })
            }
            (StatusCode::PARTIAL_CONTENT, _) => Err(Error::bad_reply(
                "Content-Range header",
                None,
                format!(
                    "a 206 to {} must carry one satisfied Content-Range",
                    self.describe(asked)
                ),
            )),
            (StatusCode::OK, _) => {
                let size = content_length.ok_or_else(|| no_length("Content-Length header"))?;
                Ok(match ByteRange::new(0, size) {
                    Ok(range) if size <= self.want => ProbeStep::Keep { range, size },
                    _ => ProbeStep::SizeOnly { size },
                })
            }
            (StatusCode::RANGE_NOT_SATISFIABLE, content_range) if asked.is_none() => {
                let size = content_range.and_then(|c| match c {
                    ContentRange::Unsatisfied { complete_length } => Some(complete_length),
                    ContentRange::Satisfied { .. } => None,
                });
                match size {
                    Some(0) => Ok(ProbeStep::SizeOnly { size: 0 }),
                    Some(size) => {
                        let range = ByteRange::new(size.saturating_sub(self.want), size)?;
                        Ok(ProbeStep::Ask { range })
                    }
                    None => Ok(ProbeStep::Ask {
                        range: ByteRange::new(0, self.want)?,
                    }),
                }
            }
            (other, _) => Err(Error::bad_reply(
                "status",
                None,
                format!("{other} is not an answer to {}", self.describe(asked)),
            )),
        }
    }

    /// The range a correct reply to `asked` holds in a blob of `size` bytes.
    fn expected(&self, asked: Option<ByteRange>, size: u64) -> Option<ByteRange> {
        match asked {
            None => ByteRange::new(size.saturating_sub(self.want), size).ok(),
            Some(r) => ByteRange::new(r.start(), r.end().min(size)).ok(),
        }
    }

    fn describe(&self, asked: Option<ByteRange>) -> String {
        match asked {
            None => self.first_range(),
            Some(r) => format!("bytes={}-{}", r.start(), r.last()),
        }
    }
}

fn no_length(what: &'static str) -> Error {
    Error::bad_reply(what, None, "the reply does not give the blob's length")
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn r(a: u64, b: u64) -> ByteRange {
        ByteRange::new(a, b).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const PARTIAL: StatusCode = StatusCode::PARTIAL_CONTENT;

    #[test]
    fn a_suffix_reply_gives_the_size_and_the_tail() {
        let p = TailProbe::new(1000);
        assert_eq!(p.first_range(), "bytes=-1000");
        let h = headers(&[
            ("content-range", "bytes 9000-9999/10000"),
            ("content-length", "1000"),
        ]);
        assert_eq!(
            p.step(None, PARTIAL, &h).unwrap(),
            ProbeStep::Keep {
                range: r(9000, 10_000),
                size: 10_000
            }
        );
        // A blob shorter than the suffix: the whole blob.
        let h = headers(&[("content-range", "bytes 0-99/100")]);
        assert_eq!(
            p.step(None, PARTIAL, &h).unwrap(),
            ProbeStep::Keep {
                range: r(0, 100),
                size: 100
            }
        );
        // A zero-byte probe still asks for one byte.
        assert_eq!(TailProbe::new(0).first_range(), "bytes=-1");
    }

    #[test]
    fn wrong_or_lengthless_replies_are_rejected() {
        let p = TailProbe::new(1000);
        for pairs in [
            // Not the tail.
            &[("content-range", "bytes 0-999/10000")][..],
            // More than asked.
            &[("content-range", "bytes 8000-9999/10000")],
            // No total.
            &[("content-range", "bytes 9000-9999/*")],
            // Length disagrees.
            &[
                ("content-range", "bytes 9000-9999/10000"),
                ("content-length", "999"),
            ],
            // Multipart or nothing.
            &[("content-type", "multipart/byteranges; boundary=x")],
        ] {
            assert!(
                matches!(
                    p.step(None, PARTIAL, &headers(pairs)),
                    Err(Error::BadReply { .. })
                ),
                "{pairs:?}"
            );
        }
        // A 200 without a length says nothing.
        assert!(p.step(None, StatusCode::OK, &HeaderMap::new()).is_err());
        assert!(
            p.step(None, StatusCode::NO_CONTENT, &HeaderMap::new())
                .is_err()
        );
    }

    #[test]
    fn a_whole_body_is_kept_only_when_it_is_short() {
        let p = TailProbe::new(1000);
        let small = headers(&[("content-length", "600")]);
        assert_eq!(
            p.step(None, StatusCode::OK, &small).unwrap(),
            ProbeStep::Keep {
                range: r(0, 600),
                size: 600
            }
        );
        let big = headers(&[("content-length", "5000000")]);
        assert_eq!(
            p.step(None, StatusCode::OK, &big).unwrap(),
            ProbeStep::SizeOnly { size: 5_000_000 }
        );
        let empty = headers(&[("content-length", "0")]);
        assert_eq!(
            p.step(None, StatusCode::OK, &empty).unwrap(),
            ProbeStep::SizeOnly { size: 0 }
        );
        // A 200 that carries a Content-Range (old Dragonfly) is a partial reply.
        let dragonfly = headers(&[("content-range", "bytes 9000-9999/10000")]);
        assert_eq!(
            p.step(None, StatusCode::OK, &dragonfly).unwrap(),
            ProbeStep::Keep {
                range: r(9000, 10_000),
                size: 10_000
            }
        );
    }

    #[test]
    fn a_refused_suffix_is_asked_again_explicitly() {
        let p = TailProbe::new(1000);
        let s416 = StatusCode::RANGE_NOT_SATISFIABLE;
        let with_size = headers(&[("content-range", "bytes */300")]);
        let step = p.step(None, s416, &with_size).unwrap();
        assert_eq!(step, ProbeStep::Ask { range: r(0, 300) });
        let bigger = headers(&[("content-range", "bytes */5000")]);
        assert_eq!(
            p.step(None, s416, &bigger).unwrap(),
            ProbeStep::Ask {
                range: r(4000, 5000)
            }
        );
        assert_eq!(
            p.step(None, s416, &headers(&[("content-range", "bytes */0")]))
                .unwrap(),
            ProbeStep::SizeOnly { size: 0 }
        );
        // Without a length: the first N bytes, which a server clips to the blob.
        let asked = r(0, 1000);
        assert_eq!(
            p.step(None, s416, &HeaderMap::new()).unwrap(),
            ProbeStep::Ask { range: asked }
        );
        assert_eq!(TailProbe::range_value(asked).unwrap(), "bytes=0-999");
        let clipped = headers(&[("content-range", "bytes 0-299/300")]);
        assert_eq!(
            p.step(Some(asked), PARTIAL, &clipped).unwrap(),
            ProbeStep::Keep {
                range: r(0, 300),
                size: 300
            }
        );
        // A follow-up answered with something else, or refused again, fails.
        let shifted = headers(&[("content-range", "bytes 1-300/301")]);
        assert!(p.step(Some(asked), PARTIAL, &shifted).is_err());
        assert!(p.step(Some(asked), s416, &with_size).is_err());
    }
}
