//! Loading .proto files with protox (the same compiler a generated build.rs uses), and turning
//! its errors into `file:line:column` messages that show the offending text.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use miette::Diagnostic;
use prost_types::FileDescriptorSet;

use crate::errors::{Error, Result};

/// Compiled protos: the descriptors (imports included) and where each file came from.
#[derive(Debug)]
pub(crate) struct ProtoSet {
    /// Every file, imports and well-known types included, dependencies first.
    pub(crate) fds: FileDescriptorSet,
    /// The names (relative to their include folder) of the files asked for.
    pub(crate) roots: Vec<String>,
    /// The files that are not protox built-ins: name and path on disk, to be copied.
    pub(crate) sources: Vec<(String, PathBuf)>,
}

/// The include folder used for `file` when none is given: the closest `proto/` or `api/` folder
/// it is in, else its own folder.
pub(crate) fn default_include(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new(""));
    let mut root = None;
    let mut walked = PathBuf::new();
    for component in parent.components() {
        walked.push(component);
        if let Component::Normal(name) = component
            && (name == "proto" || name == "api")
        {
            root = Some(walked.clone());
        }
    }
    match root {
        Some(root) => root,
        None if parent.as_os_str().is_empty() => PathBuf::from("."),
        None => parent.to_path_buf(),
    }
}

/// Compiles `files` against `includes` (each file's [`default_include`] when empty).
pub(crate) fn load(files: &[PathBuf], includes: &[PathBuf]) -> Result<ProtoSet> {
    for file in files {
        if !file.is_file() {
            return Err(Error::NotFound {
                what: "proto file",
                path: file.clone(),
            });
        }
    }
    let mut includes: Vec<PathBuf> = includes.to_vec();
    if includes.is_empty() {
        for file in files {
            let include = default_include(file);
            if !includes.contains(&include) {
                includes.push(include);
            }
        }
    }
    let mut canonical = Vec::new();
    for include in &includes {
        if !include.is_dir() {
            return Err(Error::NotFound {
                what: "include folder",
                path: include.clone(),
            });
        }
        canonical.push(canonicalize(include)?);
    }
    let shown = Shown {
        includes: &includes,
        canonical: &canonical,
    };

    let mut compiler =
        protox::Compiler::new(&canonical).map_err(|e| Error::Proto(describe(&e, &shown)))?;
    compiler.include_imports(true).include_source_info(true);
    for file in files {
        let path = canonicalize(file)?;
        compiler
            .open_file(&path)
            .map_err(|e| Error::Proto(describe(&e, &shown)))?;
    }
    let mut roots = Vec::new();
    let mut sources = Vec::new();
    for meta in compiler.files() {
        if !meta.is_import() {
            roots.push(meta.name().to_owned());
        }
        if let Some(path) = meta.path() {
            sources.push((meta.name().to_owned(), path.to_path_buf()));
        }
    }
    Ok(ProtoSet {
        fds: compiler.file_descriptor_set(),
        roots,
        sources,
    })
}

/// Every `.proto` file under `dir`, sorted.
pub(crate) fn find_protos(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    walk(dir, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}

fn canonicalize(path: &Path) -> Result<PathBuf> {
    path.canonicalize().map_err(|e| Error::io("read", path, e))
}

/// Maps a proto file name back to the path the user knows it by.
struct Shown<'a> {
    includes: &'a [PathBuf],
    canonical: &'a [PathBuf],
}

impl Shown<'_> {
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
/// offending text for each location, then a hint. (protox's `Display` has no location; its
/// miette diagnostic has the spans.)
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
    let _ = write!(out, "\n{}", hint(err));
    out
}

fn hint(err: &protox::Error) -> &'static str {
    if err.is_file_not_found() {
        "hint: pass -I DIR for each folder that imports are relative to (the folder holding \
         `foo/v1/bar.proto` for `import \"foo/v1/bar.proto\"`); google/protobuf/*.proto are built in"
    } else if err.is_io() {
        "hint: check that the file exists and can be read"
    } else {
        "hint: fix the .proto file and run the command again"
    }
}
