//! gRPC handlers: one file per proto service, each implementing the trait tonic generates.
//! Handlers turn requests into calls to [`crate::biz`] and its answers into responses.

mod recommendation_service;

pub use recommendation_service::RecommendationService;
