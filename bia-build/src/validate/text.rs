//! Rules on strings and bytes.

use prost_reflect::Value;

use super::rules::{Check, Result, Rules, bytes_literal, bytes_shown};

const FORMATS: &str = "::bia::validate::formats";

/// protovalidate's well-known string formats: the rule, the check on `s`, and what a valid
/// value is called in messages. `uri_ref` accepts the empty string, so it has no `_empty` rule.
const WELL_KNOWN: &[(&str, &str, &str)] = &[
    ("email", "is_email(s)", "email address"),
    ("hostname", "is_hostname(s)", "hostname"),
    ("ip", "is_ip(s, 0)", "IP address"),
    ("ipv4", "is_ip(s, 4)", "IPv4 address"),
    ("ipv6", "is_ip(s, 6)", "IPv6 address"),
    ("uri", "is_uri(s)", "URI"),
    ("uri_ref", "is_uri_ref(s)", "URI Reference"),
    ("address", "is_address(s)", "hostname, or ip address"),
    ("uuid", "is_uuid(s)", "UUID"),
    ("tuuid", "is_tuuid(s)", "trimmed UUID"),
    (
        "ip_with_prefixlen",
        "is_ip_prefix(s, 0, false)",
        "IP prefix",
    ),
    (
        "ipv4_with_prefixlen",
        "is_ip_prefix(s, 4, false)",
        "IPv4 address with prefix length",
    ),
    (
        "ipv6_with_prefixlen",
        "is_ip_prefix(s, 6, false)",
        "IPv6 address with prefix length",
    ),
    ("ip_prefix", "is_ip_prefix(s, 0, true)", "IP prefix"),
    ("ipv4_prefix", "is_ip_prefix(s, 4, true)", "IPv4 prefix"),
    ("ipv6_prefix", "is_ip_prefix(s, 6, true)", "IPv6 prefix"),
    (
        "host_and_port",
        "is_host_and_port(s, true)",
        "host (hostname or IP address) and port pair",
    ),
    ("ulid", "is_ulid(s)", "ULID"),
    (
        "protobuf_fqn",
        "is_protobuf_fqn(s, false)",
        "fully-qualified Protobuf name",
    ),
    (
        "protobuf_dot_fqn",
        "is_protobuf_fqn(s, true)",
        "fully-qualified Protobuf name with a leading dot",
    ),
];

/// A regular expression compiled once, on first use, and matched against `subject`. The
/// pattern was compiled at build time already, so a bad one is a build error, not a panic.
fn regex_match(rules: &Rules, pattern: &str, subject: &str) -> Result<String> {
    if let Err(e) = regex::Regex::new(pattern) {
        return Err(format!(
            "{}: `{}.pattern` {pattern:?} is not a valid regular expression (RE2 syntax): {e}",
            rules.context(),
            rules.prefix()
        ));
    }
    Ok(format!(
        "({{ static PATTERN: ::std::sync::LazyLock<::bia::validate::rules::regex::Regex> = \
         ::std::sync::LazyLock::new(|| ::bia::validate::rules::regex::Regex::new({pattern:?}).expect(\"checked by bia-build\")); \
         PATTERN.is_match({subject}) }})"
    ))
}

/// The checks of `StringRules` on `s: &str`.
pub(super) fn string(mut rules: Rules) -> Result<Vec<Check>> {
    let mut c = Vec::new();
    if let Some(v) = rules.string("const") {
        c.push(Check::new(
            format!("s != {v:?}"),
            "string.const",
            format!("must equal `{v}`"),
        ));
    }
    let lengths: [(&'static str, &str, &str, &str); 6] = [
        (
            "len",
            "::bia::validate::rules::char_len(s)",
            "!=",
            "must be {} characters",
        ),
        (
            "min_len",
            "::bia::validate::rules::char_len(s)",
            "<",
            "must be at least {} characters",
        ),
        (
            "max_len",
            "::bia::validate::rules::char_len(s)",
            ">",
            "must be at most {} characters",
        ),
        ("len_bytes", "s.len()", "!=", "must be {} bytes"),
        ("min_bytes", "s.len()", "<", "must be at least {} bytes"),
        ("max_bytes", "s.len()", ">", "must be at most {} bytes"),
    ];
    c.extend(rules.size_checks(&lengths));
    if let Some(p) = rules.string("pattern") {
        let matched = regex_match(&rules, &p, "s")?;
        c.push(Check::new(
            format!("!{matched}"),
            "string.pattern",
            format!("does not match regex pattern `{p}`"),
        ));
    }
    // Each rule fails when `fail(value)` holds.
    for (rule, fail, message) in [
        ("prefix", "!s.starts_with", "does not have prefix"),
        ("suffix", "!s.ends_with", "does not have suffix"),
        ("contains", "!s.contains", "does not contain substring"),
        ("not_contains", "s.contains", "contains substring"),
    ] {
        if let Some(v) = rules.string(rule) {
            c.push(Check::new(
                format!("{fail}({v:?})"),
                format!("string.{rule}"),
                format!("{message} `{v}`"),
            ));
        }
    }
    c.extend(rules.membership_checks("&s", |v| match v {
        Value::String(s) => Some((format!("{s:?}"), s.clone())),
        _ => None,
    }));
    for &(rule, check, noun) in WELL_KNOWN {
        if !rules.flag(rule) {
            continue;
        }
        let valid = format!("{FORMATS}::{check}");
        if rule == "uri_ref" {
            c.push(Check::new(
                format!("!{valid}"),
                "string.uri_ref",
                format!("must be a valid {noun}"),
            ));
            continue;
        }
        c.push(Check::new(
            "s.is_empty()",
            format!("string.{rule}_empty"),
            format!(
                "value is empty, which is not a valid {}",
                if rule == "host_and_port" {
                    "host and port pair"
                } else {
                    noun
                }
            ),
        ));
        c.push(Check::new(
            format!("!s.is_empty() && !{valid}"),
            format!("string.{rule}"),
            format!("must be a valid {noun}"),
        ));
    }
    let strict = !matches!(rules.get("strict"), Some(Value::Bool(false)));
    match rules.enum_number("well_known_regex") {
        None | Some(0) => {}
        Some(1) => {
            let id = "string.well_known_regex.header_name";
            c.push(Check::new(
                "s.is_empty()",
                format!("{id}_empty"),
                "value is empty, which is not a valid HTTP header name",
            ));
            c.push(Check::new(
                format!("!s.is_empty() && !{FORMATS}::is_header_name(s, {strict})"),
                id,
                "must be a valid HTTP header name",
            ));
        }
        Some(2) => c.push(Check::new(
            format!("!{FORMATS}::is_header_value(s, {strict})"),
            "string.well_known_regex.header_value",
            "must be a valid HTTP header value",
        )),
        Some(other) => {
            return Err(format!(
                "{}: `string.well_known_regex` = {other} is not a known regex",
                rules.context()
            ));
        }
    }
    rules.finish()?;
    Ok(c)
}

/// The checks of `BytesRules` on `b: &[u8]`.
pub(super) fn bytes(mut rules: Rules) -> Result<Vec<Check>> {
    let mut c = Vec::new();
    let bytes_of = |v: Option<Value>| match v {
        Some(Value::Bytes(b)) => Some(b.to_vec()),
        _ => None,
    };
    if let Some(v) = bytes_of(rules.get("const")) {
        c.push(Check::new(
            format!("b != {}", bytes_literal(&v)),
            "bytes.const",
            format!("must be {}", bytes_shown(&v)),
        ));
    }
    c.extend(rules.size_checks(&[
        ("len", "b.len()", "!=", "must be {} bytes"),
        ("min_len", "b.len()", "<", "must be at least {} bytes"),
        ("max_len", "b.len()", ">", "must be at most {} bytes"),
    ]));
    if let Some(p) = rules.string("pattern") {
        let matched = regex_match(&rules, &p, "text")?;
        c.push(Check::new(
            "::std::str::from_utf8(b).is_err()",
            "bytes.pattern",
            "must be valid UTF-8 to match a regex pattern",
        ));
        c.push(Check::new(
            format!("::std::str::from_utf8(b).is_ok_and(|text| !{matched})"),
            "bytes.pattern",
            format!("must match regex pattern `{p}`"),
        ));
    }
    // Each rule fails when `fail(b, value)` holds.
    for (rule, fail, message) in [
        ("prefix", "!b.starts_with(", "does not have prefix"),
        ("suffix", "!b.ends_with(", "does not have suffix"),
        (
            "contains",
            "!::bia::validate::rules::bytes_contain(b, ",
            "does not contain",
        ),
    ] {
        if let Some(v) = bytes_of(rules.get(rule)) {
            c.push(Check::new(
                format!("{fail}{})", bytes_literal(&v)),
                format!("bytes.{rule}"),
                format!("{message} {}", bytes_shown(&v)),
            ));
        }
    }
    c.extend(rules.membership_checks("&b", |v| match v {
        Value::Bytes(b) => Some((bytes_literal(b), bytes_shown(b))),
        _ => None,
    }));
    for (rule, valid, noun) in [
        ("ip", "b.len() == 4 || b.len() == 16", "IP address"),
        ("ipv4", "b.len() == 4", "IPv4 address"),
        ("ipv6", "b.len() == 16", "IPv6 address"),
        ("uuid", "b.len() == 16", "UUID"),
    ] {
        if rules.flag(rule) {
            c.push(Check::new(
                "b.is_empty()",
                format!("bytes.{rule}_empty"),
                format!("value is empty, which is not a valid {noun}"),
            ));
            c.push(Check::new(
                format!("!b.is_empty() && !({valid})"),
                format!("bytes.{rule}"),
                format!("must be a valid {noun}"),
            ));
        }
    }
    rules.finish()?;
    Ok(c)
}
