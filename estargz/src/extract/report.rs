//! What an extraction did, and what it left out.

/// The outcome of [`Reader::extract_to`](crate::reader::Reader::extract_to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractReport {
    /// Directories created or reused (the root included), explicit and implicit.
    pub directories: u64,
    /// Regular files written.
    pub files: u64,
    /// Bytes of regular file content written.
    pub bytes: u64,
    /// Symbolic links created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Devices and FIFOs created.
    pub specials: u64,
    /// What was left out, in extraction order.
    pub skipped: Vec<Skipped>,
}

/// Something extraction left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's cleaned path (bytes: names need not be UTF-8).
    pub path: Vec<u8>,
    /// Why it was left out.
    pub reason: SkipReason,
}

/// Why something was left out of an extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A character or block device, not created because
    /// [`ExtractOptions::devices`](super::ExtractOptions::devices) is off or the system
    /// refused (`EPERM`).
    Device,
    /// A hardlink whose target was itself skipped.
    HardlinkToSkipped,
    /// An extended attribute that the file system or the user's privileges refused.
    Xattr {
        /// The attribute's name.
        name: Vec<u8>,
        /// The system's error.
        error: String,
    },
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = String::from_utf8_lossy(&self.path);
        match &self.reason {
            SkipReason::Device => write!(f, "{path:?}: device not created"),
            SkipReason::HardlinkToSkipped => {
                write!(f, "{path:?}: hardlink to a skipped entry not created")
            }
            SkipReason::Xattr { name, error } => write!(
                f,
                "{path:?}: xattr {:?} not set: {error}",
                String::from_utf8_lossy(name)
            ),
        }
    }
}
