//! One client's connection while it moves between owners: its [`Link`] (the socket) and
//! its [`Peer`] (everything else), together.
//!
//! A client is owned by exactly one task at a time: its connection task while in the
//! lobby, its room while playing (whose driver splits it, keeping the link and giving the
//! peer to the room's core), a closing task at the end. It moves between them whole, so
//! nothing here is shared or locked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::WebSocket;
use tracing::Span;

use crate::conn_limits::Slot;
use crate::link::Link;
use crate::metrics::{CloseCause, Metrics};
use crate::outbox::{CLOSE_NORMAL, Close};
use crate::peer::{ClientRules, Peer};
use crate::socket::Socket;
use crate::transport::{Flow, Frame};

/// One client's connection: socket and state.
#[derive(Debug)]
pub struct Client {
    /// The socket.
    pub link: Link,
    /// Everything else: who it is, its outbox, limits and liveness.
    pub peer: Peer,
}

impl Client {
    /// A client on a socket upgraded at `now`, held to `rules`, logging under `span`.
    pub fn new(
        ws: WebSocket<Socket>,
        rules: ClientRules,
        metrics: Arc<Metrics>,
        slot: Slot,
        span: Span,
        now: Instant,
    ) -> Self {
        Self {
            link: Link::new(ws, Arc::clone(&metrics)),
            peer: Peer::new(rules, metrics, Some(slot), span, now),
        }
    }

    /// The connection's span (peer address, player id): enter it to log.
    pub fn span(&self) -> &Span {
        self.peer.span()
    }

    /// Writes what is queued (see [`Link::write_now`]), at `now`.
    pub fn write_now(&mut self, now: Instant) -> Flow {
        let flow = self.link.write_now(&mut self.peer);
        self.peer.note_flow(flow, now);
        flow
    }

    /// True when a write is waiting to be made or finished.
    pub fn wants_write(&self) -> bool {
        self.link.is_flushing() || self.peer.wants_write()
    }

    /// Ends the connection: sends what is queued and the close frame (1000 unless another
    /// was asked for), then reads until the peer answers or hangs up, so the socket is not
    /// reset under data the peer has yet to read. All within `grace`.
    pub async fn finish(mut self, grace: Duration) {
        if !self.peer.is_closing() {
            self.peer.close(Close {
                code: Some(CLOSE_NORMAL),
                reason: "",
                cause: CloseCause::Clean,
            });
        }
        if self.link.socket_mut().to_reactor().is_err() {
            return;
        }
        let span = self.span().clone();
        let ended = tokio::time::timeout(grace, async {
            loop {
                match self.link.write_now(&mut self.peer) {
                    Flow::Closed | Flow::Failed => break,
                    Flow::Open => {}
                    Flow::Blocked => {
                        if self.link.socket().writable().await.is_err() {
                            return;
                        }
                    }
                }
            }
            loop {
                match self.link.read_frame() {
                    Some(Frame::Ended) => return,
                    Some(_) => {}
                    None => {
                        if self.link.socket().readable().await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .await;
        if ended.is_err() {
            span.in_scope(|| tracing::debug!("peer did not finish closing in time"));
        }
    }
}
