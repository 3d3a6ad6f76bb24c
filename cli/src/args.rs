//! The command line, as clap parses it. Values are checked and turned into typed options by the
//! command modules, so this file only describes what the user can type.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Scaffold and grow gRPC services built on the Bia framework.
#[derive(Debug, Parser)]
#[command(name = "bia", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `bia` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new service project from .proto files (or a small greeter example).
    New(NewArgs),
    /// Work with .proto files: write a skeleton, or add a proto's services to a project.
    #[command(subcommand)]
    Proto(ProtoCommand),
    /// Write the OpenAPI 3.1 document of a project's REST API, from its protos'
    /// google.api.http rules (what the admin server serves at /openapi.json).
    Openapi(OpenApiArgs),
    /// Call a gRPC server: list its services, describe a symbol, or call a method with JSON.
    Call(CallArgs),
}

/// Arguments of `bia new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the service: the folder, the Cargo package and `app.name` (e.g. `user-service`).
    pub name: String,

    /// A .proto file whose services the project implements; repeat for several files.
    /// Without it the project gets a working greeter example.
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,

    /// A folder to resolve the protos' imports against; repeat for several.
    /// Default: the `proto/` or `api/` folder the file is in, else the file's own folder.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub includes: Vec<PathBuf>,

    /// Where to create the project folder `<NAME>`.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,

    /// Which `bia` the project depends on: a version (`0.1`), a path to the framework crate, or a
    /// git URL. Default: the framework sources this `bia` was built from.
    #[arg(long, value_name = "SPEC")]
    pub framework: Option<String>,

    /// Render your own template folder instead of the built-in one (same variables).
    #[arg(long, value_name = "DIR")]
    pub template: Option<PathBuf>,

    /// Replace the project folder if it exists already.
    #[arg(long)]
    pub force: bool,
}

/// The `bia proto` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProtoCommand {
    /// Write a .proto skeleton with a CRUD service; its package comes from its folders
    /// (`proto/catalog/v1/catalog.proto` -> `catalog.v1`).
    Add(ProtoAddArgs),
    /// Add a stub for each service of a .proto file to an existing project and register it.
    Server(ProtoServerArgs),
}

/// Arguments of `bia proto add`.
#[derive(Debug, Args)]
pub struct ProtoAddArgs {
    /// The file to create, e.g. `proto/catalog/v1/catalog.proto`. It must not exist.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

/// Arguments of `bia proto server`.
#[derive(Debug, Args)]
pub struct ProtoServerArgs {
    /// The .proto file whose services to add.
    #[arg(value_name = "FILE")]
    pub proto: PathBuf,

    /// A folder to resolve the proto's imports against; repeat for several.
    /// Default: the project's `proto/` folder if the file is in it, else as for `bia new`.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub includes: Vec<PathBuf>,

    /// The service project to add to (the folder holding its Cargo.toml).
    /// `--out` is an older name of this flag.
    #[arg(short, long, alias = "out", value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
}

/// Arguments of `bia openapi`.
#[derive(Debug, Args)]
pub struct OpenApiArgs {
    /// A .proto file to describe; repeat for several.
    /// Default: every .proto file under the project's `proto/` folder.
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,

    /// A folder to resolve the protos' imports against; repeat for several.
    /// Default: the project's `proto/` folder, or as for `bia new` with --proto.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub includes: Vec<PathBuf>,

    /// Where to write the document; `-` writes it to standard output.
    /// Default: `openapi.json` in the project.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// The service project (the folder holding its Cargo.toml and proto/).
    #[arg(short = 'C', long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,

    /// A URL the REST API is served at (`servers` in the document), e.g.
    /// `http://127.0.0.1:9000`; repeat for several.
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,
}

/// Arguments of `bia call`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  bia call 127.0.0.1:9000 list
  bia call 127.0.0.1:9000 list echo.v1.Echo
  bia call 127.0.0.1:9000 describe echo.v1.SayRequest
  bia call 127.0.0.1:9000 echo.v1.Echo/Say -d '{\"message\": \"hi\"}'
  echo '{\"message\": \"a\"} {\"message\": \"b\"}' | bia call 127.0.0.1:9000 echo.v1.Echo/Collect

Exit code: 0 on OK, 64 + the gRPC code on an error status (69 for NOT_FOUND), 2 for a wrong
command line, 1 for anything else.")]
pub struct CallArgs {
    /// The server: `host:port` (plaintext unless a TLS option is given), `http://host:port` or
    /// `https://host:port`.
    #[arg(value_name = "ADDR")]
    pub addr: String,

    /// `list` (services, or a service's methods), `describe`, or the method to call:
    /// `pkg.Service/Method`.
    #[arg(value_name = "COMMAND|METHOD")]
    pub command: String,

    /// The service for `list`, the symbol for `describe` (every service when left out).
    #[arg(value_name = "SYMBOL")]
    pub symbol: Option<String>,

    /// The request as JSON; `@FILE` reads a file, `@-` standard input. Streams take several
    /// messages separated by whitespace. Default: an empty message for unary and
    /// server-streaming methods, standard input for client and bidi streams.
    #[arg(short = 'd', long = "data", value_name = "JSON|@FILE")]
    pub data: Option<String>,

    /// Request metadata `key: value`; repeat for several. Keys ending in `-bin` take base64.
    #[arg(short = 'H', long = "header", value_name = "'KEY: VALUE'")]
    pub headers: Vec<String>,

    /// How long the call may take (e.g. `500ms`, `5s`), sent as `grpc-timeout`.
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,

    /// How long connecting may take.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub connect_timeout: String,

    /// Take the descriptors from these .proto files instead of server reflection; repeat for
    /// several.
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,

    /// A folder the protos' imports are relative to; repeat for several. Default: the `proto/`
    /// or `api/` folder the file is in, else its own folder.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub includes: Vec<PathBuf>,

    /// Connect without TLS (the default for `host:port` and `http://`).
    #[arg(long)]
    pub plaintext: bool,

    /// Connect with TLS to a `host:port` address (as `https://` does).
    #[arg(long)]
    pub tls: bool,

    /// Trust the CA certificates of this PEM file instead of the system's roots (implies TLS).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// A client certificate chain (PEM) for mTLS, with --key (implies TLS).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Accept any server certificate (for test servers only; implies TLS).
    #[arg(long)]
    pub insecure: bool,

    /// The `:authority` of the requests and the name the server's certificate must have,
    /// instead of the address's host.
    #[arg(long, value_name = "NAME")]
    pub authority: Option<String>,

    /// Print fields at their default value too (zero, empty) in replies.
    #[arg(long)]
    pub emit_defaults: bool,

    /// Print the response headers and trailers to standard error.
    #[arg(short, long)]
    pub verbose: bool,
}
