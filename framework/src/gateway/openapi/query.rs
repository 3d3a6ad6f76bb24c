//! Query parameters: the request fields a REST call without a whole-message body sets from
//! its query string, as the gateway reads them.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value, json};

use super::schema::{Schemas, plain};
use crate::gateway::rule::{HttpRule, RuleBody, is_text_message};

/// How deep query parameters follow nested messages: far enough for real requests, and a
/// bound on messages that contain themselves.
const MAX_QUERY_DEPTH: usize = 8;

/// Appends the query parameters of `rule` to `out`.
pub(super) fn parameters(rule: &HttpRule, schemas: &mut Schemas<'_>, out: &mut Vec<Value>) {
    let mut query = Query {
        rule,
        schemas,
        out,
        stack: Vec::new(),
    };
    query.message(&rule.method().input(), "", &mut Vec::new());
}

/// The query parameters of a request: every field not bound by the path or carried by the
/// body, nested messages flattened with dots (`page.size`), repeated scalars repeated
/// (`?tag=a&tag=b`). Maps, repeated messages and free-form JSON types cannot be spelled in a
/// query string and are left out.
struct Query<'r, 's, 'a> {
    rule: &'r HttpRule,
    schemas: &'s mut Schemas<'a>,
    out: &'r mut Vec<Value>,
    /// The messages being walked, against recursion.
    stack: Vec<String>,
}

impl Query<'_, '_, '_> {
    fn message(&mut self, message: &MessageDescriptor, prefix: &str, chain: &mut Vec<u32>) {
        if self.stack.len() >= MAX_QUERY_DEPTH
            || self.stack.iter().any(|m| m == message.full_name())
        {
            return;
        }
        self.stack.push(message.full_name().to_owned());
        for field in message.fields() {
            chain.push(field.number());
            self.field(&field, prefix, chain);
            chain.pop();
        }
        self.stack.pop();
    }

    fn field(&mut self, field: &FieldDescriptor, prefix: &str, chain: &[u32]) {
        if self.bound(chain) || field.is_map() {
            return;
        }
        let name = format!("{prefix}{}", field.json_name());
        match field.kind() {
            Kind::Message(message) if !is_text_message(&message) => {
                if !field.is_list() && !free_form(&message) {
                    let mut chain = chain.to_vec();
                    self.message(&message, &format!("{name}."), &mut chain);
                }
            }
            _ => {
                let schema = plain(self.schemas.field(field));
                let mut parameter = json!({ "name": name, "in": "query", "schema": schema });
                if let Some(doc) = self.schemas.doc(field) {
                    parameter["description"] = json!(doc);
                }
                if self.schemas.is_required(field) {
                    parameter["required"] = json!(true);
                }
                self.out.push(parameter);
            }
        }
    }

    /// Whether the field at `chain` (field numbers from the request) is set by the path or
    /// the body, or lies under a field that is.
    fn bound(&self, chain: &[u32]) -> bool {
        let by_path = self.rule.path_fields().any(|(_, fields)| {
            fields.len() <= chain.len() && fields.iter().zip(chain).all(|(f, n)| f.number() == *n)
        });
        let by_body = match self.rule.body() {
            RuleBody::Field(body) => chain.first() == Some(&body.number()),
            RuleBody::Whole => true,
            RuleBody::None => false,
        };
        by_path || by_body
    }
}

/// Well-known messages whose JSON is any object or value: no query string spells them.
fn free_form(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.Any"
    )
}
