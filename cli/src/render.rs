//! Templates: a folder of files rendered with minijinja (cargo-generate style).
//!
//! - A file whose name ends in `.tmpl` is rendered and loses the suffix (`Cargo.toml.tmpl`);
//!   every other file is copied as is.
//! - A file whose path contains `__service__` is rendered once per proto service, with the
//!   variable `service` set and `__service__` replaced by the service's module name.
//! - A `.tmpl` file that renders to nothing but whitespace is not written (so a file can be
//!   conditional: `{% if example %}...{% endif %}`).
//! - Files under `proto/` are the protos a project gets when `bia new` has no `--proto`.
//!
//! The built-in templates are embedded in the binary by `build.rs`: `templates/service/` and the
//! greeter example in `templates/greeter/`, laid over it when `bia new` has no `--proto`. Their
//! Rust files are plain Rust wherever no placeholder is needed, so rustfmt, clippy and
//! rust-analyzer read them; the end-to-end tests render both and run `cargo fmt --check`,
//! `cargo clippy -D warnings` and `cargo test` in the result.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::errors::{Error, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The framework workspace's Cargo.lock, embedded at build time.
pub(crate) fn workspace_lock() -> &'static str {
    embedded::WORKSPACE_LOCK
}

/// One embedded file under `templates/`, by its path there.
pub(crate) fn builtin_file(path: &str) -> Option<&'static str> {
    embedded::TEMPLATE_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, contents)| *contents)
}

/// The folder where protos of a template live.
pub(crate) const PROTO_DIR: &str = "proto/";
/// The marker of a per-service file.
const SERVICE_MARKER: &str = "__service__";
/// The suffix of a rendered file.
const SUFFIX: &str = ".tmpl";

/// A template: its files by relative path (with `/` separators).
#[derive(Debug)]
pub(crate) struct Template {
    files: Vec<(String, Vec<u8>)>,
}

impl Template {
    /// The built-in service template (`templates/service/`), with the greeter example
    /// (`templates/greeter/`) laid over it when `example`: its files are added, or replace the
    /// service template's files of the same path.
    pub(crate) fn builtin_service(example: bool) -> Template {
        let layer = |prefix: &str| -> Vec<(String, Vec<u8>)> {
            embedded::TEMPLATE_FILES
                .iter()
                .filter_map(|(path, contents)| {
                    path.strip_prefix(prefix)
                        .map(|p| (p.to_owned(), contents.as_bytes().to_vec()))
                })
                .collect()
        };
        let mut files = layer("service/");
        if example {
            for (path, contents) in layer("greeter/") {
                files.retain(|(p, _)| *p != path);
                files.push((path, contents));
            }
        }
        files.sort();
        Template { files }
    }

    /// A user's template folder (`--template DIR`); `target/` and `.git/` are left out.
    pub(crate) fn from_dir(dir: &Path) -> Result<Template> {
        if !dir.is_dir() {
            return Err(Error::NotFound {
                what: "template folder",
                path: dir.to_path_buf(),
            });
        }
        let mut files = Vec::new();
        read_dir(dir, dir, &mut files)?;
        files.sort();
        Ok(Template { files })
    }

    /// The template's default protos: (path under `proto/`, contents).
    pub(crate) fn default_protos(&self) -> Vec<(&str, &[u8])> {
        self.files
            .iter()
            .filter_map(|(path, contents)| {
                path.strip_prefix(PROTO_DIR)
                    .map(|rest| (rest, contents.as_slice()))
            })
            .collect()
    }

    /// Whether the template has a file at `path`.
    pub(crate) fn has(&self, path: &str) -> bool {
        self.files.iter().any(|(p, _)| p == path)
    }

    /// Renders every file but the protos into `dest`.
    pub(crate) fn render_into(
        &self,
        dest: &Path,
        context: &Value,
        services: &[Value],
    ) -> Result<()> {
        let env = environment();
        for (path, contents) in &self.files {
            if path.starts_with(PROTO_DIR) {
                continue;
            }
            if path.contains(SERVICE_MARKER) {
                for service in services {
                    let module = service
                        .get_attr("module")
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    let target = path.replace(SERVICE_MARKER, &module);
                    let ctx = minijinja::context! { service => service.clone(), ..context.clone() };
                    write_file(&env, dest, path, &target, contents, &ctx)?;
                }
            } else {
                write_file(&env, dest, path, path, contents, context)?;
            }
        }
        Ok(())
    }
}

/// Renders one template text with `context`; `name` is used in error messages.
pub(crate) fn render_str(name: &str, source: &str, context: &Value) -> Result<String> {
    environment()
        .render_named_str(name, source, context)
        .map_err(|e| template_error(name, &e))
}

fn write_file(
    env: &Environment<'_>,
    dest: &Path,
    name: &str,
    target: &str,
    contents: &[u8],
    context: &Value,
) -> Result<()> {
    let (target, bytes) = match target.strip_suffix(SUFFIX) {
        Some(stripped) => {
            let source = std::str::from_utf8(contents).map_err(|_| Error::Template {
                name: name.to_owned(),
                message: "a .tmpl file must be UTF-8 text".to_owned(),
            })?;
            let text = env
                .render_named_str(name, source, context)
                .map_err(|e| template_error(name, &e))?;
            if text.trim().is_empty() {
                // A template that renders to nothing is a file this project does not get.
                return Ok(());
            }
            (stripped, text.into_bytes())
        }
        None => (target, contents.to_vec()),
    };
    let path = dest.join(target);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| Error::io("write", path, e))
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

fn template_error(name: &str, err: &minijinja::Error) -> Error {
    let mut message = err.kind().to_string();
    if let Some(detail) = err.detail() {
        message = format!("{message}: {detail}");
    }
    if let Some(line) = err.line() {
        message = format!("line {line}: {message}");
    }
    Error::Template {
        name: name.to_owned(),
        message,
    }
}

fn read_dir(root: &Path, dir: &Path, files: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    for entry in entries {
        let path: PathBuf = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && name != ".git" {
                read_dir(root, &path, files)?;
            }
            continue;
        }
        let rel = path.strip_prefix(root).expect("walked from root");
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let contents = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        files.push((rel.join("/"), contents));
    }
    Ok(())
}
