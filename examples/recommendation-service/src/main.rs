//! Runs recommendation-service: load the configuration, start logging, serve until SIGINT/SIGTERM.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Built-in defaults <- config/config.toml compiled in <- --config PATH or ./config/config.toml
    // <- BIA_* and OTEL_* environment variables.
    let defaults = include_str!("../config/config.toml");
    let (name, version) = (env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let app = async |config: &bia::Config| recommendation_service::app(config);
    bia::main(name, version, defaults, app).await
}
