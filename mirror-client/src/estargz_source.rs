//! [`estargz::ReadAt`] for [`RangeReader`], so the `estargz` reader can read a blob lazily
//! from a registry through mirrors (feature `estargz`).
//!
//! Batch reads map to one [`RangeReader::read_std_ranges`] call, so the reader's planned
//! chunk ranges are coalesced into as few requests as each endpoint allows.
//!
//! Opening a blob of unknown size costs one request when the TOC fits the kept tail:
//! the size probe (`Range: bytes=-N`) brings the blob's last N bytes, and
//! [`RangeReader::open_estargz`] sets the `estargz` reader's tail guess to them, so its
//! footer-and-TOC read is served from memory. A TOC longer than the tail costs one more
//! request, for the TOC's bytes before the tail only.

use std::io;
use std::ops::Range;

use estargz::reader::{Reader, ReaderOptions};

use crate::RangeReader;

impl estargz::ReadAt for RangeReader {
    fn size(&self) -> io::Result<u64> {
        Ok(RangeReader::size(self))
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        RangeReader::read_exact_at(self, offset, buf).map_err(io::Error::other)
    }

    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        let parts = self.read_std_ranges(ranges).map_err(io::Error::other)?;
        Ok(parts.into_iter().map(Vec::from).collect())
    }
}

impl RangeReader {
    /// Opens the blob with `estargz`'s lazy, verified reader. When the size probe kept the
    /// blob's tail ([`RangeReader::kept_tail`]), `options.toc.tail_guess` is set to its
    /// length so that reading the footer and TOC asks the network only for TOC bytes
    /// before the tail (nothing at all when the TOC fits in it).
    ///
    /// # Errors
    ///
    /// As [`estargz::reader::Reader::open`].
    pub fn open_estargz(self, mut options: ReaderOptions) -> estargz::Result<Reader<Self>> {
        if let Some(kept) = self.kept_tail()
            && kept.end() == self.size()
        {
            options.toc.tail_guess = kept.len();
        }
        Reader::open(self, options)
    }
}
