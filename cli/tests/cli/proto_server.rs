use std::path::Path;

use crate::support::{assert_code_contains, bia, fixtures, read, snapshot, temp};

fn project(dir: &Path) -> std::path::PathBuf {
    bia(dir, &["new", "svc"]).ok();
    dir.join("svc")
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
    let stdout = out.ok();
    assert!(
        stdout.contains("wrote src/service/catalog_service.rs"),
        "{stdout}"
    );
    assert!(stdout.contains("updated src/service/mod.rs"), "{stdout}");
    assert!(
        !stdout.contains("src/lib.rs"),
        "lib.rs is never touched: {stdout}"
    );

    let stub = read(project.join("src/service/catalog_service.rs"));
    assert!(
        stub.contains("impl pb::catalog_service_server::CatalogService for CatalogService"),
        "{stub}"
    );
    assert!(
        stub.contains("CatalogService/DeleteCatalog is not implemented yet"),
        "{stub}"
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
    assert!(
        mod_rs.contains("CatalogService::new(use_cases)"),
        "{mod_rs}"
    );
    assert!(catalog < greeter, "sorted by module: {mod_rs}");

    let before = snapshot(&project);
    let again = bia(
        &project,
        &["proto", "server", "proto/catalog/v1/catalog.proto"],
    );
    let stdout = again.ok();
    assert!(
        stdout.contains("skipped src/service/catalog_service.rs"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing to change"), "{stdout}");
    assert_eq!(before, snapshot(&project), "a second run changes nothing");
}

#[test]
fn never_replaces_handler_code_and_says_what_it_skipped() {
    let dir = temp();
    let project = project(dir.path());
    // The greeter's handlers exist: a proto with one more method leaves the file alone.
    let proto = project.join("proto/greeter/v1/greeter.proto");
    let text = read(&proto).replace(
        "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);",
        "rpc SayHello(SayHelloRequest) returns (SayHelloResponse);\n  rpc SayBye(SayHelloRequest) returns (SayHelloResponse);",
    );
    std::fs::write(&proto, text).unwrap();
    let handler = read(project.join("src/service/greeter_service.rs"));
    let out = bia(
        &project,
        &["proto", "server", "proto/greeter/v1/greeter.proto"],
    );
    let stdout = out.ok();
    assert!(
        stdout.contains("skipped src/service/greeter_service.rs"),
        "{stdout}"
    );
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
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let out = bia(&project, &["proto", "server", shop.to_str().unwrap()]);
    let stdout = out.ok();
    assert!(
        stdout.contains("copied proto/shop/v1/shop.proto"),
        "{stdout}"
    );
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
    assert!(out.fails(1).contains("differs from"), "{}", out.stderr);
    assert_eq!(before, snapshot(&project));
}

#[test]
fn outside_a_project_it_says_where_to_run() {
    let dir = temp();
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let out = bia(dir.path(), &["proto", "server", shop.to_str().unwrap()]);
    let stderr = out.fails(1);
    assert!(stderr.contains("is not a bia service project"), "{stderr}");
    assert!(stderr.contains("--output"), "{stderr}");
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
    std::fs::write(
        project.join("src/service/mod.rs"),
        "pub fn register(b: bia::AppBuilder) -> bia::AppBuilder { let b = b; b }\n",
    )
    .unwrap();
    let before = snapshot(&project);
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let out = bia(&project, &["proto", "server", shop.to_str().unwrap()]);
    let stderr = out.fails(1);
    assert!(stderr.contains("bia owns that file"), "{stderr}");
    assert_eq!(before, snapshot(&project));
}

#[test]
fn a_broken_proto_changes_nothing() {
    let dir = temp();
    let project = project(dir.path());
    let before = snapshot(&project);
    let bad = fixtures().join("bad/syntax.proto");
    let out = bia(&project, &["proto", "server", bad.to_str().unwrap()]);
    assert!(out.fails(1).contains("syntax.proto:7:3"), "{}", out.stderr);
    assert_eq!(before, snapshot(&project));
}

#[test]
fn a_proto_without_services_only_copies_itself() {
    let dir = temp();
    let project = project(dir.path());
    let common = fixtures().join("proto/shop/common/v1/common.proto");
    let out = bia(&project, &["proto", "server", common.to_str().unwrap()]);
    let stdout = out.ok();
    assert!(stdout.contains("declares no service"), "{stdout}");
    assert!(
        stdout.contains("copied proto/shop/common/v1/common.proto"),
        "{stdout}"
    );
    assert!(!stdout.contains("src/service"), "{stdout}");
}
