//! Integration tests of the `bia` binary: every command, and every kind of bad input.

mod support;

mod examples;
mod help;
mod new;
mod new_errors;
mod openapi;
mod proto_add;
mod proto_server;
