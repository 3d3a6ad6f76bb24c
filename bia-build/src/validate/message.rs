//! One message's `impl Validate`: its fields, its oneofs and its message-level rules.

use std::collections::HashSet;

use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, MessageDescriptor, Value,
};

use super::cel;
use super::fields::{self, Elem, is_option};
use super::names::{camel, message_type, oneof_type, snake};
use super::rules::{Result, Rules};

/// The `buf.validate` extensions of the options, when `buf/validate/validate.proto` is among
/// the compiled files (otherwise no message has rules).
pub(super) struct Extensions {
    field: Option<ExtensionDescriptor>,
    message: Option<ExtensionDescriptor>,
    oneof: Option<ExtensionDescriptor>,
}

impl Extensions {
    pub(super) fn find(pool: &DescriptorPool) -> Self {
        Self {
            field: pool.get_extension_by_name("buf.validate.field"),
            message: pool.get_extension_by_name("buf.validate.message"),
            oneof: pool.get_extension_by_name("buf.validate.oneof"),
        }
    }
}

fn rules_of(options: DynamicMessage, ext: Option<&ExtensionDescriptor>) -> Option<DynamicMessage> {
    let ext = ext?;
    if !options.has_extension(ext) {
        return None;
    }
    match options.get_extension(ext).as_ref() {
        Value::Message(m) => Some(m.clone()),
        _ => None,
    }
}

/// `impl ::bia::validate::Validate for <msg>`, written into its package's module.
pub(super) fn validate_impl(msg: &MessageDescriptor, ext: &Extensions) -> Result<String> {
    let mut body = String::new();
    let mut listed = HashSet::new();
    if let Some(rules) = rules_of(msg.options(), ext.message.as_ref()) {
        body.push_str(&message_rules(msg, rules, &mut listed)?);
    }
    for field in msg.fields() {
        if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            continue;
        }
        let rules = rules_of(field.options(), ext.field.as_ref());
        body.push_str(&fields::field(
            &field,
            rules,
            listed.contains(field.name()),
        )?);
    }
    for oneof in msg.oneofs().filter(|o| !o.is_synthetic()) {
        let context = format!("oneof `{}`", oneof.full_name());
        let ty = oneof_type(msg, &oneof);
        let ident = snake(oneof.name());
        let mut arms = String::new();
        let mut required_members = String::new();
        for field in oneof.fields() {
            let rules = rules_of(field.options(), ext.field.as_ref());
            let (code, required) = fields::oneof_member(&field, rules)?;
            let variant = camel(field.name());
            if !code.is_empty() {
                arms.push_str(&format!(
                    "Some({ty}::{variant}(value)) => {{\nlet at = at.field({:?});\n{code}}}\n",
                    field.name()
                ));
            }
            if required {
                required_members.push_str(&format!(
                    "if !matches!(&self.{ident}, Some({ty}::{variant}(_))) {{ let at = at.field({:?}); violations.add(&at, \"required\", \"value is required\"); }}\n",
                    field.name()
                ));
            }
        }
        if !arms.is_empty() {
            body.push_str(&format!("match &self.{ident} {{\n{arms}_ => {{}}\n}}\n"));
        }
        body.push_str(&required_members);
        if let Some(rules) = rules_of(oneof.options(), ext.oneof.as_ref()) {
            let mut r = Rules::new(rules, "oneof", &context);
            let required = r.flag("required");
            r.finish()?;
            if required {
                body.push_str(&format!(
                    "if self.{ident}.is_none() {{ let at = at.field({:?}); violations.add(&at, \"required\", \"exactly one field is required in oneof\"); }}\n",
                    oneof.name()
                ));
            }
        }
    }
    Ok(format!(
        "#[allow(clippy::all, unused_variables)]\n\
         impl ::bia::validate::Validate for {} {{\n\
         fn validate(&self, at: &::bia::validate::Path<'_>, violations: &mut ::bia::validate::Violations) {{\n\
         {body}}}\n}}\n",
        message_type(msg)
    ))
}

/// `MessageRules`: `oneof` rules over plain fields (at most one set; with `required`, exactly
/// one). The fields they list are checked only when set, as protovalidate does.
fn message_rules(
    msg: &MessageDescriptor,
    rules: DynamicMessage,
    listed: &mut HashSet<String>,
) -> Result<String> {
    let context = format!("message `{}`", msg.full_name());
    let mut r = Rules::new(rules, "message", &context);
    let cel_rules = cel::read(&mut r)?;
    let mut out = String::new();
    for rule in r.list("oneof") {
        let Value::Message(rule) = rule else { continue };
        let mut rule = Rules::new(rule, "message.oneof", &context);
        let names: Vec<String> = rule
            .list("fields")
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect();
        let required = rule.flag("required");
        rule.finish()?;
        if names.is_empty() {
            return Err(format!(
                "{context}: a `oneof` rule must list at least one field"
            ));
        }
        let mut set = Vec::new();
        for name in &names {
            let Some(field) = msg.get_field_by_name(name) else {
                return Err(format!(
                    "{context}: the `oneof` rule names `{name}`, which is not a field of it"
                ));
            };
            if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
                return Err(format!(
                    "{context}: the `oneof` rule names `{name}`, which is in a oneof already"
                ));
            }
            // A field may be named by several rules; each one counts it.
            listed.insert(name.clone());
            let ident = snake(name);
            set.push(if field.is_list() || field.is_map() {
                format!("usize::from(!self.{ident}.is_empty())")
            } else if is_option(&field) {
                format!("usize::from(self.{ident}.is_some())")
            } else {
                format!(
                    "usize::from({{ let value = &self.{ident}; !({}) }})",
                    Elem::of(&field.kind()).is_zero()
                )
            });
        }
        let shown = names.join(", ");
        out.push_str(&format!(
            "{{\nlet set = {};\nif set > 1 {{ violations.add(at, \"message.oneof\", {:?}); }}\n",
            set.join(" + "),
            format!("only one of {shown} can be set")
        ));
        if required {
            out.push_str(&format!(
                "if set == 0 {{ violations.add(at, \"message.oneof\", {:?}); }}\n",
                format!("one of {shown} must be set")
            ));
        }
        out.push_str("}\n");
    }
    r.finish()?;
    out.push_str(&cel::message_checks(msg, &cel_rules, &context)?);
    Ok(out)
}
