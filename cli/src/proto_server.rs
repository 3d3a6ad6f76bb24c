//! `bia proto server`: add a stub for each service of a proto to an existing project, and wire it
//! in (the module in `src/service/mod.rs`, the registration in `src/lib.rs`). Existing code is
//! never replaced; a second run changes nothing.

use std::path::{Path, PathBuf};

use crate::args::ProtoServerArgs;
use crate::errors::{Error, Result};
use crate::proto_model::{self, ServiceModel};
use crate::protos;
use crate::render;
use crate::staging::write_atomic;

/// The stub template, under `templates/`.
const STUB: &str = "service/src/service/__service__.rs.tmpl";

/// One change to make to the project.
#[derive(Debug)]
struct Change {
    path: PathBuf,
    contents: Vec<u8>,
    note: String,
}

/// Runs `bia proto server`.
pub fn run(args: &ProtoServerArgs) -> Result<()> {
    let project = &args.out;
    let lib_rs = project.join("src/lib.rs");
    let mod_rs = project.join("src/service/mod.rs");
    let cargo_toml = project.join("Cargo.toml");
    for needed in [&cargo_toml, &lib_rs, &mod_rs] {
        if !needed.is_file() {
            return Err(Error::NotAProject {
                path: project.clone(),
                reason: format!(
                    "{} is missing; run this inside a project made by `bia new`, or pass --out DIR",
                    needed.strip_prefix(project).unwrap_or(needed).display()
                ),
            });
        }
    }
    if !args.proto.is_file() {
        return Err(Error::NotFound {
            what: "proto file",
            path: args.proto.clone(),
        });
    }
    let proto_dir = project.join("proto");
    let includes = if !args.includes.is_empty() {
        args.includes.clone()
    } else if is_under(&args.proto, &proto_dir) {
        vec![proto_dir.clone()]
    } else {
        vec![protos::default_include(&args.proto)]
    };
    let set = protos::load(std::slice::from_ref(&args.proto), &includes)?;
    let services = proto_model::services(&set.fds, &set.roots)?;

    let mut changes = Vec::new();
    let mut skipped = Vec::new();
    for (name, source) in &set.sources {
        let dest = proto_dir.join(name);
        let contents = std::fs::read(source).map_err(|e| Error::io("read", source, e))?;
        match std::fs::read(&dest) {
            Ok(existing) if existing == contents => {}
            Ok(_) => {
                return Err(Error::FileExists {
                    path: dest,
                    hint: format!(
                        "it differs from {}; bia never replaces a proto: merge them by hand, \
                         or run `bia proto server` on the project's copy",
                        source.display()
                    ),
                });
            }
            Err(_) => changes.push(Change {
                path: dest,
                contents,
                note: "copied".to_owned(),
            }),
        }
    }

    let crate_name = crate_name(&cargo_toml)?;
    let mut lib_text = read(&lib_rs)?;
    let mut mod_text = read(&mod_rs)?;
    let mut cargo_text = read(&cargo_toml)?;
    let (lib_before, mod_before, cargo_before) =
        (lib_text.clone(), mod_text.clone(), cargo_text.clone());
    for service in &services {
        let stub = project
            .join("src/service")
            .join(format!("{}.rs", service.module));
        if stub.exists() {
            let existing = read(&stub)?;
            let missing: Vec<&str> = service
                .methods
                .iter()
                .filter(|m| !existing.contains(&format!("fn {}(", m.rust_name)))
                .map(|m| m.proto_name.as_str())
                .collect();
            let mut note = format!("{}: exists, left as it is", rel(project, &stub));
            if !missing.is_empty() {
                note.push_str(&format!(
                    " (no handler found for {}: add them by hand)",
                    missing.join(", ")
                ));
            }
            skipped.push(note);
        } else {
            let text = render_stub(service, &crate_name)?;
            changes.push(Change {
                path: stub,
                contents: text.into_bytes(),
                note: "wrote".to_owned(),
            });
        }
        add_module(&mut mod_text, service);
        register(&mut lib_text, service, &lib_rs)?;
    }
    if needs_prost_types(&set.fds) && !cargo_text.contains("prost-types") {
        add_prost_types(&mut cargo_text, &cargo_toml)?;
    }
    for (path, before, after) in [
        (&mod_rs, mod_before, mod_text),
        (&lib_rs, lib_before, lib_text),
        (&cargo_toml, cargo_before, cargo_text),
    ] {
        if before != after {
            changes.push(Change {
                path: path.clone(),
                contents: after.into_bytes(),
                note: "updated".to_owned(),
            });
        }
    }

    for change in &changes {
        write_atomic(&change.path, &change.contents)?;
        println!("{} {}", change.note, rel(project, &change.path));
    }
    for note in &skipped {
        println!("skipped {note}");
    }
    if services.is_empty() {
        println!(
            "{} declares no service; nothing to serve",
            args.proto.display()
        );
    } else if changes.is_empty() {
        println!(
            "nothing to change: every service of {} is already in the project",
            args.proto.display()
        );
    }
    Ok(())
}

fn render_stub(service: &ServiceModel, crate_name: &str) -> Result<String> {
    let source = render::builtin_file(STUB).expect("the stub template is embedded");
    let context = minijinja::context! {
        crate_name => crate_name,
        example => false,
        service => service.to_value(crate_name),
    };
    render::render_str(STUB, source, &context)
}

/// Adds `mod <module>;` and `pub use <module>::<Struct>;` unless present.
fn add_module(text: &mut String, service: &ServiceModel) {
    let module = &service.module;
    let has_mod = text.lines().any(|l| {
        let l = l.trim();
        l == format!("mod {module};")
            || l == format!("pub mod {module};")
            || l == format!("pub(crate) mod {module};")
    });
    if !has_mod {
        insert_sorted(text, "mod ", &format!("mod {module};"));
    }
    if !text.contains(&format!("{module}::{}", service.struct_name)) {
        insert_sorted(
            text,
            "pub use ",
            &format!("pub use {module}::{};", service.struct_name),
        );
    }
}

/// Inserts `line` among the lines starting with `prefix`, in sorted order as rustfmt keeps
/// them; without such lines, at the end.
fn insert_sorted(text: &mut String, prefix: &str, line: &str) {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let group: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with(prefix))
        .collect();
    match group.iter().find(|&&i| lines[i].as_str() > line) {
        Some(&i) => lines.insert(i, line.to_owned()),
        None => match group.last() {
            Some(&last) => lines.insert(last + 1, line.to_owned()),
            None => {
                if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                    lines.push(String::new());
                }
                lines.push(line.to_owned());
            }
        },
    }
    *text = lines.join("\n") + "\n";
}

/// Adds `.add_service(...)` before the `.build()` that ends the app builder in `src/lib.rs`.
fn register(text: &mut String, service: &ServiceModel, lib_rs: &Path) -> Result<()> {
    let server = service.server_path();
    let server_tail = server.trim_start_matches("pb::");
    if text.contains(server_tail) {
        return Ok(());
    }
    let call = format!(
        ".add_service({server}::new(service::{}::new()))",
        service.struct_name
    );
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let anchor = lines
        .iter()
        .rposition(|l| l.contains(".add_service("))
        .or_else(|| {
            lines
                .iter()
                .rposition(|l| l.contains(".file_descriptor_set("))
        });
    let build = anchor.and_then(|a| {
        lines
            .iter()
            .enumerate()
            .skip(a)
            .find(|(_, l)| l.trim_start().starts_with(".build()"))
            .map(|(i, _)| i)
    });
    let Some(build) = build else {
        return Err(Error::NotAProject {
            path: lib_rs.to_path_buf(),
            reason: format!(
                "cannot find the app builder (`.add_service(...)` then `.build()`) to register {}; \
                 add `{call}` to it yourself, then run this again",
                service.full_name()
            ),
        });
    };
    let indent: String = lines[build]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    // Laid out as rustfmt does: arguments wider than 60 columns go on their own lines.
    let handler = format!("service::{}::new()", service.struct_name);
    if server.len() + handler.len() + 6 <= 60 {
        lines.insert(build, format!("{indent}{call}"));
    } else {
        let added = [
            format!("{indent}.add_service({server}::new("),
            format!("{indent}    {handler},"),
            format!("{indent}))"),
        ];
        lines.splice(build..build, added);
    }
    *text = lines.join("\n") + "\n";
    Ok(())
}

fn add_prost_types(text: &mut String, cargo_toml: &Path) -> Result<()> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let Some(i) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("prost ="))
    else {
        return Err(Error::NotAProject {
            path: cargo_toml.to_path_buf(),
            reason: "the proto uses google.protobuf types, which need `prost-types = \"0.14\"` \
                     in [dependencies]; add it, then run this again"
                .to_owned(),
        });
    };
    lines.insert(i + 1, "prost-types = \"0.14\"".to_owned());
    *text = lines.join("\n") + "\n";
    Ok(())
}

fn needs_prost_types(set: &prost_types::FileDescriptorSet) -> bool {
    set.file.iter().any(|f| {
        f.name().starts_with("google/protobuf/")
            && !matches!(
                f.name(),
                "google/protobuf/empty.proto" | "google/protobuf/wrappers.proto"
            )
    })
}

/// The package name in Cargo.toml, as a crate name.
fn crate_name(cargo_toml: &Path) -> Result<String> {
    let text = read(cargo_toml)?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix('='))
        {
            return Ok(value.trim().trim_matches('"').replace('-', "_"));
        }
    }
    Err(Error::NotAProject {
        path: cargo_toml.to_path_buf(),
        reason: "it has no [package] name".to_owned(),
    })
}

fn is_under(file: &Path, dir: &Path) -> bool {
    match (file.canonicalize(), dir.canonicalize()) {
        (Ok(file), Ok(dir)) => file.starts_with(dir),
        _ => false,
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))
}

fn rel(project: &Path, path: &Path) -> String {
    path.strip_prefix(project)
        .unwrap_or(path)
        .display()
        .to_string()
}
