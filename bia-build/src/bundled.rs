//! Protos that ship inside Bia, importable with no include folder: the googleapis files most
//! real-world protos import (HTTP annotations, field behaviour, rich error statuses) and
//! protovalidate's `buf/validate/validate.proto`.
//!
//! They are compiled into the binary rather than read from disk so that a service's build and the
//! `bia` command see the same files on every machine. A file of the same name in one of the
//! user's folders wins: a project that vendors its own googleapis keeps using them.

use protox::file::{File, FileResolver};

macro_rules! bundled {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/protos/", $name)),
        )
    };
}
/// Every bundled file: its import name and its source. `protos/README.md` says where each came from.
pub const BUNDLED_PROTOS: &[(&str, &str)] = &[
    bundled!("google/api/annotations.proto"),
    bundled!("google/api/field_behavior.proto"),
    bundled!("google/api/http.proto"),
    bundled!("google/api/httpbody.proto"),
    bundled!("google/rpc/code.proto"),
    bundled!("google/rpc/error_details.proto"),
    bundled!("google/rpc/status.proto"),
    bundled!("buf/validate/validate.proto"),
    bundled!("bia/errors.proto"),
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
