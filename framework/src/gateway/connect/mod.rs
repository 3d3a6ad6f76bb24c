//! The Connect protocol (<https://connectrpc.com/docs/protocol>) on the gRPC port.
//!
//! Which requests are Connect's (checked in this order, after gRPC-Web):
//!
//! - `POST` with `application/connect+proto` or `application/connect+json`: a stream
//!   ([`stream`]), for every kind of method (Connect clients use it for the streaming ones);
//! - `POST` with `application/proto` or `application/json` to the path of a unary method,
//!   `/pkg.Service/Method`: a unary call ([`unary`]); the same content types on any other path
//!   are left to REST;
//! - `GET` of a method's path with an `encoding` query parameter: a unary call whose message is
//!   in the query ([`get`]), allowed for methods with `idempotency_level = NO_SIDE_EFFECTS`.
//!
//! Every call goes through the [`Bridge`], so it meets the same layers and handler as gRPC.

mod codec;
mod compress;
mod envelope;
mod error;
mod get;
mod headers;
mod stream;
mod unary;

use std::collections::HashMap;

use http::uri::PathAndQuery;
use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor, Value};

use super::bridge::Bridge;
use super::dispatch::GatewayResponse;
use codec::Codec;

/// The Connect side of a server's gateway: its methods by path, looked up per request.
#[derive(Debug)]
pub(crate) struct Connect {
    methods: HashMap<Box<str>, Method>,
    /// `server.grpc.max_message_bytes`: the largest message, compressed or not.
    max_message_bytes: usize,
}

/// What Connect needs to know of one method.
#[derive(Debug)]
struct Method {
    path: PathAndQuery,
    input: MessageDescriptor,
    output: MessageDescriptor,
    /// Whether the client sends a stream (client and bidi streaming).
    client_streaming: bool,
    /// Whether the server answers with a stream.
    server_streaming: bool,
    /// `idempotency_level = NO_SIDE_EFFECTS`: callable with GET.
    no_side_effects: bool,
}

/// How a Connect request is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Unary(Codec),
    Stream(Codec),
    Get,
}

/// A request that is Connect's, and the method it calls (`None`: a path this server has no
/// method at).
#[derive(Debug)]
pub(crate) struct Route<'a> {
    method: Option<&'a Method>,
    form: Form,
}

impl Connect {
    /// The methods of every service in `pool`.
    pub(crate) fn new(pool: &DescriptorPool, max_message_bytes: usize) -> Self {
        let methods = pool
            .services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .filter_map(|method| {
                let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
                let entry = Method {
                    path: PathAndQuery::try_from(path.as_str()).ok()?,
                    input: method.input(),
                    output: method.output(),
                    client_streaming: method.is_client_streaming(),
                    server_streaming: method.is_server_streaming(),
                    no_side_effects: has_no_side_effects(&method),
                };
                Some((path.into_boxed_str(), entry))
            })
            .collect();
        Self {
            methods,
            max_message_bytes,
        }
    }

    /// Whether `request` is Connect's, and how.
    pub(crate) fn route<B>(&self, request: &http::Request<B>) -> Option<Route<'_>> {
        let method = self.methods.get(request.uri().path());
        if request.method() == http::Method::GET {
            let query = request.uri().query()?;
            let is_connect = query
                .split('&')
                .any(|pair| pair.starts_with("encoding=") || pair == "connect=v1");
            return (is_connect && method.is_some()).then_some(Route {
                method,
                form: Form::Get,
            });
        }
        if request.method() != http::Method::POST {
            return None;
        }
        let content_type = request.headers().get(http::header::CONTENT_TYPE)?;
        let content_type = content_type.as_bytes();
        // `; charset=utf-8` may follow; Connect allows no other parameter.
        let essence = content_type
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if let Some(codec) = essence.strip_prefix(b"application/connect+") {
            let codec = Codec::from_name(codec)?;
            return Some(Route {
                method,
                form: Form::Stream(codec),
            });
        }
        let codec = Codec::from_name(essence.strip_prefix(b"application/")?)?;
        // A JSON POST elsewhere may be a REST call; a proto one to no method is still Connect.
        if method.is_none() && codec == Codec::Json {
            return None;
        }
        Some(Route {
            method,
            form: Form::Unary(codec),
        })
    }

    /// Answers a request that [`route`](Self::route) found to be Connect's.
    pub(crate) async fn serve<B>(
        &self,
        bridge: &Bridge,
        route: Route<'_>,
        request: http::Request<B>,
    ) -> GatewayResponse
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
        B::Error: Into<crate::error::BoxError>,
    {
        let Some(method) = route.method else {
            let status = tonic::Status::unimplemented(format!(
                "this server has no method {}: Connect calls POST /package.Service/Method",
                request.uri().path()
            ));
            return unary::error_response(&status, None);
        };
        let call = Call {
            bridge,
            method,
            max_message_bytes: self.max_message_bytes,
        };
        match route.form {
            Form::Unary(codec) => call.unary(codec, request).await,
            Form::Get => call.get(request).await,
            Form::Stream(codec) => call.stream(codec, request).await,
        }
    }
}

/// One Connect call of `method` through `bridge`.
struct Call<'a> {
    bridge: &'a Bridge,
    method: &'a Method,
    max_message_bytes: usize,
}

/// Whether the method says `option idempotency_level = NO_SIDE_EFFECTS`.
fn has_no_side_effects(method: &MethodDescriptor) -> bool {
    const NO_SIDE_EFFECTS: i32 = 1;
    matches!(
        method
            .options()
            .get_field_by_name("idempotency_level")
            .as_deref(),
        Some(Value::EnumNumber(NO_SIDE_EFFECTS))
    )
}

/// The authority the client addressed: the URI's (HTTP/2) or the `Host` header's (HTTP/1.1).
fn authority(uri: &http::Uri, headers: &http::HeaderMap) -> Option<http::uri::Authority> {
    uri.authority().cloned().or_else(|| {
        let host = headers.get(http::header::HOST)?;
        http::uri::Authority::try_from(host.as_bytes()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect() -> Connect {
        let pool = DescriptorPool::decode(tonic_health::pb::FILE_DESCRIPTOR_SET).unwrap();
        Connect::new(&pool, 1024)
    }

    fn request(method: &str, uri: &str, content_type: Option<&str>) -> http::Request<()> {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(()).unwrap()
    }

    fn form(connect: &Connect, request: &http::Request<()>) -> Option<(bool, Form)> {
        connect
            .route(request)
            .map(|route| (route.method.is_some(), route.form))
    }

    const CHECK: &str = "/grpc.health.v1.Health/Check";

    #[test]
    fn requests_are_told_apart_by_content_type_and_path() {
        let connect = connect();
        let cases = [
            (
                "POST",
                CHECK,
                Some("application/json"),
                Some((true, Form::Unary(Codec::Json))),
            ),
            (
                "POST",
                CHECK,
                Some("application/json; charset=utf-8"),
                Some((true, Form::Unary(Codec::Json))),
            ),
            (
                "POST",
                CHECK,
                Some("application/proto"),
                Some((true, Form::Unary(Codec::Proto))),
            ),
            (
                "POST",
                CHECK,
                Some("application/connect+proto"),
                Some((true, Form::Stream(Codec::Proto))),
            ),
            (
                "POST",
                CHECK,
                Some("application/connect+json"),
                Some((true, Form::Stream(Codec::Json))),
            ),
            (
                "GET",
                "/grpc.health.v1.Health/Check?connect=v1&encoding=json&message=%7B%7D",
                None,
                Some((true, Form::Get)),
            ),
            // REST's: a JSON POST elsewhere, a GET without Connect's query, other methods.
            ("POST", "/v1/users", Some("application/json"), None),
            ("GET", CHECK, None, None),
            ("GET", "/v1/users?encoding=json", None, None),
            ("PUT", CHECK, Some("application/json"), None),
            ("POST", CHECK, Some("text/plain"), None),
            ("POST", CHECK, Some("application/connect+xml"), None),
            // Connect's, though no method is there: answered `unimplemented`.
            (
                "POST",
                "/no.Such/Method",
                Some("application/proto"),
                Some((false, Form::Unary(Codec::Proto))),
            ),
            (
                "POST",
                "/no.Such/Method",
                Some("application/connect+json"),
                Some((false, Form::Stream(Codec::Json))),
            ),
        ];
        for (method, uri, content_type, expected) in cases {
            let request = request(method, uri, content_type);
            assert_eq!(
                form(&connect, &request),
                expected,
                "{method} {uri} {content_type:?}"
            );
        }
    }

    #[test]
    fn methods_know_their_kind_and_side_effects() {
        let connect = connect();
        let check = &connect.methods[CHECK];
        assert!(!check.client_streaming && !check.server_streaming && !check.no_side_effects);
        assert_eq!(check.input.full_name(), "grpc.health.v1.HealthCheckRequest");
        let watch = &connect.methods["/grpc.health.v1.Health/Watch"];
        assert!(watch.server_streaming && !watch.client_streaming);
    }
}
