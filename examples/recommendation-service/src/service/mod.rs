//! gRPC handlers: one file per proto service, each implementing the trait tonic generates.
//! Handlers turn requests into calls to [`crate::biz`] and its answers into responses.
//!
//! `bia proto server` owns this file and writes it whole when it adds a service: put your
//! code in the handler files (they are never overwritten), and build what handlers need in
//! [`crate::biz::UseCases`].

mod recommendation_service;

pub use recommendation_service::RecommendationService;

/// Adds a gRPC server for each handler of this folder to `builder`, every handler made
/// from the same `use_cases`.
pub fn register(builder: bia::AppBuilder, use_cases: &crate::biz::UseCases) -> bia::AppBuilder {
    builder
        .add_service(crate::pb::recommendation::v1::recommendation_service_server::RecommendationServiceServer::new(RecommendationService::new(use_cases)))
}
