//! The checks of one field: its shape (singular, optional, repeated, map, oneof member)
//! decides how its value is reached; its element kind decides which rules apply.

use prost_reflect::{Cardinality, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind};

use super::cel::{self, CelRule};
use super::names::snake;
use super::rules::{Result, Rules, emit};
use super::scalar::{self, Num};
use super::{text, time};

/// What the generated code holds for one value of a field, by the rules that apply to it.
pub(super) enum Elem {
    Num(Num),
    Bool,
    Str,
    Bytes,
    Enum(EnumDescriptor),
    /// `timestamp` or `duration`.
    Time(&'static str),
    Any,
    /// Any other message, validated by its own impl.
    Message,
}

impl Elem {
    /// prost maps the wrapper types (`google.protobuf.StringValue`, ...) to plain Rust values,
    /// and protovalidate applies the wrapped type's rules to them.
    pub(super) fn of(kind: &Kind) -> Elem {
        match kind {
            Kind::Bool => Elem::Bool,
            Kind::String => Elem::Str,
            Kind::Bytes => Elem::Bytes,
            Kind::Enum(e) => Elem::Enum(e.clone()),
            Kind::Message(m) => match m.full_name() {
                "google.protobuf.Timestamp" => Elem::Time("timestamp"),
                "google.protobuf.Duration" => Elem::Time("duration"),
                "google.protobuf.Any" => Elem::Any,
                "google.protobuf.BoolValue" => Elem::Bool,
                "google.protobuf.StringValue" => Elem::Str,
                "google.protobuf.BytesValue" => Elem::Bytes,
                // A numeric wrapper takes the rules of the number it wraps.
                wrapper => wrapped_number(wrapper)
                    .and_then(|kind| Num::of(&kind))
                    .map_or(Elem::Message, Elem::Num),
            },
            other => Num::of(other).map_or(Elem::Message, Elem::Num),
        }
    }

    /// The name of the `FieldRules` member that holds this kind's rules.
    fn rules_name(&self) -> &'static str {
        match self {
            Elem::Num(n) => n.rules,
            Elem::Bool => "bool",
            Elem::Str => "string",
            Elem::Bytes => "bytes",
            Elem::Enum(_) => "enum",
            Elem::Time(kind) => kind,
            Elem::Any => "any",
            Elem::Message => "message",
        }
    }

    /// An expression that is true when `value` holds the zero value.
    pub(super) fn is_zero(&self) -> String {
        match self {
            Elem::Num(n) => format!("*value == {}", n.zero()),
            Elem::Bool => "!*value".to_owned(),
            Elem::Str | Elem::Bytes => "value.is_empty()".to_owned(),
            Elem::Enum(e) => format!(
                "*value == {}i32",
                e.values().next().map_or(0, |v| v.number())
            ),
            Elem::Time(_) | Elem::Any | Elem::Message => "false".to_owned(),
        }
    }
}

/// `ignore` of `FieldRules`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Ignore {
    #[default]
    Unspecified,
    IfZero,
    Always,
}

/// A field's `FieldRules`, read: what applies to every field, and the typed rules.
#[derive(Default)]
pub(super) struct FieldRules {
    pub(super) required: bool,
    pub(super) ignore: Ignore,
    typed: Option<(&'static str, DynamicMessage)>,
    /// `cel` and `cel_expression`: checked on the value the rules are on.
    cel: Vec<CelRule>,
}

const TYPED: &[&str] = &[
    "float",
    "double",
    "int32",
    "int64",
    "uint32",
    "uint64",
    "sint32",
    "sint64",
    "fixed32",
    "fixed64",
    "sfixed32",
    "sfixed64",
    "bool",
    "string",
    "bytes",
    "enum",
    "repeated",
    "map",
    "any",
    "duration",
    "field_mask",
    "timestamp",
];

impl FieldRules {
    pub(super) fn read(msg: DynamicMessage, context: &str) -> Result<FieldRules> {
        let mut r = Rules::new(msg, "field", context);
        let cel = cel::read(&mut r)?;
        let required = r.flag("required");
        let ignore = match r.enum_number("ignore") {
            None | Some(0) => Ignore::Unspecified,
            Some(1) => Ignore::IfZero,
            Some(3) => Ignore::Always,
            Some(n) => return Err(format!("{context}: `ignore` = {n} is not a known value")),
        };
        let mut typed = None;
        for &name in TYPED {
            if let Some(m) = r.message(name) {
                typed = Some((name, m));
            }
        }
        r.finish()?;
        Ok(FieldRules {
            required,
            ignore,
            typed,
            cel,
        })
    }

    fn read_opt(msg: Option<DynamicMessage>, context: &str) -> Result<FieldRules> {
        msg.map_or_else(
            || Ok(FieldRules::default()),
            |m| FieldRules::read(m, context),
        )
    }

    /// The typed rules, which must be `expected` (or, for a singular field, its element's).
    fn take(&mut self, expected: &str, context: &str) -> Result<Option<DynamicMessage>> {
        match self.typed.take() {
            None => Ok(None),
            Some((name, m)) if name == expected => Ok(Some(m)),
            Some(("field_mask", _)) => Err(format!(
                "{context}: `field_mask` rules are not supported by bia-build yet"
            )),
            Some((name, _)) => Err(format!(
                "{context}: has `{name}` rules, but its type takes `{expected}` rules{}",
                match expected {
                    "repeated" => " (rules for the items go in `repeated.items`)",
                    "map" => " (rules for keys and values go in `map.keys` and `map.values`)",
                    "message" =>
                        " (a message field takes only `required` and `ignore`; put rules on the message's own fields)",
                    _ => "",
                }
            )),
        }
    }
}

/// Code that checks `value` (a reference to one element) at `at`; empty when nothing applies.
fn element(elem: &Elem, rules: &mut FieldRules, context: &str) -> Result<String> {
    let mut out = String::new();
    if let Some(m) = rules.take(elem.rules_name(), context)? {
        let r = Rules::new(m, elem.rules_name(), context);
        let (prelude, checks) = match elem {
            Elem::Num(n) => ("", scalar::numeric(r, *n)?),
            Elem::Bool => ("", scalar::boolean(r)?),
            Elem::Enum(e) => ("", scalar::enumeration(r, e)?),
            Elem::Str => ("let s: &str = value;\n", text::string(r)?),
            Elem::Bytes => ("let b: &[u8] = value;\n", text::bytes(r)?),
            Elem::Time(kind) => ("", time::time(r, kind)?),
            Elem::Any => ("", time::any(r)?),
            Elem::Message => ("", Vec::new()),
        };
        if !checks.is_empty() {
            out.push_str("{\n");
            out.push_str(prelude);
            emit(&mut out, &checks);
            out.push_str("}\n");
        }
    }
    out.push_str(&cel::value_checks(&std::mem::take(&mut rules.cel)));
    if matches!(elem, Elem::Message) {
        out.push_str("::bia::validate::Validate::validate(value, &at, violations);\n");
    }
    Ok(out)
}

/// `body` under `required` (a zero value is a violation, and nothing else is checked) or
/// `IGNORE_IF_ZERO_VALUE` (a zero value is not checked).
fn guarded(required: bool, ignore_zero: bool, zero: &str, body: &str) -> String {
    if required {
        format!(
            "if {zero} {{ violations.add(&at, \"required\", \"value is required\"); }} else {{\n{body}}}\n"
        )
    } else if ignore_zero && !body.is_empty() {
        format!("if !({zero}) {{\n{body}}}\n")
    } else {
        body.to_owned()
    }
}

/// Whether prost holds this (singular, not oneof) field in an `Option`.
pub(super) fn is_option(field: &FieldDescriptor) -> bool {
    !field.is_list()
        && !field.is_map()
        && (matches!(field.kind(), Kind::Message(_))
            || (field.supports_presence() && field.cardinality() != Cardinality::Required))
}

/// The checks of a field that is not in a (real) oneof, as a block; empty when none apply.
/// `ignore_zero` is forced for fields that a message-level `oneof` rule lists.
pub(super) fn field(
    field: &FieldDescriptor,
    rules: Option<DynamicMessage>,
    ignore_zero: bool,
) -> Result<String> {
    let context = format!("field `{}`", field.full_name());
    let mut rules = FieldRules::read_opt(rules, &context)?;
    if rules.ignore == Ignore::Always {
        return Ok(String::new());
    }
    let ignore_zero = rules.ignore == Ignore::IfZero || ignore_zero;
    let ident = snake(field.name());
    let body = if field.is_map() {
        guarded(
            rules.required,
            ignore_zero,
            "value.is_empty()",
            &map(field, &mut rules, &context)?,
        )
    } else if field.is_list() {
        guarded(
            rules.required,
            ignore_zero,
            "value.is_empty()",
            &list(field, &mut rules, &context)?,
        )
    } else if is_option(field) {
        let body = element(&Elem::of(&field.kind()), &mut rules, &context)?;
        let missing = if rules.required {
            " else { violations.add(&at, \"required\", \"value is required\"); }"
        } else {
            ""
        };
        if body.is_empty() && missing.is_empty() {
            String::new()
        } else {
            format!("if let Some(value) = value {{\n{body}}}{missing}\n")
        }
    } else {
        let elem = Elem::of(&field.kind());
        let body = element(&elem, &mut rules, &context)?;
        guarded(rules.required, ignore_zero, &elem.is_zero(), &body)
    };
    if body.is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "{{\nlet at = at.field({:?});\nlet value = &self.{ident};\n{body}}}\n",
        field.name()
    ))
}

/// The checks of a oneof member's value (`value`, bound by the caller's `match`).
pub(super) fn oneof_member(
    field: &FieldDescriptor,
    rules: Option<DynamicMessage>,
) -> Result<(String, bool)> {
    let context = format!("field `{}`", field.full_name());
    let mut rules = FieldRules::read_opt(rules, &context)?;
    if rules.ignore == Ignore::Always {
        return Ok((String::new(), false));
    }
    let body = element(&Elem::of(&field.kind()), &mut rules, &context)?;
    Ok((body, rules.required))
}

/// Checks of each item (`value` at `at`), guarded by the item rules' own `ignore`.
fn each(elem: &Elem, rules: Option<DynamicMessage>, context: &str) -> Result<String> {
    let mut rules = FieldRules::read_opt(rules, context)?;
    if rules.ignore == Ignore::Always {
        return Ok(String::new());
    }
    // An item, key or value is always present, so `required` holds for it (as protovalidate
    // has it): there is nothing to check.
    let body = element(elem, &mut rules, context)?;
    Ok(guarded(
        false,
        rules.ignore == Ignore::IfZero,
        &elem.is_zero(),
        &body,
    ))
}

fn list(field: &FieldDescriptor, rules: &mut FieldRules, context: &str) -> Result<String> {
    let elem = Elem::of(&field.kind());
    let mut out = String::new();
    let mut items = None;
    if let Some(m) = rules.take("repeated", context)? {
        let mut r = Rules::new(m, "repeated", context);
        let mut checks = r.size_checks(&[
            (
                "min_items",
                "value.len()",
                "<",
                "must contain at least {} item(s)",
            ),
            (
                "max_items",
                "value.len()",
                ">",
                "must contain no more than {} item(s)",
            ),
        ]);
        if r.flag("unique") {
            let unique = match &elem {
                Elem::Num(n) if n.is_float() => "unique_by_eq",
                Elem::Num(_) | Elem::Bool | Elem::Str | Elem::Bytes | Elem::Enum(_) => "unique",
                _ => {
                    return Err(format!(
                        "{context}: `repeated.unique` applies to scalar, enum, string and bytes items only"
                    ));
                }
            };
            checks.push(super::rules::Check::new(
                format!("!::bia::validate::rules::{unique}(value)"),
                "repeated.unique",
                "repeated value must contain unique items",
            ));
        }
        items = r.message("items");
        r.finish()?;
        emit(&mut out, &checks);
    }
    out.push_str(&cel::value_checks(&std::mem::take(&mut rules.cel)));
    let item = each(&elem, items, &format!("{context} (items)"))?;
    if !item.is_empty() {
        out.push_str(&format!(
            "for (i, value) in value.iter().enumerate() {{\nlet at = at.index(i);\n{item}}}\n"
        ));
    }
    Ok(out)
}

fn map(field: &FieldDescriptor, rules: &mut FieldRules, context: &str) -> Result<String> {
    let Kind::Message(entry) = field.kind() else {
        return Err(format!("{context}: a map field without an entry message"));
    };
    let key_field = entry.map_entry_key_field();
    let key_elem = Elem::of(&key_field.kind());
    let value_elem = Elem::of(&entry.map_entry_value_field().kind());
    let mut out = String::new();
    let (mut keys, mut values) = (None, None);
    if let Some(m) = rules.take("map", context)? {
        let mut r = Rules::new(m, "map", context);
        let checks = r.size_checks(&[
            (
                "min_pairs",
                "value.len()",
                "<",
                "map must be at least {} entries",
            ),
            (
                "max_pairs",
                "value.len()",
                ">",
                "map must be at most {} entries",
            ),
        ]);
        keys = r.message("keys");
        values = r.message("values");
        r.finish()?;
        emit(&mut out, &checks);
    }
    out.push_str(&cel::value_checks(&std::mem::take(&mut rules.cel)));
    let key_code = each(&key_elem, keys, &format!("{context} (keys)"))?;
    let value_code = each(&value_elem, values, &format!("{context} (values)"))?;
    if key_code.is_empty() && value_code.is_empty() {
        return Ok(out);
    }
    let key = match key_field.kind() {
        Kind::String => "::bia::validate::Key::Str(key.as_str())",
        Kind::Bool => "::bia::validate::Key::Bool(*key)",
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => {
            "::bia::validate::Key::Uint(u64::from(*key))"
        }
        _ => "::bia::validate::Key::Int(i64::from(*key))",
    };
    let key_block = if key_code.is_empty() {
        String::new()
    } else {
        format!("{{\nlet value = key;\n{key_code}}}\n")
    };
    out.push_str(&format!(
        "for (key, value) in value.iter() {{\nlet at = at.key({key});\n{key_block}{value_code}}}\n"
    ));
    Ok(out)
}

/// The scalar kind a `google.protobuf.*Value` number wrapper holds.
fn wrapped_number(full_name: &str) -> Option<Kind> {
    Some(match full_name {
        "google.protobuf.DoubleValue" => Kind::Double,
        "google.protobuf.FloatValue" => Kind::Float,
        "google.protobuf.Int64Value" => Kind::Int64,
        "google.protobuf.UInt64Value" => Kind::Uint64,
        "google.protobuf.Int32Value" => Kind::Int32,
        "google.protobuf.UInt32Value" => Kind::Uint32,
        _ => return None,
    })
}
