//! Loading .proto files with bia-build (protox, the same compiler a service's build.rs uses),
//! with the CLI's own hints added to its `file:line:column` messages.

use std::path::{Component, Path, PathBuf};

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
    /// The same files with their custom options (`buf.validate` rules, ...), which `fds` drops.
    pub(crate) pool: prost_reflect::DescriptorPool,
}

impl ProtoSet {
    /// Whether the generated code refers to `prost-types` (well-known types other than
    /// `Empty` and the wrappers, which map to Rust types).
    pub(crate) fn needs_prost_types(&self) -> bool {
        self.fds.file.iter().any(|f| {
            f.name().starts_with("google/protobuf/")
                && !matches!(
                    f.name(),
                    "google/protobuf/empty.proto" | "google/protobuf/wrappers.proto"
                )
        })
    }
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
    let mut absolute = Vec::new();
    for file in files {
        if !file.is_file() {
            return Err(Error::NotFound {
                what: "proto file",
                path: file.clone(),
            });
        }
        // Absolute, so that a file is never taken for a name under the first include.
        absolute.push(
            file.canonicalize()
                .map_err(|e| Error::io("read", file, e))?,
        );
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
    for include in &includes {
        if !include.is_dir() {
            return Err(Error::NotFound {
                what: "include folder",
                path: include.clone(),
            });
        }
    }
    let (first, rest) = includes
        .split_first()
        .expect("one include per file at least");
    let mut builder = bia_build::Builder::new().proto_dir(first).files(absolute);
    for include in rest {
        builder = builder.include(include);
    }
    let protos = builder.load().map_err(|e| {
        let hint = if e.is_file_not_found() {
            "hint: pass -I DIR for each folder that imports are relative to (the folder holding \
             `foo/v1/bar.proto` for `import \"foo/v1/bar.proto\"`); google/protobuf/*.proto are built in"
        } else if e.is_proto() {
            "hint: fix the .proto file and run the command again"
        } else {
            "hint: check that the file exists and can be read"
        };
        Error::Proto(format!("{e}\n{hint}"))
    })?;
    let roots = protos
        .files
        .iter()
        .filter(|f| !f.is_import)
        .map(|f| f.name.clone())
        .collect();
    let sources = protos
        .files
        .into_iter()
        .filter_map(|f| f.path.map(|path| (f.name, path)))
        .collect();
    Ok(ProtoSet {
        pool: protos.pool,
        fds: protos.fds,
        roots,
        sources,
    })
}

/// Every `.proto` file under `dir`, sorted.
pub(crate) fn find_protos(dir: &Path) -> Result<Vec<PathBuf>> {
    bia_build::find_protos(dir).map_err(|e| Error::Proto(e.to_string()))
}
