//! Running the `bia` binary in temporary folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run of `bia` did.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "bia failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts failure with `code` and an `error: ` line, and returns stderr.
    #[track_caller]
    pub(crate) fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "expected exit code {code}:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.starts_with("error: "),
            "stderr: {}",
            self.stderr
        );
        &self.stderr
    }

    /// [`Output::ok`], asserting stdout contains every one of `needles`; returns stdout.
    #[track_caller]
    pub(crate) fn ok_with(&self, needles: &[&str]) -> &str {
        assert_contains(self.ok(), needles);
        &self.stdout
    }

    /// [`Output::fails`], asserting stderr contains every one of `needles`; returns stderr.
    #[track_caller]
    pub(crate) fn fails_with(&self, code: i32, needles: &[&str]) -> &str {
        assert_contains(self.fails(code), needles);
        &self.stderr
    }
}

/// Runs `bia args...` in `dir`.
pub(crate) fn bia(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_bia"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("bia runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `bia new <name>` in `dir` with the shop and ops fixtures (`--proto` twice, `-I` for
/// their imports): a project with every RPC kind, keywords, well-known types and two services
/// of one name.
pub(crate) fn new_shop(dir: &Path, name: &str) -> Output {
    let fixtures = fixtures();
    let path = |rel: &str| fixtures.join(rel).to_str().unwrap().to_owned();
    let (shop, ops, include) = (
        path("proto/shop/v1/shop.proto"),
        path("proto/ops/v1/ops.proto"),
        path("proto"),
    );
    bia(
        dir,
        &[
            "new", name, "--proto", &shop, "--proto", &ops, "-I", &include,
        ],
    )
}

/// `cli/tests/fixtures`.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh temporary folder.
pub(crate) fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// Writes `contents` to `path`, creating its folders.
#[track_caller]
pub(crate) fn write(path: impl AsRef<Path>, contents: &str) {
    let path = path.as_ref();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Reads a file to a string.
#[track_caller]
pub(crate) fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Reads `path`, asserting that it contains every one of `needles`; returns its text.
#[track_caller]
pub(crate) fn assert_file_contains(path: impl AsRef<Path>, needles: &[&str]) -> String {
    let text = read(path);
    assert_contains(&text, needles);
    text
}

/// Every file under `dir` with its contents, by relative path.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).expect("read folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            files.insert(rel, std::fs::read(&path).expect("read file"));
        }
    }
}

/// The names in `dir`.
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that the Rust source `text` contains `expected` whatever its layout: whitespace and
/// commas are ignored (layouts differ in trailing commas), so the assertion holds whether rustfmt
/// or prettyplease laid the file out.
#[track_caller]
pub(crate) fn assert_code_contains(text: &str, expected: &str) {
    let squash = |s: &str| s.split_whitespace().collect::<String>().replace(',', "");
    assert!(
        squash(text).contains(&squash(expected)),
        "missing {expected:?} in:\n{text}"
    );
}

/// Asserts that `text` contains every one of `needles`, naming the first one missing.
#[track_caller]
pub(crate) fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}
