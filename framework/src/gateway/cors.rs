//! Cross-Origin Resource Sharing for browser clients of the gateway (REST, Connect, gRPC-Web),
//! from `[server.gateway.cors]`.
//!
//! With no `allowed_origins` (the default) the gateway adds no CORS header at all, so browsers
//! keep other origins out. Otherwise a preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) from an allowed origin is answered here, 204 with what may
//! be sent, and every response to an allowed origin says which headers a script may read: the
//! ones Connect and gRPC-Web clients need to see a call's status, plus the configured ones.
//! All header values are built once, at start.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::config::CorsConfig;
use crate::gateway::dispatch::{GatewayResponse, full};

/// Request headers Connect and gRPC-Web browser clients send.
const PROTOCOL_REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "connect-content-encoding",
    "connect-accept-encoding",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
];

/// Response headers a browser client must read to know how a call ended.
const PROTOCOL_RESPONSE_HEADERS: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "connect-content-encoding",
    "content-encoding",
];

const METHODS: HeaderValue = HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE");

/// The CORS policy of a gateway.
#[derive(Debug)]
pub(crate) struct Cors {
    /// `None`: any origin (`["*"]`).
    origins: Option<Vec<HeaderValue>>,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: HeaderValue,
    credentials: bool,
}

/// What a request's `Origin` asks of the policy.
#[derive(Debug)]
pub(crate) enum Check {
    /// Not a cross-origin request (no `Origin`), or one from an origin not allowed: answered
    /// as usual, with no CORS header, so the browser keeps the answer from the script.
    Pass,
    /// A preflight, answered here.
    Preflight(GatewayResponse),
    /// A request from an allowed origin: its response gets [`Cors::decorate`]d.
    Allowed(HeaderValue),
}

impl Cors {
    /// The policy of `config`; `None` when it allows no origin. A value that cannot work is an
    /// error naming its key.
    pub(crate) fn from_config(config: &CorsConfig) -> Result<Option<Self>, String> {
        if config.allowed_origins.is_empty() {
            return Ok(None);
        }
        let any = config.allowed_origins.iter().any(|o| o == "*");
        if any && config.allow_credentials {
            return Err(
                "server.gateway.cors: allow_credentials = true cannot go with allowed_origins = [\"*\"]: \
                 browsers refuse credentials for any origin; list the origins instead"
                    .into(),
            );
        }
        let origins = if any {
            None
        } else {
            let origins = config
                .allowed_origins
                .iter()
                .map(|origin| check_origin(origin))
                .collect::<Result<_, _>>()?;
            Some(origins)
        };
        Ok(Some(Self {
            origins,
            allow_headers: header_list(
                PROTOCOL_REQUEST_HEADERS,
                &config.allowed_headers,
                "allowed_headers",
            )?,
            expose_headers: header_list(
                PROTOCOL_RESPONSE_HEADERS,
                &config.exposed_headers,
                "exposed_headers",
            )?,
            max_age: HeaderValue::from(config.max_age.as_secs()),
            credentials: config.allow_credentials,
        }))
    }

    /// What the policy says of `request`.
    pub(crate) fn check<B>(&self, request: &http::Request<B>) -> Check {
        let Some(origin) = request.headers().get(header::ORIGIN) else {
            return Check::Pass;
        };
        let allowed = match &self.origins {
            None => true,
            Some(origins) => origins
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        };
        let preflight = request.method() == http::Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        match (allowed, preflight) {
            (false, false) => Check::Pass,
            (false, true) => Check::Preflight(refused(origin)),
            (true, false) => Check::Allowed(origin.clone()),
            (true, true) => Check::Preflight(self.preflight(origin)),
        }
    }

    fn preflight(&self, origin: &HeaderValue) -> GatewayResponse {
        let mut response = http::Response::new(full(bytes::Bytes::new()));
        *response.status_mut() = http::StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        self.allow_origin(headers, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, METHODS);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            self.allow_headers.clone(),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        response
    }

    /// Lets the script of an allowed `origin` read `response`.
    pub(crate) fn decorate(&self, response: &mut GatewayResponse, origin: HeaderValue) {
        let headers = response.headers_mut();
        self.allow_origin(headers, &origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            self.expose_headers.clone(),
        );
    }

    fn allow_origin(&self, headers: &mut HeaderMap, origin: &HeaderValue) {
        match &self.origins {
            None => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
            }
            Some(_) => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                // Caches must not serve one origin's answer to another.
                headers.append(header::VARY, HeaderValue::from_static("origin"));
            }
        }
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// A preflight from an origin the policy does not allow: 403, saying how to allow it.
fn refused(origin: &HeaderValue) -> GatewayResponse {
    let text = format!(
        "origin {} may not call this server: add it to server.gateway.cors.allowed_origins\n",
        String::from_utf8_lossy(origin.as_bytes())
    );
    let mut response = http::Response::new(full(text.into()));
    *response.status_mut() = http::StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after.
fn check_origin(origin: &str) -> Result<HeaderValue, String> {
    let bad = || {
        format!(
            "server.gateway.cors.allowed_origins: {origin:?} is not an origin: write it as \
             browsers send it, scheme://host[:port] with no path, e.g. \"https://app.example.com\""
        )
    };
    let (scheme, rest) = origin.split_once("://").ok_or_else(bad)?;
    if scheme.is_empty() || rest.is_empty() || rest.contains('/') || rest.contains('*') {
        return Err(bad());
    }
    HeaderValue::from_str(origin).map_err(|_| bad())
}

/// `protocol` and the configured `extra` headers as one comma-separated list.
fn header_list(protocol: &[&str], extra: &[String], key: &str) -> Result<HeaderValue, String> {
    let mut list = protocol.join(", ");
    for name in extra {
        HeaderName::try_from(name.as_str())
            .map_err(|_| format!("server.gateway.cors.{key}: {name:?} is not a header name"))?;
        list.push_str(", ");
        list.push_str(&name.to_ascii_lowercase());
    }
    HeaderValue::try_from(list)
        .map_err(|_| format!("server.gateway.cors.{key}: not a header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        let config = CorsConfig {
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            allowed_headers: vec!["Authorization".into()],
            exposed_headers: vec!["x-served-by".into()],
            ..CorsConfig::default()
        };
        Cors::from_config(&config).unwrap().unwrap()
    }

    fn request(method: &str, origin: Option<&str>, preflight: bool) -> http::Request<()> {
        let mut builder = http::Request::builder()
            .method(method)
            .uri("/echo.v1.Echo/Say");
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        if preflight {
            builder = builder.header("access-control-request-method", "POST");
        }
        builder.body(()).unwrap()
    }

    #[track_caller]
    fn assert_lists(list: &HeaderValue, names: &[&str]) {
        let list: Vec<&str> = list.to_str().unwrap().split(", ").collect();
        for name in names {
            assert!(list.contains(name), "{name} in {list:?}");
        }
    }

    #[test]
    fn no_origins_no_policy() {
        assert!(Cors::from_config(&CorsConfig::default()).unwrap().is_none());
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_is_answered_with_what_clients_need() {
        let cors = cors(&["https://app.example.com"]);
        let Check::Preflight(response) =
            cors.check(&request("OPTIONS", Some("https://app.example.com"), true))
        else {
            panic!("a preflight");
        };
        assert_eq!(response.status(), 204);
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://app.example.com"
        );
        assert_eq!(headers["vary"], "origin");
        assert_lists(
            &headers["access-control-allow-headers"],
            &[
                "connect-protocol-version",
                "x-grpc-web",
                "content-type",
                "authorization",
            ],
        );
        assert!(headers.contains_key("access-control-max-age"));
    }

    #[test]
    fn other_origins_get_no_headers_and_their_preflights_are_refused() {
        let cors = cors(&["https://app.example.com"]);
        assert!(matches!(
            cors.check(&request("POST", Some("https://evil.example"), false)),
            Check::Pass
        ));
        let Check::Preflight(response) =
            cors.check(&request("OPTIONS", Some("https://evil.example"), true))
        else {
            panic!("a refusal");
        };
        assert_eq!(response.status(), 403);
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert!(matches!(
            cors.check(&request("POST", None, false)),
            Check::Pass
        ));
    }

    #[test]
    fn responses_to_allowed_origins_expose_the_status_headers() {
        let cors = cors(&["*"]);
        let Check::Allowed(origin) = cors.check(&request("POST", Some("http://x.test"), false))
        else {
            panic!("allowed");
        };
        let mut response = http::Response::new(full(bytes::Bytes::new()));
        cors.decorate(&mut response, origin);
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_lists(
            &headers["access-control-expose-headers"],
            &[
                "grpc-status",
                "grpc-message",
                "grpc-status-details-bin",
                "x-served-by",
            ],
        );
    }

    #[test]
    fn configurations_that_cannot_work_are_named() {
        let mut config = CorsConfig {
            allowed_origins: vec!["https://app.example.com/".into()],
            ..CorsConfig::default()
        };
        let err = Cors::from_config(&config).unwrap_err();
        assert!(
            err.contains("allowed_origins") && err.contains("no path"),
            "{err}"
        );
        config.allowed_origins = vec!["*".into()];
        config.allow_credentials = true;
        let err = Cors::from_config(&config).unwrap_err();
        assert!(err.contains("allow_credentials"), "{err}");
        config.allow_credentials = false;
        config.allowed_headers = vec!["bad header".into()];
        let err = Cors::from_config(&config).unwrap_err();
        assert!(err.contains("allowed_headers"), "{err}");
    }
}
