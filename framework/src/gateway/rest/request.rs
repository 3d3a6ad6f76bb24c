//! A REST request as a call: the request message from body, path and query, and the call's
//! metadata from the headers.

use bytes::Bytes;
use http::header::{ACCEPT, HOST};
use http::uri::Authority;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor};
use tonic_types::{ErrorDetails, StatusExt};

use super::field::{resolve, set_from_text};
use super::{Rest, Route};
use crate::gateway::bridge::{BridgeRequest, RequestMessages};
use crate::gateway::json::from_json;
use crate::gateway::rule::RuleBody;
use crate::gateway::template::RequestPath;
use crate::middleware::deadline::requested_timeout;

/// A call ready for the bridge.
pub(super) struct Call {
    pub(super) request: BridgeRequest,
    /// Whether the client asked for Server-Sent Events.
    pub(super) accepts_event_stream: bool,
    /// The HTTP status for the refusal the request carries, when it is not the one its code
    /// maps to (413 for a body over the limit).
    pub(super) refused_with: Option<(tonic::Code, http::StatusCode)>,
}

/// The call `parts` and `body` stand for. A request the message cannot be made of is still a
/// call, whose messages are the refusal saying what is wrong ([`RequestMessages::Refused`]):
/// the stack traces, logs and counts it under its method, and answers it.
pub(super) async fn build(
    rest: &Rest,
    route: &Route,
    path: &RequestPath<'_>,
    parts: http::request::Parts,
    body: Incoming,
) -> Call {
    let mut refused_with = None;
    let body = match route.rule.body() {
        RuleBody::None => Ok(Bytes::new()),
        RuleBody::Whole | RuleBody::Field(_) => read_body(rest, body).await,
    };
    let messages = match body {
        Ok(body) => match message(route, path, parts.uri.query(), &body) {
            Ok(message) => RequestMessages::One(Bytes::from(message.encode_to_vec())),
            Err(status) => RequestMessages::Refused(status),
        },
        Err((status, http_status)) => {
            refused_with = http_status.map(|http_status| (status.code(), http_status));
            RequestMessages::Refused(status)
        }
    };
    let headers = parts.headers;
    let accepts_event_stream = headers
        .get_all(ACCEPT)
        .iter()
        .any(|v| v.as_bytes().windows(17).any(|w| w == b"text/event-stream"));
    let timeout = requested_timeout(&headers);
    let authority = parts.uri.authority().cloned().or_else(|| {
        headers
            .get(HOST)
            .and_then(|h| Authority::try_from(h.as_bytes()).ok())
    });
    let mut request = BridgeRequest::new(route.grpc_path.clone(), messages);
    request.metadata = headers;
    request.extensions = parts.extensions;
    request.timeout = timeout;
    request.authority = authority;
    Call {
        request,
        accepts_event_stream,
        refused_with,
    }
}

/// The whole body, at most `server.grpc.max_message_bytes` of it; or why not, with the HTTP
/// status to answer when it is not the one the code maps to.
async fn read_body(
    rest: &Rest,
    body: Incoming,
) -> Result<Bytes, (tonic::Status, Option<http::StatusCode>)> {
    match Limited::new(body, rest.max_body).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let status = tonic::Status::resource_exhausted(format!(
                "the request body is larger than {} bytes (server.grpc.max_message_bytes)",
                rest.max_body
            ));
            Err((status, Some(http::StatusCode::PAYLOAD_TOO_LARGE)))
        }
        Err(e) => {
            let status =
                tonic::Status::invalid_argument(format!("the request body could not be read: {e}"));
            Err((status, None))
        }
    }
}

/// `INVALID_ARGUMENT` naming `field`, with a `google.rpc.BadRequest` detail for it.
fn invalid(field: &str, description: String) -> tonic::Status {
    let message = if field.is_empty() {
        format!("invalid request: {description}")
    } else {
        format!("invalid request field `{field}`: {description}")
    };
    tonic::Status::with_error_details(
        tonic::Code::InvalidArgument,
        message,
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

/// The request message: the body first, then the path variables, then the query string.
fn message(
    route: &Route,
    path: &RequestPath<'_>,
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, tonic::Status> {
    let input = route.rule.method().input();
    let mut message = match route.rule.body() {
        RuleBody::Whole if !body.is_empty() => {
            from_json(input, body).map_err(|e| invalid(e.field(), e.message().to_owned()))?
        }
        RuleBody::Field(field) if !body.is_empty() => body_field(input, field, body)?,
        _ => DynamicMessage::new(input),
    };
    for ((variable, bound), (_, chain)) in route
        .rule
        .template()
        .bind(path)
        .zip(route.rule.path_fields())
    {
        let name = variable.field_path().join(".");
        let text = bound
            .decode()
            .map_err(|_| invalid(&name, "the path segment is not UTF-8".into()))?;
        set_from_text(&mut message, chain, &text).map_err(|e| invalid(&name, e))?;
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        query_fields(route, &mut message, query)?;
    }
    Ok(message)
}

/// The message with `field` read from the body, which holds that field's JSON value.
fn body_field(
    input: prost_reflect::MessageDescriptor,
    field: &FieldDescriptor,
    body: &[u8],
) -> Result<DynamicMessage, tonic::Status> {
    // `{"<field>": <body>}` reads the value through the JSON mapping, and error paths come
    // out relative to the request (`user.email`), as the client knows its fields.
    let name = field.json_name();
    let mut json = Vec::with_capacity(body.len() + name.len() + 5);
    json.extend_from_slice(b"{\"");
    json.extend_from_slice(name.as_bytes());
    json.extend_from_slice(b"\":");
    json.extend_from_slice(body);
    json.push(b'}');
    from_json(input, &json).map_err(|e| {
        let path = e.field();
        let path = if path.is_empty() { field.name() } else { path };
        invalid(path, unshift_column(e.message(), name.len() + 4))
    })
}

/// The error `message` of the wrapped body with its position back in the client's body:
/// `{"<field>":` moved the first line `by` columns.
fn unshift_column(message: &str, by: usize) -> String {
    if let Some((head, column)) = message.rsplit_once(" at line 1 column ")
        && let Ok(column) = column.parse::<usize>()
    {
        return format!("{head} at line 1 column {}", column.saturating_sub(by));
    }
    message.to_owned()
}

/// Sets the fields the query string names. Fields the path binds or the body carries are
/// not the query's to set.
fn query_fields(
    route: &Route,
    message: &mut DynamicMessage,
    query: &str,
) -> Result<(), tonic::Status> {
    let input = route.rule.method().input();
    let mut singular_set: Vec<Vec<FieldDescriptor>> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let chain = resolve(&input, &key).map_err(|e| invalid(&key, e))?;
        let top = &chain[0];
        match route.rule.body() {
            RuleBody::Whole => {
                return Err(invalid(
                    &key,
                    "this route takes every field from the body; send it there".into(),
                ));
            }
            RuleBody::Field(field) if field == top => {
                return Err(invalid(
                    &key,
                    format!("`{}` comes from the body; send it there", field.name()),
                ));
            }
            _ => {}
        }
        if route.rule.binds(top)
            && route
                .rule
                .path_fields()
                .any(|(_, bound)| bound == chain.as_slice())
        {
            return Err(invalid(&key, "the path sets this field".into()));
        }
        let leaf = &chain[chain.len() - 1];
        if !leaf.is_list() {
            if singular_set.contains(&chain) {
                return Err(invalid(
                    &key,
                    "given more than once, but the field is not repeated".into(),
                ));
            }
            singular_set.push(chain.clone());
        }
        set_from_text(message, &chain, &value).map_err(|e| invalid(&key, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_point_into_the_clients_body() {
        let message = "expected value at line 1 column 18";
        assert_eq!(
            super::unshift_column(message, 8),
            "expected value at line 1 column 10"
        );
        assert_eq!(
            super::unshift_column("at line 2 column 3", 8),
            "at line 2 column 3"
        );
    }
}
