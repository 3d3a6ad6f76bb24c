//! `bia new` refuses bad input with a message that says how to fix it, exits non-zero, and
//! writes nothing.

use crate::support::{assert_contains, bia, entries, fixtures, temp, write};

#[test]
fn invalid_project_names_exit_2() {
    let dir = temp();
    for name in [
        "Bad Name",
        "1abc",
        "fn",
        "tonic",
        "a/b",
        "UpperCase",
        "_x",
        "café",
    ] {
        let out = bia(dir.path(), &["new", name]);
        let stderr = out.fails(2);
        assert!(stderr.contains("invalid project name"), "{name}: {stderr}");
        assert!(stderr.contains("e.g. `user-service`"), "{name}: {stderr}");
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_missing_proto_file() {
    let dir = temp();
    let out = bia(dir.path(), &["new", "svc", "--proto", "nope/v1/nope.proto"]);
    out.fails_with(1, &["proto file nope/v1/nope.proto not found"]);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_missing_include_folder() {
    let dir = temp();
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let shop = shop.to_str().unwrap();
    let out = bia(
        dir.path(),
        &["new", "svc", "--proto", shop, "-I", "no-such-dir"],
    );
    out.fails_with(1, &["include folder no-such-dir not found"]);
}

#[test]
fn a_syntax_error_names_file_line_column_and_text() {
    let stderr = new_from_bad_proto("bad/syntax.proto");
    // The place, the offending text, the source line and a hint.
    assert_contains(
        &stderr,
        &[
            "error: bad/syntax.proto:7:3: expected ';'",
            "`int32`",
            "7 |   int32 age = 2;",
            "hint: ",
        ],
    );
}

#[test]
fn an_unresolved_import() {
    let stderr = new_from_bad_proto("bad/missing_import.proto");
    // Says how to fix it: -I DIR.
    assert_contains(
        &stderr,
        &[
            "bad/missing_import.proto:5:1: import 'nowhere/v1/gone.proto' not found",
            "-I DIR",
        ],
    );
}

#[test]
fn an_undefined_type() {
    let stderr = new_from_bad_proto("bad/undefined.proto");
    assert_contains(&stderr, &["bad/undefined.proto:6:", "NotDefined"]);
}

#[test]
fn a_wrapper_type_as_a_whole_request_is_refused_with_a_fix() {
    let stderr = new_from_bad_proto("bad/wrapper.proto");
    assert_contains(
        &stderr,
        &[
            "Counter/Add uses google.protobuf.Int32Value",
            "wrap the value in a message",
        ],
    );
}

#[test]
fn an_unwritable_output() {
    let dir = temp();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let out = bia(dir.path(), &["new", "svc", "--output", "a-file"]);
    out.fails_with(1, &["a-file", "choose another folder"]);
    assert_eq!(entries(dir.path()), ["a-file"]);
}

#[test]
fn a_failing_template_leaves_nothing_behind() {
    let dir = temp();
    let template = dir.path().join("tpl");
    write(
        template.join("proto/p/v1/p.proto"),
        "syntax = \"proto3\";\npackage p.v1;\n",
    );
    write(template.join("a.txt.tmpl"), "fine\n");
    write(template.join("z.txt.tmpl"), "{{ no_such_variable }}\n");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let (tpl, out) = (template.to_str().unwrap(), out_dir.to_str().unwrap());
    let out = bia(
        dir.path(),
        &["new", "svc", "--template", tpl, "--output", out],
    );
    out.fails_with(1, &["template z.txt.tmpl: line 1"]);
    assert!(entries(&out_dir).is_empty(), "{:?}", entries(&out_dir));
}

/// Runs `bia new svc --proto <proto>` (from the fixtures) into an empty folder, checks that it
/// fails with exit code 1 and writes nothing, and returns what it said.
fn new_from_bad_proto(proto: &str) -> String {
    let dir = temp();
    let out = bia(
        &fixtures(),
        &[
            "new",
            "svc",
            "--proto",
            proto,
            "--output",
            dir.path().to_str().unwrap(),
        ],
    );
    let stderr = out.fails(1);
    assert!(
        entries(dir.path()).is_empty(),
        "nothing is written: {stderr}"
    );
    stderr.to_owned()
}
