//! gRPC handlers: one file per proto service, each implementing the trait tonic generates.
//! Handlers turn requests into calls to [`crate::biz`] and its answers into responses.
//!
//! `bia proto server` owns this file and writes it whole when it adds a service: put your
//! code in the handler files (they are never overwritten), and build what handlers need in
//! [`crate::biz::UseCases`].

mod user_service;

pub use user_service::UserService;

/// Adds a gRPC server for each handler of this folder to `builder`, every handler made
/// from the same `use_cases`.
pub fn register(builder: bia::AppBuilder, use_cases: &crate::biz::UseCases) -> bia::AppBuilder {
    builder.add_service(
        crate::pb::user::v1::user_service_server::UserServiceServer::new(UserService::new(
            use_cases,
        )),
    )
}
