//! The `google.api.http` rules of a service's methods, read from its descriptors.
//!
//! A method annotated with
//!
//! ```proto
//! rpc UpdateUser(UpdateUserRequest) returns (User) {
//!   option (google.api.http) = {
//!     patch: "/v1/users/{user.id}"
//!     body: "user"
//!     additional_bindings { put: "/v1/users/{user.id}" body: "user" }
//!   };
//! }
//! ```
//!
//! has two [`HttpRule`]s: each an HTTP method, a [`PathTemplate`] whose variables are resolved to
//! the request fields they set, which part of the request the body carries ([`RuleBody`]) and
//! which field of the response is the response body. Everything is checked when read: a
//! malformed template, a variable naming no field, or a body field that does not exist is a
//! [`RuleError`] naming the method and the rule, so a server fails at start rather than at its
//! first request.
//!
//! ```
//! # fn demo(pool: &prost_reflect::DescriptorPool) -> Result<(), bia::gateway::rule::RuleError> {
//! for rule in bia::gateway::rule::rules(pool, |_| true)? {
//!     println!("{} {} -> {}", rule.http_method(), rule.template().text(), rule.method().full_name());
//! }
//! # Ok(()) }
//! ```

use std::fmt;

use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, ServiceDescriptor, Value,
};

use super::template::{PathTemplate, Variable};

/// The option that carries the rules.
const HTTP_EXTENSION: &str = "google.api.http";

/// One way to call a method over HTTP: the rule itself or one of its `additional_bindings`.
#[derive(Clone)]
pub struct HttpRule {
    method: MethodDescriptor,
    http_method: http::Method,
    template: PathTemplate,
    path_fields: Vec<Vec<FieldDescriptor>>,
    body: RuleBody,
    response_body: Option<FieldDescriptor>,
    additional: bool,
}

/// What the HTTP request body carries.
#[derive(Clone, PartialEq, Eq)]
pub enum RuleBody {
    /// No body (`body` unset): fields not bound by the path come from the query string.
    None,
    /// `body: "*"`: the whole request message, except the fields the path binds.
    Whole,
    /// `body: "field"`: that top-level field; other fields not bound by the path come from the
    /// query string.
    Field(FieldDescriptor),
}

// By name: a descriptor's own Debug form recurses through message types that contain
// themselves.
impl fmt::Debug for HttpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRule")
            .field("method", &self.method.full_name())
            .field("http_method", &self.http_method)
            .field("template", &self.template.text())
            .field("body", &self.body)
            .field(
                "response_body",
                &self.response_body.as_ref().map(|f| f.name()),
            )
            .field("additional", &self.additional)
            .finish()
    }
}

impl fmt::Debug for RuleBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleBody::None => f.write_str("None"),
            RuleBody::Whole => f.write_str("Whole"),
            RuleBody::Field(field) => write!(f, "Field({})", field.name()),
        }
    }
}

impl HttpRule {
    /// The method the rule calls.
    pub fn method(&self) -> &MethodDescriptor {
        &self.method
    }

    /// The HTTP method (`GET`, `POST`, ..., or a `custom` rule's kind).
    pub fn http_method(&self) -> &http::Method {
        &self.http_method
    }

    /// The path template.
    pub fn template(&self) -> &PathTemplate {
        &self.template
    }

    /// Each path variable with the chain of fields it sets, outermost first (`{user.id}`
    /// gives the `user` field of the request, then the `id` field of that message).
    pub fn path_fields(&self) -> impl Iterator<Item = (&Variable, &[FieldDescriptor])> {
        self.template
            .variables()
            .iter()
            .zip(self.path_fields.iter().map(Vec::as_slice))
    }

    /// What the request body carries.
    pub fn body(&self) -> &RuleBody {
        &self.body
    }

    /// The response field whose value is the HTTP response body (`response_body`), or `None`
    /// for the whole response message.
    pub fn response_body(&self) -> Option<&FieldDescriptor> {
        self.response_body.as_ref()
    }

    /// Whether this rule is one of `additional_bindings` rather than the main one.
    pub fn is_additional_binding(&self) -> bool {
        self.additional
    }

    /// Whether the top-level request field `field` is bound by the path.
    pub fn binds(&self, field: &FieldDescriptor) -> bool {
        self.path_fields.iter().any(|chain| chain[0] == *field)
    }
}

/// A rule that cannot be served, with the method and the rule it is about.
#[derive(Debug)]
pub struct RuleError {
    method: String,
    rule: String,
    reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the google.api.http rule `{}` of {}: {}",
            self.rule, self.method, self.reason
        )
    }
}

impl std::error::Error for RuleError {}

/// The rules of every method of the services in `pool` that `serve` selects, in the order of
/// the descriptors (a method's main rule before its additional bindings).
pub fn rules(
    pool: &DescriptorPool,
    serve: impl Fn(&ServiceDescriptor) -> bool,
) -> Result<Vec<HttpRule>, RuleError> {
    let Some(extension) = pool.get_extension_by_name(HTTP_EXTENSION) else {
        // No file imports google/api/annotations.proto: no method can have a rule.
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for service in pool.services().filter(|s| serve(s)) {
        for method in service.methods() {
            out.extend(method_rules(&method, &extension)?);
        }
    }
    Ok(out)
}

/// The rules of one method (none when it has no `google.api.http` option).
pub fn method_rules(
    method: &MethodDescriptor,
    extension: &ExtensionDescriptor,
) -> Result<Vec<HttpRule>, RuleError> {
    let options = method.options();
    if !options.has_extension(extension) {
        return Ok(Vec::new());
    }
    let Value::Message(rule) = options.get_extension(extension).into_owned() else {
        return Ok(Vec::new());
    };
    let mut out = vec![read_rule(method, &rule, false)?];
    if let Some(Value::List(more)) = rule.get_field_by_name("additional_bindings").as_deref() {
        for binding in more {
            if let Value::Message(binding) = binding {
                out.push(read_rule(method, binding, true)?);
            }
        }
    }
    Ok(out)
}

fn text_field(message: &DynamicMessage, name: &str) -> Option<String> {
    match message.get_field_by_name(name).as_deref() {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn read_rule(
    method: &MethodDescriptor,
    rule: &DynamicMessage,
    additional: bool,
) -> Result<HttpRule, RuleError> {
    let mut pattern = None;
    for verb in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(verb) {
            let path = text_field(rule, verb).unwrap_or_default();
            pattern = Some((verb.to_ascii_uppercase(), path));
        }
    }
    if let Some(Value::Message(custom)) = rule.get_field_by_name("custom").as_deref()
        && rule.has_field_by_name("custom")
    {
        let kind = text_field(custom, "kind").unwrap_or_default();
        pattern = Some((kind, text_field(custom, "path").unwrap_or_default()));
    }
    let error = |rule: &str, reason: String| RuleError {
        method: full_method_name(method),
        rule: rule.to_owned(),
        reason,
    };
    let Some((verb, path)) = pattern else {
        return Err(error(
            "{}",
            "no pattern: set one of get, put, post, delete, patch or custom".into(),
        ));
    };
    let shown = format!("{verb} {path}");
    let http_method = http::Method::from_bytes(verb.as_bytes())
        .map_err(|_| error(&shown, format!("`{verb}` is not an HTTP method")))?;
    let template = PathTemplate::parse(&path)
        .map_err(|e| error(&shown, format!("the path template is malformed: {e}")))?;
    let input = method.input();
    let path_fields = template
        .variables()
        .iter()
        .map(|variable| resolve_path_field(&input, variable.field_path()))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|reason| error(&shown, reason))?;
    let body = match text_field(rule, "body").as_deref() {
        None => RuleBody::None,
        Some("*") => RuleBody::Whole,
        Some(name) => RuleBody::Field(
            top_level_field(&input, name)
                .map_err(|reason| error(&shown, format!("body: {reason}")))?,
        ),
    };
    if let RuleBody::Field(field) = &body
        && path_fields
            .iter()
            .any(|chain| chain.len() == 1 && chain[0] == *field)
    {
        return Err(error(
            &shown,
            format!(
                "body: `{}` is also bound by the path; the body must carry another field",
                field.name()
            ),
        ));
    }
    let response_body = text_field(rule, "response_body")
        .map(|name| top_level_field(&method.output(), &name))
        .transpose()
        .map_err(|reason| error(&shown, format!("response_body: {reason}")))?;
    Ok(HttpRule {
        method: method.clone(),
        http_method,
        template,
        path_fields,
        body,
        response_body,
        additional,
    })
}

/// `package.Service/Method`, as every other part of Bia names a method.
fn full_method_name(method: &MethodDescriptor) -> String {
    format!("{}/{}", method.parent_service().full_name(), method.name())
}

fn top_level_field(message: &MessageDescriptor, name: &str) -> Result<FieldDescriptor, String> {
    message.get_field_by_name(name).ok_or_else(|| {
        format!(
            "{} has no field `{name}` (fields: {})",
            message.full_name(),
            field_names(message)
        )
    })
}

fn field_names(message: &MessageDescriptor) -> String {
    let names: Vec<String> = message.fields().map(|f| f.name().to_owned()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The chain of fields `path` names from `message`: every step but the last a singular
/// message field, the last a singular field of a kind a path segment can spell.
fn resolve_path_field(
    message: &MessageDescriptor,
    path: &[String],
) -> Result<Vec<FieldDescriptor>, String> {
    let mut chain = Vec::with_capacity(path.len());
    let mut current = message.clone();
    let shown = path.join(".");
    for (i, name) in path.iter().enumerate() {
        let field = current.get_field_by_name(name).ok_or_else(|| {
            format!(
                "the path variable `{shown}` names no field: {} has no field `{name}` (fields: {})",
                current.full_name(),
                field_names(&current)
            )
        })?;
        if field.is_list() || field.is_map() {
            return Err(format!(
                "the path variable `{shown}`: `{name}` is a repeated field, which a path \
                 segment cannot set (take it from the query string or the body)"
            ));
        }
        let last = i + 1 == path.len();
        match (field.kind(), last) {
            (Kind::Message(next), false) => current = next,
            (_, false) => {
                return Err(format!(
                    "the path variable `{shown}`: `{name}` is not a message, so it has no field \
                     `{}`",
                    path[i + 1]
                ));
            }
            (Kind::Message(leaf), true) if !is_text_message(&leaf) => {
                return Err(format!(
                    "the path variable `{shown}` is a {} message, which a path segment cannot \
                     spell; bind one of its fields (`{shown}.<field>`)",
                    leaf.full_name()
                ));
            }
            (_, true) => {}
        }
        chain.push(field);
    }
    Ok(chain)
}

/// Well-known messages whose JSON form is a single string or number, and so fit in a path
/// segment or a query parameter.
pub(crate) fn is_text_message(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
            | "google.protobuf.BoolValue"
            | "google.protobuf.Int32Value"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.FloatValue"
            | "google.protobuf.DoubleValue"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool with `google.api.http` and one service whose methods carry `rules` (each the
    /// text inside `option (google.api.http) = { ... };`).
    pub(crate) fn pool_with(rules: &[&str]) -> DescriptorPool {
        crate::gateway::testing::pool_with_rules(rules)
    }

    fn error_of(rule: &str) -> String {
        let pool = pool_with(&[rule]);
        rules(&pool, |_| true).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_shape() {
        let pool = pool_with(&[
            r#"get: "/v1/things/{id}""#,
            r#"patch: "/v1/things/{thing.id}" body: "thing" response_body: "child"
               additional_bindings { put: "/v1/things/{thing.id}:replace" body: "*" }"#,
            r#"custom { kind: "HEAD" path: "/v1/things" }"#,
        ]);
        let rules = rules(&pool, |_| true).unwrap();
        let shown: Vec<String> = rules
            .iter()
            .map(|r| format!("{} {} {:?}", r.http_method(), r.template().text(), r.body()))
            .collect();
        assert_eq!(shown[0], "GET /v1/things/{id} None");
        assert_eq!(shown[1], "PATCH /v1/things/{thing.id} Field(thing)");
        assert_eq!(shown[2], "PUT /v1/things/{thing.id}:replace Whole");
        assert_eq!(shown[3], "HEAD /v1/things None");
        assert!(rules[2].is_additional_binding());
        assert_eq!(rules[1].response_body().unwrap().name(), "child");
        let (variable, chain) = rules[1].path_fields().next().unwrap();
        assert_eq!(variable.field_path(), ["thing", "id"]);
        let names: Vec<&str> = chain.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["thing", "id"]);
    }

    #[test]
    fn bad_rules_name_the_method_the_rule_and_the_problem() {
        let error = error_of(r#"get: "/v1/things/{nope}""#);
        assert!(error.contains("test.v1.Things/Call0"), "{error}");
        assert!(error.contains("`GET /v1/things/{nope}`"), "{error}");
        assert!(error.contains("has no field `nope`"), "{error}");
        assert!(error.contains("fields: id, thing, tags"), "{error}");
        let error = error_of(r#"get: "/v1/things/{id""#);
        assert!(error.contains("malformed"), "{error}");
        assert!(error.contains("expected `}`"), "{error}");
        let error = error_of(r#"get: "/v1/{tags}""#);
        assert!(error.contains("repeated field"), "{error}");
        let error = error_of(r#"get: "/v1/{thing}""#);
        assert!(error.contains("cannot spell"), "{error}");
        let error = error_of(r#"post: "/v1/x" body: "missing""#);
        assert!(
            error.contains("body: test.v1.Request has no field `missing`"),
            "{error}"
        );
        let error = error_of(r#"post: "/v1/{id}" body: "id""#);
        assert!(error.contains("also bound by the path"), "{error}");
        let error = error_of(r#"post: "/v1/x" response_body: "nope""#);
        assert!(error.contains("response_body:"), "{error}");
    }
}
