//! `--framework`: which `bia` a new project depends on.

use std::path::{Path, PathBuf};

use crate::errors::{Error, Result};

/// The framework sources this binary was built from (`<workspace>/framework`).
pub(crate) const BUILT_FROM: &str = env!("BIA_FRAMEWORK_DIR");

/// Where a project's `bia` dependency comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Framework {
    /// A local checkout of the framework crate.
    Path(PathBuf),
    /// A version requirement on crates.io.
    Version(String),
    /// A git repository.
    Git(String),
}

impl Framework {
    /// Parses `--framework`: a git URL, a version requirement, or a path to the crate's folder.
    pub(crate) fn parse(spec: Option<&str>) -> Result<Framework> {
        let Some(spec) = spec else {
            return Ok(Framework::Path(PathBuf::from(BUILT_FROM)));
        };
        let invalid = |reason: &str| Error::InvalidFramework {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(invalid(
                "it is empty; give a version (`0.1`), a path, or a git URL",
            ));
        }
        if let Some(url) = spec.strip_prefix("git+") {
            return Ok(Framework::Git(url.to_owned()));
        }
        if ["https://", "http://", "ssh://", "git://", "git@", "file://"]
            .iter()
            .any(|p| spec.starts_with(p))
        {
            return Ok(Framework::Git(spec.to_owned()));
        }
        if looks_like_version(spec) {
            return Ok(Framework::Version(spec.to_owned()));
        }
        let path = Path::new(spec);
        if !path.join("Cargo.toml").is_file() {
            return Err(invalid(
                "it is not a version, not a git URL, and not a folder with a Cargo.toml; \
                 give a version (`0.1`), the framework crate's folder, or a git URL",
            ));
        }
        let path = path
            .canonicalize()
            .map_err(|e| Error::io("read", path, e))?;
        Ok(Framework::Path(path))
    }

    /// The dependency as a TOML value: `"0.1"`, `{ path = "..." }`, `{ git = "..." }`.
    pub(crate) fn toml_value(&self) -> String {
        match self {
            Framework::Version(v) => toml_string(v),
            Framework::Path(p) => format!("{{ path = {} }}", toml_string(&p.display().to_string())),
            Framework::Git(url) => format!("{{ git = {} }}", toml_string(url)),
        }
    }

    /// The `bia` dev-dependency of a project's tests: the same `bia` with its `testing` feature
    /// (`bia::testing`, the OTLP collector).
    pub(crate) fn test_toml_value(&self) -> String {
        let source = match self {
            Framework::Version(v) => format!("version = {}", toml_string(v)),
            Framework::Path(p) => format!("path = {}", toml_string(&p.display().to_string())),
            Framework::Git(url) => format!("git = {}", toml_string(url)),
        };
        format!("{{ {source}, features = [\"testing\"] }}")
    }

    /// The `bia-build` build-dependency that goes with this `bia`, as a TOML value: the crate
    /// beside the framework crate in its workspace, the same version, or the same repository.
    pub(crate) fn build_toml_value(&self) -> String {
        match self {
            Framework::Path(p) => {
                let dir = p.parent().unwrap_or(p).join("bia-build");
                format!("{{ path = {} }}", toml_string(&dir.display().to_string()))
            }
            other => other.toml_value(),
        }
    }

    /// `path`, `version` or `git`, for templates.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Framework::Path(_) => "path",
            Framework::Version(_) => "version",
            Framework::Git(_) => "git",
        }
    }
}

fn looks_like_version(spec: &str) -> bool {
    let first = spec.trim_start_matches(['^', '~', '=', '<', '>', ' ']);
    first.starts_with(|c: char| c.is_ascii_digit())
        && spec
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "^~=<>*., -+".contains(c))
}

/// A TOML basic string.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            Framework::parse(Some("0.1")).unwrap(),
            Framework::Version("0.1".into())
        );
        assert_eq!(
            Framework::parse(Some("^0.1.2")).unwrap(),
            Framework::Version("^0.1.2".into())
        );
        assert_eq!(
            Framework::parse(Some("https://example.invalid/bia.git")).unwrap(),
            Framework::Git("https://example.invalid/bia.git".into())
        );
        assert!(Framework::parse(Some("no/such/dir")).is_err());
        assert_eq!(Framework::Version("0.1".into()).toml_value(), "\"0.1\"");
        assert_eq!(
            Framework::Path("/src/bia/framework".into()).build_toml_value(),
            "{ path = \"/src/bia/bia-build\" }"
        );
        assert_eq!(toml_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
