//! Strict parsing of the `Content-Range` header (RFC 9110 §14.4).
//!
//! Accepted forms, with the unit compared case-insensitively:
//!
//! * `bytes first-last/complete` — a satisfied range of a representation of known length;
//! * `bytes first-last/*` — the same with the length unknown. stargz-snapshotter's and
//!   soci-snapshotter's regular expression fails on this form, and old Dragonfly daemons
//!   send it;
//! * `bytes */complete` — sent with `416 Range Not Satisfiable`.
//!
//! Everything else is rejected: other units, missing or extra characters, signs, numbers
//! that overflow `u64`, `first > last`, and `last >= complete`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::range::ByteRange;

const WHAT: &str = "Content-Range header";

/// A parsed `Content-Range` header value.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum ContentRange {
    /// `bytes first-last/complete` or `bytes first-last/*`: the body holds `range`.
    Satisfied {
        /// The bytes the body holds.
        range: ByteRange,
        /// The whole representation's length, or `None` for `*`.
        complete_length: Option<u64>,
    },
    /// `bytes */complete`: no range could be served (status 416).
    Unsatisfied {
        /// The whole representation's length.
        complete_length: u64,
    },
}

impl ContentRange {
    /// Parses a header value, strictly. Leading and trailing spaces and tabs are allowed.
    pub fn parse(value: &[u8]) -> Result<Self> {
        let mut c = Cursor::new(value);
        c.skip_ows();
        c.expect_unit()?;
        c.expect_byte(b' ', "expected one space after the unit")?;
        let parsed = if c.eat(b'*') {
            c.expect_byte(b'/', "expected '/' after '*'")?;
            let complete_length = c.number()?;
            ContentRange::Unsatisfied { complete_length }
        } else {
            let first_at = c.pos;
            let first = c.number()?;
            c.expect_byte(b'-', "expected '-' after the first byte position")?;
            let last = c.number()?;
            c.expect_byte(b'/', "expected '/' after the last byte position")?;
            let complete_at = c.pos;
            let complete_length = if c.eat(b'*') { None } else { Some(c.number()?) };
            if first > last {
                return Err(Error::bad_reply(
                    WHAT,
                    Some(first_at as u64),
                    format!("first byte {first} is after last byte {last}"),
                ));
            }
            if let Some(n) = complete_length
                && last >= n
            {
                return Err(Error::bad_reply(
                    WHAT,
                    Some(complete_at as u64),
                    format!("last byte {last} is not below the complete length {n}"),
                ));
            }
            let range = ByteRange::from_inclusive(first, last).map_err(|_| {
                Error::bad_reply(WHAT, Some(first_at as u64), "last byte position too large")
            })?;
            ContentRange::Satisfied {
                range,
                complete_length,
            }
        };
        c.skip_ows();
        if !c.at_end() {
            return Err(c.error("unexpected characters after the value"));
        }
        Ok(parsed)
    }

    /// The bytes the body holds, for a satisfied range.
    pub fn range(&self) -> Option<ByteRange> {
        match self {
            ContentRange::Satisfied { range, .. } => Some(*range),
            ContentRange::Unsatisfied { .. } => None,
        }
    }

    /// The whole representation's length, when the server gave it.
    pub fn complete_length(&self) -> Option<u64> {
        match self {
            ContentRange::Satisfied {
                complete_length, ..
            } => *complete_length,
            ContentRange::Unsatisfied { complete_length } => Some(*complete_length),
        }
    }
}

impl FromStr for ContentRange {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s.as_bytes())
    }
}

impl fmt::Display for ContentRange {
    /// Writes the canonical form, e.g. `bytes 0-9/100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentRange::Satisfied {
                range,
                complete_length: Some(n),
            } => write!(f, "bytes {range}/{n}"),
            ContentRange::Satisfied {
                range,
                complete_length: None,
            } => write!(f, "bytes {range}/*"),
            ContentRange::Unsatisfied { complete_length } => {
                write!(f, "bytes */{complete_length}")
            }
        }
    }
}

/// A position in a header value.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn error(&self, reason: &str) -> Error {
        Error::bad_reply(WHAT, Some(self.pos as u64), reason)
    }

    fn expect_byte(&mut self, b: u8, reason: &str) -> Result<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn expect_unit(&mut self) -> Result<()> {
        let unit = self.input.get(self.pos..self.pos + 5);
        if unit.is_some_and(|u| u.eq_ignore_ascii_case(b"bytes")) {
            self.pos += 5;
            Ok(())
        } else {
            Err(self.error("expected the unit \"bytes\""))
        }
    }

    /// One or more ASCII digits, as a `u64`.
    fn number(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| {
                    Error::bad_reply(WHAT, Some(start as u64), "number does not fit in 64 bits")
                })?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a decimal number"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sat(first: u64, last: u64, n: Option<u64>) -> ContentRange {
        ContentRange::Satisfied {
            range: ByteRange::from_inclusive(first, last).unwrap(),
            complete_length: n,
        }
    }

    #[test]
    fn accepts_the_three_forms() {
        assert_eq!(
            "bytes 0-9/100".parse::<ContentRange>().unwrap(),
            sat(0, 9, Some(100))
        );
        // stargz-snapshotter's regex fails on this one (spec §6.1).
        assert_eq!(
            "bytes 0-9/*".parse::<ContentRange>().unwrap(),
            sat(0, 9, None)
        );
        assert_eq!(
            "bytes */1234".parse::<ContentRange>().unwrap(),
            ContentRange::Unsatisfied {
                complete_length: 1234
            }
        );
        assert_eq!(
            "BYTES 5-5/6".parse::<ContentRange>().unwrap(),
            sat(5, 5, Some(6))
        );
        assert_eq!(
            " bytes 1-2/3\t".parse::<ContentRange>().unwrap(),
            sat(1, 2, Some(3))
        );
        assert_eq!(
            "bytes 007-8/9".parse::<ContentRange>().unwrap(),
            sat(7, 8, Some(9))
        );
        let max = format!("bytes 0-{}/{}", u64::MAX - 1, u64::MAX);
        assert_eq!(
            max.parse::<ContentRange>().unwrap(),
            sat(0, u64::MAX - 1, Some(u64::MAX))
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "bytes",
            "bytes ",
            "bytes 0-9",
            "bytes 0-9/",
            "bytes  0-9/10",
            "bytes=0-9/10",
            "items 0-9/10",
            "bytes -9/10",
            "bytes 0-/10",
            "bytes +0-9/10",
            "bytes 0-9/10x",
            "bytes 0-9/10,",
            "bytes 0 - 9/10",
            "bytes 9-0/10",
            "bytes 0-10/10",
            "bytes 0-0/0",
            "bytes */*",
            "bytes */",
            "bytes 0-9/18446744073709551616",
            "bytes 0-18446744073709551615/*",
            "bytes 99999999999999999999999-1/*",
            "bytes 0-9/10 11",
        ] {
            assert!(bad.parse::<ContentRange>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn errors_carry_offsets() {
        match "bytes 0-9/x".parse::<ContentRange>() {
            Err(Error::BadReply { offset, .. }) => assert_eq!(offset, Some(10)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accessors() {
        let c = sat(3, 4, None);
        assert_eq!(c.range(), Some(ByteRange::new(3, 5).unwrap()));
        assert_eq!(c.complete_length(), None);
        let u = ContentRange::Unsatisfied { complete_length: 9 };
        assert_eq!(u.range(), None);
        assert_eq!(u.complete_length(), Some(9));
    }

    proptest! {
        #[test]
        fn display_round_trips(first in any::<u64>(), len in 1u64..1000, extra in 0u64..1000, star in any::<bool>()) {
            let last = first.saturating_add(len - 1).min(u64::MAX - 1);
            let first = first.min(last);
            let total = if star { None } else { last.checked_add(1).and_then(|n| n.checked_add(extra)) };
            let c = sat(first, last, total);
            prop_assert_eq!(c.to_string().parse::<ContentRange>().unwrap(), c);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<ContentRange>();
        }

        #[test]
        fn accepts_only_consistent_values(first in 0u64..100, last in 0u64..100, total in 0u64..100) {
            let s = format!("bytes {first}-{last}/{total}");
            let ok = first <= last && last < total;
            prop_assert_eq!(s.parse::<ContentRange>().is_ok(), ok);
        }
    }
}
