//! `bia openapi`: the OpenAPI 3.1 document of a project's REST API, generated from its protos
//! by the same code that serves `/openapi.json` on a running service's admin port, so the file
//! and the server never disagree.

use std::io::Write as _;
use std::path::Path;

use bia::gateway::openapi::{self, Info};

use crate::args::OpenApiArgs;
use crate::errors::{Error, Result};
use crate::protos;
use crate::staging::write_atomic;
use crate::{proto_model, rust_code};

/// The file written when `-o` is not given, in the project's folder.
const DEFAULT_OUTPUT: &str = "openapi.json";

/// Runs `bia openapi`.
pub fn run(args: &OpenApiArgs) -> Result<()> {
    let project = &args.project;
    let (files, includes) = if args.protos.is_empty() {
        let proto_dir = project.join("proto");
        if !proto_dir.is_dir() {
            return Err(Error::NotAProject {
                path: project.clone(),
                reason: "it has no proto/ folder; run this inside a project made by `bia new`, \
                         pass --project DIR, or name the files with --proto FILE"
                    .to_owned(),
            });
        }
        let includes = match args.includes.is_empty() {
            true => vec![proto_dir.clone()],
            false => args.includes.clone(),
        };
        (protos::find_protos(&proto_dir)?, includes)
    } else {
        (args.protos.clone(), args.includes.clone())
    };
    let set = protos::load(&files, &includes)?;
    let pool = set.pool.clone();
    let (services, left_out) = served(args, &set)?;
    for name in &left_out {
        println!(
            "left out {name}: {} does not register it (the project calls it, it does not serve it)",
            rust_code::SERVICE_MOD
        );
    }
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    let (title, version) = package(project);
    let info = Info {
        title,
        version,
        servers: args.servers.clone(),
    };
    let document =
        openapi::document(&pool, &names, &info).map_err(|e| Error::Unsupported(e.to_string()))?;
    let mut text = serde_json::to_string_pretty(&document).expect("a JSON value serializes");
    text.push('\n');

    let output = match &args.output {
        Some(path) if path.as_os_str() == "-" => {
            let mut stdout = std::io::stdout().lock();
            return stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::io("write", "standard output", e));
        }
        Some(path) if path.parent().is_none_or(|p| p.as_os_str().is_empty()) => {
            Path::new(".").join(path)
        }
        Some(path) => path.clone(),
        None => project.join(DEFAULT_OUTPUT),
    };
    write_atomic(&output, text.as_bytes())?;
    let paths = document["paths"].as_object().map_or(0, |p| p.len());
    let schemas = document["components"]["schemas"]
        .as_object()
        .map_or(0, |s| s.len());
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    println!(
        "wrote {} ({} {}, {paths} {}, {schemas} {})",
        output.display(),
        services.len(),
        plural(services.len(), "service", "services"),
        plural(paths, "path", "paths"),
        plural(schemas, "schema", "schemas"),
    );
    if paths == 0 {
        println!(
            "note: no method has a google.api.http rule, so the document has no paths; annotate \
             methods with `option (google.api.http) = {{ get: \"/v1/...\" }};` \
             (import \"google/api/annotations.proto\", built into bia)"
        );
    }
    Ok(())
}

/// The services to describe, and those left out: with `--proto`, every service of those files;
/// in a project, those its `src/service/mod.rs` registers, since a project also keeps the protos
/// of the services it calls.
fn served(args: &OpenApiArgs, set: &protos::ProtoSet) -> Result<(Vec<String>, Vec<String>)> {
    let services = proto_model::services(&set.fds, &set.roots)?;
    let mod_rs = args.project.join(rust_code::SERVICE_MOD);
    if !args.protos.is_empty() || !mod_rs.is_file() {
        return Ok((services.iter().map(|s| s.full_name()).collect(), Vec::new()));
    }
    let source = std::fs::read_to_string(&mod_rs).map_err(|e| Error::io("read", &mod_rs, e))?;
    let handlers = rust_code::read_service_mod(&source)?;
    let (kept, out): (Vec<_>, Vec<_>) = services.iter().partition(|service| {
        handlers
            .iter()
            .any(|h| h.server_path == service.server_path())
    });
    let names =
        |list: Vec<&proto_model::ServiceModel>| list.iter().map(|s| s.full_name()).collect();
    Ok((names(kept), names(out)))
}

/// The project's package name and version from its Cargo.toml, for `info`; the folder's name
/// and "unversioned" when it has none.
fn package(project: &Path) -> (String, String) {
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap_or_default();
    let mut in_package = false;
    let (mut name, mut version) = (None, None);
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let quoted = value
            .strip_prefix('"')
            .and_then(|v| v.split_once('"'))
            .map(|(inner, _)| inner.to_owned());
        match key.trim() {
            "name" => name = quoted,
            "version" => version = quoted,
            _ => {}
        }
    }
    let folder = || {
        project
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "api".to_owned())
    };
    (
        name.unwrap_or_else(folder),
        version.unwrap_or_else(|| "unversioned".to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_table_gives_title_and_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"user-service\" # ours\nversion = \"1.2.3\"\n\n[dependencies]\nname = \"x\"\n",
        )
        .unwrap();
        assert_eq!(
            package(dir.path()),
            ("user-service".to_owned(), "1.2.3".to_owned())
        );
    }

    #[test]
    fn without_a_manifest_the_folder_names_the_api() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("shop");
        std::fs::create_dir(&project).unwrap();
        assert_eq!(
            package(&project),
            ("shop".to_owned(), "unversioned".to_owned())
        );
    }
}
