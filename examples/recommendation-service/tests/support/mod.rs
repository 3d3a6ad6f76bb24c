//! Test support: both example services on loopback (the OTLP collector is bia::testing::otlp).
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use recommendation_service::pb::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use recommendation_service::pb::recommendation::v1::{Event, EventKind};
use tonic::transport::Channel;
use user_service::pb::user::v1::CreateUserRequest;
use user_service::pb::user::v1::user_service_client::UserServiceClient;

/// user-service and recommendation-service, started as two Apps with their own telemetry, the
/// second calling the first.
pub struct Services {
    pub users: bia::RunningApp,
    pub recommendations: bia::RunningApp,
    _dir: tempfile::TempDir,
}

/// `[telemetry.otlp]` for `endpoint`, or nothing.
fn telemetry(otlp: Option<&str>) -> String {
    otlp.map(|e| format!("[telemetry.otlp]\nendpoint = \"{e}\"\n"))
        .unwrap_or_default()
}

impl Services {
    /// Starts both; with `otlp`, both export their spans there.
    pub async fn start(otlp: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db = dir.path().join("users.db");
        let user_config = bia::testing::config_with(
            "user-service",
            &format!(
                "{}[database]\nurl = \"sqlite://{}?mode=rwc\"\n",
                telemetry(otlp),
                db.display()
            ),
        );
        let users = bia::testing::start(user_service::app(&user_config).await.unwrap())
            .await
            .expect("user-service starts");
        let target = format!("http://{}", users.grpc_addr());
        let recommendations = start_recommendations(&target, otlp).await;
        Self {
            users,
            recommendations,
            _dir: dir,
        }
    }

    /// A client to recommendation-service (a plain tonic channel: the test is not a service).
    pub async fn client(&self) -> RecommendationServiceClient<Channel> {
        RecommendationServiceClient::new(self.recommendations.channel().await.unwrap())
    }

    /// Creates a user in user-service and returns its id.
    pub async fn create_user(&self, name: &str) -> String {
        let mut users = UserServiceClient::new(self.users.channel().await.unwrap());
        let request = CreateUserRequest {
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase()),
        };
        users.create_user(request).await.unwrap().into_inner().id
    }

    /// Stops both, the caller first; each flushes its spans.
    pub async fn stop(self) {
        self.recommendations
            .stop()
            .await
            .expect("recommendation-service stops");
        self.users.stop().await.expect("user-service stops");
    }
}

/// Starts recommendation-service calling the user service at `target`.
pub async fn start_recommendations(target: &str, otlp: Option<&str>) -> bia::RunningApp {
    let config = bia::testing::config_with(
        "recommendation-service",
        &format!("{}[clients.user]\ntarget = \"{target}\"\n", telemetry(otlp)),
    );
    let app = recommendation_service::app(&config).expect("the app builds");
    bia::testing::start(app)
        .await
        .expect("recommendation-service starts")
}

/// An event.
pub fn event(user_id: &str, item_id: &str, kind: EventKind) -> Event {
    Event {
        user_id: user_id.into(),
        item_id: item_id.into(),
        kind: kind.into(),
    }
}

/// Polls `/metrics` of `app` until it contains every one of `lines`, for up to five seconds.
pub async fn wait_for_metrics(app: &bia::RunningApp, lines: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = app.metrics_text().await;
        if lines.iter().all(|line| text.contains(line)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all of {lines:#?} within 5 s in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A TCP proxy to `upstream` that can cut its connections, as a client that goes away does: the
/// only way for a tonic 0.14 client to cancel a bidi call whose request stream is still open.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Self { addr, task }
    }

    /// An endpoint to the proxy, to connect a tonic channel through it.
    pub fn endpoint(&self) -> tonic::transport::Endpoint {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr)).unwrap()
    }

    /// Closes every connection through the proxy (the JoinSet drops them all).
    pub fn cut(self) {
        self.task.abort();
    }
}
