//! Minimum-chunk-size packing: which chunks start a new compression member.

/// Where the next chunk's data goes, from [`MemberPacker::before_chunk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// Close the current member and open a new one; the chunk's TOC `offset` is the new
    /// member's compressed start, its `innerOffset` is 0.
    NewMember,
    /// Append the chunk to the current member; its TOC `offset` is the current member's
    /// compressed start.
    Continue {
        /// Uncompressed bytes written into the current member before this chunk's first byte
        /// (tar headers and padding included): the TOC `innerOffset`.
        inner_offset: u64,
    },
}

impl Placement {
    /// Whether the chunk starts a new member.
    pub fn is_new_member(&self) -> bool {
        matches!(self, Self::NewMember)
    }

    /// The chunk's TOC `innerOffset` (0 for a new member).
    pub fn inner_offset(&self) -> u64 {
        match self {
            Self::NewMember => 0,
            Self::Continue { inner_offset } => *inner_offset,
        }
    }
}

/// The sans-IO state machine that decides member boundaries before each chunk (spec 1.2, 2.5).
///
/// The encoder keeps one compression member open and writes the whole tar stream into it,
/// telling the packer every uncompressed byte it writes ([`Self::record_uncompressed`]: tar
/// headers, file data, padding). Before each chunk of file data it (sync-)flushes the member,
/// as the newest reference does, and asks [`Self::before_chunk`] with the number of compressed
/// bytes written since the member started. The answer is [`Placement::NewMember`] when the
/// minimum chunk size is 0 (every chunk gets its own member), when the member already holds
/// at least the minimum number of compressed bytes, or when the entry is a landmark (so the
/// prefetch range ends exactly at the landmark); otherwise the chunk continues the member at an
/// `innerOffset`.
///
/// When the encoder opens a member for another reason (the first member of a blob or of a
/// part), it calls [`Self::start_member`].
///
/// ```
/// use estargz_chunker::{MemberPacker, Placement};
///
/// let mut packer = MemberPacker::new(1000);
/// packer.record_uncompressed(512); // a tar header
/// // 100 compressed bytes so far, under the minimum: share the member.
/// assert_eq!(packer.before_chunk(100, false), Placement::Continue { inner_offset: 512 });
/// packer.record_uncompressed(3 + 509 + 512); // data, padding, next header
/// assert_eq!(packer.before_chunk(1200, false), Placement::NewMember);
/// assert_eq!(packer.inner_offset(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberPacker {
    min_chunk_size: u64,
    inner_offset: u64,
}

impl MemberPacker {
    /// A packer for the given minimum chunk size (0 disables packing), positioned at the start
    /// of a member.
    pub fn new(min_chunk_size: u64) -> Self {
        Self {
            min_chunk_size,
            inner_offset: 0,
        }
    }

    /// The minimum chunk size, in compressed bytes.
    pub fn min_chunk_size(&self) -> u64 {
        self.min_chunk_size
    }

    /// Uncompressed bytes written into the current member so far.
    pub fn inner_offset(&self) -> u64 {
        self.inner_offset
    }

    /// Records that the encoder opened a new member on its own.
    pub fn start_member(&mut self) {
        self.inner_offset = 0;
    }

    /// Records `len` uncompressed bytes written into the current member (saturating).
    pub fn record_uncompressed(&mut self, len: u64) {
        self.inner_offset = self.inner_offset.saturating_add(len);
    }

    /// Decides where the next chunk goes; on [`Placement::NewMember`] the packer is reset to
    /// the start of the new member.
    ///
    /// `compressed_since_member_start` is the compressed size of the current member so far
    /// (after the flush); it is only consulted when the minimum chunk size is non-zero and the
    /// entry is not a landmark. `landmark` says whether the chunk belongs to a landmark file.
    pub fn before_chunk(
        &mut self,
        compressed_since_member_start: u64,
        landmark: bool,
    ) -> Placement {
        if self.min_chunk_size == 0
            || landmark
            || compressed_since_member_start >= self.min_chunk_size
        {
            self.inner_offset = 0;
            Placement::NewMember
        } else {
            Placement::Continue {
                inner_offset: self.inner_offset,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_minimum_always_starts_members() {
        let mut p = MemberPacker::new(0);
        p.record_uncompressed(512);
        assert_eq!(p.before_chunk(0, false), Placement::NewMember);
        p.record_uncompressed(2);
        assert_eq!(p.before_chunk(0, false), Placement::NewMember);
    }

    /// The worked example of spec 1.2 with `WithMinChunkSize(1000)` and chunk size 2: the
    /// landmark forces a member; everything after shares it, at the observed inner offsets.
    #[test]
    fn spec_worked_example_inner_offsets() {
        const BLOCK: u64 = 512;
        let mut p = MemberPacker::new(1000);
        let small = 50; // compressed bytes so far: always under the minimum here
        p.record_uncompressed(BLOCK); // header .no.prefetch.landmark
        let landmark = p.before_chunk(small, true);
        assert_eq!(landmark, Placement::NewMember);
        p.record_uncompressed(1 + 511); // landmark data + padding
        p.record_uncompressed(BLOCK * 2); // headers a/, a/1.txt
        assert_eq!(p.before_chunk(small, false).inner_offset(), 1536);
        p.record_uncompressed(2);
        assert_eq!(p.before_chunk(small, false).inner_offset(), 1538);
        p.record_uncompressed(1 + 509); // last byte + padding
        p.record_uncompressed(BLOCK * 3); // b/, b/c/, b/c/2.txt
        assert_eq!(p.before_chunk(small, false).inner_offset(), 3584);
        p.record_uncompressed(2);
        p.before_chunk(small, false);
        p.record_uncompressed(1 + 509);
        p.record_uncompressed(BLOCK * 2); // b/hl, b/3.txt
        let placement = p.before_chunk(small, false);
        assert!(!placement.is_new_member());
        assert_eq!(placement.inner_offset(), 5120);
    }

    #[test]
    fn threshold_is_inclusive_and_start_member_resets() {
        let mut p = MemberPacker::new(10);
        assert_eq!(p.min_chunk_size(), 10);
        p.record_uncompressed(7);
        assert_eq!(
            p.before_chunk(9, false),
            Placement::Continue { inner_offset: 7 }
        );
        assert_eq!(p.before_chunk(10, false), Placement::NewMember);
        p.record_uncompressed(u64::MAX);
        p.record_uncompressed(1);
        assert_eq!(p.inner_offset(), u64::MAX);
        p.start_member();
        assert_eq!(p.inner_offset(), 0);
    }
}
