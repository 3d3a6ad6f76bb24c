//! Protos that ship inside Bia, importable with no include folder: the googleapis files most
//! real-world protos import (HTTP annotations, field behaviour, rich error statuses) and
//! protovalidate's `buf/validate/validate.proto`.
//!
//! They are compiled into the binary rather than read from disk so that a service's build and the
//! `bia` command see the same files on every machine. A file of the same name in one of the
//! user's folders wins: a project that vendors its own googleapis keeps using them.

use protox::file::{File, FileResolver};

/// `bundled!(folder, name)`: the import name and the source of `folder/name` in this crate.
macro_rules! bundled {
    ($folder:literal, $name:literal) => {
        (
            $name,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/",
                $folder,
                "/",
                $name
            )),
        )
    };
}
/// Every bundled file: its import name and its source. The upstream files are in `third_party/`
/// (its README says where each came from), Bia's own in `protos/`.
pub const BUNDLED_PROTOS: &[(&str, &str)] = &[
    bundled!("third_party", "google/api/annotations.proto"),
    bundled!("third_party", "google/api/field_behavior.proto"),
    bundled!("third_party", "google/api/http.proto"),
    bundled!("third_party", "google/api/httpbody.proto"),
    bundled!("third_party", "google/rpc/code.proto"),
    bundled!("third_party", "google/rpc/error_details.proto"),
    bundled!("third_party", "google/rpc/status.proto"),
    bundled!("third_party", "buf/validate/validate.proto"),
    bundled!("protos", "bia/errors.proto"),
];

/// The import names of the bundled files, for messages about imports that were not found.
pub fn bundled_names() -> impl Iterator<Item = &'static str> {
    BUNDLED_PROTOS.iter().map(|(name, _)| *name)
}

/// Resolves imports of the bundled files.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BundledFileResolver;

impl FileResolver for BundledFileResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match BUNDLED_PROTOS.iter().find(|(bundled, _)| *bundled == name) {
            Some((name, source)) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_file_compiles_on_its_own() {
        for name in bundled_names() {
            let mut resolver = protox::file::ChainFileResolver::new();
            resolver.add(BundledFileResolver);
            resolver.add(protox::file::GoogleFileResolver::new());
            let mut compiler = protox::Compiler::with_file_resolver(resolver);
            compiler
                .open_file(name)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }

    #[test]
    fn an_unknown_name_is_not_found() {
        let err = BundledFileResolver
            .open_file("google/api/nope.proto")
            .unwrap_err();
        assert!(err.is_file_not_found(), "{err:?}");
    }
}
