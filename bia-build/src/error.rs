//! Errors that say where: `file:line:column`, the source line with a caret under the offending
//! text, and for a missing import the folders that were searched.
//!
//! protox's `Display` carries no location; its miette diagnostic has the spans, which are turned
//! into positions here.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use miette::Diagnostic;

/// Why protos could not be compiled. `Display` is the message; `Debug` (what a build script's
/// `main` prints when it returns the error) adds a hint.
pub struct Error {
    message: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A file or folder that was named does not exist.
    NotFound,
    /// An import that no include folder has.
    ImportNotFound,
    /// A proto does not compile.
    Proto,
    /// Reading or writing failed.
    Io,
    /// Anything else.
    Other,
}

impl Error {
    pub(crate) fn not_found(what: &str, path: &Path) -> Self {
        Self {
            message: format!("{what} {} not found", path.display()),
            kind: Kind::NotFound,
        }
    }

    pub(crate) fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        Self {
            message: format!("cannot {action} {}: {err}", path.display()),
            kind: Kind::Io,
        }
    }

    pub(crate) fn message(message: &str) -> Self {
        Self {
            message: message.to_owned(),
            kind: Kind::Other,
        }
    }

    pub(crate) fn proto(err: &protox::Error, shown: &Shown<'_>) -> Self {
        let kind = if err.is_file_not_found() {
            Kind::ImportNotFound
        } else if err.is_io() {
            Kind::Io
        } else {
            Kind::Proto
        };
        let mut message = describe(err, shown);
        if kind == Kind::ImportNotFound {
            let searched: Vec<String> = shown
                .includes
                .iter()
                .map(|i| i.display().to_string())
                .collect();
            let _ = write!(
                message,
                "\nsearched: {}, then the protos built into Bia ({}) and google/protobuf/*.proto",
                searched.join(", "),
                crate::bundled_names().collect::<Vec<_>>().join(", ")
            );
        }
        Self { message, kind }
    }

    /// Whether an imported file (or a file to compile) was not found in any include folder.
    pub fn is_file_not_found(&self) -> bool {
        matches!(self.kind, Kind::NotFound | Kind::ImportNotFound)
    }

    /// Whether a proto file has a syntax or type error.
    pub fn is_proto(&self) -> bool {
        self.kind == Kind::Proto
    }

    /// What to do about it, in terms of [`crate::Builder`].
    pub fn hint(&self) -> &'static str {
        match self.kind {
            Kind::ImportNotFound => {
                "add the folder that imports are relative to with Builder::include (the folder \
                 holding `foo/v1/bar.proto` for `import \"foo/v1/bar.proto\"`)"
            }
            Kind::NotFound => "check the path; relative paths start at the crate's folder",
            Kind::Proto => "fix the .proto file and build again",
            Kind::Io => "check that the files exist and can be read and written",
            Kind::Other => "see the message above",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nhint: {}", self.message, self.hint())
    }
}

impl std::error::Error for Error {}

/// Maps a proto file name back to the path the user knows it by.
pub(crate) struct Shown<'a> {
    includes: &'a [&'a Path],
    canonical: &'a [PathBuf],
}

impl<'a> Shown<'a> {
    pub(crate) fn new(includes: &'a [&'a Path], canonical: &'a [PathBuf]) -> Self {
        Self {
            includes,
            canonical,
        }
    }

    /// The path to show for `name`, and the file on disk.
    fn path(&self, name: &str) -> (String, Option<PathBuf>) {
        for (include, canonical) in self.includes.iter().zip(self.canonical) {
            let on_disk = canonical.join(name);
            if on_disk.is_file() {
                let path = include.join(name);
                let path = path.strip_prefix(".").unwrap_or(&path);
                return (path.display().to_string(), Some(on_disk));
            }
        }
        (name.to_owned(), None)
    }
}

/// A protox error as `path:line:column: message`, with the source line and a caret under the
/// offending text for each labelled location.
fn describe(err: &protox::Error, shown: &Shown<'_>) -> String {
    let (file, on_disk) = match err.file() {
        Some(name) => {
            let (file, on_disk) = shown.path(name);
            (Some(file), on_disk)
        }
        None => (None, None),
    };
    let text = on_disk.and_then(|path| std::fs::read_to_string(path).ok());
    let mut out = String::new();
    if let Some(source) = err.source_code() {
        let mut diagnostics: Vec<&dyn Diagnostic> = vec![err];
        diagnostics.extend(err.related().into_iter().flatten());
        for diagnostic in diagnostics {
            for label in diagnostic.labels().into_iter().flatten() {
                let Ok(span) = source.read_span(label.inner(), 0, 0) else {
                    continue;
                };
                let (line, column) = (span.line() + 1, span.column() + 1);
                let found = String::from_utf8_lossy(span.data()).trim().to_owned();
                if !out.is_empty() {
                    out.push('\n');
                }
                let file = file.as_deref().unwrap_or("<proto>");
                let _ = write!(out, "{file}:{line}:{column}: {diagnostic}");
                match label.label() {
                    Some(what) if !found.is_empty() => {
                        let _ = write!(out, " ({what}: `{found}`)");
                    }
                    _ if !found.is_empty() => {
                        let _ = write!(out, " (at `{found}`)");
                    }
                    _ => {}
                }
                if let Some(source_line) = text.as_deref().and_then(|t| t.lines().nth(line - 1)) {
                    let width = line.to_string().len();
                    let marks = "^".repeat(found.chars().count().clamp(1, 80));
                    let pad = " ".repeat(column - 1);
                    let _ = write!(
                        out,
                        "\n{line:>width$} | {source_line}\n{:>width$} | {pad}{marks}",
                        ""
                    );
                }
            }
        }
    }
    if out.is_empty() {
        match &file {
            Some(file) if !err.to_string().contains(file.as_str()) => {
                let _ = write!(out, "{file}: {err}");
            }
            _ => {
                let _ = write!(out, "{err}");
            }
        }
    }
    out
}
