use std::path::Path;

use crate::support::{
    Output, assert_code_contains, assert_contains, assert_file_contains, bia, fixtures, read,
    snapshot, temp, write,
};

fn project(dir: &Path) -> std::path::PathBuf {
    bia(dir, &["new", "svc"]).ok();
    dir.join("svc")
}

/// Runs `bia proto server <fixture>` in `dir`, `fixture` relative to the fixtures folder.
fn server_of_fixture(dir: &Path, fixture: &str) -> Output {
    let proto = fixtures().join(fixture);
    bia(dir, &["proto", "server", proto.to_str().unwrap()])
}

/// Asserts that `bia proto server <fixture>` in `project` fails with `message` and changes
/// nothing.
#[track_caller]
fn refused_unchanged(project: &Path, fixture: &str, message: &str) {
    let before = snapshot(project);
    server_of_fixture(project, fixture).fails_with(1, &[message]);
    assert_eq!(before, snapshot(project), "a refusal changes nothing");
}

#[test]
fn adds_stubs_wires_them_in_and_a_second_run_changes_nothing() {
    let dir = temp();
    let project = project(dir.path());
    bia(
        &project,
        &["proto", "add", "proto/catalog/v1/catalog.proto"],
    )
    .ok();
    let out = bia(
        &project,
        &["proto", "server", "proto/catalog/v1/catalog.proto"],
    );
    let stdout = out.ok_with(&[
        "wrote src/service/catalog_service.rs",
        "updated src/service/mod.rs",
    ]);
    assert!(
        !stdout.contains("src/lib.rs"),
        "lib.rs is never touched: {stdout}"
    );

    assert_file_contains(
        project.join("src/service/catalog_service.rs"),
        &[
            "impl pb::catalog_service_server::CatalogService for CatalogService",
            "CatalogService/DeleteCatalog is not implemented yet",
        ],
    );
    let mod_rs = read(project.join("src/service/mod.rs"));
    assert!(
        mod_rs.contains("mod catalog_service;\n")
            && mod_rs.contains("pub use catalog_service::CatalogService;"),
        "{mod_rs}"
    );
    let greeter = mod_rs
        .find("GreeterServer::new")
        .expect("the greeter is still there");
    let catalog = mod_rs
        .find("crate::pb::catalog::v1::catalog_service_server::CatalogServiceServer::new(")
        .expect("registered");
    assert_contains(&mod_rs, &["CatalogService::new(use_cases)"]);
    assert!(catalog < greeter, "sorted by module: {mod_rs}");

    let before = snapshot(&project);
    let again = bia(
        &project,
        &["proto", "server", "proto/catalog/v1/catalog.proto"],
    );
    again.ok_with(&[
        "skipped src/service/catalog_service.rs",
        "nothing to change",
    ]);
    assert_eq!(before, snapshot(&project), "a second run changes nothing");
}

#[test]
fn never_replaces_handler_code_and_says_what_it_skipped() {
    let dir = temp();
    let project = project(dir.path());
    // The greeter's handlers exist: a proto with one more method leaves the file alone.
    let proto = project.join("proto/greeter/v1/greeter.proto");
    let text = read(&proto).replace(
        "rpc SayHello(SayHelloRequest) returns (SayHelloResponse) {",
        "rpc SayBye(SayHelloRequest) returns (SayHelloResponse);\n  rpc SayHello(SayHelloRequest) returns (SayHelloResponse) {",
    );
    std::fs::write(&proto, text).unwrap();
    let handler = read(project.join("src/service/greeter_service.rs"));
    let out = bia(
        &project,
        &["proto", "server", "proto/greeter/v1/greeter.proto"],
    );
    let stdout = out.ok_with(&["skipped src/service/greeter_service.rs"]);
    assert!(
        stdout.contains("SayBye"),
        "names the missing handler: {stdout}"
    );
    assert_eq!(
        read(project.join("src/service/greeter_service.rs")),
        handler
    );
}

#[test]
fn copies_a_proto_from_outside_with_its_imports() {
    let dir = temp();
    let project = project(dir.path());
    let out = server_of_fixture(&project, "proto/shop/v1/shop.proto");
    out.ok_with(&["copied proto/shop/v1/shop.proto"]);
    assert!(project.join("proto/shop/common/v1/common.proto").is_file());
    assert!(project.join("src/service/shop_service.rs").is_file());
    assert!(project.join("src/service/admin_service.rs").is_file());
    assert!(
        read(project.join("Cargo.toml")).contains("prost-types = \"0.14\""),
        "WKTs need prost-types"
    );
    let mod_rs = read(project.join("src/service/mod.rs"));
    assert_code_contains(
        &mod_rs,
        "pb::shop::v1::admin_server::AdminServer::new(AdminService::new(use_cases)))",
    );

    // The project's copy now differs from a changed source: refused, nothing written.
    let changed = dir.path().join("changed/shop/common/v1");
    std::fs::create_dir_all(&changed).unwrap();
    std::fs::copy(
        fixtures().join("proto/shop/common/v1/common.proto"),
        changed.join("common.proto"),
    )
    .unwrap();
    let mut text = read(changed.join("common.proto"));
    text.push_str("\nmessage Extra {}\n");
    std::fs::write(changed.join("common.proto"), text).unwrap();
    let before = snapshot(&project);
    let out = bia(
        &project,
        &[
            "proto",
            "server",
            changed.join("common.proto").to_str().unwrap(),
            "-I",
            dir.path().join("changed").to_str().unwrap(),
        ],
    );
    out.fails_with(1, &["differs from"]);
    assert_eq!(before, snapshot(&project));
}

#[test]
fn outside_a_project_it_says_where_to_run() {
    let dir = temp();
    let out = server_of_fixture(dir.path(), "proto/shop/v1/shop.proto");
    out.fails_with(1, &["is not a bia service project", "--output"]);
}

#[test]
fn the_output_flag_points_at_the_project() {
    let dir = temp();
    let project = project(dir.path());
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let ops = fixtures().join("proto/ops/v1/ops.proto");
    // `--out` is the older name, still accepted.
    for (flag, proto) in [("--output", &shop), ("--out", &ops)] {
        bia(
            dir.path(),
            &[
                "proto",
                "server",
                proto.to_str().unwrap(),
                flag,
                project.to_str().unwrap(),
            ],
        )
        .ok();
    }
    assert!(project.join("src/service/shop_service.rs").is_file());
    // ops.v1.Admin finds shop.v1.Admin's file name taken and takes its package into its own.
    assert!(
        project
            .join("src/service/ops_v1_admin_service.rs")
            .is_file()
    );
    let mod_rs = read(project.join("src/service/mod.rs"));
    assert!(
        mod_rs.contains("crate::pb::ops::v1::admin_server::AdminServer::new(")
            && mod_rs.contains("OpsV1AdminService::new(use_cases)"),
        "{mod_rs}"
    );
}

#[test]
fn a_service_mod_written_by_hand_is_refused_with_a_fix() {
    let dir = temp();
    let project = project(dir.path());
    write(
        project.join("src/service/mod.rs"),
        "pub fn register(b: bia::AppBuilder) -> bia::AppBuilder { let b = b; b }\n",
    );
    refused_unchanged(&project, "proto/shop/v1/shop.proto", "bia owns that file");
}

#[test]
fn a_broken_proto_changes_nothing() {
    let dir = temp();
    let project = project(dir.path());
    refused_unchanged(&project, "bad/syntax.proto", "syntax.proto:7:3");
}

#[test]
fn a_proto_without_services_only_copies_itself() {
    let dir = temp();
    let project = project(dir.path());
    let out = server_of_fixture(&project, "proto/shop/common/v1/common.proto");
    let stdout = out.ok_with(&[
        "declares no service",
        "copied proto/shop/common/v1/common.proto",
    ]);
    assert!(!stdout.contains("src/service"), "{stdout}");
}
