use crate::support::{assert_file_contains, bia, read, temp, write};

#[test]
fn writes_a_crud_skeleton_whose_package_comes_from_its_folders() {
    let dir = temp();
    let out = bia(
        dir.path(),
        &["proto", "add", "proto/catalog/v1/catalog.proto"],
    );
    // Outside a project, the next step is to make one; inside one, to add the stubs.
    out.ok_with(&[
        "package catalog.v1",
        "Next: bia new catalog --proto proto/catalog/v1/catalog.proto",
    ]);
    let text = read(dir.path().join("proto/catalog/v1/catalog.proto"));
    for expected in [
        "syntax = \"proto3\";",
        "package catalog.v1;",
        "service CatalogService {",
        "rpc CreateCatalog(CreateCatalogRequest) returns (Catalog) {\n    \
         option (google.api.http) = {\n      post: \"/v1/catalogs\"\n      body: \"catalog\"",
        "rpc GetCatalog(GetCatalogRequest) returns (Catalog) {\n    \
         option (google.api.http) = {get: \"/v1/catalogs/{id}\"};",
        "rpc ListCatalogs(ListCatalogsRequest) returns (ListCatalogsResponse) {\n    \
         option (google.api.http) = {get: \"/v1/catalogs\"};",
        "rpc UpdateCatalog(UpdateCatalogRequest) returns (Catalog) {\n    \
         option (google.api.http) = {\n      patch: \"/v1/catalogs/{catalog.id}\"\n      body: \"catalog\"",
        "rpc DeleteCatalog(DeleteCatalogRequest) returns (DeleteCatalogResponse) {\n    \
         option (google.api.http) = {delete: \"/v1/catalogs/{id}\"};",
        "repeated Catalog catalogs = 1;",
        "Catalog catalog = 1 [(buf.validate.field).required = true];",
        "google.protobuf.FieldMask update_mask = 2;",
        "enum CatalogErrorReason {",
        "CATALOG_NOT_FOUND = 0 [(bia.errors.code) = NOT_FOUND];",
    ] {
        assert!(text.contains(expected), "missing {expected:?}:\n{text}");
    }

    write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"shop\"\n",
    );
    bia(
        dir.path(),
        &["proto", "add", "api/catalog/v1/catalog.proto"],
    )
    .ok_with(&["Next: bia proto server api/catalog/v1/catalog.proto"]);
    assert!(read(dir.path().join("api/catalog/v1/catalog.proto")).contains("package catalog.v1;"));
    bia(
        dir.path(),
        &["proto", "add", "proto/shop/inventory/v2/stock_item.proto"],
    )
    .ok();
    assert_file_contains(
        dir.path().join("proto/shop/inventory/v2/stock_item.proto"),
        &[
            "package shop.inventory.v2;",
            "service StockItemService",
            "get: \"/v2/stockItems/{id}\"",
            "patch: \"/v2/stockItems/{stock_item.id}\"",
            "STOCK_ITEM_ALREADY_EXISTS = 1",
        ],
    );
}

#[test]
fn the_skeleton_compiles_into_a_project() {
    let dir = temp();
    bia(dir.path(), &["proto", "add", "proto/library/v1/book.proto"]).ok();
    let out = bia(
        dir.path(),
        &["new", "library", "--proto", "proto/library/v1/book.proto"],
    );
    out.ok();
    assert_file_contains(
        dir.path().join("library/src/service/book_service.rs"),
        &["async fn list_books("],
    );
    // The stub test sends a request its rules let through (an empty list request); the
    // rejected-request test one they refuse (an empty create request: `book` is required).
    assert_file_contains(
        dir.path().join("library/tests/grpc.rs"),
        &[
            "async fn stubs_answer_unimplemented()",
            "client.list_books(request).await",
            "async fn a_request_that_breaks_its_proto_rules_is_refused()",
            "let request = <library::pb::library::v1::CreateBookRequest>::default();",
            "client.create_book(request).await",
        ],
    );
}

#[test]
fn refuses_to_overwrite() {
    let dir = temp();
    let path = dir.path().join("proto/catalog/v1/catalog.proto");
    write(&path, "mine");
    let out = bia(
        dir.path(),
        &["proto", "add", "proto/catalog/v1/catalog.proto"],
    );
    out.fails_with(1, &["never overwrites"]);
    assert_eq!(read(&path), "mine");
}

#[test]
fn refuses_paths_it_cannot_make_a_package_from() {
    let dir = temp();
    let out = bia(dir.path(), &["proto", "add", "proto/catalog.proto"]);
    out.fails_with(1, &["proto/catalog/v1/catalog.proto"]);
    let out = bia(dir.path(), &["proto", "add", "proto/my-api/v1/x.proto"]);
    out.fails_with(1, &["`my-api`"]);
    let out = bia(
        dir.path(),
        &["proto", "add", "proto/catalog/v1/catalog.txt"],
    );
    out.fails_with(1, &[".proto"]);
    assert!(!dir.path().join("proto").exists());
}
