//! Bia's own OTLP/gRPC span exporter: what an App's batch span processor hands its spans to
//! when `telemetry.otlp.endpoint` is set.
//!
//! Each batch is encoded as an `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`
//! straight from the SDK's `SpanData` into one reused buffer ([`encode`]) and sent as one
//! unary call of `TraceService/Export` over one long-lived tonic channel ([`transport`]).
//!
//! **Why not opentelemetry-otlp**, which the design brief names: its exporter first converts
//! every span into opentelemetry-proto's generated structs (a `Vec` and a `String` per
//! attribute, id and name) and then encodes those. Measured with callgrind on the load
//! harness, that cost 20,000 to 30,000 instructions per exported span, more than a whole unary
//! call costs bare tonic, and it pulled opentelemetry-proto into every service's build. This
//! exporter writes the same bytes with `prost::encoding` and no intermediate structs (see
//! `docs/performance.md` for the figures). opentelemetry-proto remains a dependency of
//! `bia::testing::otlp` only, and the tests decode this exporter's output with it, field by
//! field.
//!
//! **The request path never waits for the collector.** Spans reach the exporter through the
//! SDK's batch processor, whose bounded queue takes a span without blocking and drops it when
//! full. The processor runs the exporter on its own thread; the call itself runs on the App's
//! Tokio runtime, bounded by `telemetry.otlp.timeout`. A failed batch is dropped and reported by
//! one warning that names the endpoint, at most every [`WARN_EVERY`], with the count of spans
//! dropped since the last one; never a line per span or per batch.
//!
//! Beyond `telemetry.otlp.endpoint` (`OTEL_EXPORTER_OTLP_ENDPOINT`) and
//! `telemetry.otlp.timeout`, the exporter honours `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (or else
//! `OTEL_EXPORTER_OTLP_HEADERS`): `key=value` pairs, comma separated, values percent-encoded,
//! sent as metadata with every batch. The batch processor honours `OTEL_BSP_MAX_QUEUE_SIZE`,
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` and `OTEL_BSP_SCHEDULE_DELAY`; where they are unset it uses
//! [`batch_config`]'s sizes. `https://` endpoints are verified against the system's roots.

mod encode;
mod transport;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{BatchConfig, BatchConfigBuilder, SpanData, SpanExporter};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use crate::build_error::BuildError;
use crate::impls::debug_shows;
use encode::EncodedResource;
use transport::{ExportResponse, Transport};

/// How often, at most, failed exports are reported.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(30);

/// Spans the batch processor holds before it drops new ones: at 100,000 spans/s, over 80 ms of
/// a collector that does not answer. Each slot is preallocated (one `SpanData`, 352 bytes on
/// x86_64), so the queue costs about 3 MiB of memory whether used or not.
pub(crate) const MAX_QUEUE_SIZE: usize = 8192;
/// Spans per export call: large enough that a call's fixed cost is small per span, small enough
/// that encoding one batch (about 0.3 ms) does not hold up the core the requests run on.
pub(crate) const MAX_EXPORT_BATCH_SIZE: usize = 512;
/// The longest a span waits for its batch when few spans are made.
pub(crate) const SCHEDULED_DELAY: Duration = Duration::from_secs(1);

/// The batch processor's sizes: [`MAX_QUEUE_SIZE`], [`MAX_EXPORT_BATCH_SIZE`] and
/// [`SCHEDULED_DELAY`], except where the `OTEL_BSP_*` variable says otherwise.
pub(crate) fn batch_config() -> BatchConfig {
    // The SDK's builder starts from the variables; set only what they leave unset.
    let unset = |name: &str| std::env::var_os(name).is_none();
    let mut config = BatchConfigBuilder::default();
    if unset("OTEL_BSP_MAX_QUEUE_SIZE") {
        config = config.with_max_queue_size(MAX_QUEUE_SIZE);
    }
    if unset("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
        config = config.with_max_export_batch_size(MAX_EXPORT_BATCH_SIZE);
    }
    if unset("OTEL_BSP_SCHEDULE_DELAY") {
        config = config.with_scheduled_delay(SCHEDULED_DELAY);
    }
    config.build()
}

/// The exporter; see the [module docs](self).
pub(crate) struct OtlpExporter {
    endpoint: String,
    transport: Transport,
    runtime: tokio::runtime::Handle,
    resource: EncodedResource,
    state: Mutex<State>,
    shut_down: AtomicBool,
}

/// What one export uses and leaves for the next. The SDK never exports concurrently, so the
/// lock is never contended.
struct State {
    /// The request of the batch being sent; its allocation is taken back for the next batch.
    buf: BytesMut,
    last_len: usize,
    failures: Failures,
}

/// Failed exports since the last warning.
#[derive(Default)]
struct Failures {
    last_warning: Option<Instant>,
    batches: u64,
    spans: u64,
    failing: bool,
}

debug_shows!(OtlpExporter { endpoint });

impl OtlpExporter {
    /// An exporter to `endpoint` for spans of `resource`. Call it inside a Tokio runtime: the
    /// exports run on it.
    pub(crate) fn new(
        endpoint: &str,
        timeout: Duration,
        resource: &Resource,
    ) -> Result<Self, BuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            BuildError::new(format!(
                "telemetry.otlp.endpoint = {endpoint:?}: OTLP export runs on a Tokio runtime; \
                 build the App (or bia::Telemetry) inside one"
            ))
        })?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            transport: Transport::new(endpoint, timeout, headers_from_env()?)?,
            runtime,
            resource: EncodedResource::new(resource),
            state: Mutex::new(State {
                buf: BytesMut::new(),
                last_len: 0,
                failures: Failures::default(),
            }),
            shut_down: AtomicBool::new(false),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes how a batch of `spans` spans fared; failures are counted and reported at most
    /// every [`WARN_EVERY`].
    fn record(&self, spans: usize, result: Result<ExportResponse, String>) -> OTelSdkResult {
        let mut state = self.state();
        let failures = &mut state.failures;
        let (rejected, why) = match result {
            Ok(answer) => match answer.partial_success {
                Some(partial) if partial.rejected_spans > 0 => (
                    u64::try_from(partial.rejected_spans).unwrap_or(0),
                    format!("the collector rejected spans: {}", partial.error_message),
                ),
                _ => {
                    if std::mem::take(&mut failures.failing) {
                        tracing::info!(
                            target: "bia::telemetry::otlp",
                            endpoint = %self.endpoint,
                            "OTLP span export works again"
                        );
                    }
                    return Ok(());
                }
            },
            Err(why) => (spans as u64, why),
        };
        failures.failing = true;
        failures.batches += 1;
        failures.spans += rejected;
        let now = Instant::now();
        if failures
            .last_warning
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY)
        {
            tracing::warn!(
                target: "bia::telemetry::otlp",
                endpoint = %self.endpoint,
                dropped_spans = failures.spans,
                failed_batches = failures.batches,
                "OTLP span export to {} failed, spans dropped: {why} (the next report of \
                 failures comes in {}s at the earliest)",
                self.endpoint,
                WARN_EVERY.as_secs(),
            );
            failures.last_warning = Some(now);
            failures.batches = 0;
            failures.spans = 0;
        }
        Err(OTelSdkError::InternalFailure(format!(
            "OTLP span export to {} failed: {why}",
            self.endpoint
        )))
    }
}

impl SpanExporter for OtlpExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let spans = batch.len();
        // Encoded here, on the batch processor's thread, not on a runtime worker.
        let body = (!self.shut_down.load(Ordering::Acquire)).then(|| {
            let mut state = self.state();
            // Takes back the last request's allocation once its bytes were sent and dropped.
            let last_len = state.last_len;
            state.buf.reserve(last_len);
            encode::request(&mut state.buf, &self.resource, &batch);
            state.last_len = state.buf.len();
            state.buf.split().freeze()
        });
        drop(batch);
        async move {
            let Some(body) = body else {
                return Err(OTelSdkError::AlreadyShutdown);
            };
            let transport = self.transport.clone();
            let sent = self
                .runtime
                .spawn(async move { transport.export(body).await })
                .await;
            let result = match sent {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(status)) => Err(describe(&status)),
                Err(_) => Err("the App's Tokio runtime has stopped".to_owned()),
            };
            self.record(spans, result)
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Every export completes before the next starts: nothing is left to send.
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}

fn describe(status: &tonic::Status) -> String {
    if status.message().is_empty() {
        format!("{:?}", status.code())
    } else {
        format!("{:?}: {}", status.code(), status.message())
    }
}

/// The metadata of `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`.
fn headers_from_env() -> Result<MetadataMap, BuildError> {
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ] {
        if let Ok(value) = std::env::var(name) {
            return parse_headers(name, &value);
        }
    }
    Ok(MetadataMap::new())
}

/// `key1=value1,key2=value2` with percent-encoded values, as the OTLP exporter specification
/// has it. Values can be credentials: an error names the key, never the value.
fn parse_headers(variable: &str, list: &str) -> Result<MetadataMap, BuildError> {
    let mut metadata = MetadataMap::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(BuildError::new(format!(
                "{variable}: an entry has no '=': write key=value pairs separated by commas"
            )));
        };
        let key = key.trim();
        let name = MetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes()).map_err(|_| {
            BuildError::new(format!(
                "{variable}: {key:?} is not a valid header name (letters, digits, '-', '_', '.')"
            ))
        })?;
        let decoded = percent_encoding::percent_decode_str(value.trim()).decode_utf8_lossy();
        let value = MetadataValue::try_from(decoded.as_ref()).map_err(|_| {
            BuildError::new(format!(
                "{variable}: the value of {key:?} is not a valid header value (no control \
                 characters or line breaks, once percent-decoded)"
            ))
        })?;
        metadata.append(name, value);
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_pairs_with_percent_encoded_values() {
        let metadata = parse_headers("V", " api-key = se%20cret , X-Tenant=a=b,").unwrap();
        assert_eq!(metadata.get("api-key").unwrap(), "se cret");
        assert_eq!(metadata.get("x-tenant").unwrap(), "a=b");
        assert_eq!(metadata.len(), 2);
    }

    #[test]
    fn a_bad_header_says_which_and_hides_the_value() {
        let err = parse_headers("OTEL_EXPORTER_OTLP_HEADERS", "token").unwrap_err();
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_HEADERS"),
            "{err}"
        );
        assert!(err.to_string().contains("key=value"), "{err}");
        let err = parse_headers("V", "bad key=secret-value").unwrap_err();
        assert!(err.to_string().contains("\"bad key\""), "{err}");
        assert!(!err.to_string().contains("secret-value"), "{err}");
        let err = parse_headers("V", "k=line%0Abreak-secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
