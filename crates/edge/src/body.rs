//! Bodies that stream through the proxy: the request body on its way up (which a failed connection
//! attempt hands back untouched for a retry) and the response body on its way down (which keeps its
//! backend counted in flight until the last byte).

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use tokio::sync::oneshot;

use crate::backend::InFlight;
use crate::upstream::Lease;

/// Boxed error of the bodies the proxy produces.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client's request body, held so that it can be given to one upstream attempt after another
/// until one of them starts reading it.
#[derive(Debug)]
pub(crate) enum HeldBody {
    /// The request has no body; every attempt can send an empty one.
    Empty,
    /// The body, still in the slot until an attempt polls it.
    Streaming(Arc<Mutex<Option<Incoming>>>),
}

impl HeldBody {
    pub(crate) fn new(body: Incoming) -> Self {
        if body.is_end_stream() { Self::Empty } else { Self::Streaming(Arc::new(Mutex::new(Some(body)))) }
    }

    /// A body for the next upstream attempt, with a signal of when it has been sent completely; `None`
    /// once an earlier attempt started reading it: from then on the request cannot be replayed.
    pub(crate) fn for_attempt(&self) -> Option<(UpstreamBody, BodySent)> {
        match self {
            Self::Empty => Some((UpstreamBody { state: UpstreamState::Empty, sent: None }, BodySent(None))),
            Self::Streaming(slot) => {
                if slot.lock().unwrap_or_else(PoisonError::into_inner).is_none() {
                    return None;
                }
                let (sent, sent_signal) = oneshot::channel();
                let body = UpstreamBody { state: UpstreamState::Unread(Arc::clone(slot)), sent: Some(sent) };
                Some((body, BodySent(Some(sent_signal))))
            }
        }
    }

    /// Whether no upstream attempt has read any of the body.
    pub(crate) fn is_unread(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Streaming(slot) => slot.lock().unwrap_or_else(PoisonError::into_inner).is_some(),
        }
    }
}

/// Resolves once the request body of an attempt has been sent whole (or the attempt gave up on it).
#[derive(Debug)]
pub(crate) struct BodySent(Option<oneshot::Receiver<()>>);

impl BodySent {
    pub(crate) async fn wait(self) {
        if let Some(signal) = self.0 {
            // An error means the body was dropped: the attempt is over either way.
            let _ = signal.await;
        }
    }
}

/// The request body as sent to one upstream.
#[derive(Debug)]
pub(crate) struct UpstreamBody {
    state: UpstreamState,
    /// Fired when the last frame has been handed to the upstream connection.
    sent: Option<oneshot::Sender<()>>,
}

#[derive(Debug)]
enum UpstreamState {
    Empty,
    /// Not polled yet: the client body still sits in the shared slot.
    Unread(Arc<Mutex<Option<Incoming>>>),
    /// Taken out of the slot on first poll; this attempt owns it now.
    Reading(Incoming),
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let UpstreamState::Unread(slot) = &this.state {
            let taken = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            match taken {
                Some(body) => this.state = UpstreamState::Reading(body),
                None => return Poll::Ready(Some(Err("the request body was already sent to another backend".into()))),
            }
        }
        let (polled, finished) = match &mut this.state {
            UpstreamState::Empty | UpstreamState::Unread(_) => (Poll::Ready(None), true),
            UpstreamState::Reading(body) => {
                let polled = Pin::new(&mut *body).poll_frame(cx).map_err(Into::into);
                let finished = match &polled {
                    Poll::Ready(None | Some(Err(_))) => true,
                    Poll::Ready(Some(Ok(_))) => body.is_end_stream(),
                    Poll::Pending => false,
                };
                (polled, finished)
            }
        };
        if finished && let Some(sent) = this.sent.take() {
            let _ = sent.send(());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            UpstreamState::Empty => true,
            UpstreamState::Unread(slot) => {
                slot.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_none_or(Body::is_end_stream)
            }
            UpstreamState::Reading(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            UpstreamState::Empty => SizeHint::with_exact(0),
            UpstreamState::Unread(slot) => slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map_or_else(SizeHint::default, Body::size_hint),
            UpstreamState::Reading(body) => body.size_hint(),
        }
    }
}

/// The body of every response the edge sends: either streamed from an upstream or a page of its own.
#[derive(Debug)]
pub(crate) struct EdgeBody(EdgeBodyKind);

#[derive(Debug)]
enum EdgeBodyKind {
    Page(Option<Bytes>),
    Upstream {
        body: Incoming,
        /// Released at the end of the stream, on error, or when the client goes away (drop).
        in_flight: Option<InFlight>,
        /// The upstream connection: back to its pool once the body was read to its end, closed if the
        /// stream fails or the client goes away first.
        lease: Option<Lease>,
    },
}

impl EdgeBody {
    /// A complete body generated by the edge itself.
    pub(crate) fn page(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self(EdgeBodyKind::Page((!bytes.is_empty()).then_some(bytes)))
    }

    /// An upstream body; the backend stays counted in flight, and the connection it comes over
    /// busy, until it has been streamed.
    pub(crate) fn upstream(body: Incoming, in_flight: InFlight, lease: Lease) -> Self {
        if body.is_end_stream() {
            lease.release();
            return Self(EdgeBodyKind::Upstream { body, in_flight: None, lease: None });
        }
        Self(EdgeBodyKind::Upstream { body, in_flight: Some(in_flight), lease: Some(lease) })
    }
}

impl Body for EdgeBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().0 {
            EdgeBodyKind::Page(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            EdgeBodyKind::Upstream { body, in_flight, lease } => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                let (finished, whole) = match &polled {
                    Poll::Ready(None) => (true, true),
                    Poll::Ready(Some(Err(_))) => (true, false),
                    Poll::Ready(Some(Ok(_))) => (body.is_end_stream(), body.is_end_stream()),
                    Poll::Pending => (false, false),
                };
                if finished {
                    in_flight.take();
                    let lease = lease.take();
                    if whole && let Some(lease) = lease {
                        lease.release();
                    }
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            EdgeBodyKind::Page(bytes) => bytes.is_none(),
            EdgeBodyKind::Upstream { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            EdgeBodyKind::Page(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            EdgeBodyKind::Upstream { body, .. } => body.size_hint(),
        }
    }
}
