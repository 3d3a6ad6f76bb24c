//! `components.schemas`: messages and enums as JSON Schema, per the proto3 JSON mapping.

use std::collections::BTreeMap;

use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, Kind,
    MessageDescriptor, Value as ProtoValue,
};
use serde_json::{Map, Value, json};

use super::comments::Comments;
use super::wkt;

/// `google.api.FieldBehavior` numbers this document acts on.
const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;
const INPUT_ONLY: i32 = 4;
const IMMUTABLE: i32 = 5;

/// The component schemas gathered so far: a message is added the first time something uses it,
/// with every message and enum it uses in turn.
#[derive(Debug)]
pub(super) struct Schemas<'a> {
    comments: &'a Comments,
    field_behavior: Option<ExtensionDescriptor>,
    components: BTreeMap<String, Value>,
}

impl<'a> Schemas<'a> {
    pub(super) fn new(pool: &DescriptorPool, comments: &'a Comments) -> Self {
        Self {
            comments,
            field_behavior: pool.get_extension_by_name("google.api.field_behavior"),
            components: BTreeMap::new(),
        }
    }

    /// The components, sorted by full name.
    pub(super) fn into_components(self) -> Map<String, Value> {
        self.components.into_iter().collect()
    }

    /// Whether a component of this full name exists already.
    pub(super) fn has(&self, full_name: &str) -> bool {
        self.components.contains_key(full_name)
    }

    /// The component `full_name`, once added.
    pub(super) fn get(&self, full_name: &str) -> Option<&Value> {
        self.components.get(full_name)
    }

    /// Adds a hand-written component (used only when the descriptors lack the message).
    pub(super) fn insert(&mut self, full_name: &str, schema: Value) {
        self.components.insert(full_name.to_owned(), schema);
    }

    /// The schema of a value of type `message`: a well-known type inline, else a reference to
    /// its component.
    pub(super) fn message(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = wkt::schema(message.full_name()) {
            return schema;
        }
        if !self.has(message.full_name()) {
            // Reserved before its fields are walked, so that a recursive message ends.
            self.components
                .insert(message.full_name().to_owned(), Value::Null);
            let schema = self.object(message);
            self.components
                .insert(message.full_name().to_owned(), schema);
        }
        reference(message.full_name())
    }

    /// The schema of one field, repeated and map fields included, with its description,
    /// `readOnly`/`writeOnly` and `deprecated`.
    pub(super) fn field(&mut self, field: &FieldDescriptor) -> Value {
        let mut schema = if field.is_map() {
            let entry = field.kind();
            let entry = entry
                .as_message()
                .expect("a map field's kind is its entry message");
            let key = entry.map_entry_key_field();
            let mut map = json!({
                "type": "object",
                "additionalProperties": self.single(&entry.map_entry_value_field()),
            });
            if let Some(pattern) = key_pattern(&key.kind()) {
                map["propertyNames"] = json!({ "pattern": pattern });
            }
            map
        } else if field.is_list() {
            json!({ "type": "array", "items": self.single(field) })
        } else {
            self.single(field)
        };
        let behaviors = self.behaviors(field);
        let mut notes = Vec::new();
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            let others: Vec<String> = oneof
                .fields()
                .filter(|other| other.number() != field.number())
                .map(|other| format!("`{}`", other.json_name()))
                .collect();
            notes.push(format!(
                "Part of oneof `{}`: set at most one of this and {}.",
                oneof.name(),
                others.join(", ")
            ));
        }
        if behaviors.contains(&IMMUTABLE) {
            notes.push("Immutable: set when the resource is created, never changed.".to_owned());
        }
        let object = schema.as_object_mut().expect("every schema is an object");
        describe(object, self.doc(field), &notes);
        if behaviors.contains(&OUTPUT_ONLY) {
            object.insert("readOnly".to_owned(), Value::Bool(true));
        }
        if behaviors.contains(&INPUT_ONLY) {
            object.insert("writeOnly".to_owned(), Value::Bool(true));
        }
        mark_deprecated(object, &field.options());
        schema
    }

    /// Whether `google.api.field_behavior` marks `field` REQUIRED (or proto2 says `required`).
    pub(super) fn is_required(&self, field: &FieldDescriptor) -> bool {
        field.is_required() || self.behaviors(field).contains(&REQUIRED)
    }

    /// The comment of `field` in its proto.
    pub(super) fn doc(&self, field: &FieldDescriptor) -> Option<&'a str> {
        self.comments.get(field.parent_file().name(), field.path())
    }

    /// A component for an object message.
    fn object(&mut self, message: &MessageDescriptor) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let schema = self.field(&field);
            if self.is_required(&field) {
                required.push(Value::String(field.json_name().to_owned()));
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        let mut object = Map::new();
        object.insert("type".to_owned(), json!("object"));
        object.insert("properties".to_owned(), Value::Object(properties));
        if !required.is_empty() {
            object.insert("required".to_owned(), Value::Array(required));
        }
        if let Some(exclusive) = oneofs(message) {
            object.insert("dependentSchemas".to_owned(), exclusive);
        }
        let doc = self
            .comments
            .get(message.parent_file().name(), message.path());
        describe(&mut object, doc, &[]);
        mark_deprecated(&mut object, &message.options());
        Value::Object(object)
    }

    /// A value of the field's type, ignoring whether it is repeated.
    fn single(&mut self, field: &FieldDescriptor) -> Value {
        match field.kind() {
            Kind::Message(message) => self.message(&message),
            Kind::Enum(enumeration) => self.enumeration(&enumeration),
            scalar => scalar_schema(&scalar),
        }
    }

    /// An enum: its value names as strings (`NullValue` is JSON `null`).
    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> Value {
        let name = enumeration.full_name();
        if name == "google.protobuf.NullValue" {
            return json!({ "type": "null" });
        }
        if !self.has(name) {
            let file = enumeration.parent_file();
            let mut listed = Vec::new();
            for value in enumeration.values() {
                if let Some(doc) = self.comments.get(file.name(), value.path()) {
                    listed.push(format!("- `{}`: {}", value.name(), doc.replace('\n', " ")));
                }
            }
            let mut schema = Map::new();
            schema.insert("type".to_owned(), json!("string"));
            let names: Vec<String> = enumeration.values().map(|v| v.name().to_owned()).collect();
            schema.insert("enum".to_owned(), json!(names));
            let doc = self.comments.get(file.name(), enumeration.path());
            let list = listed.join("\n");
            let notes: &[String] = if listed.is_empty() {
                &[]
            } else {
                std::slice::from_ref(&list)
            };
            describe(&mut schema, doc, notes);
            self.components
                .insert(name.to_owned(), Value::Object(schema));
        }
        reference(name)
    }

    /// The `google.api.field_behavior` values of `field`, if the descriptors define the option.
    fn behaviors(&self, field: &FieldDescriptor) -> Vec<i32> {
        let Some(extension) = &self.field_behavior else {
            return Vec::new();
        };
        let options = field.options();
        if !options.has_extension(extension) {
            return Vec::new();
        }
        match &*options.get_extension(extension) {
            ProtoValue::List(values) => values
                .iter()
                .filter_map(ProtoValue::as_enum_number)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A field's schema as a parameter's: what it is, without what only a body says of it.
pub(super) fn plain(mut schema: Value) -> Value {
    if let Some(object) = schema.as_object_mut() {
        for key in ["description", "readOnly", "writeOnly"] {
            object.remove(key);
        }
    }
    schema
}

/// A reference to the component `full_name`.
pub(super) fn reference(full_name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{full_name}") })
}

/// The JSON form of a scalar field.
pub(super) fn scalar_schema(kind: &Kind) -> Value {
    match kind {
        Kind::Double => wkt::number("double"),
        Kind::Float => wkt::number("float"),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({ "type": "integer", "format": "int32" })
        }
        Kind::Uint32 | Kind::Fixed32 => wkt::unsigned(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => wkt::long("int64"),
        Kind::Uint64 | Kind::Fixed64 => wkt::long("uint64"),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => wkt::bytes(),
        Kind::Message(_) | Kind::Enum(_) => unreachable!("only scalars are mapped here"),
    }
}

/// Map keys are JSON object keys, so strings: integer and bool keys in their text form.
fn key_pattern(kind: &Kind) -> Option<&'static str> {
    match kind {
        Kind::Bool => Some("^(true|false)$"),
        Kind::String => None,
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => Some("^[0-9]+$"),
        _ => Some("^-?[0-9]+$"),
    }
}

/// JSON Schema for "at most one field of each oneof": with one member present, the others
/// must be absent.
fn oneofs(message: &MessageDescriptor) -> Option<Value> {
    let mut exclusive = Map::new();
    for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
        let members: Vec<FieldDescriptor> = oneof.fields().collect();
        for member in &members {
            let others: Vec<Value> = members
                .iter()
                .filter(|other| other.number() != member.number())
                .map(|other| json!({ "required": [other.json_name()] }))
                .collect();
            if !others.is_empty() {
                exclusive.insert(
                    member.json_name().to_owned(),
                    json!({ "not": { "anyOf": others } }),
                );
            }
        }
    }
    (!exclusive.is_empty()).then_some(Value::Object(exclusive))
}

/// Sets `description` from a comment and extra notes, each its own paragraph.
fn describe(schema: &mut Map<String, Value>, doc: Option<&str>, notes: &[String]) {
    let mut text = doc.unwrap_or_default().to_owned();
    for note in notes {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(note);
    }
    if !text.is_empty() {
        schema.insert("description".to_owned(), Value::String(text));
    }
}

/// Sets `deprecated` on the schema or operation of a proto element whose `options` say
/// `deprecated = true` (the same option on fields, messages and methods).
pub(super) fn mark_deprecated(object: &mut Map<String, Value>, options: &DynamicMessage) {
    let deprecated = options.get_field_by_name("deprecated");
    if deprecated.is_some_and(|value| value.as_bool() == Some(true)) {
        object.insert("deprecated".to_owned(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::gateway::testing::pool;

    const SHOP: &str = r#"syntax = "proto3";
package shop.v1;

import "google/api/field_behavior.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/any.proto";

// Something the shop sells.
message Item {
  // The item's id, set by the server.
  string id = 1 [(google.api.field_behavior) = OUTPUT_ONLY];
  // Shown to buyers.
  string display_name = 2 [(google.api.field_behavior) = REQUIRED];
  int64 price_cents = 3;
  uint64 stock = 4;
  int32 rating = 5;
  uint32 views = 6;
  double weight = 7;
  float ratio = 8;
  bool active = 9;
  bytes photo = 10;
  Kind kind = 11;
  repeated string tags = 12;
  map<string, int64> counts = 13;
  map<int32, Item> related = 14;
  google.protobuf.Timestamp created = 15;
  google.protobuf.Duration ttl = 16;
  google.protobuf.FieldMask mask = 17;
  google.protobuf.Struct extra = 18;
  google.protobuf.Value anything = 19;
  google.protobuf.ListValue list = 20;
  google.protobuf.Int64Value big = 21;
  google.protobuf.StringValue label = 22;
  google.protobuf.Any payload = 23;
  optional string note = 24;
  oneof price {
    int64 fixed = 25;
    string formula = 26;
  }
  string secret = 27 [(google.api.field_behavior) = INPUT_ONLY, deprecated = true];
  Item parent = 28;
}

// What an item is.
enum Kind {
  KIND_UNSPECIFIED = 0;
  // Something to hold.
  KIND_PHYSICAL = 1;
  KIND_DIGITAL = 2;
}
"#;

    fn item() -> (Value, Map<String, Value>) {
        let pool = pool("shop/v1/item.proto", SHOP);
        let comments = Comments::of(&pool);
        let mut schemas = Schemas::new(&pool, &comments);
        let item = pool.get_message_by_name("shop.v1.Item").unwrap();
        let reference = schemas.message(&item);
        (reference, schemas.into_components())
    }

    #[test]
    fn a_message_is_a_component_with_lower_camel_case_properties() {
        let (reference, components) = item();
        assert_eq!(
            reference,
            json!({ "$ref": "#/components/schemas/shop.v1.Item" })
        );
        let item = &components["shop.v1.Item"];
        assert_eq!(item["type"], "object");
        assert_eq!(item["description"], "Something the shop sells.");
        let properties = item["properties"].as_object().unwrap();
        assert!(properties.contains_key("displayName"), "{properties:?}");
        assert!(!properties.contains_key("display_name"));
        assert_eq!(properties.len(), 28);
        // A recursive message refers to itself and ends.
        assert_eq!(
            properties["parent"],
            json!({ "$ref": "#/components/schemas/shop.v1.Item" })
        );
    }

    #[test]
    fn scalars_follow_the_proto3_json_mapping() {
        let (_, components) = item();
        let p = &components["shop.v1.Item"]["properties"];
        assert_eq!(p["priceCents"]["type"], "string");
        assert_eq!(p["priceCents"]["format"], "int64");
        assert_eq!(p["stock"]["format"], "uint64");
        assert_eq!(p["rating"], json!({ "type": "integer", "format": "int32" }));
        assert_eq!(p["views"]["minimum"], 0);
        assert_eq!(p["weight"], json!({ "type": "number", "format": "double" }));
        assert_eq!(p["ratio"]["format"], "float");
        assert_eq!(p["active"], json!({ "type": "boolean" }));
        assert_eq!(p["photo"]["contentEncoding"], "base64");
        assert_eq!(
            p["tags"],
            json!({ "type": "array", "items": { "type": "string" } })
        );
        assert_eq!(
            p["note"],
            json!({ "type": "string" }),
            "proto3 optional is no oneof"
        );
    }

    #[test]
    fn enums_are_their_names_with_the_values_comments() {
        let (_, components) = item();
        assert_eq!(
            components["shop.v1.Item"]["properties"]["kind"],
            json!({ "$ref": "#/components/schemas/shop.v1.Kind" })
        );
        let kind = &components["shop.v1.Kind"];
        assert_eq!(
            kind["enum"],
            json!(["KIND_UNSPECIFIED", "KIND_PHYSICAL", "KIND_DIGITAL"])
        );
        assert_eq!(kind["type"], "string");
        assert_eq!(
            kind["description"],
            "What an item is.\n\n- `KIND_PHYSICAL`: Something to hold."
        );
    }

    #[test]
    fn maps_are_objects_with_typed_values_and_keys() {
        let (_, components) = item();
        let p = &components["shop.v1.Item"]["properties"];
        assert_eq!(
            p["counts"],
            json!({ "type": "object", "additionalProperties": { "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" } })
        );
        assert_eq!(
            p["related"]["additionalProperties"]["$ref"],
            "#/components/schemas/shop.v1.Item"
        );
        assert_eq!(p["related"]["propertyNames"]["pattern"], "^-?[0-9]+$");
        assert!(
            !components.keys().any(|k| k.contains("Entry")),
            "map entries are no components: {:?}",
            components.keys()
        );
    }

    #[test]
    fn well_known_types_are_inline_in_their_json_form() {
        let (_, components) = item();
        let p = &components["shop.v1.Item"]["properties"];
        assert_eq!(p["created"]["type"], "string");
        assert_eq!(p["created"]["format"], "date-time");
        assert_eq!(p["ttl"]["type"], "string");
        assert!(p["ttl"]["pattern"].as_str().unwrap().ends_with("s$"));
        assert_eq!(p["mask"]["type"], "string");
        assert_eq!(p["extra"]["type"], "object");
        assert!(p["anything"].get("type").is_none(), "any JSON value");
        assert_eq!(p["list"]["type"], "array");
        assert_eq!(p["big"]["format"], "int64");
        assert_eq!(p["label"], json!({ "type": "string" }));
        assert_eq!(p["payload"]["required"], json!(["@type"]));
        assert!(
            components
                .keys()
                .all(|k| !k.starts_with("google.protobuf.")),
            "{:?}",
            components.keys()
        );
    }

    #[test]
    fn field_behavior_and_comments_annotate_fields() {
        let (_, components) = item();
        let item = &components["shop.v1.Item"];
        assert_eq!(item["required"], json!(["displayName"]));
        let p = &item["properties"];
        assert_eq!(
            p["id"],
            json!({ "type": "string", "readOnly": true, "description": "The item's id, set by the server." })
        );
        assert_eq!(p["displayName"]["description"], "Shown to buyers.");
        assert_eq!(p["secret"]["writeOnly"], true);
        assert_eq!(p["secret"]["deprecated"], true);
    }

    #[test]
    fn a_oneof_allows_at_most_one_member() {
        let (_, components) = item();
        let item = &components["shop.v1.Item"];
        assert_eq!(
            item["dependentSchemas"],
            json!({
                "fixed": { "not": { "anyOf": [{ "required": ["formula"] }] } },
                "formula": { "not": { "anyOf": [{ "required": ["fixed"] }] } },
            })
        );
        assert_eq!(
            item["properties"]["fixed"]["description"],
            "Part of oneof `price`: set at most one of this and `formula`."
        );
    }
}
