//! A server as a separate process: start it, find its address, read its memory from `/proc`,
//! stop it with SIGTERM. What a single connection does to a server shows only in a process of
//! its own: in the test's process, the client's memory and the server's are one figure.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A loopback address with a free port (bound, then released for the child to bind).
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binds a loopback port")
}

/// A running child process serving on `addr`.
#[derive(Debug)]
pub struct ServerProcess {
    /// The address it serves on.
    pub addr: SocketAddr,
    child: Child,
}

impl ServerProcess {
    /// Runs `command` (whose environment or arguments make it serve on `addr`), its standard
    /// output and error into `log`, and waits until `addr` accepts connections (at most 30 s).
    pub fn start(mut command: Command, addr: SocketAddr, log: &Path) -> ServerProcess {
        let out = std::fs::File::create(log).expect("creates the server's log file");
        let err = out.try_clone().expect("clones the log file handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("starts the server process");
        let mut server = ServerProcess { addr, child };
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            if let Some(status) = server.child.try_wait().expect("polls the server") {
                panic!(
                    "the server exited at start ({status}); see {}",
                    log.display()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not listen on {addr} within 30 s; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What `/proc/<pid>/status` says of its memory now.
    pub fn memory(&self) -> Memory {
        Memory::of(self.pid())
    }

    /// Sends SIGTERM and waits up to `within` for it to exit: its status and how long it took,
    /// or `None` (and the process killed) if it did not exit in time.
    pub fn terminate(mut self, within: Duration) -> Option<(ExitStatus, Duration)> {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "kill -TERM {} failed", self.pid());
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().expect("polls the server") {
                return Some((status, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A process's memory, in bytes, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmHWM`: the peak resident set since the process started.
    pub peak_rss: u64,
    /// `VmRSS`: the resident set now.
    pub rss: u64,
    /// `RssAnon`: its private part now (heap and stacks, not the pages of the binary and
    /// libraries it shares with the page cache).
    pub rss_anon: u64,
    /// `Threads`: how many threads it runs (a count, not bytes).
    pub threads: u64,
}

impl Memory {
    /// Reads `/proc/<pid>/status`; all zero once the process is gone.
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Memory {
            peak_rss: field("VmHWM:") * 1024,
            rss: field("VmRSS:") * 1024,
            rss_anon: field("RssAnon:") * 1024,
            threads: field("Threads:"),
        }
    }
}

/// Bytes as mebibytes with one decimal, for figures.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
