//! Embeds the templates and the workspace's Cargo.lock into the binary, so an installed `bia`
//! needs no source tree, and records where the framework sources are.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("cli/ lives in the workspace")
        .to_path_buf();
    let templates = root.join("templates");
    let lock = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", templates.display());
    println!("cargo:rerun-if-changed={}", lock.display());
    println!(
        "cargo:rustc-env=BIA_FRAMEWORK_DIR={}",
        root.join("framework").display()
    );

    let mut code = String::new();
    code.push_str("/// The files of the embedded templates: (path under templates/, contents).\n");
    code.push_str("pub(crate) static TEMPLATE_FILES: &[(&str, &str)] = &[\n");
    let mut files = Vec::new();
    collect(&templates, &mut files);
    files.sort();
    for file in &files {
        let rel = file.strip_prefix(&templates).expect("under templates/");
        let rel = rel
            .to_str()
            .expect("template paths are UTF-8")
            .replace('\\', "/");
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .expect("write to a String");
    }
    code.push_str("];\n\n");
    code.push_str("/// The framework workspace's Cargo.lock, seeding a new project's lock file.\n");
    writeln!(
        code,
        "pub(crate) static WORKSPACE_LOCK: &str = include_str!({:?});",
        lock.display().to_string()
    )
    .expect("write to a String");

    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("embedded.rs");
    fs::write(out, code).expect("write embedded.rs");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("read templates/").path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
