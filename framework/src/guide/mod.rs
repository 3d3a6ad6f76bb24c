//! The book's guides, as API documentation.
//!
//! Each module below is a page of the book (`docs/` in the repository, built with mdBook). The
//! pages live here, next to this file, so that `cargo test --doc -p bia --features testing`
//! compiles and runs every example a user might copy, and so that they ship inside the `bia`
//! crate; the book includes them (`{{#include}}`) from its own pages at the same places.
//!
//! The pages link to each other with reference-style links (`[text][label]`) and leave the
//! labels undefined: the book's page defines them as links between book pages, and
//! `book_links!` (in this file) defines them here as links between these modules or to the API they
//! describe. A page that exists only in the book is linked to the list below.
//!
//! # Pages only in the book
//!
//! These pages need a running service, Docker or pictures of other programs, so they are not
//! part of the crate's documentation. Build the book with `scripts/book.sh` (it lands in
//! `target/book/index.html`) or read the Markdown in `docs/`:
//!
//! - Deploying: Compose and Kubernetes (`docs/guide/deploy.md`), with a Kubernetes manifest
//!   whose probes use the admin server's `/healthz` and `/readyz`;
//! - the observability walkthrough, one trace across two services (`docs/observability.md`);
//! - metrics and span attributes, every name Bia exports (`docs/reference/telemetry.md`);
//! - performance figures and how they were measured (`docs/performance.md`).

/// The rustdoc targets of the labels the pages use, appended to every page: a label a page does
/// not use costs nothing, and one it uses but nobody defines is a broken link that
/// `RUSTDOCFLAGS="-D warnings" cargo doc` refuses.
macro_rules! book_links {
    () => {
        "[auth]: crate::guide::auth\n\
[configuration]: crate::guide::configuration\n\
[errors]: crate::guide::errors\n\
[lifecycle]: crate::guide::lifecycle\n\
[middleware]: crate::guide::middleware\n\
[stacks]: crate::guide::stacks\n\
[service-shape]: crate::guide::service_shape\n\
[testing]: crate::guide::testing\n\
[config-reference]: crate::config\n\
[config-errors]: crate::config::ConfigError\n\
[discovery]: crate::registry\n\
[deploy]: crate::guide#pages-only-in-the-book\n\
[performance]: crate::guide#pages-only-in-the-book\n\
[telemetry-reference]: crate::guide#pages-only-in-the-book\n\
[walkthrough]: crate::guide#pages-only-in-the-book\n"
    };
}

#[doc = include_str!("middleware.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod middleware {}

#[doc = include_str!("stacks.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod stacks {}

#[doc = include_str!("errors.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod errors {}

#[doc = include_str!("auth.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod auth {}

#[doc = include_str!("lifecycle.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod lifecycle {}

#[doc = include_str!("configuration.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod configuration {}

/// Needs the `testing` feature: `cargo test --doc -p bia --features testing`.
#[cfg(feature = "testing")]
#[doc = include_str!("testing.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod testing {}

#[doc = include_str!("deadlines.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod deadlines {}

#[doc = include_str!("observability.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod observability {}

#[doc = include_str!("service_shape.md")]
#[doc = ""]
#[doc = book_links!()]
pub mod service_shape {}

#[cfg(test)]
mod tests;
