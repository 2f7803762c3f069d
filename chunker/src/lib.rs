//! How an eStargz encoder cuts files into chunks and orders entries (sans-IO).
//!
//! - [`ChunkPlan`]: a regular file cut into fixed-size chunks (default 4 MiB), with the
//!   `chunkSize` value the reference writes in the TOC for each chunk;
//! - [`MemberPacker`]: minimum-chunk-size packing, deciding before each chunk whether it starts
//!   a new compression member or shares the current one at an `innerOffset`;
//! - [`order_entries`]: the order entries are written in: prioritized files first (with their
//!   parent directories and hardlink targets), then the landmark file (`.prefetch.landmark`,
//!   or `.no.prefetch.landmark` first when nothing is prioritized), then the rest, with the
//!   reference implementation's rules for duplicate names, reserved names and parents that
//!   have no entry of their own;
//!
//! Names are compared after [`estargz_toc::path::clean`], the same rule the reader's index
//! uses.
//!
//! # Design
//!
//! Everything here is a pure function or a small state machine over plain values: no I/O, no
//! tar parsing, no compression. The encoder describes its input entries with
//! [`OrderEntry`] (raw name, kind, an opaque index of its own), reports the bytes it writes to
//! [`MemberPacker`], and gets back plans it carries out. The reference's division of entries
//! into parts for parallel builds is deliberately absent: our encoder's output does not depend
//! on the thread count.
//!
//! # Example
//!
//! ```
//! use estargz_chunker::{
//!     order_entries, ChunkPlan, EntryKind, Item, Landmark, MemberPacker, OrderEntry,
//!     OrderOptions, Placement,
//! };
//!
//! // Order: `bar/baz.txt` is prioritized, so its directory comes first, then the file, then
//! // the landmark, then everything else.
//! let entries = [
//!     OrderEntry::new(b"./foo.txt", EntryKind::Regular, 10),
//!     OrderEntry::new(b"./bar/", EntryKind::Directory, 11),
//!     OrderEntry::new(b"./bar/baz.txt", EntryKind::Regular, 12),
//! ];
//! let order = order_entries(&entries, &["bar/baz.txt"], &OrderOptions::default())?;
//! assert_eq!(order.prioritized(), [11, 12]);
//! assert_eq!(order.landmark, Landmark::Prefetch);
//! assert_eq!(order.rest(), [10]);
//!
//! // Chunking: a 9-byte file with 4-byte chunks.
//! let plan = ChunkPlan::new(9, 4)?;
//! let offsets: Vec<u64> = plan.iter().map(|c| c.offset).collect();
//! assert_eq!(offsets, [0, 4, 8]);
//!
//! // Packing: with no minimum chunk size, every chunk starts a member.
//! let mut packer = MemberPacker::new(0);
//! packer.record_uncompressed(512);
//! assert_eq!(packer.before_chunk(0, false), Placement::NewMember);
//! # Ok::<(), estargz_chunker::Error>(())
//! ```

mod error;
mod order;
mod packer;
mod plan;

pub use error::Error;
pub use order::{
    EntryKind, Item, LANDMARK_CONTENTS, Landmark, NO_PREFETCH_LANDMARK, Order, OrderEntry,
    OrderOptions, PREFETCH_LANDMARK, order_entries,
};
pub use packer::{MemberPacker, Placement};
pub use plan::{Chunk, ChunkPlan, Chunks, DEFAULT_CHUNK_SIZE};
