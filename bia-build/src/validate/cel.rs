//! CEL rules (`cel`, `cel_expression`) of fields and messages.
//!
//! Every expression is parsed here with the `cel` crate, the one bia runs them with, so a
//! syntax error stops the build. The generated code keeps one `static` program per
//! expression, parsed on first use, and converts only what the expression reads into `this`:
//! the field's value for a field rule; for a message rule, the fields it selects as
//! `this.<field>` (the whole message only when it uses `this` otherwise).

use std::collections::BTreeSet;

use ::cel::common::ast::{EntryExpr, Expr, IdedExpr};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, Value};

use super::fields::is_option;
use super::names::{camel, message_type, oneof_type, snake};
use super::rules::{Result, Rules};

/// Appears in generated code exactly when it runs a CEL program; see [`uses_cel`].
const RUNTIME: &str = "::bia::validate::cel::";

/// One CEL rule: its protovalidate id, its message and its expression, parsed.
pub(super) struct CelRule {
    id: String,
    message: String,
    expression: String,
    parsed: ::cel::Program,
}

/// Reads `cel` (full rules) and `cel_expression` (the shorthand: the expression is its own
/// id and message, as in protovalidate) of a `FieldRules` or `MessageRules`.
pub(super) fn read(r: &mut Rules) -> Result<Vec<CelRule>> {
    let context = r.context().to_owned();
    let mut out = Vec::new();
    for rule in r.list("cel") {
        let Value::Message(rule) = rule else { continue };
        let mut rule = Rules::new(rule, "cel", &context);
        let id = rule.string("id").unwrap_or_default();
        let message = rule.string("message").unwrap_or_default();
        let expression = rule.string("expression").unwrap_or_default();
        rule.finish()?;
        out.push(parse(&context, id, message, expression)?);
    }
    for expression in r.list("cel_expression") {
        let Value::String(expression) = expression else {
            continue;
        };
        out.push(parse(
            &context,
            expression.clone(),
            expression.clone(),
            expression,
        )?);
    }
    Ok(out)
}

fn parse(context: &str, id: String, message: String, expression: String) -> Result<CelRule> {
    if expression.trim().is_empty() {
        return Err(format!(
            "{context}: the CEL rule `{id}` has no `expression`; write the condition that must hold, e.g. `this.size() > 0`"
        ));
    }
    let parsed = ::cel::Program::compile(&expression).map_err(|e| {
        format!("{context}: the CEL expression `{expression}` (rule `{id}`) does not parse: {e}")
    })?;
    Ok(CelRule {
        id,
        message,
        expression,
        parsed,
    })
}

/// Whether generated validation code runs CEL programs (so the messages need `ToCel`).
pub(super) fn uses_cel(code: &str) -> bool {
    code.contains(RUNTIME)
}

/// Checks of `rules` on `value` (a reference to the field's value, or to one item, key or
/// map value) at the local path `at`; empty when there are none.
pub(super) fn value_checks(rules: &[CelRule]) -> String {
    if rules.is_empty() {
        return String::new();
    }
    checks(rules, &format!("{RUNTIME}ToCel::to_cel(value)"), "&at")
}

/// Checks of a message's `rules`, with `this` made of only the fields they read.
pub(super) fn message_checks(
    msg: &MessageDescriptor,
    rules: &[CelRule],
    context: &str,
) -> Result<String> {
    if rules.is_empty() {
        return Ok(String::new());
    }
    let mut reads = Reads::Fields(BTreeSet::new());
    for rule in rules {
        reads.add(rule.parsed.expression());
    }
    let this = match reads {
        Reads::Whole => format!("{RUNTIME}ToCel::to_cel(self)"),
        Reads::Fields(names) => {
            let mut entries = Vec::new();
            for name in &names {
                let Some(field) = msg.get_field_by_name(name) else {
                    return Err(format!(
                        "{context}: a CEL rule reads `this.{name}`, but `{}` has no field `{name}` (CEL uses the proto field names)",
                        msg.full_name()
                    ));
                };
                let Some(value) = field_value(msg, &field) else {
                    return Err(format!(
                        "{context}: a CEL rule reads `this.{name}`, whose type `{}` bia cannot show to CEL",
                        kind_name(&field)
                    ));
                };
                entries.push(format!("({name:?}, {value})"));
            }
            format!("{RUNTIME}message([{}])", entries.join(", "))
        }
    };
    Ok(checks(rules, &this, "at"))
}

fn checks(rules: &[CelRule], this: &str, at: &str) -> String {
    let mut out = format!("{{\nlet this = {this};\n");
    for rule in rules {
        out.push_str(&format!(
            "{{\nstatic PROGRAM: ::std::sync::LazyLock<{RUNTIME}Program> = ::std::sync::LazyLock::new(|| {RUNTIME}Program::new({:?}));\n\
             PROGRAM.check(&this, {at}, {:?}, {:?}, violations);\n}}\n",
            rule.expression, rule.id, rule.message
        ));
    }
    out.push_str("}\n");
    out
}

/// What of `this` a message rule reads.
enum Reads {
    /// `this` itself (compared, passed to a function, iterated, ...).
    Whole,
    /// Only `this.<field>` for these fields.
    Fields(BTreeSet<String>),
}

impl Reads {
    fn add(&mut self, e: &IdedExpr) {
        if matches!(self, Reads::Whole) {
            return;
        }
        match &e.expr {
            Expr::Select(s) => match &s.operand.expr {
                Expr::Ident(name) if name == "this" => {
                    if let Reads::Fields(names) = self {
                        names.insert(s.field.clone());
                    }
                }
                _ => self.add(&s.operand),
            },
            Expr::Ident(name) if name == "this" => *self = Reads::Whole,
            Expr::Call(c) => {
                if let Some(target) = &c.target {
                    self.add(target);
                }
                c.args.iter().for_each(|a| self.add(a));
            }
            Expr::Comprehension(c) => {
                // A loop variable named `this` would hide it; read all of it to stay right.
                if c.iter_var == "this" || c.iter_var2.as_deref() == Some("this") {
                    *self = Reads::Whole;
                    return;
                }
                for part in [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ] {
                    self.add(part);
                }
            }
            Expr::List(l) => l.elements.iter().for_each(|a| self.add(a)),
            Expr::Map(m) => m.entries.iter().for_each(|en| self.add_entry(&en.expr)),
            Expr::Struct(s) => s.entries.iter().for_each(|en| self.add_entry(&en.expr)),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    fn add_entry(&mut self, entry: &EntryExpr) {
        match entry {
            EntryExpr::StructField(f) => self.add(&f.value),
            EntryExpr::MapEntry(m) => {
                self.add(&m.key);
                self.add(&m.value);
            }
        }
    }
}

/// The field's value for CEL as an `Option<CelValue>` expression over `self`: `None` when
/// the field is not set (oneof members, message and optional fields), so `has()` is false;
/// `None` (the whole entry left out) for types CEL cannot be shown.
fn field_value(msg: &MessageDescriptor, field: &FieldDescriptor) -> Option<String> {
    if !visible(field) {
        return None;
    }
    let ident = snake(field.name());
    Some(
        match field.containing_oneof().filter(|o| !o.is_synthetic()) {
            Some(oneof) => format!(
                "match &self.{} {{ Some({}::{}(value)) => {RUNTIME}some(value), _ => None }}",
                snake(oneof.name()),
                oneof_type(msg, &oneof),
                camel(field.name())
            ),
            None if is_option(field) => {
                format!("self.{ident}.as_ref().map(|value| {RUNTIME}ToCel::to_cel(value))")
            }
            None => format!("{RUNTIME}some(&self.{ident})"),
        },
    )
}

/// Whether bia shows values of this field's type to CEL: not the descriptor types of
/// `google/protobuf/{type,api,descriptor}.proto`, which messages rarely hold.
fn visible(field: &FieldDescriptor) -> bool {
    let kind = if field.is_map() {
        match field.kind() {
            Kind::Message(entry) => entry.map_entry_value_field().kind(),
            other => other,
        }
    } else {
        field.kind()
    };
    match kind {
        Kind::Message(m) => {
            m.package_name() != "google.protobuf"
                || matches!(
                    m.name(),
                    "Timestamp"
                        | "Duration"
                        | "Any"
                        | "Empty"
                        | "FieldMask"
                        | "Struct"
                        | "Value"
                        | "ListValue"
                        | "DoubleValue"
                        | "FloatValue"
                        | "Int64Value"
                        | "UInt64Value"
                        | "Int32Value"
                        | "UInt32Value"
                        | "BoolValue"
                        | "StringValue"
                        | "BytesValue"
                )
        }
        _ => true,
    }
}

fn kind_name(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(m) => m.full_name().to_owned(),
        other => format!("{other:?}"),
    }
}

/// `impl ToCel` for `msg`: a map of every field it can show, set fields only where the field
/// tracks presence.
pub(super) fn to_cel_impl(msg: &MessageDescriptor) -> String {
    let entries: Vec<String> = msg
        .fields()
        .filter_map(|field| {
            field_value(msg, &field).map(|value| format!("({:?}, {value})", field.name()))
        })
        .collect();
    format!(
        "#[allow(clippy::all)]\n\
         impl {RUNTIME}ToCel for {} {{\n\
         fn to_cel(&self) -> {RUNTIME}CelValue<'_> {{\n\
         {RUNTIME}message([{}])\n}}\n}}\n",
        message_type(msg),
        entries.join(", ")
    )
}
