//! The order entries are written in: prioritized files, the landmark, the rest (spec 3.2, 3.3).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::error::Error;
use estargz_toc::path::{clean as clean_name, parent};

pub use estargz_toc::model::{LANDMARK_CONTENTS, NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK};

/// Which landmark file the encoder writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Landmark {
    /// `.prefetch.landmark`: prefetch the blob up to this entry's data.
    Prefetch,
    /// `.no.prefetch.landmark`: nothing to prefetch (written first).
    NoPrefetch,
}

impl Landmark {
    /// The landmark's tar name (at the root, without any prefix).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Prefetch => PREFETCH_LANDMARK,
            Self::NoPrefetch => NO_PREFETCH_LANDMARK,
        }
    }
}

/// The kind of an input entry, as far as ordering cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind<'a> {
    /// A directory.
    Directory,
    /// A regular file.
    Regular,
    /// A hardlink, with its raw link target (cleaned like every name).
    Hardlink {
        /// The raw tar link name.
        target: &'a [u8],
    },
    /// Anything else (symlink, device, FIFO, ...).
    Other,
}

/// One input entry for [`order_entries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OrderEntry<'a> {
    /// The raw tar name.
    pub name: &'a [u8],
    /// What kind of entry it is.
    pub kind: EntryKind<'a>,
    /// An opaque value the caller uses to find the entry again (for example its position in
    /// the input tar); returned in [`Order::entries`].
    pub index: usize,
}

impl<'a> OrderEntry<'a> {
    /// An entry with the given raw name, kind and caller index.
    pub fn new(name: &'a [u8], kind: EntryKind<'a>, index: usize) -> Self {
        Self { name, kind, index }
    }
}

/// Options for [`order_entries`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OrderOptions {
    /// Report prioritized names that are not found in [`Order::not_found`] instead of failing
    /// (the reference's `WithAllowPrioritizeNotFound`). Default: fail.
    pub allow_not_found: bool,
}

impl OrderOptions {
    /// Sets [`Self::allow_not_found`].
    #[must_use]
    pub fn with_allow_not_found(mut self, allow: bool) -> Self {
        self.allow_not_found = allow;
        self
    }
}

/// The result of [`order_entries`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Order {
    /// The caller's indices of the entries to write, in order, landmark excluded. Dropped
    /// entries (root-level landmarks, earlier duplicates) are absent.
    pub entries: Vec<usize>,
    /// The landmark goes right before `entries[landmark_position]` (or last when it equals
    /// `entries.len()`); it is the number of entries in the prioritized section.
    pub landmark_position: usize,
    /// Which landmark to write.
    pub landmark: Landmark,
    /// Prioritized names (as given) that were not found, in list order; only non-empty with
    /// [`OrderOptions::allow_not_found`].
    pub not_found: Vec<Vec<u8>>,
}

impl Order {
    /// The entries before the landmark (the prefetched section).
    pub fn prioritized(&self) -> &[usize] {
        self.entries
            .get(..self.landmark_position)
            .unwrap_or(&self.entries)
    }

    /// The entries after the landmark.
    pub fn rest(&self) -> &[usize] {
        self.entries.get(self.landmark_position..).unwrap_or(&[])
    }

    /// Everything to write, in order, landmark included.
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        let prioritized = self.prioritized().iter().map(|&i| Item::Entry(i));
        let rest = self.rest().iter().map(|&i| Item::Entry(i));
        prioritized
            .chain(core::iter::once(Item::Landmark(self.landmark)))
            .chain(rest)
    }
}

/// One thing to write, from [`Order::items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    /// The input entry with this caller index.
    Entry(usize),
    /// The landmark file.
    Landmark(Landmark),
}

/// Orders entries the way the reference's `Build` does (spec 3.2, 3.3).
///
/// 1. Entries whose cleaned name ([`clean_name`]) is `.prefetch.landmark` or
///    `.no.prefetch.landmark` are dropped. Of several entries with the same cleaned name only
///    the last is kept, at its own (later) position.
/// 2. For each prioritized name in order, the entry is moved to the front section after, in
///    this order, the root entry (if the input has one), every ancestor directory (outermost
///    first) and, for a hardlink, its target (recursively, with the target's own ancestors).
///    Nothing is moved twice. The name itself, every ancestor and every link target must have
///    an entry: otherwise the name is not found. (Quirk of the reference: a file whose parent
///    directory has no entry of its own is therefore not found.) A name found missing before
///    anything was moved moves nothing; a missing hardlink target found later leaves the
///    ancestors already moved in front.
/// 3. The landmark comes next: [`Landmark::Prefetch`] if `prioritized` is non-empty (even if
///    every name was missing), else [`Landmark::NoPrefetch`] (then it is first).
/// 4. The remaining entries follow in input order.
///
/// Runs in time linear in the total length of the names (plus the prioritized moves).
///
/// # Errors
///
/// [`Error::PrioritizedNotFound`] for the first missing prioritized name, unless
/// [`OrderOptions::allow_not_found`]; [`Error::HardlinkCycle`] if moving a prioritized hardlink
/// leads around a cycle of hardlinks (the reference never terminates on such input).
///
/// ```
/// use estargz_chunker::{order_entries, EntryKind, Item, Landmark, OrderEntry, OrderOptions};
///
/// let entries = [
///     OrderEntry::new(b"foo.txt", EntryKind::Regular, 0),
///     OrderEntry::new(b"bar/", EntryKind::Directory, 1),
///     OrderEntry::new(b"bar/baz.txt", EntryKind::Regular, 2),
/// ];
/// let order = order_entries(&entries, &["./bar/baz.txt"], &OrderOptions::default())?;
/// let items: Vec<_> = order.items().collect();
/// assert_eq!(
///     items,
///     [Item::Entry(1), Item::Entry(2), Item::Landmark(Landmark::Prefetch), Item::Entry(0)]
/// );
/// # Ok::<(), estargz_chunker::Error>(())
/// ```
pub fn order_entries<P: AsRef<[u8]>>(
    entries: &[OrderEntry<'_>],
    prioritized: &[P],
    options: &OrderOptions,
) -> Result<Order, Error> {
    // Clean every name once.
    let cleaned: Vec<Cow<'_, [u8]>> = entries.iter().map(|e| clean_name(e.name)).collect();

    // Last occurrence of each cleaned name, landmarks at the root excluded.
    let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(entries.len());
    for (i, name) in cleaned.iter().enumerate() {
        let name: &[u8] = name;
        if name != PREFETCH_LANDMARK.as_bytes() && name != NO_PREFETCH_LANDMARK.as_bytes() {
            last.insert(name, i);
        }
    }
    // The kept entries, in input order; `last` now maps a name to its kept position.
    let mut kept: Vec<Kept<'_>> = Vec::with_capacity(last.len());
    for ((i, entry), name) in entries.iter().enumerate().zip(&cleaned) {
        let name: &[u8] = name;
        if let Some(slot) = last.get_mut(name).filter(|slot| **slot == i) {
            *slot = kept.len();
            kept.push(Kept {
                index: entry.index,
                kind: entry.kind,
                moved: false,
            });
        }
    }

    let mut sorter = Sorter {
        by_name: last,
        kept,
        front: Vec::new(),
    };
    let mut not_found = Vec::new();
    for name in prioritized {
        let name = name.as_ref();
        match sorter.move_rec(name) {
            Ok(()) => {}
            Err(MoveError::NotFound(missing)) => {
                if options.allow_not_found {
                    not_found.push(name.to_vec());
                } else {
                    return Err(Error::PrioritizedNotFound {
                        prioritized: name.to_vec(),
                        missing,
                    });
                }
            }
            Err(MoveError::Cycle(on_cycle)) => {
                return Err(Error::HardlinkCycle {
                    prioritized: name.to_vec(),
                    name: on_cycle,
                });
            }
        }
    }

    let landmark = if prioritized.is_empty() {
        Landmark::NoPrefetch
    } else {
        Landmark::Prefetch
    };
    let landmark_position = sorter.front.len();
    let mut order = sorter.front;
    order.reserve(sorter.kept.len().saturating_sub(landmark_position));
    order.extend(sorter.kept.iter().filter(|k| !k.moved).map(|k| k.index));
    Ok(Order {
        entries: order,
        landmark_position,
        landmark,
        not_found,
    })
}

/// A kept input entry.
#[derive(Debug)]
struct Kept<'a> {
    index: usize,
    kind: EntryKind<'a>,
    moved: bool,
}

/// Why a prioritized name could not be moved.
#[derive(Debug)]
enum MoveError {
    /// This cleaned name has no entry.
    NotFound(Vec<u8>),
    /// This cleaned name is on a hardlink cycle.
    Cycle(Vec<u8>),
}

/// One pending step of the (iterative) recursive move.
#[derive(Debug)]
enum Step {
    /// Move the cleaned name `name[..len]` (the reference's `moveRec`). Ancestors are
    /// prefixes of a name, so they share its buffer.
    Visit { name: Rc<[u8]>, len: usize },
    /// The ancestors of the entry at this kept position are done: handle a link target.
    AfterParent(usize),
    /// Everything before the entry at this kept position is done: move it.
    Finish(usize),
}

/// The input (entries not moved) and the front section (entries moved).
#[derive(Debug)]
struct Sorter<'n, 'e> {
    /// Cleaned name to kept position; covers moved and unmoved entries alike.
    by_name: HashMap<&'n [u8], usize>,
    kept: Vec<Kept<'e>>,
    /// Caller indices of the moved entries, in move order.
    front: Vec<usize>,
}

impl Sorter<'_, '_> {
    /// The reference's `moveRec`, with an explicit stack (names can nest deeply) and cycle
    /// detection (where the reference would recurse forever).
    ///
    /// Visiting an entry that was already moved stops at once: every move goes through this
    /// function, which moves (and so has checked) all ancestors first, so the reference's
    /// recursion from there would find everything present and move nothing.
    fn move_rec(&mut self, name: &[u8]) -> Result<(), MoveError> {
        let name: Rc<[u8]> = Rc::from(clean_name(name).as_ref());
        let len = name.len();
        let mut stack = vec![Step::Visit { name, len }];
        // Kept positions whose move is under way.
        let mut in_progress: HashSet<usize> = HashSet::new();
        while let Some(step) = stack.pop() {
            match step {
                Step::Visit { name, len } => {
                    let current = name.get(..len).unwrap_or_default();
                    let position = self.by_name.get(current).copied();
                    if current.is_empty() {
                        // The root: move its entry if there is one; never "not found".
                        if let Some(position) = position {
                            self.move_entry(position);
                        }
                        continue;
                    }
                    let Some(position) = position else {
                        return Err(MoveError::NotFound(current.to_vec()));
                    };
                    if self.kept.get(position).is_some_and(|k| k.moved) {
                        continue;
                    }
                    if !in_progress.insert(position) {
                        return Err(MoveError::Cycle(current.to_vec()));
                    }
                    let parent_len = parent(current).len();
                    stack.push(Step::AfterParent(position));
                    stack.push(Step::Visit {
                        name,
                        len: parent_len,
                    });
                }
                Step::AfterParent(position) => {
                    stack.push(Step::Finish(position));
                    if let Some(Kept {
                        moved: false,
                        kind: EntryKind::Hardlink { target },
                        ..
                    }) = self.kept.get(position)
                    {
                        let target: Rc<[u8]> = Rc::from(clean_name(target).as_ref());
                        let len = target.len();
                        stack.push(Step::Visit { name: target, len });
                    }
                }
                Step::Finish(position) => {
                    in_progress.remove(&position);
                    self.move_entry(position);
                }
            }
        }
        Ok(())
    }

    /// Moves the kept entry at `position` to the front, unless it is there already.
    fn move_entry(&mut self, position: usize) {
        if let Some(kept) = self.kept.get_mut(position).filter(|k| !k.moved) {
            kept.moved = true;
            self.front.push(kept.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test tar entry, written as in the reference's TestSort.
    #[derive(Debug, Clone, Copy)]
    enum T {
        Dir(&'static str),
        File(&'static str, &'static str),
        Link(&'static str, &'static str),
        Other(&'static str, &'static str),
        Prefetch,
        NoPrefetch,
    }

    use T::{Dir, File, Link, NoPrefetch, Other, Prefetch};

    const PREFIXES: [&str; 4] = ["", "./", "/", "../"];

    /// A comparable description of an entry as the tar writer would see it. Like the
    /// reference's helpers, names get the tar prefix but link targets and landmarks do not.
    fn key(t: &T, prefix: &str) -> String {
        match t {
            Dir(n) => format!("dir {prefix}{n}"),
            File(n, c) => format!("file {prefix}{n} = {c}"),
            Link(n, target) => format!("link {prefix}{n} -> {target}"),
            Other(n, what) => format!("{what} {prefix}{n}"),
            Prefetch => format!("file {PREFETCH_LANDMARK} = \x0f"),
            NoPrefetch => format!("file {NO_PREFETCH_LANDMARK} = \x0f"),
        }
    }

    fn names(input: &[T], prefix: &str) -> Vec<Vec<u8>> {
        input
            .iter()
            .map(|t| match t {
                Dir(n) | File(n, _) | Link(n, _) | Other(n, _) => format!("{prefix}{n}"),
                Prefetch => PREFETCH_LANDMARK.to_owned(),
                NoPrefetch => NO_PREFETCH_LANDMARK.to_owned(),
            })
            .map(String::into_bytes)
            .collect()
    }

    fn to_entries<'a>(input: &'a [T], names: &'a [Vec<u8>]) -> Vec<OrderEntry<'a>> {
        input
            .iter()
            .zip(names)
            .enumerate()
            .map(|(i, (t, name))| {
                let kind = match t {
                    Dir(_) => EntryKind::Directory,
                    File(..) | Prefetch | NoPrefetch => EntryKind::Regular,
                    Link(_, target) => EntryKind::Hardlink {
                        target: target.as_bytes(),
                    },
                    Other(..) => EntryKind::Other,
                };
                // Caller indices deliberately differ from positions.
                OrderEntry::new(name, kind, 1000 + i)
            })
            .collect()
    }

    struct Case {
        name: &'static str,
        input: Vec<T>,
        log: Vec<&'static str>,
        /// `None`: must fail.
        want: Option<Vec<T>>,
        /// `Some`: run with allow-not-found and expect these names missed.
        allow_missed: Option<Vec<&'static str>>,
    }

    fn case(name: &'static str, input: Vec<T>, log: Vec<&'static str>, want: Vec<T>) -> Case {
        Case {
            name,
            input,
            log,
            want: Some(want),
            allow_missed: None,
        }
    }

    fn test_sort_cases() -> Vec<Case> {
        let long1: &'static str = "long".repeat(31).leak().get(..120).unwrap_or_default();
        let long2_file: &'static str = format!("bar/{}", &"long".repeat(38)[..150]).leak();
        vec![
            case(
                "nolog",
                vec![
                    File("foo.txt", "foo"),
                    Dir("bar/"),
                    File("bar/baz.txt", "baz"),
                    File("bar/bar.txt", "bar"),
                ],
                vec![],
                vec![
                    NoPrefetch,
                    File("foo.txt", "foo"),
                    Dir("bar/"),
                    File("bar/baz.txt", "baz"),
                    File("bar/bar.txt", "bar"),
                ],
            ),
            case(
                "identical",
                vec![
                    File("foo.txt", "foo"),
                    Dir("bar/"),
                    File("bar/baz.txt", "baz"),
                    File("bar/bar.txt", "bar"),
                    File("bar/baa.txt", "baa"),
                ],
                vec!["foo.txt", "bar/baz.txt"],
                vec![
                    File("foo.txt", "foo"),
                    Dir("bar/"),
                    File("bar/baz.txt", "baz"),
                    Prefetch,
                    File("bar/bar.txt", "bar"),
                    File("bar/baa.txt", "baa"),
                ],
            ),
            case(
                "shuffle_reg",
                vec![
                    File("foo.txt", "foo"),
                    File("baz.txt", "baz"),
                    File("bar.txt", "bar"),
                    File("baa.txt", "baa"),
                ],
                vec!["baa.txt", "bar.txt", "baz.txt"],
                vec![
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    Prefetch,
                    File("foo.txt", "foo"),
                ],
            ),
            case(
                "shuffle_directory",
                vec![
                    File("foo.txt", "foo"),
                    Dir("bar/"),
                    File("bar/bar.txt", "bar"),
                    File("bar/baa.txt", "baa"),
                    Dir("baz/"),
                    File("baz/baz1.txt", "baz"),
                    File("baz/baz2.txt", "baz"),
                    Dir("baz/bazbaz/"),
                    File("baz/bazbaz/bazbaz_b.txt", "baz"),
                    File("baz/bazbaz/bazbaz_a.txt", "baz"),
                ],
                vec!["baz/bazbaz/bazbaz_a.txt", "baz/baz2.txt", "foo.txt"],
                vec![
                    Dir("baz/"),
                    Dir("baz/bazbaz/"),
                    File("baz/bazbaz/bazbaz_a.txt", "baz"),
                    File("baz/baz2.txt", "baz"),
                    File("foo.txt", "foo"),
                    Prefetch,
                    Dir("bar/"),
                    File("bar/bar.txt", "bar"),
                    File("bar/baa.txt", "baa"),
                    File("baz/baz1.txt", "baz"),
                    File("baz/bazbaz/bazbaz_b.txt", "baz"),
                ],
            ),
            case(
                "shuffle_link",
                vec![
                    File("foo.txt", "foo"),
                    File("baz.txt", "baz"),
                    Link("bar.txt", "baz.txt"),
                    File("baa.txt", "baa"),
                ],
                vec!["baz.txt"],
                vec![
                    File("baz.txt", "baz"),
                    Prefetch,
                    File("foo.txt", "foo"),
                    Link("bar.txt", "baz.txt"),
                    File("baa.txt", "baa"),
                ],
            ),
            case(
                "longname",
                vec![
                    File("foo.txt", "foo"),
                    File(long1, "test"),
                    Dir("bar/"),
                    File("bar/bar.txt", "bar"),
                    File("bar/baa.txt", "baa"),
                    File(long2_file, "test2"),
                ],
                vec![long2_file, long1],
                vec![
                    Dir("bar/"),
                    File(long2_file, "test2"),
                    File(long1, "test"),
                    Prefetch,
                    File("foo.txt", "foo"),
                    File("bar/bar.txt", "bar"),
                    File("bar/baa.txt", "baa"),
                ],
            ),
            case(
                "various_types",
                vec![
                    File("foo.txt", "foo"),
                    Other("foo2", "symlink"),
                    Other("foochar", "chardev"),
                    Other("fooblock", "blockdev"),
                    Other("fifoo", "fifo"),
                ],
                vec!["fifoo", "foo2", "foo.txt", "fooblock"],
                vec![
                    Other("fifoo", "fifo"),
                    Other("foo2", "symlink"),
                    File("foo.txt", "foo"),
                    Other("fooblock", "blockdev"),
                    Prefetch,
                    Other("foochar", "chardev"),
                ],
            ),
            case(
                "existing_landmark",
                vec![
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    Prefetch,
                    File("foo.txt", "foo"),
                ],
                vec!["foo.txt", "bar.txt"],
                vec![
                    File("foo.txt", "foo"),
                    File("bar.txt", "bar"),
                    Prefetch,
                    File("baa.txt", "baa"),
                    File("baz.txt", "baz"),
                ],
            ),
            case(
                "existing_landmark_nolog",
                vec![
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    Prefetch,
                    File("foo.txt", "foo"),
                ],
                vec![],
                vec![
                    NoPrefetch,
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    File("foo.txt", "foo"),
                ],
            ),
            case(
                "existing_noprefetch_landmark",
                vec![
                    NoPrefetch,
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    File("foo.txt", "foo"),
                ],
                vec!["foo.txt", "bar.txt"],
                vec![
                    File("foo.txt", "foo"),
                    File("bar.txt", "bar"),
                    Prefetch,
                    File("baa.txt", "baa"),
                    File("baz.txt", "baz"),
                ],
            ),
            case(
                "existing_noprefetch_landmark_nolog",
                vec![
                    NoPrefetch,
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    File("foo.txt", "foo"),
                ],
                vec![],
                vec![
                    NoPrefetch,
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    File("baz.txt", "baz"),
                    File("foo.txt", "foo"),
                ],
            ),
            Case {
                name: "not_existing_file",
                input: vec![
                    File("foo.txt", "foo"),
                    File("baz.txt", "baz"),
                    File("bar.txt", "bar"),
                    File("baa.txt", "baa"),
                ],
                log: vec!["baa.txt", "bar.txt", "dummy"],
                want: None,
                allow_missed: None,
            },
            Case {
                name: "not_existing_file_allow_fail",
                input: vec![
                    File("foo.txt", "foo"),
                    File("baz.txt", "baz"),
                    File("bar.txt", "bar"),
                    File("baa.txt", "baa"),
                ],
                log: vec!["baa.txt", "dummy1", "bar.txt", "dummy2"],
                want: Some(vec![
                    File("baa.txt", "baa"),
                    File("bar.txt", "bar"),
                    Prefetch,
                    File("foo.txt", "foo"),
                    File("baz.txt", "baz"),
                ]),
                allow_missed: Some(vec!["dummy1", "dummy2"]),
            },
            case(
                "duplicated_entry",
                vec![
                    File("foo.txt", "foo"),
                    Dir("bar/"),
                    File("bar/baz.txt", "baz"),
                    Dir("bar/"),
                    File("bar/baz.txt", "baz2"),
                ],
                vec!["bar/baz.txt"],
                vec![
                    Dir("bar/"),
                    File("bar/baz.txt", "baz2"),
                    Prefetch,
                    File("foo.txt", "foo"),
                ],
            ),
            case(
                "hardlink",
                vec![File("baz.txt", "aaaaa"), Link("bazlink", "baz.txt")],
                vec!["bazlink"],
                vec![
                    File("baz.txt", "aaaaa"),
                    Link("bazlink", "baz.txt"),
                    Prefetch,
                ],
            ),
            case(
                "root_relative_file",
                vec![
                    Dir("./"),
                    File("./foo.txt", "foo"),
                    File("./baz.txt", "baz"),
                    File("./baa.txt", "baa"),
                    Link("./bazlink", "./baz.txt"),
                ],
                vec!["baa.txt", "bazlink"],
                vec![
                    Dir("./"),
                    File("./baa.txt", "baa"),
                    File("./baz.txt", "baz"),
                    Link("./bazlink", "./baz.txt"),
                    Prefetch,
                    File("./foo.txt", "foo"),
                ],
            ),
            case(
                "root_absolute_file",
                vec![
                    Dir("/"),
                    File("/foo.txt", "foo"),
                    File("/baz.txt", "baz"),
                    File("/baa.txt", "baa"),
                    Link("/bazlink", "/baz.txt"),
                ],
                vec!["baa.txt", "bazlink"],
                vec![
                    Dir("/"),
                    File("/baa.txt", "baa"),
                    File("/baz.txt", "baz"),
                    Link("/bazlink", "/baz.txt"),
                    Prefetch,
                    File("/foo.txt", "foo"),
                ],
            ),
        ]
    }

    #[test]
    fn reference_test_sort() {
        let cases = test_sort_cases();
        assert_eq!(cases.len(), 17);
        let mut runs = 0;
        for case in &cases {
            for log_prefix in PREFIXES {
                for tar_prefix in PREFIXES {
                    let label = format!("{} log={log_prefix:?} tar={tar_prefix:?}", case.name);
                    let tar_names = names(&case.input, tar_prefix);
                    let entries = to_entries(&case.input, &tar_names);
                    let log: Vec<String> = case
                        .log
                        .iter()
                        .map(|l| format!("{log_prefix}{l}"))
                        .collect();
                    let options =
                        OrderOptions::default().with_allow_not_found(case.allow_missed.is_some());
                    let result = order_entries(&entries, &log, &options);
                    runs += 1;
                    let Some(want) = &case.want else {
                        assert!(
                            matches!(result, Err(Error::PrioritizedNotFound { .. })),
                            "{label}: expected failure, got {result:?}"
                        );
                        continue;
                    };
                    let order = result.unwrap_or_else(|e| panic!("{label}: {e}"));
                    let got: Vec<String> = order
                        .items()
                        .map(|item| match item {
                            Item::Entry(i) => case
                                .input
                                .get(i - 1000)
                                .map(|t| key(t, tar_prefix))
                                .unwrap_or_default(),
                            Item::Landmark(Landmark::Prefetch) => key(&Prefetch, ""),
                            Item::Landmark(Landmark::NoPrefetch) => key(&NoPrefetch, ""),
                        })
                        .collect();
                    let want: Vec<String> = want.iter().map(|t| key(t, tar_prefix)).collect();
                    assert_eq!(got, want, "{label}");
                    let missed: Vec<Vec<u8>> = case
                        .allow_missed
                        .iter()
                        .flatten()
                        .map(|m| format!("{log_prefix}{m}").into_bytes())
                        .collect();
                    assert_eq!(order.not_found, missed, "{label}");
                }
            }
        }
        assert_eq!(runs, 17 * 16);
    }

    fn order(input: &[T], log: &[&str], allow: bool) -> Result<Vec<String>, Error> {
        let tar_names = names(input, "");
        let entries = to_entries(input, &tar_names);
        let options = OrderOptions::default().with_allow_not_found(allow);
        let order = order_entries(&entries, log, &options)?;
        Ok(order
            .items()
            .map(|item| match item {
                Item::Entry(i) => input.get(i - 1000).map(|t| key(t, "")).unwrap_or_default(),
                Item::Landmark(l) => l.name().to_owned(),
            })
            .collect())
    }

    fn keys(want: &[T]) -> Vec<String> {
        want.iter()
            .map(|t| match t {
                Prefetch => PREFETCH_LANDMARK.to_owned(),
                NoPrefetch => NO_PREFETCH_LANDMARK.to_owned(),
                t => key(t, ""),
            })
            .collect()
    }

    #[test]
    fn parent_without_entry_is_not_found() {
        let input = [File("a.txt", "a"), File("x/y.txt", "y")];
        assert_eq!(
            order(&input, &["x/y.txt"], false),
            Err(Error::PrioritizedNotFound {
                prioritized: b"x/y.txt".to_vec(),
                missing: b"x".to_vec(),
            })
        );
        let tar_names = names(&input, "");
        let entries = to_entries(&input, &tar_names);
        let options = OrderOptions::default().with_allow_not_found(true);
        let got = order_entries(&entries, &["a.txt", "x/y.txt"], &options).unwrap();
        assert_eq!(got.prioritized(), [1000]);
        assert_eq!(got.rest(), [1001]);
        assert_eq!(got.not_found, [b"x/y.txt".to_vec()]);
    }

    #[test]
    fn missing_link_target_leaves_ancestors_moved() {
        let input = [File("f", "f"), Dir("d/"), Link("d/l", "nope")];
        assert_eq!(
            order(&input, &["d/l"], true).unwrap(),
            keys(&[Dir("d/"), Prefetch, File("f", "f"), Link("d/l", "nope")])
        );
        assert_eq!(
            order(&input, &["d/l"], false),
            Err(Error::PrioritizedNotFound {
                prioritized: b"d/l".to_vec(),
                missing: b"nope".to_vec(),
            })
        );
    }

    #[test]
    fn link_target_comes_with_its_ancestors() {
        let input = [
            Dir("a/"),
            File("a/t", "t"),
            Dir("b/"),
            Link("b/l", "./a/t"),
            File("z", "z"),
        ];
        assert_eq!(
            order(&input, &["b/l"], false).unwrap(),
            keys(&[
                Dir("b/"),
                Dir("a/"),
                File("a/t", "t"),
                Link("b/l", "./a/t"),
                Prefetch,
                File("z", "z")
            ])
        );
    }

    #[test]
    fn everything_missing_still_gets_prefetch_landmark() {
        let input = [File("a", "a")];
        assert_eq!(
            order(&input, &["nope"], true).unwrap(),
            keys(&[Prefetch, File("a", "a")])
        );
        assert_eq!(
            order(&[], &[] as &[&str], false).unwrap(),
            keys(&[NoPrefetch])
        );
    }

    #[test]
    fn directories_move_alone_and_names_move_once() {
        let input = [Dir("d/"), File("d/x", "x"), File("y", "y")];
        assert_eq!(
            order(&input, &["d", "./d/", "/d"], false).unwrap(),
            keys(&[Dir("d/"), Prefetch, File("d/x", "x"), File("y", "y")])
        );
    }

    #[test]
    fn root_entry_and_root_name() {
        let input = [File("a", "a"), Dir("./"), File("b", "b")];
        assert_eq!(
            order(&input, &["b"], false).unwrap(),
            keys(&[Dir("./"), File("b", "b"), Prefetch, File("a", "a")])
        );
        // Prioritizing the root moves its entry; without one it is never "not found".
        assert_eq!(
            order(&input, &["/"], false).unwrap(),
            keys(&[Dir("./"), Prefetch, File("a", "a"), File("b", "b")])
        );
        assert_eq!(
            order(&[File("a", "a")], &["."], false).unwrap(),
            keys(&[Prefetch, File("a", "a")])
        );
    }

    #[test]
    fn landmarks_below_the_root_are_kept() {
        let input = [
            File("sub/.prefetch.landmark", "x"),
            File("./.no.prefetch.landmark", "y"),
        ];
        assert_eq!(
            order(&input, &[] as &[&str], false).unwrap(),
            keys(&[NoPrefetch, File("sub/.prefetch.landmark", "x")])
        );
    }

    #[test]
    fn hardlink_cycles_are_errors() {
        let self_link = [Link("a", "a")];
        assert!(matches!(
            order(&self_link, &["a"], true),
            Err(Error::HardlinkCycle { .. })
        ));
        let pair = [Link("a", "b"), Link("b", "./a")];
        assert!(matches!(
            order(&pair, &["b"], false),
            Err(Error::HardlinkCycle { .. })
        ));
        // A link into its own subtree (the parent walk comes back to it).
        let into_self = [Link("d", "d/x"), File("d/x", "x")];
        assert!(matches!(
            order(&into_self, &["d"], false),
            Err(Error::HardlinkCycle { .. })
        ));
        // Not prioritized: no walk, no error.
        assert!(order(&pair, &[] as &[&str], false).is_ok());
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // Directory nesting (names grow, so keep the total size moderate).
        const DEPTH: usize = 2_000;
        let mut names = Vec::with_capacity(DEPTH);
        let mut name = Vec::new();
        for _ in 0..DEPTH {
            if !name.is_empty() {
                name.push(b'/');
            }
            name.push(b'd');
            names.push(name.clone());
        }
        let entries: Vec<OrderEntry<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| OrderEntry::new(n, EntryKind::Directory, i))
            .collect();
        let deepest = names.last().cloned().unwrap_or_default();
        let got = order_entries(&entries, &[deepest], &OrderOptions::default()).unwrap();
        assert_eq!(got.landmark_position, DEPTH);
        assert!(got.entries.iter().copied().eq(0..DEPTH));
    }

    #[test]
    fn long_hardlink_chains_do_not_overflow_the_stack() {
        // l0 -> l1 -> ... -> l(N-1) -> f
        const LEN: usize = 100_000;
        let names: Vec<Vec<u8>> = (0..LEN).map(|i| format!("l{i}").into_bytes()).collect();
        let mut entries: Vec<OrderEntry<'_>> = names
            .iter()
            .zip(names.iter().skip(1))
            .enumerate()
            .map(|(i, (n, next))| OrderEntry::new(n, EntryKind::Hardlink { target: next }, i))
            .collect();
        if let Some(last) = names.last() {
            entries.push(OrderEntry::new(
                last,
                EntryKind::Hardlink { target: b"f" },
                LEN - 1,
            ));
        }
        entries.push(OrderEntry::new(b"f", EntryKind::Regular, LEN));
        let got = order_entries(&entries, &["l0"], &OrderOptions::default()).unwrap();
        assert_eq!(got.landmark_position, LEN + 1);
        assert!(got.entries.iter().copied().eq((0..=LEN).rev()));
    }

    #[test]
    fn non_utf8_names() {
        let entries = [
            OrderEntry::new(b"\xff/", EntryKind::Directory, 0),
            OrderEntry::new(b"\xff/\xfe", EntryKind::Regular, 1),
            OrderEntry::new(b"ok", EntryKind::Regular, 2),
        ];
        let got = order_entries(&entries, &[b"/\xff/\xfe"], &OrderOptions::default()).unwrap();
        assert_eq!(got.prioritized(), [0, 1]);
        assert_eq!(got.rest(), [2]);
    }

    /// A naive model of the reference's `importTar` + `sortEntries` + `moveRec`, kept close to
    /// the Go structure (linear removals, plain recursion with a depth bound standing in for
    /// "recurses forever").
    mod model {
        use super::super::*;

        #[derive(Clone)]
        pub(super) struct E {
            pub(super) clean: Vec<u8>,
            pub(super) index: usize,
            pub(super) link: Option<Vec<u8>>,
        }

        #[derive(Default)]
        struct TarFile {
            stream: Vec<E>,
        }

        impl TarFile {
            fn get(&self, name: &[u8]) -> Option<&E> {
                self.stream.iter().find(|e| e.clean == name)
            }
            fn remove(&mut self, name: &[u8]) {
                self.stream.retain(|e| e.clean != name);
            }
        }

        #[derive(Debug, PartialEq)]
        pub(super) enum R {
            Ok(Vec<usize>, usize, Landmark, Vec<Vec<u8>>),
            NotFound(Vec<u8>, Vec<u8>),
            Cycle,
        }

        enum Fail {
            NotFound(Vec<u8>),
            Deep,
        }

        fn move_rec(
            name: &[u8],
            input: &mut TarFile,
            out: &mut TarFile,
            depth: usize,
        ) -> Result<(), Fail> {
            if depth > 1000 {
                return Err(Fail::Deep);
            }
            let name = clean_name(name).into_owned();
            if name.is_empty() {
                if let Some(e) = input.get(&name).cloned() {
                    out.stream.push(e);
                    input.remove(&name);
                }
                return Ok(());
            }
            if input.get(&name).is_none() && out.get(&name).is_none() {
                return Err(Fail::NotFound(name));
            }
            move_rec(parent(&name), input, out, depth + 1)?;
            if let Some(link) = input.get(&name).and_then(|e| e.link.clone()) {
                move_rec(&link, input, out, depth + 1)?;
            }
            if let Some(e) = input.get(&name).cloned() {
                out.stream.push(e);
                input.remove(&name);
            }
            Ok(())
        }

        pub(super) fn sort(entries: &[E], prioritized: &[Vec<u8>], allow: bool) -> R {
            let mut input = TarFile::default();
            for e in entries {
                if e.clean == PREFETCH_LANDMARK.as_bytes()
                    || e.clean == NO_PREFETCH_LANDMARK.as_bytes()
                {
                    continue;
                }
                input.remove(&e.clean);
                input.stream.push(e.clone());
            }
            let mut out = TarFile::default();
            let mut missed = Vec::new();
            for p in prioritized {
                match move_rec(p, &mut input, &mut out, 0) {
                    Ok(()) => {}
                    Err(Fail::NotFound(_)) if allow => missed.push(p.clone()),
                    Err(Fail::NotFound(m)) => return R::NotFound(p.clone(), m),
                    Err(Fail::Deep) => return R::Cycle,
                }
            }
            let landmark = if prioritized.is_empty() {
                Landmark::NoPrefetch
            } else {
                Landmark::Prefetch
            };
            let position = out.stream.len();
            let order = out
                .stream
                .iter()
                .chain(&input.stream)
                .map(|e| e.index)
                .collect();
            R::Ok(order, position, landmark, missed)
        }
    }

    fn arb_name() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            proptest::sample::select(vec!["", "./", "/", "../"]),
            proptest::collection::vec(
                proptest::sample::select(vec!["a", "b", "c", ".prefetch.landmark"]),
                0..4,
            ),
            any::<bool>(),
        )
            .prop_map(|(prefix, parts, slash)| {
                let mut name = format!("{prefix}{}", parts.join("/"));
                if slash {
                    name.push('/');
                }
                name.into_bytes()
            })
    }

    type Input = (Vec<u8>, u8, Vec<u8>);

    fn arb_input() -> impl proptest::strategy::Strategy<Value = (Vec<Input>, Vec<Vec<u8>>, bool)> {
        use proptest::prelude::*;
        (
            proptest::collection::vec((arb_name(), 0u8..4, arb_name()), 0..14),
            proptest::collection::vec(arb_name(), 0..5),
            any::<bool>(),
        )
    }

    fn kind_of(kind: u8, target: &[u8]) -> EntryKind<'_> {
        match kind {
            0 => EntryKind::Directory,
            1 => EntryKind::Regular,
            2 => EntryKind::Hardlink { target },
            _ => EntryKind::Other,
        }
    }

    proptest::proptest! {
        #[test]
        fn matches_reference_model((input, prioritized, allow) in arb_input()) {
            let entries: Vec<OrderEntry<'_>> = input
                .iter()
                .enumerate()
                .map(|(i, (name, kind, target))| OrderEntry::new(name, kind_of(*kind, target), i))
                .collect();
            let model_entries: Vec<model::E> = entries
                .iter()
                .map(|e| model::E {
                    clean: clean_name(e.name).into_owned(),
                    index: e.index,
                    link: match e.kind {
                        EntryKind::Hardlink { target } => Some(target.to_vec()),
                        _ => None,
                    },
                })
                .collect();
            let want = model::sort(&model_entries, &prioritized, allow);
            let options = OrderOptions::default().with_allow_not_found(allow);
            let got = match order_entries(&entries, &prioritized, &options) {
                Ok(o) => model::R::Ok(o.entries, o.landmark_position, o.landmark, o.not_found),
                Err(Error::PrioritizedNotFound { prioritized, missing }) => model::R::NotFound(prioritized, missing),
                Err(Error::HardlinkCycle { .. }) => model::R::Cycle,
                Err(e) => panic!("unexpected {e}"),
            };
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn order_properties((input, prioritized, _allow) in arb_input()) {
            let entries: Vec<OrderEntry<'_>> = input
                .iter()
                .enumerate()
                .map(|(i, (name, kind, target))| OrderEntry::new(name, kind_of(*kind, target), i))
                .collect();
            let options = OrderOptions::default().with_allow_not_found(true);
            let Ok(order) = order_entries(&entries, &prioritized, &options) else {
                return Ok(()); // hardlink cycles
            };
            // A permutation of the kept entries: last occurrence of each cleaned name, root
            // landmarks dropped.
            let cleaned: Vec<Vec<u8>> = entries.iter().map(|e| clean_name(e.name).into_owned()).collect();
            let mut kept: Vec<usize> = (0..entries.len())
                .filter(|&i| {
                    let n = &cleaned[i];
                    n != PREFETCH_LANDMARK.as_bytes()
                        && n != NO_PREFETCH_LANDMARK.as_bytes()
                        && !cleaned[i + 1..].contains(n)
                })
                .collect();
            let mut got = order.entries.clone();
            got.sort_unstable();
            kept.sort_unstable();
            proptest::prop_assert_eq!(got, kept);
            // Every prioritized name found precedes the landmark.
            for p in &prioritized {
                if order.not_found.contains(p) {
                    continue;
                }
                let p = clean_name(p);
                if let Some(i) = (0..entries.len()).rev().find(|&i| cleaned[i] == *p) {
                    proptest::prop_assert!(order.prioritized().contains(&i));
                }
            }
            // In the front section, ancestors and link targets come before an entry.
            let front = order.prioritized();
            for (pos, &i) in front.iter().enumerate() {
                let mut name = cleaned[i].as_slice();
                if name.is_empty() {
                    continue; // the root: no ancestors, link targets are not followed
                }
                while !name.is_empty() {
                    name = parent(name);
                    if let Some(j) = order.entries.iter().position(|&j| cleaned[j] == name) {
                        proptest::prop_assert!(j < pos, "ancestor after entry");
                    }
                }
                if let EntryKind::Hardlink { target } = entries[i].kind {
                    let target = clean_name(target);
                    if let Some(j) = order.entries.iter().position(|&j| cleaned[j] == *target) {
                        proptest::prop_assert!(j < pos, "link target after link");
                    }
                }
            }
            // The rest keeps input order.
            proptest::prop_assert!(order.rest().windows(2).all(|w| w[0] < w[1]));
        }
    }
}
