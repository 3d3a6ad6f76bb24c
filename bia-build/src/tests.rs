use std::path::{Path, PathBuf};

use super::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Loads a folder `proto` that holds only `a/v1/a.proto` with `text`, expecting an error;
/// returns the folder (in a temporary one, kept alive with it) and the error.
fn load_failing(text: &str) -> (tempfile::TempDir, PathBuf, Error) {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("proto");
    write(&proto.join("a/v1/a.proto"), text);
    let err = Builder::new().proto_dir(&proto).load().unwrap_err();
    (dir, proto, err)
}

/// Compiles a folder `proto` that holds only `file` with `text` into a folder `out`; returns the
/// temporary folder holding both (kept alive with it) and `out`.
fn compile_one(file: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("proto").join(file), text);
    let out = dir.path().join("out");
    Builder::new()
        .proto_dir(dir.path().join("proto"))
        .out_dir(&out)
        .rerun_if_changed(false)
        .compile()
        .unwrap();
    (dir, out)
}

/// The descriptor set that [`compile_one`] wrote to `out`, as the bytes and as prost types.
fn descriptor_set(out: &Path) -> (Vec<u8>, prost_types::FileDescriptorSet) {
    let bytes = std::fs::read(out.join(DESCRIPTOR_SET)).unwrap();
    let fds = prost::Message::decode(bytes.as_slice()).unwrap();
    (bytes, fds)
}

/// Asserts that `text` contains every one of `needles`.
#[track_caller]
fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

const GREETER: &str = "syntax = \"proto3\";\npackage greeter.v1;\n\
    import \"google/protobuf/empty.proto\";\n\
    // Greets.\nservice Greeter { rpc Hi(google.protobuf.Empty) returns (Reply); }\n\
    message Reply { string text = 1; }\n";

#[test]
fn compiles_every_proto_under_the_folder_into_out_dir() {
    let (_dir, out) = compile_one("greeter/v1/greeter.proto", GREETER);
    let pb = std::fs::read_to_string(out.join(INCLUDE_FILE)).unwrap();
    assert!(pb.contains("greeter.v1.rs"), "{pb}");
    let code = std::fs::read_to_string(out.join("greeter.v1.rs")).unwrap();
    assert!(code.contains("pub mod greeter_server"), "{code}");
    let (_, fds) = descriptor_set(&out);
    let names: Vec<&str> = fds.file.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        ["google/protobuf/empty.proto", "greeter/v1/greeter.proto"],
        "imports included"
    );
    assert!(
        fds.file[1].source_code_info.is_some(),
        "source info included"
    );
}

#[test]
fn chosen_files_resolve_imports_against_other_folders() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("common/money/v1/money.proto"),
        "syntax = \"proto3\";\npackage money.v1;\nmessage Money { int64 units = 1; }\n",
    );
    write(
        &dir.path().join("proto/shop/v1/shop.proto"),
        "syntax = \"proto3\";\npackage shop.v1;\nimport \"money/v1/money.proto\";\n\
         message Item { money.v1.Money price = 1; }\n",
    );
    write(&dir.path().join("proto/unused/v1/bad.proto"), "not a proto");
    let protos = Builder::new()
        .proto_dir(dir.path().join("proto"))
        .files(["shop/v1/shop.proto"])
        .include(dir.path().join("common"))
        .load()
        .unwrap();
    let files: Vec<(&str, bool)> = protos
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.is_import))
        .collect();
    assert_eq!(
        files,
        [
            ("money/v1/money.proto", true),
            ("shop/v1/shop.proto", false)
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_proto_linked_from_another_project_keeps_its_name_here() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other/proto/money/v1/money.proto");
    write(
        &other,
        "syntax = \"proto3\";\npackage money.v1;\nmessage Money { int64 units = 1; }\n",
    );
    let linked = dir.path().join("proto/money/v1/money.proto");
    std::fs::create_dir_all(linked.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../../../other/proto/money/v1/money.proto", &linked).unwrap();
    let protos = Builder::new()
        .proto_dir(dir.path().join("proto"))
        .load()
        .unwrap();
    let names: Vec<&str> = protos.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["money/v1/money.proto"]);
}

#[test]
fn a_missing_import_names_the_file_and_the_folders_searched() {
    let (_dir, proto, err) =
        load_failing("syntax = \"proto3\";\npackage a.v1;\n\nimport \"b/v1/b.proto\";\n");
    let message = err.to_string();
    let file = proto.join("a/v1/a.proto");
    assert!(
        message.starts_with(&format!(
            "{}:4:1: import 'b/v1/b.proto' not found",
            file.display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "searched: {}, then the protos built into Bia",
            proto.display()
        )),
        "{message}"
    );
    assert!(err.is_file_not_found());
    assert!(
        format!("{err:?}").contains("hint: add the folder"),
        "{err:?}"
    );
}

#[test]
fn a_syntax_error_has_line_column_and_the_source_line() {
    let (_dir, _, err) = load_failing(
        "syntax = \"proto3\";\npackage a.v1;\nmessage A {\n  string name = 1\n  int32 age = 2;\n}\n",
    );
    assert_contains(
        &err.to_string(),
        &[
            "a/v1/a.proto:5:3: expected",
            "5 |   int32 age = 2;",
            "  |   ^^^^^",
        ],
    );
    assert!(err.is_proto());
}

#[test]
fn missing_folders_and_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = Builder::new()
        .proto_dir(dir.path().join("nope"))
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("include folder"), "{err}");
    std::fs::create_dir(dir.path().join("proto")).unwrap();
    let err = Builder::new()
        .proto_dir(dir.path().join("proto"))
        .files(["x/v1/x.proto"])
        .load()
        .unwrap_err();
    assert_contains(&err.to_string(), &["proto file", "x/v1/x.proto"]);
}

#[test]
fn output_names_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("tests/proto/greeter/v1/greeter.proto"),
        GREETER,
    );
    let out = dir.path().join("out");
    Builder::new()
        .proto_dir(dir.path().join("tests/proto"))
        .files(["greeter/v1/greeter.proto"])
        .descriptor_set_name("greeter_descriptor.bin")
        .include_file("generated.rs")
        .out_dir(&out)
        .rerun_if_changed(false)
        .compile()
        .unwrap();
    for file in ["greeter_descriptor.bin", "generated.rs", "greeter.v1.rs"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert!(!out.join(DESCRIPTOR_SET).exists());
}

const ANNOTATED: &str = "syntax = \"proto3\";\npackage shop.v1;\n\
    import \"google/api/annotations.proto\";\n\
    import \"google/api/field_behavior.proto\";\n\
    import \"google/rpc/status.proto\";\n\
    import \"google/rpc/error_details.proto\";\n\
    import \"buf/validate/validate.proto\";\n\
    service Shop { rpc Get(GetRequest) returns (Item) { option (google.api.http) = { get: \"/v1/items/{id}\" }; } }\n\
    message GetRequest { string id = 1 [(google.api.field_behavior) = REQUIRED, (buf.validate.field).string.min_len = 1]; }\n\
    message Item { string id = 1; google.rpc.Status last_error = 2; google.rpc.BadRequest why = 3; }\n";

#[test]
fn bundled_googleapis_and_protovalidate_import_with_no_include_folder() {
    let (_dir, out) = compile_one("shop/v1/shop.proto", ANNOTATED);
    let (_, fds) = descriptor_set(&out);
    let names: Vec<&str> = fds.file.iter().map(|f| f.name()).collect();
    for bundled in [
        "google/api/annotations.proto",
        "google/api/http.proto",
        "google/rpc/status.proto",
        "buf/validate/validate.proto",
    ] {
        assert!(names.contains(&bundled), "{bundled} not in {names:?}");
    }
    let code = std::fs::read_to_string(out.join("shop.v1.rs")).unwrap();
    assert!(code.contains("pub mod shop_server"), "{code}");
}

#[test]
fn a_project_copy_of_a_bundled_file_wins() {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("proto");
    write(
        &proto.join("google/api/http.proto"),
        "syntax = \"proto3\";\npackage google.api;\nmessage OwnCopy {}\n",
    );
    write(
        &proto.join("a/v1/a.proto"),
        "syntax = \"proto3\";\npackage a.v1;\nimport \"google/api/http.proto\";\n\
         message A { google.api.OwnCopy c = 1; }\n",
    );
    Builder::new()
        .proto_dir(&proto)
        .files(["a/v1/a.proto"])
        .load()
        .unwrap();
}

#[test]
fn a_missing_import_names_the_file_and_the_built_in_ones() {
    let (_dir, _proto, err) =
        load_failing("syntax = \"proto3\";\npackage a.v1;\nimport \"google/type/money.proto\";\n");
    assert!(err.is_file_not_found(), "{err:?}");
    assert_contains(
        &err.to_string(),
        &[
            "google/type/money.proto",
            "google/api/annotations.proto",
            "buf/validate/validate.proto",
        ],
    );
}

#[test]
fn the_descriptor_set_keeps_custom_options() {
    // Reflection clients and the HTTP gateway read google.api.http rules from descriptor.bin.
    let (_dir, out) = compile_one(
        "a/v1/a.proto",
        "syntax = \"proto3\";\npackage a.v1;\nimport \"google/api/annotations.proto\";\n\
         service A { rpc Get(M) returns (M) { option (google.api.http) = {get: \"/v1/m/{id}\"}; } }\n\
         message M { string id = 1; }\n",
    );
    let (bytes, _) = descriptor_set(&out);
    let pool = prost_reflect::DescriptorPool::decode(bytes.as_slice()).unwrap();
    let http = pool.get_extension_by_name("google.api.http").unwrap();
    let method = pool
        .get_service_by_name("a.v1.A")
        .unwrap()
        .methods()
        .next()
        .unwrap();
    let options = method.options();
    let rule = options.get_extension(&http);
    let get = rule.as_message().unwrap().get_field_by_name("get").unwrap();
    assert_eq!(get.as_str(), Some("/v1/m/{id}"));
}
