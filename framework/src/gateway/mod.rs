//! HTTP access to the gRPC services, from their descriptors: the OpenAPI document.

pub mod openapi;
