//! The gRPC server's middleware, in one place.
//!
//! # Order
//!
//! The first layer added is the outermost. Bia adds its own layers first, so a call passes
//! through them in this order before it reaches its handler:
//!
//! ```text
//! recovery -> trace -> metrics -> access_log -> deadline -> limit -> your layers -> router -> handler
//! ```
//!
//! Your layers run inside Bia's: they see only the calls that were admitted, within their
//! deadline, with `bia::CallInfo` and `bia::Deadline` in the request extensions, and a panic or
//! an error in them is answered as a gRPC status. Add them to [`middleware`] with `.layer(...)`,
//! outermost first. Any tower layer works, and `bia::middleware::from_fn` makes one from an
//! async function:
//!
//! ```ignore
//! pub fn middleware(builder: bia::AppBuilder) -> bia::AppBuilder {
//!     builder.layer(bia::middleware::from_fn(
//!         |request: http::Request<tonic::body::Body>, next: bia::middleware::Next| async move {
//!             if request.headers().get("x-api-key").is_none() {
//!                 return Err(tonic::Status::unauthenticated("send an x-api-key header"));
//!             }
//!             Ok(next.run(request).await)
//!         },
//!     ))
//! }
//! ```

/// Adds this service's own layers to the server; none yet.
pub fn middleware(builder: bia::AppBuilder) -> bia::AppBuilder {
    builder
}
