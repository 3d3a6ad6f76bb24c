//! The Prometheus side of telemetry: a recorder an App owns, and pre-registered RPC instruments.
//!
//! Instruments are registered once per method (and per status code on first use), so recording a
//! call touches a few atomics: no label formatting, no map lookup on the server's hot path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tonic::Code;

use crate::middleware::status::{CODE_COUNT, code_index, code_name};

/// Histogram buckets for call durations, in seconds (5 ms to 10 s).
pub(crate) const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

static METADATA: Metadata<'static> = Metadata::new("bia", Level::INFO, Some("bia"));

/// Which end of a call an instrument measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

impl Side {
    fn duration(self) -> &'static str {
        match self {
            Side::Server => "rpc_server_call_duration_seconds",
            Side::Client => "rpc_client_call_duration_seconds",
        }
    }
    fn active(self) -> &'static str {
        match self {
            Side::Server => "rpc_server_active_calls",
            Side::Client => "rpc_client_active_calls",
        }
    }
}

/// One App's metrics: its own Prometheus recorder and the instruments registered on it.
#[derive(Clone)]
pub struct MetricsRegistry {
    inner: Arc<RegistryInner>,
}

struct RegistryInner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    client_calls: RwLock<HashMap<Box<str>, Arc<CallMetrics>>>,
    panics: Mutex<HashMap<&'static str, Counter>>,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry").finish_non_exhaustive()
    }
}

impl MetricsRegistry {
    /// A registry whose families are described (HELP, TYPE) and carry `bia_build_info`.
    pub(crate) fn new(service_version: &str) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_duration_seconds".into()),
                &DURATION_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let process = metrics_process::Collector::default();
        metrics::with_local_recorder(&recorder, || process.describe());
        describe(&recorder);
        let registry = Self {
            inner: Arc::new(RegistryInner {
                recorder,
                handle,
                process,
                client_calls: RwLock::new(HashMap::new()),
                panics: Mutex::new(HashMap::new()),
            }),
        };
        let build_info = Key::from_parts(
            "bia_build_info",
            vec![
                Label::new("version", env!("CARGO_PKG_VERSION")),
                Label::new("service_version", service_version.to_owned()),
            ],
        );
        registry
            .inner
            .recorder
            .register_gauge(&build_info, &METADATA)
            .set(1.0);
        registry
    }

    /// The Prometheus text exposition (format 0.0.4) of everything recorded, with fresh process figures.
    pub fn render(&self) -> String {
        metrics::with_local_recorder(&self.inner.recorder, || self.inner.process.collect());
        self.inner.handle.render()
    }

    /// Drains histogram samples into their buckets; run periodically so memory stays bounded.
    pub(crate) fn run_upkeep(&self) {
        self.inner.handle.run_upkeep();
    }

    /// The recorder, for a service's own metrics: `metrics::with_local_recorder(registry.recorder(), ..)`.
    pub fn recorder(&self) -> &PrometheusRecorder {
        &self.inner.recorder
    }

    /// Server instruments for one method; streaming methods also count their messages.
    pub(crate) fn server_call(&self, method: &'static str, streaming: bool) -> CallMetrics {
        CallMetrics::new(self.clone(), Side::Server, method, streaming)
    }

    /// Client instruments for a method path, registered on first use.
    pub(crate) fn client_call(&self, path: &str) -> Arc<CallMetrics> {
        if let Some(found) = self
            .inner
            .client_calls
            .read()
            .ok()
            .and_then(|m| m.get(path).cloned())
        {
            return found;
        }
        let mut calls = self
            .inner
            .client_calls
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        calls
            .entry(path.into())
            .or_insert_with(|| {
                let name: &'static str = Box::leak(path.trim_start_matches('/').into());
                // A client does not know a method's kind, so it counts no stream messages.
                Arc::new(CallMetrics::new(self.clone(), Side::Client, name, false))
            })
            .clone()
    }

    /// A counter of `name` with `labels`, registered now (for layers that hold their counters).
    pub(crate) fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        self.inner
            .recorder
            .register_counter(&labelled(name, labels), &METADATA)
    }

    /// A gauge of `name` with `labels`, registered now.
    pub(crate) fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.inner
            .recorder
            .register_gauge(&labelled(name, labels), &METADATA)
    }

    /// Counts a panic caught in a handler.
    pub(crate) fn count_panic(&self, method: &'static str) {
        self.panics(method).increment(1);
    }

    /// The panic counter of `method`, registered (at 0) on first use: a server registers every
    /// method's at start, so the family is on `/metrics` before the first panic.
    pub(crate) fn panics(&self, method: &'static str) -> Counter {
        let mut panics = self.inner.panics.lock().unwrap_or_else(|p| p.into_inner());
        panics
            .entry(method)
            .or_insert_with(|| {
                let key = Key::from_parts(
                    "bia_server_panics_total",
                    vec![Label::new("rpc_method", method)],
                );
                let counter = self.inner.recorder.register_counter(&key, &METADATA);
                // A counter shows only once touched: make it appear at 0.
                counter.increment(0);
                counter
            })
            .clone()
    }
}

fn labelled(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    Key::from_parts(
        name,
        labels
            .iter()
            .map(|(key, value)| Label::new(*key, (*value).to_owned()))
            .collect::<Vec<_>>(),
    )
}

fn describe(recorder: &PrometheusRecorder) {
    let histogram = |name: &'static str, help: &'static str| {
        recorder.describe_histogram(
            KeyName::from_const_str(name),
            Some(Unit::Seconds),
            help.into(),
        )
    };
    let gauge = |name: &'static str, help: &'static str| {
        recorder.describe_gauge(KeyName::from_const_str(name), None, help.into())
    };
    let counter = |name: &'static str, help: &'static str| {
        recorder.describe_counter(KeyName::from_const_str(name), None, help.into())
    };
    histogram(
        "rpc_server_call_duration_seconds",
        "Duration of gRPC calls served, from the request's arrival to the response's end.",
    );
    histogram(
        "rpc_client_call_duration_seconds",
        "Duration of outgoing gRPC calls, from the request to the response's end.",
    );
    gauge("rpc_server_active_calls", "gRPC calls being served now.");
    gauge(
        "rpc_client_active_calls",
        "Outgoing gRPC calls in flight now.",
    );
    counter(
        "rpc_server_stream_messages_sent_total",
        "Messages the server sent on streaming calls.",
    );
    counter(
        "rpc_server_stream_messages_received_total",
        "Messages the server received on streaming calls.",
    );
    counter(
        "bia_server_panics_total",
        "Panics caught in gRPC handlers and answered INTERNAL.",
    );
    counter(
        "bia_server_shed_total",
        "Calls the server refused before running their handler, by method and reason: \
         overload (adaptive shedding, UNAVAILABLE), concurrency (server.grpc.max_concurrent_calls, \
         UNAVAILABLE), rate_limit (server.grpc.rate_limits, RESOURCE_EXHAUSTED).",
    );
    counter(
        "bia_server_slow_reader_cuts_total",
        "What the server did to peers that do not read their responses, by reason: stream_stall \
         (a stream reset after server.grpc.send_stall_timeout), connection_budget (a call ended \
         RESOURCE_EXHAUSTED for server.grpc.max_connection_send_buffer_bytes), socket_stall (a \
         connection closed whose socket took no byte for send_stall_timeout).",
    );
    gauge(
        "bia_server_inflight_limit",
        "The adaptive shedder's limit: unary calls the server can have in flight without queueing \
         (most calls completed per bucket times the lowest bucket latency); 0 until learnt.",
    );
    gauge(
        "bia_server_inflight_calls",
        "Unary calls in flight as the adaptive shedder counts them, sampled once a bucket.",
    );
    gauge(
        "bia_server_overloaded",
        "1 while the adaptive shedder is armed (calls queue, or one was shed within the cooldown), else 0.",
    );
    counter(
        "bia_client_breaker_rejected_total",
        "Outgoing calls the client's circuit breaker (adaptive throttling) rejected locally, by target.",
    );
    gauge(
        "bia_client_breaker_reject_probability",
        "The probability with which the client's circuit breaker rejects a call now, by target.",
    );
    gauge(
        "bia_build_info",
        "Build information: the bia framework's and the service's versions.",
    );
}

/// The instruments of one method on one side of a call.
pub(crate) struct CallMetrics {
    registry: MetricsRegistry,
    side: Side,
    method: &'static str,
    durations: [OnceLock<Histogram>; CODE_COUNT],
    pub(crate) active: Gauge,
    pub(crate) sent: Counter,
    pub(crate) received: Counter,
}

impl CallMetrics {
    fn new(registry: MetricsRegistry, side: Side, method: &'static str, streaming: bool) -> Self {
        let recorder = &registry.inner.recorder;
        let by_method =
            |name: &'static str| Key::from_parts(name, vec![Label::new("rpc_method", method)]);
        let active = recorder.register_gauge(&by_method(side.active()), &METADATA);
        // Only streaming methods get message counters: a unary method's would stay 0 forever.
        let (sent, received) = if streaming {
            (
                recorder.register_counter(
                    &by_method("rpc_server_stream_messages_sent_total"),
                    &METADATA,
                ),
                recorder.register_counter(
                    &by_method("rpc_server_stream_messages_received_total"),
                    &METADATA,
                ),
            )
        } else {
            (Counter::noop(), Counter::noop())
        };
        Self {
            registry,
            side,
            method,
            durations: std::array::from_fn(|_| OnceLock::new()),
            active,
            sent,
            received,
        }
    }

    /// Records a finished call's duration under its status.
    pub(crate) fn record(&self, code: Code, seconds: f64) {
        self.durations[code_index(code)]
            .get_or_init(|| {
                let key = Key::from_parts(
                    self.side.duration(),
                    vec![
                        Label::new("rpc_system_name", "grpc"),
                        Label::new("rpc_method", self.method),
                        Label::new("rpc_response_status_code", code_name(code)),
                    ],
                );
                self.registry
                    .inner
                    .recorder
                    .register_histogram(&key, &METADATA)
            })
            .record(seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_described_histograms_with_buckets() {
        let registry = MetricsRegistry::new("1.2.3");
        let call = registry.server_call("echo.v1.Echo/Say", false);
        call.record(Code::Ok, 0.003);
        call.record(Code::NotFound, 0.2);
        call.active.increment(1.0);
        let text = registry.render();
        assert!(
            text.contains("# TYPE rpc_server_call_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("# HELP rpc_server_call_duration_seconds"),
            "{text}"
        );
        assert!(text.contains(
            "rpc_server_call_duration_seconds_bucket{rpc_system_name=\"grpc\",rpc_method=\"echo.v1.Echo/Say\",rpc_response_status_code=\"OK\",le=\"0.005\"} 1"
        ), "{text}");
        assert!(
            text.contains("rpc_response_status_code=\"NOT_FOUND\""),
            "{text}"
        );
        assert!(
            text.contains("rpc_server_active_calls{rpc_method=\"echo.v1.Echo/Say\"} 1"),
            "{text}"
        );
        assert!(text.contains("bia_build_info{version="), "{text}");
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
    }
}
