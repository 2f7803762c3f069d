//! Positioned reads: the one trait every blob source implements.
//!
//! Readers of an eStargz blob never stream it front to back: they read the footer at the
//! end, the TOC before it, and then whichever chunks a caller asks for. [`ReadAt`] models
//! exactly that: `&self` (so many threads can read at once), explicit offsets (no cursor),
//! a known size, and a batch form that takes many ranges at once so that a remote source can
//! fetch them in one request.
//!
//! Implementations are provided for byte slices, `Vec<u8>`, [`std::fs::File`] (with
//! `pread`, which leaves the file cursor alone), and through `&T`, `Box<T>` and `Arc<T>`.

use std::io;
use std::ops::Range;
use std::sync::Arc;

/// A blob that can be read at explicit offsets.
pub trait ReadAt {
    /// The size of the blob in bytes.
    fn size(&self) -> io::Result<u64>;

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    ///
    /// # Errors
    ///
    /// An [`io::ErrorKind::UnexpectedEof`] error when the range extends past the end of
    /// the blob; any error of the underlying source.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Reads many ranges at once, returning one buffer per range, in the order given.
    ///
    /// The default reads the ranges one by one; remote sources override it to coalesce
    /// nearby ranges into fewer requests.
    ///
    /// # Errors
    ///
    /// As [`ReadAt::read_exact_at`], for the first range that fails.
    fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
        ranges
            .iter()
            .map(|range| {
                let len = range
                    .end
                    .checked_sub(range.start)
                    .and_then(|len| usize::try_from(len).ok())
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidInput, "invalid byte range")
                    })?;
                let mut buf = vec![0; len];
                self.read_exact_at(range.start, &mut buf)?;
                Ok(buf)
            })
            .collect()
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).ok();
        let bytes = start
            .and_then(|start| self.get(start..start.checked_add(buf.len())?))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> io::Result<u64> {
        self.as_slice().size()
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.as_slice().read_exact_at(offset, buf)
    }
}

#[cfg(unix)]
impl ReadAt for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

#[cfg(windows)]
impl ReadAt for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    /// `seek_read` may return short reads and moves the file cursor; this loops until the
    /// buffer is full. Concurrent readers of one `File` are safe because every call passes
    /// its own offset.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !buf.is_empty() {
            match self.seek_read(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "read past the end",
                    ));
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Forwards [`ReadAt`] through pointer types, keeping a source's own batch form.
macro_rules! forward_read_at {
    ($($pointer:ty),+) => {$(
        impl<T: ReadAt + ?Sized> ReadAt for $pointer {
            fn size(&self) -> io::Result<u64> {
                (**self).size()
            }

            fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
                (**self).read_exact_at(offset, buf)
            }

            fn read_ranges(&self, ranges: &[Range<u64>]) -> io::Result<Vec<Vec<u8>>> {
                (**self).read_ranges(ranges)
            }
        }
    )+};
}

forward_read_at!(&T, Box<T>, Arc<T>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn check(source: &dyn ReadAt) {
        assert_eq!(source.size().unwrap(), 10);
        let mut buf = [0; 3];
        source.read_exact_at(4, &mut buf).unwrap();
        assert_eq!(&buf, b"456");
        let err = source.read_exact_at(8, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        // Past any possible end: an error (which kind depends on the source's OS call).
        assert!(source.read_exact_at(u64::MAX, &mut buf).is_err());
        let parts = source.read_ranges(&[7..10, 0..2, 5..5]).unwrap();
        assert_eq!(parts, [b"789".to_vec(), b"01".to_vec(), Vec::new()]);
        // On purpose: one reversed, invalid range.
        #[allow(clippy::reversed_empty_ranges, clippy::single_range_in_vec_init)]
        let err = source.read_ranges(&[3..1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn slices_vecs_and_wrappers() {
        let bytes = b"0123456789".to_vec();
        check(&bytes.as_slice());
        check(&bytes);
        check(&Arc::new(bytes.clone()));
        check(&Box::new(bytes));
    }

    #[test]
    fn files() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        check(&file);
    }
}
