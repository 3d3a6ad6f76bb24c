//! Descriptor pools compiled from proto text, for the tests of the document: protox as a
//! service's build would run it, with the well-known types and Bia's bundled googleapis.

use prost_reflect::DescriptorPool;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// Resolves the file under test by name, and the bundled protos.
struct Sources {
    name: &'static str,
    source: &'static str,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == self.name {
            return File::from_source(name, self.source);
        }
        match bia_build::BUNDLED_PROTOS
            .iter()
            .find(|(bundled, _)| *bundled == name)
        {
            Some((name, source)) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles `source` as the file `name` (with source info, as bia-build does), and round-trips
/// it through its encoded form with extension options, as an App receives it.
pub(super) fn pool(name: &'static str, source: &'static str) -> DescriptorPool {
    let mut resolver = ChainFileResolver::new();
    resolver.add(Sources { name, source });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    if let Err(e) = compiler.open_file(name) {
        panic!("test proto {name} does not compile: {e:?}");
    }
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
        .expect("protox's own output decodes")
}
