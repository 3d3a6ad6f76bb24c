//! Runs user-service: load the configuration, start logging, serve until SIGINT/SIGTERM.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bia::exit(run().await)
}

async fn run() -> Result<(), bia::BoxError> {
    // Built-in defaults <- config/config.toml compiled in <- --config PATH or ./config/config.toml
    // <- BIA_* and OTEL_* environment variables.
    let config = bia::Config::load_with_defaults(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        include_str!("../config/config.toml"),
    )?;
    let _logging = bia::telemetry::init_logging(&config)?;
    user_service::app(&config).await?.run().await?;
    Ok(())
}
