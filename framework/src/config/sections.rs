//! The typed configuration sections every Bia service shares.
//!
//! Each section is `Deserialize + Default` and rejects unknown keys, so a typo in
//! `config.toml` fails at start instead of being ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[app]`: the service's identity and lifecycle.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    /// The service name (`service.name` in traces, the registry key). Defaults to the binary's package name.
    pub name: String,
    /// The service version (`service.version`). Defaults to the binary's package version when known.
    pub version: String,
    /// How long in-flight calls and streams may run on after shutdown begins.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// How long to keep serving after deregistering, so clients see the change before we stop accepting.
    #[serde(with = "humantime_serde")]
    pub pre_stop_delay: Duration,
    /// Free-form metadata published with the instance in the registry.
    pub metadata: BTreeMap<String, String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            version: String::new(),
            shutdown_timeout: Duration::from_secs(10),
            pre_stop_delay: Duration::ZERO,
            metadata: BTreeMap::new(),
        }
    }
}

/// `[server]`: the gRPC and admin listeners.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `[server.grpc]`.
    pub grpc: GrpcServerConfig,
    /// `[server.admin]`.
    pub admin: AdminServerConfig,
    /// `[server.gateway]`: REST/JSON, Connect and gRPC-Web on the gRPC port.
    pub gateway: GatewayConfig,
}

/// `[server.grpc]`: the gRPC listener and its HTTP/2 settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcServerConfig {
    /// The listen address.
    pub addr: SocketAddr,
    /// What the registry publishes; by default the bound address (for `0.0.0.0`, the host's first
    /// non-loopback address).
    pub advertise_addr: Option<SocketAddr>,
    /// The largest request message accepted; a larger one answers `RESOURCE_EXHAUSTED`.
    pub max_message_bytes: usize,
    /// The longest a unary call may run: a cap on the client's `grpc-timeout`, and the deadline
    /// of unary calls that send none.
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// The same for streaming calls; unset (the default), a stream runs as long as its client's
    /// `grpc-timeout` allows, or without a deadline when the client sends none.
    #[serde(with = "humantime_serde")]
    pub stream_timeout: Option<Duration>,
    /// Per-method caps that replace `default_timeout` or `stream_timeout`, by
    /// `package.Service/Method`, e.g. `timeouts."user.v1.UserService/Export" = "10m"`.
    #[serde(with = "duration_map")]
    pub timeouts: BTreeMap<String, Duration>,
    /// Calls served at once across all connections; more are shed with `UNAVAILABLE`. 0: no limit.
    /// A call counts from the first frame of its request until its handler returns (a stream's
    /// response body is not counted).
    pub max_concurrent_calls: usize,
    /// `[server.grpc.shedding]`: adaptive load shedding of unary calls, on by default.
    pub shedding: SheddingConfig,
    /// Per-method token-bucket rate limits, by `package.Service/Method`, e.g.
    /// `rate_limits."user.v1.UserService/CreateUser" = { rate = 100, burst = 200 }`; calls beyond
    /// them answer `RESOURCE_EXHAUSTED`.
    pub rate_limits: BTreeMap<String, RateLimitConfig>,
    /// HTTP/2 streams (calls) allowed at once per connection, advertised in
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub max_concurrent_streams: Option<u32>,
    /// Streams this server may reset for a peer's protocol errors before it closes the
    /// connection (`GOAWAY ENHANCE_YOUR_CALM`): the "MadeYouReset" attack.
    pub max_local_error_reset_streams: usize,
    /// The largest header list (metadata) a request may carry.
    pub max_header_list_bytes: u32,
    /// Response bytes buffered per stream for a peer that reads slowly; beyond this the server
    /// stops producing the stream's messages until the peer reads.
    pub max_send_buffer_bytes: usize,
    /// Response bytes one connection's calls may hold, together, for a peer that has not read
    /// them (beyond what HTTP/2 buffers per stream); an answer that would exceed it ends its
    /// call with `RESOURCE_EXHAUSTED`. One answer alone on a connection is never refused.
    pub max_connection_send_buffer_bytes: usize,
    /// A stream whose peer reads none of its response for this long is reset (`RST_STREAM`)
    /// and its handler dropped; a connection whose socket takes no byte for this long is
    /// closed. Unset (or zero) waits for the peer forever.
    #[serde(with = "humantime_serde")]
    pub send_stall_timeout: Option<Duration>,
    /// How long a new connection may stay silent before it is closed.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// How long a connection may go without a call before it is closed (GOAWAY); unset keeps
    /// idle connections open.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Option<Duration>,
    /// `[server.grpc.tls]`: serve over TLS (and require client certificates for mTLS).
    pub tls: ServerTlsConfig,
    /// Interval of HTTP/2 keepalive pings to idle clients; unset disables them.
    #[serde(with = "humantime_serde")]
    pub keepalive_interval: Option<Duration>,
    /// How long to wait for a keepalive ping's answer before closing the connection.
    #[serde(with = "humantime_serde")]
    pub keepalive_timeout: Duration,
    /// Disable Nagle's algorithm on accepted connections.
    pub tcp_nodelay: bool,
}

impl Default for GrpcServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 9000)),
            advertise_addr: None,
            max_message_bytes: 4 * 1024 * 1024,
            default_timeout: Duration::from_secs(30),
            stream_timeout: None,
            timeouts: BTreeMap::new(),
            max_concurrent_calls: 0,
            shedding: SheddingConfig::default(),
            rate_limits: BTreeMap::new(),
            max_concurrent_streams: Some(256),
            max_local_error_reset_streams: 1024,
            max_header_list_bytes: 32 * 1024,
            max_send_buffer_bytes: 64 * 1024,
            max_connection_send_buffer_bytes: 8 * 1024 * 1024,
            send_stall_timeout: Some(Duration::from_secs(20)),
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(300)),
            tls: ServerTlsConfig::default(),
            keepalive_interval: Some(Duration::from_secs(60)),
            keepalive_timeout: Duration::from_secs(20),
            tcp_nodelay: true,
        }
    }
}

/// `[server.grpc.tls]` and `[server.admin.tls]`: a server's certificate and key (PEM files), and
/// the CA whose client certificates it requires (mTLS). TLS is on when `cert_file` is set; the
/// files are read again when they change.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: Option<std::path::PathBuf>,
    /// The private key of the leaf certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<std::path::PathBuf>,
    /// Require client certificates signed by this CA (PEM, one or more certificates).
    pub client_ca_file: Option<std::path::PathBuf>,
    /// How often the files are checked for changes.
    #[serde(with = "humantime_serde")]
    pub reload_interval: Duration,
}

impl Default for ServerTlsConfig {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            client_ca_file: None,
            reload_interval: Duration::from_secs(10),
        }
    }
}

/// `[server.grpc.shedding]`: adaptive load shedding (BBR-like), for unary calls.
///
/// Over a sliding window the server learns the most calls it completed per bucket and the lowest
/// average latency of a bucket; their product is the number of calls it can have in flight
/// without queueing. While calls queue (a bucket's average latency is above `latency_factor`
/// times the lowest, and at least `min_queue_delay` above it), calls beyond that number are shed
/// at once with `UNAVAILABLE`, until no call has been shed for `cooldown`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SheddingConfig {
    /// Whether unary calls may be shed when the server is overloaded.
    pub enabled: bool,
    /// The window over which throughput and latency are learnt (in 50 buckets).
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// How much slower than the best bucket a bucket must be to say that calls queue.
    pub latency_factor: f64,
    /// The least queueing (a bucket's latency above the lowest) that counts as overload: fast
    /// handlers' latency doubles by chance, and a queue this short is not worth refusing calls.
    #[serde(with = "humantime_serde")]
    pub min_queue_delay: Duration,
    /// Calls whose lowest latency is below this are never shed: refusing them costs about as much
    /// as serving them, and under a flood of callers that resend at once shedding them would only
    /// lower goodput.
    #[serde(with = "humantime_serde")]
    pub min_call_latency: Duration,
    /// How long shedding stays armed after the last shed call.
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Below this many unary calls in flight nothing is shed: a latency jump at low concurrency
    /// is noise (a slow dependency, a busy neighbour), not overload this server can shed.
    pub min_in_flight: usize,
}

impl Default for SheddingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(5),
            latency_factor: 2.0,
            min_queue_delay: Duration::from_millis(5),
            min_call_latency: Duration::from_millis(1),
            cooldown: Duration::from_secs(1),
            min_in_flight: 16,
        }
    }
}

/// `[clients.<name>.tls]`: how a client verifies its server, and its own certificate for mTLS.
/// An `https://` target uses TLS (with the system's web roots unless `ca_file` is set).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// Trust roots for the server's certificate (PEM).
    pub ca_file: Option<std::path::PathBuf>,
    /// The client's own certificate chain, for mTLS (PEM).
    pub cert_file: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<std::path::PathBuf>,
    /// The name to verify the server's certificate against, when it is not the target's host.
    pub domain: Option<String>,
}

/// A token bucket: `rate` calls a second on average, up to `burst` at once.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Calls a second, on average.
    pub rate: f64,
    /// Calls allowed at once after a quiet spell; at least 1. Defaults to `rate` (one second's worth).
    #[serde(default)]
    pub burst: Option<u32>,
}

/// `[server.admin]`: the HTTP endpoint with `/metrics`, `/healthz` and `/readyz`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminServerConfig {
    /// The listen address.
    pub addr: SocketAddr,
    /// Whether to serve the admin endpoint at all.
    pub enabled: bool,
    /// `[server.admin.tls]`: serve the admin endpoint over TLS (and mTLS).
    pub tls: ServerTlsConfig,
}

impl Default for AdminServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 8000)),
            enabled: true,
            tls: ServerTlsConfig::default(),
        }
    }
}

/// `[server.gateway]`: the HTTP gateway on the gRPC port (REST/JSON transcoding of
/// `google.api.http` rules; Connect and gRPC-Web).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Whether the gRPC port answers anything but gRPC; `false` answers every other request
    /// with HTTP 415, as a plain gRPC server does.
    pub enabled: bool,
    /// `[server.gateway.cors]`: which browser origins may call the gateway.
    pub cors: CorsConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            cors: CorsConfig::default(),
        }
    }
}

/// `[server.gateway.cors]`: Cross-Origin Resource Sharing for browser clients. With no
/// `allowed_origins` (the default) no cross-origin request is allowed.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call, e.g. `["https://app.example.com"]`; `["*"]` allows any origin
    /// (and then no credentials are sent).
    pub allowed_origins: Vec<String>,
    /// Request headers a browser may send beyond the ones each protocol needs (those are
    /// always allowed), e.g. `["authorization", "x-request-id"]`.
    pub allowed_headers: Vec<String>,
    /// Response headers a browser script may read beyond the ones each protocol needs.
    pub exposed_headers: Vec<String>,
    /// Whether browsers may send cookies and HTTP authentication (`Access-Control-Allow-Credentials`).
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer (`Access-Control-Max-Age`).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_headers: Vec::new(),
            exposed_headers: Vec::new(),
            allow_credentials: false,
            max_age: Duration::from_secs(2 * 60 * 60),
        }
    }
}

/// `[telemetry]`: traces.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `[telemetry.otlp]`.
    pub otlp: OtlpConfig,
    /// The parent-based sampler's ratio for root spans, 0.0 to 1.0.
    pub sampler_ratio: f64,
    /// Methods that make no span and no access-log line (they are still counted in metrics),
    /// as `package.Service/Method` or `package.Service/*`. Bia's health and reflection services
    /// never do.
    pub exclude_methods: Vec<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp: OtlpConfig::default(),
            sampler_ratio: 1.0,
            exclude_methods: Vec::new(),
        }
    }
}

/// `[telemetry.otlp]`: where spans are exported (OTLP over gRPC, what Jaeger ingests on 4317).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// E.g. `http://127.0.0.1:4317`; unset: spans are not exported.
    pub endpoint: Option<String>,
    /// The timeout of one export.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// `[log]`: the log lines the binary writes.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `info,my_service=debug`; `RUST_LOG` wins when set.
    pub level: String,
    /// `pretty` for people, `json` for machines.
    pub format: LogFormat,
    /// When the log queue is full: `false` waits for room (no line lost), `true` drops the line.
    pub lossy: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Pretty,
            lossy: false,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object a line.
    Json,
}

/// `[registry]`: where the instance registers and where clients discover others.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// `[registry.etcd]`; unset: no registry (static addresses).
    pub etcd: Option<EtcdConfig>,
}

/// `[registry.etcd]`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdConfig {
    /// E.g. `["http://127.0.0.1:2379"]`.
    pub endpoints: Vec<String>,
    /// The lease's time to live; a crashed instance disappears after it.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// User name for etcd authentication.
    pub username: Option<String>,
    /// Password for etcd authentication.
    pub password: Option<String>,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            ttl: Duration::from_secs(10),
            username: None,
            password: None,
        }
    }
}

/// `[clients.<name>]`: one downstream service.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// `http://host:port`, a list of them, or `discovery:///<service>`.
    pub target: Target,
    /// The deadline of each call, sent as `grpc-timeout`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// `[clients.<name>.retry]`: off unless methods are listed.
    pub retry: RetryConfig,
    /// `[clients.<name>.breaker]`: adaptive throttling, on by default.
    pub breaker: BreakerConfig,
    /// `[clients.<name>.tls]`: for `https://` targets.
    pub tls: ClientTlsConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            target: Target::default(),
            timeout: Duration::from_secs(2),
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
            tls: ClientTlsConfig::default(),
        }
    }
}

/// Retries of idempotent calls that failed without a response.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// The idempotent methods that may be retried (`package.Service/Method`, or `*` for all).
    /// Empty: no retries.
    pub methods: Vec<String>,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The status codes retried (as gRPC names them).
    pub codes: Vec<String>,
    /// The first backoff; it doubles each attempt, with jitter.
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
    /// The longest backoff.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Retries allowed on top of calls, as a fraction of them (the retry budget).
    pub budget_ratio: f32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            methods: Vec::new(),
            max_attempts: 3,
            codes: vec!["UNAVAILABLE".to_owned()],
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            budget_ratio: 0.2,
        }
    }
}

/// Client-side adaptive throttling (Google SRE), as Kratos and go-zero do.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Whether calls may be rejected locally when the backend fails.
    pub enabled: bool,
    /// How many requests per accepted one the backend may see before rejection starts (K).
    pub k: f64,
    /// The window over which the calls sent and the ones accepted are counted (calls rejected
    /// locally are not counted, so the breaker closes soon after the backend returns).
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Below this many requests in the window nothing is rejected.
    pub min_requests: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            k: 1.5,
            window: Duration::from_secs(3),
            min_requests: 20,
        }
    }
}

/// Where a client sends its calls: one address or several.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Target {
    /// Not configured.
    #[default]
    #[serde(skip)]
    Unset,
    /// One URI: `http://host:port` or `discovery:///<service>`.
    One(String),
    /// Several static addresses.
    Many(Vec<String>),
}

/// A map of human-readable durations (`"10m"`, `"250ms"`), as humantime_serde reads one.
mod duration_map {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<String, Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let wrapped: BTreeMap<&String, humantime_serde::Serde<&Duration>> = map
            .iter()
            .map(|(key, value)| (key, humantime_serde::Serde::from(value)))
            .collect();
        wrapped.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Duration>, D::Error> {
        let wrapped =
            BTreeMap::<String, humantime_serde::Serde<Duration>>::deserialize(deserializer)?;
        Ok(wrapped
            .into_iter()
            .map(|(key, value)| (key, value.into_inner()))
            .collect())
    }
}
