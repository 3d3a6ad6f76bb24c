//! The echo service of the integration tests as a process of its own, run as a scaffolded
//! service runs: `bia::Config` from its defaults and the `BIA_*` environment, the global log
//! subscriber, `App::run` until SIGTERM, the exit code from `bia::exit`. The attack tests
//! (`tests/attacks.rs`) start it to measure the server's memory apart from their own.

#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/support/echo.rs"]
mod echo;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bia::exit(run().await)
}

async fn run() -> Result<(), bia::BoxError> {
    let config = bia::Config::load_with_defaults("echo-server", env!("CARGO_PKG_VERSION"), "")?;
    let _logging = bia::telemetry::init_logging(&config)?;
    echo::builder(&config).build()?.run().await?;
    Ok(())
}
