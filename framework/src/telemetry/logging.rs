//! The binary's log output: a global `tracing` subscriber, pretty or JSON.
//!
//! Only a binary calls [`init_logging`]; the library never installs globals. Log lines written
//! inside a call carry its `trace_id` and `span_id`, because the server's trace layer runs every
//! call inside a `rpc` span with those fields.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{Config, LogFormat};
use crate::error::BoxError;

/// Keeps the global subscriber installed; dropping it does nothing today, but holding it keeps the
/// door open for buffered writers.
#[derive(Debug)]
#[must_use = "logging stays installed while the guard is held"]
pub struct LoggingGuard(());

/// Installs the global `tracing` subscriber: level from `log.level` (or `RUST_LOG`), format from
/// `log.format`. Fails if a subscriber is installed already.
pub fn init_logging(config: &Config) -> Result<LoggingGuard, BoxError> {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE);
    let installed = match config.log.format {
        LogFormat::Pretty => builder.compact().try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
    };
    installed.map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(LoggingGuard(()))
}
