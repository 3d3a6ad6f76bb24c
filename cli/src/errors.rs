//! The one error type of the CLI. Every message says what went wrong and how to fix it.

use std::io;
use std::path::PathBuf;

/// Everything that can make a `bia` command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project name cannot be a Cargo package name.
    #[error("invalid project name `{name}`: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is refused, and what would be accepted.
        reason: String,
    },
    /// `--framework` is neither a version, a path nor a git URL.
    #[error("invalid --framework `{spec}`: {reason}")]
    InvalidFramework {
        /// The value given.
        spec: String,
        /// Why it is refused.
        reason: String,
    },
    /// The project folder exists and `--force` was not given.
    #[error("{} exists already; pass --force to replace it, or choose another name or --output", path.display())]
    TargetExists {
        /// The folder that exists.
        path: PathBuf,
    },
    /// A file to be created exists and is never overwritten.
    #[error("{} exists already; {hint}", path.display())]
    FileExists {
        /// The file that exists.
        path: PathBuf,
        /// What to do instead.
        hint: String,
    },
    /// A file or folder given on the command line does not exist.
    #[error("{what} {} not found; check the path (relative paths start at the current folder)", path.display())]
    NotFound {
        /// What kind of thing was looked for (`proto file`, `include folder`, ...).
        what: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// A proto file does not compile: its message carries `file:line:column`s and the source.
    #[error("{0}")]
    Proto(String),
    /// The protos are valid, but something in them cannot be served as generated.
    #[error("{0}")]
    Unsupported(String),
    /// The target folder is not a service project that `bia` can add to.
    #[error("{} is not a bia service project: {reason}", path.display())]
    NotAProject {
        /// The folder looked at.
        path: PathBuf,
        /// What is missing, and what to do.
        reason: String,
    },
    /// A template could not be rendered.
    #[error("template {name}: {message}")]
    Template {
        /// The template file.
        name: String,
        /// The engine's message (with the line).
        message: String,
    },
    /// `bia call` failed: its own message, and an exit code that tells an error status apart.
    #[error(transparent)]
    Call(#[from] crate::call::CallError),
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}{}", path.display(), io_hint(source))]
    Io {
        /// What was being done (`write`, `read`, `create folder`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl Error {
    /// The process exit code for this error: 2 when the command line itself is wrong, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidName { .. } | Error::InvalidFramework { .. } => 2,
            Error::Call(err) => err.exit_code(),
            _ => 1,
        }
    }

    /// An [`Error::Io`] for `action` on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

fn io_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "; choose a folder you can write to (--output) or fix its permissions"
        }
        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists => {
            "; a file is in the way: choose another folder"
        }
        io::ErrorKind::StorageFull => "; free some disk space and try again",
        _ => "",
    }
}

/// The result type of the CLI.
pub type Result<T, E = Error> = std::result::Result<T, E>;
