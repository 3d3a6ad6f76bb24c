//! Calling one method, of any of the four kinds, with messages known only at run time.

use std::time::Duration;

use prost_reflect::{DynamicMessage, MethodDescriptor, SerializeOptions};
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::Streaming;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::codec::DynamicCodec;
use super::error::{CallError, Result};
use super::headers;
use super::input::Messages;
use super::json;

/// What a call needs besides its method and messages.
pub(crate) struct CallOptions {
    /// Request metadata.
    pub(crate) headers: MetadataMap,
    /// Sent as `grpc-timeout`, and enforced here too in case the server does not.
    pub(crate) deadline: Option<Duration>,
    /// How replies are printed.
    pub(crate) output: SerializeOptions,
    /// Print the response headers and trailers to stderr.
    pub(crate) verbose: bool,
}

/// Calls `method` with `messages`, printing each reply as it arrives. An error status comes
/// back as the `tonic::Status`, for the caller to render with the descriptors.
pub(crate) async fn invoke(
    channel: Channel,
    method: &MethodDescriptor,
    messages: Messages,
    options: &CallOptions,
) -> Result<Result<(), tonic::Status>> {
    let (messages, mut errors) = match messages {
        Messages::Ready(list) => {
            let (tx, rx) = tokio::sync::mpsc::channel(list.len().max(1));
            for message in list {
                tx.try_send(message)
                    .expect("the channel has room for every message");
            }
            (rx, None)
        }
        Messages::Streaming { messages, errors } => (messages, Some(errors)),
    };
    let call = run(channel, method, messages, options);
    let call = async {
        let Some(deadline) = options.deadline else {
            return call.await;
        };
        let started = tokio::time::Instant::now();
        let exceeded = |said: &str| {
            tonic::Status::deadline_exceeded(format!(
                "the deadline of {} passed{said}",
                humantime::format_duration(deadline)
            ))
        };
        match tokio::time::timeout(deadline, call).await {
            Err(_) => Ok(Err(exceeded(""))),
            // A server whose timer fires first cancels the call (tonic answers CANCELLED); past
            // the deadline that is the deadline's doing, as gRPC clients report it.
            Ok(Ok(Err(status))) if started.elapsed() >= deadline => Ok(Err(exceeded(&format!(
                " (the server said {}: {})",
                super::status::code_name(status.code()),
                status.message()
            )))),
            Ok(other) => other,
        }
    };
    match &mut errors {
        // Bad input on stdin ends the call: the server must not see a truncated stream as whole.
        Some(errors) => tokio::select! {
            biased;
            Ok(err) = errors => Err(err),
            result = call => result,
        },
        None => call.await,
    }
}

async fn run(
    channel: Channel,
    method: &MethodDescriptor,
    mut messages: tokio::sync::mpsc::Receiver<DynamicMessage>,
    options: &CallOptions,
) -> Result<Result<(), tonic::Status>> {
    let path: PathAndQuery = format!("/{}/{}", method.parent_service().full_name(), method.name())
        .parse()
        .map_err(|e| CallError::usage(format!("invalid method name: {e}")))?;
    let codec = DynamicCodec::new(method.output());
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(e) = grpc.ready().await {
        return Ok(Err(tonic::Status::unavailable(super::connect::chain(&e))));
    }
    let kind = (method.is_client_streaming(), method.is_server_streaming());
    let single = if kind.0 {
        None
    } else {
        let first = messages.recv().await;
        let extra = messages.recv().await;
        match (first, extra) {
            (Some(first), None) => Some(first),
            (first, _) => {
                return Err(CallError::Input(format!(
                    "{} takes exactly one request message, {} given\nhint: pass it with -d \
                     '{{...}}' (or leave -d out to send an empty one)",
                    method.full_name(),
                    if first.is_some() {
                        "more than one"
                    } else {
                        "none"
                    }
                )));
            }
        }
    };
    let outcome = match (single, kind.1) {
        (Some(message), false) => grpc
            .unary(request(message, options), path, codec)
            .await
            .map(|response| (response.metadata().clone(), vec![response.into_inner()])),
        (Some(message), true) => match grpc
            .server_streaming(request(message, options), path, codec)
            .await
        {
            Ok(response) => return print_stream(response, options).await,
            Err(status) => Err(status),
        },
        (None, false) => grpc
            .client_streaming(request(ReceiverStream::new(messages), options), path, codec)
            .await
            .map(|response| (response.metadata().clone(), vec![response.into_inner()])),
        (None, true) => match grpc
            .streaming(request(ReceiverStream::new(messages), options), path, codec)
            .await
        {
            Ok(response) => return print_stream(response, options).await,
            Err(status) => Err(status),
        },
    };
    match outcome {
        Ok((metadata, replies)) => {
            if options.verbose {
                show("response headers and trailers", &metadata);
            }
            for reply in &replies {
                json::print(reply, &options.output)?;
            }
            Ok(Ok(()))
        }
        Err(status) => {
            if options.verbose {
                show("response trailers", status.metadata());
            }
            Ok(Err(status))
        }
    }
}

/// `body` with the call's metadata and deadline.
fn request<T>(body: T, options: &CallOptions) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    headers::apply(&options.headers, request.metadata_mut());
    if let Some(deadline) = options.deadline {
        request.set_timeout(deadline);
    }
    request
}

async fn print_stream(
    response: tonic::Response<Streaming<DynamicMessage>>,
    options: &CallOptions,
) -> Result<Result<(), tonic::Status>> {
    if options.verbose {
        show("response headers", response.metadata());
    }
    let mut stream = response.into_inner();
    loop {
        match stream.message().await {
            Ok(Some(reply)) => json::print(&reply, &options.output)?,
            Ok(None) => break,
            Err(status) => {
                if options.verbose {
                    show("response trailers", status.metadata());
                }
                return Ok(Err(status));
            }
        }
    }
    if options.verbose
        && let Ok(Some(trailers)) = stream.trailers().await
    {
        show("response trailers", &trailers);
    }
    Ok(Ok(()))
}

fn show(what: &str, metadata: &MetadataMap) {
    eprintln!("{what}:");
    for (key, value) in metadata.clone().into_headers().iter() {
        eprintln!("  {}: {}", key, String::from_utf8_lossy(value.as_bytes()));
    }
}
