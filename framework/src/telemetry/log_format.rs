//! The log line writer: one line per event, pretty or JSON, with the call's `trace_id` and
//! `span_id` as top-level fields.
//!
//! The ids come from the nearest enclosing span that has them: the server's `rpc` span gets them
//! from the call's span context when the trace layer binds it; any other span with `trace_id` and
//! `span_id` fields has them read once when it is created; a user span exported by the
//! [bridge](super::bridge) carries its own span id. Each line is formatted into a
//! reused per-thread buffer and handed to the writer in one piece.

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::bridge::SpanState;
use crate::config::LogFormat;

/// The ids a log line carries, as lowercase hex (kept in a span's [`SpanState`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ids {
    trace: [u8; 32],
    span: [u8; 16],
}

impl Ids {
    /// The ids of an OpenTelemetry span; `None` for an invalid (all-zero) context.
    pub(crate) fn of(span: &SpanContext) -> Option<Self> {
        if !span.is_valid() {
            return None;
        }
        let mut ids = Self {
            trace: [0; 32],
            span: [0; 16],
        };
        hex(&span.trace_id().to_bytes(), &mut ids.trace);
        hex(&span.span_id().to_bytes(), &mut ids.span);
        Some(ids)
    }

    fn trace_id(&self) -> &[u8] {
        &self.trace
    }

    fn span_id(&self) -> &[u8] {
        &self.span
    }
}

/// A log line being written. Bytes rather than a `String`, so that what the line makes of
/// ASCII itself (hex ids, a timestamp) goes in without a UTF-8 check; everything else goes in
/// as `&str`, so the line is always UTF-8.
#[derive(Debug, Default)]
pub(crate) struct Line(Vec<u8>);

impl Line {
    pub(crate) fn push_str(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    pub(crate) fn push(&mut self, c: char) {
        if c.is_ascii() {
            self.0.push(c as u8);
        } else {
            self.push_str(c.encode_utf8(&mut [0; 4]));
        }
    }

    /// ASCII the line's own code made (digits, hex).
    fn push_ascii(&mut self, ascii: &[u8]) {
        debug_assert!(ascii.is_ascii());
        self.0.extend_from_slice(ascii);
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The line as text, for tests.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a line is UTF-8")
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

/// Lowercase hex of `bytes` into `out`, which is twice as long.
pub(crate) fn hex(bytes: &[u8], out: &mut [u8]) {
    debug_assert_eq!(out.len(), 2 * bytes.len());
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
}

/// The two lowercase hex digits of every byte: one lookup a byte instead of two.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = [DIGITS[b >> 4], DIGITS[b & 0xf]];
        b += 1;
    }
    table
};

/// Reads `trace_id` and `span_id` fields (32 and 16 lowercase hex digits) at span creation.
#[derive(Default)]
struct IdFields {
    trace: HexField<32>,
    span: HexField<16>,
}

impl IdFields {
    fn ids(&self) -> Option<Ids> {
        let ids = Ids {
            trace: self.trace.complete()?,
            span: self.span.complete()?,
        };
        (ids.trace != [b'0'; 32]).then_some(ids)
    }
}

impl Visit for IdFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `write!` into a fixed buffer: no allocation; a value of the wrong shape is ignored.
        let _ = match field.name() {
            "trace_id" => write!(self.trace.reset(), "{value:?}"),
            "span_id" => write!(self.span.reset(), "{value:?}"),
            _ => Ok(()),
        };
    }
}

/// Exactly `N` lowercase hex digits, written through `fmt::Write`.
struct HexField<const N: usize> {
    digits: [u8; N],
    len: usize,
    bad: bool,
}

impl<const N: usize> Default for HexField<N> {
    fn default() -> Self {
        Self {
            digits: [0; N],
            len: 0,
            bad: true,
        }
    }
}

impl<const N: usize> HexField<N> {
    fn reset(&mut self) -> &mut Self {
        self.len = 0;
        self.bad = false;
        self
    }

    fn complete(&self) -> Option<[u8; N]> {
        (!self.bad && self.len == N).then_some(self.digits)
    }
}

impl<const N: usize> fmt::Write for HexField<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if self.len == N || !matches!(b, b'0'..=b'9' | b'a'..=b'f') {
                self.bad = true;
                return Err(fmt::Error);
            }
            self.digits[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// The layer that writes log lines; see the [module docs](self).
pub(crate) struct LogLayer<W> {
    writer: W,
    pub(super) format: LogFormat,
    pub(super) ansi: bool,
    /// Whether Bia's code may write its own lines straight to the writer, not through an event
    /// ([`super::access_line`]): only when this layer's subscriber was installed as it is, so
    /// no layer of the user's can be waiting for those events.
    pub(super) direct: bool,
}

impl<W> LogLayer<W> {
    pub(crate) fn new(writer: W, format: LogFormat, ansi: bool) -> Self {
        Self {
            writer,
            format,
            ansi,
            direct: false,
        }
    }

    /// Lets Bia's code write its lines directly (see [`direct`](Self::direct)).
    pub(crate) fn direct(mut self, direct: bool) -> Self {
        self.direct = direct;
        self
    }
}

impl<W: for<'w> MakeWriter<'w>> LogLayer<W> {
    /// Renders a line into a reused per-thread buffer and hands it to the writer in one piece.
    pub(super) fn write_line(&self, render: impl Fn(&mut Line)) {
        let write = |line: &mut Line| {
            line.clear();
            render(line);
            let _ = self.writer.make_writer().write_all(line.as_bytes());
        };
        // A field's Debug impl may log in turn: then the shared buffer is busy; use a fresh one.
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                write(&mut line);
                if line.capacity() > 64 * 1024 {
                    *line = Line::default();
                }
            }
            Err(_) => write(&mut Line::default()),
        });
    }
}

thread_local! {
    static LINE: RefCell<Line> = const { RefCell::new(Line(Vec::new())) };
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // The server's `rpc` span gets its ids from `bridge::bind_call`, straight from the
        // span context: no formatting of its fields.
        if attrs.metadata().target() == "bia::call" {
            return;
        }
        let fields = attrs.metadata().fields();
        if fields.field("trace_id").is_none() || fields.field("span_id").is_none() {
            // A span opened inside a call keeps the call's ids, so lines written in it carry
            // them even where it is entered outside the call (a task it instruments).
            if let Some(ids) = current_ids()
                && let Some(span) = ctx.span(id)
            {
                SpanState::update(&span, |state| {
                    state.ids.get_or_insert(ids);
                });
            }
            return;
        }
        let mut visitor = IdFields::default();
        attrs.record(&mut visitor);
        if let (Some(ids), Some(span)) = (visitor.ids(), ctx.span(id)) {
            SpanState::update(&span, |state| state.ids = Some(ids));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let ids = ctx
            .event_scope(event)
            .and_then(|mut scope| scope.find_map(|span| span.extensions().get::<SpanState>()?.ids))
            .or_else(current_ids);
        self.write_line(|line| match self.format {
            LogFormat::Json => json_line(line, event, ids.as_ref()),
            LogFormat::Pretty => pretty_line(line, event, ids.as_ref(), self.ansi),
        });
    }
}

/// The ids of the attached OpenTelemetry context: the call being served (the trace layer attaches
/// it while it polls the call), when no span carries ids of its own.
fn current_ids() -> Option<Ids> {
    opentelemetry::Context::map_current(|cx| Ids::of(cx.span().span_context()))
}

/// Whether the current subscriber is Bia's, whose lines take the call's ids from the attached
/// OpenTelemetry context (so a call needs no `tracing` span for them).
pub(crate) fn logs_read_context() -> bool {
    tracing::dispatcher::get_default(|dispatch| {
        dispatch.is::<LogLayer<super::log_queue::LogQueue>>()
    })
}

/// Field names the line itself uses; an event field with one of them is written as `fields.<name>`.
const RESERVED: [&str; 5] = ["timestamp", "level", "target", "trace_id", "span_id"];

fn json_line(line: &mut Line, event: &Event<'_>, ids: Option<&Ids>) {
    let normalized = event.normalized_metadata();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    json_head(line, *meta.level(), meta.target(), ids);
    event.record(&mut JsonFields { line });
    line.push_str("}\n");
}

/// A JSON line up to its event's fields: timestamp, level, target and the ids.
pub(super) fn json_head(line: &mut Line, level: Level, target: &str, ids: Option<&Ids>) {
    line.push_str("{\"timestamp\":\"");
    timestamp(line, SystemTime::now());
    line.push_str("\",\"level\":\"");
    line.push_str(level.as_str());
    line.push_str("\",\"target\":");
    json_str(line, target);
    if let Some(ids) = ids {
        line.push_str(",\"trace_id\":\"");
        line.push_ascii(ids.trace_id());
        line.push_str("\",\"span_id\":\"");
        line.push_ascii(ids.span_id());
        line.push('"');
    }
}

/// Writes an event's fields into a JSON line, after [`json_head`]; `}` and the newline follow.
pub(super) struct JsonFields<'a> {
    pub(super) line: &'a mut Line,
}

impl JsonFields<'_> {
    fn key(&mut self, name: &str) -> bool {
        if name.starts_with("log.") {
            return false;
        }
        self.line.push_str(",\"");
        if RESERVED.contains(&name) {
            self.line.push_str("fields.");
        }
        escape_json(self.line, name);
        self.line.push_str("\":");
        true
    }

    fn number(&mut self, field: &Field, value: impl fmt::Display) {
        if self.key(field.name()) {
            let _ = write!(self.line, "{value}");
        }
    }

    /// A string field.
    pub(super) fn str_field(&mut self, name: &str, value: &str) {
        if self.key(name) {
            json_str(self.line, value);
        }
    }

    /// A float field.
    pub(super) fn f64_field(&mut self, name: &str, value: f64) {
        if self.key(name) {
            if value.is_finite() {
                // As serde_json writes it (`1.0`, not `1`), so a field stays a float in a
                // log store's schema even when a value happens to be whole.
                push_f64(self.line, value);
            } else {
                // JSON has no NaN or infinity.
                let _ = write!(self.line, "\"{value}\"");
            }
        }
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.str_field(field.name(), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field.name()) {
            self.line.push_str(if value { "true" } else { "false" });
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.number(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.number(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.f64_field(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.key(field.name()) {
            self.line.push('"');
            let _ = write!(Escaping(self.line, escape_json), "{value:?}");
            self.line.push('"');
        }
    }
}

fn json_str(line: &mut Line, value: &str) {
    line.push('"');
    escape_json(line, value);
    line.push('"');
}

/// Escapes for the inside of a JSON string: quote, backslash and every control character.
fn escape_json(line: &mut Line, value: &str) {
    let mut start = 0;
    for (i, &b) in value.as_bytes().iter().enumerate() {
        if !JSON_ESCAPED[usize::from(b)] {
            continue;
        }
        line.push_str(&value[start..i]);
        match b {
            b'"' => line.push_str("\\\""),
            b'\\' => line.push_str("\\\\"),
            b'\n' => line.push_str("\\n"),
            b'\r' => line.push_str("\\r"),
            b'\t' => line.push_str("\\t"),
            _ => {
                let _ = write!(line, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    line.push_str(&value[start..]);
}

/// The bytes [`escape_json`] replaces (all of them ASCII, so cutting before one is safe).
static JSON_ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table
};

/// RFC 3339 in UTC with microseconds, `2026-12-02T01:50:34.123456Z`, without going through
/// `fmt` (this runs for every line). The part up to the seconds changes once a second: each
/// thread keeps the last one it wrote.
fn timestamp(line: &mut Line, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let (seconds, fraction) = out.split_at_mut(19);
    LAST_SECOND.with(|last| match last.get() {
        (at, text) if at == secs => seconds.copy_from_slice(&text),
        _ => {
            date_time(seconds, secs);
            let mut text = [0; 19];
            text.copy_from_slice(seconds);
            last.set((secs, text));
        }
    });
    digits(&mut fraction[1..7], u64::from(since.subsec_micros()));
    line.push_ascii(&out);
}

thread_local! {
    /// The second [`timestamp`] last wrote on this thread, and its text.
    static LAST_SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the Unix epoch, into `out` (19 bytes, with the
/// separators already in place).
fn date_time(out: &mut [u8], secs: u64) {
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    digits(&mut out[0..4], year);
    digits(&mut out[5..7], month);
    digits(&mut out[8..10], day);
    digits(&mut out[11..13], of_day / 3600);
    digits(&mut out[14..16], of_day / 60 % 60);
    digits(&mut out[17..19], of_day % 60);
}

/// Writes the last `out.len()` decimal digits of `n`.
fn digits(out: &mut [u8], mut n: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Formats into the line through an escaping function, with no string in between.
struct Escaping<'a>(&'a mut Line, fn(&mut Line, &str));

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        (self.1)(self.0, s);
        Ok(())
    }
}

const DIM: &str = "\x1b[2m";
const ITALIC: &str = "\x1b[3m";
const RESET: &str = "\x1b[0m";

fn level_color(level: Level) -> &'static str {
    match level {
        Level::ERROR => "\x1b[31m",
        Level::WARN => "\x1b[33m",
        Level::INFO => "\x1b[32m",
        Level::DEBUG => "\x1b[34m",
        Level::TRACE => "\x1b[35m",
    }
}

/// The level right-aligned in five columns, as `{:>5}` would write it.
fn padded_level(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => " WARN",
        Level::INFO => " INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// `2026-12-02T01:50:34.123456Z  INFO target: message key=value trace_id=... span_id=...`
fn pretty_line(line: &mut Line, event: &Event<'_>, ids: Option<&Ids>, ansi: bool) {
    let normalized = event.normalized_metadata();
    let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
    pretty_head(line, *meta.level(), meta.target(), ansi);
    event.record(&mut PrettyFields { line, ansi });
    pretty_tail(line, ids, ansi);
}

fn style(line: &mut Line, ansi: bool, code: &str) {
    if ansi {
        line.push_str(code);
    }
}

/// A pretty line up to its event's fields: timestamp, level and target.
pub(super) fn pretty_head(line: &mut Line, level: Level, target: &str, ansi: bool) {
    style(line, ansi, DIM);
    timestamp(line, SystemTime::now());
    style(line, ansi, RESET);
    line.push(' ');
    style(line, ansi, level_color(level));
    line.push_str(padded_level(level));
    style(line, ansi, RESET);
    line.push(' ');
    style(line, ansi, DIM);
    escape_pretty(line, target);
    line.push(':');
    style(line, ansi, RESET);
}

/// The end of a pretty line, after its fields: the ids and the newline.
pub(super) fn pretty_tail(line: &mut Line, ids: Option<&Ids>, ansi: bool) {
    if let Some(ids) = ids {
        for (key, value) in [("trace_id", ids.trace_id()), ("span_id", ids.span_id())] {
            line.push(' ');
            style(line, ansi, ITALIC);
            line.push_str(key);
            style(line, ansi, RESET);
            line.push('=');
            line.push_ascii(value);
        }
    }
    line.push('\n');
}

/// Writes an event's fields into a pretty line, between [`pretty_head`] and [`pretty_tail`].
pub(super) struct PrettyFields<'a> {
    pub(super) line: &'a mut Line,
    pub(super) ansi: bool,
}

impl PrettyFields<'_> {
    /// Writes ` key=` (nothing for the message); false for fields that are not shown.
    fn key(&mut self, name: &str) -> bool {
        if name.starts_with("log.") {
            return false;
        }
        self.line.push(' ');
        if name == "message" {
            return true;
        }
        if self.ansi {
            self.line.push_str(ITALIC);
        }
        if RESERVED.contains(&name) {
            self.line.push_str("fields.");
        }
        self.line.push_str(name);
        if self.ansi {
            self.line.push_str(RESET);
        }
        self.line.push('=');
        true
    }

    /// A string field: quoted when it must be, control characters escaped.
    pub(super) fn str_field(&mut self, name: &str, value: &str) {
        if !self.key(name) {
            return;
        }
        // One pass over the value decides how it is written (most values need nothing).
        let class = value
            .bytes()
            .fold(0, |class, b| class | PRETTY_CLASS[usize::from(b)]);
        let plain = !value.is_empty() && class & QUOTED == 0;
        if plain || name == "message" {
            if class & UNPRINTABLE == 0 {
                self.line.push_str(value);
            } else {
                escape_pretty(self.line, value);
            }
        } else {
            self.line.push('"');
            let _ = write!(self.line, "{}", value.escape_debug());
            self.line.push('"');
        }
    }

    /// A float field, written as `{:?}` writes it.
    pub(super) fn f64_field(&mut self, name: &str, value: f64) {
        if self.key(name) {
            push_f64(self.line, value);
        }
    }
}

impl Visit for PrettyFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.str_field(field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.key(field.name()) {
            let _ = write!(Escaping(self.line, escape_pretty), "{value:?}");
        }
    }

    // Numbers need no escaping: written straight into the line.
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.f64_field(field.name(), value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field.name()) {
            let _ = write!(self.line, "{value}");
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field.name()) {
            let _ = write!(self.line, "{value}");
        }
    }
}

/// A value with one of these bytes is quoted in a pretty line (a space, `"`, `=`, `\\`, or what
/// [`UNPRINTABLE`] marks).
const QUOTED: u8 = 1;
/// Bytes outside printable ASCII: control characters, DEL and every byte of a non-ASCII char.
const UNPRINTABLE: u8 = 2;

/// What each byte makes of a pretty value: [`QUOTED`] and [`UNPRINTABLE`] flags.
static PRETTY_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b' ' | b'"' | b'=' | b'\\' => QUOTED,
            0..=0x1f | 0x7f => QUOTED | UNPRINTABLE,
            0x80..=0xff => UNPRINTABLE,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// Writes `value` as `{:?}` would, without `fmt` for the usual magnitudes: there `{:?}` writes
/// the shortest digits that read back as `value`, in plain decimal, with a `.0` on whole numbers,
/// which is what `zmij` writes too. Outside that range `{:?}` uses exponents (valid JSON as
/// well), so `fmt` writes them.
fn push_f64(line: &mut Line, value: f64) {
    if !(1e-4..1e15).contains(&value.abs()) {
        let _ = write!(line, "{value:?}");
        return;
    }
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format_finite(value);
    line.push_str(text);
    if !text.contains('.') {
        line.push_str(".0");
    }
}

/// Control characters (newlines, escape sequences) written as `\n`, `\u{1b}`: one event is one
/// line, and a value cannot paint the terminal.
fn escape_pretty(line: &mut Line, value: &str) {
    // Printable ASCII, the usual case, goes in as it is.
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        line.push_str(value);
        return;
    }
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if c.is_control() {
            line.push_str(&value[start..i]);
            let _ = write!(line, "{}", c.escape_debug());
            start = i + c.len_utf8();
        }
    }
    line.push_str(&value[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping_covers_quotes_backslashes_and_control_characters() {
        let mut out = Line::default();
        escape_json(&mut out, "a\"b\\c\nd\u{1b}[31me\u{7f}é");
        let out = out.text();
        assert_eq!(out, "a\\\"b\\\\c\\nd\\u001b[31me\\u007fé");
        let parsed: String = serde_json::from_str(&format!("\"{out}\"")).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1b}[31me\u{7f}é");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        for (secs, expected) in [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (951_868_799, "2000-02-29T23:59:59"),
            (1_709_210_096, "2024-02-29T12:34:56"),
            (1_798_860_345, "2027-01-02T03:25:45"),
            (4_102_444_800, "2100-01-01T00:00:00"),
        ] {
            // Twice in the same second (the second time from this thread's last second), then
            // a microsecond later.
            for nanos in [1_234_567, 1_234_567, 1_235_567] {
                let mut out = Line::default();
                let at = UNIX_EPOCH + std::time::Duration::new(secs, nanos);
                timestamp(&mut out, at);
                let micros = nanos / 1000;
                assert_eq!(out.text(), format!("{expected}.{micros:06}Z"));
            }
        }
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut out = vec![0; 512];
        hex(&bytes, &mut out);
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(std::str::from_utf8(&out).unwrap(), expected);
    }

    #[test]
    fn pretty_escaping_keeps_one_line_and_no_escape_bytes() {
        let mut out = Line::default();
        escape_pretty(&mut out, "one\ntwo\u{1b}[0m");
        assert_eq!(out.text(), "one\\ntwo\\u{1b}[0m");
        out.clear();
        escape_pretty(&mut out, "plain ascii, é and \u{85}");
        assert_eq!(out.text(), "plain ascii, é and \\u{85}");
    }

    #[test]
    fn floats_are_written_as_fmt_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.5,
            2.5,
            100.0,
            1e-4,
            9.99e-5,
            1e-5,
            0.084123,
            12.75,
            1234.5678,
            1e14,
            9.999_999_999_999_99e14,
            1e15,
            1e16,
            1.5e16,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Durations as the access log writes them (ms from whole µs), over many magnitudes.
        let mut x = 1.234_567e-7_f64;
        while x < 1e17 {
            values.extend([x, x * 1000.0 / 3.0, (x * 1e6).round() / 1e6]);
            x *= 1.7;
        }
        for value in values {
            let mut written = Line::default();
            push_f64(&mut written, value);
            assert_eq!(written.text(), format!("{value:?}"));
        }
    }

    #[test]
    fn pretty_values_are_quoted_only_when_they_must_be() {
        let line = |value: &str| {
            let mut line = Line::default();
            let mut fields = PrettyFields {
                line: &mut line,
                ansi: false,
            };
            let callsite = tracing::callsite::Identifier(&CALLSITE);
            let field = tracing::field::FieldSet::new(&["key"], callsite)
                .field("key")
                .unwrap();
            fields.record_str(&field, value);
            line.text().to_owned()
        };
        assert_eq!(line("plain/value.1"), " key=plain/value.1");
        assert_eq!(line(""), " key=\"\"");
        assert_eq!(line("two words"), " key=\"two words\"");
        assert_eq!(line("a=b"), " key=\"a=b\"");
        assert_eq!(line("line\nbreak"), " key=\"line\\nbreak\"");
        assert_eq!(line("café"), " key=café");
        assert_eq!(line("caf\u{85}"), " key=caf\\u{85}");
    }

    struct NoCallsite;
    static CALLSITE: NoCallsite = NoCallsite;
    impl tracing::callsite::Callsite for NoCallsite {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &tracing::Metadata<'_> {
            unreachable!("only names its fields")
        }
    }

    #[test]
    fn levels_are_padded_as_fmt_pads_them() {
        for level in [
            Level::ERROR,
            Level::WARN,
            Level::INFO,
            Level::DEBUG,
            Level::TRACE,
        ] {
            assert_eq!(padded_level(level), format!("{:>5}", level.as_str()));
        }
    }

    #[test]
    fn ids_are_read_only_from_well_formed_hex() {
        let mut field = HexField::<4>::default();
        assert_eq!(field.complete(), None);
        field.reset().write_str("00af").unwrap();
        assert_eq!(field.complete(), Some(*b"00af"));
        assert!(field.reset().write_str("00AF").is_err());
        assert_eq!(field.complete(), None);
        assert!(field.reset().write_str("00af0").is_err());
        assert_eq!(field.complete(), None);
    }
}
