//! Users in SQLite, with runtime-checked queries (no database needed at build time).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::SqlitePool;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Row};

use super::Database;
use crate::biz::{Error, User, UserChanges, UserRepo};

/// The `users` table.
#[derive(Clone, Debug)]
pub struct UserStore {
    pool: SqlitePool,
}

impl UserStore {
    /// A store on `database`.
    pub fn new(database: &Database) -> Self {
        Self {
            pool: database.pool().clone(),
        }
    }
}

/// A row of `users`.
struct UserRow(User);

impl FromRow<'_, SqliteRow> for UserRow {
    fn from_row(row: &SqliteRow) -> sqlx::Result<Self> {
        let nanos: i64 = row.try_get("create_time")?;
        Ok(Self(User {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            create_time: UNIX_EPOCH + Duration::from_nanos(nanos.max(0).unsigned_abs()),
        }))
    }
}

fn unix_nanos(time: SystemTime) -> i64 {
    let nanos = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

/// Maps a unique violation (the email index) to [`Error::EmailTaken`], anything else to storage.
fn write_error(error: sqlx::Error, email: Option<&str>) -> Error {
    match (&error, email) {
        (sqlx::Error::Database(db), Some(email)) if db.is_unique_violation() => {
            Error::EmailTaken(email.to_owned())
        }
        _ => Error::storage(error),
    }
}

impl UserRepo for UserStore {
    async fn insert(&self, user: &User) -> Result<(), Error> {
        sqlx::query("INSERT INTO users (id, name, email, create_time) VALUES (?, ?, ?, ?)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(&user.email)
            .bind(unix_nanos(user.create_time))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, Some(&user.email)))?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<User>, Error> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, name, email, create_time FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(Error::storage)?;
        Ok(row.map(|r| r.0))
    }

    async fn update(&self, id: &str, changes: &UserChanges) -> Result<Option<User>, Error> {
        let row: Option<UserRow> = sqlx::query_as(
            "UPDATE users SET name = COALESCE(?, name), email = COALESCE(?, email) \
             WHERE id = ? RETURNING id, name, email, create_time",
        )
        .bind(&changes.name)
        .bind(&changes.email)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| write_error(e, changes.email.as_deref()))?;
        Ok(row.map(|r| r.0))
    }

    async fn delete(&self, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(Error::storage)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<User>, Error> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, name, email, create_time FROM users WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after_id.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(Error::storage)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
