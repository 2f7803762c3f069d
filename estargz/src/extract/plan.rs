//! The order of work, decided from the index alone (no I/O), with every entry checked
//! before anything is written.

use std::cmp::Ordering;

use estargz_toc::model::{NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK};
use estargz_toc::time::parse_modtime;
use estargz_toc::{EntryType, Index, Node};

use super::ExtractOptions;
use crate::error::{Error, Result};

/// What to create for one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Dir,
    File,
    Symlink,
    /// A hardlink to the node at this position of [`Plan::items`].
    Hardlink(usize),
    Fifo,
    Char,
    Block,
}

/// The metadata to restore on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meta {
    /// `uid` and `gid`, or `None` for implicit directories (left to the current user).
    pub(super) owner: Option<(u32, u32)>,
    /// Permission bits, with setuid/setgid/sticky as the options allow.
    pub(super) mode: u32,
    /// Modification time (seconds, nanoseconds), or `None` for implicit directories.
    pub(super) mtime: Option<(i64, u32)>,
}

/// One node to create.
#[derive(Debug, Clone, Copy)]
pub(super) struct Item<'a> {
    pub(super) node: Node<'a>,
    pub(super) kind: Kind,
    pub(super) meta: Meta,
}

impl Item<'_> {
    /// The cleaned path.
    pub(super) fn path(&self) -> &[u8] {
        self.node.path()
    }
}

/// Every node but the root, parents before children (depth-first, siblings by name).
#[derive(Debug)]
pub(super) struct Plan<'a> {
    /// The root's metadata, when the TOC has an entry for the root (`./`).
    pub(super) root: Option<Meta>,
    pub(super) items: Vec<Item<'a>>,
}

/// Checks every node and orders them.
///
/// # Errors
///
/// [`Error::Extract`] for a type that cannot be extracted, an owner that cannot be set, a
/// name or link target with a NUL byte, or a name component that is empty, `.` or `..`
/// (cleaned names never have one; this guards the invariant the extraction relies on).
pub(super) fn plan<'a>(index: &'a Index, options: &ExtractOptions) -> Result<Plan<'a>> {
    let mut nodes: Vec<Node<'a>> = index
        .nodes()
        .filter(|n| !n.path().is_empty())
        .filter(|n| options.landmarks || !is_landmark(n))
        .collect();
    nodes.sort_by(|a, b| depth_first(a.path(), b.path()));
    let mut items = Vec::with_capacity(nodes.len());
    for node in &nodes {
        check_name(node)?;
        let kind = match node.kind() {
            EntryType::Dir => Kind::Dir,
            EntryType::Reg => Kind::File,
            EntryType::Symlink => Kind::Symlink,
            EntryType::Fifo => Kind::Fifo,
            EntryType::Char => Kind::Char,
            EntryType::Block => Kind::Block,
            EntryType::Hardlink => {
                let target = index
                    .lookup(node.path())
                    .ok_or_else(|| extract_error(node.path(), "the hardlink has no target"))?;
                let at = nodes
                    .binary_search_by(|n| depth_first(n.path(), target.path()))
                    .map_err(|_| {
                        extract_error(
                            node.path(),
                            format!(
                                "the hardlink's target {:?} is not extracted",
                                String::from_utf8_lossy(target.path())
                            ),
                        )
                    })?;
                Kind::Hardlink(at)
            }
            other => {
                return Err(extract_error(
                    node.path(),
                    format!("entries of type {other:?} cannot be extracted"),
                ));
            }
        };
        items.push(Item {
            node: *node,
            kind,
            meta: meta(node, options)?,
        });
    }
    Ok(Plan {
        root: match index.root().entry() {
            Some(_) => Some(meta(&index.root(), options)?),
            None => None,
        },
        items,
    })
}

/// Whether a node is a landmark file the encoder added at the root.
fn is_landmark(node: &Node<'_>) -> bool {
    let path = node.path();
    *node.kind() == EntryType::Reg
        && (path == PREFETCH_LANDMARK.as_bytes() || path == NO_PREFETCH_LANDMARK.as_bytes())
}

/// Orders cleaned paths component by component, so that a directory comes right before
/// everything under it.
fn depth_first(a: &[u8], b: &[u8]) -> Ordering {
    a.split(|&c| c == b'/').cmp(b.split(|&c| c == b'/'))
}

fn check_name(node: &Node<'_>) -> Result<()> {
    let path = node.path();
    if path
        .split(|&c| c == b'/')
        .any(|c| c.is_empty() || c == b"." || c == b"..")
    {
        return Err(extract_error(path, "the name is not clean"));
    }
    let link = node.entry().map_or(&[][..], |e| e.link_name.as_bytes());
    if path.contains(&0) || link.contains(&0) {
        return Err(extract_error(
            path,
            "the name or link target has a NUL byte",
        ));
    }
    if *node.kind() == EntryType::Symlink && link.is_empty() {
        return Err(extract_error(path, "the symlink has an empty target"));
    }
    Ok(())
}

fn meta(node: &Node<'_>, options: &ExtractOptions) -> Result<Meta> {
    let keep = if options.setid_bits { 0o7777 } else { 0o1777 };
    let Some(entry) = node.entry() else {
        return Ok(Meta {
            owner: None,
            mode: 0o755,
            mtime: None,
        });
    };
    let id = |v: i64, what: &str| {
        u32::try_from(v)
            .ok()
            .filter(|&v| v != u32::MAX)
            .ok_or_else(|| extract_error(node.path(), format!("{what} {v} is out of range")))
    };
    let owner = if options.owners {
        Some((id(entry.uid, "uid")?, id(entry.gid, "gid")?))
    } else {
        None
    };
    // The Go reader ignores modtimes it cannot parse (the zero time); the epoch is the
    // closest a file system can hold, and what the writer means by an omitted modtime.
    let mtime = parse_modtime(&entry.modtime).unwrap_or((0, 0));
    Ok(Meta {
        owner,
        mode: (entry.mode & 0o7777) as u32 & keep,
        mtime: Some(mtime),
    })
}

/// An [`Error::Extract`] naming the entry.
pub(super) fn extract_error(path: &[u8], reason: impl Into<String>) -> Error {
    Error::Extract {
        path: String::from_utf8_lossy(path).into_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_first_puts_parents_right_before_their_children() {
        let mut paths: Vec<&[u8]> = vec![b"a/y", b"a-b", b"a", b"a/x/z", b"a/x", b"b"];
        paths.sort_by(|a, b| depth_first(a, b));
        let want: Vec<&[u8]> = vec![b"a", b"a/x", b"a/x/z", b"a/y", b"a-b", b"b"];
        assert_eq!(paths, want);
    }
}
