//! Compiles `user/v1/user.proto` from the shared examples/proto folder with protox (a Rust proto
//! compiler: no protoc needed) into a tonic server and client, and writes the descriptor set that
//! server reflection serves.

use std::path::PathBuf;

const PROTOS: &[&str] = &["user/v1/user.proto"];
const INCLUDES: &[&str] = &["../proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto");
    // Every file, imports (google/protobuf/*) included, so reflection clients such as grpcurl can
    // resolve every type.
    let fds = protox::compile(PROTOS, INCLUDES)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    // Messages, server and client, one module per package (well-known types come from prost-types).
    tonic_prost_build::configure()
        .include_file("pb.rs")
        .compile_fds(fds)?;
    Ok(())
}
