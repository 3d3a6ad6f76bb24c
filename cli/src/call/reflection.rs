//! A client of gRPC server reflection: `grpc.reflection.v1`, or `v1alpha` for servers that
//! only have the older one. Both versions have the same messages on the wire, so one set of
//! types serves both; only the method path differs.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message as _;
use prost_reflect::DescriptorPool;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::Streaming;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use super::error::{CallError, Result};
use super::headers;

const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// Reflection over one channel; the first call finds out which version the server has.
pub(crate) struct Reflection {
    channel: Channel,
    headers: MetadataMap,
    path: Option<&'static str>,
}

/// One open reflection stream: requests go out one at a time, each answered in order.
struct Session {
    requests: mpsc::Sender<ServerReflectionRequest>,
    responses: Streaming<ServerReflectionResponse>,
}

impl Reflection {
    /// Reflection on `channel`, with `headers` on its requests.
    pub(crate) fn new(channel: Channel, headers: MetadataMap) -> Self {
        Self {
            channel,
            headers,
            path: None,
        }
    }

    /// The names of the services the server lists.
    pub(crate) async fn services(&mut self) -> Result<Vec<String>> {
        let (session, response) = self
            .open(MessageRequest::ListServices(String::new()))
            .await?;
        session.finish().await;
        match response {
            MessageResponse::ListServicesResponse(list) => {
                let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
                names.sort();
                Ok(names)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// A pool holding the file that defines `symbol` and everything it imports.
    pub(crate) async fn pool_for(&mut self, symbol: &str) -> Result<DescriptorPool> {
        let (mut session, response) = self
            .open(MessageRequest::FileContainingSymbol(symbol.to_owned()))
            .await?;
        let mut files = BTreeMap::new();
        let mut wanted = BTreeSet::new();
        add_files(response, &mut files, &mut wanted)?;
        while let Some(name) = wanted.iter().find(|n| !files.contains_key(*n)).cloned() {
            wanted.remove(&name);
            let response = session
                .ask(MessageRequest::FileByFilename(name.clone()))
                .await?;
            match response {
                MessageResponse::ErrorResponse(_) => {
                    // Servers often leave out the well-known types; protox has them.
                    let file = protox::file::FileResolver::open_file(
                        &protox::file::GoogleFileResolver::new(),
                        &name,
                    )
                    .map_err(|_| {
                        CallError::Reflection(format!(
                            "the server's reflection does not have `{name}`, which `{symbol}` \
                             needs\nhint: pass the protos with --proto FILE (and -I DIR) instead"
                        ))
                    })?;
                    files.insert(name, file.file_descriptor_proto().encode_to_vec());
                }
                other => add_files(other, &mut files, &mut wanted)?,
            }
        }
        session.finish().await;
        // The raw files, framed as a FileDescriptorSet, so their options stay as sent.
        let mut set = Vec::new();
        for bytes in files.values() {
            prost::encoding::bytes::encode(1, bytes, &mut set);
        }
        DescriptorPool::decode(set.as_slice()).map_err(|e| {
            CallError::Descriptor(format!(
                "the descriptors the server sent for `{symbol}` do not fit together: {e}"
            ))
        })
    }

    /// Opens a stream with `first` as its first request (some servers answer with headers only
    /// once a request has come), on v1 and then v1alpha if the server lacks v1.
    async fn open(&mut self, first: MessageRequest) -> Result<(Session, MessageResponse)> {
        let paths: &[&'static str] = match self.path {
            Some(path) => &[path][..],
            None => &[V1, V1ALPHA],
        };
        let mut last = None;
        for path in paths.iter().copied() {
            match self.open_at(path, first.clone()).await {
                Ok(mut session) => {
                    let response = session.answer().await?;
                    self.path = Some(path);
                    return Ok((session, response));
                }
                Err(status) if status.code() == tonic::Code::Unimplemented => last = Some(status),
                Err(status) => return Err(reflection_failed(&status)),
            }
        }
        let status = last.expect("one path at least was tried");
        Err(CallError::Reflection(format!(
            "the server has no reflection service ({})\nhint: pass the protos with --proto FILE \
             (and -I DIR), or enable reflection on the server",
            status.message()
        )))
    }

    async fn open_at(
        &self,
        path: &'static str,
        first: MessageRequest,
    ) -> Result<Session, tonic::Status> {
        let (requests, rx) = mpsc::channel(4);
        requests
            .try_send(request(first))
            .expect("a new channel has room");
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(super::connect::chain(&e)))?;
        let mut call = tonic::Request::new(ReceiverStream::new(rx));
        headers::apply(&self.headers, call.metadata_mut());
        let responses = grpc
            .streaming(
                call,
                tonic::codegen::http::uri::PathAndQuery::from_static(path),
                ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default(),
            )
            .await?
            .into_inner();
        Ok(Session {
            requests,
            responses,
        })
    }
}

impl Session {
    /// Ends the stream as a well-behaved client does: closes its side and reads the server's
    /// status. Dropping it instead would cancel the call, which the server then counts and
    /// logs as CANCELLED.
    async fn finish(mut self) {
        drop(self.requests);
        while let Ok(Some(_)) = self.responses.message().await {}
    }

    async fn ask(&mut self, message: MessageRequest) -> Result<MessageResponse> {
        self.requests
            .send(request(message))
            .await
            .map_err(|_| CallError::Reflection("the reflection stream closed early".into()))?;
        self.answer().await
    }

    async fn answer(&mut self) -> Result<MessageResponse> {
        match self.responses.message().await {
            Ok(Some(response)) => response.message_response.ok_or_else(|| {
                CallError::Reflection("the server sent an empty reflection answer".into())
            }),
            Ok(None) => Err(CallError::Reflection(
                "the reflection stream ended before answering".into(),
            )),
            // tonic's reflection ends the stream with NOT_FOUND instead of an ErrorResponse.
            Err(status) if status.code() == tonic::Code::NotFound => {
                Err(not_found(status.message()))
            }
            Err(status) => Err(reflection_failed(&status)),
        }
    }
}

fn request(message: MessageRequest) -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    }
}

/// Files of a FileDescriptorResponse, by name, and the imports they need.
fn add_files(
    response: MessageResponse,
    files: &mut BTreeMap<String, Vec<u8>>,
    wanted: &mut BTreeSet<String>,
) -> Result<()> {
    let list = match response {
        MessageResponse::FileDescriptorResponse(list) => list,
        MessageResponse::ErrorResponse(error) => return Err(not_found(&error.error_message)),
        other => return Err(unexpected(&other)),
    };
    for bytes in list.file_descriptor_proto {
        let file = prost_types::FileDescriptorProto::decode(bytes.as_slice()).map_err(|e| {
            CallError::Descriptor(format!("the server sent a malformed file descriptor: {e}"))
        })?;
        wanted.extend(file.dependency.iter().cloned());
        files.insert(file.name().to_owned(), bytes);
    }
    Ok(())
}

fn not_found(message: &str) -> CallError {
    CallError::NotFound(format!(
        "the server does not know it: {message}\nhint: `bia call ADDR list` shows its services; \
         names are fully qualified (`pkg.Service`, `pkg.Service/Method`, `pkg.Message`)"
    ))
}

fn unexpected(response: &MessageResponse) -> CallError {
    CallError::Reflection(format!("unexpected reflection answer: {response:?}"))
}

fn reflection_failed(status: &tonic::Status) -> CallError {
    CallError::Reflection(format!(
        "reflection failed: {:?}: {}\nhint: pass the protos with --proto FILE (and -I DIR) instead",
        status.code(),
        status.message()
    ))
}
