//! Starting services in tests: loopback ports chosen by the OS, no sleeps.
//!
//! ```no_run
//! # async fn demo(app: bia::App) -> Result<(), bia::BoxError> {
//! let running = bia::testing::start(app).await?;
//! let channel = running.channel().await?; // a tonic Channel to the gRPC server
//! let (status, body) = bia::testing::get(&running.admin_url("/metrics")).await?;
//! let metrics = running.metrics_text().await; // the same, asserting 200
//! // A caller's bia::client::Channel to it, built from configuration as a service builds one.
//! let caller = bia::testing::config_with("caller", &running.client_toml("echo", ""));
//! let (channel, _telemetry) = bia::testing::client_channel(&caller, "echo");
//! running.stop().await?;
//! # Ok(()) }
//! ```

pub mod otlp;

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::app::{App, AppError, RunningApp};
use crate::client::Channel;
use crate::config::Config;
use crate::error::BoxError;
use crate::telemetry::Telemetry;

/// A test configuration: every address `127.0.0.1:0`, the environment ignored, a short drain.
pub fn config(name: &str) -> Config {
    config_with(name, "")
}

/// [`config`] with extra TOML on top (e.g. a `[clients.user]` section).
pub fn config_with(name: &str, toml: &str) -> Config {
    Config::builder(name)
        .env(false)
        .set("server.grpc.addr", "127.0.0.1:0")
        .set("server.admin.addr", "127.0.0.1:0")
        .set("app.shutdown_timeout", "5s")
        .toml(toml)
        .build()
        .expect("the test configuration is valid")
}

/// Starts `app` and returns once it serves.
pub async fn start(app: App) -> Result<RunningApp, AppError> {
    app.start().await
}

impl RunningApp {
    /// A connected tonic channel to the gRPC server.
    pub async fn channel(&self) -> Result<tonic::transport::Channel, tonic::transport::Error> {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.grpc_addr()))
            .expect("a socket address makes a valid URI")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
    }

    /// The admin server's URL for `path`, e.g. `admin_url("/metrics")`.
    pub fn admin_url(&self, path: &str) -> String {
        let addr = self.admin_addr().expect("the admin server is enabled");
        format!("http://{addr}{path}")
    }

    /// The admin server's `/metrics` text (Prometheus exposition format). Panics unless it
    /// answers 200.
    ///
    /// ```no_run
    /// # async fn demo(running: bia::RunningApp) {
    /// let metrics = running.metrics_text().await;
    /// assert!(metrics.contains("rpc_server_call_duration_seconds"), "{metrics}");
    /// # }
    /// ```
    pub async fn metrics_text(&self) -> String {
        let (status, text) = get(&self.admin_url("/metrics"))
            .await
            .expect("the admin server answers /metrics");
        assert_eq!(status, 200, "/metrics answered {status}: {text}");
        text
    }

    /// A `[clients.<name>]` TOML table whose `target` is this app's gRPC server, followed by
    /// `keys`: more lines of that table (e.g. `timeout = "3s"\n`), or further tables.
    ///
    /// ```no_run
    /// # fn demo(running: &bia::RunningApp) {
    /// let toml = running.client_toml("echo", "timeout = \"3s\"\n");
    /// let caller = bia::testing::config_with("caller", &toml);
    /// # }
    /// ```
    pub fn client_toml(&self, name: &str, keys: &str) -> String {
        format!(
            "[clients.{name}]\ntarget = \"http://{}\"\n{keys}",
            self.grpc_addr()
        )
    }
}

/// The channel of client `name` in `config`, recording on a [`Telemetry`] of `config`'s own
/// (returned with it: keep it for the caller's metrics), as a service builds its clients.
/// Panics when either cannot be built. Call it inside a Tokio runtime.
///
/// ```no_run
/// # async fn demo(running: bia::RunningApp) {
/// let caller = bia::testing::config_with("caller", &running.client_toml("echo", ""));
/// let (channel, telemetry) = bia::testing::client_channel(&caller, "echo");
/// // ... calls through `channel`, then e.g. `telemetry.metrics().render()`.
/// # }
/// ```
pub fn client_channel(config: &Config, name: &str) -> (Channel, Telemetry) {
    let telemetry = Telemetry::new(config).expect("the caller's telemetry builds");
    let channel = Channel::from_config(config, name, &telemetry)
        .unwrap_or_else(|e| panic!("the client {name:?} builds: {e}"));
    (channel, telemetry)
}

/// GETs `url` and returns the status code and body text.
pub async fn get(url: &str) -> Result<(u16, String), BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = client.get(url.parse()?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
