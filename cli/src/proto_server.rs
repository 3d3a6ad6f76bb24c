//! `bia proto server`: add a stub for each service of a proto to an existing project, and
//! register it in `src/service/mod.rs`, which the CLI owns and rewrites whole. Handler files
//! that exist are never replaced, and nothing else of the project's code is touched (only
//! `Cargo.toml` gains `prost-types` when well-known types need it); a second run changes nothing.

use std::path::{Path, PathBuf};

use crate::args::ProtoServerArgs;
use crate::errors::{Error, Result};
use crate::proto_model;
use crate::protos;
use crate::rust_code::{self, Handler};
use crate::staging::write_atomic;

/// One change to make to the project.
#[derive(Debug)]
struct Change {
    path: PathBuf,
    contents: Vec<u8>,
    note: String,
}

/// Runs `bia proto server`.
pub fn run(args: &ProtoServerArgs) -> Result<()> {
    let project = &args.output;
    let mod_rs = project.join(rust_code::SERVICE_MOD);
    let cargo_toml = project.join("Cargo.toml");
    for needed in [&cargo_toml, &mod_rs] {
        if !needed.is_file() {
            return Err(Error::NotAProject {
                path: project.clone(),
                reason: format!(
                    "{} is missing; run this inside a project made by `bia new`, or pass --output DIR",
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
    let serves_nothing = services.is_empty();

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

    let mut handlers = rust_code::read_service_mod(&read(&mod_rs)?)?;
    let registered_before = handlers.len();
    for mut service in services {
        let server = service.server_path();
        let registered = handlers.iter().find(|h| h.server_path == server);
        match registered {
            Some(handler) => service.module.clone_from(&handler.module),
            None if handlers.iter().any(|h| h.module == service.module) => service.qualify(),
            None => {}
        }
        let registered = registered.is_some();
        let stub = project
            .join("src/service")
            .join(format!("{}.rs", service.module));
        if stub.exists() {
            let existing = read(&stub)?;
            let missing: Vec<&str> = service
                .methods()
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
            changes.push(Change {
                path: stub,
                contents: rust_code::stub(&service)?.into_bytes(),
                note: "wrote".to_owned(),
            });
        }
        if !registered {
            handlers.push(Handler::of(&service));
        }
    }
    // Written again only when a handler was added, so a file laid out by another formatter
    // (rustfmt, or prettyplease where rustfmt is missing) is not rewritten for its layout.
    if handlers.len() > registered_before {
        changes.push(Change {
            path: mod_rs.clone(),
            contents: rust_code::service_mod(&handlers)?.into_bytes(),
            note: "updated".to_owned(),
        });
    }
    let cargo_before = read(&cargo_toml)?;
    let mut cargo_text = cargo_before.clone();
    if set.needs_prost_types() && !cargo_text.contains("prost-types") {
        add_prost_types(&mut cargo_text, &cargo_toml)?;
    }
    if cargo_text != cargo_before {
        changes.push(Change {
            path: cargo_toml.clone(),
            contents: cargo_text.into_bytes(),
            note: "updated".to_owned(),
        });
    }

    for change in &changes {
        write_atomic(&change.path, &change.contents)?;
        println!("{} {}", change.note, rel(project, &change.path));
    }
    for note in &skipped {
        println!("skipped {note}");
    }
    if serves_nothing {
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
