//! Ending a call early with a status when a trigger fires: the deadline, the drain's end.
//!
//! The server's deadline layer ends a call at its deadline (`DEADLINE_EXCEEDED`), the client's
//! gives up at its own, and the server's drain cut ends what outlives the drain (`UNAVAILABLE`).
//! All three race the call against a trigger with [`CutoffFuture`] until the response begins,
//! and a stream against a second trigger with [`CutoffBody`] until it ends. Whatever the call
//! has ready still goes out first; when a trigger fires, the call's work is dropped (it is no
//! longer wanted) and the status goes out, trailers-only or as trailers.

mod body;
mod ending;
mod future;

pub use body::CutoffBody;
pub use future::CutoffFuture;
