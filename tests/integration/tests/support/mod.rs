//! Test support shared by the integration tests: the echo service (the OTLP collector is bia::testing::otlp).
#![allow(dead_code, unreachable_pub)]

pub mod echo;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod traced;

use std::time::Duration;

/// Polls `check` until it returns `Some`, for up to five seconds.
pub async fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Awaits `check` until it returns true, for up to `limit`.
pub async fn eventually_async<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
