//! Rules on `google.protobuf.Timestamp`, `Duration` and `Any`.

use prost_reflect::{DynamicMessage, Value};

use super::rules::{Check, Result, Rules};
use super::scalar::{Bound, Order, range};

/// `(seconds, nanos)` of a Timestamp or Duration rule value.
fn seconds_nanos(msg: &DynamicMessage) -> (i64, i32) {
    let seconds = match msg.get_field_by_name("seconds").as_deref() {
        Some(Value::I64(s)) => *s,
        _ => 0,
    };
    let nanos = match msg.get_field_by_name("nanos").as_deref() {
        Some(Value::I32(n)) => *n,
        _ => 0,
    };
    (seconds, nanos)
}

fn literal((s, n): (i64, i32)) -> String {
    format!("({s}i64, {n}i32)")
}

fn shown(kind: &str, (seconds, nanos): (i64, i32)) -> String {
    if kind == "timestamp" {
        prost_types::Timestamp { seconds, nanos }.to_string()
    } else {
        prost_types::Duration { seconds, nanos }.to_string()
    }
}

fn bound(rules: &mut Rules, kind: &str, op: &'static str) -> Option<Bound> {
    let value = seconds_nanos(&rules.message(op)?);
    Some(Bound {
        op,
        literal: literal(value),
        shown: shown(kind, value),
        order: Order::Time(value.0, value.1),
    })
}

/// The checks of `TimestampRules` (`kind` "timestamp") or `DurationRules` ("duration") on
/// `value`, a `prost_types::Timestamp` or `Duration`.
pub(super) fn time(mut rules: Rules, kind: &str) -> Result<Vec<Check>> {
    let x = "(value.seconds, value.nanos)";
    let mut c = Vec::new();
    if let Some(m) = rules.message("const") {
        let v = seconds_nanos(&m);
        c.push(Check::new(
            format!("{x} != {}", literal(v)),
            format!("{kind}.const"),
            format!("must equal {}", shown(kind, v)),
        ));
    }
    let lower = bound(&mut rules, kind, "gt").or_else(|| bound(&mut rules, kind, "gte"));
    let upper = bound(&mut rules, kind, "lt").or_else(|| bound(&mut rules, kind, "lte"));
    c.extend(range(kind, x, lower, upper));
    if kind == "timestamp" {
        let now = "::bia::validate::rules::now()";
        if rules.flag("lt_now") {
            c.push(Check::new(
                format!("!({x} < {now})"),
                "timestamp.lt_now",
                "must be less than now",
            ));
        }
        if rules.flag("gt_now") {
            c.push(Check::new(
                format!("!({x} > {now})"),
                "timestamp.gt_now",
                "must be greater than now",
            ));
        }
        if let Some(m) = rules.message("within") {
            let w = seconds_nanos(&m);
            c.push(Check::new(
                format!(
                    "{{ let (late, early) = ::bia::validate::rules::add_sub({now}, {}); !(early <= {x} && {x} <= late) }}",
                    literal(w)
                ),
                "timestamp.within",
                format!("must be within {} of now", shown("duration", w)),
            ));
        }
    } else {
        c.extend(rules.membership_checks(&format!("&{x}"), |v| match v {
            Value::Message(m) => {
                let duration = seconds_nanos(m);
                Some((literal(duration), shown(kind, duration)))
            }
            _ => None,
        }));
    }
    rules.finish()?;
    Ok(c)
}

/// The checks of `AnyRules` on `value`, a `prost_types::Any`.
pub(super) fn any(mut rules: Rules) -> Result<Vec<Check>> {
    let mut c = Vec::new();
    for (rule, negate, message) in [
        ("in", "!", "type URL must be in the allow list"),
        ("not_in", "", "type URL must not be in the block list"),
    ] {
        let urls: Vec<String> = rules
            .list(rule)
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(format!("{s:?}")),
                _ => None,
            })
            .collect();
        if !urls.is_empty() {
            c.push(Check::new(
                format!(
                    "{negate}[{}].contains(&value.type_url.as_str())",
                    urls.join(", ")
                ),
                format!("any.{rule}"),
                message,
            ));
        }
    }
    rules.finish()?;
    Ok(c)
}
