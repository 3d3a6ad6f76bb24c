//! The App's tracer provider: OTLP/gRPC batch export (Bia's own exporter, [`super::otlp`])
//! when an endpoint is configured.

use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt as _, TraceFlags};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, IdGenerator as _, RandomIdGenerator, Sampler, SamplingDecision,
    SdkTracerProvider, ShouldSample as _,
};

use super::otlp::{OtlpExporter, batch_config};

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
    let mut builder = SdkTracerProvider::builder().with_sampler(sampler(config));
    if let Some(endpoint) = &config.telemetry.otlp.endpoint {
        let exporter = OtlpExporter::new(endpoint, config.telemetry.otlp.timeout, &resource)?;
        builder = builder.with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch_config())
                .build(),
        );
    }
    builder = builder.with_resource(resource);
    Ok(builder.build())
}

/// Parent-based, with the configured ratio for roots.
pub(crate) fn sampler(config: &Config) -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        config.telemetry.sampler_ratio,
    )))
}

/// Spans of an App that exports nothing: only their span context (ids and sampling flag, decided
/// as the provider's sampler would), so that log lines and downstream calls carry the same
/// trace as with export on, without building span data that nobody reads.
#[derive(Clone, Debug)]
pub(crate) struct LocalSpans {
    sampler: Sampler,
    ids: RandomIdGenerator,
}

impl LocalSpans {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            sampler: sampler(config),
            ids: RandomIdGenerator::default(),
        }
    }

    /// `parent` with a new span (child of its span, if it has a valid one) as its active span.
    pub(crate) fn start(&self, parent: &Context, name: &str, kind: SpanKind) -> Context {
        parent.with_remote_span_context(self.span_context(parent, name, kind))
    }

    /// A new span's context, child of `parent`'s span if it has a valid one: all a call that
    /// only passes its ids on needs (no context is built around it).
    pub(crate) fn span_context(&self, parent: &Context, name: &str, kind: SpanKind) -> SpanContext {
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        let trace_id = if parent_context.is_valid() {
            parent_context.trace_id()
        } else {
            self.ids.new_trace_id()
        };
        let result = self
            .sampler
            .should_sample(Some(parent), trace_id, name, &kind, &[], &[]);
        let flags = match result.decision {
            SamplingDecision::RecordAndSample => TraceFlags::SAMPLED,
            SamplingDecision::RecordOnly | SamplingDecision::Drop => TraceFlags::default(),
        };
        SpanContext::new(
            trace_id,
            self.ids.new_span_id(),
            parent_context.trace_flags().with_sampled(false) | flags,
            false,
            result.trace_state,
        )
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::SpanId;

    use super::*;
    use crate::telemetry::test_support::sampled_span;

    fn local(ratio: f64) -> LocalSpans {
        let config = Config::builder("local")
            .env(false)
            .set("telemetry.sampler_ratio", ratio)
            .build()
            .unwrap();
        LocalSpans::new(&config)
    }

    #[test]
    fn local_spans_follow_the_parent_and_the_sampler() {
        let parent = Context::new().with_remote_span_context(sampled_span(true));
        let child = local(0.0).start(&parent, "m", SpanKind::Server);
        let child = child.span().span_context().clone();
        assert_eq!(child.trace_id(), parent.span().span_context().trace_id());
        assert_ne!(child.span_id(), parent.span().span_context().span_id());
        assert!(
            child.is_sampled(),
            "a sampled parent decides, whatever the ratio"
        );
        assert!(!child.span_id().eq(&SpanId::INVALID));

        let root = local(1.0).start(&Context::new(), "m", SpanKind::Server);
        assert!(root.span().span_context().is_valid());
        assert!(root.span().span_context().is_sampled());
        let unsampled = local(0.0).start(&Context::new(), "m", SpanKind::Server);
        assert!(unsampled.span().span_context().is_valid());
        assert!(!unsampled.span().span_context().is_sampled());
        assert!(!unsampled.span().is_recording());
    }
}
