//! The book's guides, as API documentation.
//!
//! Each module below is a page of the book (`docs/` in the repository, built with mdBook),
//! included here word for word so that `cargo test --doc -p bia` compiles and runs every example
//! a user might copy. The modules hold no items. Links between pages work in the book; here,
//! follow the module list instead.

#[doc = include_str!("../../../docs/guide/middleware.md")]
pub mod middleware {}

#[doc = include_str!("../../../docs/concepts/errors.md")]
pub mod errors {}

#[doc = include_str!("../../../docs/guide/auth.md")]
pub mod auth {}

#[doc = include_str!("../../../docs/concepts/lifecycle.md")]
pub mod lifecycle {}

#[doc = include_str!("../../../docs/concepts/configuration.md")]
pub mod configuration {}

/// Needs the `testing` feature: `cargo test --doc -p bia --features testing`.
#[cfg(feature = "testing")]
#[doc = include_str!("../../../docs/guide/testing.md")]
pub mod testing {}

#[doc = include_str!("../../../docs/guide/deadlines.md")]
pub mod deadlines {}

#[doc = include_str!("../../../docs/guide/observability.md")]
pub mod observability {}

#[doc = include_str!("../../../docs/api-contract.md")]
pub mod service_shape {}

#[cfg(test)]
mod tests;
