//! Building and running the binaries under test: `bia` itself, and the example services.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The `bia` binary, built once per test run with the profile of this test.
pub(crate) fn bia_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| build("bia-cli", "bia"))
}

/// Builds `bin` of the workspace's `package` with cargo, in this test's profile, and returns a
/// path to it that no other build replaces.
pub(crate) fn build(package: &str, bin: &str) -> PathBuf {
    // target/<profile>/deps/call-<hash> -> target/<profile>/<bin>
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    if profile_dir.ends_with("release") {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building {bin} failed");
    let built = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(built.is_file(), "no {bin} binary at {}", built.display());
    // Another checkout building into the same target folder replaces target/<profile>/<bin>;
    // a link of our own keeps pointing at the binary just built from this one.
    let checkout = env!("CARGO_MANIFEST_DIR")
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let linked = profile_dir.join(format!(
        "{bin}-call-test-{checkout:08x}{}",
        std::env::consts::EXE_SUFFIX
    ));
    let _ = std::fs::remove_file(&linked);
    std::fs::hard_link(&built, &linked)
        .or_else(|_| std::fs::copy(&built, &linked).map(drop))
        .expect("the binary can be linked or copied");
    linked
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
