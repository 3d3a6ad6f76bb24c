//! Compiles the test protos with bia-build: no system protoc is needed. The validation protos
//! get their own descriptor set, so the echo server's reflection serves what it did before.

fn main() -> Result<(), bia_build::Error> {
    bia_build::Builder::new()
        .proto_dir("proto")
        .files(["echo/v1/echo.proto"])
        .descriptor_set_name("echo_descriptor.bin")
        .compile()?;
    bia_build::Builder::new()
        .proto_dir("proto")
        .files(["validate/v1/validate.proto", "validate/v1/legacy.proto"])
        .descriptor_set_name("validate_descriptor.bin")
        .include_file("validate_pb.rs")
        .compile()
}
