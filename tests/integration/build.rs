//! Compiles the test proto (proto/echo/v1/echo.proto) with bia-build: no system protoc is needed.

fn main() -> Result<(), bia_build::Error> {
    bia_build::Builder::new()
        .proto_dir("proto")
        .files(["echo/v1/echo.proto"])
        .descriptor_set_name("echo_descriptor.bin")
        .compile()
}
