//! The return type of `http_body::Body::poll_frame`, named once.

use std::task::Poll;

use http_body::{Body, Frame};

/// What `B::poll_frame` returns: `Poll<Option<Result<Frame<B::Data>, B::Error>>>`.
pub(crate) type PolledFrame<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;
