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
pub(crate) mod dispatch;
pub mod openapi;
pub mod rule;
pub mod template;
#[cfg(test)]
mod testing;

use std::sync::Arc;

use bridge::Bridge;

use crate::build_error::BuildError;
use crate::config::Config;
use crate::middleware::method::MethodTable;

/// What the gateway of an App serves, worked out once when the App is built.
#[derive(Debug)]
pub(crate) struct GatewaySetup {}

impl GatewaySetup {
    /// The gateway's setup from the App's descriptor sets, or `None` when
    /// `server.gateway.enabled` is false.
    pub(crate) fn new(
        config: &Config,
        _descriptor_sets: &[&[u8]],
        _table: &MethodTable,
    ) -> Result<Option<Arc<Self>>, BuildError> {
        if !config.server.gateway.enabled {
            return Ok(None);
        }
        Ok(Some(Arc::new(Self {})))
    }
}

/// The gateway of one running server: what it serves and the bridge into the server's stack.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) struct Gateway {
    #[allow(dead_code)]
    setup: Arc<GatewaySetup>,
    bridge: Bridge,
}

#[allow(dead_code)]
impl Gateway {
    /// A gateway serving `setup` by calling methods through `bridge`.
    pub(crate) fn new(setup: Arc<GatewaySetup>, bridge: Bridge) -> Self {
        Self { setup, bridge }
    }

    /// The bridge into the server's stack.
    pub(crate) fn bridge(&self) -> &Bridge {
        &self.bridge
    }
}
