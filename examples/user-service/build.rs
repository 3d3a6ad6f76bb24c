//! Compiles every .proto under proto/ with protox (a Rust proto compiler: no protoc needed) into
//! tonic servers and clients, and writes the descriptor set that server reflection serves.

fn main() -> Result<(), bia_build::Error> {
    bia_build::compile_protos()
}
