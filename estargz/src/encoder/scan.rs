//! The first pass: tar headers only, payloads skipped, over a positioned source.

use crate::error::{Error, Result};
use crate::source::ReadAt;
use crate::tar::{TarEntry, TarError, TarEvent, TarLimits, TarParser};

/// How much to read ahead when the parser needs more bytes.
const WINDOW: u64 = 256 << 10;

/// What the first pass found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The entries in input order (global headers excluded).
    pub(crate) entries: Vec<TarEntry>,
    /// How many PAX global headers were skipped.
    pub(crate) global_headers: u64,
}

/// Parses every header of the uncompressed tar in `src`, skipping payloads.
pub(crate) fn scan<S: ReadAt + ?Sized>(src: &S, limits: &TarLimits) -> Result<Scan> {
    let size = src
        .size()
        .map_err(|e| Error::io("reading the size of the input tar", e))?;
    let mut parser = TarParser::new(limits.clone());
    let mut window = Window::default();
    let mut want = 1024u64;
    let mut out = Scan::default();
    loop {
        let at = parser.offset();
        let input = window.get(src, at, want, size)?;
        let eof = at.saturating_add(input.len() as u64) >= size;
        match parser.parse(input, eof)? {
            TarEvent::NeedData { needed } => {
                let needed = needed as u64;
                if needed <= want && eof {
                    // Cannot happen: with `eof` the parser reports truncation instead.
                    return Err(TarError::Truncated { offset: size }.into());
                }
                want = needed.max(want);
            }
            TarEvent::Entry { entry, .. } => {
                check_within(&entry, size)?;
                out.entries.push(*entry);
                want = 1024;
            }
            TarEvent::GlobalHeader { entry, .. } => {
                check_within(&entry, size)?;
                out.global_headers += 1;
                want = 1024;
            }
            TarEvent::End { .. } => return Ok(out),
        }
    }
}

/// Checks that an entry's payload lies inside the input (its padding may be cut short by
/// the end of the input, which Go accepts).
fn check_within(entry: &TarEntry, size: u64) -> Result<()> {
    if entry.payload_offset.saturating_add(entry.payload_len) > size {
        return Err(TarError::Truncated { offset: size }.into());
    }
    Ok(())
}

/// A read-ahead buffer over a positioned source.
#[derive(Debug, Default)]
struct Window {
    start: u64,
    buf: Vec<u8>,
}

impl Window {
    /// At least `want` bytes at `at` (fewer at the end of the source).
    fn get<S: ReadAt + ?Sized>(&mut self, src: &S, at: u64, want: u64, size: u64) -> Result<&[u8]> {
        if at >= size {
            // The input may end inside the last entry's padding, before `at`.
            return Ok(&[]);
        }
        let end = self.start.saturating_add(self.buf.len() as u64);
        let wanted_end = at.saturating_add(want).min(size);
        if at < self.start || wanted_end > end {
            let len = want.max(WINDOW).min(size.saturating_sub(at));
            let len = usize::try_from(len).map_err(|_| Error::LimitExceeded {
                limit: crate::LimitKind::AddressSpace,
                actual: len,
                max: usize::MAX as u64,
            })?;
            self.buf.clear();
            self.buf.resize(len, 0);
            src.read_exact_at(at, &mut self.buf)
                .map_err(|e| Error::io(format!("reading the input tar at offset {at}"), e))?;
            self.start = at;
        }
        let from = usize::try_from(at - self.start).unwrap_or(usize::MAX);
        Ok(self.buf.get(from..).unwrap_or_default())
    }
}
