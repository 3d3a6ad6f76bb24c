//! Lifecycle hooks: async functions run once at their point in the lifecycle.

use std::future::Future;

use futures_util::future::BoxFuture;

use super::error::{AppError, LifecycleError};
use crate::error::BoxError;

/// A hook: an async function run once at its point in the lifecycle.
pub(crate) type Hook = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), BoxError>> + Send>;

/// The hooks of an App, by stage, in the order they were added.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) before_start: Vec<Hook>,
    pub(crate) after_start: Vec<Hook>,
    pub(crate) before_stop: Vec<Hook>,
    pub(crate) after_stop: Vec<Hook>,
}

pub(crate) fn hook<F, Fut>(f: F) -> Hook
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    Box::new(move || Box::pin(f()))
}

/// Runs every hook in order, even after one fails, and collects every error.
pub(crate) async fn run_all(stage: &'static str, hooks: Vec<Hook>, errors: &mut AppError) {
    for (index, hook) in hooks.into_iter().enumerate() {
        if let Err(e) = hook().await {
            errors.push(LifecycleError::hook(stage, index + 1, e));
        }
    }
}
