//! Registration and discovery on a real etcd, balancing over discovered instances.
#![cfg(feature = "etcd")]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::echo::{self, EchoClient, say};
use support::etcd::Etcd;
use support::eventually_async;

fn registry_toml(etcd: &Etcd) -> String {
    format!(
        "[registry.etcd]\nendpoints = [\"{}\"]\nttl = \"2s\"\n",
        etcd.client_url
    )
}

async fn keys(etcd: &Etcd, service: &str) -> Vec<String> {
    let mut client = etcd_client::Client::connect([etcd.client_url.as_str()], None)
        .await
        .unwrap();
    let prefix = bia::registry::service_prefix(service);
    client
        .get(prefix, Some(etcd_client::GetOptions::new().with_prefix()))
        .await
        .map(|r| {
            r.kvs()
                .iter()
                .map(|kv| kv.key_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// An echo instance on its own runtime, so it can die abruptly (as a killed process would:
/// its sockets close, nothing deregisters).
struct Instance {
    runtime: Option<tokio::runtime::Runtime>,
    running: Option<bia::RunningApp>,
    addr: std::net::SocketAddr,
}

impl Instance {
    fn start(service: &str, etcd: &Etcd) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = bia::testing::config_with(service, &registry_toml(etcd));
        let running =
            runtime.block_on(async { bia::testing::start(echo::app(&config)).await.unwrap() });
        let addr = running.grpc_addr();
        Self {
            runtime: Some(runtime),
            running: Some(running),
            addr,
        }
    }

    fn kill(mut self) {
        drop(self.running.take());
        self.runtime.take().unwrap().shutdown_background();
    }

    fn stop(mut self) {
        let running = self.running.take().unwrap();
        self.runtime
            .as_ref()
            .unwrap()
            .block_on(running.stop())
            .unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_registers_deregisters_and_expires_when_killed() {
    let etcd = Etcd::start();
    let service = "reg-svc";
    let first = tokio::task::block_in_place(|| Instance::start(service, &etcd));
    let registered = keys(&etcd, service).await;
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert!(
        registered[0].starts_with("/bia/services/reg-svc/reg-svc-"),
        "{registered:?}"
    );
    tokio::task::block_in_place(|| first.stop());
    assert!(
        keys(&etcd, service).await.is_empty(),
        "deregistered on graceful stop"
    );

    let second = tokio::task::block_in_place(|| Instance::start(service, &etcd));
    assert_eq!(keys(&etcd, service).await.len(), 1);
    tokio::task::block_in_place(|| second.kill());
    // The lease (TTL 2 s) runs out: the entry goes away by itself.
    eventually_async(Duration::from_secs(6), || async {
        keys(&etcd, service).await.is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_registers_again_after_etcd_restarts_and_keeps_serving() {
    let mut etcd = Etcd::start();
    let service = "restart-svc";
    let instance = tokio::task::block_in_place(|| Instance::start(service, &etcd));
    assert_eq!(keys(&etcd, service).await.len(), 1);
    let mut client = EchoClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{}", instance.addr))
            .unwrap()
            .connect_lazy(),
    );
    // Restart etcd with its data wiped: the lease is gone, the keeper must register again.
    etcd.restart(true);
    assert_eq!(
        client
            .say(say("during"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "during"
    );
    eventually_async(Duration::from_secs(10), || async {
        keys(&etcd, service).await.len() == 1
    })
    .await;
    assert_eq!(
        client.say(say("after")).await.unwrap().into_inner().message,
        "after"
    );
    tokio::task::block_in_place(|| instance.stop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_client_spreads_calls_survives_a_kill_and_finds_new_instances() {
    let etcd = Etcd::start();
    let service = "lb-svc";
    let mut instances: Vec<Instance> =
        tokio::task::block_in_place(|| (0..3).map(|_| Instance::start(service, &etcd)).collect());
    let caller = bia::testing::config_with(
        "lb-caller",
        &format!(
            "{}[clients.echo]\ntarget = \"discovery:///{service}\"\n",
            registry_toml(&etcd)
        ),
    );
    let (channel, _telemetry) = bia::testing::client_channel(&caller, "echo");
    let mut client = EchoClient::new(channel);

    // 300 calls, 6 at a time so load differences matter.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..(300 / 6) {
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let mut client = client.clone();
                tokio::spawn(async move { client.say(say("slow:2")).await })
            })
            .collect();
        for call in calls {
            let response = call.await.unwrap().unwrap();
            *counts
                .entry(
                    response
                        .metadata()
                        .get("x-served-by")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default(),
                )
                .or_default() += 1;
        }
    }
    assert_eq!(counts.len(), 3, "every instance served: {counts:?}");
    for (instance, count) in &counts {
        let share = *count as f64 / 300.0;
        assert!(
            (0.20..=0.47).contains(&share),
            "{instance} got {share:.2} of the calls: {counts:?}"
        );
    }

    // Kill one instance: of the next 20 sequential calls at most one fails (retry is off).
    let victim = instances.remove(0);
    tokio::task::block_in_place(|| victim.kill());
    let mut failures = 0;
    for _ in 0..20 {
        if client.say(say("x")).await.is_err() {
            failures += 1;
        }
    }
    assert!(failures <= 1, "{failures} of 20 calls failed after a kill");

    // A new instance is picked up without restarting the client.
    let newcomer = tokio::task::block_in_place(|| Instance::start(service, &etcd));
    let newcomer_addr = newcomer.addr.to_string();
    instances.push(newcomer);
    eventually_async(Duration::from_secs(10), || {
        let mut client = client.clone();
        let newcomer_addr = newcomer_addr.clone();
        async move {
            let mut seen = false;
            for _ in 0..20 {
                let response = client.say(say("n")).await.unwrap();
                seen |= response
                    .metadata()
                    .get("x-served-by")
                    .is_some_and(|v| v.to_str().unwrap() == newcomer_addr);
            }
            seen
        }
    })
    .await;
    for instance in instances {
        tokio::task::block_in_place(|| instance.stop());
    }
}
