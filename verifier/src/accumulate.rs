//! Digests accumulated while writing a blob, so no second pass is needed.

use crate::digest::{Digest, Hasher};

/// A DiffID and the uncompressed size, from [`DiffIdAccumulator::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DiffId {
    /// sha256 of the full uncompressed stream (the layer's DiffID).
    pub digest: Digest,
    /// Number of uncompressed bytes (the `io.containers.estargz.uncompressed-size` annotation).
    pub uncompressed_size: u64,
}

/// A blob digest and the blob size, from [`BlobDigestAccumulator::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BlobDigest {
    /// sha256 of the compressed blob bytes (the layer descriptor's digest).
    pub digest: Digest,
    /// Number of compressed bytes (the layer descriptor's size).
    pub size: u64,
}

/// A hasher that also counts bytes.
#[derive(Debug, Clone, Default)]
struct CountingHasher {
    hasher: Hasher,
    len: u64,
}

impl CountingHasher {
    fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.len = self
            .len
            .saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
    }
}

macro_rules! accumulator {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name(CountingHasher);

        impl $name {
            /// An accumulator over no bytes yet.
            pub fn new() -> Self {
                Self::default()
            }

            #[doc = concat!("Feeds the next ", $what, " bytes, in stream order.")]
            pub fn update(&mut self, data: &[u8]) {
                self.0.update(data);
            }

            #[doc = concat!("The number of ", $what, " bytes fed so far.")]
            pub fn len(&self) -> u64 {
                self.0.len
            }

            /// Whether nothing has been fed yet.
            pub fn is_empty(&self) -> bool {
                self.0.len == 0
            }
        }

        impl std::io::Write for $name {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.update(buf);
                Ok(buf.len())
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

accumulator!(
    /// Accumulates the DiffID (sha256 of the uncompressed stream) and the uncompressed size.
    ///
    /// Feed every uncompressed byte the encoder puts into compression members, in order: the
    /// landmark, every re-encoded entry, and for gzip eStargz the TOC tar entry and the
    /// end-of-archive (spec 3.6). Also implements [`std::io::Write`] (never failing).
    ///
    /// ```
    /// use estargz_verifier::{DiffIdAccumulator, Digest};
    ///
    /// let mut acc = DiffIdAccumulator::new();
    /// acc.update(b"tar ");
    /// acc.update(b"bytes");
    /// let diff_id = acc.finish();
    /// assert_eq!(diff_id.digest, Digest::of(b"tar bytes"));
    /// assert_eq!(diff_id.uncompressed_size, 9);
    /// ```
    DiffIdAccumulator,
    "uncompressed"
);

impl DiffIdAccumulator {
    /// The DiffID and uncompressed size of everything fed.
    pub fn finish(self) -> DiffId {
        DiffId {
            digest: self.0.hasher.finalize(),
            uncompressed_size: self.0.len,
        }
    }
}

accumulator!(
    /// Accumulates the blob digest (sha256 of the compressed bytes) and the blob size.
    ///
    /// Feed every byte written to the blob, in order (members, TOC member, footer). Also
    /// implements [`std::io::Write`] (never failing).
    ///
    /// ```
    /// use estargz_verifier::{BlobDigestAccumulator, Digest};
    ///
    /// let mut acc = BlobDigestAccumulator::new();
    /// acc.update(&[0x1f, 0x8b]);
    /// let blob = acc.finish();
    /// assert_eq!(blob.digest, Digest::of(&[0x1f, 0x8b]));
    /// assert_eq!(blob.size, 2);
    /// ```
    BlobDigestAccumulator,
    "compressed"
);

impl BlobDigestAccumulator {
    /// The blob digest and size of everything fed.
    pub fn finish(self) -> BlobDigest {
        BlobDigest {
            digest: self.0.hasher.finalize(),
            size: self.0.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_accumulators() {
        let acc = DiffIdAccumulator::new();
        assert!(acc.is_empty());
        let d = acc.finish();
        assert_eq!(d.digest, Digest::EMPTY);
        assert_eq!(d.uncompressed_size, 0);
        let b = BlobDigestAccumulator::default().finish();
        assert_eq!(b.digest, Digest::EMPTY);
        assert_eq!(b.size, 0);
    }

    #[test]
    fn write_impl_counts() {
        use std::io::Write as _;
        let mut acc = BlobDigestAccumulator::new();
        acc.write_all(b"abc").unwrap();
        acc.flush().unwrap();
        assert_eq!(acc.len(), 3);
        assert!(!acc.is_empty());
        assert_eq!(acc.finish().digest, Digest::of(b"abc"));
    }

    proptest::proptest! {
        #[test]
        fn pieces_equal_whole(pieces: Vec<Vec<u8>>) {
            let mut acc = DiffIdAccumulator::new();
            let mut whole = Vec::new();
            for p in &pieces {
                acc.update(p);
                whole.extend_from_slice(p);
            }
            let d = acc.finish();
            proptest::prop_assert_eq!(d.digest, Digest::of(&whole));
            proptest::prop_assert_eq!(d.uncompressed_size, whole.len() as u64);
        }
    }
}
