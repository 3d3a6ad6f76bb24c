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
