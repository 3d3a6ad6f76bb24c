//! The admin HTTP endpoint: `/metrics` (Prometheus text 0.0.4), `/healthz`, `/readyz`, and
//! `/openapi.json` (the REST API's OpenAPI 3.1 document, made once at start).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::either::Either;

use super::tls::Tls;
use crate::telemetry::MetricsRegistry;

/// How long an admin client may take to finish its TLS handshake.
const TLS_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the App is ready for traffic: set after start, cleared when shutdown begins.
#[derive(Clone, Debug, Default)]
pub(crate) struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub(crate) fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `/openapi.json` answers: the serialized document, or why there is none.
#[derive(Clone, Debug)]
pub(crate) enum OpenApi {
    /// The document, serialized once.
    Document(Bytes),
    /// No document, and why (the gateway is off): said in the 404's body.
    Absent(&'static str),
}

/// Why `/openapi.json` has no document when the gateway is off.
const NO_GATEWAY: &str = "no OpenAPI document: the HTTP gateway is off (server.gateway.enabled = \
     false), so this server answers gRPC only; turn the gateway on to serve REST and its document\n";

impl OpenApi {
    /// What `/openapi.json` serves: `document` with the gRPC port's URL as its server (the
    /// REST API is served there, not on the admin port), serialized once.
    pub(crate) fn new(document: Option<serde_json::Value>, grpc_url: &str) -> Self {
        let Some(mut document) = document else {
            return Self::Absent(NO_GATEWAY);
        };
        document["servers"] = serde_json::json!([{ "url": grpc_url }]);
        let json = serde_json::to_vec_pretty(&document).expect("a JSON value serializes");
        Self::Document(Bytes::from(json))
    }
}

/// Serves the admin endpoint until `stop` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: MetricsRegistry,
    readiness: Readiness,
    openapi: OpenApi,
    tls: Option<Arc<Tls>>,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let metrics = metrics.clone();
                let readiness = readiness.clone();
                let openapi = openapi.clone();
                let service = service_fn(move |request| {
                    let response = respond(&request, &metrics, &readiness, &openapi);
                    async move { Ok::<_, Infallible>(response) }
                });
                let acceptor = tls.as_ref().map(|tls| tls.acceptor());
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let io = match acceptor {
                        None => Either::Left(stream),
                        Some(acceptor) => {
                            match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => Either::Right(stream),
                                _ => return,
                            }
                        }
                    };
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(io), service);
                    if let Err(e) = watcher.watch(connection).await {
                        tracing::debug!(error = %e, "admin connection ended with an error");
                    }
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    // Scrapes are short: give them a moment, never the App's whole drain time.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), graceful.shutdown()).await;
}

fn respond(
    request: &Request<Incoming>,
    metrics: &MetricsRegistry,
    readiness: &Readiness,
    openapi: &OpenApi,
) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    match request.uri().path() {
        "/metrics" => Response::builder()
            .header(header::CONTENT_TYPE, PROMETHEUS_TEXT)
            .body(Full::new(Bytes::from(metrics.render())))
            .expect("static headers are valid"),
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if readiness.get() => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        "/openapi.json" => match openapi {
            // A clone of the one serialized document: a reference count, no copy.
            OpenApi::Document(json) => Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(json.clone()))
                .expect("static headers are valid"),
            OpenApi::Absent(why) => text(StatusCode::NOT_FOUND, why),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /healthz, /readyz or /openapi.json\n",
        ),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_the_grpc_port_as_its_server() {
        let document = serde_json::json!({ "openapi": "3.1.0", "paths": {} });
        let OpenApi::Document(json) = OpenApi::new(Some(document), "http://10.0.0.5:9000") else {
            panic!("a document was given");
        };
        let served: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            served["servers"],
            serde_json::json!([{ "url": "http://10.0.0.5:9000" }])
        );
        assert_eq!(served["openapi"], "3.1.0");
    }

    #[test]
    fn without_a_document_the_answer_says_how_to_get_one() {
        let OpenApi::Absent(why) = OpenApi::new(None, "http://127.0.0.1:9000") else {
            panic!("no document was given");
        };
        assert!(why.contains("server.gateway.enabled = false"), "{why}");
    }
}
