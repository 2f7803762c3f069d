//! The crate's error type.

/// Everything that can go wrong in this crate.
///
/// All variants are invalid arguments or inputs the caller has to fix; names are raw bytes
/// (tar names need not be UTF-8) and are shown escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A chunk size of zero was requested.
    #[error("invalid chunk size 0: must be greater than zero")]
    ZeroChunkSize,
    /// A prioritized file, one of its parent directories, or (for a hardlink) its target has
    /// no entry in the input (the reference's "file: %q: not found").
    #[error(
        "prioritized file \"{}\": \"{}\" not found",
        prioritized.escape_ascii(),
        missing.escape_ascii()
    )]
    PrioritizedNotFound {
        /// The prioritized name as given.
        prioritized: Vec<u8>,
        /// The cleaned name that has no entry (the file itself, an ancestor directory or a
        /// hardlink target).
        missing: Vec<u8>,
    },
    /// Moving a prioritized entry led around a cycle of hardlinks (for example a link to
    /// itself, or to a file inside itself). The reference recurses without end on such input.
    #[error(
        "prioritized file \"{}\": hardlink cycle through \"{}\"",
        prioritized.escape_ascii(),
        name.escape_ascii()
    )]
    HardlinkCycle {
        /// The prioritized name as given.
        prioritized: Vec<u8>,
        /// The cleaned name of an entry on the cycle.
        name: Vec<u8>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_escape_names() {
        let err = Error::PrioritizedNotFound {
            prioritized: b"./x/y\xff".to_vec(),
            missing: b"x".to_vec(),
        };
        assert_eq!(
            err.to_string(),
            "prioritized file \"./x/y\\xff\": \"x\" not found"
        );
        assert_eq!(
            Error::ZeroChunkSize.to_string(),
            "invalid chunk size 0: must be greater than zero"
        );
    }
}
