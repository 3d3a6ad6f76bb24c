//! The servers an App runs: gRPC (tonic, with health and reflection) and the admin HTTP endpoint.

pub(crate) mod admin;
pub(crate) mod grpc;
pub(crate) mod guard;
mod stack;

pub use stack::BoxGrpcService;
pub(crate) use stack::UserLayers;
