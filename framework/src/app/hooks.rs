//! Lifecycle hooks and the errors they report.

use std::fmt;
use std::future::Future;

use futures_util::future::BoxFuture;

use crate::error::BoxError;

/// A hook: an async function run once at its point in the lifecycle.
pub(crate) type Hook = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), BoxError>> + Send>;

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
            errors.push(format!("{stage} hook #{} failed: {e}", index + 1));
        }
    }
}

/// Everything that went wrong in an App's start or stop, not only the last thing.
#[derive(Debug, Default)]
pub struct AppError {
    errors: Vec<String>,
}

impl AppError {
    pub(crate) fn push(&mut self, error: impl Into<String>) {
        self.errors.push(error.into());
    }

    pub(crate) fn single(error: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.push(error);
        errors
    }

    pub(crate) fn into_result(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Each error, in the order they happened.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [one] => f.write_str(one),
            many => {
                write!(f, "{} errors:", many.len())?;
                for error in many {
                    write!(f, "\n  - {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for AppError {}
