//! Telemetry an App owns: its tracer provider (OTLP export), its Prometheus metrics, and the
//! propagators; plus [`init_logging`] for the binary's global log subscriber.
//!
//! State belongs to an App, not to the process, so two Apps in one process (a client service and
//! a server service in a test, say) keep their own `service.name` and their own counts.

pub(crate) mod access_line;
pub mod bridge;
mod log_format;
mod log_queue;
mod logging;
pub(crate) mod metrics;
mod otlp;
pub(crate) mod propagation;
#[cfg(test)]
mod test_support;
mod tracer;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

pub(crate) use log_format::logs_read_context;
pub use logging::{Logging, LoggingGuard, init_logging};
pub use metrics::MetricsRegistry;

use crate::build_error::BuildError;
use crate::config::Config;
use crate::error::BoxError;

/// One App's telemetry handles; cloning is cheap and shares them.
///
/// ```
/// let config = bia::Config::builder("demo").env(false).build().unwrap();
/// let telemetry = bia::Telemetry::new(&config).unwrap();
/// assert_eq!(telemetry.service_name(), "demo");
/// assert!(telemetry.metrics().render().contains("bia_build_info"));
/// ```
#[derive(Clone, Debug)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

struct Inner {
    service_name: String,
    instance_id: String,
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    propagator: TextMapCompositePropagator,
    metrics: MetricsRegistry,
    semconv_dup: bool,
    /// Set when no span is exported: calls then get only span contexts.
    local_spans: Option<tracer::LocalSpans>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("service_name", &self.service_name)
            .field("instance_id", &self.instance_id)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Builds the telemetry of one App from its configuration. Call it inside a Tokio runtime
    /// when an OTLP endpoint is configured (the exporter's channel lives on it).
    pub fn new(config: &Config) -> Result<Self, BuildError> {
        let instance_id = new_instance_id(&config.app.name);
        let provider = tracer::provider(config, &instance_id)?;
        let tracer = provider.tracer("bia");
        let semconv_dup = std::env::var("OTEL_SEMCONV_STABILITY_OPT_IN")
            .map(|v| v.split(',').any(|s| s.trim() == "rpc/dup"))
            .unwrap_or(false);
        Ok(Self {
            inner: Arc::new(Inner {
                service_name: config.app.name.clone(),
                instance_id,
                provider,
                tracer,
                propagator: propagation::propagator(),
                metrics: MetricsRegistry::new(&config.app.version),
                semconv_dup,
                local_spans: config
                    .telemetry
                    .otlp
                    .endpoint
                    .is_none()
                    .then(|| tracer::LocalSpans::new(config)),
            }),
        })
    }

    /// `service.name`.
    pub fn service_name(&self) -> &str {
        &self.inner.service_name
    }

    /// `service.instance.id`: unique per App, so two instances on one host are two registry entries.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The tracer the App's layers create spans with.
    pub fn tracer(&self) -> &SdkTracer {
        &self.inner.tracer
    }

    /// The tracer provider (for a binary that wants to install it globally).
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.inner.provider
    }

    /// The App's Prometheus metrics.
    pub fn metrics(&self) -> &MetricsRegistry {
        &self.inner.metrics
    }

    pub(crate) fn propagator(&self) -> &TextMapCompositePropagator {
        &self.inner.propagator
    }

    /// When this App exports no spans (no OTLP endpoint), what makes its calls' span contexts
    /// instead of the tracer: a span nobody exports need not be built.
    pub(crate) fn local_spans(&self) -> Option<&tracer::LocalSpans> {
        self.inner.local_spans.as_ref()
    }

    /// Whether `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup` asks for the older attributes too.
    pub(crate) fn semconv_dup(&self) -> bool {
        self.inner.semconv_dup
    }

    /// Exports every finished span, waiting at most `timeout`.
    ///
    /// The batch exporter blocks its caller while it exports; doing that on a runtime thread can
    /// deadlock a current-thread runtime, so the flush runs on a blocking thread.
    pub async fn flush(&self, timeout: Duration) -> Result<(), BoxError> {
        let provider = self.inner.provider.clone();
        let flush = tokio::task::spawn_blocking(move || provider.force_flush());
        match tokio::time::timeout(timeout, flush).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("flushing spans failed: {e}").into()),
            Ok(Err(e)) => Err(format!("flushing spans failed: {e}").into()),
            Err(_) => Err(format!("flushing spans took longer than {timeout:?}").into()),
        }
    }
}

fn new_instance_id(service: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("{service}-{host}-{}", &unique[..12])
}
