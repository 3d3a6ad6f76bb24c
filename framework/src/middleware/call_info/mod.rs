//! Call information: which method a request is for, and who sent it, in its extensions.
//!
//! Every Bia layer labels a call with the [`MethodInfo`] it finds in the request's [`CallInfo`],
//! so metrics and spans carry a bounded method name; a request without one (a layer used over a
//! stack that lacks [`CallInfoLayer`]) is labelled `_OTHER`. A Bia server puts this layer
//! outermost; put it first in a stack of your own too.

mod layer;

use crate::impls::wraps_inner;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::transport::server::TcpConnectInfo;
use tower_service::Service;

pub use layer::CallInfoLayer;

use super::method::{MethodInfo, MethodTable, other_method};

/// Typed information about the call being served, in the request's extensions.
///
/// ```
/// # use bia::CallInfo;
/// fn log_call<B>(request: &http::Request<B>) {
///     if let Some(call) = request.extensions().get::<CallInfo>() {
///         tracing::info!(method = call.method.name, peer = ?call.peer, "serving");
///     }
/// }
/// ```
///
/// In a tonic handler, read it from `request.extensions()` the same way.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo {
    /// The method.
    pub method: &'static MethodInfo,
    /// The client's address.
    pub peer: Option<SocketAddr>,
    /// The address the call arrived at.
    pub local: Option<SocketAddr>,
    /// When the call arrived.
    pub start: Instant,
}

/// The call's deadline (the client's `grpc-timeout` capped by the server's default), in the
/// request's extensions when the deadline layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallDeadline(pub Instant);

/// The method of a request: from its [`CallInfo`], else `_OTHER`.
pub(crate) fn method_of<B>(request: &http::Request<B>) -> &'static MethodInfo {
    match request.extensions().get::<CallInfo>() {
        Some(info) => info.method,
        None => other_method(),
    }
}

/// Puts a [`CallInfo`] into each request's extensions; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct CallInfoService<S> {
    inner: S,
    table: Arc<MethodTable>,
}

wraps_inner!(CallInfoService<S>);

impl<S, B> Service<http::Request<B>> for CallInfoService<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let method = self.table.lookup(request.uri().path());
        let connection = request.extensions().get::<TcpConnectInfo>();
        let info = CallInfo {
            method,
            peer: connection.and_then(TcpConnectInfo::remote_addr),
            local: connection.and_then(TcpConnectInfo::local_addr),
            start: Instant::now(),
        };
        request.extensions_mut().insert(info);
        self.inner.call(request)
    }
}
