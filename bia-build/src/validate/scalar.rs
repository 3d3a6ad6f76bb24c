//! Rules on numbers, booleans and enums; the range logic is shared with timestamps and
//! durations.

use prost_reflect::{EnumDescriptor, Kind, Value};

use super::rules::{Check, Result, Rules, float_literal};

/// A numeric proto type: the name of its rules (and rule ids) and its Rust type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Num {
    pub(super) rules: &'static str,
    pub(super) rust: &'static str,
}

impl Num {
    pub(super) fn of(kind: &Kind) -> Option<Num> {
        let (rules, rust) = match kind {
            Kind::Double => ("double", "f64"),
            Kind::Float => ("float", "f32"),
            Kind::Int32 => ("int32", "i32"),
            Kind::Int64 => ("int64", "i64"),
            Kind::Uint32 => ("uint32", "u32"),
            Kind::Uint64 => ("uint64", "u64"),
            Kind::Sint32 => ("sint32", "i32"),
            Kind::Sint64 => ("sint64", "i64"),
            Kind::Fixed32 => ("fixed32", "u32"),
            Kind::Fixed64 => ("fixed64", "u64"),
            Kind::Sfixed32 => ("sfixed32", "i32"),
            Kind::Sfixed64 => ("sfixed64", "i64"),
            _ => return None,
        };
        Some(Num { rules, rust })
    }

    pub(super) fn is_float(self) -> bool {
        self.rust.starts_with('f')
    }

    pub(super) fn zero(self) -> String {
        if self.is_float() {
            format!("0.0{}", self.rust)
        } else {
            format!("0{}", self.rust)
        }
    }
}

/// A value that orders the bounds of a range at build time.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub(super) enum Order {
    Int(i128),
    Float(f64),
    Time(i64, i32),
}

/// One bound of a range: `gt`, `gte`, `lt` or `lte`, with its Rust literal, how it is shown in
/// messages and its order.
pub(super) struct Bound {
    pub(super) op: &'static str,
    pub(super) literal: String,
    pub(super) shown: String,
    pub(super) order: Order,
}

impl Bound {
    /// The bound's Rust operator and its words in messages.
    fn operator(&self) -> (&'static str, &'static str) {
        match self.op {
            "gt" => (">", "greater than"),
            "gte" => (">=", "greater than or equal to"),
            "lt" => ("<", "less than"),
            _ => ("<=", "less than or equal to"),
        }
    }

    fn test(&self, x: &str) -> String {
        format!("{x} {} {}", self.operator().0, self.literal)
    }

    fn phrase(&self) -> String {
        format!("{} {}", self.operator().1, self.shown)
    }
}

/// The check of `lower` and `upper` bounds on `x`, with protovalidate's ids: `int32.gt`,
/// `int32.gt_lt`, and `int32.gt_lt_exclusive` when the upper bound is below the lower one (the
/// value must then lie outside the gap). `!(x > l)` also fails for NaN, as protovalidate does.
pub(super) fn range(
    prefix: &str,
    x: &str,
    lower: Option<Bound>,
    upper: Option<Bound>,
) -> Option<Check> {
    match (lower, upper) {
        (None, None) => None,
        (Some(b), None) | (None, Some(b)) => Some(Check::new(
            format!("!({})", b.test(x)),
            format!("{prefix}.{}", b.op),
            format!("must be {}", b.phrase()),
        )),
        (Some(lo), Some(up)) => {
            let id = format!("{prefix}.{}_{}", lo.op, up.op);
            if up.order >= lo.order {
                Some(Check::new(
                    format!("!({} && {})", lo.test(x), up.test(x)),
                    id,
                    format!("must be {} and {}", lo.phrase(), up.phrase()),
                ))
            } else {
                Some(Check::new(
                    format!("!({} || {})", lo.test(x), up.test(x)),
                    format!("{id}_exclusive"),
                    format!("must be {} or {}", lo.phrase(), up.phrase()),
                ))
            }
        }
    }
}

/// The literal, the text and the order of a numeric rule value.
fn number(num: Num, value: &Value) -> (String, String, Order) {
    let int = |v: i128| (format!("{v}{}", num.rust), v.to_string(), Order::Int(v));
    match value {
        Value::I32(v) => int((*v).into()),
        Value::I64(v) => int((*v).into()),
        Value::U32(v) => int((*v).into()),
        Value::U64(v) => int((*v).into()),
        Value::F32(v) => (
            float_literal((*v).into(), "f32"),
            v.to_string(),
            Order::Float((*v).into()),
        ),
        Value::F64(v) => (float_literal(*v, "f64"), v.to_string(), Order::Float(*v)),
        other => (format!("{other:?}"), format!("{other:?}"), Order::Int(0)),
    }
}

fn bound(rules: &mut Rules, num: Num, op: &'static str) -> Option<Bound> {
    let value = rules.get(op)?;
    let (literal, shown, order) = number(num, &value);
    Some(Bound {
        op,
        literal,
        shown,
        order,
    })
}

/// The checks of `Int32Rules`, `DoubleRules`, ... on `*value`.
pub(super) fn numeric(mut rules: Rules, num: Num) -> Result<Vec<Check>> {
    let p = num.rules;
    let mut checks = Vec::new();
    if let Some(v) = rules.get("const") {
        let (lit, shown, _) = number(num, &v);
        checks.push(Check::new(
            format!("*value != {lit}"),
            format!("{p}.const"),
            format!("must equal {shown}"),
        ));
    }
    let lower = bound(&mut rules, num, "gt").or_else(|| bound(&mut rules, num, "gte"));
    let upper = bound(&mut rules, num, "lt").or_else(|| bound(&mut rules, num, "lte"));
    checks.extend(range(p, "*value", lower, upper));
    checks.extend(rules.membership_checks("value", |v| {
        let (lit, shown, _) = number(num, v);
        Some((lit, shown))
    }));
    if num.is_float() && rules.flag("finite") {
        checks.push(Check::new(
            "!value.is_finite()",
            format!("{p}.finite"),
            "must be finite",
        ));
    }
    rules.finish()?;
    Ok(checks)
}

/// The checks of `BoolRules` on `*value`.
pub(super) fn boolean(mut rules: Rules) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    if let Some(Value::Bool(v)) = rules.get("const") {
        checks.push(Check::new(
            format!("*value != {v}"),
            "bool.const",
            format!("must equal {v}"),
        ));
    }
    rules.finish()?;
    Ok(checks)
}

/// The checks of `EnumRules` on `*value` (prost keeps enums as `i32`).
pub(super) fn enumeration(mut rules: Rules, desc: &EnumDescriptor) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let show = |v: &Value| match v {
        Value::EnumNumber(n) | Value::I32(n) => match desc.get_value(*n) {
            Some(value) => value.name().to_owned(),
            None => n.to_string(),
        },
        other => format!("{other:?}"),
    };
    let number = |v: &Value| match v {
        Value::EnumNumber(n) | Value::I32(n) => Some(format!("{n}i32")),
        _ => None,
    };
    if let Some(v) = rules.get("const") {
        let n = number(&v).unwrap_or_default();
        checks.push(Check::new(
            format!("*value != {n}"),
            "enum.const",
            format!("must equal {}", show(&v)),
        ));
    }
    if rules.flag("defined_only") {
        let mut defined: Vec<i32> = desc.values().map(|v| v.number()).collect();
        defined.sort_unstable();
        defined.dedup();
        let pattern = defined
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
        checks.push(Check::new(
            format!("!matches!(*value, {pattern})"),
            "enum.defined_only",
            "value must be one of the defined enum values",
        ));
    }
    checks.extend(rules.membership_checks("value", |v| {
        let lit = number(v)?;
        Some((lit, show(v)))
    }));
    rules.finish()?;
    Ok(checks)
}
