//! The Rust files the CLI writes itself: a stub per service, and `src/service/mod.rs`, which it
//! owns and rewrites whole.
//!
//! Every file is parsed with syn before it is written, so what the CLI writes is valid Rust or
//! an error. It is laid out by rustfmt when rustfmt is installed (as `cargo fmt` would), else
//! printed by prettyplease.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::errors::{Error, Result};
use crate::proto_model::{MethodModel, ServiceModel};

/// The path of the file the CLI owns, in a project.
pub(crate) const SERVICE_MOD: &str = "src/service/mod.rs";

/// Checks that `source` is valid Rust and lays it out.
pub(crate) fn format(name: &str, source: &str) -> Result<String> {
    let file = syn::parse_file(source).map_err(|e| {
        Error::Unsupported(format!(
            "bia produced invalid Rust for {name} ({e}); please report this with the proto"
        ))
    })?;
    Ok(rustfmt(source).unwrap_or_else(|| prettyplease::unparse(&file)))
}

/// `source` through rustfmt, if it is installed and accepts it.
fn rustfmt(source: &str) -> Option<String> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(rustfmt)
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(source.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

/// Doc comment lines from proto comment lines (prost's `Comments::leading`).
fn doc_lines(out: &mut String, indent: &str, comments: &[String]) {
    for line in comments {
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else if line.starts_with(' ') {
            let _ = writeln!(out, "{indent}///{line}");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

/// The stub of `service`: a handler struct and an implementation of the generated trait in
/// which every method answers `UNIMPLEMENTED`, with the proto's comments as docs.
pub(crate) fn stub(service: &ServiceModel) -> Result<String> {
    let full_name = service.full_name();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "//! Handlers of `{full_name}` (proto/{}).\n//!\n\
         //! Every method answers UNIMPLEMENTED until you write it: take what you need from the\n\
         //! request, call `crate::biz`, and build the response.\n",
        service.file
    );
    let methods = service.methods();
    let client_streaming = methods.iter().any(|m| m.client_streaming);
    let server_streaming = methods.iter().any(MethodModel::server_streaming);
    let streaming = if client_streaming { ", Streaming" } else { "" };
    let _ = writeln!(
        out,
        "use tonic::{{Request, Response, Status{streaming}}};\n"
    );
    match service.package_path().as_str() {
        "" => out.push_str("use crate::pb;\n"),
        path => {
            let _ = writeln!(out, "use crate::pb::{path} as pb;");
        }
    }
    if server_streaming {
        out.push_str(
            "\n/// The stream a server-streaming handler answers with.\n\
             type BoxStream<T> = std::pin::Pin<\n    \
             Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static>,\n>;\n",
        );
    }
    out.push('\n');
    let comments = &service.generated.comments;
    doc_lines(&mut out, "", comments);
    if !comments.is_empty() {
        out.push_str("///\n");
    }
    let name = &service.struct_name;
    let _ = writeln!(
        out,
        "/// Implements `{full_name}`.\n\
         #[derive(Debug, Default, Clone)]\npub struct {name} {{}}\n\n\
         impl {name} {{\n    \
         /// Handlers over the use cases of `crate::biz`; they keep no state yet.\n    \
         pub fn new(_use_cases: &crate::biz::UseCases) -> Self {{\n        Self {{}}\n    }}\n}}\n"
    );
    let _ = writeln!(
        out,
        "#[tonic::async_trait]\nimpl pb::{} for {name} {{",
        service.trait_in_package()
    );
    let package = &service.generated.package_modules;
    for (i, m) in methods.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let output = m.output.in_crate(package);
        let input = m.input.in_crate(package);
        let response = match &m.stream_type {
            Some(stream) => {
                if stream.contains('_') || !stream.starts_with(char::is_uppercase) {
                    out.push_str("    #[allow(non_camel_case_types)]\n");
                }
                let _ = writeln!(out, "    type {stream} = BoxStream<{output}>;\n");
                format!("Self::{stream}")
            }
            None => output,
        };
        let request = if m.client_streaming {
            format!("Streaming<{input}>")
        } else {
            input
        };
        doc_lines(&mut out, "    ", &m.comments);
        let _ = writeln!(
            out,
            "    async fn {}(&self, _request: Request<{request}>) -> Result<Response<{response}>, Status> {{\n        \
             Err(Status::unimplemented(\"{}/{} is not implemented yet\"))\n    }}",
            m.rust_name, service.generated.proto_name, m.proto_name
        );
    }
    out.push_str("}\n");
    format(&format!("the stub of {full_name}"), &out)
}

/// One registered handler in `src/service/mod.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handler {
    /// Its module and file stem (`greeter_service`).
    pub(crate) module: String,
    /// Its type (`GreeterService`).
    pub(crate) struct_name: String,
    /// The generated server it is wrapped in, from the crate root
    /// (`pb::greeter::v1::greeter_server::GreeterServer`).
    pub(crate) server_path: String,
}

impl Handler {
    /// The handler of `service`.
    pub(crate) fn of(service: &ServiceModel) -> Self {
        Self {
            module: service.module.clone(),
            struct_name: service.struct_name.clone(),
            server_path: service.server_path(),
        }
    }
}

/// `src/service/mod.rs` for `handlers`: their modules, and `register`, which adds each to the
/// app builder.
pub(crate) fn service_mod(handlers: &[Handler]) -> Result<String> {
    let mut handlers = handlers.to_vec();
    handlers.sort_by(|a, b| a.module.cmp(&b.module));
    let mut out = String::from(
        "//! gRPC handlers: one file per proto service, each implementing the trait tonic generates.\n\
         //! Handlers turn requests into calls to [`crate::biz`] and its answers into responses.\n//!\n\
         //! `bia proto server` owns this file and writes it whole when it adds a service: put your\n\
         //! code in the handler files (they are never overwritten), and build what handlers need in\n\
         //! [`crate::biz::UseCases`].\n\n",
    );
    for h in &handlers {
        let _ = writeln!(out, "mod {};", h.module);
    }
    if !handlers.is_empty() {
        out.push('\n');
    }
    for h in &handlers {
        let _ = writeln!(out, "pub use {}::{};", h.module, h.struct_name);
    }
    if !handlers.is_empty() {
        out.push('\n');
    }
    let use_cases = if handlers.is_empty() {
        "_use_cases"
    } else {
        "use_cases"
    };
    let _ = writeln!(
        out,
        "/// Adds a gRPC server for each handler of this folder to `builder`, every handler made\n\
         /// from the same `use_cases`.\n\
         pub fn register(builder: bia::AppBuilder, {use_cases}: &crate::biz::UseCases) -> bia::AppBuilder {{\n    builder"
    );
    for h in &handlers {
        let _ = writeln!(
            out,
            "        .add_service(crate::{}::new({}::new(use_cases)))",
            h.server_path, h.struct_name
        );
    }
    out.push_str("}\n");
    format(SERVICE_MOD, &out)
}

/// The handlers registered in a `src/service/mod.rs` that [`service_mod`] wrote.
pub(crate) fn read_service_mod(source: &str) -> Result<Vec<Handler>> {
    let not_ours = |what: &str| {
        Error::Unsupported(format!(
            "{SERVICE_MOD} is not as bia wrote it ({what}); bia owns that file and rewrites it \
             whole: move your code into the handler files or src/lib.rs, keep only `mod`, \
             `pub use` and `register` there, then run this again"
        ))
    };
    let file = syn::parse_file(source).map_err(|e| not_ours(&e.to_string()))?;
    let register = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Fn(f) if f.sig.ident == "register" => Some(f),
            _ => None,
        })
        .ok_or_else(|| not_ours("no `fn register`"))?;
    let mut calls = Vec::new();
    let mut expr = match register.block.stmts.as_slice() {
        [syn::Stmt::Expr(expr, None)] => expr,
        _ => {
            return Err(not_ours(
                "`register` is more than one chain of calls on `builder`",
            ));
        }
    };
    while let syn::Expr::MethodCall(call) = expr {
        if call.method != "add_service" {
            return Err(not_ours("`register` calls more than `add_service`"));
        }
        calls.push(
            call.args
                .first()
                .ok_or_else(|| not_ours("an empty add_service"))?,
        );
        expr = &call.receiver;
    }
    if !matches!(expr, syn::Expr::Path(p) if p.path.is_ident("builder")) {
        return Err(not_ours("`register` does not start from `builder`"));
    }
    calls.reverse();
    let mut handlers = Vec::new();
    for call in calls {
        let (server, inner) = new_call(call).ok_or_else(|| not_ours("an unusual add_service"))?;
        let (handler, _) = inner
            .and_then(new_call)
            .ok_or_else(|| not_ours("an unusual add_service"))?;
        let server_path = server.trim_start_matches("crate::").to_owned();
        let struct_name = handler.rsplit("::").next().unwrap_or_default().to_owned();
        let module = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Use(u) => use_of(&u.tree, &struct_name),
                _ => None,
            })
            .ok_or_else(|| not_ours(&format!("no `pub use` of {struct_name}")))?;
        handlers.push(Handler {
            module,
            struct_name,
            server_path,
        });
    }
    // Anything else would be lost when the file is written again.
    for item in &file.items {
        let ours = match item {
            syn::Item::Fn(f) => f.sig.ident == "register",
            syn::Item::Mod(m) => {
                m.content.is_none() && handlers.iter().any(|h| m.ident == h.module)
            }
            syn::Item::Use(u) => handlers
                .iter()
                .any(|h| use_of(&u.tree, &h.struct_name).is_some_and(|m| m == h.module)),
            _ => false,
        };
        if !ours {
            return Err(not_ours(
                "it has an item that is not a registered handler's",
            ));
        }
    }
    Ok(handlers)
}

/// `P` and the first argument of a call `P::new(arg)`.
fn new_call(expr: &syn::Expr) -> Option<(String, Option<&syn::Expr>)> {
    let syn::Expr::Call(call) = expr else {
        return None;
    };
    let syn::Expr::Path(path) = &*call.func else {
        return None;
    };
    let mut segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if segments.pop()? != "new" {
        return None;
    }
    Some((segments.join("::"), call.args.first()))
}

/// The module of `use <module>::<name>;`.
fn use_of(tree: &syn::UseTree, name: &str) -> Option<String> {
    let syn::UseTree::Path(path) = tree else {
        return None;
    };
    match &*path.tree {
        syn::UseTree::Name(n) if n.ident == name => Some(path.ident.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_mod_round_trips() {
        let handlers = vec![
            Handler {
                module: "shop_service".into(),
                struct_name: "ShopService".into(),
                server_path: "pb::shop::v1::shop_server::ShopServer".into(),
            },
            Handler {
                module: "admin_service".into(),
                struct_name: "AdminService".into(),
                server_path: "pb::shop::v1::admin_server::AdminServer".into(),
            },
        ];
        let text = service_mod(&handlers).unwrap();
        assert!(
            text.contains("mod admin_service;\nmod shop_service;\n"),
            "{text}"
        );
        let mut sorted = handlers.clone();
        sorted.reverse();
        assert_eq!(read_service_mod(&text).unwrap(), sorted);
        let empty = service_mod(&[]).unwrap();
        assert!(
            empty.contains("_use_cases: &crate::biz::UseCases"),
            "{empty}"
        );
        assert!(read_service_mod(&empty).unwrap().is_empty());
        assert!(read_service_mod("fn main() {}").is_err());
        let extra = text.replace("mod admin_service;", "mod admin_service;\nmod helpers;");
        assert!(read_service_mod(&extra).is_err(), "an item of the user's");
    }
}
