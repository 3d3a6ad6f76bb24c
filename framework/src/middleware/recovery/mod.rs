//! Recovery: a panicking handler answers `INTERNAL` and the server keeps serving.
//!
//! Panics are caught both while the handler's future runs and while a streaming response body is
//! polled; each is logged with its method and counted in `bia_server_panics_total`.

mod body;
mod future;
mod layer;

use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use tower_service::Service;

pub use body::RecoveryBody;
pub use future::RecoveryFuture;
pub use layer::RecoveryLayer;

use super::call_info::method_of;
use crate::telemetry::MetricsRegistry;

/// The recovery middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Recovery<S> {
    inner: S,
    metrics: Option<MetricsRegistry>,
}

impl<S> Recovery<S> {
    /// Wraps `inner`; panics are counted on `metrics` when given.
    pub fn new(inner: S, metrics: Option<MetricsRegistry>) -> Self {
        Self { inner, metrics }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Recovery<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<RecoveryBody<ResBody>>;
    type Error = S::Error;
    type Future = RecoveryFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(&request).name;
        let report = PanicReport {
            method,
            metrics: self.metrics.clone(),
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => RecoveryFuture::running(future, report),
            Err(panic) => {
                report.report(&*panic);
                RecoveryFuture::panicked()
            }
        }
    }
}

/// What a caught panic is reported with.
#[derive(Clone, Debug)]
pub(crate) struct PanicReport {
    method: &'static str,
    metrics: Option<MetricsRegistry>,
}

impl PanicReport {
    pub(crate) fn report(&self, panic: &(dyn std::any::Any + Send)) {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a panic without a message)");
        tracing::error!(
            rpc.method = self.method,
            panic = message,
            "handler panicked; answered INTERNAL"
        );
        if let Some(metrics) = &self.metrics {
            metrics.count_panic(self.method);
        }
    }
}

/// The status a caught panic answers with: no details leak to the client.
pub(crate) fn panic_status() -> tonic::Status {
    tonic::Status::internal("the server failed while handling this call")
}
