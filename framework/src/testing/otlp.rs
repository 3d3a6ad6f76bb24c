//! An in-process OTLP trace collector for tests, built from the official opentelemetry-proto
//! definitions: point an App's `telemetry.otlp.endpoint` at it and assert on the spans it
//! receives, as Jaeger would receive them.
//!
//! ```no_run
//! # async fn demo() {
//! let (collector, endpoint) = bia::testing::otlp::Collector::start().await;
//! let config = bia::testing::config_with(
//!     "my-service",
//!     &format!("[telemetry.otlp]\nendpoint = \"{endpoint}\"\n"),
//! );
//! // ... start an App with `config`, call it, stop it (stopping flushes the spans) ...
//! let spans = collector.spans();
//! // Or every field of every request, as the official protos decode them:
//! let requests = collector.requests();
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The official OTLP types the collector decodes into (opentelemetry-proto's), for reading
/// [`Collector::requests`] without depending on opentelemetry-proto yourself.
pub use opentelemetry_proto::tonic as proto;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use tonic::{Request, Response, Status};

/// One received span, flattened for assertions.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// `service.name` of the resource that sent it.
    pub service: String,
    /// The span name, e.g. `user.v1.UserService/GetUser`.
    pub name: String,
    /// SERVER, CLIENT, ...
    pub kind: SpanKind,
    /// 16 bytes.
    pub trace_id: Vec<u8>,
    /// 8 bytes.
    pub span_id: Vec<u8>,
    /// 8 bytes, or empty for a root span.
    pub parent_span_id: Vec<u8>,
    /// Attributes, their values rendered as text.
    pub attributes: HashMap<String, String>,
    /// The span status code: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
}

impl ReceivedSpan {
    /// The value of attribute `key`, as text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// The collector: a tonic OTLP TraceService on loopback that keeps every request it receives.
#[derive(Clone, Default)]
pub struct Collector {
    // Kept as received: flattening a span costs a map and strings, which only tests that read
    // it should pay (a load test's collector receives hundreds of thousands).
    requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

impl Collector {
    /// Starts the collector on loopback; returns it and its endpoint URL.
    pub async fn start() -> (Self, String) {
        let collector = Self::default();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("binds a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .expect("the test collector serves");
        });
        (collector, format!("http://{addr}"))
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut spans = Vec::new();
        for request in requests.iter() {
            flatten(request, &mut spans);
        }
        spans
    }

    /// How many spans were received so far (without flattening them).
    pub fn span_count(&self) -> usize {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }

    /// Every export request received so far, as opentelemetry-proto decoded it: every field
    /// of every span, its resource and its scope.
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The first span received with this name and kind.
    pub fn span_named(&self, name: &str, kind: SpanKind) -> Option<ReceivedSpan> {
        self.spans()
            .into_iter()
            .find(|s| s.name == name && s.kind == kind)
    }
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn flatten(request: &ExportTraceServiceRequest, spans: &mut Vec<ReceivedSpan>) {
    for resource_spans in &request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .map(|kv| text(&kv.value))
            .unwrap_or_default();
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                spans.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name.clone(),
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    trace_id: span.trace_id.clone(),
                    span_id: span.span_id.clone(),
                    parent_span_id: span.parent_span_id.clone(),
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.clone(), text(&kv.value)))
                        .collect(),
                    status_code: span.status.as_ref().map_or(0, |s| s.code),
                });
            }
        }
    }
}
