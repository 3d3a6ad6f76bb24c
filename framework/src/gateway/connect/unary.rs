//! Unary Connect calls: a bare message in the body (`application/proto` or `application/json`),
//! the answer in the body with HTTP 200, or an error as JSON with the HTTP status of its code.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use http_body_util::BodyExt;

use super::codec::Codec;
use super::compress::{self, Compression};
use super::{Call, authority, error, headers};
use crate::gateway::bridge::{BridgeRequest, RequestMessages, ResponseEvent};
use crate::gateway::dispatch::{GatewayResponse, full};

/// Responses smaller than this go out uncompressed: gzip would cost more than it saves.
pub(super) const COMPRESS_MIN_BYTES: usize = 1024;

/// What a unary call needs of its request once the message is out of the body or the query.
pub(super) struct UnaryParts {
    pub(super) headers: HeaderMap,
    pub(super) extensions: http::Extensions,
    pub(super) authority: Option<http::uri::Authority>,
    /// What the client takes back (`accept-encoding`).
    pub(super) accept: Compression,
}

impl UnaryParts {
    pub(super) fn new(parts: http::request::Parts) -> Self {
        let accept = parts
            .headers
            .get(ACCEPT_ENCODING)
            .map(HeaderValue::as_bytes);
        Self {
            authority: authority(&parts.uri, &parts.headers),
            accept: Compression::negotiate(accept),
            headers: parts.headers,
            extensions: parts.extensions,
        }
    }
}

impl Call<'_> {
    /// A unary POST.
    pub(super) async fn unary<B>(&self, codec: Codec, request: http::Request<B>) -> GatewayResponse
    where
        B: http_body::Body<Data = Bytes> + Unpin,
        B::Error: Into<crate::error::BoxError>,
    {
        if self.method.client_streaming || self.method.server_streaming {
            let status = tonic::Status::unimplemented(format!(
                "{} is a streaming method: call it with content-type application/connect+proto \
                 or application/connect+json",
                &self.method.path.as_str()[1..]
            ));
            return with_status(
                error_response(&status, None),
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            );
        }
        let (parts, body) = request.into_parts();
        let encoding = parts
            .headers
            .get(CONTENT_ENCODING)
            .map(HeaderValue::as_bytes);
        let Some(compression) = Compression::from_name(encoding) else {
            return unsupported_encoding(encoding.unwrap_or_default());
        };
        let parts = UnaryParts::new(parts);
        let message = match read_body(body, self.max_message_bytes).await {
            Ok(body) => compression
                .decompress(body, self.max_message_bytes)
                .map_err(|e| inflate_status(&e)),
            Err(status) => Err(status),
        };
        self.call_unary(codec, message, parts).await
    }

    /// Calls the method with one request `message` (in `codec`) and answers in the unary form.
    /// A request that makes no message (`Err`, a bad protocol header, a message that does not
    /// decode) is still called, as a refusal ([`RequestMessages::Refused`]), so the stack
    /// traces, logs and counts it under its method and answers it.
    pub(super) async fn call_unary(
        &self,
        codec: Codec,
        message: Result<Bytes, tonic::Status>,
        parts: UnaryParts,
    ) -> GatewayResponse {
        let version = headers::check_version(&parts.headers)
            .map_err(|e| tonic::Status::invalid_argument(e.to_string()));
        let (metadata, timeout, message) = match headers::metadata(parts.headers) {
            Ok((metadata, timeout)) => (metadata, timeout, version.and(message)),
            Err(e) => {
                let status = tonic::Status::invalid_argument(e.to_string());
                (HeaderMap::new(), None, Err(status))
            }
        };
        let messages = match message.and_then(|message| {
            codec
                .decode(&self.method.input, message)
                .map_err(tonic::Status::invalid_argument)
        }) {
            Ok(message) => RequestMessages::One(message),
            Err(status) => RequestMessages::Refused(status),
        };
        let mut request = BridgeRequest::new(self.method.path.clone(), messages);
        request.metadata = metadata;
        request.timeout = timeout;
        request.extensions = parts.extensions;
        request.authority = parts.authority;
        let response = self.bridge.call(request).await;
        let mut events = response.messages;
        let mut answer = None;
        let status = loop {
            match events.next().await {
                Some(ResponseEvent::Message(m)) if answer.is_none() => answer = Some(m),
                Some(ResponseEvent::Message(_)) => {
                    break tonic::Status::internal(
                        "the handler of a unary method sent more than one response message",
                    );
                }
                Some(ResponseEvent::End(status)) => break status,
                None => break tonic::Status::internal("the response ended without a status"),
            }
        };
        if status.code() != tonic::Code::Ok {
            return error_response(&status, Some(&response.metadata));
        }
        let Some(answer) = answer else {
            let status = tonic::Status::internal("the handler answered OK without a message");
            return error_response(&status, Some(&response.metadata));
        };
        let body = match codec.encode(&self.method.output, answer) {
            Ok(body) => body,
            Err(e) => return error_response(&tonic::Status::internal(e), Some(&response.metadata)),
        };
        let mut out = http::Response::new(());
        headers::unary_headers(
            out.headers_mut(),
            &response.metadata,
            status.metadata().as_ref(),
        );
        out.headers_mut()
            .insert(CONTENT_TYPE, codec.unary_content_type());
        let body = match parts.accept {
            Compression::Gzip if body.len() >= COMPRESS_MIN_BYTES => {
                out.headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                Compression::Gzip.compress(body)
            }
            _ => body,
        };
        out.map(|()| full(body))
    }
}

/// The whole body, refused once it passes `max` bytes.
pub(super) async fn read_body<B>(mut body: B, max: usize) -> Result<Bytes, tonic::Status>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<crate::error::BoxError>,
{
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            tonic::Status::cancelled(format!("the request body broke off: {}", e.into()))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = first.as_ref().map_or(0, Bytes::len) + rest.len() + data.len();
        if len > max {
            return Err(tonic::Status::resource_exhausted(format!(
                "the request body is over the limit of {max} bytes (server.grpc.max_message_bytes)"
            )));
        }
        // A body in one chunk, the common case, is never copied.
        match &first {
            None if rest.is_empty() => first = Some(data),
            _ => {
                if let Some(first) = first.take() {
                    rest.extend_from_slice(&first);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// A unary error: the HTTP status of its code, the error JSON, and the call's metadata as
/// headers (Connect has no trailers for a failed unary call).
pub(super) fn error_response(
    status: &tonic::Status,
    metadata: Option<&HeaderMap>,
) -> GatewayResponse {
    let mut out = http::Response::new(());
    if let Some(metadata) = metadata {
        headers::stream_headers(out.headers_mut(), metadata);
    }
    headers::stream_headers(out.headers_mut(), status.metadata().as_ref());
    *out.status_mut() = error::http_status(status.code());
    out.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = error::error_json(status).to_string();
    out.map(|()| full(body.into()))
}

/// `response` with another HTTP status.
pub(super) fn with_status(
    mut response: GatewayResponse,
    status: http::StatusCode,
) -> GatewayResponse {
    *response.status_mut() = status;
    response
}

/// A compression this server does not know: `unimplemented`, saying which it does.
pub(super) fn unsupported_encoding(name: &[u8]) -> GatewayResponse {
    let status = tonic::Status::unimplemented(format!(
        "unknown compression {:?}: this server takes gzip or identity",
        String::from_utf8_lossy(name)
    ));
    let mut response = error_response(&status, None);
    response.headers_mut().insert(
        ACCEPT_ENCODING,
        HeaderValue::from_static(compress::SUPPORTED),
    );
    response
}

/// The status of a message that does not inflate.
pub(super) fn inflate_status(e: &compress::InflateError) -> tonic::Status {
    match e {
        compress::InflateError::TooLarge { .. } => {
            tonic::Status::resource_exhausted(format!("{e} (server.grpc.max_message_bytes)"))
        }
        compress::InflateError::Corrupt(_) => tonic::Status::invalid_argument(e.to_string()),
    }
}
