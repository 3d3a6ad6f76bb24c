//! Starts user-service and recommendation-service in-process on 127.0.0.1:0 and calls every RPC
//! of recommendation-service: answers, errors, and streams the client cancels.

mod support;

use std::collections::HashSet;

use recommendation_service::pb::recommendation::v1 as recommendation;
use recommendation_service::pb::recommendation::v1::recommendation_service_client::RecommendationServiceClient;
use recommendation_service::pb::recommendation::v1::{
    Event, EventKind, Recommendation, StreamRecommendationsRequest,
};
use recommendation_service::pb::user::v1 as user;
use support::{Proxy, Services, event, wait_for_metrics};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const STREAM: &str = "recommendation.v1.RecommendationService/StreamRecommendations";
const LIVE: &str = "recommendation.v1.RecommendationService/LiveRecommendations";

async fn stream(
    services: &Services,
    user_id: &str,
    limit: u32,
) -> Result<Vec<Recommendation>, tonic::Status> {
    let request = StreamRecommendationsRequest {
        user_id: user_id.into(),
        limit,
    };
    let mut stream = services
        .client()
        .await
        .stream_recommendations(request)
        .await?
        .into_inner();
    let mut all = Vec::new();
    while let Some(recommendation) = stream.message().await? {
        all.push(recommendation);
    }
    Ok(all)
}

async fn record(services: &Services, events: Vec<Event>) -> Result<u32, tonic::Status> {
    let mut client = services.client().await;
    let response = client.record_events(tokio_stream::iter(events)).await?;
    Ok(response.into_inner().accepted)
}

fn category(item_id: &str) -> String {
    let catalogue = recommendation_service::data::catalogue();
    catalogue
        .get(item_id)
        .expect("a catalogue item")
        .category
        .clone()
}

fn details(status: tonic::Status) -> (Code, bia::Error) {
    (status.code(), bia::Error::from(status))
}

#[tokio::test]
async fn streams_exactly_limit_recommendations_best_first() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;

    for (limit, expected) in [(1, 1), (5, 5), (0, 10), (100, 100)] {
        let recommendations = stream(&services, &ada, limit).await.unwrap();
        assert_eq!(recommendations.len(), expected, "limit {limit}");
        let ids: HashSet<_> = recommendations.iter().map(|r| &r.item_id).collect();
        assert_eq!(ids.len(), expected, "no item twice");
        assert!(
            recommendations.windows(2).all(|w| w[0].score >= w[1].score),
            "best first: {recommendations:?}"
        );
        assert!(recommendations.iter().all(|r| !r.title.is_empty()));
    }

    // Deterministic: the same state gives the same answer.
    assert_eq!(
        stream(&services, &ada, 20).await.unwrap(),
        stream(&services, &ada, 20).await.unwrap()
    );

    services.stop().await;
}

#[tokio::test]
async fn stream_recommendations_rejects_bad_requests_and_unknown_users() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;

    let (code, err) = details(stream(&services, &ada, 101).await.unwrap_err());
    assert_eq!(code, Code::InvalidArgument);
    assert_eq!(err.field_violations()[0].field, "limit");
    let (code, err) = details(stream(&services, "", 5).await.unwrap_err());
    assert_eq!(code, Code::InvalidArgument);
    assert_eq!(err.field_violations()[0].field, "user_id");

    for unknown in ["nobody", "0190f1c2-7d2e-7000-8000-000000000001"] {
        let status = stream(&services, unknown, 5).await.unwrap_err();
        // This service's USER_NOT_FOUND (recommendation.v1's ErrorReason), not user-service's:
        // the generated checks tell the two domains apart.
        assert!(recommendation::is_user_not_found(&status), "{status:?}");
        assert!(!user::is_user_not_found(&status), "{status:?}");
        let (code, err) = details(status);
        assert_eq!(code, Code::NotFound, "{unknown}");
        assert_eq!(err.reason(), "USER_NOT_FOUND");
        assert_eq!(err.domain(), "recommendation-service");
        assert_eq!(
            err.metadata().get("user_id").map(String::as_str),
            Some(unknown)
        );
    }

    services.stop().await;
}

#[tokio::test]
async fn recorded_events_shape_recommendations_and_purchases_are_never_recommended() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;
    let grace = services.create_user("Grace").await;

    // Ada likes garden items (item-121.. are garden) and buys some.
    let mut events = vec![
        event(&ada, "item-121", EventKind::Like),
        event(&ada, "item-125", EventKind::View),
        event(&grace, "item-001", EventKind::View),
    ];
    let purchased: Vec<String> = (121..=135).map(|i| format!("item-{i:03}")).collect();
    events.extend(
        purchased
            .iter()
            .map(|id| event(&ada, id, EventKind::Purchase)),
    );
    let sent = events.len() as u32;
    assert_eq!(record(&services, events).await.unwrap(), sent);
    assert_eq!(record(&services, Vec::new()).await.unwrap(), 0);

    let top = stream(&services, &ada, 5).await.unwrap();
    for recommendation in &top {
        assert_eq!(category(&recommendation.item_id), "garden", "{top:?}");
    }
    let all = stream(&services, &ada, 100).await.unwrap();
    assert_eq!(all.len(), 100);
    for recommendation in &all {
        assert!(
            !purchased.contains(&recommendation.item_id),
            "{} was bought",
            recommendation.item_id
        );
    }
    // Another user's purchases do not hide items from Grace.
    let grace_all = stream(&services, &grace, 100).await.unwrap();
    assert!(grace_all.iter().any(|r| purchased.contains(&r.item_id)));

    services.stop().await;
}

#[tokio::test]
async fn invalid_events_are_invalid_argument_and_unknown_users_not_found() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;
    let good = event(&ada, "item-001", EventKind::View);

    let cases = [
        (event(&ada, "item-001", EventKind::Unspecified), "kind"),
        (
            Event {
                kind: 42,
                ..good.clone()
            },
            "kind",
        ),
        (event(&ada, "item-999", EventKind::Like), "item_id"),
        (event(&ada, "", EventKind::Like), "item_id"),
        (event("", "item-001", EventKind::Like), "user_id"),
    ];
    for (bad, field) in cases {
        let status = record(&services, vec![good.clone(), bad.clone(), good.clone()])
            .await
            .unwrap_err();
        let (code, err) = details(status);
        assert_eq!(code, Code::InvalidArgument, "{bad:?}");
        assert_eq!(err.field_violations()[0].field, field, "{bad:?}");
        assert_eq!(
            err.metadata().get("accepted").map(String::as_str),
            Some("1"),
            "the event before the bad one was recorded"
        );
    }

    let (code, err) = details(
        record(
            &services,
            vec![event("nobody", "item-001", EventKind::Like)],
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, Code::NotFound);
    assert_eq!(err.reason(), "USER_NOT_FOUND");

    services.stop().await;
}

#[tokio::test]
async fn live_recommendations_answer_each_event() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;
    let (events, inbound) = tokio::sync::mpsc::channel(4);
    let mut live = services
        .client()
        .await
        .live_recommendations(ReceiverStream::new(inbound))
        .await
        .unwrap()
        .into_inner();

    let mut batch = async |event: Event| {
        events.send(event).await.unwrap();
        let mut batch = Vec::new();
        for _ in 0..5 {
            batch.push(live.message().await.unwrap().expect("a recommendation"));
        }
        batch
    };
    // Interest in tech (item-141..) brings tech to the top.
    let first = batch(event(&ada, "item-150", EventKind::Like)).await;
    for r in &first {
        assert_eq!(category(&r.item_id), "tech", "{first:?}");
    }
    // Buying the best one removes it from the next answer.
    let bought = first[0].item_id.clone();
    let second = batch(event(&ada, &bought, EventKind::Purchase)).await;
    assert!(second.iter().all(|r| r.item_id != bought), "{second:?}");
    assert_eq!(second[0].item_id, first[1].item_id);

    // Closing the client's side ends the call with OK.
    drop(events);
    assert!(live.message().await.unwrap().is_none());

    // An invalid event ends the call with its error.
    let mut live = services
        .client()
        .await
        .live_recommendations(tokio_stream::iter(vec![
            event(&ada, "item-001", EventKind::View),
            event(&ada, "item-001", EventKind::Unspecified),
            event(&ada, "item-002", EventKind::View),
        ]))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..5 {
        live.message()
            .await
            .unwrap()
            .expect("the first event's answer");
    }
    let status = live.message().await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(live.next().await.is_none(), "nothing after the error");

    // Unknown users are NOT_FOUND here too.
    let mut live = services
        .client()
        .await
        .live_recommendations(tokio_stream::iter(vec![event(
            "nobody",
            "item-001",
            EventKind::View,
        )]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(live.message().await.unwrap_err().code(), Code::NotFound);

    services.stop().await;
}

#[tokio::test]
async fn streams_the_client_cancels_end_on_the_server() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;

    // A live stream whose client reads one answer, then goes away with its side still open.
    let proxy = Proxy::start(services.recommendations.grpc_addr()).await;
    let channel = proxy.endpoint().connect().await.unwrap();
    let (events, inbound) = tokio::sync::mpsc::channel(4);
    let mut live = RecommendationServiceClient::new(channel)
        .live_recommendations(ReceiverStream::new(inbound))
        .await
        .unwrap()
        .into_inner();
    events
        .send(event(&ada, "item-001", EventKind::View))
        .await
        .unwrap();
    live.message().await.unwrap().expect("a recommendation");
    proxy.cut();
    // The server drops the call's stream at once: counted CANCELLED, no call left active.
    wait_for_metrics(
        &services.recommendations,
        &[
            &format!("rpc_server_active_calls{{rpc_method=\"{LIVE}\"}} 0"),
            &format!("rpc_method=\"{LIVE}\",rpc_response_status_code=\"CANCELLED\"}} 1"),
        ],
    )
    .await;

    // A server stream the client stops reading after one of 100 items.
    let mut recommendations = services
        .client()
        .await
        .stream_recommendations(StreamRecommendationsRequest {
            user_id: ada.clone(),
            limit: 100,
        })
        .await
        .unwrap()
        .into_inner();
    recommendations.message().await.unwrap().expect("one");
    drop(recommendations);
    wait_for_metrics(
        &services.recommendations,
        &[&format!(
            "rpc_server_active_calls{{rpc_method=\"{STREAM}\"}} 0"
        )],
    )
    .await;

    // The service goes on serving.
    assert_eq!(stream(&services, &ada, 3).await.unwrap().len(), 3);
    services.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_stops_the_live_stream() {
    let services = Services::start(None).await;
    let ada = services.create_user("Ada").await;
    // A small receive window: the client's buffer fills after a few dozen answers. (Through a
    // proxy, to cut the call at the end: a tonic client cannot cancel a request stream that
    // still has messages to send.)
    let proxy = Proxy::start(services.recommendations.grpc_addr()).await;
    let channel = proxy
        .endpoint()
        .initial_stream_window_size(16 * 1024)
        .connect()
        .await
        .unwrap();
    const SENT: usize = 20_000;
    let events = tokio_stream::iter(
        (0..SENT).map(move |i| event(&ada, &format!("item-{:03}", i % 160 + 1), EventKind::View)),
    );
    let live = RecommendationServiceClient::new(channel)
        .live_recommendations(events)
        .await
        .unwrap()
        .into_inner();

    // Nobody reads `live`: once its answers fill the window, the server stops taking events.
    let received = |text: &str| -> usize {
        let prefix = format!("rpc_server_stream_messages_received_total{{rpc_method=\"{LIVE}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |n| n.parse().unwrap())
    };
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = received(&services.recommendations.metrics_text().await);
        if now == last {
            break;
        }
        last = now;
    }
    assert!(
        last > 0 && last < SENT / 10,
        "the server took {last} of {SENT} events"
    );
    drop(live);
    proxy.cut();
    services.stop().await;
}

#[tokio::test]
async fn an_unreachable_user_service_is_unavailable() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let running = support::start_recommendations(&format!("http://127.0.0.1:{port}"), None).await;
    let mut client = RecommendationServiceClient::new(running.channel().await.unwrap());
    let status = client
        .stream_recommendations(StreamRecommendationsRequest {
            user_id: "ada".into(),
            limit: 1,
        })
        .await
        .unwrap_err();
    let (code, err) = details(status);
    assert_eq!(code, Code::Unavailable);
    assert_eq!(err.reason(), "USER_SERVICE_UNAVAILABLE");
    running.stop().await.unwrap();
}
