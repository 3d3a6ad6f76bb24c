use crate::support::{bia, temp};

#[test]
fn version_and_help_for_every_command() {
    let dir = temp();
    let version = bia(dir.path(), &["--version"]);
    assert_eq!(
        version.ok().trim(),
        format!("bia {}", env!("CARGO_PKG_VERSION"))
    );

    let help = bia(dir.path(), &["--help"]);
    help.ok_with(&["new"]);
    assert!(help.stdout.contains("proto"));

    let new = bia(dir.path(), &["new", "--help"]);
    for flag in [
        "--proto",
        "--include",
        "--output",
        "--framework",
        "--template",
        "--force",
    ] {
        assert!(
            new.ok().contains(flag),
            "{flag} missing from:\n{}",
            new.stdout
        );
    }
    let add = bia(dir.path(), &["proto", "add", "--help"]);
    add.ok_with(&["catalog.v1"]);
    let server = bia(dir.path(), &["proto", "server", "--help"]);
    for flag in ["--include", "--out"] {
        assert!(
            server.ok().contains(flag),
            "{flag} missing from:\n{}",
            server.stdout
        );
    }
}

#[test]
fn a_bad_command_line_exits_2() {
    let dir = temp();
    let out = bia(dir.path(), &["new"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = bia(dir.path(), &["frobnicate"]);
    assert_eq!(out.code, 2, "{out:?}");
}
