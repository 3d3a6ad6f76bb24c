//! `paths`: one operation per `google.api.http` binding, as the gateway serves it.

use prost_reflect::{FieldDescriptor, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::comments::Comments;
use super::query;
use super::schema::{Schemas, mark_deprecated, plain, reference};
use crate::gateway::rule::{HttpRule, RuleBody};
use crate::gateway::template::{PathTemplate, Segment};

/// The `paths` object of `rules` (in the order the descriptors list them, which decides
/// which of two rules for one path and method is documented).
pub(super) fn paths(
    rules: &[HttpRule],
    schemas: &mut Schemas<'_>,
    comments: &Comments,
) -> Map<String, Value> {
    let mut paths = Map::new();
    let mut ids: Vec<String> = Vec::new();
    let mut shapes = Vec::new();
    for rule in rules {
        let method = rule.method();
        // A REST call carries one request message: the gateway answers client and bidi
        // streams with an error naming the protocols that can, so they are no operations.
        if method.is_client_streaming() {
            continue;
        }
        let Some(verb) = openapi_verb(rule.http_method()) else {
            continue;
        };
        let (path, wildcards) = openapi_path(rule.template());
        let mut parameters = path_parameters(rule, schemas);
        parameters.extend((0..wildcards).map(wildcard_parameter));
        let path = canonical(&mut shapes, path, &mut parameters);
        if paths
            .get(&path)
            .is_some_and(|item| item.get(verb).is_some())
        {
            continue;
        }
        let service = method.parent_service();
        let base = format!("{}_{}", service.name(), method.name());
        let id = unique(&base, &mut ids);
        let mut operation = Map::new();
        operation.insert("operationId".to_owned(), json!(id));
        operation.insert("tags".to_owned(), json!([service.full_name()]));
        if let Some(doc) = comments.get(method.parent_file().name(), method.path()) {
            let summary = doc.split("\n\n").next().unwrap_or(doc).replace('\n', " ");
            operation.insert("summary".to_owned(), json!(summary));
            if summary != doc {
                operation.insert("description".to_owned(), json!(doc));
            }
        }
        if *rule.body() != RuleBody::Whole {
            query::parameters(rule, schemas, &mut parameters);
        }
        if !parameters.is_empty() {
            operation.insert("parameters".to_owned(), Value::Array(parameters));
        }
        if let Some(body) = request_body(rule, schemas) {
            operation.insert("requestBody".to_owned(), body);
        }
        operation.insert("responses".to_owned(), responses(rule, schemas));
        mark_deprecated(&mut operation, &method.options());
        paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("path items are objects")
            .insert(verb.to_owned(), Value::Object(operation));
    }
    // Sorted whatever map serde_json was built with (`preserve_order` keeps insertion order).
    let sorted: std::collections::BTreeMap<String, Value> = paths.into_iter().collect();
    sorted.into_iter().collect()
}

/// OpenAPI forbids two paths that differ only in their parameters' names
/// (`/v1/users/{id}` and `/v1/users/{user.id}`), which google.api.http rules often make: the
/// later one joins the first path, its parameters renamed by position, each saying which
/// field it sets.
fn canonical(shapes: &mut Vec<(String, String)>, path: String, parameters: &mut [Value]) -> String {
    let shape = shape_of(&path);
    let Some((_, first)) = shapes.iter().find(|(known, _)| *known == shape) else {
        shapes.push((shape, path.clone()));
        return path;
    };
    if *first == path {
        return path;
    }
    for (old, new) in names_in(&path).into_iter().zip(names_in(first)) {
        let renamed = parameters
            .iter_mut()
            .find(|p| p["in"] == "path" && p["name"] == old.as_str());
        if let Some(parameter) = renamed {
            let note = format!("Sets the request field `{old}`.");
            let description = match parameter["description"].as_str() {
                Some(doc) => format!("{note}\n\n{doc}"),
                None => note,
            };
            parameter["name"] = json!(new);
            parameter["description"] = json!(description);
        }
    }
    first.clone()
}

/// A path with its parameters' names left out: `/v1/users/{}`.
fn shape_of(path: &str) -> String {
    let mut shape = String::with_capacity(path.len());
    let mut in_name = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_name = true;
                shape.push_str("{}");
            }
            '}' => in_name = false,
            _ if in_name => {}
            _ => shape.push(c),
        }
    }
    shape
}

/// The parameter names of a path, in order.
fn names_in(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// The OpenAPI field of an HTTP method; `None` for a `custom` kind OpenAPI cannot name.
fn openapi_verb(method: &http::Method) -> Option<&'static str> {
    Some(match *method {
        http::Method::GET => "get",
        http::Method::PUT => "put",
        http::Method::POST => "post",
        http::Method::DELETE => "delete",
        http::Method::PATCH => "patch",
        http::Method::HEAD => "head",
        http::Method::OPTIONS => "options",
        http::Method::TRACE => "trace",
        _ => return None,
    })
}

/// `base`, or `base2`, `base3`... for the next bindings of one method.
fn unique(base: &str, taken: &mut Vec<String>) -> String {
    let mut id = base.to_owned();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}{n}");
    }
    taken.push(id.clone());
    id
}

/// The OpenAPI path of a template: each variable one `{field.path}` parameter however many
/// segments it binds, a `*` or `**` outside any variable a parameter of its own
/// (`{segment1}`...), and the custom verb kept (`/v1/{name}:cancel`). Also gives how many such
/// wildcard parameters it made.
fn openapi_path(template: &PathTemplate) -> (String, usize) {
    let segments = template.segments();
    let mut path = String::new();
    let mut wildcards = 0;
    let mut i = 0;
    while i < segments.len() {
        path.push('/');
        if let Some(variable) = template
            .variables()
            .iter()
            .find(|v| v.segments().start == i && !v.segments().is_empty())
        {
            path.push('{');
            path.push_str(&variable.field_path().join("."));
            path.push('}');
            i = variable.segments().end;
            continue;
        }
        match &segments[i] {
            Segment::Literal(text) => path.push_str(text),
            Segment::Single | Segment::Multi => {
                wildcards += 1;
                path.push_str(&format!("{{segment{wildcards}}}"));
            }
        }
        i += 1;
    }
    if path.is_empty() {
        path.push('/');
    }
    if let Some(verb) = template.verb() {
        path.push(':');
        path.push_str(verb);
    }
    (path, wildcards)
}

fn wildcard_parameter(index: usize) -> Value {
    json!({
        "name": format!("segment{}", index + 1),
        "in": "path",
        "required": true,
        "schema": { "type": "string" },
        "description": "A path segment the rule matches with `*` or `**`, bound to no field.",
    })
}

/// A parameter for each path variable: the field it sets, its schema, and for a variable
/// that binds several segments (`{name=shelves/*}`) their pattern.
fn path_parameters(rule: &HttpRule, schemas: &mut Schemas<'_>) -> Vec<Value> {
    let template = rule.template();
    let mut out = Vec::new();
    for (variable, chain) in rule.path_fields() {
        let leaf = chain.last().expect("a variable sets one field at least");
        let range = variable.segments();
        let bound = &template.segments()[range.clone()];
        let mut schema = plain(schemas.field(leaf));
        let mut description = schemas.doc(leaf).unwrap_or_default().to_owned();
        if *bound != [Segment::Single] {
            let pattern: Vec<String> = bound
                .iter()
                .map(|segment| match segment {
                    Segment::Literal(text) => regex_escape(text),
                    Segment::Single => "[^/]+".to_owned(),
                    Segment::Multi => ".*".to_owned(),
                })
                .collect();
            schema = json!({ "type": "string", "pattern": format!("^{}$", pattern.join("/")) });
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            let shape: Vec<String> = bound.iter().map(segment_text).collect();
            description.push_str(&format!(
                "Matches `{}`; its `/` are sent as they are, not escaped.",
                shape.join("/")
            ));
        }
        let mut parameter = json!({
            "name": variable.field_path().join("."),
            "in": "path",
            "required": true,
            "schema": schema,
        });
        if !description.is_empty() {
            parameter["description"] = json!(description);
        }
        out.push(parameter);
    }
    out
}

fn segment_text(segment: &Segment) -> String {
    match segment {
        Segment::Literal(text) => text.to_string(),
        Segment::Single => "*".to_owned(),
        Segment::Multi => "**".to_owned(),
    }
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The request body: the whole request less what the path binds (`body: "*"`), one field
/// (`body: "field"`), or none.
fn request_body(rule: &HttpRule, schemas: &mut Schemas<'_>) -> Option<Value> {
    let schema = match rule.body() {
        RuleBody::None => return None,
        RuleBody::Field(field) => plain_ref(schemas.field(field)),
        RuleBody::Whole => {
            let input = rule.method().input();
            let whole = schemas.message(&input);
            let top: Vec<&FieldDescriptor> = rule
                .path_fields()
                .filter(|(_, chain)| chain.len() == 1)
                .map(|(_, chain)| &chain[0])
                .collect();
            if top.is_empty() {
                whole
            } else {
                without(schemas, &input, &top).unwrap_or(whole)
            }
        }
    };
    Some(json!({
        "required": true,
        "content": { "application/json": { "schema": schema } },
    }))
}

/// A body field's schema: its description belongs to the field, not to the whole body.
fn plain_ref(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.remove("description");
    }
    schema
}

/// The request's component without the fields the path sets, for a `body: "*"` rule.
fn without(
    schemas: &Schemas<'_>,
    input: &MessageDescriptor,
    bound: &[&FieldDescriptor],
) -> Option<Value> {
    let mut schema = schemas.get(input.full_name())?.clone();
    let names: Vec<&str> = bound.iter().map(|f| f.json_name()).collect();
    let object = schema.as_object_mut()?;
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.retain(|name, _| !names.contains(&name.as_str()));
    }
    if let Some(Value::Array(required)) = object.get_mut("required") {
        required.retain(|name| !names.iter().any(|n| name == n));
        if required.is_empty() {
            object.remove("required");
        }
    }
    if let Some(Value::Object(exclusive)) = object.get_mut("dependentSchemas") {
        exclusive.retain(|name, _| !names.contains(&name.as_str()));
        if exclusive.is_empty() {
            object.remove("dependentSchemas");
        }
    }
    object.insert(
        "description".to_owned(),
        json!(format!(
            "{} without the fields the path sets ({}).",
            input.full_name(),
            names.join(", ")
        )),
    );
    Some(schema)
}

/// `200` with the response (or its `response_body` field), one JSON message per line or per
/// event for a server stream, and `default` with the error body.
fn responses(rule: &HttpRule, schemas: &mut Schemas<'_>) -> Value {
    let method = rule.method();
    let body = match rule.response_body() {
        Some(field) => plain_ref(schemas.field(field)),
        None => schemas.message(&method.output()),
    };
    let ok = if method.is_server_streaming() {
        json!({
            "description": "A stream of messages: one JSON message per line \
                (application/x-ndjson), or one per event's `data` when the request accepts \
                text/event-stream. An error once the stream has begun ends it: a last line \
                `{\"error\": <google.rpc.Status>}`, or an `error` event whose data is the \
                google.rpc.Status.",
            "content": {
                "application/x-ndjson": { "schema": body.clone() },
                "text/event-stream": { "schema": body },
            },
        })
    } else {
        json!({
            "description": "OK",
            "content": { "application/json": { "schema": body } },
        })
    };
    json!({
        "200": ok,
        "default": {
            "description": "An error: the HTTP status follows the gRPC code (NOT_FOUND is 404, \
                INVALID_ARGUMENT 400, ...), the body is a google.rpc.Status with its details.",
            "content": { "application/json": { "schema": reference(super::STATUS) } },
        },
    })
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::super::{Info, document};
    use super::*;
    use crate::gateway::testing::pool;

    pub(in crate::gateway::openapi) const USERS: &str = r#"syntax = "proto3";
package users.v1;

import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";

// Manages the shop's users.
service UserService {
  // Creates a user.
  //
  // The server chooses the id.
  rpc CreateUser(CreateUserRequest) returns (User) {
    option (google.api.http) = { post: "/v1/users" body: "user" };
  }
  // Gets one user.
  rpc GetUser(GetUserRequest) returns (User) {
    option (google.api.http) = { get: "/v1/users/{id}" };
  }
  rpc ListUsers(ListUsersRequest) returns (ListUsersResponse) {
    option (google.api.http) = { get: "/v1/users" };
  }
  rpc UpdateUser(UpdateUserRequest) returns (User) {
    option (google.api.http) = {
      patch: "/v1/users/{user.id}"
      body: "user"
      additional_bindings { put: "/v1/users/{user.id}" body: "*" }
    };
  }
  rpc DeleteUser(DeleteUserRequest) returns (google.protobuf.Empty) {
    option deprecated = true;
    option (google.api.http) = { delete: "/v1/users/{id}" };
  }
  rpc CancelJob(CancelJobRequest) returns (Job) {
    option (google.api.http) = { post: "/v1/{name=jobs/*}:cancel" body: "*" response_body: "state" };
  }
  rpc WatchUsers(ListUsersRequest) returns (stream User) {
    option (google.api.http) = { get: "/v1/users:watch" };
  }
  rpc Upload(stream User) returns (User) {
    option (google.api.http) = { post: "/v1/users:upload" body: "*" };
  }
  rpc Internal(GetUserRequest) returns (User);
}

message User {
  string id = 1 [(google.api.field_behavior) = OUTPUT_ONLY];
  // What others see.
  string display_name = 2 [(google.api.field_behavior) = REQUIRED];
  string email = 3;
}

message CreateUserRequest {
  User user = 1 [(google.api.field_behavior) = REQUIRED];
  // Checks the request without creating anything.
  bool validate_only = 2;
}

message GetUserRequest {
  // The user's id.
  string id = 1;
}

message ListUsersRequest {
  // At most this many users (default 50).
  int32 page_size = 1 [(google.api.field_behavior) = REQUIRED];
  string page_token = 2;
  Filter filter = 3;
  repeated string tags = 4;
  map<string, string> labels = 5;
  repeated Filter any_of = 6;
}

message Filter {
  string name_prefix = 1;
  Filter and = 2;
}

message ListUsersResponse {
  repeated User users = 1;
  string next_page_token = 2;
}

message UpdateUserRequest {
  User user = 1;
  google.protobuf.FieldMask update_mask = 2;
}

message DeleteUserRequest {
  string id = 1;
  bool force = 2;
}

message CancelJobRequest {
  string name = 1;
  string reason = 2 [(google.api.field_behavior) = REQUIRED];
}

message Job {
  string name = 1;
  State state = 2;
  enum State {
    STATE_UNSPECIFIED = 0;
    CANCELLED = 1;
  }
}
"#;

    fn doc() -> Value {
        let pool = pool("users/v1/users.proto", USERS);
        let info = Info {
            title: "users".into(),
            version: "1.0.0".into(),
            servers: vec![],
        };
        document(&pool, &["users.v1.UserService"], &info).unwrap()
    }

    fn names(parameters: &Value) -> Vec<String> {
        parameters
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|p| {
                        format!(
                            "{} {}",
                            p["in"].as_str().unwrap(),
                            p["name"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn every_binding_is_an_operation_and_client_streams_are_not() {
        let doc = doc();
        let paths = doc["paths"].as_object().unwrap();
        let mut shown: Vec<String> = Vec::new();
        for (path, item) in paths {
            for (verb, operation) in item.as_object().unwrap() {
                shown.push(format!(
                    "{verb} {path} {}",
                    operation["operationId"].as_str().unwrap()
                ));
            }
        }
        shown.sort();
        assert_eq!(
            shown,
            [
                "delete /v1/users/{id} UserService_DeleteUser",
                "get /v1/users UserService_ListUsers",
                "get /v1/users/{id} UserService_GetUser",
                "get /v1/users:watch UserService_WatchUsers",
                "patch /v1/users/{id} UserService_UpdateUser",
                "post /v1/users UserService_CreateUser",
                "post /v1/{name}:cancel UserService_CancelJob",
                "put /v1/users/{id} UserService_UpdateUser2",
            ]
        );
        assert_eq!(
            doc["tags"],
            json!([{ "name": "users.v1.UserService", "description": "Manages the shop's users." }])
        );
    }

    #[test]
    fn comments_give_summary_and_description() {
        let doc = doc();
        let create = &doc["paths"]["/v1/users"]["post"];
        assert_eq!(create["summary"], "Creates a user.");
        assert_eq!(
            create["description"],
            "Creates a user.\n\nThe server chooses the id."
        );
        let get = &doc["paths"]["/v1/users/{id}"]["get"];
        assert_eq!(get["summary"], "Gets one user.");
        assert!(get.get("description").is_none());
        assert_eq!(get["tags"], json!(["users.v1.UserService"]));
        assert_eq!(doc["paths"]["/v1/users/{id}"]["delete"]["deprecated"], true);
    }

    #[test]
    fn path_variables_are_path_parameters() {
        let doc = doc();
        let get = &doc["paths"]["/v1/users/{id}"]["get"];
        assert_eq!(
            get["parameters"],
            json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "description": "The user's id." }])
        );
        // `{user.id}` joins `/v1/users/{id}`: OpenAPI has no two paths that differ in names only.
        let patch = &doc["paths"]["/v1/users/{id}"]["patch"];
        assert_eq!(names(&patch["parameters"]), ["path id", "query updateMask"]);
        assert_eq!(
            patch["parameters"][0],
            json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "description": "Sets the request field `user.id`." }),
            "no readOnly on a parameter"
        );
        let cancel = &doc["paths"]["/v1/{name}:cancel"]["post"];
        assert_eq!(
            cancel["parameters"][0]["schema"],
            json!({ "type": "string", "pattern": "^jobs/[^/]+$" })
        );
        assert!(
            cancel["parameters"][0]["description"]
                .as_str()
                .unwrap()
                .contains("`jobs/*`")
        );
    }

    #[test]
    fn other_fields_are_query_parameters_without_a_whole_body() {
        let doc = doc();
        let list = &doc["paths"]["/v1/users"]["get"];
        assert_eq!(
            names(&list["parameters"]),
            [
                "query pageSize",
                "query pageToken",
                "query filter.namePrefix",
                "query tags",
            ],
            "maps, repeated messages and a message inside itself are left out"
        );
        assert_eq!(list["parameters"][0]["required"], true);
        assert_eq!(
            list["parameters"][0]["description"],
            "At most this many users (default 50)."
        );
        assert_eq!(
            list["parameters"][3]["schema"],
            json!({ "type": "array", "items": { "type": "string" } })
        );
        let delete = &doc["paths"]["/v1/users/{id}"]["delete"];
        assert_eq!(names(&delete["parameters"]), ["path id", "query force"]);
        let create = &doc["paths"]["/v1/users"]["post"];
        assert_eq!(
            names(&create["parameters"]),
            ["query validateOnly"],
            "body: user leaves the rest to the query"
        );
        let put = &doc["paths"]["/v1/users/{id}"]["put"];
        assert_eq!(
            names(&put["parameters"]),
            ["path id"],
            "body: * leaves nothing to the query"
        );
    }

    #[test]
    fn bodies_follow_body_and_response_body() {
        let doc = doc();
        let body = |path: &str, verb: &str| doc["paths"][path][verb]["requestBody"].clone();
        assert_eq!(
            body("/v1/users", "post"),
            json!({ "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/users.v1.User" } } } })
        );
        assert!(
            doc["paths"]["/v1/users"]["get"]
                .get("requestBody")
                .is_none()
        );
        assert_eq!(
            body("/v1/users/{id}", "put")["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/users.v1.UpdateUserRequest",
            "a nested path field leaves the body whole"
        );
        let cancel =
            body("/v1/{name}:cancel", "post")["content"]["application/json"]["schema"].clone();
        assert_eq!(cancel["type"], "object");
        assert_eq!(
            cancel["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["reason"]
        );
        assert_eq!(cancel["required"], json!(["reason"]));
        let ok = &doc["paths"]["/v1/{name}:cancel"]["post"]["responses"]["200"];
        assert_eq!(
            ok["content"]["application/json"]["schema"],
            json!({ "$ref": "#/components/schemas/users.v1.Job.State" })
        );
    }

    #[test]
    fn server_streams_are_ndjson_or_events_and_errors_are_statuses() {
        let doc = doc();
        let watch = &doc["paths"]["/v1/users:watch"]["get"]["responses"];
        let content = watch["200"]["content"].as_object().unwrap();
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["application/x-ndjson", "text/event-stream"]
        );
        assert_eq!(
            content["application/x-ndjson"]["schema"]["$ref"],
            "#/components/schemas/users.v1.User"
        );
        let default = &doc["paths"]["/v1/users/{id}"]["get"]["responses"]["default"];
        assert_eq!(
            default["content"]["application/json"]["schema"],
            json!({ "$ref": "#/components/schemas/google.rpc.Status" })
        );
        assert_eq!(
            doc["components"]["schemas"]["google.rpc.Status"]["properties"]["code"]["format"],
            "int32"
        );
    }
}
