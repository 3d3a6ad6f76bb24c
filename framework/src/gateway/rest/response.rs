//! A call's answer as a REST response: one JSON document, or a stream of them.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use prost_reflect::{DynamicMessage, Kind};

use super::{Rest, Route};
use crate::error::BoxError;
use crate::gateway::bridge::{BridgeResponse, ResponseEvent};
use crate::gateway::dispatch::{GatewayResponse, json_response};
use crate::gateway::json::{SERIALIZE, write_json};
use crate::gateway::status::{error_response, status_json};

const NDJSON: HeaderValue = HeaderValue::from_static("application/x-ndjson");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// The answer of a unary call; `refused_with` as in [`Rest::failed`].
pub(super) async fn unary(
    rest: &Rest,
    route: &Route,
    answer: BridgeResponse,
    refused_with: Option<(tonic::Code, http::StatusCode)>,
) -> GatewayResponse {
    let unary = match answer.into_unary().await {
        Ok(unary) => unary,
        Err(status) => return rest.failed(&status, refused_with),
    };
    let mut out = Vec::with_capacity(unary.message.len() * 2 + 16);
    if let Err(status) = write_message(route, unary.message, &mut out) {
        return error_response(&status, &rest.pool);
    }
    let mut response = json_response(http::StatusCode::OK, Bytes::from(out));
    copy_metadata(&unary.metadata, response.headers_mut());
    // HTTP/1.1 clients rarely read trailers: the trailing metadata goes into the headers too.
    copy_metadata(&unary.trailers.into_headers(), response.headers_mut());
    response
}

/// The answer of a server-streaming call: one JSON document per message, newline-delimited
/// or as Server-Sent Events. The response waits for the first message, so a call that fails
/// before sending one answers with its own HTTP status; a failure later is the stream's last
/// item (`{"error": {...}}`, or an `error` event).
pub(super) async fn stream(
    rest: &Rest,
    route: &Route,
    answer: BridgeResponse,
    sse: bool,
    refused_with: Option<(tonic::Code, http::StatusCode)>,
) -> GatewayResponse {
    let BridgeResponse {
        metadata,
        mut messages,
    } = answer;
    let first = match messages.next().await {
        Some(ResponseEvent::End(status)) if status.code() != tonic::Code::Ok => {
            return rest.failed(&status, refused_with);
        }
        Some(ResponseEvent::Message(message)) => Some(message),
        Some(ResponseEvent::End(_)) | None => None,
    };
    let writer = StreamWriter {
        route: RouteRef {
            output: route.rule.method().output(),
            response_body: route.rule.response_body().cloned(),
        },
        pool: rest.pool.clone(),
        sse,
    };
    let events = futures_util::stream::iter(first.map(ResponseEvent::Message)).chain(messages);
    let frames = futures_util::stream::unfold(
        (events, writer, false),
        |(mut events, writer, done)| async move {
            if done {
                return None;
            }
            let (chunk, more) = writer.event(events.next().await?);
            if chunk.is_empty() {
                return None;
            }
            Some((
                Ok::<_, BoxError>(Frame::data(chunk)),
                (events, writer, !more),
            ))
        },
    );
    let mut response = http::Response::new(StreamBody::new(frames).boxed_unsync());
    let headers = response.headers_mut();
    copy_metadata(&metadata, headers);
    if sse {
        headers.insert(CONTENT_TYPE, EVENT_STREAM);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    } else {
        headers.insert(CONTENT_TYPE, NDJSON);
    }
    response
}

/// What writing a stream's messages needs of its route, owned (the body outlives the call).
struct RouteRef {
    output: prost_reflect::MessageDescriptor,
    response_body: Option<prost_reflect::FieldDescriptor>,
}

struct StreamWriter {
    route: RouteRef,
    pool: prost_reflect::DescriptorPool,
    sse: bool,
}

impl StreamWriter {
    /// The bytes for one event, and whether more may follow.
    fn event(&self, event: ResponseEvent) -> (Bytes, bool) {
        let mut out = BytesMut::with_capacity(256).writer();
        let (json, more, error) = match event {
            ResponseEvent::Message(message) => {
                let mut json = Vec::with_capacity(message.len() * 2 + 16);
                match write_output(&self.route, message, &mut json) {
                    Ok(()) => (json, true, false),
                    Err(status) => (error_json(&status, &self.pool, self.sse), false, true),
                }
            }
            ResponseEvent::End(status) if status.code() == tonic::Code::Ok => {
                return (Bytes::new(), false);
            }
            ResponseEvent::End(status) => (error_json(&status, &self.pool, self.sse), false, true),
        };
        let out_bytes = out.get_mut();
        if self.sse {
            if error {
                out_bytes.put_slice(b"event: error\n");
            }
            out_bytes.put_slice(b"data: ");
            out_bytes.put_slice(&json);
            out_bytes.put_slice(b"\n\n");
        } else {
            out_bytes.put_slice(&json);
            out_bytes.put_u8(b'\n');
        }
        (out.into_inner().freeze(), more)
    }
}

/// A status as a stream item: the Status itself for SSE (its event says it is an error),
/// wrapped as `{"error": ...}` in NDJSON so a reader tells it from a message.
fn error_json(status: &tonic::Status, pool: &prost_reflect::DescriptorPool, sse: bool) -> Vec<u8> {
    let status = status_json(status, pool);
    let value = if sse {
        status
    } else {
        serde_json::json!({ "error": status })
    };
    value.to_string().into_bytes()
}

fn write_message(route: &Route, message: Bytes, out: &mut Vec<u8>) -> Result<(), tonic::Status> {
    let route = RouteRef {
        output: route.rule.method().output(),
        response_body: route.rule.response_body().cloned(),
    };
    write_output(&route, message, out)
}

/// Decodes a response message and writes it (or its `response_body` field) as JSON.
fn write_output(route: &RouteRef, message: Bytes, out: &mut Vec<u8>) -> Result<(), tonic::Status> {
    let message = DynamicMessage::decode(route.output.clone(), message).map_err(|e| {
        tonic::Status::internal(format!(
            "the handler's response is not a valid {}: {e}",
            route.output.full_name()
        ))
    })?;
    let no_json = |e: serde_json::Error| {
        tonic::Status::internal(format!("the response has no JSON form: {e}"))
    };
    let Some(field) = &route.response_body else {
        return write_json(&message, out).map_err(no_json);
    };
    match (field.kind(), field.is_list() || field.is_map()) {
        (Kind::Message(_), false) => match message.get_field(field).as_ref() {
            prost_reflect::Value::Message(inner) => write_json(inner, out).map_err(no_json)?,
            _ => out.extend_from_slice(b"{}"),
        },
        _ => {
            // A scalar or a list: written with its default too, since it is the whole body.
            let value = message
                .serialize_with_options(
                    serde_json::value::Serializer,
                    &SERIALIZE.skip_default_fields(false),
                )
                .map_err(|e| {
                    tonic::Status::internal(format!("the response has no JSON form: {e}"))
                })?;
            let inner = value.get(field.json_name()).cloned().unwrap_or_default();
            serde_json::to_writer(&mut *out, &inner)
                .map_err(|e| tonic::Status::internal(e.to_string()))?;
        }
    }
    Ok(())
}

/// Copies the handler's response metadata to the HTTP response (binary `-bin` values as the
/// base64 text they already are).
fn copy_metadata(metadata: &HeaderMap, headers: &mut HeaderMap) {
    for (name, value) in metadata {
        if !crate::gateway::bridge::is_reserved_response_header(name) {
            headers.append(name.clone(), value.clone());
        }
    }
}
