//! What Bia generates from compiled descriptors, and where imports are found.
//!
//! Both are in one place so that everything built on Bia agrees: a service's build script, the
//! `bia` command (which runs [`service_generator`] in-process to learn the exact names of the
//! generated traits for its stubs) and the framework's tests.
//!
//! Later passes (generated validation from `buf.validate` rules, error helpers from an
//! `ErrorReason` enum) belong in [`generate`], each a function over the same
//! `FileDescriptorSet` that writes its own file into `out_dir` and is included from the include
//! file; protos that ship with Bia (googleapis, `buf/validate/validate.proto`) are in
//! [`crate::bundled`], resolved after the user's folders.

use std::path::{Path, PathBuf};

use protox::file::{ChainFileResolver, GoogleFileResolver, IncludeFileResolver};

use crate::Error;

/// The resolver of imports: the given folders in order, then the protos bundled with Bia
/// (googleapis, protovalidate), then protox's built-in `google/protobuf/*.proto`.
pub(crate) fn resolver(includes: &[PathBuf]) -> ChainFileResolver {
    let mut resolver = ChainFileResolver::new();
    for include in includes {
        resolver.add(IncludeFileResolver::new(include.clone()));
    }
    resolver.add(crate::bundled::BundledFileResolver);
    resolver.add(GoogleFileResolver::new());
    resolver
}

/// The prost configuration of every Bia service: prost's defaults (the well-known types map to
/// `prost-types`, messages live in one module per proto package).
pub fn prost_config() -> prost_build::Config {
    prost_build::Config::new()
}

/// The service generator of every Bia service: tonic-prost-build's servers and clients with
/// its defaults (transport included).
///
/// Wrap it to observe what is generated, as `bia proto server` does:
///
/// ```
/// struct Names(Box<dyn prost_build::ServiceGenerator>, Vec<String>);
///
/// impl prost_build::ServiceGenerator for Names {
///     fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
///         self.1.push(service.name.clone());
///         self.0.generate(service, buf);
///     }
/// }
///
/// let names = Names(bia_build::service_generator(), Vec::new());
/// # drop(names);
/// ```
pub fn service_generator() -> Box<dyn prost_build::ServiceGenerator> {
    tonic_prost_build::configure().service_generator()
}

/// Generates the code for `fds` into `out_dir`, with `include_file` including every module.
pub(crate) fn generate(
    fds: prost_types::FileDescriptorSet,
    out_dir: &Path,
    include_file: &str,
) -> Result<(), Error> {
    let mut config = prost_config();
    config
        .out_dir(out_dir)
        .include_file(include_file)
        .service_generator(service_generator());
    config
        .compile_fds(fds)
        .map_err(|e| Error::io("generate code into", out_dir, e))
}
