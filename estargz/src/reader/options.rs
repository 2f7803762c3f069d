//! Options of [`Reader::open`](super::Reader::open).

use super::toc_load::TocOptions;

/// How a [`Reader`](super::Reader) opens a blob and reads from it.
///
/// The defaults verify everything and bound every buffer a hostile blob could make the
/// reader allocate. Turning verification off must be explicit
/// ([`ReaderOptions::verify_chunks`]).
///
/// ```
/// use estargz::reader::ReaderOptions;
///
/// let mut options = ReaderOptions::default();
/// options.cache_bytes = 8 << 20;
/// assert!(options.verify_chunks);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderOptions {
    /// How the TOC is read and checked (limits, and the TOC digest it must have).
    pub toc: TocOptions,
    /// Whether every chunk is checked against its `chunkDigest` before any of its bytes
    /// are returned. Default `true`. With `false`, file reads return decompressed bytes
    /// unchecked ([`Reader::verify_all`](super::Reader::verify_all) always verifies).
    pub verify_chunks: bool,
    /// Bytes of decompressed, verified chunks kept in memory (least recently used chunks
    /// are dropped first). Default 32 MiB; 0 disables the cache.
    pub cache_bytes: u64,
    /// Largest uncompressed chunk the reader will hold in memory, in bytes. A chunk must be
    /// buffered whole to be verified before it is returned, so this bounds the memory of
    /// one read. Default 64 MiB (the reference's default chunk size is 4 MiB).
    pub max_chunk_bytes: u64,
    /// Largest compressed range fetched in one read for one chunk, in bytes. Default
    /// 128 MiB.
    pub max_fetch_bytes: u64,
    /// Largest file [`FileReader::read_to_vec`](super::FileReader::read_to_vec) reads into
    /// memory, in bytes. The buffer is sized from the TOC before any chunk is read, so this
    /// bounds what a lying file size can make the reader allocate. Default 1 GiB; larger
    /// files can be streamed with [`FileReader::copy_to`](super::FileReader::copy_to).
    pub max_read_to_vec_bytes: u64,
    /// Decompressed bytes a member run may hold beyond what the TOC accounts for (tar
    /// headers of entries the TOC describes, padding, end-of-archive), per gap between
    /// chunks. Whole-run operations ([`Reader::verify_all`](super::Reader::verify_all),
    /// [`Reader::unpack_to_tar`](super::Reader::unpack_to_tar)) fail with
    /// [`Error::LimitExceeded`](crate::Error::LimitExceeded) when a member inflates past
    /// that, instead of decompressing a bomb to its end; random reads fail the same way
    /// when a chunk's `innerOffset` lies beyond it, instead of inflating what comes
    /// before the chunk. Default 1 MiB.
    pub header_slack: u64,
    /// Threads used by whole-blob verification. Default: the available parallelism, at
    /// most 8. The results do not depend on it.
    pub threads: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            toc: TocOptions::default(),
            verify_chunks: true,
            cache_bytes: 32 << 20,
            max_chunk_bytes: 64 << 20,
            max_fetch_bytes: 128 << 20,
            max_read_to_vec_bytes: 1 << 30,
            header_slack: 1 << 20,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8),
        }
    }
}
