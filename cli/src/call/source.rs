//! Where the descriptors come from: the server's reflection, or local .proto files compiled
//! with bia-build as `bia new` compiles them.

use std::path::PathBuf;

use prost_reflect::DescriptorPool;

use super::error::{CallError, Result};
use super::reflection::Reflection;

/// The descriptors of the services called.
pub(crate) enum Source {
    /// Asked from the server, symbol by symbol.
    Reflection(Reflection),
    /// Compiled from `--proto` files.
    Local(DescriptorPool),
}

impl Source {
    /// The protos `files` compiled against `includes` (each file's proto root when empty).
    pub(crate) fn local(files: &[PathBuf], includes: &[PathBuf]) -> Result<Self> {
        let protos = crate::protos::load(files, includes)
            .map_err(|e| CallError::Descriptor(e.to_string()))?;
        let pool = DescriptorPool::from_file_descriptor_set(protos.fds)
            .map_err(|e| CallError::Descriptor(format!("the protos do not fit together: {e}")))?;
        Ok(Source::Local(pool))
    }

    /// The services, by full name, sorted.
    pub(crate) async fn services(&mut self) -> Result<Vec<String>> {
        match self {
            Source::Reflection(reflection) => reflection.services().await,
            Source::Local(pool) => {
                let mut names: Vec<String> =
                    pool.services().map(|s| s.full_name().to_owned()).collect();
                names.sort();
                Ok(names)
            }
        }
    }

    /// Descriptors that define `symbol` (a service, method, message or enum).
    pub(crate) async fn pool_for(&mut self, symbol: &str) -> Result<DescriptorPool> {
        match self {
            Source::Reflection(reflection) => match reflection.pool_for(symbol).await {
                // Not every server indexes methods: look the service up instead.
                Err(CallError::NotFound(message)) => match symbol.rsplit_once('.') {
                    Some((parent, _)) => reflection
                        .pool_for(parent)
                        .await
                        .map_err(|_| CallError::NotFound(message)),
                    None => Err(CallError::NotFound(message)),
                },
                other => other,
            },
            Source::Local(pool) => Ok(pool.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_protos_may_import_the_bundled_googleapis() {
        let mut source = Source::local(&["src/call/testdata/annotated.proto".into()], &[]).unwrap();
        assert_eq!(source.services().await.unwrap(), ["notes.v1.Notes"]);
        let pool = source.pool_for("notes.v1.Notes").await.unwrap();
        assert!(pool.get_message_by_name("google.api.HttpRule").is_some());
    }

    #[test]
    fn a_missing_proto_file_is_named() {
        let err = Source::local(&["src/call/testdata/nope.proto".into()], &[])
            .err()
            .expect("no such file")
            .to_string();
        assert!(err.contains("nope.proto not found"), "{err}");
    }
}
