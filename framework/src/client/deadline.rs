//! Client deadlines: every call gets one, and the client gives up at it. The deadline is the
//! client's `timeout`, or less: the caller's own `grpc-timeout`, or what is left of the server
//! call being handled (see [`current_deadline`]).

use std::future::Pending;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::HeaderValue;
use tokio::time::{Sleep, sleep};
use tower_layer::Layer;
use tower_service::Service;

use crate::impls::wraps_inner;
use crate::middleware::cutoff::{CutoffBody, CutoffFuture};
use crate::middleware::deadline::{current_deadline, requested_timeout};
use crate::middleware::status::GRPC_TIMEOUT;

/// Gives every call a deadline: the configured timeout, or the caller's shorter `grpc-timeout`.
/// The server learns it from `grpc-timeout`; the client gives up at it too, with `DEADLINE_EXCEEDED`.
#[derive(Clone, Debug)]
pub struct ClientDeadline<S> {
    inner: S,
    timeout: Duration,
    /// `grpc-timeout` for `timeout`, made once: most calls send exactly this.
    header: HeaderValue,
}

wraps_inner!(ClientDeadline<S>);

impl<S> ClientDeadline<S> {
    /// Calls through `inner` last at most `timeout`.
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            header: grpc_timeout(timeout),
        }
    }
}

/// The `grpc-timeout` value for `timeout`, in whole milliseconds (at least 1).
///
/// Made per call when a shorter deadline applies, so it is written into a buffer on the stack
/// rather than formatted into a `String` first.
fn grpc_timeout(timeout: Duration) -> HeaderValue {
    // At most 8 digits: beyond 99,999,999 ms (27 hours) use seconds.
    let ms = timeout.as_millis().max(1);
    let (value, unit) = if ms <= 99_999_999 {
        (ms as u64, b'm')
    } else {
        (timeout.as_secs().min(99_999_999), b'S')
    };
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value).as_bytes();
    let mut text = [0; 9];
    text[..digits.len()].copy_from_slice(digits);
    text[digits.len()] = unit;
    HeaderValue::from_bytes(&text[..=digits.len()])
        .expect("digits and a unit are a valid header value")
}

/// Applies [`ClientDeadline`] with a downstream's timeout.
#[derive(Clone, Debug)]
pub struct ClientDeadlineLayer {
    timeout: Duration,
}

impl ClientDeadlineLayer {
    /// Calls last at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for ClientDeadlineLayer {
    type Service = ClientDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientDeadline::new(inner, self.timeout)
    }
}

/// The response future of [`ClientDeadline`]: a trailers-only `DEADLINE_EXCEEDED` answer if the
/// deadline passes before the server answers (tonic reads it as that status).
pub type ClientDeadlineFuture<F> = CutoffFuture<F, Sleep, Pending<()>>;

/// The response body of [`ClientDeadline`].
pub type ClientDeadlineBody<B> = CutoffBody<B, Pending<()>>;

impl<S, B, R> Service<http::Request<B>> for ClientDeadline<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = http::Response<ClientDeadlineBody<R>>;
    type Error = S::Error;
    type Future = ClientDeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let requested = requested_timeout(request.headers());
        // The caller's own grpc-timeout, and what is left of the server call being handled.
        let left =
            current_deadline().map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let shorter = match (requested, left) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (one, None) | (None, one) => one,
        };
        let (timeout, header) = match shorter {
            Some(shorter) if shorter < self.timeout => {
                // What is left of a deadline differs on every call: not worth an HPACK table
                // entry (the channel's own timeout, the same every time, is).
                let mut header = grpc_timeout(shorter);
                header.set_sensitive(true);
                (shorter, header)
            }
            _ => (self.timeout, self.header.clone()),
        };
        request.headers_mut().insert(GRPC_TIMEOUT.clone(), header);
        CutoffFuture::new(self.inner.call(request), Some(sleep(timeout)), None, passed)
            .trigger_first()
    }
}

fn passed() -> tonic::Status {
    tonic::Status::deadline_exceeded("the call's deadline passed before the server answered")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_become_valid_grpc_timeout_values() {
        assert_eq!(grpc_timeout(Duration::from_millis(250)), "250m");
        assert_eq!(grpc_timeout(Duration::from_micros(10)), "1m");
        assert_eq!(grpc_timeout(Duration::from_secs(200_000)), "200000S");
        assert_eq!(grpc_timeout(Duration::from_millis(99_999_999)), "99999999m");
        assert_eq!(grpc_timeout(Duration::from_secs(10)), "10000m");
        let value = grpc_timeout(Duration::from_secs(7));
        assert_eq!(
            crate::middleware::deadline::parse_grpc_timeout(value.as_bytes()),
            Some(Duration::from_secs(7))
        );
    }
}
