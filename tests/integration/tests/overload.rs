//! Overload over loopback: adaptive shedding at about 10x the server's capacity, and a flood of
//! trivial calls against the static concurrency limit. Each test measures and prints its figures
//! (`cargo test -p bia --test overload -- --nocapture`; they are in docs/reliability.md) and
//! asserts only generous bounds: CI runs these on a loaded two-core machine.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::echo::{self, EchoClient, EchoServer, SayRequest};
use support::say_only::{Reply, SayOnly};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// An echo whose `Say` does `work`: with a pool, it holds one of the pool's connections for
/// that long (a database of a few connections, the usual bottleneck of a service); without, it
/// keeps its thread busy (wall time, so its cost does not depend on what else the machine runs).
#[derive(Clone)]
struct Busy {
    work: Duration,
    pool: Option<Arc<tokio::sync::Semaphore>>,
}

impl Reply for Busy {
    async fn reply(&self, message: String) -> Result<String, Status> {
        if let Some(pool) = &self.pool {
            let _connection = pool.acquire().await.unwrap();
            tokio::time::sleep(self.work).await;
        } else {
            let started = Instant::now();
            while started.elapsed() < self.work {
                std::hint::spin_loop();
            }
        }
        Ok(message)
    }
}

/// A server on a runtime of its own with one worker thread: one core's worth of capacity,
/// apart from the load generator's threads.
struct Server {
    addr: std::net::SocketAddr,
    telemetry: bia::Telemetry,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(name: &str, toml: &str, work: Duration, pool: Option<usize>) -> Self {
        let config = bia::testing::config_with(name, toml);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = support::one_worker();
            runtime.block_on(async move {
                let app = bia::App::builder(&config)
                    .file_descriptor_set(echo::pb::FILE_DESCRIPTOR_SET)
                    .add_service(EchoServer::new(SayOnly(Busy {
                        work,
                        pool: pool.map(|n| Arc::new(tokio::sync::Semaphore::new(n))),
                    })))
                    .build()
                    .unwrap();
                let running = bia::testing::start(app).await.unwrap();
                ready_tx
                    .send((running.grpc_addr(), running.telemetry().clone()))
                    .unwrap();
                let _ = stop_rx.await;
                running.stop().await.unwrap();
            });
        });
        let (addr, telemetry) = ready_rx.recv().unwrap();
        Self {
            addr,
            telemetry,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Clients on `CONNECTIONS` connections: the load of several callers, not one (a single
    /// HTTP/2 connection holding a couple of thousand queued calls is closed by h2's own
    /// DATA-frame budget, GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames").
    async fn clients(&self) -> Vec<EchoClient<Channel>> {
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))
                .unwrap()
                .tcp_nodelay(true)
                .connect()
                .await
                .unwrap();
            clients.push(EchoClient::new(channel));
        }
        clients
    }

    fn metrics(&self) -> String {
        self.telemetry.metrics().render()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a load run saw.
#[derive(Default)]
struct Stats {
    ok: u64,
    latencies: Vec<Duration>,
    /// Latencies of the calls that succeeded and started after the run's first half second.
    steady: Vec<Duration>,
    errors: BTreeMap<String, u64>,
    seconds: f64,
}

impl Stats {
    fn record(&mut self, result: Result<(), Code>, latency: Duration, started: Duration) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latencies.push(latency);
                if started > Duration::from_millis(500) {
                    self.steady.push(latency);
                }
            }
            Err(code) => *self.errors.entry(format!("{code:?}")).or_default() += 1,
        }
    }

    fn goodput(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    fn quantile(&self, q: f64) -> Duration {
        Self::of(&self.latencies, q)
    }

    /// The quantile of the calls started after the first half second (the steady state).
    fn steady_quantile(&self, q: f64) -> Duration {
        Self::of(&self.steady, q)
    }

    fn of(latencies: &[Duration], q: f64) -> Duration {
        let mut sorted = latencies.to_vec();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[((sorted.len() - 1) as f64 * q) as usize]
    }

    fn report(&self, what: &str) {
        eprintln!(
            "{what}: goodput {:.0}/s, OK p50 {:.1} ms, p99 {:.1} ms (after 0.5 s: {:.1} ms), errors {:?}",
            self.goodput(),
            self.quantile(0.5).as_secs_f64() * 1e3,
            self.quantile(0.99).as_secs_f64() * 1e3,
            self.steady_quantile(0.99).as_secs_f64() * 1e3,
            self.errors
        );
    }
}

/// One call. The deadline is the server's (`server.grpc.default_timeout`): a client-side
/// timer would reset the stream when it fires, and a few dozen resets of streams the server has
/// not accepted yet make h2 close the whole connection (GOAWAY ENHANCE_YOUR_CALM, h2's
/// `max_pending_accept_reset_streams`), which would measure h2's rapid-reset guard instead.
async fn say(client: &mut EchoClient<Channel>) -> Result<(), Code> {
    let request = Request::new(SayRequest {
        message: "work".into(),
        padding: Vec::new(),
    });
    client.say(request).await.map(drop).map_err(|s| {
        static SEEN: Mutex<Vec<Code>> = Mutex::new(Vec::new());
        let mut seen = SEEN.lock().unwrap();
        if !seen.contains(&s.code()) {
            seen.push(s.code());
            eprintln!("first {:?}: {s:?}", s.code());
        }
        s.code()
    })
}

/// One call, recorded in `stats` with its latency and its start since `run` began.
async fn timed_call(client: &mut EchoClient<Channel>, stats: &Mutex<Stats>, run: Instant) {
    let call = Instant::now();
    let result = say(client).await;
    stats
        .lock()
        .unwrap()
        .record(result, call.elapsed(), call - run);
}

/// `workers` callers, each calling again as soon as its call ends, for `length`.
async fn closed_loop(clients: &[EchoClient<Channel>], workers: usize, length: Duration) -> Stats {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|i| {
            let mut client = clients[i % clients.len()].clone();
            let stats = stats.clone();
            tokio::spawn(async move {
                while started.elapsed() < length {
                    timed_call(&mut client, &stats, started).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut stats = Arc::try_unwrap(stats).ok().unwrap().into_inner().unwrap();
    stats.seconds = started.elapsed().as_secs_f64();
    stats
}

/// Calls started at `rate` a second whatever becomes of them (users who do not wait for each
/// other), for `length`; goodput counts the calls that succeeded within their deadline.
async fn open_loop(clients: &[EchoClient<Channel>], rate: f64, length: Duration) -> Stats {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tasks = Vec::new();
    while started.elapsed() < length {
        let due = (started.elapsed().as_secs_f64() * rate) as u64;
        while sent < due {
            let mut client = clients[sent as usize % clients.len()].clone();
            sent += 1;
            let stats = stats.clone();
            tasks.push(tokio::spawn(async move {
                timed_call(&mut client, &stats, started).await;
            }));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    for task in tasks {
        task.await.unwrap();
    }
    let mut stats = Arc::try_unwrap(stats).ok().unwrap().into_inner().unwrap();
    // Calls that ended after the run still count; the rate is over the sending time.
    stats.seconds = seconds;
    stats
}

const CONNECTIONS: usize = 8;
const TIMEOUT: Duration = Duration::from_secs(1);
const TIMEOUT_TOML: &str = "[server.grpc]\ndefault_timeout = \"1s\"\n";

/// Peak goodput, then about ten times as many calls a second as that, with shedding and
/// without; returns (peak, shedding on, shedding off).
async fn ten_times(
    name: &str,
    work: Duration,
    pool: Option<usize>,
) -> (Stats, Stats, Stats, String) {
    // Peak: as many callers as the pool has connections (four for the one-thread CPU case), so
    // that nothing queues and the shedder has nothing to do.
    let callers = pool.unwrap_or(4);
    let shedding = Server::start(&format!("{name}-on"), TIMEOUT_TOML, work, pool);
    let clients = shedding.clients().await;
    let peak = closed_loop(&clients, callers, Duration::from_secs(2)).await;
    peak.report(&format!("{name}: peak ({callers} callers)"));
    let offered = peak.goodput() * 10.0;
    let on = open_loop(&clients, offered, Duration::from_secs(3)).await;
    on.report(&format!(
        "{name}: shedding on, {offered:.0} calls/s offered"
    ));
    let metrics = shedding.metrics();
    for line in metrics.lines().filter(|l| l.starts_with("bia_server_")) {
        eprintln!("  {line}");
    }
    drop(shedding);

    let plain = Server::start(
        &format!("{name}-off"),
        &format!("{TIMEOUT_TOML}[server.grpc.shedding]\nenabled = false\n"),
        work,
        pool,
    );
    let clients = plain.clients().await;
    closed_loop(&clients, callers, Duration::from_secs(1)).await;
    let off = open_loop(&clients, offered, Duration::from_secs(3)).await;
    off.report(&format!(
        "{name}: shedding off, {offered:.0} calls/s offered"
    ));
    drop(plain);
    eprintln!(
        "{name}: goodput at 10x: {:.0}% of peak with shedding (steady OK p99 {:.0} ms), {:.0}% without (steady OK p99 {:.0} ms)",
        100.0 * on.goodput() / peak.goodput(),
        on.steady_quantile(0.99).as_secs_f64() * 1e3,
        100.0 * off.goodput() / peak.goodput(),
        off.steady_quantile(0.99).as_secs_f64() * 1e3,
    );
    (peak, on, off, metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shedding_keeps_goodput_and_latency_at_ten_times_the_capacity() {
    // A handler that holds one of two pool connections for 10 ms: 200 calls/s at most (25 ms
    // in debug builds, where a shed answer costs several times what it does in release).
    let work = Duration::from_millis(if cfg!(debug_assertions) { 25 } else { 10 });
    let (peak, on, off, metrics) = ten_times("pool", work, Some(2)).await;
    assert!(
        metrics
            .contains("bia_server_shed_total{rpc_method=\"echo.v1.Echo/Say\",reason=\"overload\"}"),
        "{metrics}"
    );
    assert!(
        on.errors.contains_key("Unavailable"),
        "shed calls answer UNAVAILABLE: {:?}",
        on.errors
    );
    // Generous bounds (the target is 80% and a p99 near the peak's): a loaded CI box shares
    // its two cores between this server, its load and other work.
    assert!(
        on.goodput() > 0.5 * peak.goodput(),
        "goodput held: {:.0}/s of {:.0}/s",
        on.goodput(),
        peak.goodput()
    );
    // Admitted calls end well inside their deadline, which without shedding the queue eats
    // (there the p99 is the 1 s timeout). A CI run with other tests on the same two cores
    // measured 626 ms against 1,035 ms without shedding, so the bound is 80% of the timeout.
    assert!(
        on.steady_quantile(0.99) < TIMEOUT.mul_f64(0.8),
        "admitted calls kept their latency: p99 {:?} (without shedding {:?})",
        on.steady_quantile(0.99),
        off.steady_quantile(0.99)
    );
    assert!(
        on.goodput() > off.goodput(),
        "shedding kept more goodput than queueing: {:.0}/s against {:.0}/s",
        on.goodput(),
        off.goodput()
    );
}

/// The same with a handler that spins on the server's only worker thread: figures only, and
/// ignored by default. While the handler spins, nothing reads the sockets, so the queue forms in
/// the kernel and in h2 where no in-process shedder sees it (see docs/reliability.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "figures of a known limitation; run with --ignored"]
async fn cpu_bound_overload_figures() {
    let work = Duration::from_millis(if cfg!(debug_assertions) { 5 } else { 1 });
    let (peak, on, _off, _) = ten_times("cpu", work, None).await;
    assert!(peak.ok > 0 && on.ok > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_trivial_calls_keeps_its_goodput_under_the_limits() {
    // The red team's case: many more callers than a limit of 256, each resending at once, on
    // a handler that costs about as much as a shed answer.
    let callers: usize = std::env::var("BIA_FLOOD_CALLERS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000);
    let length = Duration::from_secs(3);
    let mut results = Vec::new();
    for (name, toml) in [
        ("flood-none", "[server.grpc.shedding]\nenabled = false\n"),
        (
            "flood-static",
            "[server.grpc]\nmax_concurrent_calls = 256\n[server.grpc.shedding]\nenabled = false\n",
        ),
        ("flood-default", ""),
    ] {
        let server = Server::start(name, toml, Duration::ZERO, None);
        let clients = server.clients().await;
        // Warm up at a low load first, so the shedder has learnt the unloaded latency.
        closed_loop(&clients, 4, Duration::from_millis(500)).await;
        let stats = closed_loop(&clients, callers, length).await;
        stats.report(&format!("{name}: {callers} callers"));
        results.push(stats.goodput());
    }
    let none = results[0];
    assert!(
        results[1] > 0.3 * none,
        "the static limit keeps goodput: {:.0}/s vs {none:.0}/s",
        results[1]
    );
    assert!(
        results[2] > 0.3 * none,
        "the default (adaptive) keeps goodput: {:.0}/s vs {none:.0}/s",
        results[2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_method_answers_resource_exhausted_beyond_its_bucket() {
    let toml = "[server.grpc.rate_limits]\n\"echo.v1.Echo/Say\" = { rate = 5, burst = 10 }\n";
    let server = Server::start("rate", toml, Duration::ZERO, None);
    let mut client = server.clients().await.remove(0);
    let mut codes = BTreeMap::new();
    for _ in 0..30 {
        let code = match say(&mut client).await {
            Ok(()) => Code::Ok,
            Err(code) => code,
        };
        *codes.entry(format!("{code:?}")).or_insert(0) += 1;
    }
    // The burst of 10, and perhaps a token or two more while the loop ran.
    let ok = codes.get("Ok").copied().unwrap_or(0);
    assert!((10..=13).contains(&ok), "{codes:?}");
    assert_eq!(
        codes.get("ResourceExhausted").copied(),
        Some(30 - ok),
        "{codes:?}"
    );
    let metrics = server.metrics();
    assert!(
        metrics.contains(&format!(
            "bia_server_shed_total{{rpc_method=\"echo.v1.Echo/Say\",reason=\"rate_limit\"}} {}",
            30 - ok
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("# HELP bia_server_shed_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_concurrency_cap_answer_unavailable() {
    let toml = "[server.grpc]\nmax_concurrent_calls = 2\n";
    // Handlers that wait half a second on a roomy pool: six calls at once, two places.
    let server = Server::start("cap", toml, Duration::from_millis(500), Some(100));
    let clients = server.clients().await;
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let mut client = clients[i % clients.len()].clone();
            tokio::spawn(async move { (say(&mut client).await, started.elapsed()) })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            (Ok(()), _) => ok += 1,
            (Err(code), after) => {
                assert_eq!(code, Code::Unavailable);
                assert!(
                    after < Duration::from_millis(400),
                    "refused at once: {after:?}"
                );
            }
        }
    }
    assert_eq!(ok, 2, "two places");
    let metrics = server.metrics();
    assert!(
        metrics.contains(
            "bia_server_shed_total{rpc_method=\"echo.v1.Echo/Say\",reason=\"concurrency\"} 4"
        ),
        "{metrics}"
    );
}
