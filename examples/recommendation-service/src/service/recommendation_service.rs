//! Handlers of `recommendation.v1.RecommendationService`
//! (proto/recommendation/v1/recommendation.proto).
//!
//! No handler spawns a task: every response stream is computed as the transport pulls it, so a
//! slow client slows the stream down (backpressure), and a client that cancels drops the stream
//! and everything it holds at once.

use std::collections::VecDeque;
use std::pin::Pin;

use opentelemetry::trace::FutureExt as _;
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::biz::{self, LIVE_BATCH, Recommender, Session, UseCases, UserDirectory};
use crate::data::UserClient;
use crate::pb::recommendation::v1 as pb;

/// The stream a server-streaming handler answers with.
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Implements `recommendation.v1.RecommendationService` over the recommender in [`crate::biz`].
#[derive(Debug, Clone)]
pub struct RecommendationService<U> {
    recommender: Recommender<U>,
}

impl RecommendationService<UserClient> {
    /// Handlers over the recommender of `use_cases`.
    pub fn new(use_cases: &UseCases) -> Self {
        Self {
            recommender: use_cases.recommender.clone(),
        }
    }
}

fn to_pb(recommendation: biz::Recommendation) -> pb::Recommendation {
    pb::Recommendation {
        item_id: recommendation.item_id,
        title: recommendation.title,
        score: recommendation.score,
    }
}

fn from_pb(event: pb::Event) -> biz::Event {
    let kind = match pb::EventKind::try_from(event.kind) {
        Ok(pb::EventKind::View) => Some(biz::EventKind::View),
        Ok(pb::EventKind::Like) => Some(biz::EventKind::Like),
        Ok(pb::EventKind::Purchase) => Some(biz::EventKind::Purchase),
        Ok(pb::EventKind::Unspecified) | Err(_) => None,
    };
    biz::Event {
        user_id: event.user_id,
        item_id: event.item_id,
        kind,
    }
}

#[tonic::async_trait]
impl<U: UserDirectory> pb::recommendation_service_server::RecommendationService
    for RecommendationService<U>
{
    type StreamRecommendationsStream = BoxStream<pb::Recommendation>;

    async fn stream_recommendations(
        &self,
        request: Request<pb::StreamRecommendationsRequest>,
    ) -> Result<Response<Self::StreamRecommendationsStream>, Status> {
        let request = request.into_inner();
        // Checks the user with the user service first: an error is the call's only answer.
        let recommendations = self
            .recommender
            .recommend(&request.user_id, request.limit)
            .await?;
        let stream = tokio_stream::iter(recommendations.into_iter().map(|r| Ok(to_pb(r))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn record_events(
        &self,
        request: Request<Streaming<pb::Event>>,
    ) -> Result<Response<pb::RecordEventsResponse>, Status> {
        let mut events = request.into_inner();
        let mut session = self.recommender.session();
        let mut accepted = 0;
        loop {
            let event = match events.message().await {
                Ok(Some(event)) => event,
                Ok(None) => break,
                Err(status) if status.code() == Code::InvalidArgument => {
                    return Err(refused_event(status, accepted));
                }
                Err(status) => return Err(status),
            };
            if let Err(e) = session.record(from_pb(event)).await {
                // The events before this one stay recorded; say how many.
                let err = bia::Error::from(e).with_metadata("accepted", accepted.to_string());
                return Err(err.into());
            }
            accepted += 1;
        }
        Ok(Response::new(pb::RecordEventsResponse { accepted }))
    }

    type LiveRecommendationsStream = BoxStream<pb::Recommendation>;

    async fn live_recommendations(
        &self,
        request: Request<Streaming<pb::Event>>,
    ) -> Result<Response<Self::LiveRecommendationsStream>, Status> {
        let live = Live {
            events: request.into_inner(),
            session: self.recommender.session(),
            pending: VecDeque::new(),
            done: false,
        };
        let stream = futures_util::stream::unfold(live, Live::next);
        // The stream is polled after this handler returns, outside the call's trace context:
        // carry the context along so the user service calls it makes join this call's trace.
        Ok(Response::new(Box::pin(stream.with_current_context())))
    }
}

/// An event refused as it was decoded (it breaks the buf.validate rules of its proto), answered
/// as the recommender answers the events it refuses: INVALID_RECOMMENDATION_REQUEST with the
/// violations, and how many events before it were recorded.
fn refused_event(status: Status, accepted: u32) -> Status {
    let message = status.message().to_owned();
    let violations = bia::Error::from(status).field_violations().to_vec();
    pb::ErrorReason::InvalidRecommendationRequest
        .error(message)
        .with_field_violations(violations)
        .with_metadata("accepted", accepted.to_string())
        .into()
}

/// The state of one `LiveRecommendations` call.
struct Live<U> {
    events: Streaming<pb::Event>,
    session: Session<U>,
    pending: VecDeque<pb::Recommendation>,
    done: bool,
}

impl<U: UserDirectory> Live<U> {
    /// The next recommendation to send. The next event is read only once the recommendations
    /// for the previous one have been taken, so a client that stops reading stops the call's
    /// work too. An invalid event ends the call with its error.
    async fn next(mut self) -> Option<(Result<pb::Recommendation, Status>, Self)> {
        loop {
            if let Some(recommendation) = self.pending.pop_front() {
                return Some((Ok(recommendation), self));
            }
            if self.done {
                return None;
            }
            let result = match self.events.message().await {
                Ok(Some(event)) => self
                    .session
                    .record(from_pb(event))
                    .await
                    .map_err(Into::into),
                // The client closed its side: end the call with OK.
                Ok(None) => return None,
                Err(status) => Err(status),
            };
            match result {
                Ok(user_id) => self.pending.extend(
                    self.session
                        .top(&user_id, LIVE_BATCH)
                        .into_iter()
                        .map(to_pb),
                ),
                Err(status) => {
                    self.done = true;
                    return Some((Err(status), self));
                }
            }
        }
    }
}
