//! Server processes: started from this same binary with `--serve`, pinned to core 0, standard
//! output into a file; and what `/proc` says about a process (CPU time, peak RSS).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bia_integration_tests::process::{Memory, free_port};

/// The four ways a server runs in this harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Variant {
    /// tonic's own `Server`, no layers.
    Bare,
    /// Bia as `bia new` writes it: info, pretty, access log on, output to a file.
    Bia,
    /// The same with `log.level = "warn"` (no access-log lines).
    BiaWarn,
    /// Warn, and every call's span exported over OTLP to the harness's collector.
    BiaOtlp,
}

impl Variant {
    pub(crate) const ALL: [Variant; 4] = [
        Variant::Bare,
        Variant::Bia,
        Variant::BiaWarn,
        Variant::BiaOtlp,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Bare => "bare tonic",
            Variant::Bia => "bia as scaffolded (info, pretty, access log, to a file)",
            Variant::BiaWarn => "bia, log.level = warn",
            Variant::BiaOtlp => "bia, warn + OTLP export, 100% sampled",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            Variant::Bare => "bare",
            Variant::Bia => "bia",
            Variant::BiaWarn => "bia-warn",
            Variant::BiaOtlp => "bia-otlp",
        }
    }
}

/// A running server process.
pub(crate) struct Server {
    pub(crate) variant: Variant,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
    child: Child,
}

/// Whether `taskset` can pin processes here (util-linux) and there are two cores to pin to.
pub(crate) fn can_pin() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores >= 2
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Pins this process (all its threads so far, and every thread it starts later) to `core`.
pub(crate) fn pin_self(core: usize) {
    let status = Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &core.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .expect("runs taskset");
    assert!(status.success(), "taskset -p failed");
}

impl Server {
    /// Starts `variant` with its standard output in `dir/<variant>.log`, on core 0 when `pin`,
    /// and waits until it answers on its gRPC port. `otlp` is the collector's endpoint.
    pub(crate) fn start(variant: Variant, dir: &Path, pin: bool, otlp: &str) -> Server {
        let exe = std::env::current_exe().expect("knows its own path");
        let addr = free_port();
        let mut command = if pin {
            let mut command = Command::new("taskset");
            command.args(["-c", "0"]).arg(&exe);
            command
        } else {
            Command::new(&exe)
        };
        // Only what this harness sets reaches the server: no stray filter or endpoint.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("BIA_") || key.starts_with("OTEL_") || key == "RUST_LOG" {
                command.env_remove(&*key);
            }
        }
        let kind = if variant == Variant::Bare {
            command.args(["--addr", &addr.to_string()]);
            "bare"
        } else {
            command
                .env("BIA_SERVER__GRPC__ADDR", addr.to_string())
                .env("BIA_SERVER__ADMIN__ADDR", "127.0.0.1:0");
            "bia"
        };
        match variant {
            Variant::Bare | Variant::Bia => {}
            Variant::BiaWarn => {
                command.env("BIA_LOG__LEVEL", "warn");
            }
            Variant::BiaOtlp => {
                command
                    .env("BIA_LOG__LEVEL", "warn")
                    .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
                    .env("BIA_TELEMETRY__SAMPLER_RATIO", "1.0");
            }
        }
        let log = dir.join(format!("{}.log", variant.file_stem()));
        let stdout = std::fs::File::create(&log).expect("creates the log file");
        let child = command
            .args(["--serve", kind])
            // No config/config.toml to pick up by accident.
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .spawn()
            .expect("starts the server process");
        let mut server = Server {
            variant,
            addr,
            log,
            child,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(self.addr).is_ok() {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("polls the server") {
                panic!("the {:?} server exited at start: {status}", self.variant);
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the {:?} server did not listen within 20 s",
                self.variant
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id of the server itself (taskset execs it, keeping the pid).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the server has used so far, all threads, user and system.
    pub(crate) fn cpu(&self) -> Duration {
        cpu_of(&format!("/proc/{}/stat", self.pid()))
    }

    /// Waits until the server has been idle for 100 ms (its log writer or span exporter done
    /// with the last workload), at most 3 s, so it does not take CPU from the next one.
    pub(crate) async fn settle(&self) {
        let started = Instant::now();
        let mut last = self.cpu();
        while started.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.cpu();
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// The server's memory and threads now, from `/proc/<pid>/status`.
    pub(crate) fn memory(&self) -> Memory {
        Memory::of(self.pid())
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                if !status.success() {
                    eprintln!("the {:?} server exited with {status}", self.variant);
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "the {:?} server did not stop in 15 s; killing it",
            self.variant
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This process's CPU time so far (the load generator and the collector).
pub(crate) fn own_cpu() -> Duration {
    cpu_of("/proc/self/stat")
}

fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// CPU time all processes on the machine have used so far (user, system, interrupts, steal),
/// from the first line of `/proc/stat`.
pub(crate) fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|v| v.parse::<u64>().ok())
                .enumerate()
                // user nice system idle iowait irq softirq steal: all but idle and iowait.
                .filter(|(i, _)| matches!(i, 0 | 1 | 2 | 5 | 6 | 7))
                .map(|(_, v)| v)
                .sum()
        })
        .unwrap_or(0);
    Duration::from_nanos(ticks * 1_000_000_000 / clock_ticks())
}

/// The share of a core that processes other than this one and `server` used over `length`.
pub(crate) async fn foreign_load(server: &Server, length: Duration) -> f64 {
    let (machine, own, server_cpu) = (machine_cpu(), own_cpu(), server.cpu());
    let at = Instant::now();
    tokio::time::sleep(length).await;
    foreign_since(machine, own, server_cpu, server, at)
}

/// [`foreign_load`] from counters read earlier.
pub(crate) fn foreign_since(
    machine: Duration,
    own: Duration,
    server_cpu: Duration,
    server: &Server,
    at: Instant,
) -> f64 {
    let total = machine_cpu().saturating_sub(machine).as_secs_f64();
    let ours =
        (own_cpu().saturating_sub(own) + server.cpu().saturating_sub(server_cpu)).as_secs_f64();
    ((total - ours) / at.elapsed().as_secs_f64()).max(0.0)
}

fn cpu_of(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_nanos(ticks * 1_000_000_000 / clock_ticks())
}
