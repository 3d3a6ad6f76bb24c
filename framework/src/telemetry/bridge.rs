//! Spans users make with `tracing` inside a call, exported as OpenTelemetry spans of that call's
//! trace, by the App that serves the call.
//!
//! The server's trace layer polls each recorded call with its OpenTelemetry context attached,
//! carrying the App's tracer (under a subscriber that is not Bia's, it also runs the call inside a
//! `tracing` span `rpc` bound to both). Every `tracing` span created in the call, directly or
//! nested, becomes an OpenTelemetry span (kind INTERNAL) of the same App, child of the SERVER span
//! or of the enclosing user span:
//!
//! - named after the `tracing` span (`#[instrument]`: the function's name);
//! - its fields are attributes, and so are fields recorded later with [`tracing::Span::record`];
//! - events inside it (`tracing::info!` ...) are span events named after their message, with
//!   their fields, `level` and `target` as attributes; an `ERROR` event sets the span's status to
//!   error with the message as description (so `#[instrument(err)]` marks a failed operation);
//! - it ends when the `tracing` span closes;
//! - while it is entered, it is the current OpenTelemetry context, so calls made through
//!   [`bia::client`](crate::client) are its children.
//!
//! Spans outside any call are not exported, and the `rpc` span, where there is one, adds no span
//! of its own.
//! Spans at `INFO` and above always exist, whatever `log.level` says (only log lines follow it);
//! `DEBUG` and `TRACE` spans exist, and are exported, only when `log.level` enables them.
//!
//! A handler adds to the current span like this:
//!
//! ```
//! #[tracing::instrument(skip(db), fields(user.id = id, found))]
//! async fn load_user(db: &Db, id: u64) -> Result<String, bia::Error> {
//!     tracing::info!(cache = "miss", "loading"); // a span event, and a log line with trace_id
//!     let name = db.get(id).await;
//!     tracing::Span::current().record("found", name.is_some()); // an attribute, set later
//!     name.ok_or_else(|| bia::Error::not_found("USER_NOT_FOUND", "no such user"))
//! }
//! # struct Db;
//! # impl Db { async fn get(&self, _: u64) -> Option<String> { None } }
//! ```
//!
//! Binaries get the bridge from [`init_logging`](super::init_logging); tests and binaries that
//! build their own subscriber get it from [`Logging::subscriber`](super::Logging::subscriber).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::{self, Write as _};

use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context as OtelContext, ContextGuard, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::log_format::Ids;

/// The layer; see the [module docs](self). [`Logging`](super::Logging) includes it; add it
/// yourself only to a subscriber of your own (built on [`tracing_subscriber::Registry`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SpanBridge;

/// What Bia keeps in a span's extensions, in one allocation: the ids its log lines carry, and
/// its binding to a call.
#[derive(Default)]
pub(crate) struct SpanState {
    pub(crate) ids: Option<Ids>,
    binding: Option<Binding>,
}

impl SpanState {
    /// Changes the state of `span`, adding it on first use.
    pub(crate) fn update<S>(span: &SpanRef<'_, S>, change: impl FnOnce(&mut Self))
    where
        S: for<'a> LookupSpan<'a>,
    {
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<Self>() {
            Some(state) => change(state),
            None => {
                let mut state = Self::default();
                change(&mut state);
                extensions.insert(state);
            }
        }
    }
}

/// The OpenTelemetry context a span's children start from, and the tracer of the App serving
/// the call. `owned`: the bridge started that span and ends it.
struct Binding {
    cx: OtelContext,
    tracer: SdkTracer,
    owned: bool,
}

/// The tracer of the App serving a call, in the call's OpenTelemetry context: user spans opened
/// in the call with no bound `tracing` parent become its children, exported by that App. With
/// Bia's own subscriber the call needs no `tracing` span for this.
#[derive(Clone, Debug)]
pub(crate) struct CallTracer(pub(crate) SdkTracer);

/// Binds the call's `tracing` span to its OpenTelemetry context (holding the SERVER span) and
/// the App's tracer, so that user spans inside it are exported, and gives it the ids its log lines
/// carry. Does nothing when the span is disabled or the subscriber is not built on a
/// [`Registry`]; binds nothing without the bridge.
pub(crate) fn bind_call(span: &tracing::Span, cx: &OtelContext, tracer: &SdkTracer) {
    span.with_subscriber(|(id, dispatch)| {
        let Some(span) = dispatch
            .downcast_ref::<Registry>()
            .and_then(|registry| registry.span(id))
        else {
            return;
        };
        let bridged = dispatch.downcast_ref::<SpanBridge>().is_some();
        SpanState::update(&span, |state| {
            state.ids = Ids::of(cx.span().span_context());
            if bridged {
                state.binding = Some(Binding {
                    cx: cx.clone(),
                    tracer: tracer.clone(),
                    owned: false,
                });
            }
        });
    });
}

thread_local! {
    /// The OpenTelemetry contexts attached by entered user spans of this thread, innermost last.
    static ENTERED: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

impl<S> Layer<S> for SpanBridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let bound = span.parent().and_then(|parent| {
            let extensions = parent.extensions();
            let binding = extensions.get::<SpanState>()?.binding.as_ref()?;
            Some((binding.cx.clone(), binding.tracer.clone()))
        });
        // Else the call being polled, if it carries its App's tracer.
        let Some((parent_cx, tracer)) = bound.or_else(|| {
            OtelContext::map_current(|cx| Some((cx.clone(), cx.get::<CallTracer>()?.0.clone())))
        }) else {
            return;
        };
        // Bia's sampler follows the parent: an unsampled call records nothing, so skip the fields.
        let mut attributes = Vec::new();
        if parent_cx.span().span_context().is_sampled() {
            attrs.record(&mut AttributeFields(&mut attributes));
        }
        let builder = SpanBuilder::from_name(Cow::Borrowed(attrs.metadata().name()))
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes);
        let otel_span = tracer.build_with_context(builder, &parent_cx);
        let cx = parent_cx.with_span(otel_span);
        SpanState::update(&span, |state| {
            state.ids = Ids::of(cx.span().span_context());
            state.binding = Some(Binding {
                cx,
                tracer,
                owned: true,
            });
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(cx) = owned_context(&ctx, id) else {
            return;
        };
        let span = cx.span();
        if span.is_recording() {
            let mut attributes = Vec::new();
            values.record(&mut AttributeFields(&mut attributes));
            span.set_attributes(attributes);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(cx) = owned_context(&ctx, id) {
            let guard = cx.attach();
            ENTERED.with(|entered| entered.borrow_mut().push((id.clone(), guard)));
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if !is_owned(&ctx, id) {
            return;
        }
        // Usually the innermost; a span exited out of order is found further down.
        let guard = ENTERED.with(|entered| {
            let mut entered = entered.borrow_mut();
            let at = entered.iter().rposition(|(entered, _)| entered == id)?;
            Some(entered.remove(at))
        });
        // Dropped here, after the borrow: detaching may run other code.
        drop(guard);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(cx) = ctx
            .event_span(event)
            .and_then(|span| owned_context(&ctx, &span.id()))
        else {
            return;
        };
        let otel_span = cx.span();
        if !otel_span.is_recording() {
            return;
        }
        let meta = event.metadata();
        let mut visitor = EventFields {
            message: String::new(),
            attributes: vec![
                KeyValue::new("level", meta.level().as_str()),
                KeyValue::new("target", meta.target().to_owned()),
            ],
        };
        event.record(&mut visitor);
        let EventFields {
            message,
            attributes,
        } = visitor;
        if *meta.level() == Level::ERROR {
            otel_span.set_status(Status::error(message.clone()));
        }
        let name = if message.is_empty() {
            Cow::Borrowed("event")
        } else {
            Cow::Owned(message)
        };
        otel_span.add_event(name, attributes);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(cx) = owned_context(&ctx, &id) {
            cx.span().end();
        }
    }
}

/// The context of span `id` when the bridge started its OpenTelemetry span: cloned, so that no
/// lock on the span's extensions is held while OpenTelemetry runs.
fn owned_context<S>(ctx: &Context<'_, S>, id: &Id) -> Option<OtelContext>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    let extensions = span.extensions();
    let binding = owned_binding(extensions.get::<SpanState>())?;
    Some(binding.cx.clone())
}

fn owned_binding(state: Option<&SpanState>) -> Option<&Binding> {
    state?.binding.as_ref().filter(|b| b.owned)
}

fn is_owned<S>(ctx: &Context<'_, S>, id: &Id) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)
        .is_some_and(|span| owned_binding(span.extensions().get::<SpanState>()).is_some())
}

/// Span fields as OpenTelemetry attributes.
struct AttributeFields<'a>(&'a mut Vec<KeyValue>);

impl Visit for AttributeFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(KeyValue::new(field.name(), value.to_owned()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push(KeyValue::new(field.name(), value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push(KeyValue::new(field.name(), value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push(match i64::try_from(value) {
            Ok(value) => KeyValue::new(field.name(), value),
            Err(_) => KeyValue::new(field.name(), value.to_string()),
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push(KeyValue::new(field.name(), value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .push(KeyValue::new(field.name(), format!("{value:?}")));
    }
}

/// An event's message and fields.
struct EventFields {
    message: String,
    attributes: Vec<KeyValue>,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            AttributeFields(&mut self.attributes).record_str(field, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        AttributeFields(&mut self.attributes).record_bool(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        AttributeFields(&mut self.attributes).record_i64(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        AttributeFields(&mut self.attributes).record_u64(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        AttributeFields(&mut self.attributes).record_f64(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if !field.name().starts_with("log.") {
            AttributeFields(&mut self.attributes).record_debug(field, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{SpanId, Status, TracerProvider as _};
    use opentelemetry::{Key, Value};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Debug, Default)]
    struct Exported(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Exported {
        fn export(
            &self,
            batch: Vec<SpanData>,
        ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
            self.0.lock().unwrap().extend(batch);
            std::future::ready(Ok(()))
        }
    }

    fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key == Key::from(key.to_owned()))
            .map(|kv| &kv.value)
    }

    #[test]
    fn user_spans_carry_fields_events_and_status_and_are_current_while_entered() {
        let exported = Exported::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exported.clone())
            .build();
        let tracer = provider.tracer("test");
        let subscriber = tracing_subscriber::registry().with(SpanBridge);
        let mut user_id = SpanId::INVALID;
        let server_cx = OtelContext::new().with_span(tracer.start("server"));
        let server_id = server_cx.span().span_context().span_id();
        tracing::subscriber::with_default(subscriber, || {
            let rpc = tracing::info_span!("rpc");
            bind_call(&rpc, &server_cx, &tracer);
            let _attached = server_cx.clone().attach();
            rpc.in_scope(|| {
                let user = tracing::info_span!("user", a = 1, later = tracing::field::Empty);
                user.in_scope(|| {
                    user_id = OtelContext::current().span().span_context().span_id();
                    tracing::info!(k = "v", "hello");
                    tracing::Span::current().record("later", "set");
                    tracing::error!("it broke");
                });
                assert_eq!(
                    OtelContext::current().span().span_context().span_id(),
                    server_id,
                    "leaving the user span restores the call's context"
                );
            });
            tracing::info_span!("outside any call").in_scope(|| {});
        });
        server_cx.span().end();

        let spans = exported.0.lock().unwrap();
        assert_eq!(spans.len(), 2, "{spans:#?}");
        let user = spans.iter().find(|s| s.name == "user").unwrap();
        assert_eq!(user.span_context.span_id(), user_id);
        assert_ne!(user_id, server_id);
        assert_eq!(user.parent_span_id, server_id);
        assert_eq!(user.span_kind, SpanKind::Internal);
        assert_eq!(attr(&user.attributes, "a"), Some(&Value::I64(1)));
        assert_eq!(attr(&user.attributes, "later"), Some(&"set".into()));
        assert_eq!(user.status, Status::error("it broke"));
        let events: Vec<_> = user.events.iter().collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].name, "hello");
        assert_eq!(attr(&events[0].attributes, "k"), Some(&"v".into()));
        assert_eq!(attr(&events[0].attributes, "level"), Some(&"INFO".into()));
        assert_eq!(events[1].name, "it broke");
    }
}
