//! What Bia generates from compiled descriptors, and where imports are found.
//!
//! Both are in one place so that everything built on Bia agrees: a service's build script, the
//! `bia` command (which runs [`service_generator`] in-process to learn the exact names of the
//! generated traits for its stubs) and the framework's tests.
//!
//! Later passes (validation from `buf.validate` rules, error helpers from an `ErrorReason`
//! enum) belong in [`generate`], each appending its code to the package's file with
//! [`append_to_package`]; protos that ship with Bia (googleapis, `buf/validate/validate.proto`)
//! are in [`crate::bundled`], resolved after the user's folders.

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
/// its defaults (transport included), except that servers decode requests with
/// [`bia::validate::ValidatingCodec`](https://docs.rs/bia) so that no handler sees a request
/// that breaks its `buf.validate` rules. Clients keep the plain prost codec: they do not
/// check the responses they receive.
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
    Box::new(ClientsAndServers {
        clients: tonic_prost_build::configure()
            .build_server(false)
            .service_generator(),
        servers: tonic_prost_build::configure()
            .build_client(false)
            .codec_path(VALIDATING_CODEC)
            .service_generator(),
    })
}

/// The codec of generated servers (see [`service_generator`]).
const VALIDATING_CODEC: &str = "::bia::validate::ValidatingCodec";

/// tonic-prost-build takes one codec for both sides, so the client and the server of each
/// service come from two generators, in the order one generator writes them.
struct ClientsAndServers {
    clients: Box<dyn prost_build::ServiceGenerator>,
    servers: Box<dyn prost_build::ServiceGenerator>,
}

impl prost_build::ServiceGenerator for ClientsAndServers {
    fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
        self.clients.generate(service.clone(), buf);
        self.servers.generate(service, buf);
    }

    fn finalize(&mut self, buf: &mut String) {
        self.clients.finalize(buf);
        self.servers.finalize(buf);
    }

    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        self.clients.finalize_package(package, buf);
        self.servers.finalize_package(package, buf);
    }
}

/// Appends `code` to prost's output file of `package` in `out_dir` (`<package>.rs`, `_.rs`
/// for no package), so that it lives in the package's module beside the types it refers to.
pub(crate) fn append_to_package(out_dir: &Path, package: &str, code: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let path =
        out_dir.join(prost_build::Module::from_protobuf_package_name(package).to_file_name_or("_"));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| Error::io("append generated code to", &path, e))?;
    file.write_all(b"\n")
        .and_then(|()| file.write_all(code.as_bytes()))
        .map_err(|e| Error::io("append generated code to", &path, e))
}

/// Generates the code for `fds` into `out_dir`, with `include_file` including every module,
/// then the validation code from the `buf.validate` options and the error helpers of the
/// error reason enums in `pool` (the same files, with their options' extensions, which `fds`
/// has lost).
pub(crate) fn generate(
    fds: prost_types::FileDescriptorSet,
    pool: &prost_reflect::DescriptorPool,
    out_dir: &Path,
    include_file: &str,
) -> Result<(), Error> {
    let mut config = prost_config();
    config
        .out_dir(out_dir)
        .include_file(include_file)
        .service_generator(service_generator());
    config
        .compile_fds(crate::validate::without_rules_proto(fds, pool))
        .map_err(|e| Error::io("generate code into", out_dir, e))?;
    for (package, code) in crate::errors::generate(pool)? {
        append_to_package(out_dir, &package, &code)?;
    }
    crate::validate::generate(pool, out_dir)
}
