//! The generated code of `gateway.v1.Library` (proto/gateway/v1/library.proto), the service the
//! REST gateway and OpenAPI tests serve. Kept out of `support` so that only those tests compile it.

#[allow(unreachable_pub, dead_code)]
pub mod pb {
    tonic::include_proto!("gateway.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/gateway_descriptor.bin"));
}
