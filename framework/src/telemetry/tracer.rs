//! The App's tracer provider: OTLP/gRPC batch export when an endpoint is configured.

use opentelemetry::KeyValue;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use crate::build_error::BuildError;
use crate::config::Config;

/// Builds a provider for this App: its resource says who it is; spans are sampled parent-based
/// with the configured ratio for roots, and exported in batches when an endpoint is set.
///
/// Without an endpoint spans are still created (they carry the trace ids that logs and
/// downstream calls need) but go nowhere.
pub(crate) fn provider(
    config: &Config,
    instance_id: &str,
) -> Result<SdkTracerProvider, BuildError> {
    let resource = Resource::builder_empty()
        .with_service_name(config.app.name.clone())
        .with_attributes([
            KeyValue::new("service.version", config.app.version.clone()),
            KeyValue::new("service.instance.id", instance_id.to_owned()),
            KeyValue::new("telemetry.sdk.name", "opentelemetry"),
            KeyValue::new("telemetry.sdk.language", "rust"),
        ])
        .build();
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        config.telemetry.sampler_ratio,
    )));
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler);
    if let Some(endpoint) = &config.telemetry.otlp.endpoint {
        let exporter = SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(config.telemetry.otlp.timeout)
            .build()
            .map_err(|e| {
                BuildError::caused_by(
                    format!(
                        "cannot set up OTLP export to {endpoint} (telemetry.otlp.endpoint, \
                         env OTEL_EXPORTER_OTLP_ENDPOINT)"
                    ),
                    e,
                )
            })?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}
