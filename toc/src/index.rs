//! The index: lookups over a TOC, built in linear time.
//!
//! [`Index::build`] checks a [`Toc`] for consistency and derives what readers need from it,
//! the way the reference reader does, but without its blind spots:
//!
//! - every name is cleaned ([`crate::path::clean`]), so `./a/../b` finds `b`;
//! - directories that have no entry of their own are created implicitly (mode 0755);
//! - hardlinks resolve to their final target (missing targets and cycles are errors);
//! - `userName`/`groupName` omitted by the writer are filled in from the last name seen for
//!   the same id (per `gid` for groups; the reference 0.12.0 wrongly used the user map);
//! - each regular file gets its list of chunks, with the real size of every chunk and the
//!   compressed range that holds it, checked to cover the file exactly once and to lie
//!   inside the blob's data region.
//!
//! Duplicate names follow the reference: the later entry wins.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::limits::{LimitKind, Limits};
use crate::model::{EntryType, GoString, Toc, TocEntry};
use crate::path;

/// Identifies a node (a file, directory, link, device or implicit directory) of an
/// [`Index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The root directory.
    pub const ROOT: Self = Self(0);

    fn index(self) -> usize {
        self.0 as usize
    }
}

/// A TOC checked for consistency, with lookups by path, children, hardlink resolution and
/// chunk lists.
#[derive(Debug, Clone)]
pub struct Index {
    toc: Toc,
    nodes: Vec<NodeData>,
    by_path: HashMap<Box<[u8]>, NodeId>,
    /// For every entry, the index into `owner_names` of its filled-in user and group names.
    owners: Vec<(u32, u32)>,
    owner_names: Vec<GoString>,
    /// All chunks of all files; each file's chunks are a contiguous run.
    chunks: Vec<Chunk>,
    data_end: u64,
}

#[derive(Debug, Clone)]
struct NodeData {
    /// The entry that defines this node, or `None` for an implicit directory.
    entry: Option<u32>,
    path: Box<[u8]>,
    parent: NodeId,
    children: Vec<NodeId>,
    /// For hardlinks: the node the link finally resolves to.
    link_target: Option<NodeId>,
    num_link: u32,
    /// The run of `Index::chunks` that holds this file's chunks.
    chunks: (u32, u32),
}

impl NodeData {
    fn new(entry: Option<u32>, path: Box<[u8]>) -> Self {
        Self {
            entry,
            path,
            parent: NodeId::ROOT,
            children: Vec::new(),
            link_target: None,
            num_link: 0,
            chunks: (0, 0),
        }
    }
}

/// One chunk of a regular file: where its bytes are in the file and in the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Index of the TOC entry (`reg` or `chunk`) that describes this chunk.
    pub entry: usize,
    /// Offset of the chunk's first byte in the file (`chunkOffset`).
    pub file_offset: u64,
    /// Uncompressed size of the chunk (`chunkSize`, filled in when the TOC omits it).
    pub size: u64,
    /// Compressed offset in the blob of the member that holds the chunk (`offset`).
    pub blob_offset: u64,
    /// Uncompressed bytes to skip from the start of that member (`innerOffset`).
    pub inner_offset: u64,
    /// Compressed offset where the member (or run of members) holding the chunk ends: the
    /// start of the next member that begins a new chunk, or the end of the data region.
    pub blob_end: u64,
}

impl Chunk {
    /// The compressed byte range `[blob_offset, blob_end)` to fetch to decompress this chunk.
    pub fn blob_range(&self) -> std::ops::Range<u64> {
        self.blob_offset..self.blob_end
    }

    /// The uncompressed byte range this chunk covers in its file.
    pub fn file_range(&self) -> std::ops::Range<u64> {
        self.file_offset..self.file_offset + self.size
    }
}

impl Index {
    /// Checks `toc` and builds the index, in time linear in the number of entries.
    ///
    /// `data_end` is the compressed offset where the blob's data region ends (the TOC offset
    /// for an embedded TOC, the blob size for an external one): every chunk must start
    /// before it, and the last one ends there.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEntry`] for entries that break the format (negative numbers, chunks
    /// that overlap, leave gaps or point outside the data region, a `chunk` with no file
    /// before it, a parent that is not a directory), [`Error::HardlinkTarget`] for missing
    /// hardlink targets and cycles, and [`Error::LimitExceeded`] for too many entries or
    /// too long names.
    pub fn build(toc: Toc, data_end: u64, limits: &Limits) -> Result<Self> {
        Limits::check(
            LimitKind::Entries,
            toc.entries.len() as u64,
            limits.max_entries.min(u64::from(u32::MAX - 1)),
        )?;
        let mut builder = Builder {
            index: Self {
                nodes: vec![NodeData::new(None, Box::from(&b""[..]))],
                by_path: HashMap::with_capacity(toc.entries.len() + 1),
                owners: Vec::with_capacity(toc.entries.len()),
                owner_names: Vec::new(),
                chunks: Vec::new(),
                data_end,
                toc: Toc::default(),
            },
            name_ids: HashMap::new(),
            entry_nodes: Vec::with_capacity(toc.entries.len()),
            implicit_bytes: 0,
            max_implicit_bytes: limits.max_implicit_dir_bytes,
        };
        builder
            .index
            .by_path
            .insert(Box::from(&b""[..]), NodeId::ROOT);
        builder.register_entries(&toc, limits)?;
        builder.link_parents(&toc)?;
        builder.resolve_hardlinks(&toc)?;
        builder.collect_chunks(&toc)?;
        builder.index.toc = toc;
        Ok(builder.index)
    }

    /// The TOC this index was built from, unchanged.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// The end of the data region given to [`Index::build`].
    pub fn data_end(&self) -> u64 {
        self.data_end
    }

    /// The root directory.
    pub fn root(&self) -> Node<'_> {
        Node {
            index: self,
            id: NodeId::ROOT,
        }
    }

    /// Looks up a path (cleaned first, so `./a/../b`, `/b` and `b/` all find `b`).
    /// A hardlink resolves to its target, as in the reference.
    pub fn lookup(&self, path: impl AsRef<[u8]>) -> Option<Node<'_>> {
        let id = *self.by_path.get(path::clean(path.as_ref()).as_ref())?;
        Some(self.node(id).resolved())
    }

    /// Looks up a path without resolving a hardlink at the end.
    pub fn lookup_link(&self, path: impl AsRef<[u8]>) -> Option<Node<'_>> {
        let id = *self.by_path.get(path::clean(path.as_ref()).as_ref())?;
        Some(self.node(id))
    }

    /// The node with the given id.
    ///
    /// # Panics
    ///
    /// If `id` does not come from this index.
    pub fn node(&self, id: NodeId) -> Node<'_> {
        assert!(id.index() < self.nodes.len(), "NodeId from another index");
        Node { index: self, id }
    }

    /// Every node, in the order of the entries that define them, implicit directories where
    /// they were first needed, the root first.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = Node<'_>> + '_ {
        (0..self.nodes.len()).map(|i| Node {
            index: self,
            id: NodeId(i as u32),
        })
    }

    /// All chunks of all regular files, in blob order.
    pub fn all_chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The filled-in user name of the entry at `entry` (see the module docs).
    pub fn user_name(&self, entry: usize) -> &GoString {
        let id = self.owners.get(entry).map_or(0, |o| o.0);
        self.owner_name(id)
    }

    /// The filled-in group name of the entry at `entry` (see the module docs).
    pub fn group_name(&self, entry: usize) -> &GoString {
        let id = self.owners.get(entry).map_or(0, |o| o.1);
        self.owner_name(id)
    }

    fn owner_name(&self, id: u32) -> &GoString {
        static EMPTY: GoString = GoString::new();
        self.owner_names.get(id as usize).unwrap_or(&EMPTY)
    }
}

/// A node of an [`Index`]: an entry of the TOC, or an implicit directory.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    index: &'a Index,
    id: NodeId,
}

impl<'a> Node<'a> {
    fn data(&self) -> &'a NodeData {
        &self.index.nodes[self.id.index()]
    }

    fn resolved(self) -> Self {
        match self.data().link_target {
            Some(target) => self.index.node(target),
            None => self,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The cleaned path (`""` for the root).
    pub fn path(&self) -> &'a [u8] {
        &self.data().path
    }

    /// The last component of the path (`""` for the root).
    pub fn base_name(&self) -> &'a [u8] {
        path::base(self.path())
    }

    /// The TOC entry that defines this node, or `None` for an implicit directory.
    pub fn entry(&self) -> Option<&'a TocEntry> {
        let i = self.data().entry?;
        self.index.toc.entries.get(i as usize)
    }

    /// The position in the TOC of the entry that defines this node.
    pub fn entry_index(&self) -> Option<usize> {
        self.data().entry.map(|i| i as usize)
    }

    /// The entry type (`Dir` for implicit directories).
    pub fn kind(&self) -> &'a EntryType {
        const DIR: &EntryType = &EntryType::Dir;
        self.entry().map_or(DIR, |e| &e.kind)
    }

    /// Whether this is a directory (explicit or implicit).
    pub fn is_dir(&self) -> bool {
        *self.kind() == EntryType::Dir
    }

    /// The mode bits as stored (0o755 for implicit directories).
    pub fn mode(&self) -> i64 {
        self.entry().map_or(0o755, |e| e.mode)
    }

    /// The size of a regular file; 0 otherwise.
    pub fn size(&self) -> u64 {
        self.entry()
            .filter(|e| e.kind == EntryType::Reg)
            .map_or(0, |e| e.size.max(0) as u64)
    }

    /// The number of names that refer to this node, as the reference counts it: 1 plus the
    /// hardlinks to it for files; 2 plus the subdirectories for directories.
    pub fn num_link(&self) -> u32 {
        self.data().num_link
    }

    /// The filled-in user name (see the module docs).
    pub fn user_name(&self) -> &'a GoString {
        static EMPTY: GoString = GoString::new();
        self.entry_index()
            .map_or(&EMPTY, |i| self.index.user_name(i))
    }

    /// The filled-in group name (see the module docs).
    pub fn group_name(&self) -> &'a GoString {
        static EMPTY: GoString = GoString::new();
        self.entry_index()
            .map_or(&EMPTY, |i| self.index.group_name(i))
    }

    /// The parent directory (the root's parent is the root).
    pub fn parent(&self) -> Node<'a> {
        self.index.node(self.data().parent)
    }

    /// The children of a directory, in TOC order. Hardlinks resolve to their targets, as in
    /// the reference; the name under which a child appears is [`Node::base_name`] of the
    /// link, so this yields `(name, node)` pairs.
    pub fn children(&self) -> impl Iterator<Item = (&'a [u8], Node<'a>)> + 'a {
        let index = self.index;
        self.data().children.iter().map(move |&child| {
            let link = index.node(child);
            (link.base_name(), link.resolved())
        })
    }

    /// Looks up a direct child by name, resolving a hardlink.
    pub fn child(&self, name: &[u8]) -> Option<Node<'a>> {
        let mut full = self.path().to_vec();
        if !full.is_empty() {
            full.push(b'/');
        }
        full.extend_from_slice(name);
        let id = *self.index.by_path.get(full.as_slice())?;
        let node = self.index.node(id);
        (node.data().parent == self.id).then(|| node.resolved())
    }

    /// The chunks of a regular file in file order (empty for empty files and non-files).
    pub fn chunks(&self) -> &'a [Chunk] {
        let (start, len) = self.data().chunks;
        let start = start as usize;
        self.index
            .chunks
            .get(start..start + len as usize)
            .unwrap_or(&[])
    }

    /// The chunk that holds byte `offset` of a regular file, or `None` at or past its end.
    pub fn chunk_at(&self, offset: u64) -> Option<&'a Chunk> {
        let chunks = self.chunks();
        let after = chunks.partition_point(|c| c.file_offset <= offset);
        let chunk = chunks.get(after.checked_sub(1)?)?;
        (offset < chunk.file_offset + chunk.size).then_some(chunk)
    }
}

struct Builder {
    index: Index,
    /// Interned owner names, so that 100 000 entries owned by `root` share one string.
    name_ids: HashMap<GoString, u32>,
    /// For every entry, the node its cleaned name maps to (the root for chunk entries).
    entry_nodes: Vec<NodeId>,
    /// Bytes of implicit directory paths created so far, and the limit on them.
    implicit_bytes: u64,
    max_implicit_bytes: u64,
}

impl Builder {
    fn intern(&mut self, name: &GoString) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.index.owner_names.len() as u32;
        self.index.owner_names.push(name.clone());
        self.name_ids.insert(name.clone(), id);
        id
    }

    /// Pass 1: checks each entry's own fields, fills owner names, creates a node per
    /// cleaned name (later entries win).
    fn register_entries(&mut self, toc: &Toc, limits: &Limits) -> Result<()> {
        let empty = self.intern(&GoString::new());
        let mut users: HashMap<i64, u32> = HashMap::new();
        let mut groups: HashMap<i64, u32> = HashMap::new();
        for (i, entry) in toc.entries.iter().enumerate() {
            let invalid = |reason| invalid_entry(i, entry, reason);
            Limits::check(
                LimitKind::NameBytes,
                entry.name.len().max(entry.link_name.len()) as u64,
                limits.max_name_bytes,
            )?;
            let numbers = [
                entry.size,
                entry.offset,
                entry.inner_offset,
                entry.chunk_offset,
                entry.chunk_size,
            ];
            if numbers.iter().any(|&n| n < 0) {
                return Err(invalid("negative size or offset"));
            }
            if entry.kind == EntryType::Chunk {
                self.index.owners.push((empty, empty));
                self.entry_nodes.push(NodeId::ROOT);
                continue;
            }
            let user = if entry.user_name.is_empty() {
                users.get(&entry.uid).copied().unwrap_or(empty)
            } else {
                let id = self.intern(&entry.user_name);
                users.insert(entry.uid, id);
                id
            };
            let group = if entry.group_name.is_empty() {
                groups.get(&entry.gid).copied().unwrap_or(empty)
            } else {
                let id = self.intern(&entry.group_name);
                groups.insert(entry.gid, id);
                id
            };
            self.index.owners.push((user, group));

            let cleaned = path::clean(entry.name.as_bytes());
            if cleaned.is_empty() && entry.kind != EntryType::Dir {
                return Err(invalid("the root must be a directory"));
            }
            let entry_id = Some(i as u32);
            let id = match self.index.by_path.get(cleaned.as_ref()) {
                Some(&existing) => {
                    self.index.nodes[existing.index()].entry = entry_id;
                    existing
                }
                None => {
                    let id = NodeId(self.index.nodes.len() as u32);
                    let cleaned: Box<[u8]> = cleaned.as_ref().into();
                    self.index
                        .nodes
                        .push(NodeData::new(entry_id, cleaned.clone()));
                    self.index.by_path.insert(cleaned, id);
                    id
                }
            };
            self.entry_nodes.push(id);
        }
        Ok(())
    }

    /// Pass 2: links every node to its parent, creating implicit directories, and counts
    /// links as the reference does.
    fn link_parents(&mut self, toc: &Toc) -> Result<()> {
        let explicit = self.index.nodes.len();
        let root_is_explicit = self.index.nodes[0].entry.is_some();
        self.index.nodes[0].num_link = if root_is_explicit { 1 } else { 2 };
        for id in 1..explicit {
            let node = &self.index.nodes[id];
            let is_dir = node_kind(toc, node) == Some(&EntryType::Dir);
            // Explicit directories: "." and the name in the parent; files: the name.
            self.index.nodes[id].num_link += if is_dir { 2 } else { 1 };
            let parent_path: Box<[u8]> = path::parent(&self.index.nodes[id].path).into();
            let parent = self.dir_for(toc, &parent_path, id)?;
            self.adopt(parent, NodeId(id as u32), is_dir);
        }
        Ok(())
    }

    /// Finds the directory node for `dir_path`, creating it (and its ancestors) implicitly.
    fn dir_for(&mut self, toc: &Toc, dir_path: &[u8], child: usize) -> Result<NodeId> {
        if let Some(&id) = self.index.by_path.get(dir_path) {
            let node = &self.index.nodes[id.index()];
            if node.entry.is_some() && node_kind(toc, node) != Some(&EntryType::Dir) {
                let entry_index = self.index.nodes[child].entry.unwrap_or(0) as usize;
                let entry = toc.entries.get(entry_index);
                return Err(Error::InvalidEntry {
                    index: entry_index,
                    name: entry.map(|e| e.name.to_string()).unwrap_or_default(),
                    reason: "its parent is not a directory",
                });
            }
            return Ok(id);
        }
        // Create the missing ancestors, outermost first, without recursion.
        let mut missing = vec![dir_path];
        let mut cursor = path::parent(dir_path);
        while !self.index.by_path.contains_key(cursor) {
            missing.push(cursor);
            cursor = path::parent(cursor);
        }
        let mut parent = self.dir_for(toc, cursor, child)?;
        self.implicit_bytes += missing.iter().map(|d| d.len() as u64).sum::<u64>();
        Limits::check(
            LimitKind::ImplicitDirBytes,
            self.implicit_bytes,
            self.max_implicit_bytes,
        )?;
        for dir in missing.into_iter().rev() {
            let id = NodeId(self.index.nodes.len() as u32);
            let dir: Box<[u8]> = dir.into();
            let mut node = NodeData::new(None, dir.clone());
            node.num_link = 2;
            self.index.nodes.push(node);
            self.index.by_path.insert(dir, id);
            self.adopt(parent, id, true);
            parent = id;
        }
        Ok(parent)
    }

    fn adopt(&mut self, parent: NodeId, child: NodeId, child_is_dir: bool) {
        self.index.nodes[child.index()].parent = parent;
        let parent = &mut self.index.nodes[parent.index()];
        parent.children.push(child);
        if child_is_dir {
            parent.num_link += 1;
        }
    }

    /// Pass 3: resolves every hardlink to its final target, rejecting cycles. Every link
    /// met on the way is resolved too, so chains cost linear time overall.
    fn resolve_hardlinks(&mut self, toc: &Toc) -> Result<()> {
        let mut chain = Vec::new();
        for id in 0..self.index.nodes.len() {
            if node_kind(toc, &self.index.nodes[id]) != Some(&EntryType::Hardlink) {
                continue;
            }
            chain.clear();
            let mut current = id;
            let target = loop {
                let node = &self.index.nodes[current];
                if node_kind(toc, node) != Some(&EntryType::Hardlink) {
                    break current;
                }
                if let Some(done) = node.link_target {
                    break done.index();
                }
                if chain.len() > self.index.nodes.len() {
                    return Err(self.hardlink_error(toc, id, "hardlinks form a cycle"));
                }
                chain.push(current);
                let link_name = node
                    .entry
                    .and_then(|e| toc.entries.get(e as usize))
                    .map(|e| path::clean(e.link_name.as_bytes()).into_owned())
                    .unwrap_or_default();
                match self.index.by_path.get(link_name.as_slice()) {
                    Some(&next) => current = next.index(),
                    None => return Err(self.hardlink_error(toc, id, "target not found")),
                }
            };
            if node_kind(toc, &self.index.nodes[target]) == Some(&EntryType::Dir) {
                return Err(self.hardlink_error(toc, id, "target is a directory"));
            }
            for &link in &chain {
                self.index.nodes[link].link_target = Some(NodeId(target as u32));
            }
            // Each hardlink adds one name to its target, counted once, here.
            self.index.nodes[id].link_target = Some(NodeId(target as u32));
            self.index.nodes[target].num_link += 1;
        }
        Ok(())
    }

    fn hardlink_error(&self, toc: &Toc, id: usize, reason: &'static str) -> Error {
        let node = &self.index.nodes[id];
        let target = node
            .entry
            .and_then(|e| toc.entries.get(e as usize))
            .map(|e| e.link_name.to_string())
            .unwrap_or_default();
        Error::HardlinkTarget {
            name: String::from_utf8_lossy(&node.path).into_owned(),
            target,
            reason,
        }
    }

    /// Pass 4: builds each regular file's chunk list, checking that the chunks cover the
    /// file exactly once and lie in the data region, with their compressed ends.
    fn collect_chunks(&mut self, toc: &Toc) -> Result<()> {
        let ends = compressed_ends(toc, self.index.data_end);
        let mut open: Option<OpenFile> = None;
        for (i, entry) in toc.entries.iter().enumerate() {
            let invalid = |reason| invalid_entry(i, entry, reason);
            if entry.kind != EntryType::Chunk {
                if let Some(file) = open.take() {
                    self.finish_file(toc, file)?;
                }
                if entry.kind != EntryType::Reg || entry.size == 0 {
                    continue;
                }
                if entry.chunk_offset != 0 {
                    return Err(invalid("the first chunk has a non-zero chunkOffset"));
                }
                open = Some(OpenFile {
                    entry: i,
                    size: entry.size as u64,
                    covered: 0,
                    first_chunk: self.index.chunks.len(),
                });
            }
            let Some(file) = open.as_mut() else {
                return Err(invalid(
                    "a chunk entry that follows no non-empty regular file",
                ));
            };
            let file_offset = entry.chunk_offset as u64;
            if file_offset != file.covered {
                return Err(invalid(
                    "chunkOffset leaves a gap or overlaps the previous chunk",
                ));
            }
            let remaining = file.size - file.covered;
            if remaining == 0 {
                return Err(invalid("a chunk past the end of its file"));
            }
            let declared = entry.chunk_size as u64;
            let size = if declared == 0 || declared > remaining {
                remaining
            } else {
                declared
            };
            let blob_offset = entry.offset as u64;
            let blob_end = ends[i];
            if blob_offset >= self.index.data_end
                || blob_end <= blob_offset
                || blob_end > self.index.data_end
            {
                return Err(invalid(
                    "its compressed range is outside the data region or overlaps the next one",
                ));
            }
            self.index.chunks.push(Chunk {
                entry: i,
                file_offset,
                size,
                blob_offset,
                inner_offset: entry.inner_offset as u64,
                blob_end,
            });
            file.covered += size;
        }
        if let Some(file) = open {
            self.finish_file(toc, file)?;
        }
        Ok(())
    }

    fn finish_file(&mut self, toc: &Toc, file: OpenFile) -> Result<()> {
        if file.covered != file.size {
            let entry = &toc.entries[file.entry];
            return Err(invalid_entry(
                file.entry,
                entry,
                "its chunks do not cover the file",
            ));
        }
        let node = &mut self.index.nodes[self.entry_nodes[file.entry].index()];
        // Only the last entry of a duplicated name is reachable.
        if node.entry == Some(file.entry as u32) {
            let len = self.index.chunks.len() - file.first_chunk;
            node.chunks = (file.first_chunk as u32, len as u32);
        }
        Ok(())
    }
}

/// A regular file whose chunks are being collected.
struct OpenFile {
    entry: usize,
    size: u64,
    covered: u64,
    first_chunk: usize,
}

/// The compressed end of each data entry: the offset of the next data entry that starts a
/// new member (a non-zero offset and no inner offset), else the end of the data region.
/// Offsets of other entries mean nothing and are ignored.
fn compressed_ends(toc: &Toc, data_end: u64) -> Vec<u64> {
    let mut ends = vec![0u64; toc.entries.len()];
    let mut next_start = data_end;
    for (i, entry) in toc.entries.iter().enumerate().rev() {
        if !entry.is_data() {
            continue;
        }
        ends[i] = next_start;
        if entry.offset > 0 && entry.inner_offset == 0 {
            next_start = entry.offset as u64;
        }
    }
    ends
}

fn node_kind<'t>(toc: &'t Toc, node: &NodeData) -> Option<&'t EntryType> {
    match node.entry {
        Some(i) => toc.entries.get(i as usize).map(|e| &e.kind),
        None => Some(&EntryType::Dir),
    }
}

fn invalid_entry(index: usize, entry: &TocEntry, reason: &'static str) -> Error {
    Error::InvalidEntry {
        index,
        name: entry.name.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: EntryType) -> TocEntry {
        TocEntry {
            name: name.into(),
            kind,
            ..TocEntry::default()
        }
    }

    fn file(name: &str, size: i64, offset: i64) -> TocEntry {
        TocEntry {
            size,
            offset,
            ..entry(name, EntryType::Reg)
        }
    }

    fn link(name: &str, kind: EntryType, target: &str) -> TocEntry {
        TocEntry {
            link_name: target.into(),
            ..entry(name, kind)
        }
    }

    fn chunk(offset: i64, chunk_offset: i64, chunk_size: i64) -> TocEntry {
        TocEntry {
            offset,
            chunk_offset,
            chunk_size,
            ..entry("ignored", EntryType::Chunk)
        }
    }

    fn build(entries: Vec<TocEntry>) -> Result<Index> {
        let toc = Toc {
            version: 1,
            entries,
        };
        Index::build(toc, 1000, &Limits::default())
    }

    #[test]
    fn implicit_parents_and_lookups() {
        let index = build(vec![
            entry("./a/", EntryType::Dir),
            file("./a/b/c.txt", 3, 10),
            file("d", 0, 0),
        ])
        .unwrap();
        for spelling in [
            "a/b/c.txt",
            "/a/b/c.txt",
            "./a/./b/../b/c.txt",
            "a/b/c.txt/",
        ] {
            let node = index.lookup(spelling).unwrap();
            assert_eq!(node.path(), b"a/b/c.txt", "{spelling}");
        }
        let b = index.lookup("a/b").unwrap();
        assert!(b.is_dir());
        assert!(b.entry().is_none(), "a/b is implicit");
        assert_eq!(b.mode(), 0o755);
        assert_eq!(b.num_link(), 2);
        let a = index.lookup("a").unwrap();
        assert_eq!(a.num_link(), 3, "explicit dir: 2 plus one subdirectory");
        assert_eq!(
            index.root().num_link(),
            3,
            "implicit root: 2 plus one subdirectory"
        );
        let names: Vec<&[u8]> = index.root().children().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"a"[..], b"d"]);
        assert_eq!(a.child(b"b").unwrap().path(), b"a/b");
        assert!(a.child(b"c.txt").is_none(), "not a direct child");
        assert!(index.lookup("nope").is_none());
        assert_eq!(index.lookup("a/b/c.txt").unwrap().parent().path(), b"a/b");
    }

    #[test]
    fn explicit_root_is_the_root() {
        let index = build(vec![
            entry("./", EntryType::Dir),
            entry("x/", EntryType::Dir),
        ])
        .unwrap();
        assert_eq!(index.root().entry_index(), Some(0));
        assert_eq!(
            index.root().num_link(),
            2,
            "explicit root: 1 plus one subdirectory"
        );
        assert_eq!(index.lookup("").unwrap().id(), NodeId::ROOT);
        assert_eq!(index.lookup("/").unwrap().id(), NodeId::ROOT);
    }

    #[test]
    fn hardlinks_resolve_to_their_final_target() {
        let index = build(vec![
            link("l2", EntryType::Hardlink, "./l1"),
            file("f", 5, 10),
            link("l1", EntryType::Hardlink, "f"),
        ])
        .unwrap();
        let f = index.lookup("f").unwrap();
        assert_eq!(f.num_link(), 3);
        for name in ["l1", "l2"] {
            let node = index.lookup(name).unwrap();
            assert_eq!(node.id(), f.id(), "{name}");
            assert_eq!(
                index.lookup_link(name).unwrap().kind(),
                &EntryType::Hardlink
            );
        }
        let children: Vec<(&[u8], NodeId)> = index
            .root()
            .children()
            .map(|(n, node)| (n, node.id()))
            .collect();
        assert_eq!(
            children,
            [
                (&b"l2"[..], f.id()),
                (&b"f"[..], f.id()),
                (&b"l1"[..], f.id())
            ]
        );
    }

    #[test]
    fn bad_hardlinks_are_errors() {
        let missing = build(vec![link("l", EntryType::Hardlink, "gone")]).unwrap_err();
        assert!(matches!(
            missing,
            Error::HardlinkTarget {
                reason: "target not found",
                ..
            }
        ));
        let cycle = build(vec![
            link("a", EntryType::Hardlink, "b"),
            link("b", EntryType::Hardlink, "a"),
        ])
        .unwrap_err();
        assert!(matches!(
            cycle,
            Error::HardlinkTarget {
                reason: "hardlinks form a cycle",
                ..
            }
        ));
        let to_self = build(vec![link("a", EntryType::Hardlink, "./a")]).unwrap_err();
        assert!(matches!(to_self, Error::HardlinkTarget { .. }));
        let to_dir = build(vec![
            entry("d/", EntryType::Dir),
            link("l", EntryType::Hardlink, "d"),
        ])
        .unwrap_err();
        assert!(matches!(to_dir, Error::HardlinkTarget { .. }));
    }

    #[test]
    fn later_duplicates_win() {
        let index = build(vec![file("a", 2, 10), file("./a", 4, 20)]).unwrap();
        let a = index.lookup("a").unwrap();
        assert_eq!(a.entry_index(), Some(1));
        assert_eq!(a.size(), 4);
        assert_eq!(a.chunks().len(), 1);
        assert_eq!(a.chunks()[0].blob_range(), 20..1000);
        assert_eq!(index.root().children().count(), 1);
    }

    #[test]
    fn owner_names_fill_per_id() {
        let mut a = file("a", 0, 0);
        (a.uid, a.gid, a.user_name, a.group_name) = (1, 2, "alice".into(), "staff".into());
        let mut b = file("b", 0, 0);
        (b.uid, b.gid) = (1, 2);
        let mut c = file("c", 0, 0);
        (c.uid, c.gid) = (2, 1);
        let index = build(vec![a, b, c]).unwrap();
        let b = index.lookup("b").unwrap();
        assert_eq!(b.user_name(), "alice");
        assert_eq!(
            b.group_name(),
            "staff",
            "groups are filled per gid, not from users"
        );
        let c = index.lookup("c").unwrap();
        assert_eq!(c.user_name(), "");
        assert_eq!(c.group_name(), "");
    }

    #[test]
    fn chunks_and_offsets() {
        let mut big = file("big", 10, 100);
        big.chunk_size = 4;
        let index = build(vec![
            big,
            chunk(200, 4, 4),
            chunk(300, 8, 0),
            entry("dir/", EntryType::Dir),
            file("small", 3, 400),
        ])
        .unwrap();
        let big = index.lookup("big").unwrap();
        let spans: Vec<(u64, u64, u64, u64)> = big
            .chunks()
            .iter()
            .map(|c| (c.file_offset, c.size, c.blob_offset, c.blob_end))
            .collect();
        assert_eq!(
            spans,
            [(0, 4, 100, 200), (4, 4, 200, 300), (8, 2, 300, 400)]
        );
        assert_eq!(big.chunk_at(0).unwrap().file_offset, 0);
        assert_eq!(big.chunk_at(3).unwrap().file_offset, 0);
        assert_eq!(big.chunk_at(4).unwrap().file_offset, 4);
        assert_eq!(big.chunk_at(9).unwrap().file_offset, 8);
        assert!(big.chunk_at(10).is_none());
        let small = index.lookup("small").unwrap();
        assert_eq!(small.chunks()[0].blob_range(), 400..1000);
        assert!(index.lookup("dir").unwrap().chunk_at(0).is_none());
        assert_eq!(index.all_chunks().len(), 4);
    }

    #[test]
    fn shared_members_use_inner_offsets() {
        let mut second = file("b", 2, 100);
        second.inner_offset = 1536;
        let index = build(vec![file("a", 3, 100), second, file("c", 1, 500)]).unwrap();
        let a = index.lookup("a").unwrap().chunks()[0];
        let b = index.lookup("b").unwrap().chunks()[0];
        assert_eq!((a.blob_range(), a.inner_offset), (100..500, 0));
        assert_eq!((b.blob_range(), b.inner_offset), (100..500, 1536));
    }

    #[test]
    fn hostile_chunk_layouts_are_errors() {
        let mut big = file("big", 10, 100);
        big.chunk_size = 4;
        let cases: Vec<(&str, Vec<TocEntry>)> = vec![
            ("gap", vec![big.clone(), chunk(200, 5, 0)]),
            ("overlap", vec![big.clone(), chunk(200, 2, 8)]),
            ("short", vec![big.clone(), chunk(200, 4, 4)]),
            ("orphan chunk", vec![chunk(200, 0, 4)]),
            (
                "chunk after dir",
                vec![entry("d/", EntryType::Dir), chunk(200, 0, 4)],
            ),
            ("past the end", vec![file("f", 1, 1000)]),
            (
                "decreasing offsets",
                vec![file("f", 1, 500), file("g", 1, 400)],
            ),
            (
                "same offset twice",
                vec![file("f", 1, 500), file("g", 1, 500)],
            ),
            ("negative size", vec![file("f", -1, 100)]),
            ("extra chunk", vec![file("f", 2, 100), chunk(200, 2, 1)]),
            ("nonzero first chunkOffset", {
                let mut f = file("f", 2, 100);
                f.chunk_offset = 1;
                vec![f]
            }),
            ("root is a file", vec![file("./", 1, 100)]),
            (
                "parent is a file",
                vec![file("a", 1, 100), file("a/b", 1, 200)],
            ),
        ];
        for (what, entries) in cases {
            let err = build(entries).expect_err(what);
            assert!(matches!(err, Error::InvalidEntry { .. }), "{what}: {err}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        let toc = Toc {
            version: 1,
            entries: vec![file("a", 0, 0), file("b", 0, 0)],
        };
        let err = Index::build(toc, 10, &limits).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: LimitKind::Entries,
                ..
            }
        ));
        let limits = Limits {
            max_name_bytes: 3,
            ..Limits::default()
        };
        let toc = Toc {
            version: 1,
            entries: vec![file("abcd", 0, 0)],
        };
        let err = Index::build(toc, 10, &limits).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: LimitKind::NameBytes,
                ..
            }
        ));
    }

    #[test]
    fn implicit_directories_are_bounded() {
        let limits = Limits {
            max_implicit_dir_bytes: 1000,
            ..Limits::default()
        };
        let name = "d/".repeat(100) + "f";
        let toc = Toc {
            version: 1,
            entries: vec![file(&name, 0, 0)],
        };
        let err = Index::build(toc, 10, &limits).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: LimitKind::ImplicitDirBytes,
                ..
            }
        ));
    }

    #[test]
    fn long_hardlink_chains_resolve_in_linear_time() {
        // l0 -> l1 -> ... -> l(n-1) -> f: quadratic resolution took minutes at this size.
        let n = 200_000;
        let mut entries: Vec<TocEntry> = (0..n)
            .map(|i| {
                let target = if i + 1 == n {
                    "f".to_owned()
                } else {
                    format!("l{}", i + 1)
                };
                link(&format!("l{i}"), EntryType::Hardlink, &target)
            })
            .collect();
        entries.push(file("f", 1, 10));
        let index = build(entries).unwrap();
        let f = index.lookup("f").unwrap();
        assert_eq!(f.num_link(), n as u32 + 1);
        assert_eq!(index.lookup("l0").unwrap().id(), f.id());
        assert_eq!(index.lookup("l123456").unwrap().id(), f.id());
    }

    #[test]
    fn offsets_of_non_data_entries_do_not_bound_chunks() {
        let mut dir = entry("d/", EntryType::Dir);
        dir.offset = 100_000;
        let index = build(vec![file("a", 3, 100), dir, file("b", 3, 500)]).unwrap();
        let a = index.lookup("a").unwrap().chunks()[0];
        assert_eq!(a.blob_range(), 100..500);
        let b = index.lookup("b").unwrap().chunks()[0];
        assert_eq!(b.blob_range(), 500..1000);
    }

    #[test]
    fn deep_nesting_needs_no_recursion() {
        let name = "d/".repeat(5000) + "f";
        let index = build(vec![file(&name, 0, 0)]).unwrap();
        assert_eq!(index.nodes().len(), 5002);
        assert_eq!(index.lookup(&name).unwrap().parent().path().len(), 9999);
    }
}
