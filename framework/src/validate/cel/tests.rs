use std::collections::HashMap;

use super::*;

/// The violations (rule id, message) of `source` run on `this`.
fn run(source: &'static str, this: &CelValue<'_>) -> Vec<(String, String)> {
    let mut violations = Violations::new();
    Program::new(source).check(this, &Path::ROOT.field("f"), "r", "", &mut violations);
    violations
        .into_iter()
        .map(|v| (v.rule.into_owned(), v.message.into_owned()))
        .collect()
}

#[track_caller]
fn holds(source: &'static str, this: &CelValue<'_>) {
    assert_eq!(
        run(source, this),
        Vec::<(String, String)>::new(),
        "{source}"
    );
}

#[track_caller]
fn fails(source: &'static str, this: &CelValue<'_>) {
    assert_eq!(run(source, this).len(), 1, "{source} should fail");
}

#[test]
fn results_follow_protovalidate() {
    let s = "abc".to_owned();
    let this = s.to_cel();
    holds("this == 'abc'", &this);
    assert_eq!(
        run("this == 'x'", &this),
        [("r".into(), "this == 'x'".into())]
    );
    holds("''", &this);
    assert_eq!(
        run("this.size() > 5 ? '' : 'too short'", &this),
        [("r".into(), "too short".into())]
    );
    let mut violations = Violations::new();
    Program::new("false").check(&this, &Path::ROOT, "id", "the message", &mut violations);
    let v = violations.iter().next().unwrap();
    assert_eq!(
        (v.field.as_str(), &*v.rule, &*v.message),
        ("", "id", "the message")
    );
}

#[test]
fn failures_at_run_time_are_violations_that_say_so() {
    let this = 1i64.to_cel();
    let found = run("this.startsWith('a')", &this);
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .1
            .starts_with("the rule's CEL expression could not be evaluated: "),
        "{found:?}"
    );
    let found = run("this + 1", &this);
    assert!(found[0].1.contains("a bool or a string"), "{found:?}");
    let found = run("this.nope", &message([("a", some(&1i32))]));
    assert!(found[0].1.contains("could not be evaluated"), "{found:?}");
}

#[test]
fn protovalidate_functions_reuse_the_format_checks() {
    let s = |v: &str| v.to_owned();
    let cases: &[(&'static str, &str, &str)] = &[
        ("this.isEmail()", "a@example.com", "not an email"),
        ("this.isHostname()", "example.com", "-bad-.com"),
        ("this.isIp()", "::1", "1.2.3"),
        ("this.isIp(4)", "10.0.0.1", "::1"),
        ("this.isIp(6)", "::1", "10.0.0.1"),
        ("this.isIpPrefix()", "10.0.0.0/8", "10.0.0.0"),
        ("this.isIpPrefix(6)", "2001:db8::/32", "10.0.0.0/8"),
        ("this.isIpPrefix(true)", "10.0.0.0/8", "10.0.0.1/8"),
        ("this.isIpPrefix(4, true)", "10.0.0.0/8", "10.0.0.1/8"),
        ("this.isUri()", "https://example.com/a", "/relative"),
        ("this.isUriRef()", "/relative", "::not a uri ref"),
        ("this.isHostAndPort(true)", "example.com:80", "example.com"),
    ];
    for (source, good, bad) in cases {
        let (good, bad) = (s(good), s(bad));
        holds(source, &good.to_cel());
        fails(source, &bad.to_cel());
    }
    holds("this.unique()", &vec![1i64, 2, 3].to_cel());
    fails("this.unique()", &vec![s("a"), s("b"), s("a")].to_cel());
    holds("!this.isNan()", &1.0f64.to_cel());
    fails("!this.isNan()", &f64::NAN.to_cel());
    holds("this.isInf() && this.isInf(1)", &f64::INFINITY.to_cel());
    fails("this.isInf(-1)", &f64::INFINITY.to_cel());
    fails("this.isInf()", &1.0f64.to_cel());
}

#[test]
fn standard_cel_over_messages_lists_maps_and_time() {
    let name = "Alice".to_owned();
    let tags = vec!["a".to_owned(), "bb".to_owned()];
    let labels = HashMap::from([("team".to_owned(), 3i32)]);
    let at = prost_types::Timestamp {
        seconds: 946_684_800,
        nanos: 0,
    };
    let ttl = prost_types::Duration {
        seconds: 90,
        nanos: 0,
    };
    let this = message([
        ("name", some(&name)),
        ("tags", some(&tags)),
        ("labels", some(&labels)),
        ("at", some(&at)),
        ("ttl", some(&ttl)),
        ("unset", None),
    ]);
    holds("this.name.startsWith('A') && size(this.name) == 5", &this);
    holds("this.name.matches('^[A-Z][a-z]+$')", &this);
    holds(
        "this.tags.all(t, size(t) <= 2) && this.tags.exists(t, t == 'bb')",
        &this,
    );
    holds("this.labels['team'] == 3 && 'team' in this.labels", &this);
    holds("has(this.name) && !has(this.unset)", &this);
    holds(
        "this.at == timestamp('2000-01-01T00:00:00Z') && this.at < now",
        &this,
    );
    holds(
        "this.ttl > duration('1m') && this.ttl < duration('2m')",
        &this,
    );
    fails("this.tags.size() > 2", &this);
}
