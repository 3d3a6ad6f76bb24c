//! The user service, reached through bia's client: its spans join the caller's trace and its
//! calls are measured as `rpc_client_call_duration_seconds`.

use crate::biz::{Error, UserDirectory};
use crate::pb::user::v1::user_service_client::UserServiceClient;
use crate::pb::user::v1::{GetUserRequest, is_user_not_found};

/// Asks `user.v1.UserService/GetUser` whether users exist.
#[derive(Clone, Debug)]
pub struct UserClient {
    client: UserServiceClient<bia::client::Channel>,
}

impl UserClient {
    /// A client over `channel` (from `bia::client::Channel::from_config(config, "user", ..)`).
    pub fn new(channel: bia::client::Channel) -> Self {
        Self {
            client: UserServiceClient::new(channel),
        }
    }
}

impl UserDirectory for UserClient {
    async fn exists(&self, user_id: &str) -> Result<bool, Error> {
        // Clients are cheap to clone; each call needs its own `&mut`.
        let mut client = self.client.clone();
        let request = GetUserRequest {
            id: user_id.to_owned(),
        };
        match client.get_user(request).await {
            Ok(_) => Ok(true),
            // The user service's own USER_NOT_FOUND (its proto's ErrorReason), not any
            // NOT_FOUND: a proxy's or a wrong route's would say nothing about the user.
            Err(status) if is_user_not_found(&status) => Ok(false),
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "GetUser failed");
                Err(Error::UserServiceUnavailable(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )))
            }
        }
    }
}
