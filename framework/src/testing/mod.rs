//! Starting services in tests: loopback ports chosen by the OS, no sleeps.
//!
//! ```no_run
//! # async fn demo(app: bia::App) -> Result<(), bia::BoxError> {
//! let running = bia::testing::start(app).await?;
//! let channel = running.channel().await?; // a tonic Channel to the gRPC server
//! let (status, body) = bia::testing::get(&running.admin_url("/metrics")).await?;
//! running.stop().await?;
//! # Ok(()) }
//! ```

pub mod otlp;

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::app::{App, AppError, RunningApp};
use crate::config::Config;
use crate::error::BoxError;

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
}

/// GETs `url` and returns the status code and body text.
pub async fn get(url: &str) -> Result<(u16, String), BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = client.get(url.parse()?).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
