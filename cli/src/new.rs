//! `bia new`: render a service project from its protos.

use std::path::Path;

use minijinja::Value;

use crate::args::NewArgs;
use crate::errors::{Error, Result};
use crate::framework::Framework;
use crate::proto_model::{self, ServiceModel};
use crate::protos::{self, ProtoSet};
use crate::render::{self, Template};
use crate::rust_code::{self, Handler};
use crate::staging::Staging;

/// The default gRPC port (DESIGN.md: `server.grpc.addr`).
pub(crate) const GRPC_PORT: u16 = 9000;
/// The default admin port (DESIGN.md: `server.admin.addr`).
pub(crate) const ADMIN_PORT: u16 = 8000;

/// Crate names a project cannot take: the standard library's, and the crates it depends on.
const TAKEN: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "build",
    "bia",
    "tonic",
    "tonic_prost",
    "tonic_health",
    "tonic_prost_build",
    "prost",
    "prost_types",
    "protox",
    "tokio",
    "tokio_stream",
];

/// Runs `bia new`.
pub fn run(args: &NewArgs) -> Result<()> {
    let crate_name = validate_name(&args.name)?;
    let framework = Framework::parse(args.framework.as_deref())?;
    if let Framework::Path(path) = &framework
        && args.framework.is_none()
        && !path.join("Cargo.toml").is_file()
    {
        eprintln!(
            "warning: the framework sources this bia was built from ({}) are gone; \
             the project will not build until you point it at bia (--framework 0.1)",
            path.display()
        );
    }
    let template = match &args.template {
        Some(dir) => Template::from_dir(dir)?,
        None => Template::builtin_service(args.protos.is_empty()),
    };
    if args.protos.is_empty() && template.default_protos().is_empty() {
        return Err(Error::Unsupported(
            "no --proto given, and the template has no proto/ folder to start from; \
             pass --proto FILE or add protos under the template's proto/"
                .to_owned(),
        ));
    }
    // Check the protos before touching the output folder.
    let user_protos = if args.protos.is_empty() {
        None
    } else {
        Some(protos::load(&args.protos, &args.includes)?)
    };

    let staging = Staging::new(&args.output, &args.name, args.force)?;
    let proto_dir = staging.path().join("proto");
    let (set, roots) = match user_protos {
        Some(set) => {
            copy_sources(&set, &proto_dir)?;
            let roots = set.roots.clone();
            (set, roots)
        }
        None => {
            for (path, contents) in template.default_protos() {
                write(&proto_dir.join(path), contents)?;
            }
            let files = protos::find_protos(&proto_dir)?;
            let set = protos::load(&files, std::slice::from_ref(&proto_dir))?;
            let roots = set.roots.clone();
            (set, roots)
        }
    };
    let services = proto_model::services(&set.fds, &roots)?;
    let context = context(
        &args.name,
        &crate_name,
        &framework,
        args.protos.is_empty(),
        &set,
        &services,
    );
    let service_values: Vec<Value> = services.iter().map(|s| s.to_value(&crate_name)).collect();
    template.render_into(staging.path(), &context, &service_values)?;
    if args.template.is_none() {
        write_handlers(staging.path(), &services)?;
    }
    if !template.has("Cargo.lock") {
        write(
            &staging.path().join("Cargo.lock"),
            render::workspace_lock().as_bytes(),
        )?;
    }
    let target = staging.install()?;

    println!("Created {} in {}", args.name, target.display());
    for s in &services {
        println!("  service {} -> src/service/{}.rs", s.full_name(), s.module);
    }
    println!(
        "Next:\n  cd {}\n  cargo run    # gRPC on :{GRPC_PORT}, admin on :{ADMIN_PORT}\n  cargo test",
        target.display()
    );
    Ok(())
}

/// Checks a project name and gives its crate name (`user-service` -> `user_service`).
pub(crate) fn validate_name(name: &str) -> Result<String> {
    let invalid = |reason: &str| Error::InvalidName {
        name: name.to_owned(),
        reason: format!(
            "{reason}; use lowercase letters, digits, `-` and `_`, starting with a letter (e.g. `user-service`)"
        ),
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(invalid("it is a path; pass the folder with --output"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(invalid("it must start with a lowercase letter"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(invalid(&format!("`{c}` is not allowed")));
    }
    if name.len() > 64 {
        return Err(invalid("it is longer than 64 characters"));
    }
    let crate_name = name.replace('-', "_");
    if syn::parse_str::<syn::Ident>(&crate_name).is_err() {
        return Err(invalid("it is a Rust keyword"));
    }
    if TAKEN.contains(&crate_name.as_str()) {
        return Err(invalid("it is the name of a crate the project uses"));
    }
    Ok(crate_name)
}

/// The built-in template's handlers: a stub for each service the template has no handler for
/// (the greeter example has its own), and `src/service/mod.rs` registering all of them, as
/// `bia proto server` writes them.
fn write_handlers(project: &Path, services: &[ServiceModel]) -> Result<()> {
    for service in services {
        let file = project.join(format!("src/service/{}.rs", service.module));
        if !file.exists() {
            write(&file, rust_code::stub(service)?.as_bytes())?;
        }
    }
    let handlers: Vec<Handler> = services.iter().map(Handler::of).collect();
    let mod_rs = rust_code::service_mod(&handlers)?;
    write(&project.join(rust_code::SERVICE_MOD), mod_rs.as_bytes())
}

fn copy_sources(set: &ProtoSet, proto_dir: &Path) -> Result<()> {
    for (name, source) in &set.sources {
        let contents = std::fs::read(source).map_err(|e| Error::io("read", source, e))?;
        write(&proto_dir.join(name), &contents)?;
    }
    Ok(())
}

fn write(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    }
    std::fs::write(path, contents).map_err(|e| Error::io("write", path, e))
}

/// The template variables (documented in docs/cli.md).
fn context(
    name: &str,
    crate_name: &str,
    framework: &Framework,
    example: bool,
    set: &ProtoSet,
    services: &[ServiceModel],
) -> Value {
    let needs_prost_types = set.needs_prost_types();
    let mut protos: Vec<String> = set.sources.iter().map(|(n, _)| n.clone()).collect();
    protos.sort();
    let service_values: Vec<Value> = services.iter().map(|s| s.to_value(crate_name)).collect();
    let (test_service, test_method) = test_call(services, crate_name);
    minijinja::context! {
        project_name => name,
        crate_name => crate_name,
        bia_dependency => framework.toml_value(),
        bia_build_dependency => framework.build_toml_value(),
        bia_test_dependency => framework.test_toml_value(),
        bia_source => framework.kind(),
        bia_version => env!("CARGO_PKG_VERSION"),
        grpc_port => GRPC_PORT,
        admin_port => ADMIN_PORT,
        example => example,
        needs_prost_types => needs_prost_types,
        protos => protos.into_iter().collect::<Value>(),
        services => service_values.into_iter().collect::<Value>(),
        test_service => test_service,
        test_method => test_method,
    }
}

/// The method the generated test calls: the first unary one, else the first of any kind.
fn test_call(services: &[ServiceModel], crate_name: &str) -> (Value, Value) {
    let pick = services
        .iter()
        .flat_map(|s| s.methods().iter().enumerate().map(move |(i, m)| (s, i, m)))
        .min_by_key(|(_, _, m)| m.client_streaming || m.server_streaming());
    match pick {
        Some((service, index, _)) => {
            let value = service.to_value(crate_name);
            let method = value
                .get_attr("methods")
                .and_then(|methods| methods.get_item(&Value::from(index)))
                .unwrap_or_default();
            (value, method)
        }
        None => (Value::from(()), Value::from(())),
    }
}
