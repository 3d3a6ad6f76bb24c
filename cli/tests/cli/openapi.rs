use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{assert_contains, bia, read, temp, write};

/// An annotated proto, importing the googleapis files bia has built in.
const CATALOG: &str = r#"syntax = "proto3";
package catalog.v1;

import "google/api/annotations.proto";
import "google/api/field_behavior.proto";

// The shop's catalog.
service CatalogService {
  // Gets one item.
  rpc GetItem(GetItemRequest) returns (Item) {
    option (google.api.http) = { get: "/v1/items/{id}" };
  }
  rpc CreateItem(Item) returns (Item) {
    option (google.api.http) = { post: "/v1/items" body: "*" };
  }
  rpc WatchItems(GetItemRequest) returns (stream Item) {
    option (google.api.http) = { get: "/v1/items:watch" };
  }
}

message GetItemRequest {
  string id = 1;
}

// Something the shop sells.
message Item {
  string id = 1 [(google.api.field_behavior) = OUTPUT_ONLY];
  // Shown to buyers.
  string title = 2 [(google.api.field_behavior) = REQUIRED];
  int64 price_cents = 3;
}
"#;

/// A project folder with a Cargo.toml and `proto/catalog/v1/catalog.proto`.
fn project(dir: &Path) {
    write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"catalog-service\"\nversion = \"0.3.1\"\nedition = \"2024\"\n",
    );
    write(dir.join("proto/catalog/v1/catalog.proto"), CATALOG);
}

/// Runs openapi-spec-validator (PyPI) on `file`; fails with how to install it when it is
/// missing (scripts/test.sh installs it).
#[track_caller]
fn validate(file: &Path) {
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file)
        .output()
        .expect("python3 runs: install Python 3 to run the OpenAPI tests");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named openapi_spec_validator"),
        "openapi-spec-validator is missing: `python3 -m pip install openapi-spec-validator` \
         (scripts/test.sh installs it)"
    );
    assert!(
        output.status.success(),
        "openapi-spec-validator rejects {}:\n{}{stderr}",
        file.display(),
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn writes_a_valid_document_for_the_project_protos() {
    let dir = temp();
    project(dir.path());
    let out = bia(dir.path(), &["openapi"]).ok().to_owned();
    assert_contains(&out, &["wrote ./openapi.json (1 service, 3 paths"]);
    let file = dir.path().join("openapi.json");
    validate(&file);
    let doc: Value = serde_json::from_str(&read(&file)).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "catalog-service");
    assert_eq!(doc["info"]["version"], "0.3.1");
    let get = &doc["paths"]["/v1/items/{id}"]["get"];
    assert_eq!(get["operationId"], "CatalogService_GetItem");
    assert_eq!(get["summary"], "Gets one item.");
    let item = &doc["components"]["schemas"]["catalog.v1.Item"];
    assert_eq!(item["required"], serde_json::json!(["title"]));
    assert_eq!(item["properties"]["id"]["readOnly"], true);
    assert_eq!(item["properties"]["priceCents"]["type"], "string");
    assert_eq!(
        item["properties"]["title"]["description"],
        "Shown to buyers."
    );
    let watch = &doc["paths"]["/v1/items:watch"]["get"]["responses"]["200"]["content"];
    assert!(watch.get("application/x-ndjson").is_some(), "{watch}");
    assert!(
        doc["components"]["schemas"]["google.rpc.Status"].is_object(),
        "the error body"
    );
}

#[test]
fn writes_to_a_path_or_to_stdout_and_takes_protos_by_name() {
    let dir = temp();
    project(dir.path());
    bia(dir.path(), &["openapi", "-o", "docs/api/openapi.json"]).ok();
    let written = read(dir.path().join("docs/api/openapi.json"));
    assert!(!dir.path().join("openapi.json").exists());

    let out = bia(dir.path(), &["openapi", "-o", "-"]);
    assert_eq!(out.ok(), written, "stdout has the same document");

    // --proto with -I, from outside the project: the same document but for the title.
    let elsewhere = temp();
    let proto = dir.path().join("proto/catalog/v1/catalog.proto");
    let include = dir.path().join("proto");
    let out = bia(
        elsewhere.path(),
        &[
            "openapi",
            "--proto",
            proto.to_str().unwrap(),
            "-I",
            include.to_str().unwrap(),
            "--server",
            "http://127.0.0.1:9000",
            "-o",
            "-",
        ],
    );
    let doc: Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(doc["servers"][0]["url"], "http://127.0.0.1:9000");
    assert_eq!(doc["info"]["version"], "unversioned");
    let before: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(doc["paths"], before["paths"]);
    assert_eq!(doc["components"], before["components"]);
}

#[test]
fn a_project_without_rules_gets_a_document_without_paths_and_a_hint() {
    let dir = temp();
    write(
        dir.path().join("proto/greeter/v1/greeter.proto"),
        "syntax = \"proto3\";\npackage greeter.v1;\n\
         service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }\n\
         message HelloRequest { string name = 1; }\nmessage HelloReply { string message = 1; }\n",
    );
    let out = bia(dir.path(), &["openapi"]).ok().to_owned();
    assert_contains(
        &out,
        &[
            "wrote ./openapi.json",
            "0 paths",
            "note: no method has a google.api.http rule",
            "google/api/annotations.proto",
        ],
    );
    let file = dir.path().join("openapi.json");
    validate(&file);
    let doc: Value = serde_json::from_str(&read(&file)).unwrap();
    assert_eq!(doc["paths"], serde_json::json!({}));
    assert!(doc["components"]["schemas"]["greeter.v1.HelloReply"].is_object());
}

#[test]
fn in_a_project_only_the_services_it_registers_are_described() {
    let dir = temp();
    project(dir.path());
    // A client's copy of another service's proto, as a project keeps for what it calls.
    write(
        dir.path().join("proto/billing/v1/billing.proto"),
        "syntax = \"proto3\";\npackage billing.v1;\nimport \"google/api/annotations.proto\";\n\
         service Billing { rpc Charge(Amount) returns (Amount) { option (google.api.http) = { post: \"/v1/charges\" body: \"*\" }; } }\n\
         message Amount { int64 cents = 1; }\n",
    );
    write(
        dir.path().join("src/service/mod.rs"),
        "mod catalog_service;\n\npub use catalog_service::CatalogService;\n\n\
         pub fn register(builder: bia::AppBuilder, use_cases: &crate::biz::UseCases) -> bia::AppBuilder {\n    \
         builder\n        .add_service(crate::pb::catalog::v1::catalog_service_server::CatalogServiceServer::new(CatalogService::new(use_cases)))\n}\n",
    );
    let out = bia(dir.path(), &["openapi", "-o", "api.json"])
        .ok()
        .to_owned();
    assert_contains(
        &out,
        &[
            "left out billing.v1.Billing: src/service/mod.rs does not register it",
            "(1 service, 3 paths",
        ],
    );
    let doc: Value = serde_json::from_str(&read(dir.path().join("api.json"))).unwrap();
    assert!(doc["paths"]["/v1/charges"].is_null(), "{}", doc["paths"]);

    // Named with --proto, a file's services are described whoever serves them.
    let out = bia(
        dir.path(),
        &[
            "openapi",
            "--proto",
            "proto/billing/v1/billing.proto",
            "-I",
            "proto",
            "-o",
            "-",
        ],
    );
    let doc: Value = serde_json::from_str(out.ok()).unwrap();
    assert!(doc["paths"]["/v1/charges"]["post"].is_object());
}

#[test]
fn bad_input_says_what_is_wrong() {
    let dir = temp();
    bia(dir.path(), &["openapi"]).fails_with(
        1,
        &[
            "is not a bia service project",
            "has no proto/ folder",
            "--proto FILE",
        ],
    );

    project(dir.path());
    let bad = CATALOG.replace("/v1/items/{id}", "/v1/items/{nope}");
    write(dir.path().join("proto/catalog/v1/catalog.proto"), &bad);
    bia(dir.path(), &["openapi"]).fails_with(
        1,
        &[
            "catalog.v1.CatalogService/GetItem",
            "GET /v1/items/{nope}",
            "has no field `nope`",
        ],
    );
    assert!(!dir.path().join("openapi.json").exists(), "nothing written");
}
