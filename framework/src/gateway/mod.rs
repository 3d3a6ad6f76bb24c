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
//!
//! gRPC requests never come here: the connection sends them straight to the stack, and the
//! gateway costs a gRPC call nothing.

pub(crate) mod bridge;
pub(crate) mod dispatch;
pub mod json;
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
use crate::config::{Config, GatewayConfig};
use crate::middleware::method::MethodTable;

/// What the gateway of an App serves, worked out once when the App is built.
#[derive(Debug)]
pub(crate) struct GatewaySetup {
    rest: rest::Rest,
    /// `[server.gateway]`, for the protocols' CORS.
    config: GatewayConfig,
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
        Ok(Some(Arc::new(Self {
            rest: rest::Rest {
                routes,
                pool,
                table: table.clone(),
                max_body: config.server.grpc.max_message_bytes,
            },
            config: config.server.gateway.clone(),
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
}

impl Gateway {
    /// A gateway serving `setup` by calling methods through `bridge`.
    pub(crate) fn new(setup: Arc<GatewaySetup>, bridge: Bridge) -> Self {
        Self { setup, bridge }
    }

    /// The bridge into the server's stack.
    pub(crate) fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// Every descriptor the App registered, and `google.rpc`'s: message types by name for the
    /// JSON mapping, error details for status bodies.
    #[allow(dead_code)] // Connect and gRPC-Web (branch connect) read it.
    pub(crate) fn pool(&self) -> &DescriptorPool {
        &self.setup.rest.pool
    }

    /// The methods the server serves, by path (`/package.Service/Method`), with their kinds.
    #[allow(dead_code)] // Connect and gRPC-Web (branch connect) read it.
    pub(crate) fn table(&self) -> &MethodTable {
        &self.setup.rest.table
    }

    /// `[server.gateway]`.
    #[allow(dead_code)] // CORS (branch connect) reads it.
    pub(crate) fn config(&self) -> &GatewayConfig {
        &self.setup.config
    }
}
