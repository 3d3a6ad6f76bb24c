//! Configuration errors that say which key was wrong, what it held and where it came from.

use std::fmt;

use figment::Figment;

/// A configuration error: the key, the value, the source and what would be accepted.
///
/// Its message is meant for the person starting the service, e.g.
/// `invalid configuration: server.grpc.addr = "nine" (from environment variable BIA_SERVER__GRPC__ADDR): invalid socket address syntax`.
#[derive(Debug)]
pub struct ConfigError {
    lines: Vec<String>,
}

impl ConfigError {
    pub(crate) fn message(message: String) -> Self {
        Self {
            lines: vec![message],
        }
    }

    /// A value that parsed but broke a rule.
    pub(crate) fn invalid(figment: &Figment, key: &str, rule: &str) -> Self {
        let value = figment
            .find_value(key)
            .map(|v| render_value(&v))
            .unwrap_or_default();
        let source = figment
            .find_metadata(key)
            .map(|md| describe_source(md, key))
            .unwrap_or_default();
        Self::message(format!("{key} = {value}{source}: {rule}"))
    }

    /// `section` is the key passed to `extract_inner`, which figment appends to the error's path.
    pub(crate) fn from_figment(error: figment::Error, figment: &Figment, section: &str) -> Self {
        let lines = error
            .into_iter()
            .map(|e| {
                let mut path = e.path.clone();
                // figment appends the section's parts (`auth`, `jwt` for `auth.jwt`).
                let parts: Vec<&str> = section.split('.').collect();
                if path.len() >= parts.len() && path[path.len() - parts.len()..] == parts[..] {
                    path.truncate(path.len() - parts.len());
                    path.insert(0, section.to_owned());
                }
                let key = path.join(".");
                if key.is_empty() {
                    return e.kind.to_string();
                }
                let value = figment
                    .find_value(&key)
                    .map(|v| format!(" = {}", render_value(&v)))
                    .unwrap_or_default();
                let source = e
                    .metadata
                    .as_ref()
                    .map(|md| describe_source(md, &key))
                    .unwrap_or_default();
                format!("{key}{value}{source}: {}", e.kind)
            })
            .collect();
        Self { lines }
    }
}

fn render_value(value: &figment::value::Value) -> String {
    match value {
        figment::value::Value::String(_, s) => format!("{s:?}"),
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}

fn describe_source(metadata: &figment::Metadata, key: &str) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => format!(" (from {})", path.display()),
        _ if metadata.name.contains("BIA_") => format!(
            " (from environment variable BIA_{})",
            key.to_ascii_uppercase().replace('.', "__")
        ),
        _ => format!(" (from {})", metadata.name),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        f.write_str(&self.lines.join("; "))
    }
}

impl std::error::Error for ConfigError {}
