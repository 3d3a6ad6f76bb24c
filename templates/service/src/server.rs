//! The gRPC server's middleware, in one place.
//!
//! # Order
//!
//! The first layer added is the outermost. A call passes through Bia's layers and yours in this
//! order before it reaches its handler:
//!
//! ```text
//! layer_front layers -> recovery -> trace -> metrics -> access_log -> deadline -> limit
//!   -> layer layers -> router -> handler
//! ```
//!
//! Layers added with `.layer(...)` run inside Bia's: they see only the calls that were admitted,
//! within their deadline, with `bia::CallInfo` and `bia::CallDeadline` in the request extensions,
//! inside the call's span; a panic or an error in them is answered as a gRPC status. An auth
//! layer belongs there. `.layer_front(...)` adds a layer outside Bia's, which sees every call
//! first and may answer it before it is traced or counted; `.server_stack(...)` reorders, drops
//! or replaces Bia's own layers. Any tower layer works, and `bia::middleware::from_fn` makes one
//! from an async function: [`bia::guide::middleware`] (`cargo doc --open`, or the book's
//! "Writing middleware") has a tested example, an API-key check, and its test.
//!
//! Bia's own health and reflection services skip these layers, so an auth layer does not lock
//! out health checks.

/// Adds this service's own layers to the server; none yet.
pub fn middleware(builder: bia::AppBuilder) -> bia::AppBuilder {
    builder
}
