//! REST/JSON transcoding: a request that matches a method's `google.api.http` rule becomes a
//! call of that method through the bridge, and its answer becomes JSON.
//!
//! The request message is made of, in this order: the body (`body: "*"` the whole message,
//! `body: "field"` that field), the path variables, and the query parameters for the fields
//! neither sets (`?page_size=10&filter.state=ACTIVE&tags=a&tags=b`). A unary answer is the
//! response message as JSON (or its `response_body` field); a server stream is
//! newline-delimited JSON, or Server-Sent Events when the request accepts `text/event-stream`.
//! A failed call answers the HTTP status of its code with a `google.rpc.Status` JSON body.

mod field;
mod request;
mod response;

use std::sync::Arc;

use http::uri::PathAndQuery;
use hyper::body::Incoming;
use prost_reflect::DescriptorPool;

use super::bridge::Bridge;
use super::dispatch::GatewayResponse;
use super::rule::HttpRule;
use super::status::{error_response, error_response_with};
use super::template::RequestPath;
use crate::middleware::method::{MethodInfo, MethodTable, RpcKind};

/// A rule of a method this server serves, with what calling it needs.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) rule: HttpRule,
    pub(crate) method: &'static MethodInfo,
    /// `/package.Service/Method`, made once.
    pub(crate) grpc_path: PathAndQuery,
}

/// Every route of a server, the most specific first.
#[derive(Debug, Default)]
pub(crate) struct RestRoutes {
    routes: Vec<Route>,
}

/// What a request's method and path find.
pub(crate) enum Found<'a> {
    Route(&'a Route),
    /// The path matches rules of other HTTP methods only.
    OtherMethods(Vec<&'a http::Method>),
    Nothing,
}

impl RestRoutes {
    /// The routes of `rules`, each for a method of `table`. Two rules that match the same
    /// requests are an error naming both.
    pub(crate) fn new(rules: Vec<HttpRule>, table: &MethodTable) -> Result<Self, String> {
        let mut routes: Vec<Route> = Vec::with_capacity(rules.len());
        for rule in rules {
            let name = format!(
                "/{}/{}",
                rule.method().parent_service().full_name(),
                rule.method().name()
            );
            if let Some(other) = routes.iter().find(|r| {
                r.rule.http_method() == rule.http_method()
                    && r.rule.template().same_shape(rule.template())
            }) {
                return Err(format!(
                    "the google.api.http rules `{} {}` of {} and `{} {}` of {} match the same \
                     requests; change one of the paths",
                    other.rule.http_method(),
                    other.rule.template().text(),
                    other.method.name,
                    rule.http_method(),
                    rule.template().text(),
                    &name[1..],
                ));
            }
            let method = table.lookup(&name);
            let grpc_path = PathAndQuery::try_from(name.as_str())
                .map_err(|e| format!("the method path {name} is not a valid URI path: {e}"))?;
            routes.push(Route {
                rule,
                method,
                grpc_path,
            });
        }
        // Stable: among equally specific rules the first declared wins.
        routes.sort_by_key(|r| r.rule.template().specificity());
        Ok(Self { routes })
    }

    /// The route for `method` and `path`. Walks the routes in order; each check compares
    /// segments in place, without allocating.
    pub(crate) fn find<'a>(&'a self, method: &http::Method, path: &RequestPath<'_>) -> Found<'a> {
        let mut others = Vec::new();
        for route in &self.routes {
            if !route.rule.template().matches(path) {
                continue;
            }
            if route.rule.http_method() == method {
                return Found::Route(route);
            }
            if !others.contains(&route.rule.http_method()) {
                others.push(route.rule.http_method());
            }
        }
        if others.is_empty() {
            Found::Nothing
        } else {
            Found::OtherMethods(others)
        }
    }

    /// Whether there are any routes.
    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// What serving REST needs: the routes, the descriptors and the limits.
#[derive(Debug)]
pub(crate) struct Rest {
    pub(crate) routes: RestRoutes,
    pub(crate) pool: DescriptorPool,
    pub(crate) table: Arc<MethodTable>,
    /// `server.grpc.max_message_bytes`: the largest request body read.
    pub(crate) max_body: usize,
}

impl Rest {
    /// Answers `request`, calling its method through `bridge` when a rule matches.
    pub(crate) async fn serve(
        &self,
        request: http::Request<Incoming>,
        bridge: &Bridge,
    ) -> GatewayResponse {
        let (parts, body) = request.into_parts();
        let uri = parts.uri.clone();
        let path = RequestPath::new(uri.path());
        let route = match self.routes.find(&parts.method, &path) {
            Found::Route(route) => route,
            Found::OtherMethods(methods) => {
                return self.wrong_method(&parts.method, uri.path(), &methods);
            }
            Found::Nothing => return self.no_route(&parts.method, uri.path()),
        };
        if matches!(
            route.method.kind,
            RpcKind::ClientStreaming | RpcKind::BidiStreaming
        ) {
            let status = tonic::Status::unimplemented(format!(
                "{} streams requests, and a REST call carries one message: call it with gRPC, \
                 gRPC-Web or Connect streaming",
                route.method.name
            ));
            return error_response(&status, &self.pool);
        }
        let call = request::build(self, route, &path, parts, body).await;
        let sse = call.accepts_event_stream;
        let refused_with = call.refused_with;
        let answer = bridge.call(call.request).await;
        if route.method.kind == RpcKind::ServerStreaming {
            response::stream(self, route, answer, sse, refused_with).await
        } else {
            response::unary(self, route, answer, refused_with).await
        }
    }

    /// The answer for a failed call: the HTTP status of its code, or the refusal's own status
    /// when the stack answered with the refusal's code (and not, say, `UNAUTHENTICATED`).
    fn failed(
        &self,
        status: &tonic::Status,
        refused_with: Option<(tonic::Code, http::StatusCode)>,
    ) -> GatewayResponse {
        match refused_with {
            Some((code, http_status)) if code == status.code() => {
                error_response_with(http_status, status, &self.pool)
            }
            _ => error_response(status, &self.pool),
        }
    }

    fn wrong_method(
        &self,
        method: &http::Method,
        path: &str,
        methods: &[&http::Method],
    ) -> GatewayResponse {
        let allowed: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        let status = tonic::Status::unimplemented(format!(
            "{method} {path} is not served; this path takes {}",
            allowed.join(", ")
        ));
        let mut response =
            error_response_with(http::StatusCode::METHOD_NOT_ALLOWED, &status, &self.pool);
        if let Ok(allow) = http::HeaderValue::try_from(allowed.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        response
    }

    fn no_route(&self, method: &http::Method, path: &str) -> GatewayResponse {
        if self.table.lookup(path).kind != RpcKind::Unknown {
            // A gRPC method's own path with a content type no protocol here speaks.
            let status = tonic::Status::invalid_argument(format!(
                "{path} is a gRPC method: send it with content-type application/grpc \
                 (or application/grpc-web, or Connect's application/json or application/proto)"
            ));
            return error_response_with(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &status,
                &self.pool,
            );
        }
        let hint = if self.routes.is_empty() {
            "this server has no google.api.http rules"
        } else {
            "no google.api.http rule of this server matches it"
        };
        let status = tonic::Status::not_found(format!("no route for {method} {path}: {hint}"));
        error_response(&status, &self.pool)
    }
}
