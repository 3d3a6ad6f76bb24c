//! The layer of [`Limit`](super::Limit).

use std::sync::Arc;

use crate::impls::layer_wraps;

use super::{Limit, Limits};
use crate::config::GrpcServerConfig;
use crate::middleware::method::MethodTable;
use crate::telemetry::MetricsRegistry;

/// Applies [`Limit`]. The services it makes share one set of limits (one shedder, one
/// concurrency count, one token bucket per method).
#[derive(Clone, Debug)]
pub struct LimitLayer {
    limits: Arc<Limits>,
}

impl LimitLayer {
    /// Request messages up to `max_message_bytes`; `max_concurrent_calls` handlers at once (0: no
    /// limit). No adaptive shedding and no rate limits: see [`from_config`](Self::from_config).
    pub fn new(max_message_bytes: usize, max_concurrent_calls: usize) -> Self {
        let config = GrpcServerConfig {
            max_message_bytes,
            max_concurrent_calls,
            shedding: crate::config::SheddingConfig {
                enabled: false,
                ..Default::default()
            },
            ..Default::default()
        };
        Self {
            limits: Arc::new(Limits::new(&config, None, None)),
        }
    }

    /// Every limit of `[server.grpc]`: message size, `max_concurrent_calls`, adaptive shedding
    /// (`shedding`) and per-method `rate_limits`, for the methods of `table`, reporting on
    /// `registry` (`bia_server_shed_total`, `bia_server_inflight_limit`, ...).
    pub fn from_config(
        config: &GrpcServerConfig,
        registry: &MetricsRegistry,
        table: &MethodTable,
    ) -> Self {
        Self {
            limits: Arc::new(Limits::new(config, Some(registry), Some(table))),
        }
    }
}

layer_wraps!(LimitLayer => Limit { limits });
