//! A client's way out: its outbox and the sending half of its socket, and the one routine
//! that moves the first onto the second.
//!
//! Whoever fills the outbox (the room after a tick, the reader after a request) calls
//! [`Link::send_now`], which writes at once if the socket takes everything without waiting.
//! That is the usual case, and it costs no task wake-up: the room's tick ends with one
//! write per client. Only when the socket pushes back (a slow or stalled peer) or the
//! connection is closing does the work move to the connection's writer task (`writer.rs`),
//! which waits for the socket with a real waker. Nothing here ever blocks the caller.

use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::stream::SplitSink;
use futures::{Sink, ready};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::outbox::{Batch, Close, Outbox};

/// The sending half of a client's WebSocket.
pub type WsSink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// Where a write stands after a pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Everything queued was written; the connection stays open.
    Open,
    /// The close frame (if any) went out; the connection is over.
    Closed,
}

#[derive(Debug)]
struct Writing {
    /// `None` once the connection is over.
    sink: Option<WsSink>,
    /// Taken from the outbox but not yet accepted by the socket.
    batch: Batch,
    /// The writer task owns progress until it has written everything; others stay out.
    handed_off: bool,
    close_sent: bool,
}

/// One client's outbox and socket.
#[derive(Debug)]
pub struct Link {
    outbox: Outbox,
    writing: Mutex<Writing>,
    /// Wakes the writer task when a write must wait for the socket.
    handoff: Notify,
}

impl Link {
    /// A link over `sink` whose reliable lane holds `reliable_cap` messages.
    pub fn new(sink: WsSink, reliable_cap: usize) -> Self {
        Self {
            outbox: Outbox::new(reliable_cap),
            writing: Mutex::new(Writing {
                sink: Some(sink),
                batch: Batch::default(),
                handed_off: false,
                close_sent: false,
            }),
            handoff: Notify::new(),
        }
    }

    /// The client's send queue.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    fn writing(&self) -> MutexGuard<'_, Writing> {
        // Writing holds a socket half and plain queues; it stays usable after a panic.
        self.writing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message that must arrive and sends it now if the socket takes it.
    pub fn send_reliable(&self, msg: bytes::Bytes) -> bool {
        let fits = self.outbox.push_reliable(msg);
        self.send_now();
        fits
    }

    /// Asks for the connection to end with `close` once what is queued has gone out.
    pub fn close(&self, close: Close) {
        self.outbox.close(close);
        self.send_now();
    }

    /// Writes what is queued if the socket takes it without waiting; otherwise hands the
    /// rest to the writer task. Returns at once either way.
    pub fn send_now(&self) {
        let mut writing = self.writing();
        if writing.handed_off || writing.sink.is_none() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let done = matches!(
            writing.pump(&self.outbox, &mut cx),
            Poll::Ready(Ok(Flow::Open))
        );
        if !done {
            // Pending, closing, or failed: all are the writer task's to finish or report.
            writing.handed_off = true;
            drop(writing);
            self.handoff.notify_one();
        }
    }

    /// Waits until [`Link::send_now`] hands work over.
    pub async fn handed_off(&self) {
        self.handoff.notified().await;
    }

    /// The writer task's pump: like `send_now`, with a waker that is woken when the socket
    /// can take more. Gives progress back to `send_now` once everything is written.
    pub fn poll_pump(&self, cx: &mut Context<'_>) -> Poll<Result<Flow, WsError>> {
        let mut writing = self.writing();
        let flow = ready!(writing.pump(&self.outbox, cx));
        if matches!(flow, Ok(Flow::Open)) {
            writing.handed_off = false;
        }
        Poll::Ready(flow)
    }

    /// Drops the socket half: nothing more will be written.
    pub fn finish(&self) {
        let mut writing = self.writing();
        writing.sink = None;
        writing.handed_off = true;
    }
}

impl Writing {
    /// Feeds everything queued to the socket and flushes once; then the close frame, if
    /// one is due. Resumable: what the socket did not take stays in `batch`.
    fn pump(&mut self, outbox: &Outbox, cx: &mut Context<'_>) -> Poll<Result<Flow, WsError>> {
        outbox.take(&mut self.batch);
        let Some(sink) = self.sink.as_mut() else {
            return Poll::Ready(Ok(Flow::Closed));
        };
        let mut sink = std::pin::Pin::new(sink);
        while !self.batch.reliable.is_empty() {
            ready!(sink.as_mut().poll_ready(cx))?;
            let msg = self.batch.reliable.remove(0);
            sink.as_mut().start_send(Message::Binary(msg))?;
        }
        if self.batch.snapshot.is_some() {
            ready!(sink.as_mut().poll_ready(cx))?;
            if let Some(snapshot) = self.batch.snapshot.take() {
                sink.as_mut().start_send(Message::Binary(snapshot))?;
            }
        }
        let Some(close) = self.batch.close.clone() else {
            ready!(sink.as_mut().poll_flush(cx))?;
            return Poll::Ready(Ok(Flow::Open));
        };
        if let (Some(code), false) = (close.code, self.close_sent) {
            ready!(sink.as_mut().poll_ready(cx))?;
            let frame = CloseFrame {
                code: code.into(),
                reason: close.reason.into(),
            };
            sink.as_mut().start_send(Message::Close(Some(frame)))?;
            self.close_sent = true;
        }
        // With no code, the peer closed first: flushing sends the library's reply.
        match ready!(sink.as_mut().poll_flush(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed) => Poll::Ready(Ok(Flow::Closed)),
            Err(err) => Poll::Ready(Err(err)),
        }
    }
}
