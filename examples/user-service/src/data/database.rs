//! Opening the SQLite database: WAL mode, embedded migrations, safe concurrent first starts.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, SqliteConnection};

use crate::conf::DatabaseConfig;

/// The migrations in `migrations/`, compiled into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An open, migrated database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    pool: SqlitePool,
}

/// Opening a database failed: the URL, the file, or a migration.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the database {url:?} (set database.url or BIA_DATABASE__URL)")]
pub struct OpenError {
    url: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Database {
    /// Opens the database at `config.url` in WAL mode (so several instances on one host can share
    /// the file), creating the file's folder if needed, and applies pending migrations.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, OpenError> {
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| OpenError {
            url: config.url.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str(&config.url)
            .map_err(|e| fail(e.into()))?
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(config.busy_timeout);
        // SQLite creates the file with mode=rwc, but not the folder it lives in.
        if let Some(folder) = options.get_filename().parent()
            && !folder.as_os_str().is_empty()
            && options.get_filename() != std::path::Path::new(":memory:")
        {
            std::fs::create_dir_all(folder).map_err(|e| fail(e.into()))?;
        }
        if is_in_memory(&config.url) {
            // An in-memory database lives only as long as a connection to it, and no other
            // instance can share it: keep one connection open for the pool's whole life and
            // migrate through the pool, or the tables vanish with the connection that made them.
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(|e| fail(e.into()))?;
            MIGRATOR.run(&pool).await.map_err(|e| fail(e.into()))?;
            return Ok(Self { pool });
        }
        migrate(&options).await.map_err(fail)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|e| fail(e.into()))?;
        Ok(Self { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL into the database file).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Applies the migrations inside one `BEGIN IMMEDIATE` transaction: SQLite has no advisory locks,
/// so this write lock is what keeps two instances starting at once on a new file from both
/// applying them. The second waits (up to the busy timeout), then finds nothing left to do.
async fn migrate(
    options: &SqliteConnectOptions,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_migrate(options).await {
            Ok(()) => return Ok(()),
            // Switching a new file to WAL needs an exclusive lock that the busy timeout does not
            // wait for; another instance doing the same at this moment makes it fail once.
            Err(e) if attempt < 5 && is_busy(&*e) => {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn try_migrate(
    options: &SqliteConnectOptions,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = SqliteConnection::connect_with(options).await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    MIGRATOR.run(&mut *tx).await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// Whether `url` names an in-memory database (`sqlite::memory:`, `sqlite://:memory:`,
/// `...?mode=memory`): sqlx gives those a shared cache under a generated name.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn is_busy(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(sqlx::Error::Database(db)) = e.downcast_ref::<sqlx::Error>() {
            // SQLITE_BUSY (5) and its extended codes.
            if db
                .code()
                .is_some_and(|c| c.parse::<i32>().is_ok_and(|c| c & 0xff == 5))
            {
                return true;
            }
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_memory_database_keeps_its_tables_across_the_pool() {
        let config = DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 4,
            ..DatabaseConfig::default()
        };
        let database = Database::connect(&config).await.unwrap();
        // Two connections at once: both see the migrated tables.
        let mut first = database.pool().acquire().await.unwrap();
        let mut second = database.pool().acquire().await.unwrap();
        for conn in [&mut first, &mut second] {
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
            )
            .fetch_one(&mut **conn)
            .await
            .unwrap();
            assert_eq!(tables, 1);
        }
    }
}
