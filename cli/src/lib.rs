//! The `bia` command line: scaffold gRPC services on the Bia framework from .proto files.
//!
//! `main.rs` only calls [`main`]; every command lives in its own module and returns a typed
//! [`Error`], printed as `error: ...` with exit code 2 (bad command line) or 1 (anything else);
//! `bia call` exits with 64 + the gRPC code when the call ends with an error status.

use std::process::ExitCode;

use clap::Parser;

pub mod args;
pub mod call;
mod codegen;
pub mod errors;
mod framework;
pub mod new;
pub mod openapi;
pub mod proto_add;
mod proto_model;
pub mod proto_server;
mod protos;
mod render;
mod rust_code;
mod staging;

pub use errors::{Error, Result};

/// Parses the command line, runs the command, and reports an error.
pub fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: &args::Cli) -> Result<()> {
    match &cli.command {
        args::Command::New(args) => new::run(args),
        args::Command::Proto(args::ProtoCommand::Add(args)) => proto_add::run(args),
        args::Command::Proto(args::ProtoCommand::Server(args)) => proto_server::run(args),
        args::Command::Openapi(args) => openapi::run(args),
        args::Command::Call(args) => call::run(args).map_err(Error::from),
    }
}
