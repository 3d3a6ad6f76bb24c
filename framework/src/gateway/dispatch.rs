//! Which protocol answers a request that is not gRPC.
//!
//! The connection sends `application/grpc*` requests straight to the server's stack and every
//! other request here. Protocols are told apart by content type and path, in this order:
//!
//! 1. gRPC-Web (`application/grpc-web*`) and Connect (`application/connect+*`, and unary
//!    `application/json` / `application/proto` POSTs to `/pkg.Service/Method`): see the
//!    marked place in [`Gateway::serve`].
//! 2. REST/JSON: a request whose method and path match a `google.api.http` rule.
//! 3. Anything else: 404 with a `google.rpc.Status` JSON body saying so (415 for a gRPC
//!    method's own path sent with a content type no protocol here speaks).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;

use super::Gateway;
use crate::error::BoxError;

/// The body of every gateway response.
pub(crate) type GatewayBody = UnsyncBoxBody<Bytes, BoxError>;

/// A gateway response.
pub(crate) type GatewayResponse = http::Response<GatewayBody>;

/// What the connection waits on for a gateway response.
pub(crate) type GatewayFuture = BoxFuture<'static, GatewayResponse>;

impl Gateway {
    /// Answers one request that is not gRPC. `request` carries the connection's
    /// `TcpConnectInfo` in its extensions.
    pub(crate) fn serve(self: &Arc<Self>, request: http::Request<Incoming>) -> GatewayFuture {
        let gateway = self.clone();
        Box::pin(async move {
            // Connect and gRPC-Web are dispatched here, by content type, before REST.
            gateway.rest(request).await
        })
    }

    async fn rest(&self, request: http::Request<Incoming>) -> GatewayResponse {
        self.setup.rest.serve(request, self.bridge()).await
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: http::StatusCode, body: Bytes) -> GatewayResponse {
    let mut response = http::Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A whole body in one piece.
pub(crate) fn full(bytes: Bytes) -> GatewayBody {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}
