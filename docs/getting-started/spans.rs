//! An OTLP collector that prints the spans it received: `cargo run --example spans`.
//!
//! It is `bia::testing::otlp::Collector`, the collector the tests use, on a free loopback port.
//! Point the service at the endpoint it prints, call the service, stop it (stopping flushes its
//! spans), then press Enter here.

use std::fmt::Write as _;

use bia::testing::otlp::{Collector, ReceivedSpan};

#[tokio::main]
async fn main() -> Result<(), bia::BoxError> {
    let (collector, endpoint) = Collector::start().await;
    println!("OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}");
    eprintln!("collecting; press Enter to print the spans received");
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
    for span in collector.spans() {
        print!("{}", describe(&span));
    }
    Ok(())
}

/// A span on one line, then its attributes one a line, sorted by name.
fn describe(span: &ReceivedSpan) -> String {
    let mut text = format!(
        "{} {:?} service={} trace={} span={} parent={} status={}\n",
        span.name,
        span.kind,
        span.service,
        hex(&span.trace_id),
        hex(&span.span_id),
        hex(&span.parent_span_id),
        span.status_code,
    );
    let mut attributes: Vec<_> = span.attributes.iter().collect();
    attributes.sort();
    for (key, value) in attributes {
        let _ = writeln!(text, "    {key} = {value}");
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}
