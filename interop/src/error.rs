//! The harness error type.

use std::fmt;
use std::path::PathBuf;

/// What went wrong in the harness.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A required tool or Debian package is missing, or building the Go
    /// program / generating the corpus failed. The message says what to do.
    Setup(String),
    /// An I/O error on a path.
    Io {
        /// What the harness was doing.
        context: String,
        /// The path involved, if any.
        path: Option<PathBuf>,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The reference program exited unsuccessfully.
    Reference {
        /// The subcommand (`build`, `verify`, ...).
        subcommand: String,
        /// Its exit code (`None` if killed by a signal).
        code: Option<i32>,
        /// Its standard error, lossily decoded.
        stderr: String,
    },
    /// Output (reference program or manifest) that could not be understood.
    Parse(String),
}

impl Error {
    pub(crate) fn io(
        context: impl Into<String>,
        path: Option<&std::path::Path>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            context: context.into(),
            path: path.map(|p| p.to_path_buf()),
            source,
        }
    }

    /// The message of a [`Error::Setup`], or the whole error as text.
    pub(crate) fn into_setup_message(self) -> String {
        match self {
            Error::Setup(m) => m,
            other => other.to_string(),
        }
    }

    /// The reference's error message if this is a failed reference run.
    pub fn reference_stderr(&self) -> Option<&str> {
        match self {
            Error::Reference { stderr, .. } => Some(stderr),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(m) => write!(f, "interop setup: {m}"),
            Error::Io {
                context,
                path: Some(p),
                source,
            } => write!(f, "{context} ({}): {source}", p.display()),
            Error::Io {
                context,
                path: None,
                source,
            } => write!(f, "{context}: {source}"),
            Error::Reference {
                subcommand,
                code,
                stderr,
            } => {
                write!(
                    f,
                    "reference `esgz-ref {subcommand}` failed (exit {code:?}): {}",
                    stderr.trim_end()
                )
            }
            Error::Parse(m) => write!(f, "interop parse: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The harness result type.
pub type Result<T> = std::result::Result<T, Error>;
