//! gRPC-Web on the gRPC port, binary (`application/grpc-web`, `+proto`) and text
//! (`application/grpc-web-text`, base64), over HTTP/1.1 and HTTP/2.
//!
//! tonic-web does the translation: it turns the request into a plain gRPC request and the
//! response's trailers into the trailer frame gRPC-Web puts at the end of the body (a status
//! answered in the headers stays there, as gRPC-Web's trailers-only form). In between the call
//! goes through the server's whole stack, as the bridge's calls do, so layers and handlers see
//! an ordinary gRPC call. tonic-web no longer does CORS; [`super::cors`] does, for every
//! gateway protocol. gRPC-Web itself has unary and server-streaming calls only.

use http::header::CONTENT_TYPE;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::ServiceExt;
use tower_layer::Layer;

use super::dispatch::{GatewayResponse, full};
use crate::server::BoxGrpcService;

/// The content types tonic-web translates.
const CONTENT_TYPES: [&[u8]; 4] = [
    b"application/grpc-web",
    b"application/grpc-web+proto",
    b"application/grpc-web-text",
    b"application/grpc-web-text+proto",
];

/// gRPC-Web in front of the server's stack; cheap to clone.
#[derive(Clone)]
pub(crate) struct GrpcWeb {
    service: GrpcWebService<BoxGrpcService>,
}

impl std::fmt::Debug for GrpcWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrpcWeb")
    }
}

impl GrpcWeb {
    /// gRPC-Web in front of `service`, the server's whole stack.
    pub(crate) fn new(service: BoxGrpcService) -> Self {
        Self {
            service: GrpcWebLayer::new().layer(service),
        }
    }

    /// Whether `request` says it is gRPC-Web (`application/grpc-web`, `application/grpc-web+…`,
    /// `application/grpc-web-text…`).
    pub(crate) fn accepts<B>(request: &http::Request<B>) -> bool {
        request
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web"))
    }

    /// Answers a gRPC-Web request.
    pub(crate) async fn serve(&self, request: http::Request<Incoming>) -> GatewayResponse {
        let content_type = request.headers().get(CONTENT_TYPE).map(|v| v.as_bytes());
        if !content_type.is_some_and(|t| CONTENT_TYPES.contains(&t)) {
            return unsupported(content_type.unwrap_or_default());
        }
        // The stack's error is `Infallible`: failures are statuses in the response.
        let response = match self.service.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        response.map(|body| body.map_err(Into::into).boxed_unsync())
    }
}

/// 415 for a gRPC-Web codec that is not protobuf (`+json`, say), saying which are served.
fn unsupported(content_type: &[u8]) -> GatewayResponse {
    let text = format!(
        "content-type {} is not served: gRPC-Web here is application/grpc-web, \
         application/grpc-web+proto or application/grpc-web-text (protobuf messages)\n",
        String::from_utf8_lossy(content_type)
    );
    let mut response = http::Response::new(full(text.into()));
    *response.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
