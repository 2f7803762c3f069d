//! Opening directories beneath the extraction root without following symlinks.
//!
//! Every directory is reached from the root's file descriptor one component at a time
//! with `openat(O_DIRECTORY | O_NOFOLLOW)`, so a symlink anywhere on the way (one the layer
//! planted, or one swapped in while extracting) stops the walk instead of leading
//! outside. The descriptors of the directory last used and its ancestors are kept, so
//! depth-first work opens each directory about once.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, openat};
use rustix::io::Errno;

use super::plan::extract_error;
use crate::error::{Error, Result};

/// At most this many directory descriptors are held open at once (deeper trees reopen
/// from the deepest held ancestor when they climb back up).
const MAX_HELD: usize = 64;

/// Directory descriptors under the root, along the path last opened.
#[derive(Debug)]
pub(super) struct Dirs {
    root: OwnedFd,
    /// The components of the path last opened, each with its descriptor while held. Only
    /// the last [`MAX_HELD`] hold one.
    stack: Vec<(Box<[u8]>, Option<OwnedFd>)>,
}

impl Dirs {
    pub(super) fn new(root: OwnedFd) -> Self {
        Self {
            root,
            stack: Vec::new(),
        }
    }

    /// The root directory.
    pub(super) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Opens the directory at cleaned path `dir` (`""` is the root). `entry` names the
    /// entry this is for, in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Extract`] when a component is not a directory (a symlink included);
    /// [`Error::Io`] for other failures.
    pub(super) fn open(&mut self, dir: &[u8], entry: &[u8]) -> Result<BorrowedFd<'_>> {
        let components: Vec<&[u8]> = if dir.is_empty() {
            Vec::new()
        } else {
            dir.split(|&c| c == b'/').collect()
        };
        let common = self
            .stack
            .iter()
            .zip(&components)
            .take_while(|((held, _), want)| held.as_ref() == **want)
            .count();
        self.stack.truncate(common);
        while self.stack.last().is_some_and(|(_, fd)| fd.is_none()) {
            self.stack.pop();
        }
        for &name in components.get(self.stack.len()..).unwrap_or_default() {
            let parent = self.top();
            let fd = openat(
                parent,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| walk_error(dir, entry, e))?;
            self.stack.push((name.into(), Some(fd)));
            if let Some(len) = self.stack.len().checked_sub(MAX_HELD + 1)
                && let Some(old) = self.stack.get_mut(len)
            {
                old.1 = None;
            }
        }
        Ok(self.top())
    }

    fn top(&self) -> BorrowedFd<'_> {
        self.stack
            .last()
            .and_then(|(_, fd)| fd.as_ref())
            .unwrap_or(&self.root)
            .as_fd()
    }
}

fn walk_error(dir: &[u8], entry: &[u8], e: Errno) -> Error {
    if e == Errno::LOOP || e == Errno::NOTDIR {
        return extract_error(
            entry,
            format!(
                "{:?} is not a directory on disk (a symlink?); not following it",
                String::from_utf8_lossy(dir)
            ),
        );
    }
    Error::io(
        format!(
            "{:?}: opening directory {:?}",
            String::from_utf8_lossy(entry),
            String::from_utf8_lossy(dir)
        ),
        e.into(),
    )
}
