//! Compiles the test protos with bia-build (no system protoc is needed), each group into a
//! descriptor set of its own, so the echo server's reflection serves what it did before: the echo
//! proto, the validation protos, and the gateway's (a library with every shape of HTTP rule, and
//! a service whose rule is malformed).

fn main() -> Result<(), bia_build::Error> {
    let groups: [(&[&str], &str, &str); 4] = [
        (
            &["echo/v1/echo.proto"],
            "echo_descriptor.bin",
            "_echo_includes.rs",
        ),
        (
            &["validate/v1/validate.proto", "validate/v1/legacy.proto"],
            "validate_descriptor.bin",
            "validate_pb.rs",
        ),
        (
            &["gateway/v1/library.proto"],
            "gateway_descriptor.bin",
            "_gateway_includes.rs",
        ),
        (
            &["gateway/broken/v1/broken.proto"],
            "broken_descriptor.bin",
            "_broken_includes.rs",
        ),
    ];
    for (files, descriptor_set, include_file) in groups {
        bia_build::Builder::new()
            .proto_dir("proto")
            .files(files.iter().copied())
            .descriptor_set_name(descriptor_set)
            .include_file(include_file)
            .compile()?;
    }
    Ok(())
}
