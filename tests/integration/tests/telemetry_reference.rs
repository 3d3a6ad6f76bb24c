//! The metrics reference (docs/reference/telemetry.md) against what a server and a client
//! really export: every family either one serves is in the reference with its type, and every
//! family the reference lists is served, so the page cannot drift from the code.

mod support;

use std::collections::BTreeMap;

use support::echo;

/// docs/reference/telemetry.md, read when the test runs (the book is outside the crate).
fn reference() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/reference/telemetry.md"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "this test checks the repository's docs/reference/telemetry.md: cannot read {path}: {e}"
        )
    })
}

/// The families in the tables of the reference's "Prometheus metrics" part, with their type:
/// the rows whose first cell names one or more families in backticks.
fn documented(page: &str) -> BTreeMap<String, String> {
    let metrics = page
        .split_once("## Prometheus metrics")
        .expect("the reference has a part headed \"## Prometheus metrics\"")
        .1;
    let mut families = BTreeMap::new();
    for row in metrics.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // A type cell may explain itself: "gauge (always 1)".
        let kind = cells[2].split_whitespace().next().unwrap_or_default();
        for name in cells[1].split(',') {
            let name = name.trim().trim_matches('`');
            families.insert(name.to_owned(), kind.to_owned());
        }
    }
    families
}

/// The families of a Prometheus text page, from its `# TYPE` lines.
fn served(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_served_family_is_in_the_reference_and_every_listed_one_is_served() {
    let running = echo::start("echo-reference", "").await;
    // A client in another App's telemetry: its families are on that App's /metrics page.
    let (channel, telemetry) =
        support::echo_channel("echo-caller", &running.client_toml("echo", ""));
    let mut client = echo::EchoClient::new(channel);
    client.say(echo::say("hello")).await.unwrap();

    let mut exported = served(&running.metrics_text().await);
    exported.extend(served(&telemetry.metrics().render()));
    let listed = documented(&reference());

    let mut problems = Vec::new();
    for (name, kind) in &exported {
        match listed.get(name) {
            None => problems.push(format!("{name} ({kind}) is served but not listed")),
            Some(documented) if documented != kind => problems.push(format!(
                "{name} is a {kind}, but the reference says {documented}"
            )),
            Some(_) => {}
        }
    }
    for name in listed.keys().filter(|name| !exported.contains_key(*name)) {
        problems.push(format!(
            "{name} is listed but not served by a server and a client at start"
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/reference/telemetry.md is out of date:\n  {}",
        problems.join("\n  ")
    );
    running.stop().await.unwrap();
}
