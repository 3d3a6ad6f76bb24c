//! recommendation-service: streaming recommendations over gRPC. One of Bia's two example
//! services, laid out as `bia new` lays out every service.
//!
//! It shows the three streaming kinds of gRPC, and a call to another service through
//! [`bia::client`]: before recommending to a user or recording their events it asks
//! `user.v1.UserService/GetUser` whether the user exists, and that call joins the trace of the
//! call being served.
//!
//! The layout follows Kratos: [`service`] holds the gRPC handlers, [`biz`] the recommender,
//! [`data`] the catalogue, the recorded events and the user service's client, [`conf`] the
//! service's own configuration and [`server`] its middleware. [`app`] wires them
//! into a [`bia::App`]; `main.rs` runs it, and the tests start the same app in-process.
#![warn(missing_docs)]

pub mod biz;
pub mod conf;
pub mod data;
pub mod server;
pub mod service;

/// Code generated from `proto/` by `build.rs`: messages, servers and clients, one module per proto
/// package (`recommendation.v1` -> `pb::recommendation::v1`, `user.v1` -> `pb::user::v1`).
///
/// `proto/user/v1/user.proto` is a link to user-service's file, so the client compiled here is
/// always built from the API that service serves (with the scaffold's own `build.rs`, which
/// compiles what is under `proto/`).
#[allow(clippy::all, missing_docs, unreachable_pub)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));

    /// Every proto this service serves or calls and their imports, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
}

/// Builds the app: the user service's client (`clients.user`), the recommender over the embedded
/// catalogue, and `recommendation.v1.RecommendationService` behind the middleware of [`server`],
/// plus what the framework adds (health, reflection, and the admin server with `/metrics`,
/// `/healthz` and `/readyz`).
///
/// The client and the server share one [`bia::Telemetry`], so the client's spans and metrics
/// belong to this service. Call it inside a Tokio runtime.
pub fn app(config: &bia::Config) -> Result<bia::App, bia::BoxError> {
    let conf = conf::ServiceConfig::load(config)?;
    let telemetry = bia::Telemetry::new(config)?;
    // data (catalogue, events, user service) -> biz (recommender) -> service (gRPC handlers)
    let data = data::Data::new(config, &conf, &telemetry)?;
    let use_cases = biz::UseCases::new(&conf, data);
    let builder = bia::App::builder(config)
        .telemetry(telemetry)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET);
    let builder = server::middleware(builder);
    let app = service::register(builder, &use_cases).build()?;
    Ok(app)
}
