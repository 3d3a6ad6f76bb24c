//! Descriptor pools for the gateway's unit tests, compiled from proto text in memory with protox
//! as a service's build would run it: with the well-known types and Bia's bundled googleapis.

use prost_reflect::DescriptorPool;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// The messages the rules of [`pool_with_rules`] bind.
const THINGS_MESSAGES: &str = r#"
message Thing {
  string id = 1;
  string display_name = 2;
  int64 count = 3;
  Color color = 4;
  google.protobuf.Timestamp created = 5;
  repeated string labels = 6;
  Thing child = 7;
  bool on = 8;
  double weight = 9;
  bytes blob = 10;
  map<string, int32> scores = 11;
  optional int32 maybe = 12;
}
enum Color {
  COLOR_UNSPECIFIED = 0;
  RED = 1;
  GREEN = 2;
}
message Request {
  string id = 1;
  Thing thing = 2;
  repeated string tags = 3;
  google.protobuf.FieldMask update_mask = 4;
}
"#;

/// Resolves the file under test by name, and Bia's bundled protos (googleapis, protovalidate).
struct Sources {
    name: String,
    source: String,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == self.name {
            return File::from_source(name, &self.source);
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
pub(crate) fn pool(name: &str, source: &str) -> DescriptorPool {
    let mut resolver = ChainFileResolver::new();
    resolver.add(Sources {
        name: name.to_owned(),
        source: source.to_owned(),
    });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    if let Err(e) = compiler.open_file(name) {
        panic!("test proto {name} does not compile: {e:?}");
    }
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
        .expect("protox's own output decodes")
}

/// A pool with the service `test.v1.Things`, whose method `CallN` (from `test.v1.Request` to
/// `test.v1.Thing`) carries `rules[N]` as its `google.api.http` option.
pub(crate) fn pool_with_rules(rules: &[&str]) -> DescriptorPool {
    let methods: String = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            format!("  rpc Call{i}(Request) returns (Thing) {{ option (google.api.http) = {{ {rule} }}; }}\n")
        })
        .collect();
    let source = format!(
        "syntax = \"proto3\";\npackage test.v1;\nimport \"google/api/annotations.proto\";\n\
         import \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/field_mask.proto\";\n{THINGS_MESSAGES}\nservice Things {{\n{methods}}}\n"
    );
    pool("main.proto", &source)
}
