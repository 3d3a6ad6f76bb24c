//! # bia-build
//!
//! The build script of a Bia service in one call: compile the service's `.proto` files with
//! [protox] (a proto compiler written in Rust, so no system `protoc` is needed), generate
//! messages, tonic servers and clients with tonic-prost-build, and write the descriptor set that
//! server reflection serves.
//!
//! A service made by `bia new` keeps its protos in `proto/`, and its `build.rs` is:
//!
//! ```no_run
//! fn main() -> Result<(), bia_build::Error> {
//!     bia_build::compile_protos()
//! }
//! ```
//!
//! and its `src/lib.rs` includes what that wrote to `OUT_DIR`:
//!
//! ```ignore
//! pub mod pb {
//!     include!(concat!(env!("OUT_DIR"), "/pb.rs"));
//!     pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
//! }
//! ```
//!
//! [`Builder`] chooses other folders, files and names:
//!
//! ```no_run
//! fn main() -> Result<(), bia_build::Error> {
//!     bia_build::Builder::new()
//!         .proto_dir("tests/proto")
//!         .files(["echo/v1/echo.proto"])
//!         .descriptor_set_name("echo_descriptor.bin")
//!         .compile()
//! }
//! ```
//!
//! Every message gets an `impl bia::validate::Validate` compiled from its `buf.validate`
//! (protovalidate) rules, and the generated servers check each request with it before the
//! handler runs. A rule that bia-build cannot compile into Rust (CEL expressions, for now) is a
//! build error naming the field, never skipped.
//!
//! An enum with the options of the bundled `bia/errors.proto` also gets error helpers in its
//! package's module (see that file): `ErrorReason::UserNotFound.error("user 42 not found")`
//! builds a `bia::Error` with the code, reason and domain the proto declares, and
//! `is_user_not_found(&status)` / `ErrorReason::from_status(&status)` read them back on a client.
//! The generated code calls `bia` and `tonic`, which every Bia service depends on.
//!
//! Errors name `file:line:column` with the offending source line, and a missing import names
//! the folders that were searched. Returned from `main`, they are printed readably (their
//! `Debug` form is the message, with a hint).

#![warn(missing_docs)]

mod bundled;
mod codegen;
mod error;
mod errors;
mod validate;

use std::path::{Path, PathBuf};

pub use bundled::{BUNDLED_PROTOS, bundled_names};
pub use codegen::{prost_config, service_generator};
pub use error::Error;

/// The folder of a service's protos, relative to its `Cargo.toml`.
pub const PROTO_DIR: &str = "proto";
/// The descriptor set file written to `OUT_DIR`, for `tonic::include_file_descriptor_set!("descriptor")`.
pub const DESCRIPTOR_SET: &str = "descriptor.bin";
/// The file that includes every generated module, for `include!(concat!(env!("OUT_DIR"), "/pb.rs"))`.
pub const INCLUDE_FILE: &str = "pb.rs";

/// Compiles every `.proto` under `proto/` (imports resolved against `proto/` and the built-in
/// `google/protobuf/*`), writes `$OUT_DIR/descriptor.bin` (imports and source info included) and
/// the generated code with `$OUT_DIR/pb.rs` including it, and tells cargo to run the build
/// script again when anything under `proto/` changes.
///
/// The same as `Builder::new().compile()`.
pub fn compile_protos() -> Result<(), Error> {
    Builder::new().compile()
}

/// Which protos to compile, and where the results go.
///
/// Defaults: every `.proto` under [`PROTO_DIR`], imports resolved against it, outputs in
/// `OUT_DIR` as [`DESCRIPTOR_SET`] and [`INCLUDE_FILE`], `cargo:rerun-if-changed` printed for
/// every folder searched.
#[derive(Debug, Clone)]
pub struct Builder {
    proto_dir: PathBuf,
    files: Option<Vec<PathBuf>>,
    includes: Vec<PathBuf>,
    out_dir: Option<PathBuf>,
    descriptor_set: String,
    include_file: String,
    rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// The defaults described on [`Builder`].
    pub fn new() -> Self {
        Self {
            proto_dir: PathBuf::from(PROTO_DIR),
            files: None,
            includes: Vec::new(),
            out_dir: None,
            descriptor_set: DESCRIPTOR_SET.to_owned(),
            include_file: INCLUDE_FILE.to_owned(),
            rerun_if_changed: true,
        }
    }

    /// The folder the protos live in (`proto` by default). It is the first folder imports are
    /// resolved against, and without [`files`](Self::files) every `.proto` under it is compiled.
    /// A file in it may be a symbolic link to another project's proto (one copy of an API that
    /// a server and its clients share): it compiles under its name in this folder.
    pub fn proto_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.proto_dir = dir.into();
        self
    }

    /// Compiles only these files instead of every `.proto` under the proto folder. Each is a
    /// path relative to the proto folder (`user/v1/user.proto`), or a path (absolute, or
    /// relative to the current folder) inside one of the include folders.
    pub fn files<I, P>(mut self, files: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.files = Some(files.into_iter().map(Into::into).collect());
        self
    }

    /// Another folder that imports are resolved against, searched after the proto folder and
    /// before the built-in `google/protobuf/*.proto`. Repeat for several.
    pub fn include(mut self, dir: impl Into<PathBuf>) -> Self {
        self.includes.push(dir.into());
        self
    }

    /// Where to write (default: `OUT_DIR`, which cargo sets for build scripts).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The name of the descriptor set file (default [`DESCRIPTOR_SET`]).
    pub fn descriptor_set_name(mut self, name: impl Into<String>) -> Self {
        self.descriptor_set = name.into();
        self
    }

    /// The name of the file that includes every generated module (default [`INCLUDE_FILE`]).
    pub fn include_file(mut self, name: impl Into<String>) -> Self {
        self.include_file = name.into();
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for the folders searched (default: yes).
    pub fn rerun_if_changed(mut self, yes: bool) -> Self {
        self.rerun_if_changed = yes;
        self
    }

    /// The folders imports are resolved against, in order: the proto folder, then the includes.
    pub fn include_dirs(&self) -> Vec<&Path> {
        std::iter::once(self.proto_dir.as_path())
            .chain(self.includes.iter().map(PathBuf::as_path))
            .collect()
    }

    /// Compiles the protos into descriptors, without generating code or writing anything.
    pub fn load(&self) -> Result<Protos, Error> {
        let includes = self.include_dirs();
        let mut canonical = Vec::new();
        for include in &includes {
            if !include.is_dir() {
                return Err(Error::not_found("include folder", include));
            }
            canonical.push(
                include
                    .canonicalize()
                    .map_err(|e| Error::io("read", include, e))?,
            );
        }
        let files = match &self.files {
            Some(files) => files
                .iter()
                .map(|file| self.locate(file))
                .collect::<Result<Vec<_>, _>>()?,
            None => find_protos(&self.proto_dir)?,
        };
        let shown = error::Shown::new(&includes, &canonical);
        let mut compiler = protox::Compiler::with_file_resolver(codegen::resolver(&canonical));
        compiler.include_imports(true).include_source_info(true);
        for file in &files {
            // By its name under the folder it was found in, as an import would be: a file that
            // is a link to another project's proto (one copy of an API two services share)
            // keeps the name it has here instead of its target's path outside every folder.
            let name = includes
                .iter()
                .find_map(|include| import_name(file, include));
            let path = match name {
                Some(name) => PathBuf::from(name),
                None => file
                    .canonicalize()
                    .map_err(|e| Error::io("read", file, e))?,
            };
            compiler
                .open_file(&path)
                .map_err(|e| Error::proto(&e, &shown))?;
        }
        let files = compiler
            .files()
            .map(|meta| ProtoFile {
                name: meta.name().to_owned(),
                path: meta.path().map(Path::to_path_buf),
                is_import: meta.is_import(),
            })
            .collect();
        Ok(Protos {
            fds: compiler.file_descriptor_set(),
            pool: compiler.descriptor_pool(),
            files,
        })
    }

    /// Compiles the protos, writes the descriptor set and generates the code.
    pub fn compile(self) -> Result<(), Error> {
        if self.rerun_if_changed {
            for dir in self.include_dirs() {
                println!("cargo:rerun-if-changed={}", dir.display());
            }
        }
        let protos = self.load()?;
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                Error::message(
                    "OUT_DIR is not set: call bia_build from a build script, or set Builder::out_dir",
                )
            })?,
        };
        std::fs::create_dir_all(&out_dir).map_err(|e| Error::io("create folder", &out_dir, e))?;
        let descriptor = out_dir.join(&self.descriptor_set);
        // From the pool, not `fds`: its prost types would drop the custom options that
        // reflection clients and the gateway read at run time.
        std::fs::write(&descriptor, protos.pool.encode_to_vec())
            .map_err(|e| Error::io("write", &descriptor, e))?;
        codegen::generate(protos.fds, &protos.pool, &out_dir, &self.include_file)
    }

    fn locate(&self, file: &Path) -> Result<PathBuf, Error> {
        let under_proto_dir = self.proto_dir.join(file);
        if under_proto_dir.is_file() {
            Ok(under_proto_dir)
        } else if file.is_file() {
            Ok(file.to_path_buf())
        } else {
            Err(Error::not_found("proto file", &under_proto_dir))
        }
    }
}

/// The import name of `file` (`user/v1/user.proto`) if it lies under `include`, `/`-separated.
fn import_name(file: &Path, include: &Path) -> Option<String> {
    let relative = file.strip_prefix(include).ok()?;
    let parts = relative
        .components()
        .map(|part| match part {
            std::path::Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Compiled protos: the descriptors, imports included, and where each file came from.
#[derive(Debug, Clone)]
pub struct Protos {
    /// Every file, imports and the well-known types included, dependencies first, with source
    /// info (comments and locations).
    pub fds: prost_types::FileDescriptorSet,
    /// The same files as a descriptor pool that keeps the options' extensions (such as
    /// `buf.validate` rules and `google.api.http` bindings), which `fds` drops.
    pub pool: prost_reflect::DescriptorPool,
    /// The files of [`fds`](Self::fds), in the same order.
    pub files: Vec<ProtoFile>,
}

/// One file of [`Protos`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoFile {
    /// Its name relative to the folder it was found in (`user/v1/user.proto`).
    pub name: String,
    /// Where it is on disk; `None` for the built-in `google/protobuf/*.proto`.
    pub path: Option<PathBuf>,
    /// Whether it was only imported rather than asked for.
    pub is_import: bool,
}

/// Every `.proto` file under `dir`, sorted.
pub fn find_protos(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
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
    if !dir.is_dir() {
        return Err(Error::not_found("proto folder", dir));
    }
    let mut found = Vec::new();
    walk(dir, &mut found)?;
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests;
