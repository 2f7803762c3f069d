//! [`estargz::ReadAt`] for [`RangeReader`], so the `estargz` reader can read a blob lazily
//! from a registry through mirrors (feature `estargz`).
//!
//! Batch reads map to one [`RangeReader::read_std_ranges`] call, so the reader's planned
//! chunk ranges are coalesced into as few requests as each endpoint allows.

use std::io;
use std::ops::Range;

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
