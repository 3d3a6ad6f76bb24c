//! Compiles the test protos with bia-build (no system protoc is needed): proto/echo/v1/echo.proto,
//! and the gateway's proto/gateway/v1/library.proto and proto/gateway/broken/v1/broken.proto, each into a descriptor set
//! of its own.

fn main() -> Result<(), bia_build::Error> {
    for (file, name) in [
        ("echo/v1/echo.proto", "echo"),
        ("gateway/v1/library.proto", "gateway"),
        ("gateway/broken/v1/broken.proto", "broken"),
    ] {
        bia_build::Builder::new()
            .proto_dir("proto")
            .files([file])
            .descriptor_set_name(format!("{name}_descriptor.bin"))
            .include_file(format!("_{name}_includes.rs"))
            .compile()?;
    }
    Ok(())
}
