//! The second pass: the uncompressed stream, member boundaries and the TOC, decided
//! sequentially from the input and the options alone.

use std::collections::HashMap;

use estargz_chunker::{
    ChunkPlan, EntryKind as OrderKind, Item, Landmark, OrderEntry, OrderOptions,
};
use estargz_toc::model::{LANDMARK_CONTENTS, TOC_TAR_NAME};
use estargz_toc::{EntryType, GoString, TocEntry};
use estargz_verifier::{DiffIdAccumulator, Digest, Hasher};

use super::EncoderOptions;
use crate::error::{Error, Result};
use crate::source::ReadAt;
use crate::tar::{SparseEntry, TarEntry, TarFormat, TarHeader, encode_header, padding};

/// The least a run of headers without data between them may hold before its member is
/// closed (see [`MemberSink::end_member`]); the chunk size when that is larger. Tiny chunk
/// sizes (tests use 3 bytes) must not cut members the reference would not cut.
const MIN_HEADER_RUN: u64 = 1 << 20;

/// Where the planner sends the uncompressed stream.
pub(crate) trait MemberSink {
    /// Appends uncompressed bytes to the open member, opening one if none is open.
    fn append(&mut self, data: &[u8]) -> Result<()>;

    /// Appends `len` bytes that `fill` writes in place (chunk data is read straight into
    /// the member, not copied there), and returns them.
    fn append_filled(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<()>,
    ) -> Result<&[u8]>;

    /// Called before each chunk of file data; returns the id of the member the chunk starts
    /// in and its `innerOffset` there.
    fn before_chunk(&mut self, landmark: bool) -> Result<(usize, u64)>;

    /// Closes the open member (if any); the next append starts a new one. Used to bound a
    /// member's size in a long run of entries without data, which the reference would put
    /// in one member (no TOC entry points into such a member, so readers see no difference).
    fn end_member(&mut self) -> Result<()>;

    /// Closes the open member at the end of the payload.
    fn end_payload(&mut self) -> Result<()>;
}

/// What the planner produced besides the stream.
#[derive(Debug)]
pub(crate) struct Planned {
    /// The TOC entries; `offset` of data entries still holds a member id, see `data_refs`.
    pub(crate) entries: Vec<TocEntry>,
    /// Positions in `entries` whose `offset` is a member id to resolve.
    pub(crate) data_refs: Vec<usize>,
    /// The DiffID accumulated over the payload so far.
    pub(crate) diff_id: DiffIdAccumulator,
    /// Prioritized names that were not found (with `allow_prioritized_not_found`).
    pub(crate) not_found: Vec<Vec<u8>>,
}

/// Orders `entries` as the reference's `Build` does.
pub(crate) fn order(
    entries: &[TarEntry],
    options: &EncoderOptions,
) -> Result<estargz_chunker::Order> {
    let order_entries: Vec<OrderEntry<'_>> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let kind = match e.header.typeflag {
                b'5' => OrderKind::Directory,
                b'1' => OrderKind::Hardlink {
                    target: &e.header.link_name,
                },
                b'0' | b'7' | b'S' => OrderKind::Regular,
                _ => OrderKind::Other,
            };
            OrderEntry::new(&e.header.name, kind, i)
        })
        .collect();
    let opts = OrderOptions::default().with_allow_not_found(options.allow_prioritized_not_found);
    Ok(estargz_chunker::order_entries(
        &order_entries,
        &options.prioritized,
        &opts,
    )?)
}

/// Writes every entry in `order` into `sink`, building the TOC.
pub(crate) fn run<S: ReadAt + ?Sized, K: MemberSink + ?Sized>(
    src: &S,
    entries: &[TarEntry],
    order: &estargz_chunker::Order,
    options: &EncoderOptions,
    sink: &mut K,
) -> Result<Planned> {
    let mut p = Planner {
        src,
        options,
        sink,
        diff_id: DiffIdAccumulator::new(),
        toc: Vec::new(),
        data_refs: Vec::new(),
        user_names: HashMap::new(),
        group_names: HashMap::new(),
        header_buf: Vec::new(),
        headers_since_data: 0,
    };
    for item in order.items() {
        match item {
            Item::Landmark(landmark) => p.landmark(landmark)?,
            Item::Entry(i) => {
                let entry = entries.get(i).ok_or_else(|| {
                    Error::InvalidArgument(format!("ordering returned unknown entry {i}"))
                })?;
                p.entry(entry)?;
            }
        }
    }
    p.sink.end_payload()?;
    Ok(Planned {
        entries: p.toc,
        data_refs: p.data_refs,
        diff_id: p.diff_id,
        not_found: order.not_found.clone(),
    })
}

/// Where a regular file's content comes from.
enum Content<'a> {
    /// The landmark's one byte.
    Landmark,
    /// `len` contiguous bytes of the input at `offset`.
    Contiguous { offset: u64 },
    /// A sparse file: fragments stored one after another from `offset`.
    Sparse(SparseCursor<'a>),
}

/// Walks a sparse file's fragments as its chunks are read in file order, so that expanding
/// the file takes time linear in its fragments and size (not chunks × fragments).
struct SparseCursor<'a> {
    /// The fragments not yet wholly read.
    fragments: &'a [SparseEntry],
    /// Input offset of the first byte of `fragments[0]`.
    physical: u64,
}

struct Planner<'a, S: ?Sized, K: ?Sized> {
    src: &'a S,
    options: &'a EncoderOptions,
    sink: &'a mut K,
    diff_id: DiffIdAccumulator,
    toc: Vec<TocEntry>,
    data_refs: Vec<usize>,
    user_names: HashMap<i64, Vec<u8>>,
    group_names: HashMap<i64, Vec<u8>>,
    header_buf: Vec<u8>,
    /// Bytes of headers appended since the last chunk of file data: when a run of entries
    /// without data reaches a chunk size (at least [`MIN_HEADER_RUN`]), the member is
    /// closed before the next header.
    headers_since_data: u64,
}

impl<S: ReadAt + ?Sized, K: MemberSink + ?Sized> Planner<'_, S, K> {
    fn emit(&mut self, data: &[u8]) -> Result<()> {
        self.diff_id.update(data);
        self.sink.append(data)
    }

    fn landmark(&mut self, landmark: Landmark) -> Result<()> {
        let mut header = TarHeader::new(b'0', landmark.name());
        header.size = 1;
        self.write(header, Content::Landmark, true, 0)
    }

    fn entry(&mut self, entry: &TarEntry) -> Result<()> {
        let name = estargz_toc::path::clean(&entry.header.name);
        if name.as_ref() == TOC_TAR_NAME.as_bytes() {
            // The reference drops an existing TOC so that re-converting works.
            return Ok(());
        }
        let mut header = entry.header.clone();
        let content = match &entry.sparse {
            Some(map) => {
                // Expanded into a plain regular file (the reference rejects sparse files).
                header.typeflag = b'0';
                header
                    .pax_records
                    .retain(|r| !r.key.starts_with(b"GNU.sparse."));
                Content::Sparse(SparseCursor {
                    fragments: &map.data,
                    physical: entry.payload_offset,
                })
            }
            None => Content::Contiguous {
                offset: entry.payload_offset,
            },
        };
        if header.typeflag == b'7' {
            // Contiguous files are regular files (the reference rejects them).
            header.typeflag = b'0';
        }
        self.write(header, content, false, entry.header_offset)
    }

    fn write(
        &mut self,
        header: TarHeader,
        mut content: Content<'_>,
        landmark: bool,
        at: u64,
    ) -> Result<()> {
        let Some(kind) = header.toc_type() else {
            return Err(Error::UnsupportedInput {
                reason: format!(
                    "tar entry {:?} at offset {at} has type {:?}, which eStargz cannot hold",
                    String::from_utf8_lossy(&header.name),
                    char::from(header.typeflag)
                ),
            });
        };
        let mut ent = TocEntry {
            name: GoString::from(header.name.clone()),
            mode: header.mode,
            uid: header.uid,
            gid: header.gid,
            user_name: name_if_changed(&mut self.user_names, header.uid, &header.uname).into(),
            group_name: name_if_changed(&mut self.group_names, header.gid, &header.gname).into(),
            modtime: header
                .mtime
                .map(|t| estargz_toc::time::format_modtime(t.secs(), t.nanos()))
                .unwrap_or_default(),
            xattrs: toc_xattrs(&header),
            ..TocEntry::default()
        };
        match kind {
            EntryType::Hardlink | EntryType::Symlink => {
                ent.link_name = GoString::from(header.link_name.clone());
            }
            EntryType::Char | EntryType::Block => {
                ent.dev_major = header.dev_major;
                ent.dev_minor = header.dev_minor;
            }
            EntryType::Reg => ent.size = header.size,
            _ => {}
        }
        ent.kind = kind.clone();

        self.header_buf.clear();
        let mut header_buf = std::mem::take(&mut self.header_buf);
        encode_header(&header, &mut header_buf)?;
        if self.headers_since_data >= self.options.chunk_size.max(MIN_HEADER_RUN) {
            self.sink.end_member()?;
            self.headers_since_data = 0;
        }
        self.headers_since_data = self
            .headers_since_data
            .saturating_add(header_buf.len() as u64);
        self.emit(&header_buf)?;
        self.header_buf = header_buf;

        if kind != EntryType::Reg {
            self.toc.push(ent);
            return Ok(());
        }
        let size = u64::try_from(header.size).map_err(|_| Error::UnsupportedInput {
            reason: format!("tar entry at offset {at} has a negative size"),
        })?;
        let plan = ChunkPlan::new(size, self.options.chunk_size)?;
        // A file of one chunk has the chunk's digest: hash it once.
        let mut file_hasher = plan.is_multi_chunk().then(Hasher::new);
        let mut single_digest = None;
        let mut first = Some(ent);
        let first_index = self.toc.len();
        for chunk in plan.iter() {
            let (member, inner_offset) = self.sink.before_chunk(landmark)?;
            self.headers_since_data = 0;
            let len = usize::try_from(chunk.size).map_err(|_| Error::LimitExceeded {
                limit: crate::LimitKind::AddressSpace,
                actual: chunk.size,
                max: usize::MAX as u64,
            })?;
            let src = self.src;
            let bytes = self.sink.append_filled(len, &mut |dst| {
                read_chunk(src, &mut content, chunk.offset, dst, &header.name, at)
            })?;
            self.diff_id.update(bytes);
            let chunk_digest = Digest::of(bytes);
            match &mut file_hasher {
                Some(hasher) => hasher.update(bytes),
                None => single_digest = Some(chunk_digest),
            }
            let chunk_digest = chunk_digest.to_string();

            let mut e = first.take().unwrap_or_else(|| TocEntry {
                name: GoString::from(header.name.clone()),
                kind: EntryType::Chunk,
                chunk_offset: i64::try_from(chunk.offset).unwrap_or(i64::MAX),
                ..TocEntry::default()
            });
            e.offset = i64::try_from(member).unwrap_or(i64::MAX);
            e.inner_offset = i64::try_from(inner_offset).unwrap_or(i64::MAX);
            e.chunk_size = i64::try_from(chunk.toc_chunk_size).unwrap_or(i64::MAX);
            e.chunk_digest = chunk_digest;
            self.data_refs.push(self.toc.len());
            self.toc.push(e);
        }
        let digest = match (file_hasher, single_digest) {
            (Some(hasher), _) => hasher.finalize(),
            (None, Some(digest)) => digest,
            (None, None) => Digest::EMPTY,
        }
        .to_string();
        match first {
            // An empty file: no chunk entry was written.
            Some(mut ent) => {
                ent.digest = digest;
                self.toc.push(ent);
            }
            None => {
                if let Some(ent) = self.toc.get_mut(first_index) {
                    ent.digest = digest;
                }
            }
        }
        let pad = padding(size);
        self.emit(&[0u8; 512][..usize::try_from(pad).unwrap_or(0).min(512)])?;
        Ok(())
    }
}

/// Reads the chunk of a file's content that starts at `file_offset` into `buf` (the
/// landmark's contents, a contiguous read, or a sparse file's fragments and holes).
fn read_chunk<S: ReadAt + ?Sized>(
    src: &S,
    content: &mut Content<'_>,
    file_offset: u64,
    buf: &mut [u8],
    name: &[u8],
    at: u64,
) -> Result<()> {
    let read_err = |e| {
        Error::io(
            format!(
                "reading the data of tar entry {:?} (header at offset {at})",
                String::from_utf8_lossy(name)
            ),
            e,
        )
    };
    match content {
        Content::Landmark => {
            buf.fill(LANDMARK_CONTENTS);
            Ok(())
        }
        Content::Contiguous { offset } => src
            .read_exact_at(offset.saturating_add(file_offset), buf)
            .map_err(read_err),
        Content::Sparse(cursor) => {
            buf.fill(0);
            let chunk_end = file_offset.saturating_add(buf.len() as u64);
            let mut physical = cursor.physical;
            let fragments = cursor.fragments;
            for (k, frag) in fragments.iter().enumerate() {
                let start = u64::try_from(frag.offset).unwrap_or(0);
                if start >= chunk_end {
                    break;
                }
                let len = u64::try_from(frag.length).unwrap_or(0);
                let end = start.saturating_add(len);
                let (lo, hi) = (start.max(file_offset), end.min(chunk_end));
                if lo < hi {
                    let dst_from = usize::try_from(lo - file_offset).unwrap_or(usize::MAX);
                    let dst_to = usize::try_from(hi - file_offset).unwrap_or(usize::MAX);
                    let dst =
                        buf.get_mut(dst_from..dst_to)
                            .ok_or_else(|| Error::UnsupportedInput {
                                reason: format!("bad sparse map at offset {at}"),
                            })?;
                    src.read_exact_at(physical.saturating_add(lo - start), dst)
                        .map_err(read_err)?;
                }
                if end > chunk_end {
                    // Continues into the next chunk: resume at this fragment.
                    break;
                }
                // Wholly read: later chunks start after it.
                physical = physical.saturating_add(len);
                cursor.physical = physical;
                cursor.fragments = fragments.get(k + 1..).unwrap_or_default();
            }
            Ok(())
        }
    }
}

/// The reference's `nameIfChanged`: the name, unless it is empty or already the last name
/// written for this id.
fn name_if_changed(names: &mut HashMap<i64, Vec<u8>>, id: i64, name: &[u8]) -> Vec<u8> {
    if name.is_empty() || names.get(&id).is_some_and(|last| last == name) {
        return Vec::new();
    }
    names.insert(id, name.to_vec());
    name.to_vec()
}

/// The TOC xattrs: every `SCHILY.xattr.*` PAX record, the last of a key winning, empty
/// values included (the reference reads Go's `PAXRecords`, not `Xattrs`).
pub(crate) fn toc_xattrs(header: &TarHeader) -> std::collections::BTreeMap<GoString, Vec<u8>> {
    const PREFIX: &[u8] = b"SCHILY.xattr.";
    let mut out = std::collections::BTreeMap::new();
    for r in &header.pax_records {
        if let Some(name) = r.key.strip_prefix(PREFIX) {
            out.insert(GoString::from(name), r.value.clone());
        }
    }
    out
}

/// The header the TOC member starts with: Go's writer for {name, type `0`, size} (USTAR).
pub(crate) fn toc_header(json_len: u64) -> Result<Vec<u8>> {
    let mut header = TarHeader::new(b'0', TOC_TAR_NAME);
    header.size = i64::try_from(json_len).unwrap_or(i64::MAX);
    header.format = TarFormat::Unknown;
    let mut out = Vec::with_capacity(512);
    encode_header(&header, &mut out)?;
    Ok(out)
}
