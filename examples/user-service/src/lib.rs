//! user-service: a user directory over gRPC, persisted in SQLite. One of Bia's two example
//! services, laid out as `bia new` lays out every service.
//!
//! The layout follows Kratos: [`service`] holds the gRPC handlers, [`biz`] the domain rules,
//! [`data`] the storage, [`conf`] the service's own configuration and [`server`] its middleware. [`app`] wires them into a [`bia::App`]; `main.rs` runs it, and the tests
//! start the same app in-process.

#![warn(missing_docs)]

pub mod biz;
pub mod conf;
pub mod data;
pub mod server;
pub mod service;

/// Code generated from `proto/` by `build.rs`: messages, server and client, one module per proto
/// package (`user.v1` -> `pb::user::v1`).
#[allow(clippy::all, missing_docs, unreachable_pub)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));

    /// Every proto of this service and its imports, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
}

/// Builds the app: opens (and migrates) the database named by `database.url`, then serves
/// `user.v1.UserService` behind the middleware of [`server`], plus what the framework adds
/// (health, reflection, and the admin server with `/metrics`, `/healthz` and `/readyz`). The
/// database is closed when the app stops. Unlike the scaffold's, this `app` is async, because
/// opening the database is.
pub async fn app(config: &bia::Config) -> Result<bia::App, bia::BoxError> {
    let conf = conf::ServiceConfig::load(config)?;
    // data (storage) -> biz (use cases) -> service (gRPC handlers)
    let data = data::Data::new(&conf).await?;
    let database = data.database.clone();
    let use_cases = biz::UseCases::new(&conf, data);
    let builder = bia::App::builder(config).file_descriptor_set(pb::FILE_DESCRIPTOR_SET);
    let builder = server::middleware(builder);
    let app = service::register(builder, &use_cases)
        .after_stop(move || async move {
            database.close().await;
            Ok(())
        })
        .build()?;
    Ok(app)
}
