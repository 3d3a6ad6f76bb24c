//! What a service binary's `main` does, as one call, so that every service (and the scaffold)
//! loads its configuration, starts logging and reports a failure the same way.

use std::process::ExitCode;

use super::App;
use crate::config::Config;
use crate::error::BoxError;

/// Runs a service binary: loads the configuration (built-in defaults <- `defaults_toml` <-
/// `--config PATH` or `./config/config.toml` <- `BIA_*` and `OTEL_*` variables), installs the
/// log subscriber, builds the App with `app` and runs it until SIGINT or SIGTERM. A failure of any
/// step is printed with its causes (as [`exit`](crate::exit) does) and exits 1.
///
/// `name` and `version` are the defaults of `app.name` and `app.version`; `app` is the service's
/// `app` function (an `async fn`, or a closure around a plain `fn`).
///
/// ```no_run
/// # mod my_service {
/// #     pub fn app(config: &bia::Config) -> Result<bia::App, bia::BoxError> {
/// #         Ok(bia::App::builder(config).build()?)
/// #     }
/// # }
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     // A service embeds its own: `include_str!("../config/config.toml")`.
///     let defaults = "[server.grpc]\naddr = \"0.0.0.0:9000\"\n";
///     let (name, version) = (env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
///     bia::main(name, version, defaults, async |config| my_service::app(config)).await
/// }
/// ```
pub async fn main<F, E>(name: &str, version: &str, defaults_toml: &str, app: F) -> ExitCode
where
    F: AsyncFnOnce(&Config) -> Result<App, E>,
    E: Into<BoxError>,
{
    crate::exit(run(name, version, defaults_toml, app).await)
}

async fn run<F, E>(name: &str, version: &str, defaults_toml: &str, app: F) -> Result<(), BoxError>
where
    F: AsyncFnOnce(&Config) -> Result<App, E>,
    E: Into<BoxError>,
{
    let config = Config::load_with_defaults(name, version, defaults_toml)?;
    // Held until the App has stopped, so the last lines are written.
    let _logging = crate::telemetry::init_logging(&config)?;
    app(&config).await.map_err(Into::into)?.run().await?;
    Ok(())
}
