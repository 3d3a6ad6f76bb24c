//! bia's client against a real server: retries, the circuit breaker, several static targets.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::echo::{self, EchoClient, say};
use tonic::Code;

async fn client_for(target: &str, extra: &str) -> EchoClient<bia::client::Channel> {
    let toml = format!("[clients.echo]\ntarget = {target}\n{extra}");
    EchoClient::new(support::echo_channel("caller", &toml).0)
}

/// A rate-limited refusal says when a token comes (`grpc-retry-pushback-ms`), and Bia's retry
/// waits exactly that instead of its backoff: with an hour of backoff, only the pushback can
/// bring the retry back within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_pushback_times_the_retry() {
    let running = echo::start(
        "pushback-svc",
        "[server.grpc.rate_limits]\n\"echo.v1.Echo/Say\" = { rate = 2, burst = 1 }\n",
    )
    .await;
    let mut plain = echo::client(&running).await;
    plain.say(say("first")).await.unwrap();
    let refused = plain.say(say("second")).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    let pushback: u64 = refused
        .metadata()
        .get("grpc-retry-pushback-ms")
        .expect("a pushback on a rate-limit refusal")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=500).contains(&pushback),
        "{pushback} ms at 2 calls a second"
    );

    let target = format!("\"http://{}\"", running.grpc_addr());
    let retry = "[clients.echo.retry]\nmethods = [\"echo.v1.Echo/Say\"]\ncodes = \
                 [\"RESOURCE_EXHAUSTED\"]\nmax_attempts = 2\nbackoff = \"1h\"\nmax_backoff = \"1h\"\n";
    let mut client = client_for(&target, retry).await;
    client.say(say("drain the bucket")).await.unwrap();
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(20), client.say(say("again")))
        .await
        .expect("the retry waited the pushback, not the hour of backoff")
        .unwrap();
    assert_eq!(reply.into_inner().message, "again");
    eprintln!(
        "retried after {:?} (pushback at most 500 ms)",
        started.elapsed()
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_idempotent_methods_are_retried_and_others_are_not() {
    let running = echo::start("retry-svc", "").await;
    let target = format!("\"http://{}\"", running.grpc_addr());
    let retry = "[clients.echo.retry]\nmethods = [\"echo.v1.Echo/Say\"]\nmax_attempts = 3\nbackoff = \"5ms\"\n";
    let mut client = client_for(&target, retry).await;
    // Two UNAVAILABLE answers, then success: within three attempts.
    let reply = client
        .say(say("flaky:retry-a:2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.message, "flaky:retry-a:2");
    // Three failures exhaust three attempts.
    let err = client.say(say("flaky:retry-b:3")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    // Other codes are not retried.
    assert_eq!(
        client.say(say("missing")).await.unwrap_err().code(),
        Code::NotFound
    );

    // Without the method listed, nothing is retried.
    let mut plain = client_for(&target, "").await;
    assert_eq!(
        plain.say(say("flaky:retry-c:1")).await.unwrap_err().code(),
        Code::Unavailable
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_under_a_failing_backend_and_closes_when_it_recovers() {
    let running = echo::start("breaker-svc", "").await;
    let target = format!("\"http://{}\"", running.grpc_addr());
    // K = 2: once the backend answers again, the share let through roughly doubles each window
    // (rejected calls count as requests, as the SRE book says), so recovery takes a few windows.
    let breaker = "[clients.echo.breaker]\nwindow = \"500ms\"\nk = 2.0\nmin_requests = 10\n";
    let mut client = client_for(&target, breaker).await;

    let mut rejected_locally = 0;
    for _ in 0..200 {
        let err = client.say(say("unavailable")).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        if err.message().contains("circuit breaker") {
            rejected_locally += 1;
        }
    }
    assert!(
        rejected_locally > 100,
        "the breaker opened: {rejected_locally} of 200 rejected locally"
    );

    // The backend recovers: within a few windows calls flow again, and then none is rejected.
    let started = Instant::now();
    let mut last_rejection = None;
    while started.elapsed() < Duration::from_secs(6) {
        match client.say(say("fine")).await {
            Ok(_) => {}
            Err(err) => {
                assert!(err.message().contains("circuit breaker"), "{err:?}");
                last_rejection = Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let closed_after = last_rejection.unwrap_or_default();
    assert!(
        closed_after < Duration::from_secs(5),
        "still rejecting after {closed_after:?}"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_targets_is_balanced_and_a_dead_one_is_skipped() {
    let a = echo::start("list-a", "").await;
    let b = echo::start("list-b", "").await;
    // A third address where nothing listens: its calls never leave and go elsewhere.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target = format!(
        "[\"http://{}\", \"http://{}\", \"http://{dead}\"]",
        a.grpc_addr(),
        b.grpc_addr()
    );
    let mut client = client_for(&target, "").await;
    let mut served = HashSet::new();
    for _ in 0..40 {
        let response = client
            .say(say("hi"))
            .await
            .expect("no call fails: the dead target is skipped");
        served.insert(
            response
                .metadata()
                .get("x-served-by")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(served.len(), 2, "{served:?}");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_single_target_that_cannot_be_reached_answers_unavailable_and_recovers() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Nothing listens there until the server below starts on the same port.
    drop(listener);
    let mut client = client_for(&format!("\"http://{addr}\""), "").await;
    for _ in 0..2 {
        let refused = client.say(say("hi")).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("failed to connect"),
            "{refused:?}"
        );
        // It names the address to check.
        assert!(refused.message().contains(&addr.to_string()), "{refused:?}");
    }
    // The only endpoint is ejected but still tried: once a server listens, calls go through.
    // Then that server goes away, closing the connection the client holds, and the calls to
    // a second one on the same port go on a connection made for them.
    for (name, message) in [("single-late", "hi"), ("single-again", "again")] {
        let server = echo::start(name, &format!("[server.grpc]\naddr = \"{addr}\"\n")).await;
        answers_within_20s(&mut client, message).await;
        server.stop().await.unwrap();
    }
}

/// Calls until `message` comes back, failing the test if it has not within 20 s.
async fn answers_within_20s(client: &mut EchoClient<bia::client::Channel>, message: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match client.say(say(message)).await {
            Ok(reply) => {
                assert_eq!(reply.into_inner().message, message);
                return;
            }
            Err(status) => assert!(Instant::now() < deadline, "still failing: {status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
