use crate::support::{assert_contains, bia, read, temp, write};

#[test]
fn writes_a_crud_skeleton_whose_package_comes_from_its_folders() {
    let dir = temp();
    let out = bia(
        dir.path(),
        &["proto", "add", "proto/catalog/v1/catalog.proto"],
    );
    out.ok_with(&["package catalog.v1"]);
    let text = read(dir.path().join("proto/catalog/v1/catalog.proto"));
    for expected in [
        "syntax = \"proto3\";",
        "package catalog.v1;",
        "service CatalogService {",
        "rpc CreateCatalog(CreateCatalogRequest) returns (Catalog);",
        "rpc GetCatalog(GetCatalogRequest) returns (Catalog);",
        "rpc ListCatalogs(ListCatalogsRequest) returns (ListCatalogsResponse);",
        "rpc UpdateCatalog(UpdateCatalogRequest) returns (Catalog);",
        "rpc DeleteCatalog(DeleteCatalogRequest) returns (DeleteCatalogResponse);",
        "repeated Catalog catalogs = 1;",
    ] {
        assert!(text.contains(expected), "missing {expected:?}:\n{text}");
    }

    bia(
        dir.path(),
        &["proto", "add", "api/catalog/v1/catalog.proto"],
    )
    .ok();
    assert!(read(dir.path().join("api/catalog/v1/catalog.proto")).contains("package catalog.v1;"));
    bia(
        dir.path(),
        &["proto", "add", "proto/shop/inventory/v2/stock_item.proto"],
    )
    .ok();
    let text = read(dir.path().join("proto/shop/inventory/v2/stock_item.proto"));
    assert!(
        text.contains("package shop.inventory.v2;") && text.contains("service StockItemService"),
        "{text}"
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
    let stub = read(dir.path().join("library/src/service/book_service.rs"));
    assert_contains(&stub, &["async fn list_books("]);
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
