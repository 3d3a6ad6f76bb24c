//! Unary Connect calls by GET, for methods without side effects: the message is in the query,
//! `?connect=v1&encoding=json&message=<percent-encoded>` (or `base64=1` and URL-safe base64),
//! with `compression=gzip` when it is compressed. Browsers and CDNs can cache such calls.

use std::borrow::Cow;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use percent_encoding::percent_decode;

use super::Call;
use super::codec::Codec;
use super::compress::Compression;
use super::unary::{UnaryParts, error_response, inflate_status, unsupported_encoding, with_status};
use crate::gateway::dispatch::GatewayResponse;

/// URL-safe base64 with or without padding, as the protocol allows either.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A GET request's query, taken apart.
#[derive(Debug, PartialEq, Eq)]
struct Query {
    codec: Codec,
    message: Bytes,
    compression: Option<Vec<u8>>,
}

impl Call<'_> {
    /// A unary GET.
    pub(super) async fn get<B>(&self, request: http::Request<B>) -> GatewayResponse {
        let method = &self.method.path.as_str()[1..];
        if self.method.client_streaming
            || self.method.server_streaming
            || !self.method.no_side_effects
        {
            let status = tonic::Status::unimplemented(format!(
                "{method} cannot be called with GET: only unary methods with \
                 `option idempotency_level = NO_SIDE_EFFECTS;` can; POST it instead"
            ));
            let mut response = with_status(
                error_response(&status, None),
                http::StatusCode::METHOD_NOT_ALLOWED,
            );
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
            return response;
        }
        let query = match parse(request.uri().query().unwrap_or_default()) {
            Ok(query) => query,
            Err(e) => return error_response(&tonic::Status::invalid_argument(e), None),
        };
        let Some(compression) = Compression::from_name(query.compression.as_deref()) else {
            return unsupported_encoding(query.compression.as_deref().unwrap_or_default());
        };
        let message = compression
            .decompress(query.message, self.max_message_bytes)
            .map_err(|e| inflate_status(&e));
        let (parts, _) = request.into_parts();
        self.call_unary(query.codec, message, UnaryParts::new(parts))
            .await
    }
}

/// The query of a Connect GET, or what is wrong with it.
fn parse(query: &str) -> Result<Query, String> {
    let mut codec = None;
    let mut message = None;
    let mut base64 = false;
    let mut compression = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value: Cow<'_, [u8]> = percent_decode(value.as_bytes()).into();
        match key {
            "connect" if &*value != b"v1" => {
                return Err(format!(
                    "connect={} is not a Connect version this server speaks: send connect=v1",
                    String::from_utf8_lossy(&value)
                ));
            }
            "encoding" => {
                codec = Some(Codec::from_name(&value).ok_or_else(|| {
                    format!(
                        "encoding={} is not a codec of this server: use json or proto",
                        String::from_utf8_lossy(&value)
                    )
                })?);
            }
            "message" => message = Some(value),
            "base64" => base64 = &*value == b"1",
            "compression" => compression = Some(value.into_owned()),
            _ => {}
        }
    }
    let codec = codec.ok_or("the query has no encoding: add encoding=json or encoding=proto")?;
    let message = message.ok_or("the query has no message: add message=<the request message>")?;
    let message = if base64 {
        BASE64
            .decode(&message)
            .map_err(|e| format!("message is not URL-safe base64 (base64=1): {e}"))?
            .into()
    } else {
        Bytes::from(message.into_owned())
    };
    Ok(Query {
        codec,
        message,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_message_is_percent_decoded() {
        let query =
            parse("connect=v1&encoding=json&message=%7B%22message%22%3A%22hi%22%7D").unwrap();
        assert_eq!(query.codec, Codec::Json);
        assert_eq!(query.message, r#"{"message":"hi"}"#);
        assert_eq!(query.compression, None);
    }

    #[test]
    fn a_binary_message_is_url_safe_base64_with_or_without_padding() {
        // 0xfb 0xff is "-_8" in URL-safe base64: both alphabet changes are in it.
        for encoded in ["-_8", "-_8%3D"] {
            let query = parse(&format!(
                "encoding=proto&base64=1&message={encoded}&compression=gzip"
            ))
            .unwrap();
            assert_eq!(query.message, &[0xfb, 0xff][..]);
            assert_eq!(query.compression.as_deref(), Some(&b"gzip"[..]));
        }
    }

    #[test]
    fn what_is_missing_or_wrong_is_said() {
        let cases = [
            ("message=x", "no encoding"),
            ("encoding=json", "no message"),
            ("encoding=xml&message=x", "encoding=xml"),
            ("connect=v2&encoding=json&message=x", "connect=v2"),
            ("encoding=proto&base64=1&message=***", "base64"),
        ];
        for (query, expected) in cases {
            let err = parse(query).unwrap_err();
            assert!(err.contains(expected), "{query}: {err}");
        }
    }
}
