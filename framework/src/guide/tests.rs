//! The configuration reference (docs/configuration.md) against the code: every key of every
//! framework section has a row, and the row's default is the one the code uses.

use serde_json::Value;

use crate::config::{
    AppConfig, ClientConfig, EtcdConfig, LogConfig, ServerConfig, Target, TelemetryConfig,
};

/// docs/configuration.md, read when the test runs: the book's pages outside `src/guide/` are not
/// part of the published crate, so they must not be compiled into it.
fn reference() -> &'static str {
    static REFERENCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    REFERENCE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "this test checks the repository's docs/configuration.md: cannot read {path}: {e}"
            )
        })
    })
}

/// Every leaf of `value` as `(dotted path, default)`; empty tables and lists are leaves.
fn leaves(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                leaves(&format!("{prefix}.{key}"), value, out);
            }
        }
        _ => out.push((prefix.to_owned(), value.clone())),
    }
}

fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("a config section serializes")
}

/// The keys of `[auth.jwt]`, which does not serialize (its secret must not): serde names the
/// fields it expects when it meets one it does not know.
fn jwt_keys() -> Vec<String> {
    let probe = serde_json::json!({ "no_such_key": 1 });
    let err = serde_json::from_value::<crate::middleware::auth::JwtConfig>(probe).unwrap_err();
    let text = err.to_string();
    let expected = text
        .split("expected one of")
        .nth(1)
        .expect("serde lists the fields");
    expected
        .split(',')
        .map(|field| format!("auth.jwt.{}", field.trim().trim_matches('`')))
        .collect()
}

/// The table row documenting `key`: `| `key` | type | default | ...`.
fn row(key: &str) -> Option<Vec<&'static str>> {
    let start = format!("| `{key}` |");
    reference()
        .lines()
        .find(|line| line.starts_with(&start))
        .map(|line| line.split('|').map(str::trim).collect())
}

/// How a default is written in the reference: strings quoted, `None` as "unset".
fn written(value: &Value) -> String {
    match value {
        Value::Null => "unset".to_owned(),
        Value::String(text) => format!("\"{text}\""),
        // f32 fields (`budget_ratio`) widen to f64 with noise: compare at f32 precision.
        Value::Number(number) if number.is_f64() => {
            let value = number.as_f64().unwrap_or_default() as f32;
            if value.fract() == 0.0 {
                format!("{value:.1}")
            } else {
                value.to_string()
            }
        }
        other => other.to_string(),
    }
}

#[test]
fn every_configuration_key_is_in_the_reference_with_its_default() {
    let client = ClientConfig {
        target: Target::One(String::new()),
        ..ClientConfig::default()
    };
    let mut keys = Vec::new();
    leaves("app", &json(AppConfig::default()), &mut keys);
    leaves("server", &json(ServerConfig::default()), &mut keys);
    leaves("telemetry", &json(TelemetryConfig::default()), &mut keys);
    leaves("log", &json(LogConfig::default()), &mut keys);
    leaves("registry.etcd", &json(EtcdConfig::default()), &mut keys);
    leaves("clients.<name>", &json(client), &mut keys);
    // Defaults that depend on the binary, or that the code keeps per method.
    let computed = ["app.name", "app.version", "clients.<name>.target"];

    let mut problems = Vec::new();
    for (key, default) in &keys {
        let Some(columns) = row(key) else {
            problems.push(format!("no row for `{key}` (default {default})"));
            continue;
        };
        // | key | type | default | meaning | env |: columns[0] is before the first bar.
        let documented = columns.get(3).copied().unwrap_or_default();
        if !computed.contains(&key.as_str()) && !documented.contains(&written(default)) {
            problems.push(format!(
                "`{key}`: the reference says {documented:?}, the code's default is {}",
                written(default)
            ));
        }
    }
    for key in jwt_keys() {
        if row(&key).is_none() {
            problems.push(format!("no row for `{key}`"));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/configuration.md is out of date:\n  {}",
        problems.join("\n  ")
    );
}
