//! Restoring owners, modes, extended attributes and times.
//!
//! Order matters: owners first (changing the owner clears setuid/setgid), then the mode,
//! then extended attributes, then times (last, since the others do not touch the
//! modification time but writing would).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use estargz_toc::GoString;
use rustix::fs::{
    AtFlags, Gid, Mode, Timespec, Timestamps, Uid, XattrFlags, chmodat, chownat, fchmod, fchown,
    fsetxattr, futimens, lsetxattr, utimensat,
};
use rustix::io::Errno;

use super::plan::Meta;
use super::report::{SkipReason, Skipped};
use crate::error::{Error, Result};

/// Where the metadata goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    /// An open regular file or directory.
    Fd(BorrowedFd<'a>),
    /// A symlink, device or FIFO, by name in its parent directory; never followed.
    At(BorrowedFd<'a>, &'a [u8]),
}

/// What to restore, and whether the mode applies (symlinks have none of their own).
#[derive(Debug)]
pub(super) struct Restore<'a> {
    pub(super) path: &'a [u8],
    pub(super) meta: Meta,
    pub(super) xattrs: Option<&'a BTreeMap<GoString, Vec<u8>>>,
    pub(super) chmod: bool,
}

impl Restore<'_> {
    /// Restores everything on `target`; refused extended attributes go to `skipped`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the entry when the owner, mode or times cannot be set, or an
    /// extended attribute fails for another reason than a refusal.
    pub(super) fn apply(&self, target: Target<'_>, skipped: &mut Vec<Skipped>) -> Result<()> {
        if let Some((uid, gid)) = self.meta.owner {
            let (uid, gid) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
            match target {
                Target::Fd(fd) => fchown(fd, uid, gid),
                Target::At(dir, name) => chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW),
            }
            .map_err(|e| self.error("setting the owner", e))?;
        }
        if self.chmod {
            let mode = Mode::from_raw_mode(self.meta.mode);
            match target {
                Target::Fd(fd) => fchmod(fd, mode),
                // Only devices and FIFOs we just created get here (Linux cannot chmod a
                // name without following a symlink there).
                Target::At(dir, name) => chmodat(dir, name, mode, AtFlags::empty()),
            }
            .map_err(|e| self.error("setting the mode", e))?;
        }
        for (name, value) in self.xattrs.into_iter().flatten() {
            let set = match target {
                Target::Fd(fd) => fsetxattr(fd, name.as_bytes(), value, XattrFlags::empty()),
                Target::At(dir, base) => lsetxattr(
                    proc_path(dir, base),
                    name.as_bytes(),
                    value,
                    XattrFlags::empty(),
                ),
            };
            match set {
                Ok(()) => {}
                Err(e) if e == Errno::PERM || e == Errno::NOTSUP || e == Errno::ACCESS => {
                    skipped.push(Skipped {
                        path: self.path.to_vec(),
                        reason: SkipReason::Xattr {
                            name: name.as_bytes().to_vec(),
                            error: e.to_string(),
                        },
                    });
                }
                Err(e) => {
                    return Err(
                        self.error(&format!("setting xattr {:?}", name.to_string_lossy()), e)
                    );
                }
            }
        }
        if let Some((secs, nanos)) = self.meta.mtime {
            let time = Timespec {
                tv_sec: secs,
                tv_nsec: i64::from(nanos),
            };
            let times = Timestamps {
                last_access: time,
                last_modification: time,
            };
            match target {
                Target::Fd(fd) => futimens(fd, &times),
                Target::At(dir, name) => utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW),
            }
            .map_err(|e| self.error("setting the modification time", e))?;
        }
        Ok(())
    }

    fn error(&self, what: &str, e: Errno) -> Error {
        Error::io(
            format!("{:?}: {what}", String::from_utf8_lossy(self.path)),
            e.into(),
        )
    }
}

/// `/proc/self/fd/DIR/NAME`: a name relative to an open directory for the calls that
/// only take paths (`lsetxattr`). The kernel resolves the descriptor's link itself; the
/// last component is not followed.
fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> Vec<u8> {
    let mut path = format!("/proc/self/fd/{}/", dir.as_fd().as_raw_fd()).into_bytes();
    path.extend_from_slice(name);
    path
}
