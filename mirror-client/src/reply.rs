//! Classifying the head of a reply to a ranged `GET` against what was asked.
//!
//! [`classify_range_reply`] looks at the status and headers (not the body) and says what the
//! body will hold: one range, `multipart/byteranges` parts, or the whole blob because the
//! server ignored `Range`. Only replies to range requests are classified here (200, 206 and
//! 416); redirects, authentication challenges and server errors are the caller's policy.

use http::{HeaderMap, StatusCode, header};

use crate::content_range::ContentRange;
use crate::coverage::{CoverageReport, check_coverage};
use crate::error::{Error, Result};
use crate::multipart::{Boundary, is_multipart_byteranges};
use crate::range::ByteRange;

/// What the body of a reply to a range request holds.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ReplyBody {
    /// Exactly the bytes of `range`: a single-part 206, or a 200 that carries a
    /// `Content-Range` and a matching length (Dragonfly before client #1874 did this).
    Single {
        /// The bytes the body holds.
        range: ByteRange,
        /// The blob's length, when the server gave it.
        complete_length: Option<u64>,
    },
    /// A `multipart/byteranges` body; parse it with
    /// [`MultipartParser`](crate::multipart::MultipartParser) and check the parts with
    /// [`check_coverage`].
    Multipart {
        /// The boundary from the `Content-Type` header.
        boundary: Boundary,
    },
    /// The whole blob from offset 0: the server ignored `Range` (status 200).
    Whole {
        /// The blob's length, from `Content-Length` or the caller.
        length: Option<u64>,
    },
    /// Status 416: the server would not serve the ranges. If the requested ranges lie
    /// within `complete_length`, the server refuses multi-range requests (zot does this).
    Unsatisfiable {
        /// The blob's length, from a `Content-Range: bytes */N` header.
        complete_length: Option<u64>,
    },
}

/// A classified reply head.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RangeReply {
    body: ReplyBody,
    coverage: Option<CoverageReport>,
}

impl RangeReply {
    /// What the body holds.
    pub fn body(&self) -> &ReplyBody {
        &self.body
    }

    /// Which requested ranges the body will satisfy, when that is known from the head alone
    /// (single range and whole blob). `None` for multipart bodies, whose parts are only known
    /// after parsing, and for 416.
    ///
    /// For a whole-blob reply of unknown length every range counts as satisfied; the body
    /// must then be checked to be long enough while it is read.
    pub fn coverage(&self) -> Option<&CoverageReport> {
        self.coverage.as_ref()
    }
}

/// Classifies a reply to a `GET` with a `Range` header for `requested`.
///
/// `blob_len` is the blob's length when the caller knows it (from the descriptor); a reply
/// that disagrees with it is rejected as coming from the wrong object.
///
/// Fails with [`Error::BadReply`] when the status is not 200, 206 or 416, when a 206 has
/// neither a valid `Content-Range` nor a `multipart/byteranges` type, when lengths
/// disagree, or when a single range holds none of the requested bytes. Fails with
/// [`Error::InvalidArgument`] if `requested` is empty.
pub fn classify_range_reply(
    requested: &[ByteRange],
    status: StatusCode,
    headers: &HeaderMap,
    blob_len: Option<u64>,
) -> Result<RangeReply> {
    if requested.is_empty() {
        return Err(Error::invalid_argument("requested", "no ranges"));
    }
    let content_length = content_length(headers)?;
    let content_range = single_header(headers, header::CONTENT_RANGE)?
        .map(ContentRange::parse)
        .transpose()?;
    let check_total = |total: Option<u64>| -> Result<()> {
        match (total, blob_len) {
            (Some(t), Some(b)) if t != b => Err(Error::bad_reply(
                "Content-Range header",
                None,
                format!("complete length {t} differs from the blob's length {b}"),
            )),
            _ => Ok(()),
        }
    };
    let single = |range: ByteRange, complete_length: Option<u64>| -> Result<RangeReply> {
        check_total(complete_length)?;
        if let Some(n) = content_length
            && n != range.len()
        {
            return Err(Error::bad_reply(
                "Content-Length header",
                None,
                format!("{n} bytes, but Content-Range {range} has {}", range.len()),
            ));
        }
        let coverage = check_coverage(requested, &[range], complete_length.or(blob_len))?;
        Ok(RangeReply {
            body: ReplyBody::Single {
                range,
                complete_length,
            },
            coverage: Some(coverage),
        })
    };

    match status {
        StatusCode::PARTIAL_CONTENT => {
            let content_type = single_header(headers, header::CONTENT_TYPE)?;
            if let Some(ct) = content_type.filter(|ct| is_multipart_byteranges(ct)) {
                let boundary = Boundary::from_content_type(ct)?;
                return Ok(RangeReply {
                    body: ReplyBody::Multipart { boundary },
                    coverage: None,
                });
            }
            match content_range {
                Some(ContentRange::Satisfied {
                    range,
                    complete_length,
                }) => single(range, complete_length),
                Some(ContentRange::Unsatisfied { .. }) => Err(Error::bad_reply(
                    "Content-Range header",
                    None,
                    "206 with an unsatisfied range",
                )),
                None => Err(Error::bad_reply(
                    "Content-Range header",
                    None,
                    "206 without Content-Range or a multipart/byteranges body",
                )),
            }
        }
        StatusCode::OK => {
            // A 200 whose Content-Range describes a strict part of the blob, with a length
            // that agrees, is a partial body sent with the wrong status.
            if let Some(ContentRange::Satisfied {
                range,
                complete_length,
            }) = content_range
            {
                let whole = range.start() == 0
                    && complete_length
                        .or(blob_len)
                        .is_some_and(|n| n == range.end());
                let length_agrees = content_length.is_none_or(|n| n == range.len());
                if !whole && length_agrees {
                    return single(range, complete_length);
                }
            }
            let length = match (content_length, blob_len) {
                (Some(c), Some(b)) if c != b => {
                    return Err(Error::bad_reply(
                        "Content-Length header",
                        None,
                        format!("200 with {c} bytes, but the blob has {b}"),
                    ));
                }
                (c, b) => c.or(b),
            };
            let coverage = match length {
                Some(n) => {
                    let whole = ByteRange::new(0, n).map(|r| vec![r]).unwrap_or_default();
                    check_coverage(requested, &whole, None).map_err(|_| {
                        Error::bad_reply(
                            "Content-Length header",
                            None,
                            format!("the {n}-byte blob holds none of the requested bytes"),
                        )
                    })?
                }
                None => check_coverage(requested, requested, None)?,
            };
            Ok(RangeReply {
                body: ReplyBody::Whole { length },
                coverage: Some(coverage),
            })
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let complete_length = content_range.and_then(|c| c.complete_length());
            check_total(complete_length)?;
            Ok(RangeReply {
                body: ReplyBody::Unsatisfiable { complete_length },
                coverage: None,
            })
        }
        other => Err(Error::bad_reply(
            "status",
            None,
            format!("{other} is not an answer to a range request"),
        )),
    }
}

/// The value of a header that must appear at most once.
fn single_header(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&[u8]>> {
    let mut values = headers.get_all(&name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::bad_reply(
            "headers",
            None,
            format!("{name} appears more than once"),
        ));
    }
    Ok(first.map(|v| v.as_bytes()))
}

/// `Content-Length`, strictly: digits only, at most once.
pub(crate) fn content_length(headers: &HeaderMap) -> Result<Option<u64>> {
    let Some(value) = single_header(headers, header::CONTENT_LENGTH)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(value).ok().map(str::trim);
    text.filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| Error::bad_reply("Content-Length header", None, "not a decimal number"))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange::new(start, end).unwrap()
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

    #[test]
    fn single_range_206() {
        let h = headers(&[
            ("content-range", "bytes 100-199/1000"),
            ("content-length", "100"),
        ]);
        let rep = classify_range_reply(&[r(100, 200)], StatusCode::PARTIAL_CONTENT, &h, Some(1000))
            .unwrap();
        assert_eq!(
            rep.body(),
            &ReplyBody::Single {
                range: r(100, 200),
                complete_length: Some(1000)
            }
        );
        assert!(rep.coverage().unwrap().is_complete());
        // `/*` totals work (stargz's regex fails on them).
        let h = headers(&[("content-range", "bytes 100-199/*")]);
        let rep = classify_range_reply(&[r(100, 200)], StatusCode::PARTIAL_CONTENT, &h, Some(1000))
            .unwrap();
        assert!(rep.coverage().unwrap().is_complete());
        // First range only (Dragonfly's Rust daemon).
        let rep = classify_range_reply(
            &[r(100, 200), r(500, 600)],
            StatusCode::PARTIAL_CONTENT,
            &h,
            None,
        )
        .unwrap();
        assert_eq!(rep.coverage().unwrap().missing(), &[r(500, 600)]);
    }

    /// Response headers and the blob length the caller knows.
    type Case = (&'static [(&'static str, &'static str)], Option<u64>);

    #[test]
    fn bad_206s() {
        let cases: &[Case] = &[
            (&[], None),
            (&[("content-range", "bytes */1000")], None),
            (&[("content-range", "bytes 100-199/999")], Some(1000)),
            (
                &[
                    ("content-range", "bytes 100-199/1000"),
                    ("content-length", "99"),
                ],
                None,
            ),
            (&[("content-range", "bytes 0-9/1000")], None),
            (
                &[
                    ("content-range", "bytes 100-199/1000"),
                    ("content-range", "bytes 100-199/1000"),
                ],
                None,
            ),
            (
                &[
                    ("content-range", "bytes 100-199/1000"),
                    ("content-length", "1e2"),
                ],
                None,
            ),
            (&[("content-type", "multipart/byteranges")], None),
        ];
        for (pairs, blob_len) in cases {
            let h = headers(pairs);
            assert!(
                classify_range_reply(&[r(100, 200)], StatusCode::PARTIAL_CONTENT, &h, *blob_len)
                    .is_err(),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn multipart_206() {
        let h = headers(&[(
            "content-type",
            "multipart/byteranges; boundary=CloudFront:AB",
        )]);
        let rep = classify_range_reply(&[r(0, 1), r(5, 6)], StatusCode::PARTIAL_CONTENT, &h, None)
            .unwrap();
        match rep.body() {
            ReplyBody::Multipart { boundary } => assert_eq!(boundary.as_str(), "CloudFront:AB"),
            other => panic!("{other:?}"),
        }
        assert!(rep.coverage().is_none());
    }

    #[test]
    fn whole_body_200() {
        let h = headers(&[("content-length", "1000")]);
        let rep = classify_range_reply(&[r(100, 200)], StatusCode::OK, &h, Some(1000)).unwrap();
        assert_eq!(rep.body(), &ReplyBody::Whole { length: Some(1000) });
        assert!(rep.coverage().unwrap().is_complete());
        assert!(classify_range_reply(&[r(100, 200)], StatusCode::OK, &h, Some(999)).is_err());
        // Blob shorter than the request: the tail is missing.
        let h = headers(&[("content-length", "150")]);
        let rep = classify_range_reply(&[r(100, 200)], StatusCode::OK, &h, None).unwrap();
        assert_eq!(rep.coverage().unwrap().missing(), &[r(150, 200)]);
        let rep =
            classify_range_reply(&[r(100, 200)], StatusCode::OK, &HeaderMap::new(), None).unwrap();
        assert_eq!(rep.body(), &ReplyBody::Whole { length: None });
        // A whole body with a Content-Range for all of it is still whole.
        let h = headers(&[
            ("content-range", "bytes 0-999/1000"),
            ("content-length", "1000"),
        ]);
        let rep = classify_range_reply(&[r(100, 200)], StatusCode::OK, &h, None).unwrap();
        assert_eq!(rep.body(), &ReplyBody::Whole { length: Some(1000) });
    }

    #[test]
    fn old_dragonfly_200_with_content_range() {
        let h = headers(&[
            ("content-range", "bytes 100-199/*"),
            ("content-length", "100"),
        ]);
        let rep = classify_range_reply(&[r(100, 200)], StatusCode::OK, &h, Some(1000)).unwrap();
        assert_eq!(
            rep.body(),
            &ReplyBody::Single {
                range: r(100, 200),
                complete_length: None
            }
        );
    }

    #[test]
    fn status_416_and_others() {
        let h = headers(&[("content-range", "bytes */1000")]);
        let rep = classify_range_reply(
            &[r(0, 1), r(5, 6)],
            StatusCode::RANGE_NOT_SATISFIABLE,
            &h,
            None,
        )
        .unwrap();
        assert_eq!(
            rep.body(),
            &ReplyBody::Unsatisfiable {
                complete_length: Some(1000)
            }
        );
        assert!(
            classify_range_reply(&[r(0, 1)], StatusCode::RANGE_NOT_SATISFIABLE, &h, Some(5))
                .is_err()
        );
        assert!(classify_range_reply(&[r(0, 1)], StatusCode::NOT_FOUND, &h, None).is_err());
        assert!(classify_range_reply(&[], StatusCode::OK, &h, None).is_err());
    }
}
