//! Descriptor pools for the gateway's unit tests, compiled with protox from sources in memory.

use prost_reflect::DescriptorPool;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// `google/api/http.proto` and `annotations.proto`, reduced to what the gateway reads (field
/// numbers as published by googleapis).
const HTTP_PROTO: &str = r#"
syntax = "proto3";
package google.api;
message HttpRule {
  string selector = 1;
  oneof pattern {
    string get = 2;
    string put = 3;
    string post = 4;
    string delete = 5;
    string patch = 6;
    CustomHttpPattern custom = 8;
  }
  string body = 7;
  string response_body = 12;
  repeated HttpRule additional_bindings = 11;
}
message CustomHttpPattern {
  string kind = 1;
  string path = 2;
}
"#;

const ANNOTATIONS_PROTO: &str = r#"
syntax = "proto3";
package google.api;
import "google/api/http.proto";
import "google/protobuf/descriptor.proto";
extend google.protobuf.MethodOptions {
  HttpRule http = 72295728;
}
"#;

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
}
"#;

struct Memory(Vec<(String, String)>);

impl FileResolver for Memory {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((_, source)) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Compiles `main.proto` (which may import `google/api/annotations.proto` and the well-known
/// types) into a pool.
pub(crate) fn compile(main: &str) -> DescriptorPool {
    let mut resolver = ChainFileResolver::new();
    resolver.add(Memory(vec![
        ("google/api/http.proto".into(), HTTP_PROTO.into()),
        (
            "google/api/annotations.proto".into(),
            ANNOTATIONS_PROTO.into(),
        ),
        ("main.proto".into(), main.into()),
    ]));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler
        .open_file("main.proto")
        .unwrap_or_else(|e| panic!("{e:?}"));
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
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
    compile(&format!(
        "syntax = \"proto3\";\npackage test.v1;\nimport \"google/api/annotations.proto\";\n\
         import \"google/protobuf/timestamp.proto\";\n{THINGS_MESSAGES}\nservice Things {{\n{methods}}}\n"
    ))
}
