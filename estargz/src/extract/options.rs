//! What extraction restores beyond names, types and contents.

/// Options of [`Reader::extract_to`](crate::reader::Reader::extract_to).
///
/// [`ExtractOptions::default`] is [`ExtractOptions::for_current_user`]: owners, devices
/// and setuid/setgid bits are restored only when the effective user is root, as GNU tar
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// Set every entry's owner to the TOC's numeric `uid` and `gid` (user and group names
    /// are ignored). Needs root.
    pub owners: bool,
    /// Create character and block devices. Without it (or without the privilege to do
    /// so) they are skipped and listed in [`ExtractReport::skipped`]. FIFOs are always
    /// created.
    ///
    /// [`ExtractReport::skipped`]: super::ExtractReport::skipped
    pub devices: bool,
    /// Keep the setuid and setgid bits of modes (the sticky bit is always kept).
    pub setid_bits: bool,
    /// Set extended attributes. Those the file system or the user's privileges refuse
    /// (for example `trusted.*` when not root) are skipped and listed in
    /// [`ExtractReport::skipped`](super::ExtractReport::skipped).
    pub xattrs: bool,
    /// Also write the landmark files (`.prefetch.landmark`, `.no.prefetch.landmark`) that
    /// the encoder adds at the root. They are not part of the layer, so they are left out
    /// by default.
    pub landmarks: bool,
}

impl ExtractOptions {
    /// Options for the current process: owners, devices and setuid/setgid bits when the
    /// effective user is root; extended attributes always; no landmarks.
    pub fn for_current_user() -> Self {
        let root = rustix::process::geteuid().is_root();
        Self {
            owners: root,
            devices: root,
            setid_bits: root,
            xattrs: true,
            landmarks: false,
        }
    }
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self::for_current_user()
    }
}
