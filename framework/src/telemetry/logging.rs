//! The binary's log output: a `tracing` subscriber writing pretty or JSON lines, buffered and off
//! the request path, plus the [bridge](super::bridge) that exports users' spans.
//!
//! Only a binary calls [`init_logging`]; the library never installs globals. Every line written
//! inside a call carries its `trace_id` and `span_id` as top-level fields (the server's trace
//! layer runs every call inside a `rpc` span with those fields; a user span inside the call gives
//! its own `span_id`).
//!
//! Lines go to standard output through a background thread: the thread that logs only formats
//! the line and appends it to the pending bytes (up to 2 MiB), which the writer thread writes out
//! in one piece ([`super::log_queue`]). When they are full, logging waits for room (no line is
//! lost, a stalled output stalls the service) unless `log.lossy = true`, which drops the line
//! instead and reports how many were dropped when the [`LoggingGuard`] is dropped.
//! The guard writes out what is queued when dropped, so `main` keeps it until the end. ANSI
//! colours only when standard output is a terminal (and `NO_COLOR` is unset).

use std::io::{IsTerminal, Write};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use super::bridge::SpanBridge;
use super::log_format::LogLayer;
use super::log_queue::{LogQueue, QueueGuard};
use crate::config::{Config, LogFormat};
use crate::error::BoxError;
use crate::impls::debug_shows;

/// How many bytes of lines may wait for the writer thread: about 10 000 lines of 200 bytes, far
/// more than a writer that keeps up ever holds. They take memory only as they wait.
const PENDING_BYTES: usize = 2 * 1024 * 1024;

/// Keeps log output going; dropping it writes out the queued lines (waiting up to about a second)
/// and stops the writer thread.
#[must_use = "log lines queued when the guard is dropped are written out, later ones are lost"]
pub struct LoggingGuard {
    worker: Option<QueueGuard>,
    queue: LogQueue,
}

impl std::fmt::Debug for LoggingGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggingGuard")
            .field("dropped_lines", &self.queue.dropped_lines())
            .finish_non_exhaustive()
    }
}

impl Drop for LoggingGuard {
    fn drop(&mut self) {
        drop(self.worker.take());
        let dropped = self.queue.dropped_lines();
        if dropped > 0 {
            eprintln!("bia: {dropped} log lines were dropped because the output was too slow");
        }
    }
}

/// Installs the global `tracing` subscriber: level from `log.level` (or `RUST_LOG`), format from
/// `log.format`, output to standard output. Fails on a bad filter or if a subscriber is
/// installed already. Same as `Logging::new(config)?.init()`.
pub fn init_logging(config: &Config) -> Result<LoggingGuard, BoxError> {
    Logging::new(config)?.init()
}

/// The log subscriber [`init_logging`] installs, for a binary or a test that wants it with
/// another writer, or without installing it globally.
///
/// ```
/// use tracing_subscriber::util::SubscriberInitExt as _;
///
/// let config = bia::Config::builder("demo").env(false).build().unwrap();
/// let (subscriber, guard) = bia::telemetry::Logging::new(&config)
///     .unwrap()
///     .writer(std::io::sink())
///     .subscriber();
/// let _default = subscriber.set_default(); // this thread only
/// tracing::info!("written to the sink");
/// drop(guard);
/// ```
pub struct Logging {
    filter: EnvFilter,
    format: LogFormat,
    lossy: bool,
    writer: Option<Box<dyn Write + Send>>,
    ansi: Option<bool>,
}

debug_shows!(Logging {
    filter,
    format,
    lossy
});

impl Logging {
    /// Reads `log.level` (or `RUST_LOG`, when set and not empty), `log.format` and `log.lossy`.
    pub fn new(config: &Config) -> Result<Self, BoxError> {
        let filter = match std::env::var("RUST_LOG") {
            Ok(value) if !value.is_empty() => EnvFilter::try_new(&value)
                .map_err(|e| format!("RUST_LOG = {value:?} is not a valid filter: {e}"))?,
            _ => EnvFilter::try_new(&config.log.level).map_err(|e| {
                format!(
                    "log.level = {:?} is not a valid filter (try \"info\" or \"info,my_service=debug\"): {e}",
                    config.log.level
                )
            })?,
        };
        Ok(Self {
            filter,
            format: config.log.format,
            lossy: config.log.lossy,
            writer: None,
            ansi: None,
        })
    }

    /// Writes to `writer` instead of standard output; without colours unless [`ansi`](Self::ansi)
    /// says otherwise.
    pub fn writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.writer = Some(Box::new(writer));
        self
    }

    /// Colours on or off, instead of deciding from the output.
    pub fn ansi(mut self, ansi: bool) -> Self {
        self.ansi = Some(ansi);
        self
    }

    /// The subscriber and the guard of its writer thread; install it as you like.
    pub fn subscriber(
        self,
    ) -> (
        impl Subscriber + Send + Sync + for<'a> LookupSpan<'a> + 'static,
        LoggingGuard,
    ) {
        self.build(false)
    }

    /// `direct`: whether Bia's own lines may skip `tracing`'s dispatch (only for a subscriber
    /// installed as it is, which no layer of the user's can wrap).
    fn build(
        self,
        direct: bool,
    ) -> (
        impl Subscriber + Send + Sync + for<'a> LookupSpan<'a> + 'static,
        LoggingGuard,
    ) {
        let ansi = self.ansi.unwrap_or_else(|| {
            self.writer.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        });
        let output = self.writer.unwrap_or_else(|| Box::new(std::io::stdout()));
        // As tracing-appender did, a machine that cannot start one more thread is not one a
        // service can log on.
        let (queue, worker) = LogQueue::new(output, PENDING_BYTES, self.lossy, "bia-log")
            .unwrap_or_else(|e| panic!("bia: cannot start the log writer thread: {e}"));
        let subscriber = tracing_subscriber::registry()
            .with(SpanFloor(self.filter))
            .with(SpanBridge)
            .with(LogLayer::new(queue.clone(), self.format, ansi).direct(direct));
        let guard = LoggingGuard {
            worker: Some(worker),
            queue,
        };
        (subscriber, guard)
    }

    /// Installs the subscriber globally (and routes the `log` crate's records to it).
    pub fn init(self) -> Result<LoggingGuard, BoxError> {
        let (subscriber, guard) = self.build(true);
        subscriber
            .try_init()
            .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
        Ok(guard)
    }
}

/// The log filter, except that spans at `INFO` and above always pass: they belong to the trace
/// (the call's `rpc` span, users' `#[instrument]` spans), whatever the log level.
struct SpanFloor(EnvFilter);

fn always_on(meta: &Metadata<'_>) -> bool {
    meta.is_span() && *meta.level() <= Level::INFO
}

impl<S: Subscriber> Layer<S> for SpanFloor {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if always_on(meta) {
            Interest::always()
        } else {
            Layer::<S>::register_callsite(&self.0, meta)
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        always_on(meta) || Layer::<S>::enabled(&self.0, meta, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Layer::<S>::max_level_hint(&self.0).map(|hint| hint.max(LevelFilter::INFO))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        Layer::<S>::on_new_span(&self.0, attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        Layer::<S>::on_record(&self.0, id, values, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        Layer::<S>::on_enter(&self.0, id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        Layer::<S>::on_exit(&self.0, id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        Layer::<S>::on_close(&self.0, id, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_filters_lines_but_info_spans_always_exist() {
        let config = Config::builder("floor")
            .env(false)
            .set("log.level", "warn")
            .build()
            .unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        let (subscriber, guard) = Logging::new(&config)
            .unwrap()
            .writer(file.reopen().unwrap())
            .subscriber();
        tracing::subscriber::with_default(subscriber, || {
            assert!(!tracing::info_span!("kept").is_disabled());
            assert!(!tracing::warn_span!("kept").is_disabled());
            assert!(tracing::debug_span!("dropped").is_disabled());
            tracing::info!("not written");
            tracing::warn!("written");
        });
        drop(guard);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("written"), "{text}");
        assert!(!text.contains("not written"), "{text}");
    }
}
