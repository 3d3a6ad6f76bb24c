//! The OpenAPI 3.1 document of a server's REST API, generated from its descriptors: what the
//! admin server serves at `/openapi.json` and `bia openapi` writes for a project.
//!
//! - `components.schemas` holds every message and enum the services use, in the proto3 JSON
//!   mapping: lowerCamelCase property names, 64-bit integers as strings, enums by name, `bytes` as
//!   base64, maps as `additionalProperties`, oneofs as "at most one of", the well-known types
//!   (`Timestamp`, `Duration`, `FieldMask`, `Struct`, `Value`, `Any`, the wrappers) inline in
//!   their JSON form. Comments in the protos become descriptions; `google.api.field_behavior`
//!   `REQUIRED` fields are `required`, `OUTPUT_ONLY` ones `readOnly`.
//! - `paths` holds one operation per `google.api.http` binding (`additional_bindings`
//!   included): path parameters from the template's variables (`{user.id}`), query parameters
//!   for the other fields when there is no `body: "*"`, the request body per `body`, the
//!   response per `response_body`, server streams as `application/x-ndjson` and
//!   `text/event-stream`, and a `default` response with the `google.rpc.Status` error body.
//!   `operationId` is `Service_Method`; each service is a tag.
//!
//! The output is deterministic (the same descriptors give the same bytes), with schemas and
//! paths sorted by name.

mod comments;
mod paths;
mod query;
mod schema;
mod wkt;

use prost_reflect::{DescriptorPool, ServiceDescriptor};
use serde_json::{Map, Value, json};

use comments::Comments;
use schema::Schemas;

/// The version of the OpenAPI Specification the document follows.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// What the document says about the API as a whole: its `info` and `servers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// `info.title`: the service's name, e.g. `user-service`.
    pub title: String,
    /// `info.version`: the version of the API or of the service.
    pub version: String,
    /// `servers[].url`: where the REST API is served, e.g. `http://10.0.0.5:9000`. Empty: the
    /// document names no server (tools then use the host they fetched it from).
    pub servers: Vec<String>,
}

/// Why a document could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OpenApiError(String);

/// Builds the OpenAPI 3.1 document of `services` (full names, `pkg.Service`) from `pool`.
///
/// A service that the pool does not describe is an error; so is a `google.api.http` rule that
/// does not parse.
pub fn document(
    pool: &DescriptorPool,
    services: &[&str],
    info: &Info,
) -> Result<Value, OpenApiError> {
    let mut found: Vec<ServiceDescriptor> = Vec::with_capacity(services.len());
    for name in services {
        let service = pool.get_service_by_name(name).ok_or_else(|| {
            OpenApiError(format!(
                "no descriptor for service {name}: register its file descriptor set \
                 (AppBuilder::file_descriptor_set) or compile the proto that defines it"
            ))
        })?;
        found.push(service);
    }
    found.sort_by(|a, b| a.full_name().cmp(b.full_name()));
    found.dedup_by(|a, b| a.full_name() == b.full_name());

    let comments = Comments::of(pool);
    let mut schemas = Schemas::new(pool, &comments);
    let mut tags = Vec::new();
    for service in &found {
        let mut tag = json!({ "name": service.full_name() });
        if let Some(doc) = comments.get(service.parent_file().name(), service.path()) {
            tag["description"] = json!(doc);
        }
        tags.push(tag);
        for method in service.methods() {
            schemas.message(&method.input());
            schemas.message(&method.output());
        }
    }
    let mut rules = crate::gateway::rule::rules(pool, |service| {
        found.iter().any(|f| f.full_name() == service.full_name())
    })
    .map_err(|e| OpenApiError(e.to_string()))?;
    // Stable: a service's methods and bindings keep the order the proto gives them.
    fn service(rule: &crate::gateway::rule::HttpRule) -> &str {
        rule.method().parent_service().full_name()
    }
    rules.sort_by(|a, b| service(a).cmp(service(b)));
    let paths = paths::paths(&rules, &mut schemas, &comments);
    status_schema(pool, &mut schemas);

    let mut root = Map::new();
    root.insert("openapi".to_owned(), json!(OPENAPI_VERSION));
    root.insert(
        "info".to_owned(),
        json!({ "title": info.title, "version": info.version }),
    );
    if !info.servers.is_empty() {
        let servers: Vec<Value> = info
            .servers
            .iter()
            .map(|url| json!({ "url": url }))
            .collect();
        root.insert("servers".to_owned(), Value::Array(servers));
    }
    root.insert("tags".to_owned(), Value::Array(tags));
    root.insert("paths".to_owned(), Value::Object(paths));
    root.insert(
        "components".to_owned(),
        json!({ "schemas": schemas.into_components() }),
    );
    Ok(Value::Object(root))
}

/// The document an App's admin server serves: its services that have descriptors, from the
/// gateway's own descriptor pool, so that the document describes exactly what the gateway
/// serves. `None` when the gateway is off (there is no REST API to describe) or the admin
/// server is.
pub(crate) fn for_app(
    config: &crate::config::Config,
    gateway: Option<&super::GatewaySetup>,
    services: &[&str],
) -> Result<Option<Value>, crate::BuildError> {
    let Some(gateway) = gateway.filter(|_| config.server.admin.enabled) else {
        // No gateway, nothing to describe; no admin server, nowhere to serve it.
        return Ok(None);
    };
    let pool = &gateway.rest.pool;
    // A service added without its descriptor set is served (as gRPC) all the same; it just
    // cannot be described.
    let described: Vec<&str> = services
        .iter()
        .copied()
        .filter(|name| pool.get_service_by_name(name).is_some())
        .collect();
    let info = Info {
        title: config.app.name.clone(),
        version: match config.app.version.as_str() {
            "" => "unversioned".to_owned(),
            version => version.to_owned(),
        },
        servers: Vec::new(),
    };
    document(pool, &described, &info)
        .map(Some)
        .map_err(|e| crate::BuildError::caused_by("cannot make the OpenAPI document", e))
}

/// The error body: `google.rpc.Status` from the descriptors when they have it (the bundled
/// google/rpc/status.proto), else its JSON form written out.
fn status_schema(pool: &DescriptorPool, schemas: &mut Schemas<'_>) {
    if let Some(status) = pool.get_message_by_name(STATUS) {
        schemas.message(&status);
    } else if !schemas.has(STATUS) {
        schemas.insert(
            STATUS,
            json!({
                "type": "object",
                "description": "The error: its gRPC code, a message for developers, and details such as google.rpc.ErrorInfo or google.rpc.BadRequest.",
                "properties": {
                    "code": { "type": "integer", "format": "int32", "description": "The gRPC status code, e.g. 5 for NOT_FOUND." },
                    "message": { "type": "string", "description": "A message for developers, in English." },
                    "details": {
                        "type": "array",
                        "items": wkt::schema("google.protobuf.Any").expect("Any is a well-known type"),
                        "description": "Details of the error, each with its `@type`.",
                    },
                },
            }),
        );
    }
}

/// The component name of the error body.
const STATUS: &str = "google.rpc.Status";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testing::pool;

    fn info() -> Info {
        Info {
            title: "users".into(),
            version: "1.0.0".into(),
            servers: vec!["http://127.0.0.1:9000".into()],
        }
    }

    #[test]
    fn the_document_is_the_same_on_every_run_and_sorted() {
        let users = pool("users/v1/users.proto", paths::tests::USERS);
        let make = || {
            serde_json::to_string(&document(&users, &["users.v1.UserService"], &info()).unwrap())
                .unwrap()
        };
        let first = make();
        assert_eq!(first, make());
        let doc: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"], json!({ "title": "users", "version": "1.0.0" }));
        assert_eq!(doc["servers"], json!([{ "url": "http://127.0.0.1:9000" }]));
        let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
    }

    #[test]
    fn an_unknown_service_is_an_error_that_says_what_to_register() {
        let users = pool("users/v1/users.proto", paths::tests::USERS);
        let error = document(&users, &["users.v1.Nope"], &info())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no descriptor for service users.v1.Nope"),
            "{error}"
        );
        assert!(error.contains("AppBuilder::file_descriptor_set"), "{error}");
    }

    #[test]
    fn without_rules_or_google_rpc_there_are_no_paths_and_the_status_is_written_out() {
        let plain = pool(
            "plain.proto",
            r#"syntax = "proto3";
package plain;
service Echo { rpc Say(Text) returns (Text); }
message Text { string text = 1; }
"#,
        );
        let doc = document(&plain, &["plain.Echo"], &info()).unwrap();
        assert_eq!(doc["paths"], json!({}));
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert_eq!(
            schemas.keys().collect::<Vec<_>>(),
            ["google.rpc.Status", "plain.Text"]
        );
        let status = &schemas["google.rpc.Status"]["properties"];
        assert_eq!(status["details"]["items"]["required"], json!(["@type"]));
    }
}
