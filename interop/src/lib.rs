//! Helpers shared by the interop tests: building the reference Go program, generating the
//! corpus of tricky tars, and running both implementations over it.
//!
//! The reference is Debian's `golang-github-containerd-stargz-snapshotter-dev` (estargz
//! 0.12.0) compiled with Debian's Go into the small program `interop/go/esgz-ref`. Missing
//! tools are an error ([`Error::Setup`]) that tells you to run the README's test command
//! (`scripts/test-all.sh`); these tests are never skipped silently.
//!
//! ```no_run
//! # fn demo(work: &std::path::Path) -> estargz_interop::Result<()> {
//! // In an integration test, `work` is `estargz_interop::work_dir!()`.
//! let reference = estargz_interop::reference(work)?;
//! for tar in estargz_interop::corpus(work)?.accepted() {
//!     let blob = work.join(format!("{}.blob", tar.file));
//!     let built = reference.build(&tar.path, &blob, &Default::default())?;
//!     reference.verify(&blob, &built.toc_digest)?;
//! }
//! # Ok(())
//! # }
//! ```

mod cache;
pub mod corpus;
mod error;
pub mod json;
pub mod layers;
pub mod listing;
pub mod reference;
pub mod tar_split;

pub use corpus::{Corpus, CorpusTar, ExpectedFile, corpus};
pub use error::{Error, Result};
pub use layers::minbase_tar;
pub use listing::Listing;
pub use reference::{BlobInfo, BuildOptions, BuildOutput, Reference, VerifiedFile, reference};
pub use tar_split::{TarSplitRef, tar_split_ref};

use std::path::{Path, PathBuf};

/// The landmark `estargz.Build` adds when nothing is prioritized.
pub const NO_PREFETCH_LANDMARK: &str = ".no.prefetch.landmark";
/// The landmark `estargz.Build` adds after prioritized files.
pub const PREFETCH_LANDMARK: &str = ".prefetch.landmark";
/// Lowercase hex sha256 of the landmark content (one byte `0x0f`).
pub const LANDMARK_SHA256: &str =
    "dc0e9c3658a1a3ed1ec94274d8b19925c93e1abb7ddba294923ad9bde30f8cb8";

/// The cargo-provided scratch directory of the calling integration test or
/// bench (`env!("CARGO_TARGET_TMPDIR")`, expanded in the caller's crate), as
/// a `&'static Path`.
#[macro_export]
macro_rules! work_dir {
    () => {
        ::std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
    };
}

/// A fresh, empty directory `work_dir/scratch/<name>` (removed and recreated).
pub fn scratch_dir(work_dir: &Path, name: &str) -> Result<PathBuf> {
    let d = work_dir.join("scratch").join(name);
    match std::fs::remove_dir_all(&d) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("cleaning scratch directory", Some(&d), e)),
    }
    std::fs::create_dir_all(&d)
        .map_err(|e| Error::io("creating scratch directory", Some(&d), e))?;
    Ok(d)
}
