//! `bia new`: render a service project from its protos.

use std::path::Path;

use minijinja::Value;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::args::NewArgs;
use crate::errors::{Error, Result};
use crate::framework::Framework;
use crate::proto_model::{self, MethodModel, ServiceModel};
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
    let calls = test_calls(services, &set.pool, crate_name);
    let (test_service, test_method) = calls.stub;
    let (refused_service, refused_method) = calls.refused;
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
        refused_service => refused_service,
        refused_method => refused_method,
    }
}

/// What the `buf.validate` rules of a method's request say about an empty (default) request,
/// which is what the generated tests send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DefaultRequest {
    /// No rules: the request reaches the handler.
    Unchecked,
    /// Rules, none that an empty request surely breaks.
    Checked,
    /// A rule that an empty request breaks (`required`, a minimum length): refused with
    /// INVALID_ARGUMENT before the handler runs.
    Refused,
}

/// The methods the generated tests call: the stub test's (a request the stub answers: no rules
/// before some, unary before streaming), and the rejected-request test's (a unary or
/// server-streaming method whose empty request breaks a rule), each as (service, method).
struct TestCalls {
    stub: (Value, Value),
    refused: (Value, Value),
}

fn test_calls(services: &[ServiceModel], pool: &DescriptorPool, crate_name: &str) -> TestCalls {
    let methods: Vec<_> = services
        .iter()
        .flat_map(|s| s.methods().iter().enumerate().map(move |(i, m)| (s, i, m)))
        .map(|(s, i, m)| (s, i, m, default_request(pool, &m.input_proto_type)))
        .collect();
    let stub = methods
        .iter()
        .filter(|(.., rules)| *rules != DefaultRequest::Refused)
        .min_by_key(|(_, _, m, rules)| (*rules, m.client_streaming || m.server_streaming()));
    let refused = methods
        .iter()
        .filter(|(_, _, m, rules)| *rules == DefaultRequest::Refused && !m.client_streaming)
        .min_by_key(|(_, _, m, _)| m.server_streaming());
    let value = |pick: Option<&(&ServiceModel, usize, &MethodModel, DefaultRequest)>| match pick {
        Some((service, index, ..)) => {
            let value = service.to_value(crate_name);
            let method = value
                .get_attr("methods")
                .and_then(|methods| methods.get_item(&Value::from(*index)))
                .unwrap_or_default();
            (value, method)
        }
        None => (Value::from(()), Value::from(())),
    };
    TestCalls {
        stub: value(stub),
        refused: value(refused),
    }
}

/// Reads the `buf.validate` options of the message `proto_type` (`.pkg.Request`).
fn default_request(pool: &DescriptorPool, proto_type: &str) -> DefaultRequest {
    let Some(message) = pool.get_message_by_name(proto_type.trim_start_matches('.')) else {
        return DefaultRequest::Unchecked;
    };
    let is_rule =
        |ext: &prost_reflect::ExtensionDescriptor| ext.full_name().starts_with("buf.validate.");
    let mut found = message.options().extensions().any(|(ext, _)| is_rule(&ext));
    for field in message.fields() {
        for (ext, value) in field.options().extensions() {
            if !is_rule(&ext) {
                continue;
            }
            found = true;
            if let prost_reflect::Value::Message(rules) = value
                && breaks_when_empty(rules)
            {
                return DefaultRequest::Refused;
            }
        }
    }
    if found {
        DefaultRequest::Checked
    } else {
        DefaultRequest::Unchecked
    }
}

/// Whether a field's `buf.validate.FieldRules` refuse the field's empty value: `required`, or a
/// minimum length or size of at least one, unless the rules are ignored for empty values.
fn breaks_when_empty(rules: &DynamicMessage) -> bool {
    // IGNORE_UNSPECIFIED (0) is the only setting that checks an empty value.
    if rules
        .get_field_by_name("ignore")
        .is_some_and(|ignore| ignore.as_enum_number().unwrap_or(0) != 0)
    {
        return false;
    }
    if rules
        .get_field_by_name("required")
        .is_some_and(|required| required.as_bool() == Some(true))
    {
        return true;
    }
    let at_least_one = |kind: &str, limits: &[&str]| {
        rules.has_field_by_name(kind)
            && rules.get_field_by_name(kind).is_some_and(|typed| {
                typed.as_message().is_some_and(|typed| {
                    limits.iter().any(|limit| {
                        typed
                            .get_field_by_name(limit)
                            .and_then(|n| n.as_u64())
                            .is_some_and(|n| n >= 1)
                    })
                })
            })
    };
    at_least_one("string", &["min_len", "min_bytes", "len", "len_bytes"])
        || at_least_one("bytes", &["min_len", "len"])
        || at_least_one("repeated", &["min_items"])
        || at_least_one("map", &["min_pairs"])
}
