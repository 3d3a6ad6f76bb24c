//! The checks behind protovalidate's well-known string formats (`email`, `hostname`, `ip`,
//! `uri`, `uuid`, ...), as plain functions the generated code calls.
//!
//! Each takes the text and answers whether it is well formed; none allocates.

mod ids;
mod net;
mod uri;

pub use ids::{is_header_name, is_header_value, is_protobuf_fqn, is_tuuid, is_ulid, is_uuid};
pub use net::{is_email, is_host_and_port, is_hostname, is_ip, is_ip_prefix};
pub use uri::{is_uri, is_uri_ref};

/// A hostname or an IP address (protovalidate's `address`).
pub fn is_address(s: &str) -> bool {
    is_hostname(s) || is_ip(s, 0)
}
