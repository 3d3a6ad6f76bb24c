//! The layer of [`Deadline`](super::Deadline).

use std::sync::Arc;
use std::time::Duration;

use crate::impls::layer_wraps;

use super::Deadline;
use crate::config::GrpcServerConfig;
use crate::middleware::method::MethodTable;

/// Applies [`Deadline`] with the server's caps: `default_timeout` for unary calls,
/// `stream_timeout` for streams, and per-method overrides.
#[derive(Clone, Debug)]
pub struct DeadlineLayer {
    caps: Arc<[Option<Duration>]>,
    fallback: Option<Duration>,
}

impl DeadlineLayer {
    /// Every call gets at most `default_timeout`, and exactly that when the client sends none
    /// (the rule for unary calls, here applied to every method).
    pub fn new(default_timeout: Duration) -> Self {
        Self {
            caps: Arc::from([]),
            fallback: Some(default_timeout),
        }
    }

    /// The caps `config` sets for the methods of `table`: `timeouts` for a listed method, else
    /// `default_timeout` for unary methods and `stream_timeout` for streaming ones.
    pub fn from_config(config: &GrpcServerConfig, table: &MethodTable) -> Self {
        let caps = table
            .methods()
            .iter()
            .map(|method| match config.timeouts.get(method.name) {
                Some(cap) => Some(*cap),
                None if method.kind.is_streaming() => config.stream_timeout,
                None => Some(config.default_timeout),
            })
            .collect();
        Self {
            caps,
            fallback: Some(config.default_timeout),
        }
    }
}

layer_wraps!(DeadlineLayer => Deadline { caps, fallback });
