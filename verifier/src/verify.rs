//! Verifying chunks and whole files against expected digests and sizes.

use crate::digest::{Digest, Hasher};
use crate::error::{Error, Subject};

/// The shared core of [`ChunkVerifier`] and [`FileVerifier`].
#[derive(Debug, Clone)]
struct SizedVerifier {
    subject: Subject,
    expected: Digest,
    expected_size: u64,
    fed: u64,
    hasher: Hasher,
}

impl SizedVerifier {
    fn new(subject: Subject, expected: Digest, expected_size: u64) -> Self {
        Self {
            subject,
            expected,
            expected_size,
            fed: 0,
            hasher: Hasher::new(),
        }
    }

    fn update(&mut self, data: &[u8]) {
        // Bytes beyond the expected size are counted but not hashed: the verification fails
        // on size anyway.
        let room = self.expected_size.saturating_sub(self.fed);
        let take = usize::try_from(room).map_or(data.len(), |room| room.min(data.len()));
        if let Some(head) = data.get(..take) {
            self.hasher.update(head);
        }
        self.fed = self
            .fed
            .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
    }

    fn remaining(&self) -> u64 {
        self.expected_size.saturating_sub(self.fed)
    }

    fn finish(self) -> Result<(), Error> {
        if self.fed != self.expected_size {
            return Err(Error::SizeMismatch {
                subject: self.subject,
                expected: self.expected_size,
                actual: self.fed,
            });
        }
        let actual = self.hasher.finalize();
        if actual != self.expected {
            return Err(Error::Mismatch {
                subject: self.subject,
                expected: self.expected,
                actual,
            });
        }
        Ok(())
    }
}

macro_rules! sized_verifier {
    ($(#[$doc:meta])* $name:ident, $subject:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(SizedVerifier);

        impl $name {
            #[doc = concat!("A verifier for one ", $what, " of `expected_size` bytes hashing to `expected`.")]
            pub fn new(expected: Digest, expected_size: u64) -> Self {
                Self(SizedVerifier::new($subject, expected, expected_size))
            }

            #[doc = concat!("Like [`", stringify!($name), "::new`], parsing the digest string as stored in the TOC.")]
            ///
            /// # Errors
            ///
            /// [`Error::InvalidDigest`] if `expected` is not a valid sha256 digest.
            pub fn parse(expected: &str, expected_size: u64) -> Result<Self, Error> {
                Ok(Self::new(Digest::parse(expected)?, expected_size))
            }

            #[doc = concat!("Verifies a ", $what, " held in memory in one call.")]
            ///
            /// # Errors
            ///
            /// As [`Self::finish`].
            pub fn verify(expected: Digest, data: &[u8]) -> Result<(), Error> {
                let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
                let mut v = Self::new(expected, size);
                v.update(data);
                v.finish()
            }

            /// Feeds the next bytes of content (in order).
            pub fn update(&mut self, data: &[u8]) {
                self.0.update(data);
            }

            /// The digest the content must have.
            pub fn expected(&self) -> Digest {
                self.0.expected
            }

            /// The number of bytes the content must have.
            pub fn expected_size(&self) -> u64 {
                self.0.expected_size
            }

            /// Bytes fed so far (including any beyond the expected size).
            pub fn fed(&self) -> u64 {
                self.0.fed
            }

            /// Bytes still expected (0 once the expected size is reached or exceeded).
            pub fn remaining(&self) -> u64 {
                self.0.remaining()
            }

            /// Ends verification.
            ///
            /// # Errors
            ///
            /// [`Error::SizeMismatch`] if more or fewer bytes than expected were fed, else
            /// [`Error::Mismatch`] if the content hashes to another digest.
            pub fn finish(self) -> Result<(), Error> {
                self.0.finish()
            }
        }
    };
}

sized_verifier!(
    /// Verifies one chunk's uncompressed bytes against its TOC `chunkDigest` and chunk size.
    ///
    /// ```
    /// use estargz_verifier::{ChunkVerifier, Digest, Error};
    ///
    /// let mut v = ChunkVerifier::new(Digest::of(b"abc"), 3);
    /// v.update(b"ab");
    /// v.update(b"c");
    /// v.finish()?;
    ///
    /// let mut v = ChunkVerifier::new(Digest::of(b"abc"), 3);
    /// v.update(b"abd");
    /// assert!(matches!(v.finish(), Err(Error::Mismatch { .. })));
    /// # Ok::<(), Error>(())
    /// ```
    ChunkVerifier,
    Subject::Chunk,
    "chunk"
);

sized_verifier!(
    /// Verifies a whole regular file against its TOC `digest` and `size`.
    ///
    /// ```
    /// use estargz_verifier::{Digest, Error, FileVerifier};
    ///
    /// let mut v = FileVerifier::new(Digest::EMPTY, 0);
    /// v.update(b"x");
    /// assert!(matches!(v.finish(), Err(Error::SizeMismatch { expected: 0, actual: 1, .. })));
    /// ```
    FileVerifier,
    Subject::File,
    "file"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_content_passes() {
        let mut v = ChunkVerifier::new(Digest::of(b"hello"), 5);
        assert_eq!(v.remaining(), 5);
        v.update(b"he");
        v.update(b"");
        v.update(b"llo");
        assert_eq!(v.fed(), 5);
        assert_eq!(v.remaining(), 0);
        assert_eq!(v.expected(), Digest::of(b"hello"));
        assert_eq!(v.expected_size(), 5);
        assert!(v.finish().is_ok());
        assert!(FileVerifier::verify(Digest::LANDMARK, &[0x0f]).is_ok());
        assert!(FileVerifier::new(Digest::EMPTY, 0).finish().is_ok());
    }

    #[test]
    fn wrong_content_is_a_mismatch() {
        let mut v = FileVerifier::new(Digest::of(b"hello"), 5);
        v.update(b"hellO");
        assert_eq!(
            v.finish(),
            Err(Error::Mismatch {
                subject: Subject::File,
                expected: Digest::of(b"hello"),
                actual: Digest::of(b"hellO"),
            })
        );
    }

    #[test]
    fn too_few_and_too_many_bytes() {
        let mut v = ChunkVerifier::new(Digest::of(b"hello"), 5);
        v.update(b"hell");
        assert_eq!(
            v.finish(),
            Err(Error::SizeMismatch {
                subject: Subject::Chunk,
                expected: 5,
                actual: 4,
            })
        );
        let mut v = ChunkVerifier::new(Digest::of(b"hello"), 5);
        v.update(b"hello");
        v.update(b"!");
        assert_eq!(v.remaining(), 0);
        assert_eq!(
            v.finish(),
            Err(Error::SizeMismatch {
                subject: Subject::Chunk,
                expected: 5,
                actual: 6,
            })
        );
    }

    #[test]
    fn parse_constructor() {
        let v = ChunkVerifier::parse(&Digest::EMPTY.to_string(), 0).unwrap();
        assert!(v.finish().is_ok());
        assert!(matches!(
            ChunkVerifier::parse("sha256:xyz", 0),
            Err(Error::InvalidDigest { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_split_verifies(data: Vec<u8>, cuts in proptest::collection::vec(0usize..256, 0..8)) {
            let mut v = FileVerifier::new(Digest::of(&data), data.len() as u64);
            let mut rest = data.as_slice();
            for cut in cuts {
                let (a, b) = rest.split_at(cut.min(rest.len()));
                v.update(a);
                rest = b;
            }
            v.update(rest);
            proptest::prop_assert!(v.finish().is_ok());
        }
    }
}
