//! The etcd registry: instances under `/bia/services/<name>/<id>` with a lease kept alive, and
//! discovery by prefix watch.
//!
//! Registration survives etcd restarts and partitions: the keeper renews the lease a few times
//! per TTL, and when the lease is gone (a keep-alive answer with TTL 0, or an error) it connects
//! again and registers under a fresh lease. Discovery reads the prefix, then watches it from the
//! next revision; on an error it yields the error (clients keep their last endpoints) and starts
//! over once etcd answers again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use etcd_client::{Client, ConnectOptions, EventType, GetOptions, PutOptions, WatchOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    BoxFuture, Discovery, InstanceStream, Registrar, ServiceInstance, instance_key, service_prefix,
};
use crate::config::EtcdConfig;
use crate::error::BoxError;

/// Registrar and discovery on etcd.
///
/// ```no_run
/// # async fn demo() -> Result<(), bia::BoxError> {
/// let config = bia::Config::load("user-service")?;
/// if let Some(etcd) = &config.registry.etcd {
///     let registry = bia::registry::etcd::EtcdRegistry::new(etcd.clone());
///     // App::builder(&config).registrar(registry.clone()) registers; a client discovers with it.
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct EtcdRegistry {
    inner: std::sync::Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: EtcdConfig,
    keepers: Mutex<HashMap<String, Keeper>>,
}

#[derive(Debug)]
struct Keeper {
    stop: CancellationToken,
    task: JoinHandle<()>,
    lease: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Attempts of a first registration (about 3 s in all).
const REGISTER_ATTEMPTS: u32 = 5;

impl EtcdRegistry {
    /// A registry on the etcd cluster of `config`; connects when first used.
    pub fn new(config: EtcdConfig) -> Self {
        Self {
            inner: std::sync::Arc::new(Inner {
                config,
                keepers: Mutex::new(HashMap::new()),
            }),
        }
    }

    async fn connect(&self) -> Result<Client, BoxError> {
        connect(&self.inner.config).await
    }
}

async fn connect(config: &EtcdConfig) -> Result<Client, BoxError> {
    if config.endpoints.is_empty() {
        return Err(
            "registry.etcd.endpoints is empty: list at least one, e.g. [\"http://127.0.0.1:2379\"]"
                .into(),
        );
    }
    let mut options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(2))
        .with_timeout(Duration::from_secs(5));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        options = options.with_user(user.clone(), password.clone());
    }
    Client::connect(&config.endpoints, Some(options))
        .await
        .map_err(|e| format!("cannot reach etcd at {:?}: {e}", config.endpoints).into())
}

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(2)
}

/// Grants a lease and puts the instance under it; returns the lease id.
async fn put_instance(
    client: &mut Client,
    instance: &ServiceInstance,
    ttl: Duration,
) -> Result<i64, BoxError> {
    let lease = client.lease_grant(ttl_secs(ttl), None).await?.id();
    let value = serde_json::to_vec(instance)?;
    client
        .put(
            instance_key(&instance.name, &instance.id),
            value,
            Some(PutOptions::new().with_lease(lease)),
        )
        .await?;
    Ok(lease)
}

/// Keeps `lease` alive until stopped; registers again whenever the lease is lost.
async fn keep(
    config: EtcdConfig,
    instance: ServiceInstance,
    mut client: Client,
    lease: std::sync::Arc<std::sync::atomic::AtomicI64>,
    stop: CancellationToken,
) {
    use std::sync::atomic::Ordering;
    let interval = (config.ttl / 3).max(Duration::from_millis(500));
    let mut backoff = RETRY_MIN;
    loop {
        let current = lease.load(Ordering::SeqCst);
        let alive = async {
            let (mut keeper, mut responses) = client.lease_keep_alive(current).await?;
            loop {
                keeper.keep_alive().await?;
                match responses.message().await? {
                    Some(answer) if answer.ttl() > 0 => {}
                    _ => return Ok::<(), BoxError>(()),
                }
                tokio::time::sleep(interval).await;
            }
        };
        let outcome = tokio::select! {
            () = stop.cancelled() => return,
            outcome = alive => outcome,
        };
        match outcome {
            Ok(()) => tracing::warn!(instance = %instance.id, "etcd lease lost; registering again"),
            Err(e) => {
                tracing::warn!(instance = %instance.id, error = %e, "etcd keep-alive failed; registering again")
            }
        }
        // Register again, on a fresh connection, until it works or we are stopped.
        loop {
            let attempt = async {
                let mut fresh = connect(&config).await?;
                let id = put_instance(&mut fresh, &instance, config.ttl).await?;
                Ok::<_, BoxError>((fresh, id))
            };
            let result = tokio::select! {
                () = stop.cancelled() => return,
                result = attempt => result,
            };
            match result {
                Ok((fresh, id)) => {
                    client = fresh;
                    lease.store(id, Ordering::SeqCst);
                    backoff = RETRY_MIN;
                    tracing::info!(instance = %instance.id, "registered in etcd again");
                    break;
                }
                Err(e) => {
                    tracing::warn!(instance = %instance.id, error = %e, retry_in = ?backoff, "etcd registration failed");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

impl Registrar for EtcdRegistry {
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            // A fresh etcd answers before it has elected itself leader; a brief retry rides
            // that out instead of failing the App's start.
            let mut backoff = RETRY_MIN;
            let mut attempt = 1;
            let (client, id) = loop {
                let outcome = async {
                    let mut client = self.connect().await?;
                    let id = put_instance(&mut client, instance, self.inner.config.ttl).await?;
                    Ok::<_, BoxError>((client, id))
                }
                .await;
                match outcome {
                    Ok(registered) => break registered,
                    Err(e) if attempt >= REGISTER_ATTEMPTS => {
                        return Err(format!(
                            "cannot register in etcd after {attempt} attempts: {e}"
                        )
                        .into());
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "etcd registration failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(RETRY_MAX);
                        attempt += 1;
                    }
                }
            };
            let lease = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(id));
            let stop = CancellationToken::new();
            let task = tokio::spawn(keep(
                self.inner.config.clone(),
                instance.clone(),
                client,
                lease.clone(),
                stop.clone(),
            ));
            let previous = self
                .inner
                .keepers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(instance.id.clone(), Keeper { stop, task, lease });
            if let Some(previous) = previous {
                previous.stop.cancel();
            }
            Ok(())
        })
    }

    fn deregister<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            let keeper = self
                .inner
                .keepers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&instance.id);
            let lease = keeper.map(|keeper| {
                keeper.stop.cancel();
                keeper.task.abort();
                keeper.lease.load(std::sync::atomic::Ordering::SeqCst)
            });
            let removal = async {
                let mut client = self.connect().await?;
                client
                    .delete(instance_key(&instance.name, &instance.id), None)
                    .await?;
                if let Some(lease) = lease {
                    // The key is gone already; a failed revoke only leaves a lease to expire.
                    let _ = client.lease_revoke(lease).await;
                }
                Ok::<(), BoxError>(())
            };
            tokio::time::timeout(Duration::from_secs(3), removal)
                .await
                .map_err(|_| BoxError::from("etcd did not answer the deregistration within 3 s"))?
        })
    }
}

impl Discovery for EtcdRegistry {
    fn watch(&self, service: &str) -> InstanceStream {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let config = self.inner.config.clone();
        let prefix = service_prefix(service);
        tokio::spawn(async move {
            let mut backoff = RETRY_MIN;
            loop {
                match follow(&config, &prefix, &tx).await {
                    Ok(()) => return, // the receiver went away
                    Err(e) => {
                        if tx.send(Err(e)).await.is_err() {
                            return;
                        }
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_MAX);
            }
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}

type Sender = tokio::sync::mpsc::Sender<Result<Vec<ServiceInstance>, BoxError>>;

/// Reads the prefix, then follows it; returns Ok when the receiver is gone, Err on an etcd error.
async fn follow(config: &EtcdConfig, prefix: &str, tx: &Sender) -> Result<(), BoxError> {
    let mut client = connect(config).await?;
    let listing = client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await?;
    let revision = listing.header().map_or(0, |h| h.revision());
    let mut instances: BTreeMap<String, ServiceInstance> = BTreeMap::new();
    for kv in listing.kvs() {
        if let Some(instance) = decode(kv.value()) {
            instances.insert(kv.key_str()?.to_owned(), instance);
        }
    }
    if tx
        .send(Ok(instances.values().cloned().collect()))
        .await
        .is_err()
    {
        return Ok(());
    }
    let mut watch = client
        .watch(
            prefix,
            Some(
                WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(revision + 1),
            ),
        )
        .await?;
    loop {
        let message = tokio::select! {
            () = tx.closed() => return Ok(()),
            message = watch.message() => message?,
        };
        let Some(response) = message else {
            return Err("etcd closed the watch".into());
        };
        if response.canceled() {
            return Err(format!("etcd cancelled the watch: {}", response.cancel_reason()).into());
        }
        let mut changed = false;
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let key = kv.key_str()?.to_owned();
            match event.event_type() {
                EventType::Put => {
                    if let Some(instance) = decode(kv.value()) {
                        changed |=
                            instances.insert(key, instance.clone()).as_ref() != Some(&instance);
                    }
                }
                EventType::Delete => changed |= instances.remove(&key).is_some(),
            }
        }
        if changed
            && tx
                .send(Ok(instances.values().cloned().collect()))
                .await
                .is_err()
        {
            return Ok(());
        }
    }
}

fn decode(value: &[u8]) -> Option<ServiceInstance> {
    match serde_json::from_slice(value) {
        Ok(instance) => Some(instance),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring a registry entry that is not an instance");
            None
        }
    }
}
