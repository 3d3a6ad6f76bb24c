//! `bia new` refuses bad input with a message that says how to fix it, exits non-zero, and
//! writes nothing.

use crate::support::{bia, entries, fixtures, temp};

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
    let stderr = out.fails(1);
    assert!(
        stderr.contains("proto file nope/v1/nope.proto not found"),
        "{stderr}"
    );
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_missing_include_folder() {
    let dir = temp();
    let shop = fixtures().join("proto/shop/v1/shop.proto");
    let out = bia(
        dir.path(),
        &[
            "new",
            "svc",
            "--proto",
            shop.to_str().unwrap(),
            "-I",
            "no-such-dir",
        ],
    );
    assert!(
        out.fails(1)
            .contains("include folder no-such-dir not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_syntax_error_names_file_line_column_and_text() {
    let stderr = new_from_bad_proto("bad/syntax.proto");
    assert!(
        stderr.contains("error: bad/syntax.proto:7:3: expected ';'"),
        "{stderr}"
    );
    assert!(stderr.contains("`int32`"), "the offending text: {stderr}");
    assert!(
        stderr.contains("7 |   int32 age = 2;"),
        "the source line: {stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
}

#[test]
fn an_unresolved_import() {
    let stderr = new_from_bad_proto("bad/missing_import.proto");
    assert!(
        stderr.contains("bad/missing_import.proto:5:1: import 'nowhere/v1/gone.proto' not found"),
        "{stderr}"
    );
    assert!(stderr.contains("-I DIR"), "says how to fix it: {stderr}");
}

#[test]
fn an_undefined_type() {
    let stderr = new_from_bad_proto("bad/undefined.proto");
    assert!(stderr.contains("bad/undefined.proto:6:"), "{stderr}");
    assert!(stderr.contains("NotDefined"), "{stderr}");
}

#[test]
fn a_wrapper_type_as_a_whole_request_is_refused_with_a_fix() {
    let dir = temp();
    let out = bia(
        &fixtures(),
        &[
            "new",
            "svc",
            "--proto",
            "bad/wrapper.proto",
            "--output",
            dir.path().to_str().unwrap(),
        ],
    );
    let stderr = out.fails(1);
    assert!(
        stderr.contains("Counter/Add uses google.protobuf.Int32Value"),
        "{stderr}"
    );
    assert!(stderr.contains("wrap the value in a message"), "{stderr}");
}

#[test]
fn an_unwritable_output() {
    let dir = temp();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let out = bia(dir.path(), &["new", "svc", "--output", "a-file"]);
    let stderr = out.fails(1);
    assert!(stderr.contains("a-file"), "{stderr}");
    assert!(stderr.contains("choose another folder"), "{stderr}");
    assert_eq!(entries(dir.path()), ["a-file"]);
}

#[test]
fn a_failing_template_leaves_nothing_behind() {
    let dir = temp();
    let template = dir.path().join("tpl");
    std::fs::create_dir_all(template.join("proto/p/v1")).unwrap();
    std::fs::write(
        template.join("proto/p/v1/p.proto"),
        "syntax = \"proto3\";\npackage p.v1;\n",
    )
    .unwrap();
    std::fs::write(template.join("a.txt.tmpl"), "fine\n").unwrap();
    std::fs::write(template.join("z.txt.tmpl"), "{{ no_such_variable }}\n").unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = bia(
        dir.path(),
        &[
            "new",
            "svc",
            "--template",
            template.to_str().unwrap(),
            "--output",
            out_dir.to_str().unwrap(),
        ],
    );
    let stderr = out.fails(1);
    assert!(stderr.contains("template z.txt.tmpl: line 1"), "{stderr}");
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
