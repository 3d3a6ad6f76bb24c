//! `ExportTraceServiceRequest` written straight from the SDK's `SpanData` into one buffer.
//!
//! Field numbers are those of `opentelemetry/proto/collector/trace/v1/trace_service.proto`,
//! `trace/v1/trace.proto`, `common/v1/common.proto` and `resource/v1/resource.proto`. A nested
//! message is written in place: its length is reserved as a guess before the body and fixed up
//! after it (moving the body only when the guess was wrong), so nothing is built twice and no
//! intermediate struct or string is allocated.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut as _, BytesMut};
use opentelemetry::trace::{SpanContext, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use prost::encoding::{WireType, encode_varint, encoded_len_varint};

/// `SpanFlags`: the low 8 bits carry the W3C trace flags; these say whether the parent (or a
/// link's span) is remote.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// The resource's part of every request, encoded once: the `Resource` message's fields and the
/// schema URL of `ResourceSpans`.
#[derive(Clone, Debug, Default)]
pub(crate) struct EncodedResource {
    attributes: Vec<u8>,
    schema_url: String,
}

impl EncodedResource {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut attributes = BytesMut::new();
        for (key, value) in resource.iter() {
            key_value(&mut attributes, 1, key.as_str(), value);
        }
        Self {
            attributes: attributes.to_vec(),
            schema_url: resource.schema_url().unwrap_or_default().to_owned(),
        }
    }
}

/// Appends to `buf` the `ExportTraceServiceRequest` of `spans`: one `ResourceSpans`, with one
/// `ScopeSpans` per instrumentation scope in the order the scopes first appear.
pub(crate) fn request(buf: &mut BytesMut, resource: &EncodedResource, spans: &[SpanData]) {
    // Bia's spans come from one or two tracers: a short list beats a map.
    let mut scopes: Vec<&InstrumentationScope> = Vec::with_capacity(2);
    for span in spans {
        if !scopes.contains(&&span.instrumentation_scope) {
            scopes.push(&span.instrumentation_scope);
        }
    }
    let one_scope = scopes.len() == 1;
    // ExportTraceServiceRequest.resource_spans = 1; a batch's length takes three bytes (up to
    // 2 MiB), so the guess is right and the body is never moved.
    message(buf, 1, 3, |buf| {
        // ResourceSpans.resource = 1 (Resource.attributes = 1 already encoded)
        message(buf, 1, 2, |buf| buf.put_slice(&resource.attributes));
        for scope in scopes {
            // ResourceSpans.scope_spans = 2
            message(buf, 2, 3, |buf| scope_spans(buf, scope, spans, one_scope));
        }
        string(buf, 3, &resource.schema_url);
    });
}

/// `scope`'s `ScopeSpans`; `only` says it is the batch's one scope (no span need be compared
/// with it).
fn scope_spans(buf: &mut BytesMut, scope: &InstrumentationScope, spans: &[SpanData], only: bool) {
    // ScopeSpans.scope = 1
    message(buf, 1, 1, |buf| {
        string(buf, 1, scope.name());
        string(buf, 2, scope.version().unwrap_or_default());
        for attribute in scope.attributes() {
            key_value(buf, 3, attribute.key.as_str(), &attribute.value);
        }
    });
    for span in spans
        .iter()
        .filter(|s| only || s.instrumentation_scope == *scope)
    {
        // ScopeSpans.spans = 2
        message(buf, 2, 2, |buf| self::span(buf, span));
    }
    string(buf, 3, scope.schema_url().unwrap_or_default());
}

fn span(buf: &mut BytesMut, span: &SpanData) {
    let context = &span.span_context;
    bytes(buf, 1, &context.trace_id().to_bytes());
    bytes(buf, 2, &context.span_id().to_bytes());
    trace_state(buf, 3, context);
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        bytes(buf, 4, &span.parent_span_id.to_bytes());
    }
    string(buf, 5, &span.name);
    uint(buf, 6, kind(&span.span_kind));
    fixed64(buf, 7, unix_nanos(span.start_time));
    fixed64(buf, 8, unix_nanos(span.end_time));
    attributes(buf, 9, &span.attributes);
    uint(buf, 10, u64::from(span.dropped_attributes_count));
    for event in &span.events.events {
        // Span.events = 11
        message(buf, 11, 1, |buf| {
            fixed64(buf, 1, unix_nanos(event.timestamp));
            string(buf, 2, &event.name);
            attributes(buf, 3, &event.attributes);
            uint(buf, 4, u64::from(event.dropped_attributes_count));
        });
    }
    uint(buf, 12, u64::from(span.events.dropped_count));
    for link in &span.links.links {
        // Span.links = 13
        message(buf, 13, 1, |buf| {
            let context = &link.span_context;
            bytes(buf, 1, &context.trace_id().to_bytes());
            bytes(buf, 2, &context.span_id().to_bytes());
            trace_state(buf, 3, context);
            attributes(buf, 4, &link.attributes);
            uint(buf, 5, u64::from(link.dropped_attributes_count));
            fixed32(buf, 6, flags(context, context.is_remote()));
        });
    }
    uint(buf, 14, u64::from(span.links.dropped_count));
    // Span.status = 15, always present (as the SDK's own exporter sends it).
    message(buf, 15, 1, |buf| {
        let (code, message) = match &span.status {
            Status::Unset => (0, ""),
            Status::Ok => (1, ""),
            Status::Error { description } => (2, description.as_ref()),
        };
        string(buf, 2, message);
        uint(buf, 3, code);
    });
    fixed32(buf, 16, flags(context, span.parent_span_is_remote));
}

fn flags(context: &SpanContext, remote: bool) -> u32 {
    let mut flags = u32::from(context.trace_flags().to_u8()) | HAS_IS_REMOTE;
    if remote {
        flags |= IS_REMOTE;
    }
    flags
}

fn trace_state(buf: &mut BytesMut, tag: u32, context: &SpanContext) {
    let state = context.trace_state();
    // The API offers the header form only, as a new String; most spans have no state.
    if *state != opentelemetry::trace::TraceState::NONE {
        string(buf, tag, &state.header());
    }
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn attributes(buf: &mut BytesMut, tag: u32, attributes: &[KeyValue]) {
    for attribute in attributes {
        key_value(buf, tag, attribute.key.as_str(), &attribute.value);
    }
}

/// A `KeyValue` message as field `tag`. Lengths of a scalar value are known before it is
/// written, so they are written exactly; an array goes through [`message`]'s guesses.
fn key_value(buf: &mut BytesMut, tag: u32, key: &str, value: &Value) {
    let Some(any) = scalar_len(value) else {
        message(buf, tag, 1, |buf| {
            string(buf, 1, key);
            // KeyValue.value = 2
            message(buf, 2, 1, |buf| any_value(buf, value));
        });
        return;
    };
    let key_part = if key.is_empty() {
        0
    } else {
        field_len(key.len())
    };
    field_key(buf, tag, WireType::LengthDelimited);
    varint(buf, (key_part + field_len(any)) as u64);
    string(buf, 1, key);
    field_key(buf, 2, WireType::LengthDelimited);
    varint(buf, any as u64);
    any_value(buf, value);
}

/// The encoded length of a scalar value's `AnyValue`; `None` for an array.
fn scalar_len(value: &Value) -> Option<usize> {
    Some(match value {
        Value::String(s) => field_len(s.as_str().len()),
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + encoded_len_varint(*i as u64),
        Value::F64(_) => 9,
        _ => return None,
    })
}

/// The encoded length of a length-delimited field (of a tag below 16) with `len` bytes.
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// A field's key.
fn field_key(buf: &mut BytesMut, tag: u32, wire: WireType) {
    varint(buf, u64::from(tag << 3 | wire as u32));
}

/// A varint, written in one piece: most are one byte.
fn varint(buf: &mut BytesMut, mut value: u64) {
    if value < 0x80 {
        buf.put_u8(value as u8);
        return;
    }
    let mut bytes = [0; 10];
    let mut n = 0;
    while value >= 0x80 {
        bytes[n] = value as u8 | 0x80;
        value >>= 7;
        n += 1;
    }
    bytes[n] = value as u8;
    buf.put_slice(&bytes[..=n]);
}

/// The fields of an `AnyValue`: exactly one of its `oneof`, written even when it is the
/// default (an empty string, `false`, 0), as a set `oneof` must be.
fn any_value(buf: &mut BytesMut, value: &Value) {
    match value {
        Value::String(s) => string_always(buf, 1, s.as_str()),
        Value::Bool(b) => bool_always(buf, 2, *b),
        Value::I64(i) => int_always(buf, 3, *i),
        Value::F64(f) => double_always(buf, 4, *f),
        // AnyValue.array_value = 5, ArrayValue.values = 1
        Value::Array(array) => message(buf, 5, 1, |buf| match array {
            Array::Bool(values) => {
                for v in values {
                    message(buf, 1, 1, |buf| bool_always(buf, 2, *v));
                }
            }
            Array::I64(values) => {
                for v in values {
                    message(buf, 1, 1, |buf| int_always(buf, 3, *v));
                }
            }
            Array::F64(values) => {
                for v in values {
                    message(buf, 1, 1, |buf| double_always(buf, 4, *v));
                }
            }
            Array::String(values) => {
                for v in values {
                    message(buf, 1, 1, |buf| string_always(buf, 1, v.as_str()));
                }
            }
            // A kind of array a later opentelemetry adds: an empty AnyValue says "no value"
            // rather than failing the whole batch.
            _ => {}
        }),
        _ => {}
    }
}

/// A length-delimited field `tag` whose body `write` appends. `guess` is the number of bytes
/// reserved for the length (1 up to 127 bytes, 2 up to 16 KiB, ...); a wrong guess costs one
/// move of the body.
fn message(buf: &mut BytesMut, tag: u32, guess: usize, write: impl FnOnce(&mut BytesMut)) {
    field_key(buf, tag, WireType::LengthDelimited);
    let at = buf.len();
    buf.put_bytes(0, guess);
    write(buf);
    let len = buf.len() - at - guess;
    let need = encoded_len_varint(len as u64);
    if need > guess {
        buf.put_bytes(0, need - guess);
        buf.copy_within(at + guess..at + guess + len, at + need);
    } else if need < guess {
        buf.copy_within(at + guess..at + guess + len, at + need);
        buf.truncate(at + need + len);
    }
    let mut slot = &mut buf[at..at + need];
    encode_varint(len as u64, &mut slot);
}

/// A proto3 string field: omitted when empty, as prost does.
fn string(buf: &mut BytesMut, tag: u32, value: &str) {
    if !value.is_empty() {
        string_always(buf, tag, value);
    }
}

fn string_always(buf: &mut BytesMut, tag: u32, value: &str) {
    bytes(buf, tag, value.as_bytes());
}

fn bytes(buf: &mut BytesMut, tag: u32, value: &[u8]) {
    field_key(buf, tag, WireType::LengthDelimited);
    varint(buf, value.len() as u64);
    buf.put_slice(value);
}

/// A varint field (uint32, enum): omitted when 0.
fn uint(buf: &mut BytesMut, tag: u32, value: u64) {
    if value != 0 {
        field_key(buf, tag, WireType::Varint);
        varint(buf, value);
    }
}

fn bool_always(buf: &mut BytesMut, tag: u32, value: bool) {
    field_key(buf, tag, WireType::Varint);
    varint(buf, u64::from(value));
}

fn int_always(buf: &mut BytesMut, tag: u32, value: i64) {
    field_key(buf, tag, WireType::Varint);
    // int64 is the two's complement as a varint (ten bytes for a negative number).
    varint(buf, value as u64);
}

fn double_always(buf: &mut BytesMut, tag: u32, value: f64) {
    field_key(buf, tag, WireType::SixtyFourBit);
    buf.put_f64_le(value);
}

/// A fixed64 field (timestamps): omitted when 0.
fn fixed64(buf: &mut BytesMut, tag: u32, value: u64) {
    if value != 0 {
        field_key(buf, tag, WireType::SixtyFourBit);
        buf.put_u64_le(value);
    }
}

/// A fixed32 field (flags): omitted when 0.
fn fixed32(buf: &mut BytesMut, tag: u32, value: u32) {
    if value != 0 {
        field_key(buf, tag, WireType::ThirtyTwoBit);
        buf.put_u32_le(value);
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
