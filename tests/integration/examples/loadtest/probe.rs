//! One client's calls, one at a time, for counting a process's instructions per call under
//! `valgrind --tool=callgrind` (docs/performance.md), in place of the harness's load:
//!
//! - `--call ADDR N`: N unary calls with tonic's client (to count a server's instructions);
//! - `--call-bia ADDR N`: the same with Bia's client (to count the client's, under callgrind);
//! - `--stream ADDR N`: one server stream of N messages, read to its end.

use bytes::Bytes;
use http_body::Body;
use tonic::codegen::StdError;

use crate::pb;
use pb::echo_client::EchoClient;

/// Runs the probe `args` ask for; `None` when they ask for none.
pub(crate) fn run(args: &[String]) -> Option<std::process::ExitCode> {
    let mode = args.first()?.as_str();
    if !matches!(mode, "--call" | "--call-bia" | "--stream") {
        return None;
    }
    let usage = format!("{mode} ADDR N");
    let addr = args.get(1).expect(&usage).clone();
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).expect(&usage);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("builds a runtime");
    runtime.block_on(async move {
        if mode == "--call-bia" {
            let config = bia::testing::config_with(
                "loadtest-probe",
                &format!("[clients.echo]\ntarget = \"http://{addr}\"\ntimeout = \"10s\"\n"),
            );
            let telemetry = bia::Telemetry::new(&config).expect("client telemetry");
            let channel = bia::client::Channel::from_config(&config, "echo", &telemetry)
                .expect("builds a bia channel");
            return calls(EchoClient::new(channel), n).await;
        }
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("a valid URI")
            .connect()
            .await
            .expect("connects");
        let client = EchoClient::new(channel);
        if mode == "--stream" {
            stream(client, n).await;
        } else {
            calls(client, n).await;
        }
    });
    Some(std::process::ExitCode::SUCCESS)
}

async fn calls<T>(mut client: EchoClient<T>, n: usize)
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    for _ in 0..n {
        client
            .say(pb::SayRequest {
                message: "ping".into(),
                padding: Vec::new(),
            })
            .await
            .expect("the call succeeds");
    }
}

async fn stream(mut client: EchoClient<tonic::transport::Channel>, n: usize) {
    let mut stream = client
        .count(pb::CountRequest {
            message: "m".into(),
            count: u32::try_from(n).expect("at most u32::MAX messages"),
            delay_ms: 0,
        })
        .await
        .expect("the stream starts")
        .into_inner();
    let mut received = 0;
    while stream
        .message()
        .await
        .expect("the stream goes on")
        .is_some()
    {
        received += 1;
    }
    assert_eq!(received, n, "every message arrives");
}
