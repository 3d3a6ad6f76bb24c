//! The services of a project as the CLI's templates and stubs see them: what
//! tonic-prost-build generates for each (from [`crate::codegen`], so the names are the generated
//! ones, never re-derived), plus the names the CLI gives its own files and handler types.

use std::collections::{BTreeMap, HashMap};

use heck::{ToSnakeCase, ToUpperCamelCase};
use minijinja::Value;
use prost_types::FileDescriptorSet;

use crate::codegen::{self, GeneratedMethod, GeneratedService, RustType};
use crate::errors::{Error, Result};

impl RustType {
    /// The type as written in a stub, where `pb` is the module of the service's package.
    pub(crate) fn in_crate(&self, package_modules: &[String]) -> String {
        match self {
            RustType::Extern(ty) => ty.clone(),
            RustType::Generated(path) => match path.strip_prefix(package_modules) {
                Some(rest) => format!("pb::{}", rest.join("::")),
                None => format!("crate::pb::{}", path.join("::")),
            },
        }
    }

    /// The type as written outside the crate (in its tests): `<crate>::pb::...`.
    fn outside(&self, crate_name: &str) -> String {
        match self {
            RustType::Extern(ty) => ty.clone(),
            RustType::Generated(path) => format!("{crate_name}::pb::{}", path.join("::")),
        }
    }
}

/// One RPC method, with the names the generated trait uses.
pub(crate) type MethodModel = GeneratedMethod;

impl GeneratedMethod {
    /// The server answers with a stream.
    pub(crate) fn server_streaming(&self) -> bool {
        self.stream_type.is_some()
    }

    fn kind(&self) -> &'static str {
        match (self.client_streaming, self.server_streaming()) {
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
    /// What tonic-prost-build generates for it.
    pub(crate) generated: GeneratedService,
    /// The proto file that declares it (relative to `proto/`).
    pub(crate) file: String,
    /// The handler struct the stub declares (`GreeterService`).
    pub(crate) struct_name: String,
    /// The stub's module and file stem under `src/service/` (`greeter_service`).
    pub(crate) module: String,
}

impl ServiceModel {
    /// `greeter.v1.Greeter`.
    pub(crate) fn full_name(&self) -> String {
        let g = &self.generated;
        if g.package.is_empty() {
            g.proto_name.clone()
        } else {
            format!("{}.{}", g.package, g.proto_name)
        }
    }

    /// Puts the package into the handler's names (`shop.v1.Admin` -> `ShopV1AdminService` in
    /// `shop_v1_admin_service.rs`), for two services of one name in different packages.
    pub(crate) fn qualify(&mut self) {
        if self.generated.package.is_empty() {
            return;
        }
        let package = self.generated.package.replace('.', "_");
        self.struct_name = format!("{}{}", package.to_upper_camel_case(), self.struct_name);
        self.module = self.struct_name.to_snake_case();
    }

    /// The methods, in proto order.
    pub(crate) fn methods(&self) -> &[MethodModel] {
        &self.generated.methods
    }

    /// The package's module path under `pb` (`greeter::v1`, empty without a package).
    pub(crate) fn package_path(&self) -> String {
        self.generated.package_modules.join("::")
    }

    fn pb_prefix(&self) -> String {
        self.generated
            .package_modules
            .iter()
            .map(|m| format!("{m}::"))
            .collect()
    }

    /// The trait, from the package's module (`greeter_server::Greeter`).
    pub(crate) fn trait_in_package(&self) -> String {
        format!(
            "{}::{}",
            self.generated.server_mod, self.generated.trait_name
        )
    }

    /// The generated server type, from the crate root (`pb::greeter::v1::greeter_server::GreeterServer`).
    pub(crate) fn server_path(&self) -> String {
        format!(
            "pb::{}{}::{}",
            self.pb_prefix(),
            self.generated.server_mod,
            self.generated.server_type
        )
    }

    /// The template variables of this service (see `docs/cli.md`).
    pub(crate) fn to_value(&self, crate_name: &str) -> Value {
        let g = &self.generated;
        let methods: Vec<Value> = g
            .methods
            .iter()
            .map(|m| self.method_value(m, crate_name))
            .collect();
        let any = |f: fn(&MethodModel) -> bool| g.methods.iter().any(f);
        let uses_local_types = g.methods.iter().any(|m| {
            [&m.input, &m.output]
                .into_iter()
                .any(|t| t.in_crate(&g.package_modules).starts_with("pb::"))
        });
        let package_path = self.package_path();
        let pb_use = if package_path.is_empty() {
            "crate::pb".to_owned()
        } else {
            format!("crate::pb::{package_path}")
        };
        Value::from_pairs([
            ("proto_name", Value::from(g.proto_name.clone())),
            ("full_name", Value::from(self.full_name())),
            ("package", Value::from(g.package.clone())),
            ("file", Value::from(self.file.clone())),
            ("trait_name", Value::from(g.trait_name.clone())),
            (
                "trait_path",
                Value::from(format!("pb::{}", self.trait_in_package())),
            ),
            ("server_mod", Value::from(g.server_mod.clone())),
            ("server_path", Value::from(self.server_path())),
            (
                "client_path",
                Value::from(format!(
                    "{crate_name}::pb::{}{}::{}",
                    self.pb_prefix(),
                    g.client_mod,
                    g.client_type
                )),
            ),
            ("pb_use", Value::from(pb_use)),
            ("pb_path", Value::from(package_path)),
            ("uses_local_types", Value::from(uses_local_types)),
            ("struct_name", Value::from(self.struct_name.clone())),
            ("module", Value::from(self.module.clone())),
            (
                "has_client_streaming",
                Value::from(any(|m| m.client_streaming)),
            ),
            (
                "has_server_streaming",
                Value::from(any(|m| m.server_streaming())),
            ),
            ("comments", Value::from(g.comments.clone())),
            ("methods", methods.into_iter().collect::<Value>()),
        ])
    }

    fn method_value(&self, m: &MethodModel, crate_name: &str) -> Value {
        let package = &self.generated.package_modules;
        let stream_type = m.stream_type.clone().unwrap_or_default();
        let camel = stream_type.chars().next().is_some_and(char::is_uppercase)
            && !stream_type.contains('_');
        Value::from_pairs([
            ("proto_name", Value::from(m.proto_name.clone())),
            ("rust_name", Value::from(m.rust_name.clone())),
            ("kind", Value::from(m.kind())),
            ("client_streaming", Value::from(m.client_streaming)),
            ("server_streaming", Value::from(m.server_streaming())),
            ("stream_type", Value::from(stream_type)),
            ("stream_type_is_camel", Value::from(camel)),
            ("input_type", Value::from(m.input.in_crate(package))),
            ("output_type", Value::from(m.output.in_crate(package))),
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
            ("comments", Value::from(m.comments.clone())),
        ])
    }
}

/// The services declared in `files` (names relative to `proto/`) of the descriptor set, in
/// file order, as tonic-prost-build generates them.
pub(crate) fn services(set: &FileDescriptorSet, files: &[String]) -> Result<Vec<ServiceModel>> {
    let mut generated: HashMap<(String, String), GeneratedService> = codegen::generate(set)?
        .into_iter()
        .map(|g| ((g.package.clone(), g.proto_name.clone()), g))
        .collect();
    let mut out = Vec::new();
    for name in files {
        let Some(file) = set.file.iter().find(|f| f.name() == name) else {
            continue;
        };
        for service in &file.service {
            let key = (file.package().to_owned(), service.name().to_owned());
            let Some(generated) = generated.remove(&key) else {
                continue;
            };
            check_servable(&generated, file.name())?;
            let trait_name = &generated.trait_name;
            let struct_name = if trait_name.ends_with("Service") {
                trait_name.clone()
            } else {
                format!("{trait_name}Service")
            };
            out.push(ServiceModel {
                module: struct_name.to_snake_case(),
                struct_name,
                file: file.name().to_owned(),
                generated,
            });
        }
    }
    disambiguate(&mut out);
    Ok(out)
}

/// A request or response that is a whole primitive wrapper (`google.protobuf.Int32Value`) is
/// generated as `super::i32`, which does not compile: refuse it with a fix.
fn check_servable(service: &GeneratedService, file: &str) -> Result<()> {
    for method in &service.methods {
        for (ty, proto) in [
            (&method.input, &method.input_proto_type),
            (&method.output, &method.output_proto_type),
        ] {
            let proto = proto.trim_start_matches('.');
            if let (RustType::Generated(path), Some(wrapper)) =
                (ty, proto.strip_prefix("google.protobuf."))
            {
                let rust = path.last().map_or("", String::as_str);
                let scalar = wrapper.trim_end_matches("Value").to_ascii_lowercase();
                return Err(Error::Unsupported(format!(
                    "{file}: method {}/{} uses {proto} ({rust} in Rust) as its request or \
                     response; tonic-prost-build cannot generate a service for that (it writes \
                     `super::{rust}`)\n\
                     hint: wrap the value in a message of your own, e.g. \
                     `message {}Request {{ {scalar} value = 1; }}`",
                    service.proto_name, method.proto_name, method.proto_name,
                )));
            }
        }
    }
    Ok(())
}

/// Two services of the same name in different packages get the package in their stub's name.
fn disambiguate(services: &mut [ServiceModel]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in services.iter() {
        *counts.entry(s.module.clone()).or_default() += 1;
    }
    for s in services.iter_mut() {
        if counts[&s.module] > 1 {
            s.qualify();
        }
    }
}
