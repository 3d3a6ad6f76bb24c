//! One OTLP/gRPC unary call per batch, over one long-lived tonic channel.

use std::time::Duration;

use bytes::{BufMut as _, Bytes};
use http::uri::PathAndQuery;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::build_error::BuildError;

const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Where batches go: the collector's channel, the call's metadata and its time limit.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    channel: Channel,
    metadata: MetadataMap,
    timeout: Duration,
}

/// What the collector said about an accepted batch (`ExportTracePartialSuccess`).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PartialSuccess {
    #[prost(int64, tag = "1")]
    pub(crate) rejected_spans: i64,
    #[prost(string, tag = "2")]
    pub(crate) error_message: String,
}

/// `ExportTraceServiceResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ExportResponse {
    #[prost(message, optional, tag = "1")]
    pub(crate) partial_success: Option<PartialSuccess>,
}

impl Transport {
    /// A lazily connecting channel to `endpoint` (`http://` or `https://` with the system's
    /// roots). Must run inside a Tokio runtime: the channel's worker is spawned on it.
    pub(crate) fn new(
        endpoint: &str,
        timeout: Duration,
        metadata: MetadataMap,
    ) -> Result<Self, BuildError> {
        let bad = |why: String| {
            BuildError::new(format!(
                "telemetry.otlp.endpoint = {endpoint:?} (env OTEL_EXPORTER_OTLP_ENDPOINT): {why}"
            ))
        };
        let mut target = Endpoint::from_shared(endpoint.to_owned()).map_err(|e| {
            bad(format!(
                "not a URL ({e}); use http://host:4317 or https://host:4317"
            ))
        })?;
        match target.uri().scheme_str() {
            Some("http") => {}
            Some("https") => {
                target = target
                    .tls_config(tonic::transport::ClientTlsConfig::new().with_native_roots())
                    .map_err(|e| bad(format!("cannot set up TLS: {e}")))?;
            }
            _ => return Err(bad("the scheme must be http:// or https://".to_owned())),
        }
        if target.uri().host().is_none() {
            return Err(bad("it names no host".to_owned()));
        }
        let channel = target
            .user_agent(concat!("bia-otlp/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_lazy();
        Ok(Self {
            channel,
            metadata,
            timeout,
        })
    }

    /// Sends one encoded `ExportTraceServiceRequest`, within the configured timeout.
    pub(crate) async fn export(&self, body: Bytes) -> Result<ExportResponse, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let call = async {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(format!("not connected: {e}")))?;
            let mut request = tonic::Request::new(body);
            *request.metadata_mut() = self.metadata.clone();
            request.set_timeout(self.timeout);
            grpc.unary(request, PathAndQuery::from_static(EXPORT), RawCodec)
                .await
                .map(tonic::Response::into_inner)
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(Status::new(
                Code::DeadlineExceeded,
                format!(
                    "no answer within {:?} (telemetry.otlp.timeout)",
                    self.timeout
                ),
            )),
        }
    }
}

/// Sends the request as the bytes the encoder made; reads the answer with prost.
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ExportResponse>, Status> {
        let answer = <ExportResponse as prost::Message>::decode(src).map_err(|e| {
            Status::internal(format!("the collector's answer does not decode: {e}"))
        })?;
        Ok(Some(answer))
    }
}
