//! Request validation from buf.validate rules (tests/integration/proto/validate/v1), over
//! loopback with a real tonic client: every rule family accepted and rejected, the exact
//! BadRequest paths and rule ids, streams rejected at their bad message, and handlers that
//! never see a bad request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bia::validate::{Validate, Violations};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};

#[allow(dead_code, unreachable_pub)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/validate_pb.rs"));
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/validate_descriptor.bin"));
}

use pb::validate::v1::validated_client::ValidatedClient;
use pb::validate::v1::validated_server::{Validated, ValidatedServer};
use pb::validate::v1::{
    Address, CelRequest, CelWindow, ChooseRequest, CreateUserRequest, Item, NumbersRequest, Reply,
    Role, TextsRequest, TimesRequest, User, choose_request,
};

/// Counts the calls that reach a handler and records the streamed items it was given.
#[derive(Clone, Default)]
struct Handler {
    calls: Arc<AtomicUsize>,
    items: Arc<Mutex<Vec<String>>>,
}

impl Handler {
    fn called(&self) -> Result<Response<Reply>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(Reply { text: "ok".into() }))
    }
}

type Replies = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<Reply, Status>> + Send>>;

#[tonic::async_trait]
impl Validated for Handler {
    async fn create_user(&self, _: Request<CreateUserRequest>) -> Result<Response<Reply>, Status> {
        self.called()
    }
    async fn numbers(&self, _: Request<NumbersRequest>) -> Result<Response<Reply>, Status> {
        self.called()
    }
    async fn texts(&self, _: Request<TextsRequest>) -> Result<Response<Reply>, Status> {
        self.called()
    }
    async fn times(&self, _: Request<TimesRequest>) -> Result<Response<Reply>, Status> {
        self.called()
    }
    async fn choose(&self, _: Request<ChooseRequest>) -> Result<Response<Reply>, Status> {
        self.called()
    }
    async fn cel(&self, _: Request<CelRequest>) -> Result<Response<Reply>, Status> {
        self.called()
    }

    type WatchStream = Replies;

    async fn watch(&self, request: Request<Item>) -> Result<Response<Replies>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let item = request.into_inner();
        let replies = (0..item.count).map(move |i| {
            Ok(Reply {
                text: format!("{}{i}", item.name),
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }

    async fn upload(&self, request: Request<Streaming<Item>>) -> Result<Response<Reply>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut stream = request.into_inner();
        // The bad item arrives as the stream's error: `?` answers with it.
        while let Some(item) = stream.message().await? {
            self.items.lock().unwrap().push(item.name);
        }
        let text = self.items.lock().unwrap().join(",");
        Ok(Response::new(Reply { text }))
    }

    type ChatStream = Replies;

    async fn chat(&self, request: Request<Streaming<Item>>) -> Result<Response<Replies>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let items = self.items.clone();
        let replies = request.into_inner().map(move |item| {
            let item = item?;
            items.lock().unwrap().push(item.name.clone());
            Ok(Reply { text: item.name })
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

struct Served {
    running: bia::RunningApp,
    client: ValidatedClient<Channel>,
    handler: Handler,
}

async fn serve() -> Served {
    let handler = Handler::default();
    let config = bia::testing::config("validated");
    let app = bia::App::builder(&config)
        .add_service(ValidatedServer::new(handler.clone()))
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build()
        .unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let client = ValidatedClient::new(running.channel().await.unwrap());
    Served {
        running,
        client,
        handler,
    }
}

/// `(field path, rule id)` of every violation in an INVALID_ARGUMENT answer.
#[track_caller]
fn violations(status: &Status) -> Vec<(String, String)> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    Violations::from_status(status)
        .expect("a google.rpc.BadRequest in the status")
        .into_iter()
        .map(|v| (v.field, v.rule.into_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(f, r)| (f.to_string(), r.to_string()))
        .collect()
}

/// Checks each `(request, expected violations)` through `call`: the valid ones (no
/// violations) reach the handler, every other one is answered with exactly those violations
/// and never reaches it.
async fn check_cases<T, F, Fut>(served: &Served, cases: Vec<(T, Vec<(&str, &str)>)>, mut call: F)
where
    F: FnMut(ValidatedClient<Channel>, T) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Reply>, Status>>,
    T: std::fmt::Debug + Clone,
{
    for (request, expected) in cases {
        let before = served.handler.calls.load(Ordering::SeqCst);
        let result = call(served.client.clone(), request.clone()).await;
        let after = served.handler.calls.load(Ordering::SeqCst);
        if expected.is_empty() {
            assert!(result.is_ok(), "{request:?} was rejected: {result:?}");
            assert_eq!(after, before + 1, "{request:?} did not reach the handler");
        } else {
            let status = result.expect_err(&format!("{request:?} was accepted"));
            assert_eq!(violations(&status), pairs(&expected), "{request:?}");
            assert_eq!(after, before, "the handler ran for {request:?}");
        }
    }
}

fn user() -> User {
    User {
        name: "alice".into(),
        emails: vec!["alice@example.com".into()],
        labels: HashMap::from([("team".into(), "core".into())]),
        role: Role::Admin as i32,
        nickname: None,
        addresses: vec![Address {
            city: "Oslo".into(),
        }],
        by_floor: HashMap::from([(
            3,
            Address {
                city: "Rome".into(),
            },
        )]),
    }
}

/// `valid`, changed by `change`: a case of a table.
fn changed<T>(change: impl FnOnce(&mut T), mut valid: T) -> T {
    change(&mut valid);
    valid
}

fn create(change: impl FnOnce(&mut User)) -> CreateUserRequest {
    let mut user = user();
    change(&mut user);
    CreateUserRequest { user: Some(user) }
}

#[tokio::test]
async fn nested_messages_lists_maps_enums_and_required() {
    let served = serve().await;
    let cases = vec![
        (create(|_| {}), vec![]),
        (create(|u| u.nickname = Some("bob".into())), vec![]),
        (CreateUserRequest { user: None }, vec![("user", "required")]),
        (
            create(|u| u.name = "a".into()),
            vec![("user.name", "string.min_len")],
        ),
        (
            create(|u| u.name = "x".repeat(17)),
            vec![("user.name", "string.max_len")],
        ),
        (
            create(|u| u.emails.clear()),
            vec![("user.emails", "repeated.min_items")],
        ),
        (
            create(|u| {
                u.emails = vec![
                    "a@b.co".into(),
                    "c@d.co".into(),
                    "e@f.co".into(),
                    "g@h.co".into(),
                ]
            }),
            vec![("user.emails", "repeated.max_items")],
        ),
        (
            create(|u| u.emails.push("alice@example.com".into())),
            vec![("user.emails", "repeated.unique")],
        ),
        (
            create(|u| u.emails.push("not-an-email".into())),
            vec![("user.emails[1]", "string.email")],
        ),
        (
            create(|u| u.emails = vec![String::new()]),
            vec![("user.emails[0]", "string.email_empty")],
        ),
        (
            create(|u| u.labels = HashMap::from([("Team".into(), "core".into())])),
            vec![("user.labels[\"Team\"]", "string.pattern")],
        ),
        (
            create(|u| u.labels = HashMap::from([("team".into(), "much-too-long".into())])),
            vec![("user.labels[\"team\"]", "string.max_len")],
        ),
        (
            create(|u| u.labels = (0..3).map(|i| ("k".repeat(i + 1), "v".into())).collect()),
            vec![("user.labels", "map.max_pairs")],
        ),
        (
            create(|u| u.role = Role::Unspecified as i32),
            vec![("user.role", "enum.not_in")],
        ),
        (
            create(|u| u.role = 7),
            vec![("user.role", "enum.defined_only")],
        ),
        (
            create(|u| u.nickname = Some("bo".into())),
            vec![("user.nickname", "string.min_len")],
        ),
        (
            create(|u| {
                u.addresses.push(Address {
                    city: String::new(),
                })
            }),
            vec![("user.addresses[1].city", "string.min_len")],
        ),
        (
            create(|u| {
                u.by_floor = HashMap::from([(
                    -2,
                    Address {
                        city: String::new(),
                    },
                )])
            }),
            vec![("user.by_floor[-2].city", "string.min_len")],
        ),
        // Every violation is reported, in the order of the fields.
        (
            create(|u| {
                u.name = "a".into();
                u.emails = vec!["bad".into()];
                u.role = 0;
            }),
            vec![
                ("user.name", "string.min_len"),
                ("user.emails[0]", "string.email"),
                ("user.role", "enum.not_in"),
            ],
        ),
    ];
    check_cases(
        &served,
        cases,
        |mut c, r| async move { c.create_user(r).await },
    )
    .await;

    // The answer a client sees: INVALID_ARGUMENT, a readable message and the rule's message.
    let status = served
        .client
        .clone()
        .create_user(create(|u| u.name = "a".into()))
        .await
        .unwrap_err();
    assert_eq!(
        status.message(),
        "invalid request: user.name: must be at least 2 characters [string.min_len]"
    );
    let sent = Violations::from_status(&status).unwrap();
    assert_eq!(
        sent.iter().next().unwrap().message,
        "must be at least 2 characters"
    );
    served.running.stop().await.unwrap();
}

fn numbers(change: impl FnOnce(&mut NumbersRequest)) -> NumbersRequest {
    changed(
        change,
        NumbersRequest {
            small: 5,
            outside: -1,
            choice: 2,
            unlucky: 0,
            ratio: 0.5,
            finite: 1.0,
            answer: 42,
            agreed: true,
            maybe: Some(6),
            zero_or_big: 0,
            ignored: 99,
        },
    )
}

#[tokio::test]
async fn numbers_ranges_lists_and_ignore() {
    let cases = vec![
        (numbers(|n| n.outside = 101), vec![]),
        (numbers(|n| n.maybe = None), vec![]),
        (numbers(|n| n.zero_or_big = 11), vec![]),
        (numbers(|n| n.small = 0), vec![("small", "int32.gt_lte")]),
        (numbers(|n| n.small = 11), vec![("small", "int32.gt_lte")]),
        (
            numbers(|n| n.outside = 50),
            vec![("outside", "int64.gt_lt_exclusive")],
        ),
        (
            numbers(|n| n.outside = 0),
            vec![("outside", "int64.gt_lt_exclusive")],
        ),
        (numbers(|n| n.choice = 4), vec![("choice", "uint32.in")]),
        (
            numbers(|n| n.unlucky = 13),
            vec![("unlucky", "sint64.not_in")],
        ),
        (
            numbers(|n| n.ratio = 1.5),
            vec![("ratio", "double.gte_lte")],
        ),
        (
            numbers(|n| n.ratio = f64::NAN),
            vec![("ratio", "double.gte_lte")],
        ),
        (
            numbers(|n| n.finite = f32::INFINITY),
            vec![("finite", "float.finite")],
        ),
        (
            numbers(|n| n.answer = 41),
            vec![("answer", "fixed32.const")],
        ),
        (
            numbers(|n| n.agreed = false),
            vec![("agreed", "bool.const")],
        ),
        (numbers(|n| n.maybe = Some(5)), vec![("maybe", "int32.gt")]),
        (
            numbers(|n| n.zero_or_big = 5),
            vec![("zero_or_big", "uint64.gt")],
        ),
        // and the valid message itself
        (numbers(|_| {}), vec![]),
    ];
    let served = serve().await;
    check_cases(&served, cases, |mut c, r| async move { c.numbers(r).await }).await;
    served.running.stop().await.unwrap();
}

fn texts(change: impl FnOnce(&mut TextsRequest)) -> TextsRequest {
    changed(
        change,
        TextsRequest {
            exact: "abc".into(),
            code: "abcz".into(),
            word: "hello".into(),
            color: "red".into(),
            host: "example.com".into(),
            ip: "10.0.0.1".into(),
            ipv6: "::1".into(),
            uri: "https://example.com/a?b=c#d".into(),
            id: "123e4567-e89b-12d3-a456-426614174000".into(),
            address: "example.com:443".into(),
            tiny: "abcd".into(),
            blob: vec![1, 2],
            packed_ip: vec![127, 0, 0, 1],
            header: "x-request-id".into(),
            network: "10.0.0.0/8".into(),
        },
    )
}

#[tokio::test]
async fn strings_bytes_and_well_known_formats() {
    let cases = vec![
        (texts(|t| t.ip = "2001:db8::1".into()), vec![]),
        (texts(|t| t.address = "[::1]:8080".into()), vec![]),
        (
            texts(|t| t.exact = "abd".into()),
            vec![("exact", "string.const")],
        ),
        (
            texts(|t| t.code = "abz".into()),
            vec![("code", "string.len")],
        ),
        (
            texts(|t| t.code = "bcdz".into()),
            vec![("code", "string.prefix")],
        ),
        (
            texts(|t| t.code = "abcd".into()),
            vec![("code", "string.suffix")],
        ),
        (
            texts(|t| t.word = "world".into()),
            vec![("word", "string.contains")],
        ),
        (
            texts(|t| t.word = "hellox".into()),
            vec![("word", "string.not_contains")],
        ),
        (
            texts(|t| t.color = "blue".into()),
            vec![("color", "string.in")],
        ),
        (
            texts(|t| t.host = "-bad-".into()),
            vec![("host", "string.hostname")],
        ),
        (
            texts(|t| t.host = String::new()),
            vec![("host", "string.hostname_empty")],
        ),
        (
            texts(|t| t.ip = "1.2.3.256".into()),
            vec![("ip", "string.ip")],
        ),
        (
            texts(|t| t.ipv6 = "10.0.0.1".into()),
            vec![("ipv6", "string.ipv6")],
        ),
        (
            texts(|t| t.uri = "not a uri".into()),
            vec![("uri", "string.uri")],
        ),
        (texts(|t| t.id = "123".into()), vec![("id", "string.uuid")]),
        (
            texts(|t| t.address = "example.com".into()),
            vec![("address", "string.host_and_port")],
        ),
        (
            texts(|t| t.tiny = "日本".into()),
            vec![("tiny", "string.max_bytes")],
        ),
        (texts(|t| t.blob = vec![1]), vec![("blob", "bytes.min_len")]),
        (
            texts(|t| t.blob = vec![1, 2, 3, 4, 5]),
            vec![("blob", "bytes.max_len")],
        ),
        (
            texts(|t| t.blob = vec![2, 2]),
            vec![("blob", "bytes.prefix")],
        ),
        (
            texts(|t| t.packed_ip = vec![1, 2, 3]),
            vec![("packed_ip", "bytes.ipv4")],
        ),
        (
            texts(|t| t.packed_ip.clear()),
            vec![("packed_ip", "bytes.ipv4_empty")],
        ),
        (
            texts(|t| t.header = "bad header".into()),
            vec![("header", "string.well_known_regex.header_name")],
        ),
        (
            texts(|t| t.network = "10.0.0.1/8".into()),
            vec![("network", "string.ipv4_prefix")],
        ),
        // and the valid message itself
        (texts(|_| {}), vec![]),
    ];
    let served = serve().await;
    check_cases(&served, cases, |mut c, r| async move { c.texts(r).await }).await;
    served.running.stop().await.unwrap();
}

fn at(offset_secs: i64) -> prost_types::Timestamp {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    prost_types::Timestamp {
        seconds: now + offset_secs,
        nanos: 0,
    }
}

fn secs(seconds: i64, nanos: i32) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos }
}

fn times(change: impl FnOnce(&mut TimesRequest)) -> TimesRequest {
    changed(
        change,
        TimesRequest {
            start: Some(prost_types::Timestamp {
                seconds: 1_577_836_800,
                nanos: 0,
            }),
            deadline: Some(at(3600)),
            seen: Some(at(0)),
            ttl: Some(secs(30, 0)),
            step: Some(secs(5, 0)),
        },
    )
}

#[tokio::test]
async fn timestamps_and_durations() {
    let cases = vec![
        (TimesRequest::default(), vec![]),
        (
            times(|t| {
                t.start = Some(prost_types::Timestamp {
                    seconds: 631_152_000,
                    nanos: 0,
                })
            }),
            vec![("start", "timestamp.gt")],
        ),
        (
            times(|t| t.deadline = Some(at(-3600))),
            vec![("deadline", "timestamp.gt_now")],
        ),
        (
            times(|t| t.seen = Some(at(-7200))),
            vec![("seen", "timestamp.within")],
        ),
        (
            times(|t| t.seen = Some(at(7200))),
            vec![("seen", "timestamp.within")],
        ),
        (
            times(|t| t.ttl = Some(secs(0, 500_000_000))),
            vec![("ttl", "duration.gte_lte")],
        ),
        (
            times(|t| t.ttl = Some(secs(60, 1))),
            vec![("ttl", "duration.gte_lte")],
        ),
        (
            times(|t| t.step = Some(secs(2, 0))),
            vec![("step", "duration.in")],
        ),
        // and the valid message itself
        (times(|_| {}), vec![]),
    ];
    let served = serve().await;
    check_cases(&served, cases, |mut c, r| async move { c.times(r).await }).await;
    served.running.stop().await.unwrap();
}

fn choose(email: &str, phone: &str, target: Option<choose_request::Target>) -> ChooseRequest {
    ChooseRequest {
        email: email.into(),
        phone: phone.into(),
        target,
    }
}

#[tokio::test]
async fn oneof_rules_of_messages_and_oneofs() {
    let served = serve().await;
    let uuid = || {
        Some(choose_request::Target::UserId(
            "123e4567-e89b-12d3-a456-426614174000".into(),
        ))
    };
    let cases = vec![
        (choose("a@b.co", "", uuid()), vec![]),
        (choose("", "+4712345", uuid()), vec![]),
        (
            choose(
                "",
                "12345",
                Some(choose_request::Target::Address(Address {
                    city: "Oslo".into(),
                })),
            ),
            vec![],
        ),
        (
            choose("a@b.co", "12345", uuid()),
            vec![("", "message.oneof")],
        ),
        (choose("", "", uuid()), vec![("", "message.oneof")]),
        (choose("bad", "", uuid()), vec![("email", "string.email")]),
        (choose("a@b.co", "", None), vec![("target", "required")]),
        (
            choose(
                "a@b.co",
                "",
                Some(choose_request::Target::UserId("x".into())),
            ),
            vec![("user_id", "string.uuid")],
        ),
        (
            choose(
                "a@b.co",
                "",
                Some(choose_request::Target::Address(Address::default())),
            ),
            vec![("address.city", "string.min_len")],
        ),
    ];
    check_cases(&served, cases, |mut c, r| async move { c.choose(r).await }).await;
    let status = served
        .client
        .clone()
        .choose(choose("", "", uuid()))
        .await
        .unwrap_err();
    let sent = Violations::from_status(&status).unwrap();
    assert_eq!(
        sent.iter().next().unwrap().message,
        "one of email, phone must be set"
    );
    served.running.stop().await.unwrap();
}

fn item(name: &str, count: i32) -> Item {
    Item {
        name: name.into(),
        count,
    }
}

#[tokio::test]
async fn a_bad_server_streaming_request_never_reaches_the_handler() {
    let mut served = serve().await;
    let replies: Vec<String> = served
        .client
        .watch(item("n", 2))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().text)
        .collect()
        .await;
    assert_eq!(replies, ["n0", "n1"]);
    let status = served.client.watch(item("", 2)).await.unwrap_err();
    assert_eq!(violations(&status), pairs(&[("name", "string.min_len")]));
    assert_eq!(served.handler.calls.load(Ordering::SeqCst), 1);
    served.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_stream_is_rejected_at_its_bad_message() {
    let mut served = serve().await;
    let items = vec![item("a", 0), item("b", 5), item("c", 6), item("d", 1)];
    let status = served
        .client
        .upload(tokio_stream::iter(items))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), pairs(&[("count", "int32.gte_lte")]));
    // The items before the bad one were handled; the bad one and those after were not.
    assert_eq!(*served.handler.items.lock().unwrap(), ["a", "b"]);

    served.handler.items.lock().unwrap().clear();
    let reply = served
        .client
        .upload(tokio_stream::iter(vec![item("x", 1), item("y", 2)]))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().text, "x,y");
    served.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_bidi_stream_answers_until_its_bad_message() {
    let mut served = serve().await;
    let (send, receive) = tokio::sync::mpsc::channel(4);
    let mut replies = served
        .client
        .chat(tokio_stream::wrappers::ReceiverStream::new(receive))
        .await
        .unwrap()
        .into_inner();
    send.send(item("first", 1)).await.unwrap();
    assert_eq!(replies.message().await.unwrap().unwrap().text, "first");
    send.send(item("", 1)).await.unwrap();
    let status = replies
        .message()
        .await
        .expect_err("the bad message ends the call");
    assert_eq!(violations(&status), pairs(&[("name", "string.min_len")]));
    assert_eq!(*served.handler.items.lock().unwrap(), ["first"]);
    served.running.stop().await.unwrap();
}

/// What a check costs, in-process: `cargo test -p bia-integration-tests --test validation --
/// --ignored --nocapture cost`. Printed, never asserted (timings vary by machine).
#[test]
#[ignore]
fn cost_of_validation_per_message() {
    fn measure(name: &str, message: &impl Validate) {
        let rounds = 200_000u32;
        for _ in 0..1000 {
            std::hint::black_box(message.check().is_ok());
        }
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(std::hint::black_box(message).check().is_ok());
        }
        let ns = start.elapsed().as_nanos() / u128::from(rounds);
        println!("{name}: {ns} ns per check");
    }
    measure(
        "CreateUserRequest (valid, 12 rules, nested)",
        &create(|_| {}),
    );
    measure(
        "TextsRequest (valid, 15 string/bytes fields)",
        &texts(|_| {}),
    );
    measure("NumbersRequest (valid)", &numbers(|_| {}));
    measure("Item (valid, 2 rules and 1 CEL rule)", &item("a", 1));
    measure(
        "CelRequest (valid, 14 CEL rules, 2 of them on the message)",
        &cel_request(|_| {}),
    );
    // cel 0.15 compiles a `matches` pattern on every call: the same message with no item for
    // the `matches` rule to run on shows what that costs.
    measure(
        "CelRequest (valid, as above without the item rule's `matches`)",
        &cel_request(|r| r.stops.clear()),
    );
    let bad = create(|u| u.name = "a".into());
    measure("CreateUserRequest (one violation)", &bad);
}

#[test]
fn proto2_required_optional_and_group_fields() {
    use pb::validate::v1::Legacy;
    use pb::validate::v1::legacy::{Entry, Kind, KindOneOf};
    let found = |m: &Legacy| -> Vec<(String, String)> {
        match m.check() {
            Ok(()) => Vec::new(),
            Err(v) => v
                .into_iter()
                .map(|v| (v.field, v.rule.into_owned()))
                .collect(),
        }
    };
    let valid = Legacy {
        id: 1,
        name: None,
        tag: Some("t".into()),
        entry: vec![Entry {
            key: Some("k".into()),
        }],
        kind: Some(KindOneOf::Sides(3)),
    };
    assert_eq!(found(&valid), pairs(&[]));
    assert_eq!(
        found(&Legacy::default()),
        pairs(&[("id", "int32.gt"), ("tag", "required")])
    );
    let bad = Legacy {
        name: Some("a".into()),
        entry: vec![
            Entry { key: None },
            Entry {
                key: Some(String::new()),
            },
        ],
        ..valid.clone()
    };
    assert_eq!(
        found(&bad),
        pairs(&[
            ("name", "string.min_len"),
            ("entry[1].key", "string.min_len")
        ])
    );
    let sides = Legacy {
        kind: Some(KindOneOf::Sides(2)),
        ..valid.clone()
    };
    assert_eq!(found(&sides), pairs(&[("sides", "int32.gte")]));
    let named = Legacy {
        kind: Some(KindOneOf::Named(Kind {
            label: Some(String::new()),
        })),
        ..valid
    };
    assert_eq!(found(&named), pairs(&[("named.label", "string.min_len")]));
}

/// A REST call through the gateway, over HTTP/1.1: its status and its body as JSON.
async fn rest(
    running: &bia::RunningApp,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", running.grpc_addr()))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

/// `(field, reason)` of the BadRequest detail of a google.rpc.Status JSON body. An empty
/// `field` (a message-level rule) is left out, as the proto3 JSON mapping leaves out defaults.
#[track_caller]
fn json_violations(body: &serde_json::Value) -> Vec<(String, String)> {
    assert_eq!(body["code"], 3, "INVALID_ARGUMENT: {body}");
    let details = body["details"].as_array().expect("details");
    let bad_request = details
        .iter()
        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .unwrap_or_else(|| panic!("no BadRequest in {body}"));
    bad_request["fieldViolations"]
        .as_array()
        .expect("fieldViolations")
        .iter()
        .map(|v| {
            (
                v["field"].as_str().unwrap_or_default().to_owned(),
                v["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_answers_400_with_the_same_violations_as_grpc() {
    let served = serve().await;
    let bad = create(|u| {
        u.name = "a".into();
        u.emails = vec!["not an email".into()];
    });
    let grpc = served
        .client
        .clone()
        .create_user(bad)
        .await
        .expect_err("refused over gRPC");
    let expected = violations(&grpc);
    assert_eq!(expected.len(), 2, "{expected:?}");

    let before = served.handler.calls.load(Ordering::SeqCst);
    let (status, body) = rest(
        &served.running,
        "POST",
        "/v1/users",
        Some(serde_json::json!({
            "user": {
                "name": "a",
                "emails": ["not an email"],
                "labels": {"team": "core"},
                "role": "ROLE_ADMIN",
                "addresses": [{"city": "Oslo"}],
                "byFloor": {"3": {"city": "Rome"}}
            }
        })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(json_violations(&body), expected, "{body}");
    assert_eq!(
        served.handler.calls.load(Ordering::SeqCst),
        before,
        "the handler ran for a bad REST request"
    );

    // A valid request through the same route reaches the handler.
    let (status, body) = rest(
        &served.running,
        "POST",
        "/v1/users",
        Some(serde_json::json!({
            "user": {
                "name": "alice",
                "emails": ["alice@example.com"],
                "role": "ROLE_ADMIN"
            }
        })),
    )
    .await;
    assert_eq!(
        (status, &body["text"]),
        (200, &serde_json::json!("ok")),
        "{body}"
    );

    // A server stream over REST is refused before its first message, with the HTTP status of
    // INVALID_ARGUMENT, not a 200 whose stream ends in an error.
    let (status, body) = rest(&served.running, "GET", "/v1/items/ok:watch?count=9", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        json_violations(&body),
        pairs(&[("count", "int32.gte_lte")]),
        "{body}"
    );
}

fn cel_request(change: impl FnOnce(&mut CelRequest)) -> CelRequest {
    let mut r = CelRequest {
        min: 1,
        max: 2,
        email: "a@example.com".into(),
        host: "example.com".into(),
        ip: "10.0.0.1".into(),
        network: "10.0.0.0/8".into(),
        link: "https://example.com/x".into(),
        path: "/x?y=1".into(),
        tags: vec!["a".into(), "b".into()],
        ratio: 0.5,
        quotas: HashMap::from([("cpu".to_owned(), 2)]),
        window: Some(CelWindow {
            start: Some(at(-60)),
            end: Some(at(0)),
        }),
        stops: vec![Address {
            city: "Oslo".into(),
        }],
        at: Some(at(-10)),
        broken: 0,
    };
    change(&mut r);
    r
}

#[tokio::test]
async fn cel_rules_of_fields_and_messages_with_protovalidate_functions() {
    let mut served = serve().await;
    let cases: Vec<(CelRequest, Vec<(&str, &str)>)> = vec![
        (cel_request(|_| {}), vec![]),
        // The message rule: `this` is the message, the path is empty.
        (
            cel_request(|r| (r.min, r.max) = (5, 1)),
            vec![("", "cel.range")],
        ),
        // The shorthand is its own id.
        (
            cel_request(|r| r.window.as_mut().unwrap().end = Some(at(-120))),
            vec![(
                "",
                "!has(this.window) || this.window.end > this.window.start",
            )],
        ),
        (cel_request(|r| r.window = None), vec![]),
        // Each function, rejected (its accepting case is the valid request above).
        (
            cel_request(|r| r.email = "not an email".into()),
            vec![("email", "cel.email")],
        ),
        (
            cel_request(|r| r.host = "-bad-.com".into()),
            vec![("host", "cel.hostname")],
        ),
        (
            cel_request(|r| r.ip = "::1".into()),
            vec![("ip", "cel.ipv4")],
        ),
        (
            cel_request(|r| r.network = "10.0.0.1".into()),
            vec![("network", "cel.ip_prefix")],
        ),
        (
            cel_request(|r| r.link = "/relative".into()),
            vec![("link", "cel.uri")],
        ),
        (
            cel_request(|r| r.path = "::no".into()),
            vec![("path", "cel.uri_ref")],
        ),
        (
            cel_request(|r| r.tags = vec!["a".into(), "a".into()]),
            vec![("tags", "cel.unique")],
        ),
        (
            cel_request(|r| r.ratio = f64::NAN),
            vec![("ratio", "cel.finite")],
        ),
        (
            cel_request(|r| r.ratio = f64::NEG_INFINITY),
            vec![("ratio", "cel.finite")],
        ),
        // A map as `this`; a rule on each item of a list, each item a message.
        (
            cel_request(|r| {
                r.quotas.insert("disk".into(), 0);
            }),
            vec![("quotas", "cel.quotas")],
        ),
        (
            cel_request(|r| {
                r.stops.push(Address {
                    city: "rome".into(),
                })
            }),
            vec![("stops[1]", "cel.stop")],
        ),
        // A Timestamp as a CEL timestamp, against `now`.
        (
            cel_request(|r| r.at = Some(at(3600))),
            vec![("at", "cel.past")],
        ),
        // Several at once, in the order protovalidate checks them: message rules first.
        (
            cel_request(|r| {
                r.min = 9;
                r.email = "x".into();
            }),
            vec![("", "cel.range"), ("email", "cel.email")],
        ),
    ];
    check_cases(&served, cases, |mut client, request| async move {
        client.cel(request).await
    })
    .await;

    // The messages: the rule's own, or the string the expression answered.
    let status = served
        .client
        .cel(cel_request(|r| {
            r.min = 3;
            r.max = 2;
            r.host = "-x".into();
        }))
        .await
        .unwrap_err();
    let found: Vec<(String, String, String)> = Violations::from_status(&status)
        .unwrap()
        .into_iter()
        .map(|v| (v.field, v.rule.into_owned(), v.message.into_owned()))
        .collect();
    assert_eq!(
        found,
        [
            (
                String::new(),
                "cel.range".to_owned(),
                "min must not exceed max".to_owned()
            ),
            (
                "host".to_owned(),
                "cel.hostname".to_owned(),
                "not a hostname: -x".to_owned()
            ),
        ]
    );

    // An expression that fails at run time refuses the request and says so.
    let status = served
        .client
        .cel(cel_request(|r| r.broken = 7))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let broken = Violations::from_status(&status).unwrap();
    let v = broken.iter().next().unwrap();
    assert_eq!((v.field.as_str(), &*v.rule), ("broken", "cel.broken"));
    assert!(
        v.message
            .starts_with("the rule's CEL expression could not be evaluated: "),
        "{v:?}"
    );
    served.running.stop().await.unwrap();
}

#[tokio::test]
async fn a_cel_rule_rejects_a_streamed_message() {
    let mut served = serve().await;
    let items = vec![item("a", 1), item("b c", 1), item("d", 1)];
    let status = served
        .client
        .upload(tokio_stream::iter(items))
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        pairs(&[("name", "item.name.no_spaces")])
    );
    assert_eq!(
        Violations::from_status(&status)
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .message,
        "must not contain spaces"
    );
    assert_eq!(*served.handler.items.lock().unwrap(), ["a"]);
    served.running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_answers_400_with_the_cel_violations_of_grpc() {
    let served = serve().await;
    let bad = cel_request(|r| {
        r.min = 4;
        r.tags = vec!["x".into(), "x".into()];
    });
    let expected = violations(
        &served
            .client
            .clone()
            .cel(bad)
            .await
            .expect_err("refused over gRPC"),
    );
    assert_eq!(
        expected,
        pairs(&[("", "cel.range"), ("tags", "cel.unique")])
    );
    let mut body = serde_json::json!({
        "min": 4,
        "max": 2,
        "email": "a@example.com",
        "host": "example.com",
        "ip": "10.0.0.1",
        "network": "10.0.0.0/8",
        "link": "https://example.com/x",
        "path": "/x",
        "tags": ["x", "x"],
        "ratio": 0.5,
        "stops": [{"city": "Oslo"}]
    });
    let before = served.handler.calls.load(Ordering::SeqCst);
    let (status, answer) = rest(&served.running, "POST", "/v1/cel", Some(body.clone())).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(json_violations(&answer), expected, "{answer}");
    assert_eq!(served.handler.calls.load(Ordering::SeqCst), before);

    body["min"] = 1.into();
    body["tags"] = serde_json::json!(["x", "y"]);
    let (status, answer) = rest(&served.running, "POST", "/v1/cel", Some(body)).await;
    assert_eq!(
        (status, &answer["text"]),
        (200, &serde_json::json!("ok")),
        "{answer}"
    );
}
