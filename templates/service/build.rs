//! Compiles every .proto under proto/ with protox (a Rust proto compiler: no protoc needed) into
//! tonic servers and clients, and writes the descriptor set that server reflection serves.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let mut protos = Vec::new();
    find_protos(Path::new("proto"), &mut protos)?;
    protos.sort();

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_imports(true)
        .include_source_info(true)
        .open_files(&protos)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Every file, imports included, for reflection (`pb::FILE_DESCRIPTOR_SET`).
    std::fs::write(
        out_dir.join("descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    // Servers, clients and messages, one module per package (the well-known types are not
    // generated: they come from prost-types).
    tonic_prost_build::configure()
        .include_file("pb.rs")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

fn find_protos(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_protos(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}
