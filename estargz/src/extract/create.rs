//! Creating one directory, file, link or special file by name in an open parent.
//!
//! Names are single components (never `.`, `..` or containing `/`), always relative to a
//! parent descriptor from [`Dirs`](super::dirs::Dirs); nothing here follows a symlink.
//! Whatever is already at a name is replaced: a non-directory is unlinked, an empty
//! directory removed; a non-empty directory where something else belongs is an error.

use std::io::BufWriter;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{
    AtFlags, FileType, Mode, OFlags, linkat, makedev, mkdirat, mknodat, openat, renameat, statat,
    symlinkat, unlinkat,
};
use rustix::io::Errno;

use super::meta::{Restore, Target};
use super::report::Skipped;
use crate::error::{Error, Result};
use crate::reader::FileReader;
use crate::source::ReadAt;

/// Makes the directory `name` (mode 0700 while extracting; the final mode comes last) or
/// reuses an existing one; anything else there is replaced.
pub(super) fn dir(parent: BorrowedFd<'_>, name: &[u8], path: &[u8]) -> Result<()> {
    match mkdirat(parent, name, Mode::RWXU) {
        Ok(()) => return Ok(()),
        Err(e) if e != Errno::EXIST => return Err(io_error(path, "creating the directory", e)),
        Err(_) => {}
    }
    if kind_at(parent, name, path)? == Some(FileType::Directory) {
        return Ok(());
    }
    clear(parent, name, path)?;
    mkdirat(parent, name, Mode::RWXU).map_err(|e| io_error(path, "creating the directory", e))
}

/// Writes a regular file whole or not at all: its content (verified chunk by chunk by the
/// reader) and metadata go to a new temporary name in the same directory, which is then
/// renamed over `name`. Returns the bytes written.
pub(super) fn file<R: ReadAt>(
    parent: BorrowedFd<'_>,
    name: &[u8],
    content: &FileReader<'_, R>,
    restore: &Restore<'_>,
    skipped: &mut Vec<Skipped>,
) -> Result<u64> {
    let path = restore.path;
    let (temp, fd) = temp_file(parent, path)?;
    let written = fill(fd, content, restore, skipped)
        .and_then(|n| replace_with(parent, &temp, name, path).map(|()| n));
    if written.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = unlinkat(parent, temp.as_slice(), AtFlags::empty());
    }
    written
}

fn fill<R: ReadAt>(
    fd: OwnedFd,
    content: &FileReader<'_, R>,
    restore: &Restore<'_>,
    skipped: &mut Vec<Skipped>,
) -> Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 16, std::fs::File::from(fd));
    let written = content.copy_to(&mut out)?;
    let file = out.into_inner().map_err(|e| {
        Error::io(
            format!("{:?}: writing", lossy(restore.path)),
            e.into_error(),
        )
    })?;
    restore.apply(Target::Fd(file.as_fd()), skipped)?;
    Ok(written)
}

/// Makes a symlink to `target` (verbatim: it is never followed here).
pub(super) fn symlink(
    parent: BorrowedFd<'_>,
    name: &[u8],
    target: &[u8],
    path: &[u8],
) -> Result<()> {
    clear(parent, name, path)?;
    symlinkat(target, parent, name).map_err(|e| io_error(path, "creating the symlink", e))
}

/// Makes a hard link to the existing `target_name` in `target_parent`.
pub(super) fn hardlink(
    target_parent: BorrowedFd<'_>,
    target_name: &[u8],
    parent: BorrowedFd<'_>,
    name: &[u8],
    path: &[u8],
) -> Result<()> {
    clear(parent, name, path)?;
    linkat(target_parent, target_name, parent, name, AtFlags::empty())
        .map_err(|e| io_error(path, "creating the hard link", e))
}

/// Makes a FIFO or a device node (mode 0600 until its metadata is restored). Returns
/// `false` when the system refuses a device (`EPERM`: no `CAP_MKNOD`).
pub(super) fn special(
    parent: BorrowedFd<'_>,
    name: &[u8],
    kind: FileType,
    (major, minor): (u32, u32),
    path: &[u8],
) -> Result<bool> {
    clear(parent, name, path)?;
    let dev = if kind == FileType::Fifo {
        0
    } else {
        makedev(major, minor)
    };
    match mknodat(parent, name, kind, Mode::RUSR | Mode::WUSR, dev) {
        Ok(()) => Ok(true),
        Err(e) if e == Errno::PERM && kind != FileType::Fifo => Ok(false),
        Err(e) => Err(io_error(path, "creating the special file", e)),
    }
}

/// The type of whatever is at `name`, without following a symlink.
fn kind_at(parent: BorrowedFd<'_>, name: &[u8], path: &[u8]) -> Result<Option<FileType>> {
    match statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(io_error(path, "inspecting what is there", e)),
    }
}

/// Removes whatever is at `name`: a non-directory, or an empty directory.
fn clear(parent: BorrowedFd<'_>, name: &[u8], path: &[u8]) -> Result<()> {
    let flags = match kind_at(parent, name, path)? {
        None => return Ok(()),
        Some(FileType::Directory) => AtFlags::REMOVEDIR,
        Some(_) => AtFlags::empty(),
    };
    unlinkat(parent, name, flags).map_err(|e| io_error(path, "replacing what is there", e))
}

/// Renames `temp` over `name`, first removing an empty directory there.
fn replace_with(parent: BorrowedFd<'_>, temp: &[u8], name: &[u8], path: &[u8]) -> Result<()> {
    if kind_at(parent, name, path)? == Some(FileType::Directory) {
        clear(parent, name, path)?;
    }
    renameat(parent, temp, parent, name).map_err(|e| io_error(path, "renaming into place", e))
}

/// Creates a new, empty file with a name no one else uses, mode 0600.
fn temp_file(parent: BorrowedFd<'_>, path: &[u8]) -> Result<(Vec<u8>, OwnedFd)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = format!(".esgz-extract-{}-{n}", std::process::id()).into_bytes();
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match openat(parent, temp.as_slice(), flags, Mode::RUSR | Mode::WUSR) {
            Ok(fd) => return Ok((temp, fd)),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(io_error(path, "creating a temporary file", e)),
        }
    }
}

pub(super) fn io_error(path: &[u8], what: &str, e: Errno) -> Error {
    Error::io(format!("{:?}: {what}", lossy(path)), e.into())
}

fn lossy(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}
