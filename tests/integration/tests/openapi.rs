//! `/openapi.json` on the admin server: the document of what the gateway serves, checked by a
//! real validator (PyPI's openapi-spec-validator), and real REST answers of the gateway checked
//! against the document's own schemas (Python's jsonschema, Draft 2020-12), so the document and
//! the gateway cannot drift apart.

mod library;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use library::{Shelf, pb};
use pb::library_server::LibraryServer;

async fn start(toml: &str, descriptors: bool) -> bia::RunningApp {
    let config = bia::testing::config_with("library", toml);
    let mut builder = bia::App::builder(&config).add_service(LibraryServer::new(Shelf));
    if descriptors {
        builder = builder.file_descriptor_set(pb::FILE_DESCRIPTOR_SET);
    }
    bia::testing::start(builder.build().expect("the app builds"))
        .await
        .expect("the app starts")
}

/// GETs `url`, asserting `status`, and returns the body.
async fn get(url: &str, status: u16) -> String {
    let (got, body) = bia::testing::get(url).await.expect("the server answers");
    assert_eq!(got, status, "GET {url}: {body}");
    body
}

/// The document the admin server serves, as JSON and as a file for the Python tools.
async fn document(running: &bia::RunningApp, dir: &Path) -> (Value, std::path::PathBuf) {
    let text = get(&running.admin_url("/openapi.json"), 200).await;
    let file = dir.join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    (
        serde_json::from_str(&text).expect("the document is JSON"),
        file,
    )
}

/// Runs `python3 args...`, failing with how to install what is missing (scripts/test.sh
/// installs openapi-spec-validator, which brings jsonschema).
#[track_caller]
fn python(args: &[&str]) {
    let output = Command::new("python3")
        .args(args)
        .output()
        .expect("python3 runs: install Python 3 to run the OpenAPI tests");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "a Python package is missing: `python3 -m pip install openapi-spec-validator` \
         (scripts/test.sh installs it):\n{stderr}"
    );
    assert!(
        output.status.success(),
        "python3 {args:?} failed:\n{}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Validates the JSON `instance` against the schema at `pointer` in the document `doc`.
const CHECK: &str = r#"
import json, sys
import jsonschema, referencing
from referencing.jsonschema import DRAFT202012
doc = json.load(open(sys.argv[1]))
instance = json.loads(sys.argv[3])
registry = referencing.Registry().with_resource(
    "urn:openapi", referencing.Resource.from_contents(doc, default_specification=DRAFT202012))
validator = jsonschema.Draft202012Validator(
    {"$ref": "urn:openapi#" + sys.argv[2]}, registry=registry,
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
if errors:
    sys.exit("\n".join(errors))
"#;

#[track_caller]
fn conforms(file: &Path, pointer: &str, instance: &Value) {
    python(&[
        "-c",
        CHECK,
        file.to_str().unwrap(),
        pointer,
        &instance.to_string(),
    ]);
}

/// Every key of `object` is a property the schema at `schema` declares (the schemas allow
/// unknown keys, as proto3 JSON readers do, so jsonschema alone would not notice one).
#[track_caller]
fn declared(doc: &Value, schema: &str, object: &Value) {
    let properties = &doc["components"]["schemas"][schema]["properties"];
    for key in object.as_object().expect("an object").keys() {
        assert!(
            properties.get(key).is_some(),
            "{schema} declares no `{key}`: {object}"
        );
    }
}

#[tokio::test]
async fn the_admin_server_serves_a_valid_document_of_what_the_gateway_serves() {
    let running = start("", true).await;
    let dir = tempfile::tempdir().unwrap();
    let (doc, file) = document(&running, dir.path()).await;
    python(&["-m", "openapi_spec_validator", file.to_str().unwrap()]);

    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "library");
    let grpc = format!("http://{}", running.grpc_addr());
    assert_eq!(
        doc["servers"][0]["url"],
        grpc.as_str(),
        "REST is on the gRPC port"
    );
    let book = &doc["paths"]["/v1/{name}"]["get"];
    assert_eq!(book["operationId"], "Library_GetBook");
    assert_eq!(
        book["parameters"][0]["schema"]["pattern"],
        "^shelves/[^/]+/books/[^/]+$"
    );
    assert!(
        doc["paths"]["/v1/books:import"].is_null(),
        "client streams are no operations"
    );
    assert!(doc["paths"]["/v1/orders/{id}:cancel"]["post"].is_object());
    assert!(doc["paths"]["/v1/files/{path}"]["get"].is_object());

    // What the gateway answers is what the document says it answers.
    let ok = "/responses/200/content/application~1json/schema";
    let answer = get(&format!("{grpc}/v1/shelves/s1/books/b1"), 200).await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    conforms(&file, &format!("/paths/~1v1~1{{name}}/get{ok}"), &answer);
    declared(&doc, "gateway.v1.Book", &answer);
    assert_eq!(answer["pages"], "9007199254740993", "{answer}");

    let list = get(
        &format!("{grpc}/v1/shelves/s1/books?pageSize=5&filter.genre=FICTION"),
        200,
    )
    .await;
    let list: Value = serde_json::from_str(&list).unwrap();
    conforms(
        &file,
        &format!("/paths/~1v1~1shelves~1{{shelf}}~1books/get{ok}"),
        &list,
    );
    declared(&doc, "gateway.v1.ListBooksRequest", &list["echoed"]);
    let parameters: Vec<&str> = doc["paths"]["/v1/shelves/{shelf}/books"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        parameters.contains(&"pageSize") && parameters.contains(&"filter.genre"),
        "{parameters:?}"
    );

    let error = get(&format!("{grpc}/v1/shelves/s1/books/missing"), 404).await;
    let error: Value = serde_json::from_str(&error).unwrap();
    conforms(
        &file,
        "/paths/~1v1~1{name}/get/responses/default/content/application~1json/schema",
        &error,
    );
    assert_eq!(error["code"], 5, "{error}");

    let stream = "/paths/~1v1~1shelves~1{shelf}~1books:watch/get/responses/200/content";
    let lines = get(&format!("{grpc}/v1/shelves/s1/books:watch?count=3"), 200).await;
    let lines: Vec<&str> = lines.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for line in lines {
        let item: Value = serde_json::from_str(line).unwrap();
        conforms(
            &file,
            &format!("{stream}/application~1x-ndjson/schema"),
            &item,
        );
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn with_the_gateway_off_there_is_no_document_and_the_answer_says_why() {
    let running = start("[server.gateway]\nenabled = false\n", true).await;
    let body = get(&running.admin_url("/openapi.json"), 404).await;
    assert!(body.contains("server.gateway.enabled = false"), "{body}");
    let body = get(&running.admin_url("/nope"), 404).await;
    assert!(body.contains("/openapi.json"), "the 404 lists it: {body}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_service_without_descriptors_is_served_and_left_out() {
    let running = start("", false).await;
    let dir = tempfile::tempdir().unwrap();
    let (doc, file) = document(&running, dir.path()).await;
    python(&["-m", "openapi_spec_validator", file.to_str().unwrap()]);
    assert_eq!(doc["paths"], serde_json::json!({}));
    assert_eq!(doc["tags"], serde_json::json!([]));
    running.stop().await.unwrap();
}
