//! The bia framework's integration tests live in `tests/`, each a real server over loopback;
//! `examples/` holds the load harness (`loadtest`), the client cost probe (`client_cost`) and
//! the smallest Bia service (`hello`). This crate exists so that the `bia` library itself
//! compiles no proto and depends on no test support.
//!
//! [`process`] starts a server as a child process and reads what `/proc` says about it, for
//! the attack tests (`tests/attacks.rs`) and the load harness.

pub mod process;
