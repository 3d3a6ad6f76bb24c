//! A gRPC service on the Bia framework, made by `bia new`.
//!
//! The layout follows Kratos: `service` holds the gRPC handlers, `biz` the domain logic, `data`
//! the storage, `conf` the service's own configuration and `server` its middleware. [`app`]
//! wires them into a [`bia::App`]; `main.rs` runs it, and the tests start the same app
//! in-process.

pub mod biz;
pub mod conf;
pub mod data;
pub mod server;
pub mod service;

/// Code generated from `proto/` by `build.rs`: messages, servers and clients, one module per
/// proto package (`greeter.v1` -> `pb::greeter::v1`).
#[allow(clippy::all, missing_docs, non_camel_case_types)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));

    /// Every proto of this service, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("descriptor");
}

/// Builds the app: the handlers of `service` over the use cases of `biz` over the storage of
/// `data`, behind the middleware of `server`, plus what the framework adds (health, reflection,
/// and the admin server with `/metrics`, `/healthz` and `/readyz`).
pub fn app(config: &bia::Config) -> Result<bia::App, bia::BoxError> {
    let conf = conf::ServiceConfig::load(config)?;
    // data (storage) -> biz (use cases) -> service (gRPC handlers)
    let data = data::Data::new(&conf)?;
    let use_cases = biz::UseCases::new(&conf, data);
    let builder = bia::App::builder(config).file_descriptor_set(pb::FILE_DESCRIPTOR_SET);
    let builder = server::middleware(builder);
    let app = service::register(builder, &use_cases).build()?;
    Ok(app)
}
