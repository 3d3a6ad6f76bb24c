//! Log lines written inside a call carry its trace_id and span_id (own test binary: it installs
//! a global subscriber, as a service's main does).

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::echo::{self, EchoClient, SayRequest};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_inside_a_call_carry_its_trace_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .init();

    let running = bia::testing::start(echo::app(&bia::testing::config("logs")))
        .await
        .unwrap();
    let mut client = EchoClient::new(running.channel().await.unwrap());
    let mut request = tonic::Request::new(SayRequest {
        message: "logged".into(),
        padding: vec![],
    });
    request.metadata_mut().insert(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            .parse()
            .unwrap(),
    );
    client.say(request).await.unwrap();
    running.stop().await.unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let handler_line = text
        .lines()
        .find(|l| l.contains("\"saying\""))
        .unwrap_or_else(|| panic!("no handler log line in:\n{text}"));
    assert!(
        handler_line.contains("\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\""),
        "{handler_line}"
    );
    assert!(handler_line.contains("\"span_id\":\""), "{handler_line}");
    let access_line = text
        .lines()
        .find(|l| l.contains("bia::access"))
        .unwrap_or_else(|| panic!("no access log line in:\n{text}"));
    assert!(access_line.contains("\"status\":\"OK\""), "{access_line}");
    assert!(
        access_line.contains("0af7651916cd43dd8448eb211c80319c"),
        "{access_line}"
    );
    assert!(
        !access_line.contains("logged"),
        "the access log never carries the payload: {access_line}"
    );
}
