//! Fixed-size chunk plans for regular files.

use core::iter::FusedIterator;
use core::num::NonZeroU64;

use crate::error::Error;

/// The reference's default chunk size: 4 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 4 << 20;

/// [`DEFAULT_CHUNK_SIZE`] as a `NonZeroU64` (checked at compile time).
const DEFAULT_CHUNK_SIZE_NZ: NonZeroU64 = match NonZeroU64::new(DEFAULT_CHUNK_SIZE) {
    Some(size) => size,
    None => panic!("the default chunk size is not zero"),
};

/// One chunk of a regular file's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Chunk {
    /// Position of the chunk in the file (0 for the `reg` entry, then 1, 2, ... for the
    /// `chunk` entries).
    pub index: u64,
    /// Offset of the chunk's first byte in the file (the TOC's `chunkOffset`).
    pub offset: u64,
    /// Number of bytes in the chunk (never 0).
    pub size: u64,
    /// The `chunkSize` the reference writes in the TOC for this chunk: the chunk size for
    /// every chunk exactly that long (including a last chunk when the file size is a multiple
    /// of it), 0 (omitted) for a shorter final chunk (spec 2.4).
    pub toc_chunk_size: u64,
}

/// How a regular file of a given size is cut into fixed-size chunks.
///
/// An empty file has no chunks (the TOC gives it no offset and no chunk digest).
///
/// ```
/// use estargz_chunker::ChunkPlan;
///
/// // Spec 2.4: S = 9, C = 4.
/// let plan = ChunkPlan::new(9, 4)?;
/// let chunks: Vec<_> = plan.iter().map(|c| (c.offset, c.size, c.toc_chunk_size)).collect();
/// assert_eq!(chunks, [(0, 4, 4), (4, 4, 4), (8, 1, 0)]);
/// assert_eq!(plan.len(), 3);
/// # Ok::<(), estargz_chunker::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkPlan {
    file_size: u64,
    chunk_size: NonZeroU64,
}

impl ChunkPlan {
    /// A plan for `file_size` bytes cut into chunks of `chunk_size` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroChunkSize`] if `chunk_size` is 0.
    pub fn new(file_size: u64, chunk_size: u64) -> Result<Self, Error> {
        let chunk_size = NonZeroU64::new(chunk_size).ok_or(Error::ZeroChunkSize)?;
        Ok(Self {
            file_size,
            chunk_size,
        })
    }

    /// A plan with the default chunk size ([`DEFAULT_CHUNK_SIZE`], 4 MiB).
    pub fn with_default_chunk_size(file_size: u64) -> Self {
        Self {
            file_size,
            chunk_size: DEFAULT_CHUNK_SIZE_NZ,
        }
    }

    /// The file size the plan covers.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The chunk size.
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size.get()
    }

    /// The number of chunks (0 for an empty file).
    pub fn len(&self) -> u64 {
        self.file_size.div_ceil(self.chunk_size.get())
    }

    /// Whether the plan has no chunks (the file is empty).
    pub fn is_empty(&self) -> bool {
        self.file_size == 0
    }

    /// Whether the file has more than one chunk (the reader's "multi-chunk" test).
    pub fn is_multi_chunk(&self) -> bool {
        self.file_size > self.chunk_size.get()
    }

    /// The chunk at `index`, if there is one.
    pub fn chunk(&self, index: u64) -> Option<Chunk> {
        let offset = index.checked_mul(self.chunk_size.get())?;
        if offset >= self.file_size {
            return None;
        }
        let size = (self.file_size - offset).min(self.chunk_size.get());
        let toc_chunk_size = if size == self.chunk_size.get() {
            size
        } else {
            0
        };
        Some(Chunk {
            index,
            offset,
            size,
            toc_chunk_size,
        })
    }

    /// The chunk holding the file byte at `offset`, if `offset` is inside the file.
    pub fn chunk_at(&self, offset: u64) -> Option<Chunk> {
        if offset >= self.file_size {
            return None;
        }
        self.chunk(offset / self.chunk_size.get())
    }

    /// The chunks in file order, computed on the fly.
    pub fn iter(&self) -> Chunks {
        Chunks {
            plan: *self,
            next: 0,
            end: self.len(),
        }
    }

    /// All chunks in a vector (one allocation of [`Self::len`] elements).
    pub fn to_vec(&self) -> Vec<Chunk> {
        self.iter().collect()
    }
}

impl IntoIterator for ChunkPlan {
    type Item = Chunk;
    type IntoIter = Chunks;

    fn into_iter(self) -> Chunks {
        self.iter()
    }
}

impl IntoIterator for &ChunkPlan {
    type Item = Chunk;
    type IntoIter = Chunks;

    fn into_iter(self) -> Chunks {
        self.iter()
    }
}

/// Iterator over the chunks of a [`ChunkPlan`], from [`ChunkPlan::iter`].
#[derive(Debug, Clone)]
pub struct Chunks {
    plan: ChunkPlan,
    next: u64,
    end: u64,
}

impl Iterator for Chunks {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if self.next >= self.end {
            return None;
        }
        let chunk = self.plan.chunk(self.next)?;
        self.next += 1;
        Some(chunk)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.end - self.next) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }

    fn nth(&mut self, n: usize) -> Option<Chunk> {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

impl DoubleEndedIterator for Chunks {
    fn next_back(&mut self) -> Option<Chunk> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        self.plan.chunk(self.end)
    }
}

impl FusedIterator for Chunks {}

#[cfg(test)]
mod tests {
    use super::*;

    fn triples(file_size: u64, chunk_size: u64) -> Vec<(u64, u64, u64)> {
        ChunkPlan::new(file_size, chunk_size)
            .unwrap()
            .iter()
            .map(|c| (c.offset, c.size, c.toc_chunk_size))
            .collect()
    }

    #[test]
    fn zero_chunk_size_is_rejected() {
        assert_eq!(ChunkPlan::new(10, 0), Err(Error::ZeroChunkSize));
    }

    #[test]
    fn toc_chunk_size_rule() {
        assert_eq!(triples(0, 4), []);
        assert_eq!(triples(3, 4), [(0, 3, 0)]);
        assert_eq!(triples(4, 4), [(0, 4, 4)]);
        assert_eq!(triples(8, 4), [(0, 4, 4), (4, 4, 4)]);
        assert_eq!(triples(9, 4), [(0, 4, 4), (4, 4, 4), (8, 1, 0)]);
        assert_eq!(triples(5, 2), [(0, 2, 2), (2, 2, 2), (4, 1, 0)]);
    }

    #[test]
    fn default_chunk_size() {
        let plan = ChunkPlan::with_default_chunk_size(DEFAULT_CHUNK_SIZE * 2 + 1);
        assert_eq!(plan.chunk_size(), 4_194_304);
        assert_eq!(plan.len(), 3);
        assert!(plan.is_multi_chunk());
        assert!(!ChunkPlan::with_default_chunk_size(DEFAULT_CHUNK_SIZE).is_multi_chunk());
        assert!(ChunkPlan::with_default_chunk_size(0).is_empty());
    }

    #[test]
    fn lookups_and_iterator_ends() {
        let plan = ChunkPlan::new(10, 4).unwrap();
        assert_eq!(plan.chunk_at(0).map(|c| c.index), Some(0));
        assert_eq!(plan.chunk_at(7).map(|c| c.index), Some(1));
        assert_eq!(plan.chunk_at(9).map(|c| c.offset), Some(8));
        assert_eq!(plan.chunk_at(10), None);
        assert_eq!(plan.chunk(3), None);
        assert_eq!(plan.chunk(u64::MAX), None);
        let mut it = plan.iter();
        assert_eq!(it.size_hint(), (3, Some(3)));
        assert_eq!(it.next_back().map(|c| c.size), Some(2));
        assert_eq!(it.nth(5), None);
        assert_eq!(it.next(), None);
        assert_eq!(plan.to_vec().len(), 3);
        assert_eq!((&plan).into_iter().count(), 3);
        assert_eq!(
            plan.into_iter().rev().map(|c| c.index).collect::<Vec<_>>(),
            [2, 1, 0]
        );
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let plan = ChunkPlan::new(u64::MAX, u64::MAX / 2).unwrap();
        let chunks = plan.to_vec();
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks.last().map(|c| (c.offset, c.size)),
            Some((u64::MAX - 1, 1))
        );
        let plan = ChunkPlan::new(u64::MAX, 1).unwrap();
        assert_eq!(plan.len(), u64::MAX);
        assert_eq!(
            plan.iter().next_back().map(|c| c.offset),
            Some(u64::MAX - 1)
        );
    }

    proptest::proptest! {
        #[test]
        fn chunks_tile_the_file(file_size in 0u64..100_000, chunk_size in 1u64..20_000) {
            let plan = ChunkPlan::new(file_size, chunk_size).unwrap();
            let mut expected_offset = 0;
            let mut count = 0;
            for (i, c) in plan.iter().enumerate() {
                proptest::prop_assert_eq!(c.index, i as u64);
                proptest::prop_assert_eq!(c.offset, expected_offset);
                proptest::prop_assert!(c.size > 0 && c.size <= chunk_size);
                let last = c.offset + c.size == file_size;
                if c.size == chunk_size {
                    proptest::prop_assert_eq!(c.toc_chunk_size, chunk_size);
                } else {
                    proptest::prop_assert!(last);
                    proptest::prop_assert_eq!(c.toc_chunk_size, 0);
                }
                proptest::prop_assert_eq!(plan.chunk_at(c.offset + c.size - 1), Some(c));
                expected_offset += c.size;
                count += 1;
            }
            proptest::prop_assert_eq!(expected_offset, file_size);
            proptest::prop_assert_eq!(count, plan.len());
        }

        #[test]
        fn huge_plans_end_exactly(file_size in 0u64.., chunk_size in (u64::MAX / 64)..) {
            let plan = ChunkPlan::new(file_size, chunk_size).unwrap();
            let total: u128 = plan.iter().map(|c| u128::from(c.size)).sum();
            proptest::prop_assert_eq!(total, u128::from(file_size));
        }
    }
}
