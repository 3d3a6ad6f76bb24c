//! Building and running the binaries under test: `bia` itself, and the example services.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The `bia` binary, built once per test run with the profile of this test.
pub(crate) fn bia_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build("bia-cli", "bia", "cli"))
}

/// The workspace root of this checkout.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Builds `bin` of the workspace's `package` (in the folder `dir`) with cargo, in this test's
/// profile, and returns a path to it that no other build replaces.
pub(crate) fn build(package: &str, bin: &str, dir: &str) -> PathBuf {
    // target/<profile>/deps/call-<hash> -> target/<profile>/<bin>
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let root = std::fs::canonicalize(ROOT).expect("the workspace root exists");
    let built = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    let linked = profile_dir.join(format!(
        "{bin}-call-test-{:08x}{}",
        hash(root.as_os_str().as_encoded_bytes()),
        std::env::consts::EXE_SUFFIX
    ));
    // Checkouts that share a target folder share target/<profile>/<bin>, and cargo links a
    // fresh build there only when it compiles one: a binary from another checkout (its debug
    // info names its folder) is replaced by touching the build script, as scripts/test.sh does.
    for _ in 0..3 {
        cargo_build(package, bin, profile_dir.ends_with("release"));
        let _ = std::fs::remove_file(&linked);
        std::fs::hard_link(&built, &linked)
            .or_else(|_| std::fs::copy(&built, &linked).map(drop))
            .expect("the binary can be linked or copied");
        if mentions(&linked, root.as_os_str().as_encoded_bytes()) {
            return linked;
        }
        std::fs::File::options()
            .append(true)
            .open(root.join(dir).join("build.rs"))
            .and_then(|file| file.set_modified(std::time::SystemTime::now()))
            .expect("the build script can be touched");
    }
    panic!(
        "{} keeps being replaced by another checkout's build",
        built.display()
    );
}

fn cargo_build(package: &str, bin: &str, release: bool) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(ROOT);
    if release {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building {bin} failed");
}

fn hash(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)))
}

/// Whether the file at `path` contains `needle`.
fn mentions(path: &Path, needle: &[u8]) -> bool {
    let bytes = std::fs::read(path).expect("the binary can be read");
    let first = needle[0];
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|b| *b == first) {
        let start = at + offset;
        if bytes[start..].starts_with(needle) {
            return true;
        }
        at = start + 1;
    }
    false
}

/// What a run of `bia` printed and how it ended.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().expect("bia exits, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    #[track_caller]
    pub(crate) fn ok(self) -> String {
        assert_eq!(self.code, 0, "bia failed:\n{}", self.stderr);
        self.stdout
    }

    /// The replies printed, each a JSON value.
    #[track_caller]
    pub(crate) fn replies(self) -> Vec<serde_json::Value> {
        let out = self.ok();
        serde_json::Deserializer::from_str(&out)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("stdout is not a JSON sequence ({e}):\n{out}"))
    }
}

/// Runs `bia` with `args` and `stdin`, off the runtime's threads (the server runs there).
pub(crate) async fn bia(args: Vec<String>, stdin: &str) -> Run {
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bia_bin())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bia starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run::from(child.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

/// Runs `bia call ADDR METHOD -d DATA` with nothing on stdin.
pub(crate) async fn call(addr: &str, method: &str, data: &str) -> Run {
    bia(args(addr, &[method, "-d", data]), "").await
}

/// The arguments of `bia call ADDR REST...`.
pub(crate) fn args(addr: &str, rest: &[&str]) -> Vec<String> {
    let mut args = vec!["call".to_owned(), addr.to_owned()];
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

/// Spawns `bia` with piped stdin and stdout for a conversation.
pub(crate) fn spawn(args: &[String]) -> std::process::Child {
    Command::new(bia_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bia starts")
}

/// Reads one pretty-printed JSON reply (up to its closing `}` line).
pub(crate) fn read_reply(stdout: &mut impl BufRead) -> serde_json::Value {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "stdout ended in:\n{text}"
        );
        text.push_str(&line);
        if line == "}\n" {
            return serde_json::from_str(&text).unwrap();
        }
    }
}
