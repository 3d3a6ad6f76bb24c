//! Streaming Connect calls (`application/connect+proto`, `application/connect+json`): enveloped
//! messages both ways, and last an end-of-stream envelope with the error, if any, and the
//! trailers as JSON. The HTTP status is 200 once the request is a well-formed stream.
//!
//! Server streaming takes exactly one request message; client and bidi streaming pass the
//! request stream on as the client sends it (bidi needs HTTP/2, where the client keeps sending
//! while it reads).

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{CONTENT_TYPE, HeaderValue};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use prost_reflect::MessageDescriptor;
use serde_json::{Map, Value};

use super::codec::Codec;
use super::compress::{self, Compression};
use super::envelope::{self, COMPRESSED, Decoder, END_STREAM};
use super::unary::{COMPRESS_MIN_BYTES, inflate_status};
use super::{Call, authority, error, headers};
use crate::error::BoxError;
use crate::gateway::bridge::{BridgeRequest, RequestMessages, ResponseEvent, ResponseMessages};
use crate::gateway::dispatch::{GatewayBody, GatewayResponse};
use crate::polled::PolledFrame;

impl Call<'_> {
    /// A streaming POST.
    pub(super) async fn stream<B>(&self, codec: Codec, request: http::Request<B>) -> GatewayResponse
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let authority = authority(&parts.uri, &parts.headers);
        let header = |name| parts.headers.get(name).map(HeaderValue::as_bytes);
        let accept = Compression::negotiate(header(headers::STREAM_ACCEPT_ENCODING));
        let sent = header(headers::STREAM_CONTENT_ENCODING);
        let Some(compression) = Compression::from_name(sent) else {
            let status = tonic::Status::unimplemented(format!(
                "unknown connect-content-encoding {:?}: this server takes {} or identity",
                String::from_utf8_lossy(sent.unwrap_or_default()),
                compress::SUPPORTED
            ));
            return ended(codec, &status);
        };
        if let Err(e) = headers::check_version(&parts.headers) {
            return ended(codec, &tonic::Status::invalid_argument(e.to_string()));
        }
        let (metadata, timeout) = match headers::metadata(parts.headers) {
            Ok(found) => found,
            Err(e) => return ended(codec, &tonic::Status::invalid_argument(e.to_string())),
        };
        let failed = Arc::new(OnceLock::new());
        let mut reader = Reader {
            body,
            decoder: Decoder::new(self.max_message_bytes),
            compression,
            codec,
            input: self.method.input.clone(),
            max_message_bytes: self.max_message_bytes,
            failed: failed.clone(),
            done: false,
        };
        let messages = if self.method.client_streaming {
            let stream = futures_util::stream::unfold(reader, |mut reader| async move {
                reader.next().await.map(|item| (item, reader))
            });
            RequestMessages::Stream(stream.boxed())
        } else {
            match reader.only().await {
                Ok(message) => RequestMessages::One(message),
                Err(status) => return ended(codec, &status),
            }
        };
        let mut request = BridgeRequest::new(self.method.path.clone(), messages);
        request.metadata = metadata;
        request.timeout = timeout;
        request.extensions = parts.extensions;
        request.authority = authority;
        let response = self.bridge.call(request).await;
        let mut out = http::Response::new(());
        headers::stream_headers(out.headers_mut(), &response.metadata);
        out.headers_mut()
            .insert(CONTENT_TYPE, codec.stream_content_type());
        if let Some(name) = accept.header_name() {
            out.headers_mut().insert(
                headers::STREAM_CONTENT_ENCODING,
                HeaderValue::from_static(name),
            );
        }
        let body = Envelopes {
            events: Some(response.messages),
            codec,
            output: self.method.output.clone(),
            compression: accept,
            failed,
        };
        out.map(|()| GatewayBody::new(body))
    }
}

/// A stream that failed before the call: 200 and only the end-of-stream envelope.
fn ended(codec: Codec, status: &tonic::Status) -> GatewayResponse {
    let mut out = http::Response::new(());
    out.headers_mut()
        .insert(CONTENT_TYPE, codec.stream_content_type());
    let body = http_body_util::Full::new(end_stream(status))
        .map_err(|never| match never {})
        .boxed_unsync();
    out.map(|()| body)
}

/// The end-of-stream envelope of a call that ended with `status`.
fn end_stream(status: &tonic::Status) -> Bytes {
    let mut end = Map::with_capacity(2);
    if status.code() != tonic::Code::Ok {
        end.insert("error".into(), error::error_json(status));
    }
    let metadata = headers::trailer_json(status.metadata().as_ref());
    if !metadata.is_empty() {
        end.insert("metadata".into(), Value::Object(metadata));
    }
    // A map of strings always serializes.
    let json = serde_json::to_vec(&Value::Object(end)).unwrap_or_default();
    envelope::encode(END_STREAM, &json)
}

/// The request messages out of a Connect request body.
struct Reader<B> {
    body: B,
    decoder: Decoder,
    compression: Compression,
    codec: Codec,
    input: MessageDescriptor,
    max_message_bytes: usize,
    /// Why the request stream broke, for the end-of-stream message: the handler only sees a
    /// broken stream.
    failed: Arc<OnceLock<tonic::Status>>,
    done: bool,
}

impl<B> Reader<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    /// The one message of a server-streaming (or unary) call.
    async fn only(&mut self) -> Result<Bytes, tonic::Status> {
        let message = self.next().await.unwrap_or_else(|| {
            Err(tonic::Status::invalid_argument(
                "the request stream holds no message: this method takes exactly one",
            ))
        })?;
        match self.next().await {
            None => Ok(message),
            Some(Err(status)) => Err(status),
            Some(Ok(_)) => Err(tonic::Status::invalid_argument(
                "the request stream holds more than one message: this method takes exactly one",
            )),
        }
    }

    /// The next request message, in the bytes the handler takes.
    async fn next(&mut self) -> Option<Result<Bytes, tonic::Status>> {
        if self.done {
            return None;
        }
        loop {
            match self.decoder.next() {
                Ok(Some(envelope)) => {
                    return Some(self.message(envelope.flags, envelope.data));
                }
                Ok(None) => {}
                Err(e @ envelope::EnvelopeError::TooLarge { .. }) => {
                    let status = tonic::Status::resource_exhausted(format!(
                        "{e} (server.grpc.max_message_bytes)"
                    ));
                    return Some(Err(self.fail(status)));
                }
                Err(e) => {
                    return Some(Err(
                        self.fail(tonic::Status::invalid_argument(e.to_string()))
                    ));
                }
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(data);
                    }
                }
                Some(Err(e)) => {
                    let status = tonic::Status::cancelled(format!(
                        "the request body broke off: {}",
                        e.into()
                    ));
                    return Some(Err(self.fail(status)));
                }
                None => {
                    self.done = true;
                    return match self.decoder.finish() {
                        Ok(()) => None,
                        Err(e) => Some(Err(
                            self.fail(tonic::Status::invalid_argument(e.to_string()))
                        )),
                    };
                }
            }
        }
    }

    fn message(&mut self, flags: u8, data: Bytes) -> Result<Bytes, tonic::Status> {
        if flags & END_STREAM != 0 {
            return Err(self.fail(tonic::Status::invalid_argument(
                "the request sent an end-of-stream envelope: only responses end with one",
            )));
        }
        let data = if flags & COMPRESSED != 0 {
            if self.compression == Compression::Identity {
                return Err(self.fail(tonic::Status::invalid_argument(
                    "a request message is marked compressed, but the request has no \
                     connect-content-encoding",
                )));
            }
            match self.compression.decompress(data, self.max_message_bytes) {
                Ok(data) => data,
                Err(e) => return Err(self.fail(inflate_status(&e))),
            }
        } else {
            data
        };
        self.codec
            .decode(&self.input, data)
            .map_err(|e| self.fail(tonic::Status::invalid_argument(e)))
    }

    /// Ends the request stream with `status`, remembered for the end-of-stream message.
    fn fail(&mut self, status: tonic::Status) -> tonic::Status {
        self.done = true;
        let copy = tonic::Status::new(status.code(), status.message());
        let _ = self.failed.set(copy);
        status
    }
}

/// The response body: each message in an envelope, then the end-of-stream envelope.
struct Envelopes {
    /// `None` once the end-of-stream envelope went out.
    events: Option<ResponseMessages>,
    codec: Codec,
    output: MessageDescriptor,
    compression: Compression,
    failed: Arc<OnceLock<tonic::Status>>,
}

impl Body for Envelopes {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let Some(events) = self.events.as_mut() else {
            return Poll::Ready(None);
        };
        let event = ready!(events.poll_next_unpin(cx));
        let envelope = match event {
            Some(ResponseEvent::Message(message)) => match self.codec.encode(&self.output, message)
            {
                Ok(message) => {
                    let (flags, message) = match self.compression {
                        Compression::Gzip if message.len() >= COMPRESS_MIN_BYTES => {
                            (COMPRESSED, Compression::Gzip.compress(message))
                        }
                        _ => (0, message),
                    };
                    return Poll::Ready(Some(Ok(Frame::data(envelope::encode(flags, &message)))));
                }
                Err(e) => end_stream(&tonic::Status::internal(e)),
            },
            Some(ResponseEvent::End(status)) if status.code() != tonic::Code::Ok => {
                // The handler saw a broken request stream; the client is told why it broke.
                match self.failed.get() {
                    Some(cause) => end_stream(cause),
                    None => end_stream(&status),
                }
            }
            Some(ResponseEvent::End(status)) => end_stream(&status),
            None => end_stream(&tonic::Status::internal(
                "the response ended without a status",
            )),
        };
        // Dropping the events now ends the call (its metrics and span) with the envelope.
        self.events = None;
        Poll::Ready(Some(Ok(Frame::data(envelope))))
    }

    fn is_end_stream(&self) -> bool {
        self.events.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(envelope: &Bytes) -> Value {
        assert_eq!(envelope[0], END_STREAM);
        serde_json::from_slice(&envelope[5..]).unwrap()
    }

    #[test]
    fn an_ok_end_is_empty_unless_there_are_trailers() {
        assert_eq!(
            json_of(&end_stream(&tonic::Status::ok(""))),
            serde_json::json!({})
        );
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert("x-t", "v".parse().unwrap());
        let status = tonic::Status::with_metadata(tonic::Code::Ok, "", metadata);
        assert_eq!(
            json_of(&end_stream(&status)),
            serde_json::json!({"metadata": {"x-t": ["v"]}})
        );
    }

    #[test]
    fn a_failed_end_carries_the_error() {
        let end = json_of(&end_stream(&tonic::Status::not_found("gone")));
        assert_eq!(
            end,
            serde_json::json!({"error": {"code": "not_found", "message": "gone"}})
        );
    }
}
