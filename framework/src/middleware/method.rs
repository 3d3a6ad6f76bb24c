//! What a server knows of the methods it serves.
//!
//! The table is built once from the registered services' descriptors, so every layer can label a
//! call with a bounded method name: paths the server does not serve fall under `_OTHER`.

use std::collections::HashMap;

use prost::Message;
use prost_types::FileDescriptorSet;

/// The shape of a method, from its descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpcKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    BidiStreaming,
    /// Not a method this server declares.
    Unknown,
}

impl RpcKind {
    /// Whether either side streams.
    pub fn is_streaming(self) -> bool {
        matches!(
            self,
            RpcKind::ServerStreaming | RpcKind::ClientStreaming | RpcKind::BidiStreaming
        )
    }
}

/// One method a server serves.
#[derive(Debug)]
pub struct MethodInfo {
    /// `package.Service/Method`: the span name and the `rpc_method` label.
    pub name: &'static str,
    /// `package.Service`.
    pub service: &'static str,
    /// `Method`.
    pub method: &'static str,
    /// Its streaming shape.
    pub kind: RpcKind,
    /// Served by Bia itself (health and reflection): user layers leave these calls alone.
    pub builtin: bool,
    /// Makes no span and no access-log line (still counted in metrics): Bia's own services, and
    /// the methods `telemetry.exclude_methods` lists.
    pub quiet: bool,
    pub(crate) index: usize,
}

/// The services every Bia server serves by itself.
pub(crate) const BUILTIN_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The name under which calls to paths a server does not serve are counted.
pub const OTHER_METHOD: &str = "_OTHER";

/// Every method of a server, by path.
#[derive(Debug)]
pub struct MethodTable {
    by_path: HashMap<&'static str, &'static MethodInfo>,
    methods: Vec<&'static MethodInfo>,
}

impl MethodTable {
    /// Builds the table from encoded `FileDescriptorSet`s, keeping the services in `served`.
    ///
    /// Entries live as long as the process: a server's methods are fixed for its whole life, and
    /// `&'static` lets every call carry its method without reference counting.
    pub fn new<'a>(
        descriptor_sets: &[&[u8]],
        served: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, prost::DecodeError> {
        Self::with_quiet_methods(descriptor_sets, served, &[])
    }

    /// [`MethodTable::new`], marking as [`quiet`](MethodInfo::quiet) the methods that match one
    /// of `quiet` (`package.Service/Method`, or `package.Service/*` for all of a service's).
    pub fn with_quiet_methods<'a>(
        descriptor_sets: &[&[u8]],
        served: impl IntoIterator<Item = &'a str>,
        quiet: &[String],
    ) -> Result<Self, prost::DecodeError> {
        let served: Vec<&str> = served.into_iter().collect();
        let mut table = Self {
            by_path: HashMap::new(),
            methods: Vec::new(),
        };
        table.push(OTHER_METHOD, "", "", RpcKind::Unknown, false);
        for bytes in descriptor_sets {
            let set = FileDescriptorSet::decode(*bytes)?;
            for file in &set.file {
                let package = file.package();
                for service in &file.service {
                    let full = if package.is_empty() {
                        service.name().to_owned()
                    } else {
                        format!("{package}.{}", service.name())
                    };
                    if !served.contains(&full.as_str()) {
                        continue;
                    }
                    for method in &service.method {
                        let kind = match (method.client_streaming(), method.server_streaming()) {
                            (false, false) => RpcKind::Unary,
                            (false, true) => RpcKind::ServerStreaming,
                            (true, false) => RpcKind::ClientStreaming,
                            (true, true) => RpcKind::BidiStreaming,
                        };
                        let name = format!("{full}/{}", method.name());
                        if table.by_path.contains_key(format!("/{name}").as_str()) {
                            continue;
                        }
                        let quiet = quiet.iter().any(|p| method_matches(p, &name));
                        table.push(&name, &full, method.name(), kind, quiet);
                    }
                }
            }
        }
        Ok(table)
    }

    fn push(&mut self, name: &str, service: &str, method: &str, kind: RpcKind, quiet: bool) {
        let builtin = BUILTIN_SERVICES.contains(&service);
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        let info: &'static MethodInfo = Box::leak(Box::new(MethodInfo {
            name: leak(name),
            service: leak(service),
            method: leak(method),
            kind,
            builtin,
            quiet: quiet || builtin,
            index: self.methods.len(),
        }));
        if kind != RpcKind::Unknown {
            self.by_path.insert(leak(&format!("/{name}")), info);
        }
        self.methods.push(info);
    }

    /// The method served at `path`, or the `_OTHER` entry.
    pub fn lookup(&self, path: &str) -> &'static MethodInfo {
        self.by_path.get(path).copied().unwrap_or(self.methods[0])
    }

    /// Every entry, `_OTHER` first.
    pub fn methods(&self) -> &[&'static MethodInfo] {
        &self.methods
    }
}

/// Whether `pattern` (`package.Service/Method`, or `package.Service/*`) names `method`.
///
/// ```
/// use bia::middleware::method::method_matches;
/// assert!(method_matches("user.v1.UserService/*", "user.v1.UserService/GetUser"));
/// assert!(method_matches("user.v1.UserService/GetUser", "user.v1.UserService/GetUser"));
/// assert!(!method_matches("user.v1.User/*", "user.v1.UserService/GetUser"));
/// ```
pub fn method_matches(pattern: &str, method: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(service) => method
            .strip_prefix(service)
            .is_some_and(|rest| rest.starts_with('/')),
        None => pattern.trim_start_matches('/') == method,
    }
}

pub(crate) fn other_method() -> &'static MethodInfo {
    static OTHER: MethodInfo = MethodInfo {
        name: OTHER_METHOD,
        service: "",
        method: "",
        kind: RpcKind::Unknown,
        builtin: false,
        quiet: false,
        index: 0,
    };
    &OTHER
}
