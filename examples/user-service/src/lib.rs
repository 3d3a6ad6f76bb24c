//! user-service: a user directory over gRPC, persisted in SQLite. One of Bia's two example
//! services, laid out as `bia new` lays out every service.
//!
//! The layout follows Kratos: [`service`] holds the gRPC handlers, [`biz`] the domain rules and
//! [`data`] the storage. [`app`] wires them into a [`bia::App`]; `main.rs` runs it, and the tests
//! start the same app in-process.

#![warn(missing_docs)]

pub mod biz;
pub mod data;
pub mod service;

/// Code generated from `examples/proto` by `build.rs`: messages, server and client, one module per
/// proto package (`user.v1` -> `pb::user::v1`).
#[allow(clippy::all, missing_docs, unreachable_pub)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));

    /// Every proto of this service and its imports, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
}

use pb::user::v1::user_service_server::UserServiceServer;

/// Builds the app: opens (and migrates) the database named by `database.url`, then serves
/// `user.v1.UserService` plus what the framework adds (health, reflection, and the admin server
/// with `/metrics`, `/healthz` and `/readyz`). The database is closed when the app stops.
pub async fn app(config: &bia::Config) -> Result<bia::App, bia::BoxError> {
    let database: data::DatabaseConfig = config.section("database")?;
    let database = data::Database::connect(&database).await?;
    // data (storage) -> biz (domain rules) -> service (gRPC handlers)
    let users = biz::Users::new(data::UserStore::new(&database));
    let app = bia::App::builder(config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(UserServiceServer::new(service::UserService::new(users)))
        .after_stop(move || async move {
            database.close().await;
            Ok(())
        })
        .build()?;
    Ok(app)
}
