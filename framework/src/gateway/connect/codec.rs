//! The two message codecs of Connect: `proto` passes the bytes through untouched, `json`
//! transcodes between the proto3 JSON mapping (the gateway's, [`crate::gateway::json`]) and the
//! bytes the handler takes.

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::gateway::json;

/// A Connect codec, from the content type (`application/json`, `application/connect+proto`,
/// ...) or a GET request's `encoding=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Proto,
    Json,
}

impl Codec {
    /// The codec a name (`proto`, `json`) stands for.
    pub(crate) fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"proto" => Some(Self::Proto),
            b"json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The content type of a unary response.
    pub(crate) fn unary_content_type(self) -> http::HeaderValue {
        http::HeaderValue::from_static(match self {
            Self::Proto => "application/proto",
            Self::Json => "application/json",
        })
    }

    /// The content type of a streaming response.
    pub(crate) fn stream_content_type(self) -> http::HeaderValue {
        http::HeaderValue::from_static(match self {
            Self::Proto => "application/connect+proto",
            Self::Json => "application/connect+json",
        })
    }

    /// A request message as the bytes the handler takes. A JSON message that does not fit
    /// `input` says which field is wrong (unknown fields are refused, as they would be lost).
    pub(crate) fn decode(self, input: &MessageDescriptor, data: Bytes) -> Result<Bytes, String> {
        match self {
            Self::Proto => Ok(data),
            Self::Json => {
                let message = json::from_json(input.clone(), &data)
                    .map_err(|e| format!("the {} JSON is not valid: {e}", input.full_name()))?;
                Ok(message.encode_to_vec().into())
            }
        }
    }

    /// A response message in this codec.
    pub(crate) fn encode(self, output: &MessageDescriptor, data: Bytes) -> Result<Bytes, String> {
        match self {
            Self::Proto => Ok(data),
            Self::Json => {
                let message = DynamicMessage::decode(output.clone(), data).map_err(|e| {
                    format!("the handler's {} does not decode: {e}", output.full_name())
                })?;
                json::to_json(&message).map(Bytes::from).map_err(|e| {
                    format!("the handler's {} has no JSON form: {e}", output.full_name())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_info() -> MessageDescriptor {
        prost_reflect::DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .unwrap()
            .get_message_by_name("google.rpc.ErrorInfo")
            .unwrap()
    }

    #[test]
    fn json_round_trips_through_the_handlers_bytes() {
        let json = Bytes::from_static(br#"{"reason":"R","metadata":{"k":"v"}}"#);
        let bytes = Codec::Json.decode(&error_info(), json).unwrap();
        let info = tonic_types::pb::ErrorInfo::decode(bytes.clone()).unwrap();
        assert_eq!(info.reason, "R");
        assert_eq!(info.metadata["k"], "v");
        let back = Codec::Json.encode(&error_info(), bytes).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&back).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"reason": "R", "metadata": {"k": "v"}})
        );
    }

    #[test]
    fn bad_json_names_the_message_and_the_field() {
        let err = Codec::Json
            .decode(&error_info(), Bytes::from_static(br#"{"reeson":"R"}"#))
            .unwrap_err();
        assert!(
            err.contains("google.rpc.ErrorInfo") && err.contains("reeson"),
            "{err}"
        );
        let err = Codec::Json
            .decode(
                &error_info(),
                Bytes::from_static(br#"{"reason":"R"} trailing"#),
            )
            .unwrap_err();
        assert!(err.contains("trailing"), "{err}");
    }

    #[test]
    fn proto_passes_through() {
        let data = Bytes::from_static(b"\x0a\x01R");
        assert_eq!(
            Codec::Proto.decode(&error_info(), data.clone()).unwrap(),
            data
        );
        assert_eq!(
            Codec::Proto.encode(&error_info(), data.clone()).unwrap(),
            data
        );
    }
}
