//! `bia call` against the example services as users run them: user-service's unary CRUD and
//! recommendation-service's three streaming kinds, over reflection.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bin::{args, bia, build, call};

/// A running example service, stopped (by its own process id) when dropped.
struct Service {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Starts `bin` in `dir` with `env`, its output in `<dir>/<bin>.log`.
    fn start(bin: &Path, dir: &Path, env: &[(&str, String)]) -> Self {
        let name = bin.file_name().unwrap().to_string_lossy().into_owned();
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("the example starts");
        Self { child, log }
    }

    /// Waits until health says SERVING at `addr`.
    async fn wait_serving(&mut self, addr: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = bia(args(addr, &["grpc.health.v1.Health/Check"]), "").await;
            if run.code == 0 && run.stdout.contains("SERVING") {
                return;
            }
            let exited = self.child.try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the example at {addr} does not serve ({exited:?}); its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A loopback port free a moment ago: the examples take their address from the environment.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn listen_env(grpc: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BIA_SERVER__GRPC__ADDR", grpc.to_owned()),
        (
            "BIA_SERVER__ADMIN__ADDR",
            format!("127.0.0.1:{}", free_port()),
        ),
        ("BIA_LOG__LEVEL", "warn".to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_answer_all_four_kinds() {
    let (users_bin, recommendations_bin) = tokio::task::spawn_blocking(|| {
        (
            build("user-service", "user-service", "examples/user-service"),
            build(
                "recommendation-service",
                "recommendation-service",
                "examples/recommendation-service",
            ),
        )
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users = format!("127.0.0.1:{}", free_port());
    let mut env = listen_env(&users);
    let db = dir.path().join("users.db");
    env.push((
        "BIA_DATABASE__URL",
        format!("sqlite://{}?mode=rwc", db.display()),
    ));
    let mut user_service = Service::start(&users_bin, dir.path(), &env);
    user_service.wait_serving(&users).await;

    let recommendations = format!("127.0.0.1:{}", free_port());
    let mut env = listen_env(&recommendations);
    env.push(("BIA_CLIENTS__USER__TARGET", format!("http://{users}")));
    let mut recommendation_service = Service::start(&recommendations_bin, dir.path(), &env);
    recommendation_service.wait_serving(&recommendations).await;

    // Unary: create, then read back; a missing user is NOT_FOUND with its ErrorInfo.
    let created = call(
        &users,
        "user.v1.UserService/CreateUser",
        r#"{"name": "Ada", "email": "ada@example.com"}"#,
    )
    .await
    .replies();
    let id = created[0]["id"].as_str().expect("a user id").to_owned();
    let got = call(
        &users,
        "user.v1.UserService/GetUser",
        &format!(r#"{{"id": "{id}"}}"#),
    )
    .await
    .replies();
    assert_eq!(got[0]["email"], "ada@example.com");
    let missing = call(&users, "user.v1.UserService/GetUser", r#"{"id": "nobody"}"#).await;
    assert_eq!(missing.code, 64 + 5, "{}", missing.stderr);
    crate::support::assert_contains(&missing.stderr, &["NOT_FOUND", "reason: USER_NOT_FOUND"]);

    // Server streaming: exactly `limit` recommendations.
    let streamed = call(
        &recommendations,
        "recommendation.v1.RecommendationService/StreamRecommendations",
        &format!(r#"{{"userId": "{id}", "limit": 3}}"#),
    )
    .await
    .replies();
    assert_eq!(streamed.len(), 3, "{streamed:?}");
    let item = streamed[0]["itemId"].as_str().unwrap().to_owned();

    // Client streaming from stdin: both events accepted.
    let events = format!(
        "{{\"userId\": \"{id}\", \"itemId\": \"{item}\", \"kind\": \"EVENT_KIND_VIEW\"}}\n\
         {{\"userId\": \"{id}\", \"itemId\": \"{item}\", \"kind\": \"EVENT_KIND_LIKE\"}}\n"
    );
    let recorded = bia(
        args(
            &recommendations,
            &["recommendation.v1.RecommendationService/RecordEvents"],
        ),
        &events,
    )
    .await
    .replies();
    assert_eq!(recorded, [serde_json::json!({"accepted": 2})]);

    // Bidi: each event answered with five recommendations.
    let live = bia(
        args(
            &recommendations,
            &["recommendation.v1.RecommendationService/LiveRecommendations"],
        ),
        &events,
    )
    .await
    .replies();
    assert_eq!(live.len(), 10, "{live:?}");
    assert!(live.iter().all(|r| r["itemId"].is_string()), "{live:?}");
}
