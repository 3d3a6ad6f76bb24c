//! The client's breaker against a backend that dies under continuous load and comes back on the
//! same port: how long calls keep failing once it is back. The figures are printed
//! (`cargo test -p bia --test breaker -- --nocapture`; see docs/reliability.md); the bound
//! asserted is generous. `BIA_BREAKER_TRACE=1` prints the share of calls that succeeded in each
//! 100 ms after the return.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::echo::{self, EchoClient, SayRequest};

/// One call's end: when, and whether it succeeded.
type Outcome = (Duration, bool);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_lets_calls_through_soon_after_the_backend_returns() {
    let first = bia::testing::start(echo::app(&bia::testing::config("breaker-backend")))
        .await
        .unwrap();
    let addr = first.grpc_addr();
    // The default breaker: adaptive throttling over a 3 s window.
    let config = bia::testing::config_with(
        "breaker-caller",
        &format!("[clients.echo]\ntarget = \"http://{addr}\"\ntimeout = \"1s\"\n"),
    );
    let telemetry = bia::Telemetry::new(&config).unwrap();
    let channel = bia::client::Channel::from_config(&config, "echo", &telemetry).unwrap();

    // Continuous load: 8 callers, each calling again 2 ms after its call ends.
    let epoch = Instant::now();
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let mut client = EchoClient::new(channel.clone());
            let outcomes = outcomes.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let ok = client
                        .say(SayRequest {
                            message: "hi".into(),
                            padding: Vec::new(),
                        })
                        .await
                        .is_ok();
                    outcomes.lock().unwrap().push((epoch.elapsed(), ok));
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        })
        .collect();

    // Healthy for a second, then down for five (longer than the breaker's window), then back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.stop().await.unwrap();
    let down_at = epoch.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let again = bia::testing::config_with(
        "breaker-backend",
        &format!("[server.grpc]\naddr = \"{addr}\"\n"),
    );
    let second = bia::testing::start(echo::app(&again)).await.unwrap();
    let back_at = epoch.elapsed();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for caller in callers {
        caller.await.unwrap();
    }
    second.stop().await.unwrap();

    let outcomes = outcomes.lock().unwrap().clone();
    let slice = Duration::from_millis(100);
    let share_ok = |from: Duration| {
        let calls: Vec<_> = outcomes
            .iter()
            .filter(|(at, _)| *at >= from && *at < from + slice)
            .collect();
        let ok = calls.iter().filter(|(_, ok)| *ok).count();
        (ok, calls.len())
    };
    let during: Vec<_> = outcomes
        .iter()
        .filter(|(at, _)| *at > down_at + Duration::from_millis(500) && *at < back_at)
        .collect();
    let first_ok = outcomes
        .iter()
        .find(|(at, ok)| *at >= back_at && *ok)
        .map(|(at, _)| *at - back_at);
    // Recovered: the first 100 ms slice after the return from which on at least 95% of calls
    // succeed (so one slow slice later on, on a loaded machine, does not hide the recovery).
    let end = back_at + Duration::from_secs(6);
    let mut recovered = None;
    let mut from = back_at;
    while from + slice < end {
        let after: Vec<_> = outcomes
            .iter()
            .filter(|(at, _)| *at >= from && *at < end)
            .collect();
        let ok = after.iter().filter(|(_, ok)| *ok).count();
        if std::env::var_os("BIA_BREAKER_TRACE").is_some() {
            let (ok, all) = share_ok(from);
            eprintln!("{:?}: {ok}/{all}", from - back_at);
        }
        if recovered.is_none() && !after.is_empty() && ok * 100 >= after.len() * 95 {
            recovered = Some(from - back_at);
        }
        from += slice;
    }
    let metrics = telemetry.metrics().render();
    let rejected: f64 = metrics
        .lines()
        .find(|l| l.starts_with("bia_client_breaker_rejected_total"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0);
    eprintln!(
        "down {:.1} s: {} calls failed ({} rejected by the breaker in all); back: first success after {:?}, \
         95% of calls succeed from {:?} on",
        (back_at - down_at).as_secs_f64(),
        during.len(),
        rejected,
        first_ok,
        recovered
    );
    assert!(
        during.iter().all(|(_, ok)| !ok),
        "nothing succeeds while the backend is down"
    );
    assert!(rejected > 0.0, "the breaker rejected calls:\n{metrics}");
    assert!(
        metrics.contains(&format!(
            "bia_client_breaker_reject_probability{{target=\"http://{addr}\"}}"
        )),
        "{metrics}"
    );
    let recovered = recovered.expect("calls succeed again once the backend is back");
    assert!(
        recovered <= Duration::from_secs(5),
        "recovered {recovered:?} after the backend's return"
    );
}
