use std::path::Path;

use crate::Builder;

/// The validation code generated for `a/v1/a.proto` with `body` (after the header and the
/// import of validate.proto), or the build error.
fn generate(body: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("proto");
    let file = proto.join("a/v1/a.proto");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let text = format!(
        "syntax = \"proto3\";\npackage a.v1;\nimport \"buf/validate/validate.proto\";\n\
         import \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/wrappers.proto\";\n{body}"
    );
    std::fs::write(&file, text).unwrap();
    let protos = Builder::new()
        .proto_dir(&proto)
        .load()
        .map_err(|e| e.to_string())?;
    let code = super::generate_code(&protos.pool).map_err(|e| e.to_string())?;
    Ok(code.get("a.v1").cloned().unwrap_or_default())
}

#[track_caller]
fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// [`assert_contains`] that ignores how the code is laid out (spaces, trailing commas).
#[track_caller]
fn assert_contains_code(text: &str, needles: &[&str]) {
    let squash = |s: &str| {
        s.split_whitespace()
            .collect::<String>()
            .replace(",)", ")")
            .replace(",>", ">")
    };
    let text = squash(text);
    for needle in needles {
        assert!(
            text.contains(&squash(needle)),
            "missing {needle:?} in:\n{text}"
        );
    }
}

#[test]
fn every_message_gets_an_impl_and_rules_become_literals() {
    let code = generate(
        "message User {\n\
           string name = 1 [(buf.validate.field).string = {min_len: 3, max_len: 20}];\n\
           int32 age = 2 [(buf.validate.field).int32 = {gte: 0, lt: 150}];\n\
           repeated string emails = 3 [(buf.validate.field).repeated.items.string.email = true];\n\
           Address address = 4 [(buf.validate.field).required = true];\n\
           message Address { string city = 1 [(buf.validate.field).string.pattern = \"^[A-Z]\"]; }\n\
         }\n\
         message Plain { string text = 1; }\n",
    )
    .unwrap();
    assert_contains(
        &code,
        &[
            "impl ::bia::validate::Validate for User {",
            "impl ::bia::validate::Validate for user::Address {",
            "impl ::bia::validate::Validate for Plain {",
            "\"string.min_len\", \"must be at least 3 characters\"",
            "!(*value >= 0i32 && *value < 150i32)",
            "\"int32.gte_lt\"",
            "for (i, value) in value.iter().enumerate()",
            "\"string.email\"",
            "\"required\", \"value is required\"",
            "static PATTERN: ::std::sync::LazyLock",
            "::bia::validate::Validate::validate(value, &at, violations)",
        ],
    );
}

#[test]
fn exclusive_ranges_and_oneofs() {
    let code = generate(
        "message M {\n\
           option (buf.validate.message).oneof = {fields: [\"a\", \"b\"], required: true};\n\
           string a = 1; string b = 2;\n\
           double d = 3 [(buf.validate.field).double = {gt: 10, lt: 5}];\n\
           oneof kind { option (buf.validate.oneof).required = true; string x = 4; int64 y = 5 [(buf.validate.field).int64.gt = 0]; }\n\
           google.protobuf.Timestamp at = 6 [(buf.validate.field).timestamp.lt_now = true];\n\
           google.protobuf.StringValue nick = 7 [(buf.validate.field).string.min_len = 1];\n\
           map<string, int32> labels = 8 [(buf.validate.field).map.values.int32.gt = 0];\n\
         }\n",
    )
    .unwrap();
    assert_contains(
        &code,
        &[
            "\"double.gt_lt_exclusive\"",
            "!(*value > 10.0f64 || *value < 5.0f64)",
            "\"message.oneof\", \"only one of a, b can be set\"",
            "\"message.oneof\", \"one of a, b must be set\"",
            "Some(m::Kind::Y(value))",
            "\"exactly one field is required in oneof\"",
            "\"timestamp.lt_now\"",
            "if let Some(value) = value",
            "::bia::validate::Key::Str(key.as_str())",
        ],
    );
}

#[test]
fn cel_rules_become_static_programs_over_what_they_read() {
    let code = generate(
        "message M {\n\
           option (buf.validate.message).cel = {id: \"m.order\", message: \"a before b\", expression: \"this.a < this.b\"};\n\
           option (buf.validate.message).cel_expression = \"has(this.inner)\";\n\
           int32 a = 1 [(buf.validate.field).cel = {id: \"a.even\", message: \"must be even\", expression: \"this % 2 == 0\"}];\n\
           int32 b = 2;\n\
           repeated string tags = 3 [(buf.validate.field).repeated.items.cel_expression = \"this.isHostname()\"];\n\
           Inner inner = 4;\n\
           string unread = 5;\n\
           message Inner { string c = 1; }\n\
         }\n",
    )
    .unwrap();
    assert_contains_code(
        &code,
        &[
            "::bia::__require_cel!();",
            "::bia::validate::cel::Program::new(\"this % 2 == 0\")",
            "PROGRAM.check(&this, &at, \"a.even\", \"must be even\", violations)",
            // The shorthand is its own id and message.
            "PROGRAM.check(&this, at, \"has(this.inner)\", \"has(this.inner)\", violations)",
            "PROGRAM.check(&this, at, \"m.order\", \"a before b\", violations)",
            "::bia::validate::cel::Program::new(\"this.isHostname()\")",
            // Every message can be shown to CEL, nested ones too.
            "impl ::bia::validate::cel::ToCel for M",
            "impl ::bia::validate::cel::ToCel for m::Inner",
        ],
    );
    // The message rules build `this` from the fields they read, not from the whole message.
    let start = code
        .find("let this = ::bia::validate::cel::message([")
        .expect("a message-level `this`");
    let message_this = &code[start..start + code[start..].find("]);").unwrap()];
    assert!(
        message_this.contains("\"a\"")
            && message_this.contains("\"inner\"")
            && !message_this.contains("unread"),
        "{message_this}"
    );
    // A program is parsed once, in a static, never per call.
    assert_eq!(
        code.matches("static PROGRAM: ::std::sync::LazyLock")
            .count(),
        4,
        "{code}"
    );
}

#[test]
fn a_message_rule_that_uses_this_whole_converts_the_message() {
    let code = generate(
        "message M { option (buf.validate.message).cel_expression = \"this != M{}\"; string a = 1; }\n",
    )
    .unwrap();
    assert_contains_code(
        &code,
        &["let this = ::bia::validate::cel::ToCel::to_cel(self);"],
    );
}

#[test]
fn cel_rules_that_cannot_run_are_build_errors_that_name_them() {
    let err = generate(
        "message M { string a = 1 [(buf.validate.field).cel = {id: \"x\", expression: \"this.size( > 1\"}]; }\n",
    )
    .unwrap_err();
    assert_contains(
        &err,
        &[
            "a/v1/a.proto",
            "field `a.v1.M.a`",
            "the CEL expression `this.size( > 1` (rule `x`) does not parse: ",
        ],
    );
    let err = generate(
        "message M { option (buf.validate.message).cel_expression = \"this.nope > 1\"; string a = 1; }\n",
    )
    .unwrap_err();
    assert_contains(
        &err,
        &[
            "message `a.v1.M`",
            "reads `this.nope`",
            "has no field `nope`",
        ],
    );
    let err = generate("message M { string a = 1 [(buf.validate.field).cel = {id: \"x\"}]; }\n")
        .unwrap_err();
    assert_contains(&err, &["field `a.v1.M.a`", "`x` has no `expression`"]);
    // Predefined rules (extensions of the rule messages) stay a build error.
    let err = generate(
        "extend buf.validate.StringRules { optional bool shouty = 80048952 [(buf.validate.predefined).cel = {id: \"s\", expression: \"this.upperAscii() == this\"}]; }\n\
         message M { string a = 1 [(buf.validate.field).string.(shouty) = true]; }\n",
    )
    .unwrap_err();
    assert_contains(
        &err,
        &["field `a.v1.M.a`", "predefined rule", "a.v1.shouty"],
    );
}

#[test]
fn unsupported_or_misplaced_rules_are_build_errors() {
    let err = generate(
        "import \"google/protobuf/field_mask.proto\";\n\
         message M { google.protobuf.FieldMask m = 1 [(buf.validate.field).field_mask.in = \"a\"]; }\n",
    )
    .unwrap_err();
    assert_contains(
        &err,
        &["field `a.v1.M.m`", "`field_mask` rules are not supported"],
    );
    let err = generate("message M { int32 a = 1 [(buf.validate.field).string.min_len = 1]; }\n")
        .unwrap_err();
    assert_contains(
        &err,
        &[
            "field `a.v1.M.a`",
            "has `string` rules, but its type takes `int32` rules",
        ],
    );
    let err = generate(
        "message M { repeated string a = 1 [(buf.validate.field).string.min_len = 1]; }\n",
    )
    .unwrap_err();
    assert_contains(&err, &["repeated.items"]);
    let err =
        generate("message M { string a = 1 [(buf.validate.field).string.pattern = \"(\"]; }\n")
            .unwrap_err();
    assert_contains(
        &err,
        &["field `a.v1.M.a`", "not a valid regular expression"],
    );
    let err = generate(
        "message M { option (buf.validate.message).oneof = {fields: [\"nope\"]}; string a = 1; }\n",
    )
    .unwrap_err();
    assert_contains(&err, &["`nope`, which is not a field"]);
}

#[test]
fn code_is_appended_to_the_package_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.v1.rs");
    std::fs::write(&path, "pub struct M {}\n").unwrap();
    crate::codegen::append_to_package(dir.path(), "a.v1", "impl X for M {}\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "pub struct M {}\n\nimpl X for M {}\n"
    );
    let err = crate::codegen::append_to_package(Path::new("/nonexistent"), "a.v1", "").unwrap_err();
    assert_contains(&err.to_string(), &["a.v1.rs"]);
}

#[test]
fn a_build_appends_the_impls_and_generates_no_types_for_the_rules_proto() {
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("proto");
    std::fs::create_dir_all(proto.join("a/v1")).unwrap();
    std::fs::write(
        proto.join("a/v1/a.proto"),
        "syntax = \"proto3\";\npackage a.v1;\nimport \"buf/validate/validate.proto\";\n\
         message M { string a = 1 [(buf.validate.field).string.min_len = 1]; }\n\
         service S { rpc Call(M) returns (M); }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    Builder::new()
        .proto_dir(&proto)
        .out_dir(&out)
        .rerun_if_changed(false)
        .compile()
        .unwrap();
    let code = std::fs::read_to_string(out.join("a.v1.rs")).unwrap();
    assert_contains(
        &code,
        &[
            "pub struct M",
            "impl ::bia::validate::Validate for M",
            // Servers validate; clients do not.
            "let codec = ::bia::validate::ValidatingCodec::default();",
            "let codec = tonic_prost::ProstCodec::default();",
        ],
    );
    assert!(!out.join("buf.validate.rs").exists());
}
