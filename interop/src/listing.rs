//! File listings the interop tests compare: path → (size, lowercase hex sha256) of every
//! regular file, as the reference's `verify` prints them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{CorpusTar, LANDMARK_SHA256, NO_PREFETCH_LANDMARK, Reference, Result};

/// Regular files by cleaned path: (size, lowercase hex sha256).
pub type Listing = BTreeMap<String, (u64, String)>;

impl Reference {
    /// The reference's verified listing of `blob` (see [`Reference::verify`]).
    pub fn listing(&self, blob: &Path, toc_digest: &str) -> Result<Listing> {
        Ok(self
            .verify(blob, toc_digest)?
            .into_iter()
            .map(|f| (f.path, (f.size, f.sha256)))
            .collect())
    }
}

impl CorpusTar {
    /// What the reference lists for a blob built from this tar with default options: the
    /// tar's regular files plus the `.no.prefetch.landmark` the build adds.
    pub fn expected_listing(&self) -> Listing {
        let mut listing: Listing = self
            .expected_regular_files
            .iter()
            .map(|f| (f.path.clone(), (f.size, f.sha256.clone())))
            .collect();
        listing.insert(NO_PREFETCH_LANDMARK.into(), (1, LANDMARK_SHA256.into()));
        listing
    }
}
