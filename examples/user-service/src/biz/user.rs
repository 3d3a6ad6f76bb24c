//! The user directory's use cases: create, read, update, delete and list users.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use bia::error::FieldViolation;

use super::error::shown;
use super::{Error, PageToken, page_size};

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest email accepted, in bytes (RFC 5321's limit on a path).
pub const MAX_EMAIL_BYTES: usize = 254;

/// A user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Opaque, server-assigned id (a UUIDv7, so ids sort in creation order).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address, unique regardless of case.
    pub email: String,
    /// When the user was created.
    pub create_time: SystemTime,
}

/// Validated changes to a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// The new name.
    pub name: Option<String>,
    /// The new email.
    pub email: Option<String>,
}

/// Which fields of a user an update changes (<https://google.aip.dev/134>).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMask<'a> {
    /// No mask (or an empty one): every field given with a value that is not empty.
    NonEmpty,
    /// The fields named by an `update_mask`: `name`, `email`, or `*` for both.
    Paths(&'a [String]),
}

impl UpdateMask<'_> {
    /// Whether the name and the email change; a path that names nothing changeable is a
    /// violation of `update_mask`.
    fn fields(self, name: &str, email: &str, violations: &mut Vec<FieldViolation>) -> (bool, bool) {
        let paths = match self {
            Self::NonEmpty => return (!name.is_empty(), !email.is_empty()),
            Self::Paths(paths) => paths,
        };
        let (mut set_name, mut set_email) = (false, false);
        for path in paths {
            match path.as_str() {
                "name" => set_name = true,
                "email" => set_email = true,
                "*" => (set_name, set_email) = (true, true),
                other => violations.push(FieldViolation::new(
                    "update_mask",
                    format!(
                        "`{}` is not a field that can change; use name, email or *",
                        shown(other)
                    ),
                )),
            }
        }
        (set_name, set_email)
    }
}

/// Where users are kept; [`crate::data::UserStore`] implements it on SQLite.
///
/// A store reports an email that another user has as [`Error::EmailTaken`] and any other failure
/// as [`Error::Storage`].
pub trait UserRepo: Send + Sync + 'static {
    /// Stores a new user.
    fn insert(&self, user: &User) -> impl Future<Output = Result<(), Error>> + Send;
    /// The user with `id`, if any.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<User>, Error>> + Send;
    /// Applies `changes` to the user with `id` and returns it, or `None` if there is none.
    fn update(
        &self,
        id: &str,
        changes: &UserChanges,
    ) -> impl Future<Output = Result<Option<User>, Error>> + Send;
    /// Deletes the user with `id`; whether there was one.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, Error>> + Send;
    /// Up to `limit` users in id order, starting after `after_id` (from the start if `None`).
    fn list(
        &self,
        after_id: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<User>, Error>> + Send;
}

/// The user use cases over a [`UserRepo`]; cheap to clone.
#[derive(Debug)]
pub struct Users<R> {
    repo: Arc<R>,
}

impl<R> Clone for Users<R> {
    fn clone(&self) -> Self {
        Self {
            repo: self.repo.clone(),
        }
    }
}

impl<R: UserRepo> Users<R> {
    /// Use cases storing in `repo`.
    pub fn new(repo: R) -> Self {
        Self {
            repo: Arc::new(repo),
        }
    }

    /// Creates a user from a name and an email, both required and valid.
    pub async fn create(&self, name: &str, email: &str) -> Result<User, Error> {
        let mut violations = Vec::new();
        let name = check_name("name", name, &mut violations);
        let email = check_email("email", email, &mut violations);
        if !violations.is_empty() {
            return Err(Error::Invalid(violations));
        }
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            name,
            email,
            create_time: SystemTime::now(),
        };
        self.repo.insert(&user).await?;
        tracing::info!(id = %user.id, "user created");
        Ok(user)
    }

    /// The user with `id`.
    pub async fn get(&self, id: &str) -> Result<User, Error> {
        check_id(id)?;
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| Error::NotFound(id.to_owned()))
    }

    /// Changes the name and/or email of the user with `id`: the fields `mask` names, each then
    /// required and valid.
    pub async fn update(
        &self,
        id: &str,
        name: &str,
        email: &str,
        mask: UpdateMask<'_>,
    ) -> Result<User, Error> {
        let mut violations = Vec::new();
        if id.is_empty() {
            violations.push(FieldViolation::new("user.id", "is required"));
        }
        let (set_name, set_email) = mask.fields(name, email, &mut violations);
        let changes = UserChanges {
            name: set_name.then(|| check_name("user.name", name, &mut violations)),
            email: set_email.then(|| check_email("user.email", email, &mut violations)),
        };
        if !violations.is_empty() {
            return Err(Error::Invalid(violations));
        }
        let updated = if changes == UserChanges::default() {
            self.repo.get(id).await?
        } else {
            self.repo.update(id, &changes).await?
        };
        updated.ok_or_else(|| Error::NotFound(id.to_owned()))
    }

    /// Deletes the user with `id`.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        check_id(id)?;
        if self.repo.delete(id).await? {
            tracing::info!(%id, "user deleted");
            Ok(())
        } else {
            Err(Error::NotFound(id.to_owned()))
        }
    }

    /// One page of users, oldest first, and the token of the next page (`None` on the last).
    pub async fn list(
        &self,
        requested_size: i32,
        page_token: &str,
    ) -> Result<(Vec<User>, Option<PageToken>), Error> {
        let size = page_size(requested_size)?;
        let after = PageToken::decode(page_token)?;
        // One more than asked tells whether another page follows.
        let mut users = self
            .repo
            .list(after.as_ref().map(|t| t.after_id.as_str()), size + 1)
            .await?;
        let next = if users.len() > size as usize {
            users.truncate(size as usize);
            users.last().map(|last| PageToken {
                after_id: last.id.clone(),
            })
        } else {
            None
        };
        Ok((users, next))
    }
}

/// Ids are opaque: any non-empty id is looked up, and one that names no user is NOT_FOUND.
fn check_id(id: &str) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::Invalid(vec![FieldViolation::new(
            "id",
            "is required",
        )]));
    }
    Ok(())
}

fn check_name(field: &str, name: &str, violations: &mut Vec<FieldViolation>) -> String {
    let name = name.trim();
    if name.is_empty() {
        violations.push(FieldViolation::new(field, "is required"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        violations.push(FieldViolation::new(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        violations.push(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    name.to_owned()
}

fn check_email(field: &str, email: &str, violations: &mut Vec<FieldViolation>) -> String {
    let email = email.trim();
    if email.is_empty() {
        violations.push(FieldViolation::new(field, "is required"));
    } else if email.len() > MAX_EMAIL_BYTES {
        violations.push(FieldViolation::new(
            field,
            format!("must be at most {MAX_EMAIL_BYTES} bytes"),
        ));
    } else if !is_email(email) {
        violations.push(FieldViolation::new(
            field,
            "must be an address such as ada@example.com",
        ));
    }
    email.to_owned()
}

/// A pragmatic check: `local@domain`, no spaces, a dotted domain of letters, digits and hyphens.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.chars().any(|c| c.is_whitespace() || c.is_control());
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_emails() {
        for email in [
            "ada@example.com",
            "a.b+tag@mail.example.co.uk",
            "x@ex-ample.io",
        ] {
            assert!(is_email(email), "{email}");
        }
    }

    #[test]
    fn rejects_malformed_emails() {
        for email in [
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "a da@example.com",
            "ada@-example.com",
            "ada@example..com",
        ] {
            assert!(!is_email(email), "{email}");
        }
    }

    #[test]
    fn collects_every_violation() {
        let mut violations = Vec::new();
        check_name("name", "  ", &mut violations);
        check_email("email", "nope", &mut violations);
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["name", "email"]);
        let mut violations = Vec::new();
        assert_eq!(check_name("name", "  Ada  ", &mut violations), "Ada");
        check_name("name", &"x".repeat(MAX_NAME_CHARS + 1), &mut violations);
        assert_eq!(violations.len(), 1);
    }

    #[test]
    fn masks_choose_the_fields_and_name_what_cannot_change() {
        let mut violations = Vec::new();
        let fields = |mask: UpdateMask<'_>, violations: &mut Vec<FieldViolation>| {
            mask.fields("Ada", "", violations)
        };
        assert_eq!(fields(UpdateMask::NonEmpty, &mut violations), (true, false));
        let email = ["email".to_owned()];
        assert_eq!(
            fields(UpdateMask::Paths(&email), &mut violations),
            (false, true)
        );
        let all = ["*".to_owned()];
        assert_eq!(
            fields(UpdateMask::Paths(&all), &mut violations),
            (true, true)
        );
        assert!(violations.is_empty());
        let bad = ["create_time".to_owned(), "name".to_owned()];
        assert_eq!(
            fields(UpdateMask::Paths(&bad), &mut violations),
            (true, false)
        );
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "update_mask");
        assert!(violations[0].description.contains("`create_time`"));
    }
}
