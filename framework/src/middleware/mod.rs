//! Server middleware as ordinary tower layers, for unary and streaming calls alike.
//!
//! # Order
//!
//! The first layer added is the outermost. A Bia server stacks them as
//!
//! ```text
//! recovery -> trace -> metrics -> access_log -> deadline -> limit -> your layers -> router -> handler
//! ```
//!
//! so a panic anywhere inside is answered `INTERNAL`, the span covers everything the server does,
//! metrics see the final status (including `DEADLINE_EXCEEDED` and shed calls), and your layers
//! (auth, say) run inside the deadline with the call's [`CallInfo`] at hand. Every layer works on
//! `http::Request`/`http::Response`, so one layer serves unary and all three streaming kinds: a
//! stream's status is read from its trailers when the body ends, and its duration runs until then.
//!
//! Add your own with [`AppBuilder::layer`](crate::AppBuilder::layer), or write one as an async
//! function with [`from_fn`].

pub mod access_log;
pub mod auth;
pub mod call_info;
pub mod cutoff;
pub mod deadline;
pub(crate) mod frame;
mod from_fn;
pub mod limit;
pub mod method;
pub mod metrics;
pub mod observe;
pub mod recovery;
pub mod status;
pub mod trace;

pub use access_log::AccessLogLayer;
pub use auth::JwtLayer;
pub use call_info::{CallDeadline, CallInfo, CallInfoLayer};
pub use deadline::DeadlineLayer;
pub use from_fn::{FromFnLayer, Next, from_fn};
pub use limit::LimitLayer;
pub use method::{MethodInfo, MethodTable, RpcKind};
pub use metrics::MetricsLayer;
pub use observe::{CallError, CallObserver, Observe, ObserveCall, ObserveLayer};
pub use recovery::RecoveryLayer;
pub use trace::TraceLayer;
