use std::path::Path;

use crate::support::{
    assert_code_contains, assert_file_contains, bia, entries, fixtures, new_shop, read, temp, write,
};

fn shop_args<'a>(fixtures: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["new", "shop", "--proto"];
    args.push(fixtures);
    args.extend_from_slice(extra);
    args
}

#[test]
fn without_protos_renders_the_greeter_example() {
    let dir = temp();
    let out = bia(dir.path(), &["new", "hello-svc"]);
    out.ok_with(&["greeter.v1.Greeter"]);
    let project = dir.path().join("hello-svc");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        ".gitignore",
        "Dockerfile",
        "README.md",
        "config/config.toml",
        "proto/greeter/v1/greeter.proto",
        "src/main.rs",
        "src/lib.rs",
        "src/service/mod.rs",
        "src/service/greeter_service.rs",
        "src/conf.rs",
        "src/server.rs",
        "src/biz/mod.rs",
        "src/biz/greeter.rs",
        "src/data/mod.rs",
        "src/data/greetings.rs",
        "tests/grpc.rs",
    ] {
        assert!(project.join(file).is_file(), "{file} is missing");
    }
    // Only the project: no temporary folder left beside it.
    assert_eq!(entries(dir.path()), ["hello-svc"]);

    let cargo = assert_file_contains(project.join("Cargo.toml"), &["name = \"hello-svc\""]);
    assert!(cargo.contains("\n[workspace]\n"), "standalone: {cargo}");
    let framework = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("framework");
    assert!(
        cargo.contains(&format!("bia = {{ path = \"{}\" }}", framework.display())),
        "{cargo}"
    );
    assert!(
        cargo.contains("prost-types = \"0.14\""),
        "the greeter imports buf/validate/validate.proto, whose code uses prost-types: {cargo}"
    );
    assert_eq!(
        read(project.join("Cargo.lock")),
        read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock")),
        "the lock is seeded from the workspace's"
    );
    let lib = read(project.join("src/lib.rs"));
    assert!(
        lib.contains(".file_descriptor_set(pb::FILE_DESCRIPTOR_SET)")
            && lib.contains("server::middleware(builder)")
            && lib.contains("service::register(builder, &use_cases)"),
        "{lib}"
    );
    let mod_rs = read(project.join("src/service/mod.rs"));
    assert_code_contains(
        &mod_rs,
        ".add_service(crate::pb::greeter::v1::greeter_server::GreeterServer::new(\
         GreeterService::new(use_cases)))",
    );
    assert_file_contains(
        project.join("src/biz/greeter.rs"),
        &["#[tracing::instrument"],
    );
    assert!(read(project.join("src/conf.rs")).contains("pub struct GreetingConfig"));
    assert!(read(project.join("src/server.rs")).contains("pub fn middleware("));
    assert!(read(project.join("src/main.rs")).contains("hello_svc::app(config)"));
    let service = assert_file_contains(
        project.join("src/service/greeter_service.rs"),
        &["type StreamGreetingsStream = BoxStream<pb::SayHelloResponse>;"],
    );
    assert!(
        !service.contains("unimplemented"),
        "the example works: {service}"
    );
    let config = read(project.join("config/config.toml"));
    assert!(
        config.contains("0.0.0.0:9000") && config.contains("0.0.0.0:8000"),
        "{config}"
    );
    let tests = read(project.join("tests/grpc.rs"));
    assert!(
        tests.contains("HealthClient") && tests.contains("say_hello"),
        "{tests}"
    );
    // No placeholder is left anywhere.
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "tests/grpc.rs",
        "README.md",
        "Dockerfile",
    ] {
        let text = read(project.join(file));
        assert!(
            !text.contains("{{") && !text.contains("{%"),
            "{file}: {text}"
        );
    }
}

#[cfg(unix)]
#[test]
fn the_project_gets_normal_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp();
    bia(dir.path(), &["new", "perm-svc"]).ok();
    let mode = std::fs::metadata(dir.path().join("perm-svc"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o755, 0o755, "{mode:o}");
}

#[test]
fn with_protos_writes_a_stub_per_service_matching_tonic() {
    let dir = temp();
    new_shop(dir.path(), "shop").ok();
    let project = dir.path().join("shop");
    // The protos and their imports are copied; the well-known types are not.
    for proto in [
        "proto/shop/v1/shop.proto",
        "proto/shop/common/v1/common.proto",
        "proto/ops/v1/ops.proto",
    ] {
        assert!(project.join(proto).is_file(), "{proto}");
    }
    assert!(!project.join("proto/google").exists());
    assert!(
        !project.join("proto/greeter").exists(),
        "no example with --proto"
    );
    assert!(!project.join("src/biz/greeter.rs").exists());
    assert!(read(project.join("Cargo.toml")).contains("prost-types = \"0.14\""));

    let mod_rs = assert_file_contains(
        project.join("src/service/mod.rs"),
        &[
            "mod shop_service;",
            "mod shop_v1_admin_service;",
            "mod ops_v1_admin_service;",
            "pub use shop_service::ShopService;",
            "pub use ops_v1_admin_service::OpsV1AdminService;",
        ],
    );
    assert_code_contains(
        &mod_rs,
        ".add_service(crate::pb::shop::v1::shop_server::ShopServer::new(ShopService::new(use_cases)))",
    );
    assert_code_contains(
        &mod_rs,
        ".add_service(crate::pb::ops::v1::admin_server::AdminServer::new(OpsV1AdminService::new(use_cases)))",
    );

    let stub = read(project.join("src/service/shop_service.rs"));
    for expected in [
        "use crate::pb::shop::v1 as pb;",
        "impl pb::shop_server::Shop for ShopService {",
        // unary
        "async fn get_item(\n        &self,\n        _request: Request<pb::GetItemRequest>,\n    ) -> Result<Response<pb::Item>, Status> {",
        // server streaming, with its associated stream type
        "type ListItemsStream = BoxStream<pb::Item>;",
        "-> Result<Response<Self::ListItemsStream>, Status>",
        // client streaming, answering another package's message
        "_request: Request<Streaming<pb::Item>>,\n    ) -> Result<Response<crate::pb::shop::common::v1::Money>, Status>",
        // bidi
        "type ChatStream = BoxStream<pb::ChatMessage>;",
        "_request: Request<Streaming<pb::ChatMessage>>,",
        // keywords, google.protobuf.Empty and Timestamp
        "async fn r#move(",
        "-> Result<Response<()>, Status>",
        "_request: Request<()>,\n    ) -> Result<Response<::prost_types::Timestamp>, Status>",
        "async fn r#type(",
        "#[allow(non_camel_case_types)]\n    type typeStream = BoxStream<crate::pb::shop::common::v1::Audit>;",
        "_request: Request<pb::item::Filter>,",
        "Err(Status::unimplemented(\"Shop/Move is not implemented yet\"))",
        "Err(Status::unimplemented(\"Shop/Chat is not implemented yet\"))",
        // the proto's comments, as docs
        "/// Every kind of RPC, keyword names, and types from other packages and google.protobuf.\n///\n/// Implements `shop.v1.Shop`.",
        "    /// Client streaming, answering a message of another package.\n    async fn upload_items(",
    ] {
        assert_code_contains(&stub, expected);
    }
    assert_file_contains(
        project.join("src/service/shop_v1_admin_service.rs"),
        &[
            "impl pb::admin_server::Admin for ShopV1AdminService",
            "_request: Request<Streaming<()>>,",
        ],
    );
    assert_file_contains(
        project.join("tests/grpc.rs"),
        &[
            "shop::pb::shop::v1::shop_client::ShopClient::new(",
            "client.get_item(request)",
            "let request = <shop::pb::shop::v1::GetItemRequest>::default();",
            "\"Shop/GetItem is not implemented yet\"",
        ],
    );
}

#[test]
fn the_include_folder_defaults_to_the_proto_root() {
    let dir = temp();
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    bia(dir.path(), &shop_args(shop.to_str().unwrap(), &[])).ok();
    assert!(
        dir.path()
            .join("shop/proto/shop/common/v1/common.proto")
            .is_file()
    );
}

#[test]
fn a_client_streaming_only_service_is_called_with_a_stream() {
    let dir = temp();
    let proto = dir.path().join("proto/up/v1/up.proto");
    write(
        &proto,
        "syntax = \"proto3\";\npackage up.v1;\nservice Upload { rpc Send(stream Chunk) returns (Chunk); }\nmessage Chunk { bytes data = 1; }\n",
    );
    bia(
        dir.path(),
        &["new", "up", "--proto", "proto/up/v1/up.proto"],
    )
    .ok();
    assert_file_contains(
        dir.path().join("up/tests/grpc.rs"),
        &["tokio_stream::iter(vec![<up::pb::up::v1::Chunk>::default()])"],
    );
}

#[test]
fn framework_specs() {
    let dir = temp();
    bia(dir.path(), &["new", "a-svc", "--framework", "0.1"]).ok();
    assert!(read(dir.path().join("a-svc/Cargo.toml")).contains("bia = \"0.1\"\n"));
    bia(
        dir.path(),
        &[
            "new",
            "b-svc",
            "--framework",
            "https://example.invalid/bia.git",
        ],
    )
    .ok();
    assert!(
        read(dir.path().join("b-svc/Cargo.toml"))
            .contains("bia = { git = \"https://example.invalid/bia.git\" }")
    );
    let framework = Path::new(env!("CARGO_MANIFEST_DIR")).join("../framework");
    bia(
        dir.path(),
        &["new", "c-svc", "--framework", framework.to_str().unwrap()],
    )
    .ok();
    let canonical = framework.canonicalize().unwrap();
    assert!(
        read(dir.path().join("c-svc/Cargo.toml"))
            .contains(&format!("bia = {{ path = \"{}\" }}", canonical.display()))
    );
    assert_file_contains(
        dir.path().join("c-svc/Dockerfile"),
        &["outside this build context"],
    );

    let bad = bia(
        dir.path(),
        &["new", "d-svc", "--framework", "no/such/folder"],
    );
    bad.fails_with(2, &["invalid --framework"]);
    assert!(!dir.path().join("d-svc").exists());
}

#[test]
fn force_replaces_an_existing_project() {
    let dir = temp();
    bia(dir.path(), &["new", "again"]).ok();
    std::fs::write(dir.path().join("again/stale.txt"), "old").unwrap();
    let refused = bia(dir.path(), &["new", "again"]);
    refused.fails_with(1, &["--force"]);
    assert!(
        dir.path().join("again/stale.txt").exists(),
        "refused means untouched"
    );

    bia(dir.path(), &["new", "again", "--force"]).ok();
    assert!(!dir.path().join("again/stale.txt").exists());
    assert!(dir.path().join("again/Cargo.toml").is_file());
    assert_eq!(entries(dir.path()), ["again"], "nothing left beside it");
}

#[test]
fn output_folder_is_created() {
    let dir = temp();
    bia(dir.path(), &["new", "deep", "--output", "a/b"]).ok();
    assert!(dir.path().join("a/b/deep/Cargo.toml").is_file());
}

#[test]
fn a_user_template_gets_the_same_variables() {
    let dir = temp();
    let template = dir.path().join("tpl");
    std::fs::create_dir_all(template.join("src")).unwrap();
    write(
        template.join("NAMES.txt.tmpl"),
        "{{ project_name }} {{ crate_name }} {{ grpc_port }}\n{% for s in services %}{{ s.full_name }}:{{ s.struct_name }}\n{% endfor %}",
    );
    write(
        template.join("src/__service__.rs.tmpl"),
        "// {{ service.trait_path }}\n",
    );
    write(template.join("verbatim.txt"), "{{ not rendered }}");
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let (tpl, shop) = (template.to_str().unwrap(), shop.to_str().unwrap());
    bia(
        dir.path(),
        &["new", "my-shop", "--template", tpl, "--proto", shop],
    )
    .ok();
    let project = dir.path().join("my-shop");
    assert_eq!(
        read(project.join("NAMES.txt")),
        "my-shop my_shop 9000\nshop.v1.Shop:ShopService\nshop.v1.Admin:AdminService\n"
    );
    assert_eq!(
        read(project.join("src/shop_service.rs")),
        "// pb::shop_server::Shop\n"
    );
    assert_eq!(read(project.join("verbatim.txt")), "{{ not rendered }}");
    assert!(project.join("Cargo.lock").is_file());

    // Without --proto, a template needs its own proto/ folder.
    let refused = bia(
        dir.path(),
        &["new", "other", "--template", template.to_str().unwrap()],
    );
    refused.fails_with(1, &["proto/"]);
    write(
        template.join("proto/ping/v1/ping.proto"),
        "syntax = \"proto3\";\npackage ping.v1;\nservice Ping { rpc Ping(P) returns (P); }\nmessage P {}\n",
    );
    bia(
        dir.path(),
        &["new", "other", "--template", template.to_str().unwrap()],
    )
    .ok();
    assert_eq!(
        read(dir.path().join("other/NAMES.txt")),
        "other other 9000\nping.v1.Ping:PingService\n"
    );
    assert!(dir.path().join("other/proto/ping/v1/ping.proto").is_file());
}
