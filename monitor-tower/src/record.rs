//! What both layers keep of a request until its response has flowed, and how they finish it.
//!
//! A `#[monitored_handler]` sees the value its function returns; what the service makes of it (the
//! status after axum's `IntoResponse`, say) and the bodies that flow afterwards only a layer sees.
//! The layer makes a [`RequestScope`] per request, enters it around every poll of the request, and
//! completes it once the response is known: at its head for a body of known size (its size is what
//! it sends; none for a HEAD), else when the body that streams has ended (or was dropped), with the
//! bytes that flowed. The handler's call is then recorded once, with the final status and the bytes
//! each way (the request's as they were read). A request no instrumented handler served is recorded
//! on the site of its route.
//!
//! When runs are traced, the scope continues the trace the request's `traceparent` names
//! ([`remote_parent`]).

use http::{HeaderMap, Method, Response};
use monitor_core::request::RequestScope;
use monitor_core::trace::{MAX_TRACESTATE_LEN, TraceParent};
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

/// The route a request matched, kept as it is and formatted only for a request no instrumented
/// handler served: the only one that needs its route's name.
pub(crate) enum Route {
    /// What [`MonitorLayer::route_from`](crate::MonitorLayer::route_from) named.
    Named(&'static str),
    /// axum's, which clones cheaply (a shared string).
    #[cfg(feature = "axum")]
    Matched(::axum::extract::MatchedPath),
}

impl Route {
    fn as_str(&self) -> &str {
        match self {
            Route::Named(route) => route,
            #[cfg(feature = "axum")]
            Route::Matched(path) => path.as_str(),
        }
    }

    /// The route axum matched, when the request went through an axum router.
    #[cfg(feature = "axum")]
    pub(crate) fn matched(extensions: &http::Extensions) -> Option<Route> {
        extensions
            .get::<::axum::extract::MatchedPath>()
            .cloned()
            .map(Route::Matched)
    }

    /// Without axum nothing names a route unless the layer is told how.
    #[cfg(not(feature = "axum"))]
    pub(crate) fn matched(_: &http::Extensions) -> Option<Route> {
        None
    }
}

/// What the request knows until its response has flowed.
pub(crate) struct Pending {
    scope: RequestScope,
    route: Option<Route>,
    /// The method's place in [`STANDARD_METHODS`], or [`OTHER_METHOD`].
    method: u8,
    /// Request body bytes read so far: what the request carried, as far as anyone knows. A
    /// declared `Content-Length` is a claim — one request declaring 99,999,999,999 bytes and
    /// sending 3 would add 1e11 — so it is never counted. None for a request without a body.
    received: Option<Arc<AtomicU64>>,
}

impl Pending {
    /// Starts the request's scope and calls `call` in it: some services do their work in `call`,
    /// and that belongs to the request too.
    #[inline]
    pub(crate) fn start<F>(
        method: u8,
        route: Option<Route>,
        received: Option<Arc<AtomicU64>>,
        parent: Option<TraceParent>,
        call: impl FnOnce() -> F,
    ) -> (F, Pending) {
        let scope = RequestScope::continuing(parent);
        let future = scope.in_scope(call);
        let pending = Pending {
            scope,
            route,
            method,
            received,
        };
        (future, pending)
    }

    /// In place: a request's figures take no copy of it on their way to the record.
    fn complete(&mut self, status: u16, sent: Option<u64>) {
        let received = self
            .received
            .as_ref()
            .map_or(0, |r| r.load(Ordering::Relaxed));
        let (route, method) = (&self.route, self.method);
        self.scope
            .complete_with(status, Some(received), sent, || match (route, method) {
                // A method outside HTTP's standard set is any client's invention, and a path no
                // route matched is any client's too: under their own names, 300 made-up methods
                // made 300 sites. All of them share one.
                (Some(route), method) if method != OTHER_METHOD => {
                    let method = &STANDARD_METHODS[usize::from(method)];
                    format!("{method} {}", route.as_str())
                }
                _ => monitor_core::site::OTHER_ROUTES.to_owned(),
            });
    }
}

/// The caller's span the request's run continues: its `traceparent` header, with the
/// `tracestate` beside it, when runs are traced.
///
/// A header that does not parse (W3C Trace Context: wrong length, uppercase or non-hex digits,
/// zero ids, version `ff`, bytes that are not ASCII) is no parent: the run starts a trace of its
/// own, and the request is served as any other. So is a request with more than one
/// `traceparent`: the specification allows one, and choosing among several would be a guess.
/// Several `tracestate` headers are one list, joined with commas as the specification says; one
/// too long for the run to keep ([`MAX_TRACESTATE_LEN`]) is dropped while joining, so no number of
/// headers makes it grow.
#[inline]
pub(crate) fn remote_parent(headers: &HeaderMap) -> Option<TraceParent> {
    // Nothing to continue with tracing off: no header lookup on that path.
    if !monitor_core::trace::is_enabled() {
        return None;
    }
    let mut values = headers.get_all(TRACEPARENT).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let parent = TraceParent::parse(value.to_str().ok()?)?;
    Some(parent.with_tracestate(tracestate(headers).as_deref()))
}

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The `tracestate` list, `None` when there is none or it cannot be kept: a value that is not
/// text, or a list longer than a run keeps.
fn tracestate(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let mut list: Option<Cow<'_, str>> = None;
    for value in headers.get_all(TRACESTATE) {
        let value = value.to_str().ok()?;
        list = Some(match list {
            None => Cow::Borrowed(value),
            Some(list) => Cow::Owned(format!("{list},{value}")),
        });
        if list.as_ref().is_some_and(|l| l.len() > MAX_TRACESTATE_LEN) {
            return None;
        }
    }
    list
}

/// Polls the request's future with its scope entered, so that a handler finishing inside it
/// leaves its call there.
#[inline]
pub(crate) fn poll_in_scope<T>(
    request: &Option<Pending>,
    poll: impl FnOnce() -> Poll<T>,
) -> Poll<T> {
    match request {
        Some(request) => request.scope.in_scope(poll),
        None => poll(),
    }
}

/// The response's head is known. A body of known size (most: a string, JSON, bytes) is its size,
/// whether the client reads it all or not — as for a body that flows, what counts is what the
/// server sent, not what arrived — and no bytes at all answer a HEAD: the request is recorded now,
/// and its body needs no wrapper of ours (under axum, wrapping a body means boxing it again, a
/// third of the layer's cost; `docs/performance.md`, "Per HTTP request"). A body that streams (SSE,
/// a proxied body) is to be counted as it flows: the completion it carries records the request when
/// it ends or is dropped.
#[inline]
pub(crate) fn respond<B: http_body::Body>(
    request: &mut Option<Pending>,
    response: &Response<B>,
) -> Option<Completion> {
    let status = response.status().as_u16();
    match response.body().size_hint().exact() {
        Some(size) => {
            if let Some(pending) = request {
                let sent = if pending.method == HEAD { 0 } else { size };
                pending.complete(status, Some(sent));
                *request = None;
            }
            None
        }
        None => request.take().map(|request| Completion {
            request,
            status,
            sent: 0,
        }),
    }
}

/// The service failed: no response, no body, and the request is over.
#[inline]
pub(crate) fn fail(request: &mut Option<Pending>) {
    if let Some(pending) = request {
        pending.complete(500, None);
        *request = None;
    }
}

/// The methods of RFC 9110 and PATCH: the only ones a route site is named after.
const STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// HEAD's place in [`STANDARD_METHODS`].
const HEAD: u8 = 1;

/// Any method not in [`STANDARD_METHODS`].
const OTHER_METHOD: u8 = u8::MAX;

/// A byte standing for the method, so that the request carries no copy of it.
pub(crate) fn method_index(method: &Method) -> u8 {
    STANDARD_METHODS
        .iter()
        .position(|m| m == method)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(OTHER_METHOD)
}

/// The response's status and the bytes sent so far, waiting for its body to end.
pub(crate) struct Completion {
    request: Pending,
    status: u16,
    sent: u64,
}

impl Completion {
    pub(crate) fn add(&mut self, bytes: u64) {
        self.sent += bytes;
    }
}

impl Drop for Completion {
    /// The body ended, or was dropped part-way (the client went away): either way the request is
    /// over, and the bytes sent are the ones counted.
    fn drop(&mut self) {
        self.request.complete(self.status, Some(self.sent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(TRACESTATE, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn tracestate_headers_are_one_list_and_a_list_too_long_is_dropped() {
        assert_eq!(tracestate(&headers(&[])), None);
        assert_eq!(tracestate(&headers(&[b"a=1"])).as_deref(), Some("a=1"));
        assert_eq!(
            tracestate(&headers(&[b"a=1,b=2", b"c=3"])).as_deref(),
            Some("a=1,b=2,c=3")
        );
        // One value that is not text spoils the list: its members cannot be passed on as sent.
        assert_eq!(tracestate(&headers(&[b"a=1", b"b=\xff"])), None);
        // Joined until too long, then dropped: a thousand headers make no list of 10 kB.
        let many = vec![&b"vendor=123"[..]; 1000];
        assert_eq!(tracestate(&headers(&many)), None);
        let fits = vec![&b"vendor=123"[..]; MAX_TRACESTATE_LEN / 11];
        assert!(tracestate(&headers(&fits)).is_some());
    }
}
