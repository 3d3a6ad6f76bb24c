//! The client's balancer over two real servers, one of which sheds: calls go to the one that
//! serves them. The figures are printed (`--nocapture`; see docs/reliability.md).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::echo::{self, EchoClient, say};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_balancer_steers_calls_away_from_a_server_that_sheds() {
    // One server works on one call at a time and refuses the others at once (UNAVAILABLE, as
    // any Bia server does when it sheds); the other takes all it gets.
    let shedding = echo::start("shedding", "[server.grpc]\nmax_concurrent_calls = 1\n").await;
    let serving = echo::start("serving", "").await;
    let (shedding_addr, serving_addr) = (shedding.grpc_addr(), serving.grpc_addr());
    // The breaker is off, so that what the balancer does shows alone.
    let config = bia::testing::config_with(
        "balanced-caller",
        &format!(
            "[clients.echo]\ntarget = [\"http://{shedding_addr}\", \"http://{serving_addr}\"]\n\
             timeout = \"2s\"\n[clients.echo.breaker]\nenabled = false\n"
        ),
    );
    let telemetry = bia::Telemetry::new(&config).unwrap();
    let channel = bia::client::Channel::from_config(&config, "echo", &telemetry).unwrap();

    // Eight callers, each calling again as soon as its call (20 ms of work) ends, for 3 s.
    let outcomes: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let until = Instant::now() + Duration::from_secs(3);
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let mut client = EchoClient::new(channel.clone());
            let outcomes = outcomes.clone();
            tokio::spawn(async move {
                while Instant::now() < until {
                    let outcome = match client.say(say("slow:20")).await {
                        Ok(response) => response
                            .metadata()
                            .get("x-served-by")
                            .map_or("ok".to_owned(), |v| v.to_str().unwrap().to_owned()),
                        Err(status) => format!("{:?}", status.code()),
                    };
                    *outcomes.lock().unwrap().entry(outcome).or_default() += 1;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    let outcomes = outcomes.lock().unwrap().clone();
    let count = |key: &str| outcomes.get(key).copied().unwrap_or(0);
    let total: usize = outcomes.values().sum();
    let (by_shedding, by_serving) = (
        count(&shedding_addr.to_string()),
        count(&serving_addr.to_string()),
    );
    let unavailable = count("Unavailable");
    eprintln!(
        "{total} calls: {by_serving} served by the serving server, {by_shedding} by the shedding \
         one, {unavailable} UNAVAILABLE ({:.1}%); all outcomes {outcomes:?}",
        unavailable as f64 * 100.0 / total as f64
    );
    assert_eq!(
        by_shedding + by_serving + unavailable,
        total,
        "no other outcome"
    );
    assert!(
        by_serving > total / 2,
        "most calls go to the server that serves"
    );
    assert!(
        unavailable * 10 < total,
        "fewer than 10% of calls reach the shedding server and are refused"
    );
    shedding.stop().await.unwrap();
    serving.stop().await.unwrap();
}
