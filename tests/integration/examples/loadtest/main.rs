//! Load harness: the same echo service on bare tonic and on Bia run as users run it, measured
//! side by side in one run.
//!
//! ```text
//! cargo run --release -p bia-integration-tests --example loadtest -- \
//!     [--seconds 3] [--rounds 3] [--concurrency 64] [--markdown]
//! ```
//!
//! Every server is a child process of the harness (this same binary, `--serve bare|bia`), pinned
//! to core 0 with `taskset -c 0`; the harness, which generates the load and hosts the OTLP
//! sink, pins itself to core 1. The Bia server is the `main` that `bia new` writes: it loads
//! `bia::Config` with defaults, installs the global log subscriber with `init_logging` (info,
//! pretty, access log on) and writes to standard output, which the harness redirects to a file.
//! The variants, all running at once and measured in turn:
//!
//! - bare tonic: tonic's own `Server`, no layers;
//! - Bia as scaffolded;
//! - Bia with `BIA_LOG__LEVEL=warn`;
//! - Bia at warn with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an in-process OTLP sink
//!   ([`sink`]: it answers every export and counts its spans without decoding them, so that it
//!   takes little of the load generator's core), every call sampled.
//!
//! Workloads: unary with `--concurrency` calls in flight on 1 and on 4 connections, and 4
//! server-streaming calls of 10,000 messages at a time. Each round runs every workload on every
//! variant in turn (bare, bia, bia-warn, bia-otlp, bare, ...), then Bia's client and tonic's
//! client against the bare server. Each figure is the median over the rounds; a ratio is the
//! median of the per-round ratios, so drift on a shared machine favours no variant. Peak RSS is
//! `VmHWM` from `/proc/<pid>/status` after the last round.
//!
//! `loadtest --collect` runs only the OTLP sink and prints its endpoint, for the OTLP variant's
//! server run by hand.
//! `loadtest --call ADDR N` makes N sequential calls and exits: a client for counting a
//! server's instructions per call under callgrind (docs/performance.md).

mod child;
mod load;
mod probe;
mod server;
mod sink;

use std::collections::HashMap;
use std::time::Duration;

use child::{Server, Variant};
use load::{ClientKind, Sample};

#[allow(unreachable_pub)] // generated code
mod pb {
    tonic::include_proto!("echo.v1");
    pub(crate) const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/echo_descriptor.bin"));
}

struct Options {
    seconds: u64,
    concurrency: usize,
    rounds: usize,
    markdown: bool,
    /// The client that loads the servers: raw HTTP/2 (default) or tonic's.
    generator: ClientKind,
    /// How long to wait, before each measurement, for other processes to leave the cores.
    max_wait: Duration,
}

/// What the harness measures on every variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Workload {
    Unary1,
    Unary4,
    Streaming,
}

impl Workload {
    const ALL: [Workload; 3] = [Workload::Unary1, Workload::Unary4, Workload::Streaming];
}

const STREAMS: usize = 4;
const STREAM_MESSAGES: u32 = 10_000;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let kind = args.get(i + 1).expect("--serve bare|bia");
        let addr = args
            .iter()
            .position(|a| a == "--addr")
            .and_then(|i| args.get(i + 1))
            .map(|a| a.parse().expect("--addr HOST:PORT"));
        return server::serve(kind, addr);
    }
    if let Some(code) = probe::run(&args) {
        return code;
    }
    if args.first().is_some_and(|a| a == "--collect") {
        // `--collect`: an OTLP sink that prints its endpoint, for running the OTLP variant's
        // server by hand (under callgrind); it prints how many spans it received every second.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("builds a runtime");
        runtime.block_on(async {
            let (sink, endpoint) = sink::Sink::start().await;
            println!("{endpoint}");
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                eprintln!("{} spans", sink.span_count());
            }
        });
    }
    let options = options(&args);
    let pinned = child::can_pin();
    if pinned {
        child::pin_self(1);
    } else {
        eprintln!(
            "taskset or a second core is missing: servers and load generator share the cores"
        );
    }
    let machine = Machine::read();
    let dir = tempfile::tempdir().expect("makes a temporary folder");

    // The OTLP sink gets a thread and runtime of its own, so it keeps receiving while the
    // harness waits on a server (a stopping server flushes its spans to it).
    let (endpoint_tx, endpoint_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("builds the OTLP sink's runtime");
        runtime.block_on(async {
            let started = sink::Sink::start().await;
            endpoint_tx.send(started).expect("the harness waits");
            std::future::pending::<()>().await;
        });
    });
    let (sink, endpoint) = endpoint_rx.recv().expect("the OTLP sink starts");

    let servers: Vec<Server> = Variant::ALL
        .iter()
        .map(|&v| Server::start(v, dir.path(), pinned, &endpoint))
        .collect();
    let generator = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("builds the load generator's runtime");
    let length = Duration::from_secs(options.seconds);
    let mut samples: HashMap<(Variant, Workload), Vec<Sample>> = HashMap::new();
    let mut clients: HashMap<ClientKind, Vec<Sample>> = HashMap::new();
    generator.block_on(async {
        for round in 0..options.rounds.max(1) {
            for workload in Workload::ALL {
                for server in &servers {
                    server.settle().await;
                    quiet(server, options.max_wait).await;
                    let sample = match workload {
                        Workload::Unary1 => {
                            load::unary(server, options.generator, 1, options.concurrency, length)
                                .await
                        }
                        Workload::Unary4 => {
                            load::unary(server, options.generator, 4, options.concurrency, length)
                                .await
                        }
                        Workload::Streaming => {
                            load::streaming(server, STREAMS, STREAM_MESSAGES, length).await
                        }
                    };
                    eprintln!(
                        "round {} {workload:?} {}: {:.0}/s p50 {} µs p99 {} µs, server {:.2} µs a call ({:.0}% busy), harness {:.0}% busy, others {:.0}%",
                        round + 1,
                        server.variant.name(),
                        sample.rate,
                        sample.p50_us,
                        sample.p99_us,
                        sample.server_us,
                        sample.server_busy * 100.0,
                        sample.client_busy * 100.0,
                        sample.foreign * 100.0,
                    );
                    samples
                        .entry((server.variant, workload))
                        .or_default()
                        .push(sample);
                }
            }
            let bare = &servers[0];
            for kind in [ClientKind::Tonic, ClientKind::Bia] {
                bare.settle().await;
                quiet(bare, options.max_wait).await;
                let sample = load::unary(bare, kind, 4, options.concurrency, length).await;
                eprintln!(
                    "round {} {kind:?} client -> bare tonic: {:.0}/s p50 {} µs p99 {} µs, client {:.2} µs a call ({:.0}% busy), others {:.0}%",
                    round + 1,
                    sample.rate,
                    sample.p50_us,
                    sample.p99_us,
                    sample.client_us,
                    sample.client_busy * 100.0,
                    sample.foreign * 100.0,
                );
                clients.entry(kind).or_default().push(sample);
            }
        }
    });
    let finals: Vec<Final> = servers
        .iter()
        .map(|server| {
            let memory = server.memory();
            let (peak_rss, anon_rss, threads) = (memory.peak_rss, memory.rss_anon, memory.threads);
            let log_bytes = std::fs::metadata(&server.log).map_or(0, |m| m.len());
            let calls = Workload::ALL
                .iter()
                .flat_map(|&w| &samples[&(server.variant, w)])
                .map(|s| s.calls)
                .sum::<u64>()
                + if server.variant == Variant::Bare {
                    clients.values().flatten().map(|s| s.calls).sum()
                } else {
                    0
                };
            Final {
                variant: server.variant,
                peak_rss,
                anon_rss,
                threads,
                log_bytes,
                calls,
            }
        })
        .collect();
    // Close the generator's connections first: tonic's server drains them before it exits.
    drop(generator);
    for server in servers {
        server.stop();
    }
    let spans = sink.span_count();
    assert_eq!(
        sink.malformed(),
        0,
        "the OTLP sink received export requests it could not read"
    );
    let report = Report {
        options: &options,
        machine,
        load_after: std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
        pinned,
        samples,
        clients,
        finals,
        spans,
    };
    if options.markdown {
        report.markdown();
    } else {
        report.text();
    }
    std::process::ExitCode::SUCCESS
}

/// Waits up to `max_wait` until other processes use less than a tenth of a core (over a quarter
/// of a second), so that a compiler elsewhere does not land in one variant's window only. Each
/// sample still records how much foreign load its window saw.
async fn quiet(server: &Server, max_wait: Duration) {
    let started = std::time::Instant::now();
    while child::foreign_load(server, Duration::from_millis(250)).await > 0.10 {
        if started.elapsed() > max_wait {
            eprintln!("the machine stayed busy for {max_wait:?}; measuring anyway");
            return;
        }
    }
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        seconds: 3,
        concurrency: 64,
        rounds: 3,
        markdown: false,
        generator: ClientKind::RawH2,
        max_wait: Duration::from_secs(3),
    };
    let mut args = args.iter();
    let number = |value: Option<&String>, name: &str| -> u64 {
        value
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} N"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => options.seconds = number(args.next(), "--seconds"),
            "--concurrency" => options.concurrency = number(args.next(), "--concurrency") as usize,
            "--rounds" => options.rounds = number(args.next(), "--rounds") as usize,
            "--markdown" => options.markdown = true,
            "--max-wait" => {
                options.max_wait = Duration::from_secs(number(args.next(), "--max-wait"))
            }
            "--generator" => {
                options.generator = match args.next().map(String::as_str) {
                    Some("h2") => ClientKind::RawH2,
                    Some("tonic") => ClientKind::Tonic,
                    _ => panic!("--generator h2|tonic"),
                }
            }
            other => panic!(
                "unknown argument {other}: use --seconds N, --concurrency N, --rounds N, --generator h2|tonic, --max-wait SECONDS, --markdown"
            ),
        }
    }
    options
}

/// What the machine was when the run began.
struct Machine {
    cores: usize,
    cpu: String,
    load_before: String,
}

impl Machine {
    fn read() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            // All cores, not this process's share (it may be pinned already).
            cores: std::fs::read_to_string("/proc/cpuinfo").map_or(0, |i| {
                i.lines().filter(|l| l.starts_with("processor")).count()
            }),
            cpu,
            load_before: std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
        }
    }
}

/// What is read from a server after the last round.
struct Final {
    variant: Variant,
    peak_rss: u64,
    anon_rss: u64,
    threads: u64,
    log_bytes: u64,
    calls: u64,
}

struct Report<'a> {
    options: &'a Options,
    machine: Machine,
    load_after: String,
    pinned: bool,
    samples: HashMap<(Variant, Workload), Vec<Sample>>,
    clients: HashMap<ClientKind, Vec<Sample>>,
    finals: Vec<Final>,
    spans: usize,
}

/// The medians of one variant's rounds, and its ratios to bare tonic's.
struct Summary {
    rate: f64,
    p50_us: f64,
    p99_us: f64,
    server_us: f64,
    server_busy: f64,
    client_us: f64,
    client_busy: f64,
    ratio: f64,
    p99_ratio: f64,
    /// The baseline's server CPU per call over this one's: the throughput ratio the two would
    /// reach each on a core of its own, whatever else the machine ran.
    cpu_ratio: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn summarize(rounds: &[Sample], baseline: &[Sample]) -> Summary {
    let m = |f: &dyn Fn(&Sample) -> f64| median(rounds.iter().map(f).collect());
    let r = |f: &dyn Fn(&Sample) -> f64| {
        median(
            rounds
                .iter()
                .zip(baseline)
                .map(|(a, b)| f(a) / f(b))
                .collect(),
        )
    };
    Summary {
        rate: m(&|s| s.rate),
        p50_us: m(&|s| s.p50_us as f64),
        p99_us: m(&|s| s.p99_us as f64),
        server_us: m(&|s| s.server_us),
        server_busy: m(&|s| s.server_busy),
        client_us: m(&|s| s.client_us),
        client_busy: m(&|s| s.client_busy),
        ratio: r(&|s| s.rate),
        p99_ratio: r(&|s| s.p99_us.max(1) as f64),
        cpu_ratio: r(&|s| 1.0 / s.server_us.max(1e-9)),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl Final {
    /// Peak RSS, private RSS, threads, log written and log per call.
    fn cells(&self) -> [String; 5] {
        [
            mib(self.peak_rss),
            mib(self.anon_rss),
            self.threads.to_string(),
            mib(self.log_bytes),
            format!("{:.0} B", self.log_bytes as f64 / self.calls.max(1) as f64),
        ]
    }
}

impl Summary {
    /// The figures of a markdown row after the server's name (a stream has no p50 or p99).
    fn cells(&self, streaming: bool) -> Vec<String> {
        let mut cells = vec![format!("{:.0}", self.rate), format!("{:.2}x", self.ratio)];
        if !streaming {
            cells.push(format!("{:.0} µs", self.p50_us));
            cells.push(format!("{:.0} µs", self.p99_us));
            cells.push(format!("{:.2}x", self.p99_ratio));
        }
        let digits = if streaming { 3 } else { 2 };
        cells.push(format!("{:.digits$} µs", self.server_us));
        cells.push(format!("{:.2}x", self.cpu_ratio));
        cells.push(format!("{:.0}%", self.server_busy * 100.0));
        cells
    }

    /// The figures of a client's markdown row: calls/s, ratio, p50, p99, client CPU per call,
    /// `by_cpu` and how busy the client's core was.
    fn client_cells(&self, by_cpu: f64) -> [String; 7] {
        [
            format!("{:.0}", self.rate),
            format!("{:.2}x", self.ratio),
            format!("{:.0} µs", self.p50_us),
            format!("{:.0} µs", self.p99_us),
            format!("{:.2} µs", self.client_us),
            format!("{by_cpu:.2}x"),
            format!("{:.0}%", self.client_busy * 100.0),
        ]
    }
}

impl Report<'_> {
    fn summary(&self, variant: Variant, workload: Workload) -> Summary {
        summarize(
            &self.samples[&(variant, workload)],
            &self.samples[&(Variant::Bare, workload)],
        )
    }

    fn client_summary(&self, kind: ClientKind) -> Summary {
        summarize(&self.clients[&kind], &self.clients[&ClientKind::Tonic])
    }

    /// Tonic's client CPU per call over `kind`'s, the median over rounds.
    fn client_by_cpu(&self, kind: ClientKind) -> f64 {
        median(
            self.clients[&kind]
                .iter()
                .zip(&self.clients[&ClientKind::Tonic])
                .map(|(a, b)| b.client_us / a.client_us.max(1e-9))
                .collect(),
        )
    }

    fn setup(&self) -> String {
        format!(
            "{} rounds of {} s a measurement (after 0.5 s of warm-up), {} unary calls in flight from {}, streams read by tonic's client; {}; {} cores ({}); load average before {}, after {}",
            self.options.rounds,
            self.options.seconds,
            self.options.concurrency,
            match self.options.generator {
                ClientKind::RawH2 => "a raw HTTP/2 client (h2)",
                _ => "tonic's client",
            },
            if self.pinned {
                "servers on core 0 (taskset -c 0), load generator and OTLP sink on core 1"
            } else {
                "not pinned (no taskset or one core)"
            },
            self.machine.cores,
            self.machine.cpu,
            self.machine.load_before.trim(),
            self.load_after.trim(),
        )
    }

    /// The median and the largest foreign load the measured windows saw.
    fn foreign_line(&self) -> String {
        let mut all: Vec<f64> = self
            .samples
            .values()
            .chain(self.clients.values())
            .flatten()
            .map(|s| s.foreign)
            .collect();
        all.sort_by(f64::total_cmp);
        format!(
            "other processes used a median {:.0}% and at most {:.0}% of a core during the measured windows",
            all[all.len() / 2] * 100.0,
            all[all.len() - 1] * 100.0
        )
    }

    fn otlp_line(&self) -> String {
        let otlp = self
            .finals
            .iter()
            .find(|f| f.variant == Variant::BiaOtlp)
            .map_or(0, |f| f.calls);
        format!(
            "OTLP sink received {} spans for the {} calls and streams made to the OTLP variant",
            self.spans, otlp
        )
    }

    fn markdown(&self) {
        println!("{}; {}.\n", self.setup(), self.foreign_line());
        for (workload, title, unit) in [
            (
                Workload::Unary1,
                format!(
                    "Unary, 1 connection, {} calls in flight",
                    self.options.concurrency
                ),
                "calls/s",
            ),
            (
                Workload::Unary4,
                format!(
                    "Unary, 4 connections, {} calls in flight",
                    self.options.concurrency
                ),
                "calls/s",
            ),
            (
                Workload::Streaming,
                format!(
                    "Server streaming, {STREAMS} calls of {STREAM_MESSAGES} messages at a time, 1 connection"
                ),
                "messages/s",
            ),
        ] {
            println!("**{title}**\n");
            if workload == Workload::Streaming {
                println!(
                    "| server | {unit} | vs bare | server CPU per message | vs bare, by CPU | server core busy |"
                );
                println!("|---|---:|---:|---:|---:|---:|");
            } else {
                println!(
                    "| server | {unit} | vs bare | p50 | p99 | p99 vs bare | server CPU per call | vs bare, by CPU | server core busy |"
                );
                println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            }
            for variant in Variant::ALL {
                let s = self.summary(variant, workload);
                let cells = s.cells(workload == Workload::Streaming).join(" | ");
                println!("| {} | {cells} |", variant.name());
            }
            println!();
        }
        println!("**Server processes after the last round**\n");
        println!(
            "| server | peak RSS (VmHWM) | of it private now (RssAnon) | threads | log written | log per call |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for f in &self.finals {
            println!("| {} | {} |", f.variant.name(), f.cells().join(" | "));
        }
        println!("\n{}.\n", self.otlp_line());
        println!(
            "**Clients against the bare tonic server, unary, 4 connections, {} in flight**\n",
            self.options.concurrency
        );
        println!(
            "| client | calls/s | vs tonic | p50 | p99 | client CPU per call | vs tonic, by CPU | client core busy |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (kind, name) in [
            (
                ClientKind::Tonic,
                "tonic's client (tonic::transport::Channel)",
            ),
            (ClientKind::Bia, "Bia's client (bia::client::Channel)"),
        ] {
            let s = self.client_summary(kind);
            let cells = s.client_cells(self.client_by_cpu(kind)).join(" | ");
            println!("| {name} | {cells} |");
        }
        println!("\n**Against the targets of issue 9**\n");
        println!("| target | measured | | by server CPU per call | |");
        println!("|---|---:|---|---:|---|");
        for (target, measured, met, by_cpu) in self.targets() {
            let verdict = |met: bool| if met { "met" } else { "missed" };
            let (cpu, cpu_met) = by_cpu.map_or((String::new(), ""), |(v, m)| (v, verdict(m)));
            println!(
                "| {target} | {measured} | {} | {cpu} | {cpu_met} |",
                verdict(met)
            );
        }
    }

    /// Each target: what it is, the measured figure, whether it is met, and the same judged by
    /// server (or client) CPU per call where that applies.
    #[allow(clippy::type_complexity)]
    fn targets(&self) -> Vec<(String, String, bool, Option<(String, bool)>)> {
        let mut out = Vec::new();
        let mut ratio = |name: &str, variant: Variant, workload: Workload, at_least: f64| {
            let s = self.summary(variant, workload);
            out.push((
                format!("{name} >= {at_least:.2}x"),
                format!("{:.2}x", s.ratio),
                s.ratio >= at_least,
                Some((format!("{:.2}x", s.cpu_ratio), s.cpu_ratio >= at_least)),
            ));
        };
        ratio(
            "as scaffolded, unary 1 connection",
            Variant::Bia,
            Workload::Unary1,
            0.85,
        );
        ratio(
            "as scaffolded, unary 4 connections",
            Variant::Bia,
            Workload::Unary4,
            0.85,
        );
        ratio(
            "warn, unary 1 connection",
            Variant::BiaWarn,
            Workload::Unary1,
            0.97,
        );
        ratio(
            "warn, unary 4 connections",
            Variant::BiaWarn,
            Workload::Unary4,
            0.97,
        );
        ratio(
            "OTLP at 100%, unary 1 connection",
            Variant::BiaOtlp,
            Workload::Unary1,
            0.85,
        );
        ratio(
            "OTLP at 100%, unary 4 connections",
            Variant::BiaOtlp,
            Workload::Unary4,
            0.85,
        );
        ratio(
            "as scaffolded, server streaming",
            Variant::Bia,
            Workload::Streaming,
            0.95,
        );
        for (name, workload) in [
            ("as scaffolded, p99 unary 1 connection", Workload::Unary1),
            ("as scaffolded, p99 unary 4 connections", Workload::Unary4),
        ] {
            let s = self.summary(Variant::Bia, workload);
            out.push((
                format!("{name} <= 1.15x"),
                format!("{:.2}x", s.p99_ratio),
                s.p99_ratio <= 1.15,
                None,
            ));
        }
        for f in self.finals.iter().filter(|f| f.variant != Variant::Bare) {
            out.push((
                format!("peak RSS, {} <= 8 MB", f.variant.name()),
                format!(
                    "{:.1} MB ({:.1} MB private)",
                    f.peak_rss as f64 / 1e6,
                    f.anon_rss as f64 / 1e6
                ),
                f.peak_rss <= 8_000_000,
                None,
            ));
        }
        let c = self.client_summary(ClientKind::Bia);
        let by_cpu = self.client_by_cpu(ClientKind::Bia);
        out.push((
            "Bia's client, calls/s vs tonic's client >= 0.95x".into(),
            format!("{:.2}x", c.ratio),
            c.ratio >= 0.95,
            Some((format!("{by_cpu:.2}x"), by_cpu >= 0.95)),
        ));
        out
    }

    fn text(&self) {
        println!("{}; {}.\n", self.setup(), self.foreign_line());
        for workload in Workload::ALL {
            println!("{workload:?}");
            for variant in Variant::ALL {
                let s = self.summary(variant, workload);
                let cells = s.cells(workload == Workload::Streaming).join("  ");
                println!("  {:58} {cells}", variant.name());
            }
        }
        for f in &self.finals {
            println!("{:58} {}", f.variant.name(), f.cells().join("  "));
        }
        println!("{}", self.otlp_line());
        for kind in [ClientKind::Tonic, ClientKind::Bia] {
            let s = self.client_summary(kind);
            let cells = s.client_cells(self.client_by_cpu(kind)).join("  ");
            println!("{kind:?} client -> bare tonic: {cells}");
        }
        for (target, measured, met, by_cpu) in self.targets() {
            let verdict = |met: bool| if met { "met" } else { "MISSED" };
            let cpu = by_cpu.map_or(String::new(), |(v, m)| {
                format!("; by CPU {v} {}", verdict(m))
            });
            println!("target {target}: {measured} {}{cpu}", verdict(met));
        }
    }
}
