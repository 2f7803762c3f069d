//! Safe extraction of a blob to a directory: [`Reader::extract_to`].
//!
//! # What is written
//!
//! The tree the TOC describes, as the [`Index`](estargz_toc::Index) sees it: names
//! cleaned (so `../x` and `/x` land at `x`), the later of duplicate names winning,
//! implicit parent directories created with mode 0755. Directories, regular files,
//! symlinks (targets verbatim), hardlinks, FIFOs and, when allowed, character and block
//! devices, with owners, modes, extended attributes and modification times as
//! [`ExtractOptions`] say. The landmark files the encoder adds at the root are left out
//! unless asked for. Whiteout files (`.wh.*`) are ordinary files here, as in the format.
//!
//! # How it stays inside the target directory
//!
//! - The whole plan is checked before anything is written ([`Error::Extract`] names the
//!   first bad entry): types, owners, names.
//! - Every directory is opened from the target's descriptor one component at a time with
//!   `O_NOFOLLOW`, and every file, link and node is created by a single name relative to
//!   its parent's descriptor. A symlink on the way (the layer cannot put one there, since
//!   the index rejects entries under non-directories, but the target may hold one, or one
//!   may be swapped in meanwhile) stops the extraction with [`Error::Extract`] instead of
//!   being followed.
//! - Hardlinks are made after every other entry exists, by name relative to the target's
//!   parent descriptor, never following a symlink; a hardlink whose target was skipped is
//!   skipped too.
//!
//! # Order and atomicity
//!
//! 1. Directories, parents first (mode 0700 meanwhile, so read-only ones can be filled).
//! 2. Regular files, symlinks, FIFOs and devices. Each regular file's content is read
//!    through the reader, every chunk verified against its digest before it is written,
//!    into a fresh temporary file in its directory; its metadata is set on that file,
//!    which is then renamed into place: a file appears whole or not at all.
//! 3. Hardlinks.
//! 4. Directory metadata (owner, mode, extended attributes, times), deepest first, so
//!    that creating children no longer changes a directory's time; the root last, when
//!    the TOC has an entry for it.
//!
//! Whatever is already in the target directory at a name the layer uses is replaced (an
//! existing directory is kept when a directory belongs there; a non-empty directory where
//! something else belongs is an error). An error stops the extraction and leaves what was
//! already written.

mod create;
mod dirs;
mod meta;
mod options;
mod plan;
mod report;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

pub use options::ExtractOptions;
pub use report::{ExtractReport, SkipReason, Skipped};

use self::dirs::Dirs;
use self::meta::{Restore, Target};
use self::plan::{Item, Kind, Plan};
use crate::error::{Error, Result};
use crate::reader::{FileReader, Reader};
use crate::source::ReadAt;

impl<R: ReadAt> Reader<R> {
    /// Extracts the blob's tree into `dir` (created if missing), as the
    /// [module docs](crate::extract) describe, and reports what was written and what was
    /// skipped.
    ///
    /// ```no_run
    /// # fn main() -> estargz::Result<()> {
    /// use estargz::extract::ExtractOptions;
    /// use estargz::reader::{Reader, ReaderOptions};
    ///
    /// let blob = std::fs::File::open("layer.esgz").expect("blob");
    /// let reader = Reader::open(blob, ReaderOptions::default())?;
    /// let report = reader.extract_to("rootfs", &ExtractOptions::default())?;
    /// for skipped in &report.skipped {
    ///     eprintln!("{skipped}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Extract`] naming the entry for entries that cannot be extracted (see the
    /// module docs); the reader's errors for content that fails verification or cannot be
    /// read ([`Error::DigestMismatch`], [`Error::Decompress`], ...); [`Error::Io`] naming
    /// the entry when the file system fails.
    pub fn extract_to(
        &self,
        dir: impl AsRef<Path>,
        options: &ExtractOptions,
    ) -> Result<ExtractReport> {
        let plan = plan::plan(self.index(), options)?;
        let mut run = Run {
            reader: self,
            options,
            dirs: Dirs::new(open_root(dir.as_ref())?),
            created: vec![false; plan.items.len()],
            report: ExtractReport::default(),
        };
        run.make_dirs(&plan)?;
        run.make_leaves(&plan)?;
        run.make_hardlinks(&plan)?;
        run.finish_dirs(&plan)?;
        Ok(run.report)
    }
}

/// One extraction in progress.
struct Run<'r, 'o, R> {
    reader: &'r Reader<R>,
    options: &'o ExtractOptions,
    dirs: Dirs,
    /// Which items of the plan exist on disk.
    created: Vec<bool>,
    report: ExtractReport,
}

impl<'r, R: ReadAt> Run<'r, '_, R> {
    fn make_dirs(&mut self, plan: &Plan<'r>) -> Result<()> {
        self.report.directories += 1;
        for (i, item) in plan.items.iter().enumerate() {
            if item.kind != Kind::Dir {
                continue;
            }
            let path = item.path();
            let parent = self.dirs.open(parent_of(path), path)?;
            create::dir(parent, item.node.base_name(), path)?;
            self.created[i] = true;
            self.report.directories += 1;
        }
        Ok(())
    }

    fn make_leaves(&mut self, plan: &Plan<'r>) -> Result<()> {
        for (i, item) in plan.items.iter().enumerate() {
            let path = item.path();
            let name = item.node.base_name();
            let restore = self.restore(item, !matches!(item.kind, Kind::Symlink));
            match item.kind {
                Kind::Dir | Kind::Hardlink(_) => continue,
                Kind::File => {
                    let content = FileReader::new(self.reader, item.node)?;
                    let parent = self.dirs.open(parent_of(path), path)?;
                    let bytes =
                        create::file(parent, name, &content, &restore, &mut self.report.skipped)?;
                    self.report.files += 1;
                    self.report.bytes += bytes;
                }
                Kind::Symlink => {
                    let target = item
                        .node
                        .entry()
                        .map_or(&[][..], |e| e.link_name.as_bytes());
                    let parent = self.dirs.open(parent_of(path), path)?;
                    create::symlink(parent, name, target, path)?;
                    restore.apply(Target::At(parent, name), &mut self.report.skipped)?;
                    self.report.symlinks += 1;
                }
                Kind::Fifo | Kind::Char | Kind::Block => {
                    let kind = match item.kind {
                        Kind::Char => FileType::CharacterDevice,
                        Kind::Block => FileType::BlockDevice,
                        _ => FileType::Fifo,
                    };
                    let skip = |report: &mut ExtractReport| {
                        report.skipped.push(Skipped {
                            path: path.to_vec(),
                            reason: SkipReason::Device,
                        });
                    };
                    if kind != FileType::Fifo && !self.options.devices {
                        skip(&mut self.report);
                        continue;
                    }
                    let dev = device_numbers(item)?;
                    let parent = self.dirs.open(parent_of(path), path)?;
                    if !create::special(parent, name, kind, dev, path)? {
                        skip(&mut self.report);
                        continue;
                    }
                    restore.apply(Target::At(parent, name), &mut self.report.skipped)?;
                    self.report.specials += 1;
                }
            }
            self.created[i] = true;
        }
        Ok(())
    }

    fn make_hardlinks(&mut self, plan: &Plan<'r>) -> Result<()> {
        for item in &plan.items {
            let Kind::Hardlink(at) = item.kind else {
                continue;
            };
            let path = item.path();
            let (Some(target), Some(true)) = (plan.items.get(at), self.created.get(at)) else {
                self.report.skipped.push(Skipped {
                    path: path.to_vec(),
                    reason: SkipReason::HardlinkToSkipped,
                });
                continue;
            };
            let target_path = target.path();
            let target_parent = self
                .dirs
                .open(parent_of(target_path), path)?
                .try_clone_to_owned()
                .map_err(|e| {
                    Error::io(format!("{:?}: duplicating a descriptor", lossy(path)), e)
                })?;
            let parent = self.dirs.open(parent_of(path), path)?;
            create::hardlink(
                target_parent.as_fd(),
                target.node.base_name(),
                parent,
                item.node.base_name(),
                path,
            )?;
            self.report.hardlinks += 1;
        }
        Ok(())
    }

    fn finish_dirs(&mut self, plan: &Plan<'r>) -> Result<()> {
        for item in plan.items.iter().rev() {
            if item.kind != Kind::Dir {
                continue;
            }
            let restore = self.restore(item, true);
            let dir = self.dirs.open(item.path(), item.path())?;
            restore.apply(Target::Fd(dir), &mut self.report.skipped)?;
        }
        if let Some(meta) = plan.root {
            let root = self.reader.index().root();
            let restore = Restore {
                path: b"",
                meta,
                xattrs: root
                    .entry()
                    .filter(|_| self.options.xattrs)
                    .map(|e| &e.xattrs),
                chmod: true,
            };
            restore.apply(Target::Fd(self.dirs.root()), &mut self.report.skipped)?;
        }
        Ok(())
    }

    fn restore<'a>(&self, item: &'a Item<'r>, chmod: bool) -> Restore<'a> {
        Restore {
            path: item.path(),
            meta: item.meta,
            xattrs: item
                .node
                .entry()
                .filter(|_| self.options.xattrs)
                .map(|e| &e.xattrs),
            chmod,
        }
    }
}

fn device_numbers(item: &Item<'_>) -> Result<(u32, u32)> {
    let entry = item.node.entry();
    let number = |v: i64| {
        u32::try_from(v).map_err(|_| {
            plan::extract_error(item.path(), format!("device number {v} is out of range"))
        })
    };
    Ok((
        number(entry.map_or(0, |e| e.dev_major))?,
        number(entry.map_or(0, |e| e.dev_minor))?,
    ))
}

/// Creates `dir` if needed and opens it (following symlinks: the caller chose it).
fn open_root(dir: &Path) -> Result<OwnedFd> {
    let context = || format!("extraction directory {}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| Error::io(context(), e))?;
    rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(context(), e.into()))
}

fn parent_of(path: &[u8]) -> &[u8] {
    estargz_toc::path::parent(path)
}

fn lossy(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}
