//! The access log's line, written straight into Bia's log output when nothing else could see it
//! as an event.
//!
//! Through `tracing`, a line is an event: the context attached for its ids, the event built and
//! dispatched through every layer, its fields visited one by one. When the subscriber in charge
//! is the one [`init_logging`](super::init_logging) installed (no layer of the user's can be
//! listening) and no span is current (so the line's ids are the call's), the access log renders
//! the same bytes with the same code and hands them to the same writer, without any of that
//! (about 1,500 instructions a call, measured with callgrind).

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;
use tracing::Level;

use super::log_format::{
    Ids, JsonFields, Line, LogLayer, PrettyFields, json_head, pretty_head, pretty_tail,
};
use super::log_queue::LogQueue;
use crate::config::LogFormat;

/// The target of access-log lines.
pub(crate) const TARGET: &str = "bia::access";

/// One call's access-log line, as the fields of its event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccessLine<'a> {
    pub(crate) level: Level,
    pub(crate) method: &'a str,
    pub(crate) status: &'a str,
    pub(crate) duration_ms: f64,
    pub(crate) peer: Option<&'a str>,
}

impl AccessLine<'_> {
    /// Writes the line with the ids of `call` when the current subscriber lets Bia write its
    /// own lines; false when the caller has to log it as an event.
    pub(crate) fn write_direct(&self, call: &Context) -> bool {
        tracing::dispatcher::get_default(|dispatch| {
            match dispatch.downcast_ref::<LogLayer<LogQueue>>() {
                Some(layer) if layer.direct => {
                    let ids = Ids::of(call.span().span_context());
                    layer.write_line(|line| {
                        self.render(line, layer.format, layer.ansi, ids.as_ref())
                    });
                    true
                }
                _ => false,
            }
        })
    }

    /// Logs the line as an event of `tracing`, for whichever subscriber is in charge.
    pub(crate) fn log_event(&self) {
        let Self {
            method,
            status,
            duration_ms,
            peer,
            ..
        } = *self;
        // The message as a `str` field (first, where the macros put a formatted one), not a
        // format string: writers take it as it is, with no `fmt::Arguments` to run.
        if self.level == Level::INFO {
            tracing::info!(target: TARGET, message = "call", method, status, duration_ms, peer);
        } else {
            tracing::warn!(target: TARGET, message = "call", method, status, duration_ms, peer);
        }
    }

    /// The line as the log layer writes [`log_event`](Self::log_event)'s event.
    fn render(&self, line: &mut Line, format: LogFormat, ansi: bool, ids: Option<&Ids>) {
        match format {
            LogFormat::Pretty => {
                pretty_head(line, self.level, TARGET, ansi);
                self.fields(&mut PrettyFields { line, ansi });
                pretty_tail(line, ids, ansi);
            }
            LogFormat::Json => {
                json_head(line, self.level, TARGET, ids);
                self.fields(&mut JsonFields { line });
                line.push_str("}\n");
            }
        }
    }

    fn fields(&self, fields: &mut impl Fields) {
        fields.str_field("message", "call");
        fields.str_field("method", self.method);
        fields.str_field("status", self.status);
        fields.f64_field("duration_ms", self.duration_ms);
        if let Some(peer) = self.peer {
            fields.str_field("peer", peer);
        }
    }
}

/// The field writers of both formats.
trait Fields {
    fn str_field(&mut self, name: &str, value: &str);
    fn f64_field(&mut self, name: &str, value: f64);
}

impl Fields for PrettyFields<'_> {
    fn str_field(&mut self, name: &str, value: &str) {
        PrettyFields::str_field(self, name, value);
    }

    fn f64_field(&mut self, name: &str, value: f64) {
        PrettyFields::f64_field(self, name, value);
    }
}

impl Fields for JsonFields<'_> {
    fn str_field(&mut self, name: &str, value: &str) {
        JsonFields::str_field(self, name, value);
    }

    fn f64_field(&mut self, name: &str, value: f64) {
        JsonFields::f64_field(self, name, value);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::telemetry::test_support::{Captured, TRACE_ID, sampled_span};

    /// The line with its timestamp (the only part that differs between two writes) blanked.
    fn without_timestamp(line: &str) -> String {
        let at = line.find("20").expect("a timestamp");
        format!("{}<time>{}", &line[..at], &line[at + 27..])
    }

    fn call_context() -> Context {
        Context::new().with_remote_span_context(sampled_span(true))
    }

    #[test]
    fn the_direct_line_is_the_events_line_in_both_formats() {
        let lines = [
            AccessLine {
                level: Level::INFO,
                method: "shop.v1.Cart/Add",
                status: "OK",
                duration_ms: 0.379,
                peer: Some("127.0.0.1:50412"),
            },
            AccessLine {
                level: Level::WARN,
                method: "shop.v1.Cart/Add",
                status: "NOT_FOUND",
                duration_ms: 12.0,
                peer: None,
            },
        ];
        for (format, ansi) in [
            (LogFormat::Pretty, false),
            (LogFormat::Pretty, true),
            (LogFormat::Json, false),
        ] {
            for access in lines {
                let out = Captured::default();
                let writer = {
                    let out = out.clone();
                    move || out.clone()
                };
                let subscriber =
                    tracing_subscriber::registry().with(LogLayer::new(writer, format, ansi));
                tracing::subscriber::with_default(subscriber, || {
                    let _attached = call_context().attach();
                    access.log_event();
                });
                let event = out.text();
                let mut direct = Line::default();
                let ids = Ids::of(call_context().span().span_context());
                access.render(&mut direct, format, ansi, ids.as_ref());
                let direct = direct.text().to_owned();
                assert_eq!(
                    without_timestamp(&direct),
                    without_timestamp(&event),
                    "{format:?}, ansi {ansi}"
                );
                assert!(event.contains(TRACE_ID), "{event}");
            }
        }
    }

    #[test]
    fn only_a_subscriber_installed_as_bia_made_it_takes_direct_lines() {
        let access = AccessLine {
            level: Level::INFO,
            method: "m",
            status: "OK",
            duration_ms: 1.0,
            peer: None,
        };
        assert!(
            !access.write_direct(&call_context()),
            "no subscriber at all"
        );
        for direct in [false, true] {
            let out = Captured::default();
            let (writer, guard) = LogQueue::new(out.clone(), 1 << 20, false, "test-log").unwrap();
            let layer = LogLayer::new(writer, LogFormat::Json, false).direct(direct);
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::with_default(subscriber, || {
                assert_eq!(access.write_direct(&call_context()), direct);
            });
            drop(guard);
            let written = out.text();
            assert_eq!(written.contains("\"method\":\"m\""), direct, "{written}");
        }
    }
}
