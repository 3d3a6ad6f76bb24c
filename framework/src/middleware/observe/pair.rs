//! Two observers as one: several observing layers in a single [`Observe`](super::Observe), so
//! a call goes through one future and one body wrapper instead of one per layer.

use tonic::Code;

use super::{CallObserver, ObserveCall};

/// `(outer, inner)` observes a call as `outer`'s layer around `inner`'s would: `inner` starts
/// inside `outer`'s scope, hears of the end first, and every poll runs inside both scopes.
impl<B, X, Y> ObserveCall<B> for (X, Y)
where
    X: ObserveCall<B>,
    Y: ObserveCall<X::Body>,
{
    type Body = Y::Body;
    type Observer = (X::Observer, Y::Observer);

    fn start(&self, request: http::Request<B>) -> (http::Request<Y::Body>, Self::Observer) {
        let (request, outer) = self.0.start(request);
        let (request, inner) = outer.scoped(|| self.1.start(request));
        (request, (outer, inner))
    }
}

impl<X: CallObserver, Y: CallObserver> CallObserver for (X, Y) {
    fn on_data(&mut self, chunk: &[u8]) {
        self.1.on_data(chunk);
        self.0.on_data(chunk);
    }

    fn finish(self, code: Code) {
        let (outer, inner) = self;
        inner.finish(code);
        outer.finish(code);
    }

    fn scoped<R>(&self, poll: impl FnOnce() -> R) -> R {
        self.0.scoped(|| self.1.scoped(poll))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    #[derive(Clone)]
    struct Log(Rc<RefCell<Vec<String>>>);

    struct Named(&'static str, Log);

    impl CallObserver for Named {
        fn on_data(&mut self, chunk: &[u8]) {
            self.1
                .0
                .borrow_mut()
                .push(format!("{} data {}", self.0, chunk.len()));
        }

        fn finish(self, code: Code) {
            self.1
                .0
                .borrow_mut()
                .push(format!("{} finish {code:?}", self.0));
        }

        fn scoped<R>(&self, poll: impl FnOnce() -> R) -> R {
            self.1.0.borrow_mut().push(format!("{} enter", self.0));
            let result = poll();
            self.1.0.borrow_mut().push(format!("{} exit", self.0));
            result
        }
    }

    #[test]
    fn a_pair_nests_as_two_layers_would() {
        let log = Log(Rc::default());
        let mut pair = (Named("outer", log.clone()), Named("inner", log.clone()));
        pair.scoped(|| log.0.borrow_mut().push("poll".into()));
        pair.on_data(b"abc");
        pair.finish(Code::Ok);
        assert_eq!(
            *log.0.borrow(),
            [
                "outer enter",
                "inner enter",
                "poll",
                "inner exit",
                "outer exit",
                "inner data 3",
                "outer data 3",
                "inner finish Ok",
                "outer finish Ok",
            ]
        );
    }
}
