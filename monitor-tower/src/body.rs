//! The body that counts the bytes of a request or a response as they pass.

use crate::record::Completion;
use bytes::Buf;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

pin_project_lite::pin_project! {
    /// A request or response body on its way through [`MonitorLayer`](crate::MonitorLayer): the
    /// body it was, whose data bytes are counted as its frames pass, never buffered.
    ///
    /// The service under the layer receives `Request<MonitorBody<B>>` for the `Request<B>` the
    /// layer was given, and the layer answers `Response<MonitorBody<R>>` for the service's
    /// `Response<R>`. It is an [`http_body::Body`] with `B`'s data and error types, size and end.
    pub struct MonitorBody<B> {
        #[pin]
        inner: B,
        tally: Tally,
    }
}

/// Where a counting body puts what it saw.
pub(crate) enum Tally {
    /// Nothing to count: a request without a body, or a response recorded at its head.
    Off,
    /// A request body's bytes, shared with the request, which reads them when it completes.
    Received(Arc<AtomicU64>),
    /// A response body's bytes are its own (nothing else reads them before the end), and its end
    /// completes the request.
    Sent(Completion),
}

impl<B> MonitorBody<B> {
    pub(crate) fn new(inner: B, tally: Tally) -> MonitorBody<B> {
        MonitorBody { inner, tally }
    }

    /// The body it wraps. What flows from it afterwards is not counted.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for MonitorBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: http_body::Body> http_body::Body for MonitorBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let bytes = data.remaining() as u64;
                    match this.tally {
                        Tally::Off => {}
                        Tally::Received(received) => {
                            received.fetch_add(bytes, Ordering::Relaxed);
                        }
                        Tally::Sent(end) => end.add(bytes),
                    }
                }
            }
            // The body ended, or failed: a response's request is over now, rather than when the
            // body is dropped, which may be later.
            None | Some(Err(_)) => *this.tally = Tally::Off,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
