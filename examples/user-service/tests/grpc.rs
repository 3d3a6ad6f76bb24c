//! Starts user-service in-process on 127.0.0.1:0 with `bia::testing`, on a SQLite file in a
//! temporary folder, and calls every RPC over gRPC.

use tonic::Code;
use tonic::transport::Channel;
use user_service::pb::user::v1::{self as pb, user_service_client::UserServiceClient};
use user_service::pb::user::v1::{
    CreateUserRequest, DeleteUserRequest, ErrorReason, GetUserRequest, ListUsersRequest,
    UpdateUserRequest, User,
};

/// A running user-service and a client to it.
struct Service {
    running: bia::RunningApp,
    client: UserServiceClient<Channel>,
}

impl Service {
    /// Starts the service on the database file `db` (created if missing).
    async fn start(db: &std::path::Path) -> Self {
        let config = bia::testing::config_with(
            "user-service",
            &format!("[database]\nurl = \"sqlite://{}?mode=rwc\"\n", db.display()),
        );
        let app = user_service::app(&config).await.expect("the app builds");
        let running = bia::testing::start(app).await.expect("the app starts");
        let client = UserServiceClient::new(running.channel().await.expect("a channel"));
        Self { running, client }
    }

    async fn create(&mut self, name: &str, email: &str) -> Result<User, tonic::Status> {
        let request = CreateUserRequest {
            name: name.into(),
            email: email.into(),
        };
        self.client
            .create_user(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn get(&mut self, id: &str) -> Result<User, tonic::Status> {
        let request = GetUserRequest { id: id.into() };
        self.client.get_user(request).await.map(|r| r.into_inner())
    }

    async fn update(&mut self, id: &str, name: &str, email: &str) -> Result<User, tonic::Status> {
        self.update_masked(id, name, email, None).await
    }

    /// An update of the fields that `mask` names (`None`: every field that is not empty).
    async fn update_masked(
        &mut self,
        id: &str,
        name: &str,
        email: &str,
        mask: Option<&[&str]>,
    ) -> Result<User, tonic::Status> {
        let request = UpdateUserRequest {
            user: Some(User {
                id: id.into(),
                name: name.into(),
                email: email.into(),
                create_time: None,
            }),
            update_mask: mask.map(|paths| prost_types::FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
        };
        self.client
            .update_user(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn delete(&mut self, id: &str) -> Result<(), tonic::Status> {
        let request = DeleteUserRequest { id: id.into() };
        self.client
            .delete_user(request)
            .await
            .map(|r| r.into_inner())
    }

    async fn list(
        &mut self,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<User>, String), tonic::Status> {
        let request = ListUsersRequest {
            page_size,
            page_token: page_token.into(),
        };
        let page = self.client.list_users(request).await?.into_inner();
        Ok((page.users, page.next_page_token))
    }

    async fn stop(self) {
        self.running.stop().await.expect("the app stops");
    }
}

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // A folder that does not exist yet: the service creates it.
    let db = dir.path().join("data").join("users.db");
    (dir, db)
}

/// The status's code, and its details as a `bia::Error` (reason, metadata, field violations).
fn details(status: tonic::Status) -> (Code, bia::Error) {
    (status.code(), bia::Error::from(status))
}

/// Asserts that `status` is INVALID_ARGUMENT with `field` the first field violation.
#[track_caller]
fn assert_invalid(status: tonic::Status, field: &str) -> bia::Error {
    let (code, err) = details(status);
    assert_eq!(code, Code::InvalidArgument, "{err:?}");
    assert_eq!(err.field_violations()[0].field, field, "{err:?}");
    err
}

#[tokio::test]
async fn creates_reads_updates_and_deletes_a_user() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;

    let created = service
        .create("  Ada Lovelace ", "ada@example.com")
        .await
        .unwrap();
    assert!(!created.id.is_empty());
    assert_eq!(created.name, "Ada Lovelace", "the name is trimmed");
    assert_eq!(created.email, "ada@example.com");
    let create_time = created.create_time.expect("a create_time");
    assert!(create_time.seconds > 1_700_000_000, "{create_time:?}");

    assert_eq!(service.get(&created.id).await.unwrap(), created);

    // Empty fields are left untouched.
    let renamed = service.update(&created.id, "Ada King", "").await.unwrap();
    assert_eq!(renamed.name, "Ada King");
    assert_eq!(renamed.email, "ada@example.com");
    let moved = service
        .update(&created.id, "", "countess@example.org")
        .await
        .unwrap();
    assert_eq!(moved.name, "Ada King");
    assert_eq!(moved.email, "countess@example.org");
    assert_eq!(moved.create_time, created.create_time);
    let unchanged = service.update(&created.id, "", "").await.unwrap();
    assert_eq!(unchanged, moved);
    assert_eq!(service.get(&created.id).await.unwrap(), moved);

    service.delete(&created.id).await.unwrap();
    let (code, err) = details(service.get(&created.id).await.unwrap_err());
    assert_eq!(code, Code::NotFound);
    assert_eq!(err.reason(), "USER_NOT_FOUND");
    let (code, _) = details(service.delete(&created.id).await.unwrap_err());
    assert_eq!(code, Code::NotFound, "deleting twice");

    service.stop().await;
}

#[tokio::test]
async fn invalid_names_and_emails_are_invalid_argument_with_field_violations() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;

    // What the buf.validate rules of the proto catch is refused before the handler runs; the
    // handler's own checks list the same fields.
    let (code, err) = details(service.create(" ", "not-an-email").await.unwrap_err());
    assert_eq!(code, Code::InvalidArgument);
    let fields: Vec<_> = err
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["name", "email"]);

    for (name, email, field) in [
        ("Ada", "", "email"),
        ("", "ada@example.com", "name"),
        ("Ada", "ada@localhost", "email"),
        ("Ada", "ada @example.com", "email"),
        (&"x".repeat(101), "ada@example.com", "name"),
    ] {
        let (code, err) = details(service.create(name, email).await.unwrap_err());
        assert_eq!(code, Code::InvalidArgument, "{name:?} {email:?}");
        let fields: Vec<_> = err
            .field_violations()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, [field], "{name:?} {email:?}");
    }

    // What only the domain rules know is refused with the proto's reason.
    let status = service
        .create("Ada\u{7}", "ada@example.com")
        .await
        .unwrap_err();
    assert!(pb::is_invalid_user_request(&status), "{status:?}");
    assert_invalid(status, "name");

    // Updates validate the fields they change.
    let user = service.create("Ada", "ada@example.com").await.unwrap();
    assert_invalid(
        service.update(&user.id, "", "nope").await.unwrap_err(),
        "user.email",
    );
    assert_eq!(
        service.get(&user.id).await.unwrap(),
        user,
        "nothing changed"
    );

    service.stop().await;
}

#[tokio::test]
async fn a_taken_email_is_already_exists() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;

    service.create("Ada", "ada@example.com").await.unwrap();
    let (code, err) = details(
        service
            .create("Another Ada", "ADA@example.com")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        code,
        Code::AlreadyExists,
        "emails compare regardless of case"
    );
    assert_eq!(err.reason(), "EMAIL_ALREADY_EXISTS");
    assert_eq!(
        err.metadata().get("email").map(String::as_str),
        Some("ADA@example.com")
    );

    let grace = service.create("Grace", "grace@example.com").await.unwrap();
    let (code, _) = details(
        service
            .update(&grace.id, "", "ada@example.com")
            .await
            .unwrap_err(),
    );
    assert_eq!(code, Code::AlreadyExists);
    // A user may keep (or re-case) their own email.
    let same = service
        .update(&grace.id, "Grace H.", "Grace@example.com")
        .await
        .unwrap();
    assert_eq!(same.email, "Grace@example.com");

    service.stop().await;
}

#[tokio::test]
async fn unknown_ids_of_any_shape_are_not_found_and_an_empty_id_is_invalid() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;

    for id in [
        "42",
        "0190f1c2-7d2e-7000-8000-000000000001",
        "no such user",
        "'; DROP TABLE users; --",
        "ü",
    ] {
        for status in [
            service.get(id).await.unwrap_err(),
            service.update(id, "Name", "").await.unwrap_err(),
            service.update(id, "", "").await.unwrap_err(),
            service.delete(id).await.unwrap_err(),
        ] {
            let (code, err) = details(status);
            assert_eq!(code, Code::NotFound, "{id:?}");
            assert_eq!(err.reason(), "USER_NOT_FOUND", "{id:?}");
            assert_eq!(err.metadata().get("id").map(String::as_str), Some(id));
        }
    }

    for status in [
        service.get("").await.unwrap_err(),
        service.delete("").await.unwrap_err(),
    ] {
        assert_invalid(status, "id");
    }
    assert_invalid(service.update("", "Name", "").await.unwrap_err(), "user.id");

    service.stop().await;
}

#[tokio::test]
async fn an_update_mask_names_the_fields_that_change() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;
    let ada = service.create("Ada", "ada@example.com").await.unwrap();

    // Only the masked field changes, even when others are given.
    let moved = service
        .update_masked(&ada.id, "Ignored", "ada@example.org", Some(&["email"]))
        .await
        .unwrap();
    assert_eq!(
        (moved.name.as_str(), moved.email.as_str()),
        ("Ada", "ada@example.org")
    );

    // A masked field is set to what is given, so an empty one is refused.
    assert_invalid(
        service
            .update_masked(&ada.id, "", "ada@example.com", Some(&["*"]))
            .await
            .unwrap_err(),
        "user.name",
    );
    let status = service
        .update_masked(&ada.id, "Ada", "", Some(&["create_time"]))
        .await
        .unwrap_err();
    let err = assert_invalid(status, "update_mask");
    assert!(
        err.field_violations()[0]
            .description
            .contains("`create_time`"),
        "{err:?}"
    );
    assert_eq!(
        service.get(&ada.id).await.unwrap(),
        moved,
        "nothing changed"
    );

    service.stop().await;
}

/// The helpers bia-build generates from the proto's ErrorReason, on both sides of a real call:
/// the server sends `ErrorReason::X.error(..)`, the client asks `is_x(&status)`.
#[tokio::test]
async fn error_reasons_from_the_proto_round_trip() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;

    let status = service.get("nobody").await.unwrap_err();
    assert_eq!(status.code(), ErrorReason::UserNotFound.code());
    assert!(pb::is_user_not_found(&status));
    assert!(!pb::is_email_already_exists(&status));
    assert_eq!(
        ErrorReason::from_status(&status),
        Some(ErrorReason::UserNotFound)
    );
    let err = bia::Error::from(status);
    assert_eq!(
        err.domain(),
        "user-service",
        "the domain the proto declares"
    );
    assert!(pb::is_user_not_found(&err), "a bia::Error answers too");

    service.create("Ada", "ada@example.com").await.unwrap();
    let status = service.create("Ada", "ada@example.com").await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(pb::is_email_already_exists(&status));
    assert_eq!(
        ErrorReason::from_status(&status),
        Some(ErrorReason::EmailAlreadyExists)
    );

    // A status without an ErrorInfo of this domain has none of these reasons.
    let plain = tonic::Status::not_found("no user");
    assert!(!pb::is_user_not_found(&plain));
    assert_eq!(ErrorReason::from_status(&plain), None);

    service.stop().await;
}

#[tokio::test]
async fn lists_users_page_by_page() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;

    let (users, next) = service.list(0, "").await.unwrap();
    assert!(users.is_empty());
    assert_eq!(next, "");

    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            service
                .create(&format!("User {i}"), &format!("u{i}@example.com"))
                .await
                .unwrap(),
        );
    }

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (users, next) = service.list(2, &token).await.unwrap();
        assert!(users.len() <= 2);
        seen.extend(users);
        pages += 1;
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every user once, oldest first");

    let (all, next) = service.list(0, "").await.unwrap();
    assert_eq!(all, created);
    assert_eq!(next, "");

    for bad in ["garbage", "zz", "6869"] {
        let (code, err) = details(service.list(2, bad).await.unwrap_err());
        assert_eq!(code, Code::InvalidArgument, "{bad:?}");
        assert_eq!(err.reason(), "INVALID_PAGE_TOKEN");
        assert_eq!(err.field_violations()[0].field, "page_token");
    }
    assert_invalid(service.list(-1, "").await.unwrap_err(), "page_size");

    service.stop().await;
}

#[tokio::test]
async fn users_survive_a_restart() {
    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;
    let ada = service.create("Ada", "ada@example.com").await.unwrap();
    service.stop().await;

    let mut service = Service::start(&db).await;
    assert_eq!(service.get(&ada.id).await.unwrap(), ada);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_database_file() {
    let (_dir, db) = temp_db();
    // Both start at once on a new file: one applies the migrations, the other waits for it.
    let (mut first, mut second) = tokio::join!(Service::start(&db), Service::start(&db));

    let ada = first.create("Ada", "ada@example.com").await.unwrap();
    assert!(
        db.with_extension("db-wal").exists(),
        "the database is in WAL mode"
    );
    assert_eq!(second.get(&ada.id).await.unwrap(), ada);
    let (code, _) = details(second.create("Ada", "ada@example.com").await.unwrap_err());
    assert_eq!(code, Code::AlreadyExists);
    second.delete(&ada.id).await.unwrap();
    assert_eq!(first.get(&ada.id).await.unwrap_err().code(), Code::NotFound);

    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn serves_health_reflection_and_metrics() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let (_dir, db) = temp_db();
    let mut service = Service::start(&db).await;
    let channel = service.running.channel().await.unwrap();

    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "user.v1.UserService".into(),
        })
        .await
        .unwrap();
    assert_eq!(health.into_inner().status, ServingStatus::Serving as i32);

    // What `grpcurl localhost:9001 list` asks.
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().expect("an answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"user.v1.UserService"), "{names:?}");

    service.create("Ada", "ada@example.com").await.unwrap();
    service.get("nobody").await.unwrap_err();
    let text = service.running.metrics_text().await;
    for line in [
        "rpc_server_call_duration_seconds_count{rpc_system_name=\"grpc\",rpc_method=\"user.v1.UserService/CreateUser\",rpc_response_status_code=\"OK\"} 1",
        "rpc_server_call_duration_seconds_count{rpc_system_name=\"grpc\",rpc_method=\"user.v1.UserService/GetUser\",rpc_response_status_code=\"NOT_FOUND\"} 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }

    service.stop().await;
}
