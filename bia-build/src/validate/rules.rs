//! Reading one rules message (`StringRules`, `FieldRules`, ...) so that no rule goes unread.

use prost_reflect::{DynamicMessage, ReflectMessage, Value};

/// The result of generating; the text says which message or field, and what to do.
pub(super) type Result<T> = std::result::Result<T, String>;

/// One failed rule check in generated code: `if fail { violations.add(&at, id, message) }`.
pub(super) struct Check {
    pub(super) fail: String,
    pub(super) id: String,
    pub(super) message: String,
}

impl Check {
    pub(super) fn new(
        fail: impl Into<String>,
        id: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            fail: fail.into(),
            id: id.into(),
            message: message.into(),
        }
    }
}

/// Writes `checks` as `if` statements that record a violation at `at`.
pub(super) fn emit(out: &mut String, checks: &[Check]) {
    for check in checks {
        out.push_str(&format!(
            "if {} {{ violations.add(&at, {:?}, {:?}); }}\n",
            check.fail, check.id, check.message
        ));
    }
}

/// A rules message being read: every field that is set must be asked for by name, or
/// [`finish`](Self::finish) reports it as a rule bia-build does not implement.
pub(super) struct Rules {
    msg: DynamicMessage,
    /// The rule ids' prefix: `string`, `int32`, `repeated`, ...
    prefix: String,
    /// Which message or field these rules are on, for errors.
    context: String,
    read: Vec<&'static str>,
}

impl Rules {
    pub(super) fn new(msg: DynamicMessage, prefix: &str, context: &str) -> Self {
        Self {
            msg,
            prefix: prefix.to_owned(),
            context: context.to_owned(),
            read: Vec::new(),
        }
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(super) fn context(&self) -> &str {
        &self.context
    }

    /// The value of rule `name`, if set.
    pub(super) fn get(&mut self, name: &'static str) -> Option<Value> {
        self.read.push(name);
        if self.msg.descriptor().get_field_by_name(name).is_none()
            || !self.msg.has_field_by_name(name)
        {
            return None;
        }
        self.msg.get_field_by_name(name).map(|v| v.into_owned())
    }

    /// Whether boolean rule `name` is set to true.
    pub(super) fn flag(&mut self, name: &'static str) -> bool {
        matches!(self.get(name), Some(Value::Bool(true)))
    }

    pub(super) fn u64(&mut self, name: &'static str) -> Option<u64> {
        self.get(name)?.as_u64()
    }

    pub(super) fn string(&mut self, name: &'static str) -> Option<String> {
        match self.get(name)? {
            Value::String(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn message(&mut self, name: &'static str) -> Option<DynamicMessage> {
        match self.get(name)? {
            Value::Message(v) => Some(v),
            _ => None,
        }
    }

    pub(super) fn enum_number(&mut self, name: &'static str) -> Option<i32> {
        self.get(name)?.as_enum_number()
    }

    /// The checks of the size rules that are set (`min_len`, `max_items`, `min_pairs`, ...):
    /// each `(rule, measure, op, message)` fails when `measure op n` for the rule's value `n`,
    /// with `{}` in its message showing `n`.
    pub(super) fn size_checks(&mut self, sizes: &[(&'static str, &str, &str, &str)]) -> Vec<Check> {
        let mut checks = Vec::new();
        for &(rule, measure, op, message) in sizes {
            if let Some(n) = self.u64(rule) {
                checks.push(Check::new(
                    format!("({measure} as u64) {op} {n}u64"),
                    format!("{}.{rule}", self.prefix),
                    message.replace("{}", &n.to_string()),
                ));
            }
        }
        checks
    }

    /// The checks of the `in` and `not_in` rules that are set: the value must (not) be one of
    /// the listed items. `value` is the argument given to the array's `contains` (`&s`, `value`),
    /// and `item` writes an item as its Rust literal and as the message shows it (`None` skips an
    /// item of another kind).
    pub(super) fn membership_checks(
        &mut self,
        value: &str,
        item: impl Fn(&Value) -> Option<(String, String)>,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        for (rule, negate, words) in [("in", "!", "must be"), ("not_in", "", "must not be")] {
            let (lits, shown): (Vec<_>, Vec<_>) = self.list(rule).iter().filter_map(&item).unzip();
            if lits.is_empty() {
                continue;
            }
            checks.push(Check::new(
                format!("{negate}[{}].contains({value})", lits.join(", ")),
                format!("{}.{rule}", self.prefix),
                format!("{words} in list [{}]", shown.join(", ")),
            ));
        }
        checks
    }

    /// The items of repeated rule `name` (empty when unset).
    pub(super) fn list(&mut self, name: &'static str) -> Vec<Value> {
        match self.get(name) {
            Some(Value::List(v)) => v,
            _ => Vec::new(),
        }
    }

    /// Fails on any rule that is set but was not read: bia-build does not check it, and a rule
    /// that is silently skipped is worse than a build error.
    pub(super) fn finish(self) -> Result<()> {
        for (field, _) in self.msg.fields() {
            // `example` documents valid values; protovalidate does not check it either.
            if field.name() == "example" || self.read.contains(&field.name()) {
                continue;
            }
            return Err(format!(
                "{}: the rule `{}.{}` is not supported by bia-build yet; remove it, or check \
                 it in the handler",
                self.context,
                self.prefix,
                field.name()
            ));
        }
        if let Some((ext, _)) = self.msg.extensions().next() {
            return Err(format!(
                "{}: the predefined rule `{}` (an extension of the {} rules, defined with CEL) \
                 is not supported by bia-build yet",
                self.context,
                ext.full_name(),
                self.prefix
            ));
        }
        Ok(())
    }
}

/// A Rust literal of a float, exact (Rust prints floats so that they read back the same).
pub(super) fn float_literal(v: f64, ty: &str) -> String {
    if v.is_nan() {
        format!("{ty}::NAN")
    } else if v.is_infinite() {
        format!("{}{ty}::INFINITY", if v < 0.0 { "-" } else { "" })
    } else if ty == "f32" {
        format!("{:?}f32", v as f32)
    } else {
        format!("{v:?}f64")
    }
}

/// A byte string literal, every byte escaped.
pub(super) fn bytes_literal(bytes: &[u8]) -> String {
    let mut out = String::from("&b\"");
    for b in bytes {
        out.push_str(&format!("\\x{b:02x}"));
    }
    out.push_str("\"[..]");
    out
}

/// How protovalidate shows bytes in messages: as text when they are UTF-8, else in hex.
pub(super) fn bytes_shown(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
