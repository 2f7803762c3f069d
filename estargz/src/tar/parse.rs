//! The incremental, sans-IO tar parser (Go `archive/tar` `Reader.Next` semantics).

use super::block::{self, BLOCK_SIZE, Block, field};
use super::{
    BlockMagic, FORMAT_ALL, FORMAT_GNU, FORMAT_PAX, FORMAT_USTAR, PaxRecord, SparseEntry,
    SparseFormat, SparseMap, TarEntry, TarError, TarEvent, TarFormat, TarHeader, TarLimits,
    TarTime, Trailer, is_header_only, pax,
};
use crate::error::LimitKind;

/// A sans-IO tar parser.
///
/// Give [`parse`](Self::parse) the bytes of the stream starting at [`offset`](Self::offset)
/// (as many as you have; it looks only at what it needs). It answers with a [`TarEvent`]:
/// [`NeedData`](TarEvent::NeedData) (call again with a longer input), an entry, a global
/// header, or the end. After an entry, skip or copy its payload and padding and continue at
/// the new [`offset`](Self::offset).
///
/// PAX `x` records and GNU long names apply to the next *entry* only, never to a following
/// extension header; a later `x` header replaces an earlier one (as in Go).
#[derive(Clone, Debug)]
pub struct TarParser {
    limits: TarLimits,
    offset: u64,
    finished: bool,
    /// Entries and global headers returned so far.
    entries: u64,
}

impl TarParser {
    /// A parser at offset 0.
    pub fn new(limits: TarLimits) -> Self {
        Self {
            limits,
            offset: 0,
            finished: false,
            entries: 0,
        }
    }

    /// Stream offset at which the next input given to [`parse`](Self::parse) must start.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the end of the archive was reached.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Parses the next item from `input`, which starts at [`offset`](Self::offset).
    ///
    /// `eof` says that `input` holds everything up to the end of the stream; without it,
    /// a short input gives [`TarEvent::NeedData`] instead of [`TarError::Truncated`].
    /// After the end of the archive, every call returns `End` with `consumed: 0`. An entry
    /// or global header past [`TarLimits::max_entries`] is [`TarError::LimitExceeded`].
    pub fn parse(&mut self, input: &[u8], eof: bool) -> Result<TarEvent, TarError> {
        if self.finished {
            return Ok(TarEvent::End {
                consumed: 0,
                trailer: Trailer::TwoZeroBlocks,
            });
        }
        let cur = Cursor {
            input,
            eof,
            base: self.offset,
        };
        let event = match parse_next(&cur, &self.limits) {
            Ok(event) => event,
            Err(Halt::Need(needed)) => return Ok(TarEvent::NeedData { needed }),
            Err(Halt::Fail(e)) => return Err(e),
        };
        match &event {
            TarEvent::Entry { entry, .. } | TarEvent::GlobalHeader { entry, .. } => {
                self.entries += 1;
                if self.entries > self.limits.max_entries {
                    return Err(TarError::LimitExceeded {
                        offset: entry.header_offset,
                        limit: LimitKind::TarEntries,
                        value: self.entries,
                        max: self.limits.max_entries,
                    });
                }
                self.offset = entry.end_offset();
            }
            TarEvent::End { consumed, .. } => {
                self.offset = cur.abs(*consumed);
                self.finished = true;
            }
            TarEvent::NeedData { .. } => {}
        }
        Ok(event)
    }
}

/// Parses a whole in-memory archive into its entries (global headers included, in order).
pub fn parse_archive(data: &[u8], limits: &TarLimits) -> Result<Vec<TarEntry>, TarError> {
    let mut parser = TarParser::new(limits.clone());
    let mut out = Vec::new();
    loop {
        let start = usize::try_from(parser.offset()).unwrap_or(usize::MAX);
        let Some(input) = data.get(start..) else {
            return Err(TarError::Truncated {
                offset: data.len() as u64,
            });
        };
        match parser.parse(input, true)? {
            TarEvent::Entry { entry, .. } | TarEvent::GlobalHeader { entry, .. } => {
                if entry.end_offset() > data.len() as u64 {
                    return Err(TarError::Truncated {
                        offset: data.len() as u64,
                    });
                }
                out.push(*entry);
            }
            TarEvent::End { .. } => return Ok(out),
            // With `eof` set the parser reports truncation instead.
            TarEvent::NeedData { .. } => {
                return Err(TarError::Truncated {
                    offset: data.len() as u64,
                });
            }
        }
    }
}

/// Why parsing stopped early.
enum Halt {
    /// More input needed: at least this many bytes from the start of the input.
    Need(usize),
    /// A real error.
    Fail(TarError),
}

impl From<TarError> for Halt {
    fn from(e: TarError) -> Self {
        Self::Fail(e)
    }
}

/// The input and where it sits in the stream.
struct Cursor<'a> {
    input: &'a [u8],
    eof: bool,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// Absolute stream offset of input position `pos`.
    fn abs(&self, pos: usize) -> u64 {
        self.base.saturating_add(pos as u64)
    }

    /// `len` bytes at `pos`, or a request for more, or truncation at end of input.
    fn take(&self, pos: usize, len: usize) -> Result<&'a [u8], Halt> {
        let end = pos.checked_add(len).ok_or(TarError::SizeOverflow {
            offset: self.abs(pos),
        })?;
        match self.input.get(pos..end) {
            Some(s) => Ok(s),
            None if self.eof => Err(Halt::Fail(TarError::Truncated {
                offset: self.abs(self.input.len().max(pos)),
            })),
            None => Err(Halt::Need(end)),
        }
    }

    /// One block at `pos`.
    fn block(&self, pos: usize) -> Result<&'a Block, Halt> {
        let b = self.take(pos, BLOCK_SIZE)?;
        // `take` returned exactly BLOCK_SIZE bytes.
        b.try_into().map_err(|_| {
            Halt::Fail(TarError::Truncated {
                offset: self.abs(pos),
            })
        })
    }

    /// At the end of the stream, how many input bytes follow the `len` bytes at `pos`;
    /// `None` if more input may come or if the input ends before them. Go accepts a stream
    /// that ends inside the padding after its last header or payload, so the padding is cut
    /// to this.
    fn held_after(&self, pos: usize, len: u64) -> Option<u64> {
        if !self.eof {
            return None;
        }
        (self.input.len() as u64).checked_sub((pos as u64).checked_add(len)?)
    }

    /// Whether the input ends exactly at `pos` and nothing more will come.
    fn ends_at(&self, pos: usize) -> bool {
        self.eof && self.input.len() == pos
    }
}

/// The fields of one header block, as Go's `readHeader` reads them.
struct RawHeader {
    header: TarHeader,
    magic: BlockMagic,
    /// Go's format bits for this block alone.
    format: u8,
}

fn parse_next(cur: &Cursor<'_>, limits: &TarLimits) -> Result<TarEvent, Halt> {
    let mut pos = 0usize;
    let mut format = FORMAT_ALL;
    let mut pax_records: Option<Vec<PaxRecord>> = None;
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut extension_offset: Option<u64> = None;
    loop {
        let at = cur.abs(pos);
        // Extension headers at the end of the stream apply to nothing: Go ends there too.
        if cur.ends_at(pos) {
            return Ok(TarEvent::End {
                consumed: pos,
                trailer: Trailer::Missing,
            });
        }
        let blk = cur.block(pos)?;
        if block::is_zero(blk) {
            let next = pos + BLOCK_SIZE;
            let trailer = if cur.ends_at(next) {
                Trailer::OneZeroBlock
            } else if block::is_zero(cur.block(next)?) {
                Trailer::TwoZeroBlocks
            } else {
                return Err(TarError::BadEndOfArchive {
                    offset: cur.abs(next),
                }
                .into());
            };
            let consumed = match trailer {
                Trailer::TwoZeroBlocks => next + BLOCK_SIZE,
                _ => next,
            };
            return Ok(TarEvent::End { consumed, trailer });
        }

        let raw = read_block(blk, at)?;
        pos += BLOCK_SIZE;
        format &= raw.format;
        let typeflag = raw.header.typeflag;
        match typeflag {
            b'x' | b'g' | b'L' | b'K' => {
                let (limit, max) = if matches!(typeflag, b'x' | b'g') {
                    format &= FORMAT_PAX;
                    (LimitKind::PaxSize, limits.max_pax_size)
                } else {
                    format &= FORMAT_GNU;
                    (LimitKind::LongNameSize, limits.max_long_name_size)
                };
                let size = physical_size(&raw.header, at)?;
                if size > max {
                    return Err(TarError::LimitExceeded {
                        offset: at,
                        limit,
                        value: size,
                        max,
                    }
                    .into());
                }
                let len = to_usize(size, at)?;
                let pad = to_usize(block::padding(size), at)?;
                let data = cur.take(pos, len)?;
                let pad = match cur.held_after(pos, size) {
                    Some(held) => pad.min(to_usize(held, at)?),
                    None => cur.take(pos + len, pad)?.len(),
                };
                pos += len + pad;
                match typeflag {
                    b'x' | b'g' => {
                        let records = pax::parse_records(data)
                            .map_err(|reason| TarError::BadPaxRecord { offset: at, reason })?;
                        check_xattrs(&records, limits, at)?;
                        if typeflag == b'g' {
                            return Ok(global_header(raw, records, format, at, cur.abs(pos), pos));
                        }
                        // A later `x` header replaces an earlier one, as in Go.
                        pax_records = Some(records);
                    }
                    b'L' => long_name = Some(block::parse_string(data).to_vec()),
                    _ => long_link = Some(block::parse_string(data).to_vec()),
                }
                extension_offset.get_or_insert(at);
            }
            _ => {
                let mut h = raw.header;
                if let Some(records) = pax_records {
                    merge_pax(&mut h, &records, at)?;
                    h.pax_records = records;
                }
                if let Some(name) = long_name.filter(|n| !n.is_empty()) {
                    h.name = name;
                }
                if let Some(link) = long_link.filter(|n| !n.is_empty()) {
                    h.link_name = link;
                }
                if h.typeflag == 0 {
                    h.typeflag = if h.name.ends_with(b"/") { b'5' } else { b'0' };
                }
                // Sizes as merged from PAX records; the physical data size is fixed now.
                let phys = physical_size(&h, at)?;
                let mut sparse = None;
                let mut map_bytes = 0u64;
                if h.typeflag == b'S' {
                    let (size, data, blocks) =
                        old_gnu_sparse(cur, blk, raw.magic, pos, at, limits)?;
                    h.size = size;
                    pos += blocks * BLOCK_SIZE;
                    sparse = Some(SparseMap {
                        format: SparseFormat::OldGnu,
                        data,
                    });
                } else if let Some((map, consumed)) =
                    pax_sparse(cur, &mut h, pos, phys, at, limits)?
                {
                    map_bytes = consumed as u64;
                    pos += consumed;
                    sparse = Some(map);
                }
                if let Some(map) = &sparse {
                    if h.is_header_only() {
                        return Err(bad_sparse(at, "sparse map on a header-only type"));
                    }
                    validate_sparse(&map.data, h.size, at, limits)?;
                }
                h.format = TarFormat::from_bits(format);
                let payload_offset = cur.abs(pos);
                let payload_len = phys.saturating_sub(map_bytes);
                let mut padding = block::padding(phys);
                if let Some(held) = cur.held_after(pos, payload_len) {
                    padding = padding.min(held);
                }
                payload_offset
                    .checked_add(payload_len)
                    .and_then(|e| e.checked_add(padding))
                    .ok_or(TarError::SizeOverflow { offset: at })?;
                let entry = TarEntry {
                    header: h,
                    magic: raw.magic,
                    extension_offset,
                    header_offset: at,
                    payload_offset,
                    payload_len,
                    padding,
                    sparse,
                };
                return Ok(TarEvent::Entry {
                    consumed: pos,
                    entry: Box::new(entry),
                });
            }
        }
    }
}

/// Builds the event for a PAX global header (Go's early return in `Reader.next`).
///
/// Go merges the records into the block's header but ignores the error of a bad value
/// (`mtime=x`) and keeps only the name: the last `path` record if it is not empty, else the
/// block's own name.
fn global_header(
    raw: RawHeader,
    records: Vec<PaxRecord>,
    format: u8,
    at: u64,
    end: u64,
    consumed: usize,
) -> TarEvent {
    let name = match pax::record_map(&records).get(pax::PATH) {
        Some(path) if !path.is_empty() => path.to_vec(),
        _ => raw.header.name,
    };
    let header = TarHeader {
        typeflag: b'g',
        name,
        pax_records: records,
        // Go does not collapse "USTAR or PAX" for global headers.
        format: if format & FORMAT_PAX != 0 {
            TarFormat::Pax
        } else {
            TarFormat::Unknown
        },
        ..TarHeader::default()
    };
    let entry = TarEntry {
        header,
        magic: raw.magic,
        extension_offset: None,
        header_offset: at,
        payload_offset: end,
        payload_len: 0,
        padding: 0,
        sparse: None,
    };
    TarEvent::GlobalHeader {
        consumed,
        entry: Box::new(entry),
    }
}

/// Size of the data section (0 for header-only types); negative sizes are errors.
fn physical_size(h: &TarHeader, at: u64) -> Result<u64, Halt> {
    if is_header_only(h.typeflag) {
        return Ok(0);
    }
    u64::try_from(h.size).map_err(|_| {
        Halt::Fail(TarError::NegativeSize {
            offset: at,
            size: h.size,
        })
    })
}

fn to_usize(n: u64, at: u64) -> Result<usize, Halt> {
    usize::try_from(n).map_err(|_| Halt::Fail(TarError::SizeOverflow { offset: at }))
}

fn bad_sparse(offset: u64, reason: &'static str) -> Halt {
    Halt::Fail(TarError::BadSparseMap { offset, reason })
}

/// Reads one header block like Go's `readHeader` (checksum, magic, fields, format guess).
fn read_block(b: &Block, at: u64) -> Result<RawHeader, Halt> {
    use block::*;
    if !checksum_ok(b) {
        return Err(TarError::BadChecksum { offset: at }.into());
    }
    let magic = magic_of(b);
    let num = |r: std::ops::Range<usize>, name: &'static str| {
        parse_numeric(field(b, r)).ok_or(Halt::Fail(TarError::BadNumber {
            offset: at,
            field: name,
        }))
    };
    let typeflag = b.get(TYPEFLAG).copied().unwrap_or(0);
    let mut h = TarHeader {
        typeflag,
        name: parse_string(field(b, NAME)).to_vec(),
        link_name: parse_string(field(b, LINKNAME)).to_vec(),
        size: num(SIZE, "size")?,
        mode: num(MODE, "mode")?,
        uid: num(UID, "uid")?,
        gid: num(GID, "gid")?,
        mtime: TarTime::go(num(MTIME, "mtime")?, 0),
        ..TarHeader::default()
    };
    let mut format = 0;
    if magic != BlockMagic::V7 {
        h.uname = parse_string(field(b, UNAME)).to_vec();
        h.gname = parse_string(field(b, GNAME)).to_vec();
        h.dev_major = num(DEVMAJOR, "devmajor")?;
        h.dev_minor = num(DEVMINOR, "devminor")?;
        let mut prefix: &[u8] = &[];
        match magic {
            BlockMagic::Ustar => {
                format = FORMAT_USTAR | FORMAT_PAX;
                prefix = parse_string(field(b, PREFIX));
                let nul_ended = [SIZE, MODE, UID, GID, MTIME, DEVMAJOR, DEVMINOR]
                    .into_iter()
                    .all(|r| field(b, r).last() == Some(&0));
                if b.iter().any(|&c| c >= 0x80) || !nul_ended {
                    format = 0;
                }
            }
            BlockMagic::Star => {
                prefix = parse_string(field(b, STAR_PREFIX));
                h.atime = TarTime::go(num(STAR_ATIME, "atime")?, 0);
                h.ctime = TarTime::go(num(STAR_CTIME, "ctime")?, 0);
            }
            BlockMagic::Gnu | BlockMagic::V7 => {
                format = FORMAT_GNU;
                let time = |r: std::ops::Range<usize>| {
                    let f = field(b, r);
                    if f.first() == Some(&0) {
                        Ok(None)
                    } else {
                        parse_numeric(f).map(|s| TarTime::go(s, 0)).ok_or(())
                    }
                };
                match (time(GNU_ATIME), time(GNU_CTIME)) {
                    (Ok(a), Ok(c)) => {
                        h.atime = a;
                        h.ctime = c;
                    }
                    _ => {
                        // Pre-Go 1.8 writers put a USTAR prefix here; Go falls back to it.
                        let p = parse_string(field(b, PREFIX));
                        if p.iter().all(|&c| c < 0x80) {
                            prefix = p;
                        }
                        format = 0;
                    }
                }
            }
        }
        if !prefix.is_empty() {
            let mut name = prefix.to_vec();
            name.push(b'/');
            name.extend_from_slice(&h.name);
            h.name = name;
        }
    }
    Ok(RawHeader {
        header: h,
        magic,
        format,
    })
}

/// Rejects records whose `SCHILY.xattr.*` names and values exceed the limit.
fn check_xattrs(records: &[PaxRecord], limits: &TarLimits, at: u64) -> Result<(), Halt> {
    let total: u64 = records
        .iter()
        .filter_map(|r| {
            r.key
                .strip_prefix(pax::SCHILY_XATTR)
                .map(|k| k.len() + r.value.len())
        })
        .map(|n| n as u64)
        .sum();
    if total > limits.max_xattr_size {
        return Err(TarError::LimitExceeded {
            offset: at,
            limit: LimitKind::XattrSize,
            value: total,
            max: limits.max_xattr_size,
        }
        .into());
    }
    Ok(())
}

/// Applies PAX records to the header fields (Go's `mergePAX`); empty values are ignored.
fn merge_pax(h: &mut TarHeader, records: &[PaxRecord], at: u64) -> Result<(), Halt> {
    let map = pax::record_map(records);
    for (&k, v) in &map {
        let v: &[u8] = v;
        if v.is_empty() {
            continue;
        }
        let bad = || {
            Halt::Fail(TarError::BadPaxValue {
                offset: at,
                key: String::from_utf8_lossy(k).into_owned(),
            })
        };
        let time = |v: &[u8]| {
            pax::parse_time(v)
                .map(|(s, n)| TarTime::go(s, n))
                .ok_or_else(bad)
        };
        match k {
            pax::PATH => h.name = v.to_vec(),
            pax::LINKPATH => h.link_name = v.to_vec(),
            pax::UNAME => h.uname = v.to_vec(),
            pax::GNAME => h.gname = v.to_vec(),
            pax::UID => h.uid = pax::parse_go_int(v).ok_or_else(bad)?,
            pax::GID => h.gid = pax::parse_go_int(v).ok_or_else(bad)?,
            pax::SIZE => h.size = pax::parse_go_int(v).ok_or_else(bad)?,
            pax::MTIME => h.mtime = time(v)?,
            pax::ATIME => h.atime = time(v)?,
            pax::CTIME => h.ctime = time(v)?,
            _ => {}
        }
    }
    Ok(())
}

/// Reads the old GNU sparse map (type `'S'`): returns the real size, the data fragments and
/// the number of extension blocks that follow the header.
fn old_gnu_sparse(
    cur: &Cursor<'_>,
    header: &Block,
    magic: BlockMagic,
    pos: usize,
    at: u64,
    limits: &TarLimits,
) -> Result<(i64, Vec<SparseEntry>, usize), Halt> {
    if magic != BlockMagic::Gnu {
        return Err(bad_sparse(at, "type 'S' without GNU magic"));
    }
    let real_size = block::parse_numeric(field(header, block::GNU_REALSIZE))
        .ok_or_else(|| bad_sparse(at, "bad real size"))?;
    let mut data = Vec::new();
    let mut area: &[u8] = field(header, block::GNU_SPARSE);
    let mut blocks = 0usize;
    let max_blocks = limits.max_sparse_entries / 21 + 1;
    loop {
        // Each 24-byte slot holds a 12-byte offset and a 12-byte length; the byte after the
        // slots says whether an extension block follows.
        let slots = area.len() / 24;
        for i in 0..slots {
            let Some(slot) = area.get(i * 24..i * 24 + 24) else {
                break;
            };
            if slot.first() == Some(&0) {
                break;
            }
            let (o, l) = slot.split_at(12);
            let offset = block::parse_numeric(o).ok_or_else(|| bad_sparse(at, "bad offset"))?;
            let length = block::parse_numeric(l).ok_or_else(|| bad_sparse(at, "bad length"))?;
            if data.len() as u64 >= limits.max_sparse_entries {
                return Err(TarError::LimitExceeded {
                    offset: at,
                    limit: LimitKind::SparseEntries,
                    value: data.len() as u64 + 1,
                    max: limits.max_sparse_entries,
                }
                .into());
            }
            data.push(SparseEntry { offset, length });
        }
        let extended = area.get(slots * 24).copied().unwrap_or(0);
        if extended == 0 {
            return Ok((real_size, data, blocks));
        }
        if blocks as u64 >= max_blocks {
            return Err(TarError::LimitExceeded {
                offset: at,
                limit: LimitKind::SparseEntries,
                value: (blocks as u64 + 1) * 21,
                max: limits.max_sparse_entries,
            }
            .into());
        }
        area = cur.block(pos + blocks * BLOCK_SIZE)?;
        blocks += 1;
    }
}

/// Detects and reads a GNU PAX sparse map (0.0, 0.1 or 1.0); updates the name and size.
/// Returns the map and the bytes of the data section it occupied (1.0 only).
fn pax_sparse(
    cur: &Cursor<'_>,
    h: &mut TarHeader,
    pos: usize,
    phys: u64,
    at: u64,
    limits: &TarLimits,
) -> Result<Option<(SparseMap, usize)>, Halt> {
    let map = pax::record_map(&h.pax_records);
    let get = |k: &[u8]| map.get(k).map(|v| -> &[u8] { v }).unwrap_or(&[]);
    let (major, minor) = (get(pax::GNU_SPARSE_MAJOR), get(pax::GNU_SPARSE_MINOR));
    let format = match (major, minor) {
        (b"0", b"0") => SparseFormat::Pax0_0,
        (b"0", b"1") => SparseFormat::Pax0_1,
        (b"1", b"0") => SparseFormat::Pax1_0,
        _ if !major.is_empty() || !minor.is_empty() => return Ok(None),
        _ if !get(pax::GNU_SPARSE_MAP).is_empty() => {
            if h.pax_records
                .iter()
                .any(|r| r.key == pax::GNU_SPARSE_OFFSET)
            {
                SparseFormat::Pax0_0
            } else {
                SparseFormat::Pax0_1
            }
        }
        _ => return Ok(None),
    };
    let name = get(pax::GNU_SPARSE_NAME);
    if !name.is_empty() {
        h.name = name.to_vec();
    }
    let mut size = get(pax::GNU_SPARSE_SIZE);
    if size.is_empty() {
        size = get(pax::GNU_SPARSE_REALSIZE);
    }
    if !size.is_empty() {
        h.size = pax::parse_go_int(size).ok_or_else(|| bad_sparse(at, "bad real size"))?;
    }
    let check_count = |n: i64| -> Result<(), Halt> {
        if n < 0 {
            return Err(bad_sparse(at, "negative entry count"));
        }
        if n as u64 > limits.max_sparse_entries {
            return Err(TarError::LimitExceeded {
                offset: at,
                limit: LimitKind::SparseEntries,
                value: n as u64,
                max: limits.max_sparse_entries,
            }
            .into());
        }
        Ok(())
    };
    let parse_pair = |o: &[u8], l: &[u8]| -> Result<SparseEntry, Halt> {
        match (pax::parse_go_int(o), pax::parse_go_int(l)) {
            (Some(offset), Some(length)) => Ok(SparseEntry { offset, length }),
            _ => Err(bad_sparse(at, "bad map number")),
        }
    };
    if format == SparseFormat::Pax1_0 {
        // The map is newline-separated decimal numbers at the start of the data section,
        // read a block at a time until enough newlines are seen.
        let mut buf: Vec<u8> = Vec::new();
        let mut newlines = 0u64;
        let mut wanted: Option<u64> = None;
        let mut blocks = 0usize;
        let max_bytes = limits.max_pax_size;
        loop {
            let need = wanted.map_or(1, |n| n + 1);
            if newlines >= need {
                break;
            }
            let next_end = (blocks as u64 + 1) * BLOCK_SIZE as u64;
            if next_end > phys {
                return Err(bad_sparse(at, "sparse map runs past the data"));
            }
            if next_end > max_bytes {
                return Err(TarError::LimitExceeded {
                    offset: at,
                    limit: LimitKind::PaxSize,
                    value: next_end,
                    max: max_bytes,
                }
                .into());
            }
            let blk = cur.block(pos + blocks * BLOCK_SIZE)?;
            blocks += 1;
            buf.extend_from_slice(blk);
            newlines += blk.iter().filter(|&&c| c == b'\n').count() as u64;
            if wanted.is_none() && newlines >= 1 {
                let first = buf.split(|&c| c == b'\n').next().unwrap_or(&[]);
                let n = pax::parse_go_int(first).ok_or_else(|| bad_sparse(at, "bad count"))?;
                check_count(n)?;
                wanted = Some((n as u64).saturating_mul(2));
            }
        }
        let mut tokens = buf.split(|&c| c == b'\n').skip(1);
        let n = wanted.unwrap_or(0) / 2;
        let mut data = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let o = tokens.next().unwrap_or(&[]);
            let l = tokens.next().unwrap_or(&[]);
            data.push(parse_pair(o, l)?);
        }
        return Ok(Some((SparseMap { format, data }, blocks * BLOCK_SIZE)));
    }
    let n = pax::parse_go_int(get(pax::GNU_SPARSE_NUMBLOCKS))
        .ok_or_else(|| bad_sparse(at, "bad GNU.sparse.numblocks"))?;
    check_count(n)?;
    let raw = get(pax::GNU_SPARSE_MAP);
    let parts: Vec<&[u8]> = if raw.is_empty() {
        Vec::new()
    } else {
        raw.split(|&c| c == b',').collect()
    };
    if parts.len() as u64 != (n as u64) * 2 {
        return Err(bad_sparse(
            at,
            "GNU.sparse.map does not match GNU.sparse.numblocks",
        ));
    }
    let data = parts
        .chunks_exact(2)
        .map(|pair| match pair {
            [o, l] => parse_pair(o, l),
            _ => Err(bad_sparse(at, "odd map")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((SparseMap { format, data }, 0)))
}

/// Go's `validateSparseEntries` (non-negative, in order, non-overlapping, within `size`),
/// plus [`TarLimits::max_sparse_size`].
fn validate_sparse(
    data: &[SparseEntry],
    size: i64,
    at: u64,
    limits: &TarLimits,
) -> Result<(), Halt> {
    if size < 0 {
        return Err(bad_sparse(at, "negative real size"));
    }
    if size as u64 > limits.max_sparse_size {
        return Err(Halt::Fail(TarError::LimitExceeded {
            offset: at,
            limit: LimitKind::SparseSize,
            value: size as u64,
            max: limits.max_sparse_size,
        }));
    }
    let mut prev_end = 0i64;
    for e in data {
        if e.offset < 0 || e.length < 0 {
            return Err(bad_sparse(at, "negative fragment"));
        }
        let end = e
            .offset
            .checked_add(e.length)
            .ok_or_else(|| bad_sparse(at, "fragment overflows"))?;
        if end > size {
            return Err(bad_sparse(at, "fragment beyond the real size"));
        }
        if prev_end > e.offset {
            return Err(bad_sparse(at, "fragments overlap or are out of order"));
        }
        prev_end = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tar::{encode_header, padding};

    fn limits() -> TarLimits {
        TarLimits::default()
    }

    fn archive(headers: &[(TarHeader, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (h, data) in headers {
            encode_header(h, &mut out).unwrap();
            out.extend_from_slice(data);
            out.resize(out.len() + padding(data.len() as u64) as usize, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    fn reg(name: &str, size: i64) -> TarHeader {
        let mut h = TarHeader::new(b'0', name);
        h.size = size;
        h.mode = 0o644;
        h
    }

    #[test]
    fn simple_archive_offsets() {
        let a = archive(&[(reg("a", 3), b"abc"), (TarHeader::new(b'5', "d/"), b"")]);
        let e = parse_archive(&a, &limits()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].header_offset, 0);
        assert_eq!(e[0].payload_offset, 512);
        assert_eq!(e[0].payload_len, 3);
        assert_eq!(e[0].padding, 509);
        assert_eq!(e[1].header_offset, 1024);
        assert_eq!(e[1].header.format, TarFormat::Ustar);
        assert_eq!(e[1].magic, BlockMagic::Ustar);
    }

    #[test]
    fn incremental_feeding_matches_whole() {
        let long = "x/".repeat(100) + "file";
        let mut h = reg(&long, 700);
        h.pax_records.push(PaxRecord {
            key: b"SCHILY.xattr.user.a".to_vec(),
            value: b"\0\xff".to_vec(),
        });
        let a = archive(&[(h, &[7u8; 700]), (reg("b", 0), b"")]);
        let whole = parse_archive(&a, &limits()).unwrap();
        let mut p = TarParser::new(limits());
        let mut got = Vec::new();
        let mut have = 0usize;
        loop {
            let start = p.offset() as usize;
            match p
                .parse(&a[start..start + have.min(a.len() - start)], false)
                .unwrap()
            {
                TarEvent::NeedData { needed } => {
                    assert!(needed > have);
                    have = needed;
                }
                TarEvent::Entry { entry, .. } => {
                    got.push(*entry);
                    have = 0;
                }
                TarEvent::End { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, whole);
        assert_eq!(whole[0].extension_offset, Some(0));
        assert_eq!(whole[0].header.name, long.as_bytes());
        assert_eq!(
            whole[0].header.xattrs(),
            vec![(&b"user.a"[..], &b"\0\xff"[..])]
        );
    }

    #[test]
    fn pax_size_does_not_apply_to_following_extension_header() {
        // x(size=0) then L then file: the PAX size must not shrink the L payload.
        let mut out = Vec::new();
        let mut recs = Vec::new();
        pax::format_record(b"size", b"0", &mut recs);
        raw_file(&mut out, b"x", &recs, b'x');
        raw_file(&mut out, b"././@LongLink", b"long-name\0", b'L');
        // The main header says 2 bytes, the PAX record says 0: no payload follows.
        let mut main = Vec::new();
        encode_header(&reg("short", 2), &mut main).unwrap();
        out.extend_from_slice(&main);
        out.resize(out.len() + 1024, 0);
        let e = parse_archive(&out, &limits()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].header.name, b"long-name");
        assert_eq!(e[0].header.size, 0);
        assert_eq!(e[0].payload_len, 0);
        assert_eq!(e[0].header.format, TarFormat::Unknown);
    }

    fn raw_file(out: &mut Vec<u8>, name: &[u8], data: &[u8], flag: u8) {
        raw_header(out, name, data.len() as i64, flag);
        out.extend_from_slice(data);
        out.resize(out.len() + padding(data.len() as u64) as usize, 0);
    }

    /// A header block whose size field says `size`, with no data after it.
    fn raw_header(out: &mut Vec<u8>, name: &[u8], size: i64, flag: u8) {
        let mut b = [0u8; 512];
        b[..name.len()].copy_from_slice(name);
        block::format_octal(&mut b[100..108], 0);
        block::format_octal(&mut b[108..116], 0);
        block::format_octal(&mut b[116..124], 0);
        block::format_octal(&mut b[124..136], size);
        block::format_octal(&mut b[136..148], 0);
        b[156] = flag;
        block::set_format_and_checksum(&mut b, flag == b'L' || flag == b'K');
        out.extend_from_slice(&b);
    }

    /// Go ignores a GNU long name that is all NUL: the entry keeps its header's name.
    #[test]
    fn an_all_nul_gnu_long_name_is_ignored() {
        let mut out = Vec::new();
        raw_file(&mut out, b"././@LongLink", &[0u8; 40], b'L');
        raw_file(&mut out, b"own-name", b"abc", b'0');
        out.resize(out.len() + 1024, 0);
        let e = parse_archive(&out, &limits()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].header.name, b"own-name");
        assert_eq!(e[0].extension_offset, Some(0));
        assert_eq!(e[0].payload_len, 3);
    }

    /// Go reads the USTAR prefix whenever the magic is `ustar\0`, whatever the version field
    /// says (fuzz/regressions/tar_header/crash-058c691c…: version `0\0`).
    #[test]
    fn a_ustar_magic_with_any_version_uses_the_prefix() {
        let mut out = Vec::new();
        raw_header(&mut out, b"file", 0, b'0');
        let block: &mut Block = (&mut out[..512]).try_into().unwrap();
        block[345..351].copy_from_slice(b"prefix");
        block[263..265].copy_from_slice(b"0\0");
        let (sum, _) = block::checksums(block);
        block::format_octal(&mut block[148..155], sum);
        out.resize(out.len() + 1024, 0);
        let e = parse_archive(&out, &limits()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].header.name, b"prefix/file");
    }

    /// Go's old-style NUL typeflag: a directory when the (final) name ends in `/`, a
    /// regular file otherwise; a directory reads no data whatever its size field says.
    #[test]
    fn a_nul_typeflag_with_a_trailing_slash_is_a_directory() {
        let mut out = Vec::new();
        raw_header(&mut out, b"old-dir/", 5, 0);
        raw_file(&mut out, b"old-file", b"abc", 0);
        raw_file(&mut out, b"././@LongLink", b"long-dir/\0", b'L');
        raw_header(&mut out, b"short", 0, 0);
        out.resize(out.len() + 1024, 0);
        let e = parse_archive(&out, &limits()).unwrap();
        let kinds: Vec<(&[u8], u8)> = e
            .iter()
            .map(|e| (e.header.name.as_slice(), e.header.typeflag))
            .collect();
        assert_eq!(
            kinds,
            [
                (&b"old-dir/"[..], b'5'),
                (&b"old-file"[..], b'0'),
                (&b"long-dir/"[..], b'5'),
            ]
        );
        assert_eq!(e[0].payload_len, 0);
        assert_eq!(e[1].header_offset, 512);
        assert_eq!(e[1].payload_len, 3);
    }

    /// Go reads no data for header-only types, whatever their size field says: the next
    /// header follows immediately.
    #[test]
    fn header_only_types_read_no_data_despite_a_size() {
        for flag in [b'1', b'2', b'3', b'4', b'5', b'6'] {
            let mut out = Vec::new();
            raw_header(&mut out, b"special", 1000, flag);
            raw_file(&mut out, b"next", b"xy", b'0');
            out.resize(out.len() + 1024, 0);
            let e = parse_archive(&out, &limits()).unwrap();
            assert_eq!(e.len(), 2, "typeflag {}", flag as char);
            assert_eq!(e[0].header.typeflag, flag);
            assert_eq!((e[0].payload_len, e[0].padding), (0, 0));
            assert_eq!(e[1].header_offset, 512, "typeflag {}", flag as char);
            assert_eq!(e[1].header.name, b"next");
            assert_eq!(e[1].payload_len, 2);
        }
    }

    #[test]
    fn end_of_archive_variants() {
        let one = archive(&[(reg("a", 0), b"")]);
        let e = |data: &[u8]| {
            let mut p = TarParser::new(limits());
            let first = p.parse(data, true).unwrap();
            assert!(matches!(first, TarEvent::Entry { .. }));
            p.parse(&data[512..], true)
        };
        assert!(matches!(
            e(&one).unwrap(),
            TarEvent::End {
                consumed: 1024,
                trailer: Trailer::TwoZeroBlocks
            }
        ));
        assert!(matches!(
            e(&one[..1024]).unwrap(),
            TarEvent::End {
                consumed: 512,
                trailer: Trailer::OneZeroBlock
            }
        ));
        assert!(matches!(
            e(&one[..512]).unwrap(),
            TarEvent::End {
                consumed: 0,
                trailer: Trailer::Missing
            }
        ));
        assert!(matches!(e(&one[..1000]), Err(TarError::Truncated { .. })));
        let mut bad = one.clone();
        bad[1024 + 3] = 1;
        assert!(matches!(
            e(&bad),
            Err(TarError::BadEndOfArchive { offset: 1024 })
        ));
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let mut a = archive(&[(reg("a", 1), b"z")]);
        a[0] ^= 1;
        assert!(matches!(
            parse_archive(&a, &limits()),
            Err(TarError::BadChecksum { offset: 0 })
        ));
        let mut a = archive(&[(reg("a", 1), b"z")]);
        a[130] = b'9';
        block::set_format_and_checksum((&mut a[..512]).try_into().unwrap(), false);
        assert!(matches!(
            parse_archive(&a, &limits()),
            Err(TarError::BadNumber { field: "size", .. })
        ));
        let a = archive(&[(reg("a", 1000), &[0u8; 1000])]);
        assert!(matches!(
            parse_archive(&a[..700], &limits()),
            Err(TarError::Truncated { .. })
        ));
        let mut h = reg("a", 0);
        h.pax_records.push(PaxRecord {
            key: b"SCHILY.xattr.big".to_vec(),
            value: vec![1; 100],
        });
        let a = archive(&[(h, b"")]);
        let mut l = limits();
        l.max_xattr_size = 50;
        assert!(matches!(
            parse_archive(&a, &l),
            Err(TarError::LimitExceeded {
                limit: LimitKind::XattrSize,
                ..
            })
        ));
        l = limits();
        l.max_pax_size = 10;
        assert!(matches!(
            parse_archive(&a, &l),
            Err(TarError::LimitExceeded {
                limit: LimitKind::PaxSize,
                ..
            })
        ));
    }

    #[test]
    fn negative_size_is_rejected() {
        let mut b = [0u8; 512];
        b[..1].copy_from_slice(b"a");
        block::format_numeric(&mut b[124..136], -5);
        b[156] = b'0';
        block::set_format_and_checksum(&mut b, true);
        let mut a = b.to_vec();
        a.resize(2048, 0);
        assert!(matches!(
            parse_archive(&a, &limits()),
            Err(TarError::NegativeSize { size: -5, .. })
        ));
    }

    /// A PAX `x` header with `records`, then `main` (encoded without records), then `data`.
    fn with_pax(records: &[(&str, &str)], main: &TarHeader, data: &[u8]) -> Vec<u8> {
        let mut recs = Vec::new();
        for (k, v) in records {
            pax::format_record(k.as_bytes(), v.as_bytes(), &mut recs);
        }
        let mut out = Vec::new();
        raw_file(&mut out, b"PaxHeaders.0/x", &recs, b'x');
        encode_header(main, &mut out).unwrap();
        out.extend_from_slice(data);
        out.resize(out.len() + padding(data.len() as u64) as usize + 1024, 0);
        out
    }

    /// Where Go's reader (checked with a Go program on the same streams) accepts a stream
    /// that stops early: inside the padding after the last entry or extension header, and
    /// after extension headers that no entry follows (dropped). A cut in a header, in
    /// extension data or in a payload stays an error.
    #[test]
    fn a_stream_may_end_in_padding_or_after_extension_headers() {
        let mut pax_path = Vec::new();
        pax::format_record(b"path", b"x", &mut pax_path);
        let mut ext = Vec::new();
        raw_file(&mut ext, b"PaxHeaders.0/x", &pax_path, b'x');
        let mut long = Vec::new();
        raw_file(&mut long, b"././@LongLink", b"long\0", b'L');
        let mut file = Vec::new();
        raw_header(&mut file, b"f", 3, b'0');
        file.extend_from_slice(b"abc");
        let cat = |parts: &[&[u8]]| parts.concat();
        for (what, stream) in [
            ("x then the end", ext.clone()),
            ("x then two zero blocks", cat(&[&ext, &[0; 1024]])),
            ("x then one zero block", cat(&[&ext, &[0; 512]])),
            ("L then the end", long.clone()),
            (
                "x with its padding cut",
                ext[..512 + pax_path.len() + 3].to_vec(),
            ),
        ] {
            assert_eq!(parse_archive(&stream, &limits()), Ok(vec![]), "{what}");
        }
        for cut in [0, 10] {
            let stream = cat(&[&file, &vec![0; cut]]);
            let e = parse_archive(&stream, &limits()).unwrap();
            assert_eq!(e.len(), 1);
            assert_eq!((e[0].payload_len, e[0].padding), (3, cut as u64));
            assert_eq!(e[0].end_offset(), stream.len() as u64);
        }
        // Without `eof` the padding is not cut: more input may come.
        let mut p = TarParser::new(limits());
        match p.parse(&file, false).unwrap() {
            TarEvent::Entry { entry, .. } => assert_eq!(entry.padding, 509),
            other => panic!("{other:?}"),
        }
        for (what, stream) in [
            ("x data cut", ext[..512 + 5].to_vec()),
            ("payload cut", file[..514].to_vec()),
            ("header cut", cat(&[&file, &[0; 509], &[0; 100]])),
        ] {
            assert!(
                matches!(
                    parse_archive(&stream, &limits()),
                    Err(TarError::Truncated { .. })
                ),
                "{what}"
            );
        }
    }

    /// PAX string values as Go 1.19's `archive/tar` reads them (checked with a Go program
    /// on the same archives): a newline is part of the value (the record length delimits
    /// it; fuzz/regressions/tar_header/crash-6d99ca6c…, where the `tar` crate falls back to
    /// the header's name), an empty value keeps the header's field, the last record of a
    /// key wins, and a NUL in `path`, `linkpath`, `uname`, `gname` or in any key is an error
    /// while other values may hold one.
    #[test]
    fn pax_string_values_read_as_go_reads_them() {
        let link = |l: &str| {
            let mut h = TarHeader::new(b'2', "sl");
            h.link_name = l.as_bytes().to_vec();
            h
        };
        let read = |records: &[(&str, &str)], main: &TarHeader| {
            let e = parse_archive(&with_pax(records, main, b""), &limits()).unwrap();
            assert_eq!(e.len(), 1);
            let h = &e[0].header;
            (h.name.clone(), h.link_name.clone(), h.size)
        };
        let own = reg("own", 0);
        assert_eq!(read(&[("path", "a\nb")], &own).0, b"a\nb");
        assert_eq!(read(&[("linkpath", "x\ny")], &link("own-link")).1, b"x\ny");
        assert_eq!(read(&[("path", "")], &own).0, b"own");
        assert_eq!(read(&[("linkpath", "")], &link("own-link")).1, b"own-link");
        assert_eq!(read(&[("path", "first"), ("path", "")], &own).0, b"own");
        assert_eq!(read(&[("path", "first"), ("path", "2nd")], &own).0, b"2nd");
        assert_eq!(read(&[("comment", "a\0b")], &own).0, b"own");
        assert_eq!(read(&[("uname", "a\nb")], &own).0, b"own");
        // An empty `size` keeps the header's size.
        let a = with_pax(&[("size", "")], &reg("own", 3), b"abc");
        assert_eq!(parse_archive(&a, &limits()).unwrap()[0].payload_len, 3);
        // A trailing slash from `path` makes an old NUL typeflag a directory.
        let mut recs = Vec::new();
        pax::format_record(b"path", b"dir/", &mut recs);
        let mut a = Vec::new();
        raw_file(&mut a, b"PaxHeaders.0/x", &recs, b'x');
        raw_header(&mut a, b"own", 0, 0);
        a.resize(a.len() + 1024, 0);
        assert_eq!(
            parse_archive(&a, &limits()).unwrap()[0].header.typeflag,
            b'5'
        );
        for (k, v) in [
            ("path", "a\0b"),
            ("linkpath", "a\0b"),
            ("uname", "a\0b"),
            ("gname", "a\0b"),
            ("co\0mment", "ab"),
        ] {
            assert!(
                matches!(
                    parse_archive(&with_pax(&[(k, v)], &own, b""), &limits()),
                    Err(TarError::BadPaxRecord { offset: 0, .. })
                ),
                "{k:?}={v:?}"
            );
        }
    }

    /// Go ignores a bad value in a PAX global header (its `mergePAX` error is dropped) and
    /// names the header after its `path` record; the entry after it reads normally.
    #[test]
    fn a_bad_value_in_a_global_header_is_ignored() {
        let mut recs = Vec::new();
        pax::format_record(b"mtime", b"x1", &mut recs);
        pax::format_record(b"uid", b"zz", &mut recs);
        pax::format_record(b"path", b"global-name", &mut recs);
        let mut out = Vec::new();
        raw_file(&mut out, b"pax_global_header", &recs, b'g');
        raw_file(&mut out, b"own", b"", b'0');
        out.resize(out.len() + 1024, 0);
        let e = parse_archive(&out, &limits()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].header.typeflag, b'g');
        assert_eq!(e[0].header.name, b"global-name");
        assert_eq!(e[0].header.pax_records.len(), 3);
        assert_eq!(e[1].header.name, b"own");
    }

    #[test]
    fn pax_sparse_1_0() {
        let records = [
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", "f"),
            ("GNU.sparse.realsize", "10000"),
        ];
        let mut data = b"1\n4096\n512\n".to_vec();
        data.resize(1024, 0);
        data[512..].fill(9);
        let a = with_pax(&records, &reg("./GNUSparseFile.1/f", 1024), &data);
        let e = parse_archive(&a, &limits()).unwrap();
        let s = e[0].sparse.as_ref().unwrap();
        assert_eq!(s.format, SparseFormat::Pax1_0);
        assert_eq!(
            s.data,
            vec![SparseEntry {
                offset: 4096,
                length: 512
            }]
        );
        assert_eq!(e[0].header.name, b"f");
        assert_eq!(e[0].header.size, 10000);
        assert_eq!(e[0].payload_len, 512);
        assert_eq!(e[0].payload_offset, e[0].header_offset + 1024);
        assert_eq!(e[0].extension_offset, Some(0));
        // A map that runs past the data section is an error.
        let a = with_pax(&records, &reg("f", 5), b"1\n40");
        assert!(matches!(
            parse_archive(&a, &limits()),
            Err(TarError::BadSparseMap { .. })
        ));
    }

    #[test]
    fn pax_sparse_0_0_and_0_1() {
        let records = [
            ("GNU.sparse.numblocks", "1"),
            ("GNU.sparse.offset", "5"),
            ("GNU.sparse.numbytes", "3"),
            ("GNU.sparse.realsize", "8"),
        ];
        let a = with_pax(&records, &reg("g", 3), b"abc");
        let e = parse_archive(&a, &limits()).unwrap();
        let s = e[0].sparse.as_ref().unwrap();
        assert_eq!(s.format, SparseFormat::Pax0_0);
        assert_eq!(
            s.data,
            vec![SparseEntry {
                offset: 5,
                length: 3
            }]
        );
        assert_eq!(e[0].header.size, 8);
        let map = pax::record_map(&e[0].header.pax_records);
        assert_eq!(map[&b"GNU.sparse.map"[..]], &b"5,3"[..]);

        let records = [
            ("GNU.sparse.major", "0"),
            ("GNU.sparse.minor", "1"),
            ("GNU.sparse.numblocks", "2"),
            ("GNU.sparse.map", "0,1,6,2"),
            ("GNU.sparse.size", "8"),
        ];
        let a = with_pax(&records, &reg("g", 3), b"abc");
        let e = parse_archive(&a, &limits()).unwrap();
        let s = e[0].sparse.as_ref().unwrap();
        assert_eq!(s.format, SparseFormat::Pax0_1);
        assert_eq!(s.data.len(), 2);
        // Overlapping fragments are rejected.
        let records = [("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "0,4,2,2")];
        let a = with_pax(&records, &reg("g", 6), b"abcdef");
        assert!(matches!(
            parse_archive(&a, &limits()),
            Err(TarError::BadSparseMap { .. })
        ));
        // Too many entries.
        let mut l = limits();
        l.max_sparse_entries = 1;
        let a = with_pax(
            &[("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "0,1,6,2")],
            &reg("g", 3),
            b"abc",
        );
        assert!(matches!(
            parse_archive(&a, &l),
            Err(TarError::LimitExceeded { .. })
        ));
    }
}
