//! The HTTP gateway: the gRPC port also answers REST/JSON (from `google.api.http` rules),
//! Connect and gRPC-Web, and every such call runs through the server's whole stack as a gRPC
//! call would.
//!
//! - `bridge`: the one way a protocol calls a method (a real gRPC request into the stack).
//! - `dispatch`: which protocol answers a request that is not gRPC.
//! - [`rule`] and [`template`]: the `google.api.http` rules of the served methods, parsed once
//!   at start; public, for tools that describe a service's HTTP API (OpenAPI).
//! - `rest`: REST/JSON transcoding over those rules; `json`: the proto3 JSON mapping that the
//!   gateway, Connect and `bia call` share; `status`: gRPC codes as HTTP statuses and
//!   `google.rpc.Status` JSON bodies.
//! - [`openapi`]: the OpenAPI 3.1 document of the REST API, from the same rules.
//!
//! gRPC requests never come here: the connection sends them straight to the stack, and the
//! gateway costs a gRPC call nothing.

pub(crate) mod bridge;
pub(crate) mod connect;
pub(crate) mod cors;
pub(crate) mod dispatch;
pub(crate) mod grpc_web;
pub mod json;
pub mod openapi;
mod rest;
pub mod rule;
mod status;
pub mod template;
#[cfg(test)]
mod testing;

use std::sync::Arc;

use bridge::Bridge;
use prost_reflect::DescriptorPool;

use crate::build_error::BuildError;
use crate::config::Config;
use crate::middleware::method::MethodTable;

/// What the gateway of an App serves, worked out once when the App is built.
#[derive(Debug)]
pub(crate) struct GatewaySetup {
    rest: rest::Rest,
    /// Connect's methods by path.
    connect: connect::Connect,
    /// `[server.gateway.cors]`; `None` when it allows no origin.
    cors: Option<cors::Cors>,
}

impl GatewaySetup {
    /// The gateway's setup from the App's descriptor sets, or `None` when
    /// `server.gateway.enabled` is false. Fails on a descriptor set prost-reflect cannot read
    /// and on a `google.api.http` rule that cannot be served, naming the method and the rule.
    pub(crate) fn new(
        config: &Config,
        descriptor_sets: &[&[u8]],
        table: &Arc<MethodTable>,
    ) -> Result<Option<Arc<Self>>, BuildError> {
        if !config.server.gateway.enabled {
            return Ok(None);
        }
        let pool = pool(descriptor_sets)?;
        let served = |service: &prost_reflect::ServiceDescriptor| {
            table
                .methods()
                .iter()
                .any(|m| !m.builtin && m.service == service.full_name())
        };
        let rules = rule::rules(&pool, served).map_err(|e| BuildError::new(e.to_string()))?;
        let routes = rest::RestRoutes::new(rules, table).map_err(BuildError::new)?;
        let connect = connect::Connect::new(&pool, config.server.grpc.max_message_bytes);
        let cors = cors::Cors::from_config(&config.server.gateway.cors).map_err(BuildError::new)?;
        Ok(Some(Arc::new(Self {
            rest: rest::Rest {
                routes,
                pool,
                table: table.clone(),
                max_body: config.server.grpc.max_message_bytes,
            },
            connect,
            cors,
        })))
    }
}

/// One pool of every descriptor the App registered, plus `google.rpc`'s error details so that
/// error statuses can be written as JSON.
fn pool(descriptor_sets: &[&[u8]]) -> Result<DescriptorPool, BuildError> {
    let mut pool = DescriptorPool::new();
    for set in descriptor_sets {
        pool.decode_file_descriptor_set(*set).map_err(|e| {
            BuildError::new(format!(
                "the HTTP gateway cannot read a descriptor set given to \
                 AppBuilder::file_descriptor_set: {e} (two services built with different \
                 versions of one .proto file? set server.gateway.enabled = false to serve \
                 gRPC only)"
            ))
        })?;
    }
    let rpc = <prost_types::FileDescriptorSet as prost::Message>::decode(
        tonic_types::pb::FILE_DESCRIPTOR_SET,
    )
    .map_err(|e| BuildError::new(format!("tonic-types' descriptors do not decode: {e}")))?;
    for file in rpc.file {
        // A service's own copy of a google/rpc file, already added, wins.
        if pool.get_file_by_name(file.name()).is_none() {
            let _ = pool.add_file_descriptor_proto(file);
        }
    }
    Ok(pool)
}

/// The gateway of one running server: what it serves and the bridge into the server's stack.
#[derive(Debug)]
pub(crate) struct Gateway {
    setup: Arc<GatewaySetup>,
    bridge: Bridge,
    grpc_web: grpc_web::GrpcWeb,
}

impl Gateway {
    /// A gateway serving `setup` by calling methods through `bridge`.
    pub(crate) fn new(setup: Arc<GatewaySetup>, bridge: Bridge) -> Self {
        let grpc_web = grpc_web::GrpcWeb::new(bridge.service().clone());
        Self {
            setup,
            bridge,
            grpc_web,
        }
    }

    /// The bridge into the server's stack.
    pub(crate) fn bridge(&self) -> &Bridge {
        &self.bridge
    }
}
