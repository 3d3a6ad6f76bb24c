//! Compiles the test proto (proto/echo/v1/echo.proto) with protox: no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/echo/v1/echo.proto";
    println!("cargo:rerun-if-changed={proto}");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let fds = protox::compile([proto], ["proto"])?;
    std::fs::write(
        out.join("echo_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
