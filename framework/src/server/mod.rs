//! The servers an App runs: gRPC (tonic, with health and reflection) and the admin HTTP endpoint.

pub(crate) mod admin;
mod connection;
pub(crate) mod drain;
pub(crate) mod grpc;
mod quiet;
mod router;
mod send_budget;
mod slow_readers;
mod stack;
mod stall;
pub(crate) mod tls;
mod trailers;
mod watchdog;
mod write_watch;

pub(crate) use router::RouterBuilder;
pub use router::{Router, RouterFuture};
pub use stack::{
    BoxGrpcService, DefaultLayers, DefaultStack, GrpcHttpService, Handlers, Layered, LayeredFuture,
    ServerObservers,
};
pub(crate) use stack::{UserLayers, box_grpc};
