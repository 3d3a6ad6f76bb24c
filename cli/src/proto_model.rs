//! From proto descriptors to the Rust names that tonic-prost-build 0.14 generates, for stubs that
//! implement the generated traits exactly.
//!
//! The rules mirrored (prost-build `code_generator.rs`/`extern_paths.rs`, tonic-prost-build
//! `request_response_name`, tonic-build `server.rs`):
//! - trait: `to_upper_camel(service)`; module `naive_snake_case(trait) + "_server"`; server type
//!   `<trait>Server`; client module `..._client` and type `<trait>Client`;
//! - method: `to_snake(method)` (a raw identifier for keywords: `Move` -> `r#move`); a
//!   server-streaming method has the associated type `<MethodAsInProto>Stream`;
//! - types: `.google.protobuf.Empty` -> `()`, `StringValue`/`BytesValue` -> `String`/`Vec<u8>`,
//!   other well-known types -> `::prost_types::<Name>`; the other wrappers map to primitives,
//!   which tonic-prost-build cannot put in a method signature (refused with a message); a
//!   message `.a.b.Outer.Inner` -> `a::b::outer::Inner` under the generated module tree.

use std::collections::{BTreeMap, HashMap};

use heck::ToSnakeCase;
use minijinja::Value;
use prost_types::{FileDescriptorProto, ServiceDescriptorProto};

use crate::errors::{Error, Result};
use crate::ident::{naive_snake_case, to_snake, to_upper_camel};

/// A Rust type for a proto message in a method signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RustType {
    /// A type outside the generated code, written as is (`()`, `::prost_types::Timestamp`).
    Extern(String),
    /// A generated message, by its full proto name (`greeter.v1.HelloRequest`).
    Generated(String),
}

impl RustType {
    /// The type as written in a stub, where `pb` is the module of proto package `package`.
    fn in_crate(&self, package: &str) -> String {
        match self {
            RustType::Extern(ty) => ty.clone(),
            RustType::Generated(full) if package.is_empty() => format!("pb::{}", type_path(full)),
            RustType::Generated(full) => match full.strip_prefix(&format!("{package}.")) {
                Some(rest) => format!("pb::{}", type_path(rest)),
                None => format!("crate::pb::{}", type_path(full)),
            },
        }
    }

    /// The type as written outside the crate (in its tests): `<crate>::pb::...`.
    fn outside(&self, crate_name: &str) -> String {
        match self {
            RustType::Extern(ty) => ty.clone(),
            RustType::Generated(full) => format!("{crate_name}::pb::{}", type_path(full)),
        }
    }
}

/// One RPC method, with the names the generated trait uses.
#[derive(Debug, Clone)]
pub(crate) struct MethodModel {
    /// The name in the proto (`SayHello`).
    pub(crate) proto_name: String,
    /// The trait method (`say_hello`, `r#move`).
    pub(crate) rust_name: String,
    /// The request message type.
    pub(crate) input: RustType,
    /// The response message type.
    pub(crate) output: RustType,
    /// The client sends a stream.
    pub(crate) client_streaming: bool,
    /// The server answers with a stream.
    pub(crate) server_streaming: bool,
}

impl MethodModel {
    /// The associated stream type of a server-streaming method (`SayHelloStream`).
    pub(crate) fn stream_type(&self) -> String {
        format!("{}Stream", self.proto_name)
    }

    fn kind(&self) -> &'static str {
        match (self.client_streaming, self.server_streaming) {
            (false, false) => "unary",
            (false, true) => "server_streaming",
            (true, false) => "client_streaming",
            (true, true) => "bidi_streaming",
        }
    }
}

/// One proto service and the Rust names around it.
#[derive(Debug, Clone)]
pub(crate) struct ServiceModel {
    /// The service name in the proto (`Greeter`).
    pub(crate) proto_name: String,
    /// The proto package (`greeter.v1`, may be empty).
    pub(crate) package: String,
    /// The proto file that declares it (relative to `proto/`).
    pub(crate) file: String,
    /// The generated trait (`Greeter`).
    pub(crate) trait_name: String,
    /// The package's module path under `pb` (`greeter::v1`, empty without a package).
    pub(crate) package_path: String,
    /// The handler struct the stub declares (`GreeterService`).
    pub(crate) struct_name: String,
    /// The stub's module and file stem under `src/service/` (`greeter_service`).
    pub(crate) module: String,
    /// The methods, in proto order.
    pub(crate) methods: Vec<MethodModel>,
}

impl ServiceModel {
    /// `greeter.v1.Greeter`.
    pub(crate) fn full_name(&self) -> String {
        if self.package.is_empty() {
            self.proto_name.clone()
        } else {
            format!("{}.{}", self.package, self.proto_name)
        }
    }

    fn pb_prefix(&self) -> String {
        if self.package_path.is_empty() {
            String::new()
        } else {
            format!("{}::", self.package_path)
        }
    }

    /// The generated server module (`greeter_server`).
    pub(crate) fn server_mod(&self) -> String {
        format!("{}_server", naive_snake_case(&self.trait_name))
    }

    /// The generated server type, from the crate root (`pb::greeter::v1::greeter_server::GreeterServer`).
    pub(crate) fn server_path(&self) -> String {
        format!(
            "pb::{}{}::{}Server",
            self.pb_prefix(),
            self.server_mod(),
            self.trait_name
        )
    }

    /// The template variables of this service (see `docs/cli.md`).
    pub(crate) fn to_value(&self, crate_name: &str) -> Value {
        let client_mod = format!("{}_client", naive_snake_case(&self.trait_name));
        let methods: Vec<Value> = self
            .methods
            .iter()
            .map(|m| self.method_value(m, crate_name))
            .collect();
        let any = |f: fn(&MethodModel) -> bool| self.methods.iter().any(f);
        let uses_local_types = self.methods.iter().any(|m| {
            [&m.input, &m.output]
                .into_iter()
                .any(|t| t.in_crate(&self.package).starts_with("pb::"))
        });
        let pb_use = if self.package_path.is_empty() {
            "crate::pb".to_owned()
        } else {
            format!("crate::pb::{}", self.package_path)
        };
        Value::from_pairs([
            ("proto_name", Value::from(self.proto_name.clone())),
            ("full_name", Value::from(self.full_name())),
            ("package", Value::from(self.package.clone())),
            ("file", Value::from(self.file.clone())),
            ("trait_name", Value::from(self.trait_name.clone())),
            (
                "trait_path",
                Value::from(format!("pb::{}::{}", self.server_mod(), self.trait_name)),
            ),
            ("server_mod", Value::from(self.server_mod())),
            ("server_path", Value::from(self.server_path())),
            (
                "client_path",
                Value::from(format!(
                    "{crate_name}::pb::{}{client_mod}::{}Client",
                    self.pb_prefix(),
                    self.trait_name
                )),
            ),
            ("pb_use", Value::from(pb_use)),
            ("pb_path", Value::from(self.package_path.clone())),
            ("uses_local_types", Value::from(uses_local_types)),
            ("struct_name", Value::from(self.struct_name.clone())),
            ("module", Value::from(self.module.clone())),
            (
                "has_client_streaming",
                Value::from(any(|m| m.client_streaming)),
            ),
            (
                "has_server_streaming",
                Value::from(any(|m| m.server_streaming)),
            ),
            ("methods", methods.into_iter().collect::<Value>()),
        ])
    }

    fn method_value(&self, m: &MethodModel, crate_name: &str) -> Value {
        let stream_type = m.stream_type();
        let camel = stream_type.chars().next().is_some_and(char::is_uppercase)
            && !stream_type.contains('_');
        Value::from_pairs([
            ("proto_name", Value::from(m.proto_name.clone())),
            ("rust_name", Value::from(m.rust_name.clone())),
            ("kind", Value::from(m.kind())),
            ("client_streaming", Value::from(m.client_streaming)),
            ("server_streaming", Value::from(m.server_streaming)),
            ("stream_type", Value::from(stream_type)),
            ("stream_type_is_camel", Value::from(camel)),
            ("input_type", Value::from(m.input.in_crate(&self.package))),
            ("output_type", Value::from(m.output.in_crate(&self.package))),
            (
                "input_type_outside",
                Value::from(m.input.outside(crate_name)),
            ),
            (
                "output_type_outside",
                Value::from(m.output.outside(crate_name)),
            ),
            (
                "path",
                Value::from(format!("/{}/{}", self.full_name(), m.proto_name)),
            ),
        ])
    }
}

/// The services declared in `files` (names relative to `proto/`) of the descriptor set.
pub(crate) fn services(
    set: &prost_types::FileDescriptorSet,
    files: &[String],
) -> Result<Vec<ServiceModel>> {
    let by_name: HashMap<&str, &FileDescriptorProto> =
        set.file.iter().map(|f| (f.name(), f)).collect();
    let mut out = Vec::new();
    for name in files {
        let Some(file) = by_name.get(name.as_str()) else {
            continue;
        };
        for service in &file.service {
            out.push(service_model(file, service)?);
        }
    }
    disambiguate(&mut out);
    Ok(out)
}

fn service_model(
    file: &FileDescriptorProto,
    service: &ServiceDescriptorProto,
) -> Result<ServiceModel> {
    let trait_name = to_upper_camel(service.name());
    let struct_name = if trait_name.ends_with("Service") {
        trait_name.clone()
    } else {
        format!("{trait_name}Service")
    };
    let package = file.package().to_owned();
    let package_path = module_path(&package);
    let mut methods = Vec::new();
    for method in &service.method {
        let input = resolve(method.input_type());
        let output = resolve(method.output_type());
        for (ty, proto) in [
            (&input, method.input_type()),
            (&output, method.output_type()),
        ] {
            if let RustType::Extern(rust) = ty
                && !rust.starts_with("::")
                && rust != "()"
            {
                return Err(Error::Unsupported(format!(
                    "{}: method {}/{} uses {} ({rust} in Rust) as its request or response; \
                     tonic-prost-build cannot generate a service for that (it writes `super::{rust}`)\n\
                     hint: wrap the value in a message of your own, e.g. `message {}Request {{ {} value = 1; }}`",
                    file.name(),
                    service.name(),
                    method.name(),
                    proto.trim_start_matches('.'),
                    method.name(),
                    proto_scalar(rust),
                )));
            }
        }
        methods.push(MethodModel {
            proto_name: method.name().to_owned(),
            rust_name: to_snake(method.name()),
            input,
            output,
            client_streaming: method.client_streaming(),
            server_streaming: method.server_streaming(),
        });
    }
    Ok(ServiceModel {
        proto_name: service.name().to_owned(),
        module: struct_name.to_snake_case(),
        struct_name,
        trait_name,
        package,
        package_path,
        file: file.name().to_owned(),
        methods,
    })
}

/// Two services of the same name in different packages get the package in their stub's name.
fn disambiguate(services: &mut [ServiceModel]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in services.iter() {
        *counts.entry(s.module.clone()).or_default() += 1;
    }
    for s in services.iter_mut() {
        if counts[&s.module] > 1 && !s.package.is_empty() {
            s.struct_name = format!(
                "{}{}",
                to_upper_camel(&s.package.replace('.', "_")),
                s.struct_name
            );
            s.module = s.struct_name.to_snake_case();
        }
    }
}

/// The module path of a proto package under `pb` (prost-build's `Module`): `greeter::v1`.
pub(crate) fn module_path(package: &str) -> String {
    package
        .split('.')
        .filter(|p| !p.is_empty())
        .map(to_snake)
        .collect::<Vec<_>>()
        .join("::")
}

/// prost-build's `resolve_ident` with its default extern paths, made absolute under `pb`.
pub(crate) fn resolve(proto_type: &str) -> RustType {
    let name = proto_type.trim_start_matches('.');
    let wrapper = match name {
        "google.protobuf.Empty" => Some("()"),
        "google.protobuf.BoolValue" => Some("bool"),
        "google.protobuf.BytesValue" => Some("::prost::alloc::vec::Vec<u8>"),
        "google.protobuf.DoubleValue" => Some("f64"),
        "google.protobuf.FloatValue" => Some("f32"),
        "google.protobuf.Int32Value" => Some("i32"),
        "google.protobuf.Int64Value" => Some("i64"),
        "google.protobuf.StringValue" => Some("::prost::alloc::string::String"),
        "google.protobuf.UInt32Value" => Some("u32"),
        "google.protobuf.UInt64Value" => Some("u64"),
        _ => None,
    };
    if let Some(rust) = wrapper {
        return RustType::Extern(rust.to_owned());
    }
    if let Some(rest) = name.strip_prefix("google.protobuf.") {
        return RustType::Extern(format!("::prost_types::{}", type_path(rest)));
    }
    RustType::Generated(name.to_owned())
}

/// `a.b.Outer.Inner` -> `a::b::outer::Inner`.
fn type_path(name: &str) -> String {
    let mut parts: Vec<&str> = name.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    parts
        .iter()
        .map(|p| to_snake(p))
        .chain([to_upper_camel(last)])
        .collect::<Vec<_>>()
        .join("::")
}

fn proto_scalar(rust: &str) -> &'static str {
    match rust {
        "bool" => "bool",
        "f64" => "double",
        "f32" => "float",
        "i32" => "int32",
        "i64" => "int64",
        "u32" => "uint32",
        _ => "uint64",
    }
}
