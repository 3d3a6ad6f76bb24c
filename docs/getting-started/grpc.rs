//! Starts catalog in-process on 127.0.0.1:0 with `bia::testing` and calls it over gRPC.

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn reports_serving() {
    let config = bia::testing::config(env!("CARGO_PKG_NAME"));
    let app = catalog::app(&config).expect("the app builds");
    let running = bia::testing::start(app).await.expect("the app starts");

    let mut health = HealthClient::new(running.channel().await.expect("a channel"));
    let response = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the health service answers");
    assert_eq!(response.into_inner().status, ServingStatus::Serving as i32);

    running.stop().await.expect("the app stops");
}

// ANCHOR: test
#[tokio::test]
async fn creates_and_finds_an_item() {
    let config = bia::testing::config(env!("CARGO_PKG_NAME"));
    let app = catalog::app(&config).expect("the app builds");
    let running = bia::testing::start(app).await.expect("the app starts");
    let channel = running.channel().await.expect("a channel");
    let mut client = catalog::pb::catalog::v1::item_service_client::ItemServiceClient::new(channel);

    let item = catalog::pb::catalog::v1::Item {
        name: "Tea".into(),
        ..Default::default()
    };
    let request = catalog::pb::catalog::v1::CreateItemRequest { item: Some(item) };
    let created = client
        .create_item(request)
        .await
        .expect("created")
        .into_inner();
    let request = catalog::pb::catalog::v1::GetItemRequest {
        id: created.id.clone(),
    };
    let found = client.get_item(request).await.expect("found").into_inner();
    assert_eq!(found, created);

    // ANCHOR: not_found
    let request = catalog::pb::catalog::v1::GetItemRequest {
        id: "item-42".into(),
    };
    let status = client.get_item(request).await.expect_err("no item-42");
    // The reason and the domain both come from the proto's ItemErrorReason, so a NOT_FOUND
    // from a proxy or from another service is not taken for "no such item".
    assert!(catalog::pb::catalog::v1::is_item_not_found(&status));
    let reason = catalog::pb::catalog::v1::ItemErrorReason::from_status(&status);
    assert_eq!(
        reason,
        Some(catalog::pb::catalog::v1::ItemErrorReason::ItemNotFound)
    );
    // ANCHOR_END: not_found

    let item = catalog::pb::catalog::v1::Item {
        name: " ".into(),
        ..Default::default()
    };
    let request = catalog::pb::catalog::v1::CreateItemRequest { item: Some(item) };
    let status = client
        .create_item(request)
        .await
        .expect_err("a blank name is refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(bia::Error::from(status).reason(), "NAME_REQUIRED");

    running.stop().await.expect("the app stops");
}
// ANCHOR_END: test

/// A request that breaks the buf.validate rules of its proto is refused before the handler
/// runs: INVALID_ARGUMENT, with the broken rules in a google.rpc.BadRequest.
#[tokio::test]
async fn a_request_that_breaks_its_proto_rules_is_refused() {
    let config = bia::testing::config(env!("CARGO_PKG_NAME"));
    let app = catalog::app(&config).expect("the app builds");
    let running = bia::testing::start(app).await.expect("the app starts");
    let channel = running.channel().await.expect("a channel");
    let mut client = catalog::pb::catalog::v1::item_service_client::ItemServiceClient::new(channel);

    // Empty, it breaks a rule of its proto (a required field, a minimum length).
    let request = <catalog::pb::catalog::v1::CreateItemRequest>::default();
    let status = match client.create_item(request).await {
        Ok(_) => panic!("the request was not refused"),
        Err(status) => status,
    };
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let err = bia::Error::from(status);
    assert!(!err.field_violations().is_empty(), "{err:?}");

    running.stop().await.expect("the app stops");
}
