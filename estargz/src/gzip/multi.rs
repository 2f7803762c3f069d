//! Decoding a sequence of gzip members as one stream, with a bound on how many there are.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

use crate::error::{Error, LimitKind};

/// The default bound on the number of members a [`MultiMemberDecoder`] decodes: 16 Mi.
///
/// An eStargz blob has about one member per file and per chunk, so a real layer stays far
/// below it (the TOC reader accepts at most 4 Mi entries by default); a `.tar.gz` made by
/// `gzip` or `tar` has one member. Empty members cost 20 bytes each, so without a bound a
/// small input could keep the decoder restarting for a long time without output.
pub const DEFAULT_MAX_MEMBERS: u64 = 16 << 20;

/// Decodes a sequence of gzip members (a whole blob, or a `.tar.gz`) as one stream.
///
/// Each member's CRC and size are checked. A member after the first `max_members`
/// ([`DEFAULT_MAX_MEMBERS`] unless set with [`with_max_members`](Self::with_max_members))
/// makes `read` fail with an [`io::Error`] that wraps [`Error::LimitExceeded`] with
/// [`LimitKind::GzipMembers`] (get it back with [`io::Error::downcast`]).
///
/// ```
/// use std::io::Read;
/// use estargz::gzip::{Compression, MultiMemberDecoder, compress_member};
///
/// let mut blob = compress_member(b"hello, ", Compression::BEST, false)?;
/// blob.extend(compress_member(b"world", Compression::NONE, true)?);
/// let mut text = String::new();
/// MultiMemberDecoder::new(&blob[..]).read_to_string(&mut text)?;
/// assert_eq!(text, "hello, world");
/// assert!(MultiMemberDecoder::with_max_members(&blob[..], 1).read_to_string(&mut text).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MultiMemberDecoder<R: Read> {
    /// The member being decoded; `None` only while one member is replaced by the next.
    member: Option<GzDecoder<BufReader<R>>>,
    /// Members started so far (the current one included).
    members: u64,
    max_members: u64,
}

impl<R: Read> MultiMemberDecoder<R> {
    /// Decodes the members read from `reader`, at most [`DEFAULT_MAX_MEMBERS`] of them.
    pub fn new(reader: R) -> Self {
        Self::with_max_members(reader, DEFAULT_MAX_MEMBERS)
    }

    /// Decodes the members read from `reader`, at most `max_members` of them.
    pub fn with_max_members(reader: R, max_members: u64) -> Self {
        Self {
            member: Some(GzDecoder::new(BufReader::new(reader))),
            members: 1,
            max_members,
        }
    }

    /// Returns the underlying reader (bytes it buffered are lost).
    pub fn into_inner(self) -> R {
        // Invariant: `member` is `None` only inside `read`, between taking one member's
        // decoder and putting the next one's in its place.
        let member = self.member.expect("a member decoder outside `read`");
        member.into_inner().into_inner()
    }
}

impl<R: Read> Read for MultiMemberDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(member) = self.member.as_mut() else {
                // Not reached: see `into_inner`.
                return Err(io::Error::other("no member decoder"));
            };
            let n = member.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // The member ended, its trailer checked: another one follows unless the input
            // ends here.
            if member.get_mut().fill_buf()?.is_empty() {
                return Ok(0);
            }
            if self.members >= self.max_members {
                return Err(io::Error::other(Error::LimitExceeded {
                    limit: LimitKind::GzipMembers,
                    actual: self.members.saturating_add(1),
                    max: self.max_members,
                }));
            }
            self.members += 1;
            self.member = self.member.take().map(|m| GzDecoder::new(m.into_inner()));
        }
    }
}

impl<R: Read> fmt::Debug for MultiMemberDecoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiMemberDecoder")
            .field("members", &self.members)
            .field("max_members", &self.max_members)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gzip::{Compression, compress_member};

    fn members(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| compress_member(&[i as u8; 3], Compression::FAST, false).unwrap())
            .collect()
    }

    fn decode(data: &[u8], max: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        MultiMemberDecoder::with_max_members(data, max).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn members_up_to_the_limit_decode_as_one_stream() {
        let data = members(5);
        let out = decode(&data, 5).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
        assert_eq!(decode(&data, DEFAULT_MAX_MEMBERS).unwrap(), out);
    }

    #[test]
    fn one_member_more_than_the_limit_is_a_typed_error() {
        let err = decode(&members(5), 4).unwrap_err();
        let err = err.downcast::<Error>().unwrap();
        assert!(
            matches!(
                err,
                Error::LimitExceeded {
                    limit: LimitKind::GzipMembers,
                    actual: 5,
                    max: 4
                }
            ),
            "{err:?}"
        );
        // Empty members count too.
        let empty = compress_member(&[], Compression::NONE, false)
            .unwrap()
            .repeat(3);
        assert!(decode(&empty, 2).is_err());
        assert_eq!(decode(&empty, 3).unwrap(), b"");
    }

    #[test]
    fn corrupt_trailers_and_trailing_garbage_fail() {
        let mut data = members(2);
        let last = data.len() - 5;
        data[last] ^= 1;
        assert!(decode(&data, 10).is_err());
        let mut data = members(2);
        data.extend_from_slice(b"junk");
        assert!(decode(&data, 10).is_err());
    }
}
