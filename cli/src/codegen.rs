//! What tonic-prost-build generates for each service, learned by running it.
//!
//! Instead of re-implementing prost's and tonic's naming rules, the CLI runs the same code
//! generation a service's build script runs ([`bia_build::prost_config`] and
//! [`bia_build::service_generator`]) in memory over the protox descriptors. A wrapping
//! [`prost_build::ServiceGenerator`] keeps what prost resolved for each service (its proto
//! names, package and comments) and reads the generated server trait back with syn: the trait,
//! module and type names, each method's Rust name and request and response types, and the
//! associated stream types. Stubs written from that cannot drift from the generated traits.

use std::cell::RefCell;
use std::rc::Rc;

use prost_build::Module;
use prost_types::FileDescriptorSet;

use crate::errors::{Error, Result};

/// A Rust type in a method signature, as the generated trait has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RustType {
    /// A type outside the generated code, written as is (`()`, `::prost_types::Timestamp`).
    Extern(String),
    /// A generated type: its path from the `pb` root (`["shop", "v1", "item", "Filter"]`).
    Generated(Vec<String>),
}

/// One method of a generated server trait.
#[derive(Debug, Clone)]
pub(crate) struct GeneratedMethod {
    /// The name in the proto (`SayHello`).
    pub(crate) proto_name: String,
    /// The proto type of the request (`.greeter.v1.SayHelloRequest`).
    pub(crate) input_proto_type: String,
    /// The proto type of the response.
    pub(crate) output_proto_type: String,
    /// The trait method (`say_hello`, `r#move`).
    pub(crate) rust_name: String,
    /// The request message type.
    pub(crate) input: RustType,
    /// The response message type (of each message, for a stream).
    pub(crate) output: RustType,
    /// The client sends a stream.
    pub(crate) client_streaming: bool,
    /// The associated stream type of a server-streaming method (`SayHelloStream`).
    pub(crate) stream_type: Option<String>,
    /// The leading comment of the method in the proto, one entry per line.
    pub(crate) comments: Vec<String>,
}

/// One generated service: its server trait and the names around it.
#[derive(Debug, Clone)]
pub(crate) struct GeneratedService {
    /// The service name in the proto (`Greeter`).
    pub(crate) proto_name: String,
    /// The proto package (`greeter.v1`, may be empty).
    pub(crate) package: String,
    /// The package's modules under `pb` (`["greeter", "v1"]`).
    pub(crate) package_modules: Vec<String>,
    /// The server trait (`Greeter`).
    pub(crate) trait_name: String,
    /// The module holding the trait and the server type (`greeter_server`).
    pub(crate) server_mod: String,
    /// The server type (`GreeterServer`).
    pub(crate) server_type: String,
    /// The module of the client (`greeter_client`).
    pub(crate) client_mod: String,
    /// The client type (`GreeterClient`).
    pub(crate) client_type: String,
    /// The leading comment of the service in the proto, one entry per line.
    pub(crate) comments: Vec<String>,
    /// The methods, in proto order.
    pub(crate) methods: Vec<GeneratedMethod>,
}

/// Runs prost and tonic-prost-build over `fds` and returns every service they generated.
pub(crate) fn generate(fds: &FileDescriptorSet) -> Result<Vec<GeneratedService>> {
    let found = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        inner: bia_build::service_generator(),
        found: Rc::clone(&found),
    };
    let mut config = bia_build::prost_config();
    config.service_generator(Box::new(recorder));
    let requests = fds
        .file
        .iter()
        .map(|file| {
            (
                Module::from_protobuf_package_name(file.package()),
                file.clone(),
            )
        })
        .collect();
    config
        .generate(requests)
        .map_err(|e| Error::Unsupported(format!("prost cannot generate code: {e}")))?;
    drop(config);
    let recorded = std::mem::take(&mut *found.borrow_mut());
    recorded.into_iter().collect()
}

/// A service generator that delegates to tonic's and reads back what it wrote.
struct Recorder {
    inner: Box<dyn prost_build::ServiceGenerator>,
    found: Rc<RefCell<Vec<Result<GeneratedService>>>>,
}

impl prost_build::ServiceGenerator for Recorder {
    fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
        let mut code = String::new();
        self.inner.generate(service.clone(), &mut code);
        let read = read_back(&service, &code);
        self.found.borrow_mut().push(read);
        buf.push_str(&code);
    }

    fn finalize(&mut self, buf: &mut String) {
        self.inner.finalize(buf);
    }

    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        self.inner.finalize_package(package, buf);
    }
}

fn read_back(service: &prost_build::Service, code: &str) -> Result<GeneratedService> {
    let unreadable = |what: &str| {
        Error::Unsupported(format!(
            "cannot read the code tonic-prost-build generated for {}.{}: {what}; \
             this bia does not match the tonic-prost-build it was built with",
            service.package, service.proto_name
        ))
    };
    let file = syn::parse_file(code).map_err(|e| unreadable(&e.to_string()))?;
    let modules: Vec<&syn::ItemMod> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) => Some(m),
            _ => None,
        })
        .collect();
    let mut server = None;
    let mut client = None;
    for module in &modules {
        let items = module.content.as_ref().map_or(&[][..], |(_, i)| &i[..]);
        let trait_ = items.iter().find_map(|item| match item {
            syn::Item::Trait(t) => Some(t),
            _ => None,
        });
        let public_struct = items.iter().find_map(|item| match item {
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                Some(s.ident.to_string())
            }
            _ => None,
        });
        match (trait_, public_struct) {
            (Some(t), Some(s)) => server = Some((module.ident.to_string(), t, s)),
            (None, Some(s)) => client = Some((module.ident.to_string(), s)),
            _ => {}
        }
    }
    let (server_mod, server_trait, server_type) = server.ok_or_else(|| unreadable("no server"))?;
    let (client_mod, client_type) = client.ok_or_else(|| unreadable("no client"))?;
    let package_modules: Vec<String> = Module::from_protobuf_package_name(&service.package)
        .parts()
        .map(str::to_owned)
        .collect();

    let mut methods = Vec::new();
    let functions = server_trait.items.iter().filter_map(|item| match item {
        syn::TraitItem::Fn(f) => Some(f),
        _ => None,
    });
    for (function, method) in functions.zip(&service.methods) {
        let input = function
            .sig
            .inputs
            .iter()
            .find_map(|arg| match arg {
                syn::FnArg::Typed(t) => Some(&*t.ty),
                syn::FnArg::Receiver(_) => None,
            })
            .and_then(|request| first_arg(request))
            .ok_or_else(|| unreadable("a method without a request"))?;
        let (input, client_streaming) = match first_arg_of(input, "Streaming") {
            Some(inner) => (inner, true),
            None => (input, false),
        };
        let response = match &function.sig.output {
            syn::ReturnType::Type(_, ty) => first_arg(ty).and_then(first_arg),
            syn::ReturnType::Default => None,
        }
        .ok_or_else(|| unreadable("a method without a response"))?;
        let (output, stream_type) = match self_associated(response) {
            Some(stream) => (
                stream_item(server_trait, &stream)
                    .ok_or_else(|| unreadable("a stream type without an item"))?,
                Some(stream),
            ),
            None => (response, None),
        };
        methods.push(GeneratedMethod {
            proto_name: method.proto_name.clone(),
            input_proto_type: method.input_proto_type.clone(),
            output_proto_type: method.output_proto_type.clone(),
            rust_name: function.sig.ident.to_string(),
            input: rust_type(input, &package_modules),
            output: rust_type(output, &package_modules),
            client_streaming,
            stream_type,
            comments: method.comments.leading.clone(),
        });
    }
    if methods.len() != service.methods.len() {
        return Err(unreadable("fewer trait methods than proto methods"));
    }
    Ok(GeneratedService {
        proto_name: service.proto_name.clone(),
        package: service.package.clone(),
        package_modules,
        trait_name: server_trait.ident.to_string(),
        server_mod,
        server_type,
        client_mod,
        client_type,
        comments: service.comments.leading.clone(),
        methods,
    })
}

/// The first generic argument of the last segment of a path type: `T` of `a::B<T, U>`.
fn first_arg(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// `T` of `...::<name><T>`.
fn first_arg_of<'a>(ty: &'a syn::Type, name: &str) -> Option<&'a syn::Type> {
    match ty {
        syn::Type::Path(path) if path.path.segments.last()?.ident == name => first_arg(ty),
        _ => None,
    }
}

/// `X` of `Self::X`.
fn self_associated(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [first, name] if first == "Self" => Some(name.clone()),
        _ => None,
    }
}

/// The message type of the associated stream `name`: `M` of
/// `type Name: Stream<Item = Result<M, Status>>`.
fn stream_item<'a>(server_trait: &'a syn::ItemTrait, name: &str) -> Option<&'a syn::Type> {
    server_trait.items.iter().find_map(|item| {
        let syn::TraitItem::Type(ty) = item else {
            return None;
        };
        if ty.ident != name {
            return None;
        }
        ty.bounds.iter().find_map(|bound| {
            let syn::TypeParamBound::Trait(bound) = bound else {
                return None;
            };
            let syn::PathArguments::AngleBracketed(args) = &bound.path.segments.last()?.arguments
            else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::AssocType(item) if item.ident == "Item" => {
                    first_arg(&item.ty)
                }
                _ => None,
            })
        })
    })
}

/// A type as written inside the generated `<service>_server` module, made absolute: `super`
/// is the package's module, each further `super` one module up.
fn rust_type(ty: &syn::Type, package_modules: &[String]) -> RustType {
    if let syn::Type::Path(path) = ty
        && path.qself.is_none()
        && path.path.leading_colon.is_none()
        && path
            .path
            .segments
            .first()
            .is_some_and(|s| s.ident == "super")
    {
        let segments: Vec<String> = path
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let ups = segments.iter().take_while(|s| *s == "super").count();
        let keep = package_modules.len().saturating_sub(ups - 1);
        let mut absolute: Vec<String> = package_modules[..keep].to_vec();
        absolute.extend(segments[ups..].iter().cloned());
        return RustType::Generated(absolute);
    }
    RustType::Extern(type_to_string(ty))
}

/// A type as rustfmt would write it.
pub(crate) fn type_to_string(ty: &syn::Type) -> String {
    let alias: syn::File = syn::parse_quote! { type T = #ty; };
    let text = prettyplease::unparse(&alias);
    text.trim()
        .trim_start_matches("type T = ")
        .trim_end_matches(';')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(proto: &str) -> Vec<GeneratedService> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/v1/a.proto");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, proto).unwrap();
        let protos = bia_build::Builder::new()
            .proto_dir(dir.path())
            .load()
            .unwrap();
        generate(&protos.fds).unwrap()
    }

    #[test]
    fn reads_names_and_types_back_from_the_generated_trait() {
        let services = compile(
            "syntax = \"proto3\";\npackage a.v1;\nimport \"google/protobuf/empty.proto\";\n\
             // Does things.\nservice HTTPThing {\n  // Moves.\n  rpc Move(M.N) returns (stream M);\n  \
             rpc Up(stream google.protobuf.Empty) returns (google.protobuf.Empty);\n}\n\
             message M { message N {} }\n",
        );
        let [service] = services.as_slice() else {
            panic!("{services:?}")
        };
        assert_eq!(service.trait_name, "HttpThing");
        assert_eq!(service.server_mod, "http_thing_server");
        assert_eq!(service.server_type, "HttpThingServer");
        assert_eq!(service.client_type, "HttpThingClient");
        assert_eq!(service.package_modules, ["a", "v1"]);
        assert_eq!(service.comments, ["Does things."]);
        let [moves, up] = service.methods.as_slice() else {
            panic!("{service:?}")
        };
        assert_eq!(moves.rust_name, "r#move");
        assert_eq!(moves.stream_type.as_deref(), Some("MoveStream"));
        assert_eq!(
            moves.input,
            RustType::Generated(vec!["a".into(), "v1".into(), "m".into(), "N".into()])
        );
        assert_eq!(
            moves.output,
            RustType::Generated(vec!["a".into(), "v1".into(), "M".into()])
        );
        assert_eq!(moves.comments, ["Moves."]);
        assert!(up.client_streaming && up.stream_type.is_none());
        assert_eq!(up.input, RustType::Extern("()".into()));
    }
}
