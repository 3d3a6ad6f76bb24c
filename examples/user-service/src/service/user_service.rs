//! Handlers of `user.v1.UserService` (proto/user/v1/user.proto).

use tonic::{Request, Response, Status};

use crate::biz::{UpdateMask, UseCases, User, UserRepo, Users};
use crate::data::UserStore;
use crate::pb::user::v1 as pb;

/// Implements `user.v1.UserService` over the use cases in [`crate::biz`].
#[derive(Debug, Clone)]
pub struct UserService<R> {
    users: Users<R>,
}

impl UserService<UserStore> {
    /// Handlers over the user directory of `use_cases`.
    pub fn new(use_cases: &UseCases) -> Self {
        Self {
            users: use_cases.users.clone(),
        }
    }
}

fn to_pb(user: User) -> pb::User {
    pb::User {
        id: user.id,
        name: user.name,
        email: user.email,
        create_time: Some(user.create_time.into()),
    }
}

// Each `?` turns a `biz::Error` into a status with a google.rpc.ErrorInfo (and a BadRequest for
// invalid fields) through `bia::Error`.
#[tonic::async_trait]
impl<R: UserRepo> pb::user_service_server::UserService for UserService<R> {
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let request = request.into_inner();
        let user = self.users.create(&request.name, &request.email).await?;
        Ok(Response::new(to_pb(user)))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let user = self.users.get(&request.into_inner().id).await?;
        Ok(Response::new(to_pb(user)))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let request = request.into_inner();
        let user = request.user.unwrap_or_default();
        // An empty mask is no mask (AIP-134): JSON clients send `"updateMask": ""` for none.
        let mask = match &request.update_mask {
            Some(mask) if !mask.paths.is_empty() => UpdateMask::Paths(&mask.paths),
            _ => UpdateMask::NonEmpty,
        };
        let user = self
            .users
            .update(&user.id, &user.name, &user.email, mask)
            .await?;
        Ok(Response::new(to_pb(user)))
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<()>, Status> {
        self.users.delete(&request.into_inner().id).await?;
        Ok(Response::new(()))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let request = request.into_inner();
        let (users, next) = self
            .users
            .list(request.page_size, &request.page_token)
            .await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(to_pb).collect(),
            next_page_token: next.map(|t| t.encode()).unwrap_or_default(),
        }))
    }
}
