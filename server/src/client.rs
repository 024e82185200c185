//! One client's connection, wherever it lives: its WebSocket, its outbox, and who it is.
//!
//! A client is owned by exactly one task at a time: its connection task while in the
//! lobby, its room while playing, a closing task at the end. It moves between them whole,
//! so nothing here is shared or locked. Reading and writing are non-blocking polls: the
//! room drives all its clients once per tick without waiting on any of them, and the lobby
//! task polls with a real waker.

use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt, ready};
use tickwire_shared::{ClientMsg, DecodeError, Error as ErrorMsg, ErrorCode, PlayerInfo, encode};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, error::CapacityError};
use tracing::Span;

use crate::outbox::{Batch, CLOSE_NORMAL, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, Close, Outbox};

/// What one frame from the client amounts to.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed request.
    Request(ClientMsg),
    /// A binary frame that is not a valid message; answer with an error and go on.
    Malformed(DecodeError),
    /// The client closed, or broke a transport rule (text or oversize frame) and a close
    /// with a reason is queued; either way the connection is ending.
    Closing {
        /// True when the client broke a rule, rather than closing politely.
        refused: bool,
    },
    /// The socket ended or failed.
    Ended,
    /// Nothing to act on (control frames are answered by the library).
    Nothing,
}

/// Where the connection stands after a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Everything queued was written; the connection stays open.
    Open,
    /// The close (ours or the reply to the peer's) went out; the connection is over.
    Closed,
}

/// One client's connection.
#[derive(Debug)]
pub struct Client {
    ws: WebSocketStream<TcpStream>,
    outbox: Outbox,
    /// Taken from the outbox but not yet accepted by the socket.
    batch: Batch,
    /// A flush is unfinished: nothing new is handed to the library until it is, so a
    /// stalled socket holds at most one batch there and snapshots keep replacing each
    /// other in the outbox instead of piling up.
    flushing: bool,
    close_sent: bool,
    span: Span,
    player: Option<PlayerInfo>,
}

impl Client {
    /// A client on an upgraded socket, logging under `span`.
    pub fn new(ws: WebSocketStream<TcpStream>, reliable_cap: usize, span: Span) -> Self {
        Self {
            ws,
            outbox: Outbox::new(reliable_cap),
            batch: Batch::default(),
            flushing: false,
            close_sent: false,
            span,
            player: None,
        }
    }

    /// The connection's span (peer address, player id): enter it to log.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Who the client is, once greeted.
    pub fn player(&self) -> Option<&PlayerInfo> {
        self.player.as_ref()
    }

    /// Records who the client is after a valid hello.
    pub fn set_player(&mut self, player: PlayerInfo) {
        self.span.record("player", player.id);
        self.player = Some(player);
    }

    /// The client's send queue.
    pub fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    /// Queues a message that must arrive; false when the client is too slow and is being
    /// closed instead.
    pub fn send(&mut self, msg: Bytes) -> bool {
        self.outbox.push_reliable(msg)
    }

    /// Queues an error reply.
    pub fn error(&mut self, code: ErrorCode, message: impl Into<String>, in_reply_to: Option<u8>) {
        self.send(encode(&ErrorMsg {
            code,
            message: message.into(),
            in_reply_to,
        }));
    }

    /// Asks for the connection to end once what is queued has gone out.
    pub fn close(&mut self, close: Close) {
        self.outbox.close(close);
    }

    /// True once the connection is ending.
    pub fn is_closing(&self) -> bool {
        self.outbox.is_closing()
    }

    /// True when a write is waiting to be made or finished.
    pub fn wants_write(&mut self) -> bool {
        self.flushing || !self.batch.is_empty() || {
            self.outbox.take(&mut self.batch);
            !self.batch.is_empty()
        }
    }

    /// Reads one frame if one is there. Never panics on what the peer sent.
    pub fn poll_incoming(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        let frame = match ready!(self.ws.poll_next_unpin(cx)) {
            None => return Poll::Ready(Incoming::Ended),
            Some(frame) => frame,
        };
        Poll::Ready(match frame {
            Ok(Message::Binary(bytes)) => match ClientMsg::decode(&bytes) {
                Ok(msg) => Incoming::Request(msg),
                Err(err) => Incoming::Malformed(err),
            },
            Ok(Message::Text(_)) => self.refuse(
                CLOSE_UNSUPPORTED,
                "text frames are not supported; send binary MessagePack",
            ),
            Ok(Message::Close(_)) => {
                self.close(Close {
                    code: None,
                    reason: "",
                });
                Incoming::Closing { refused: false }
            }
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Incoming::Nothing,
            Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                self.span
                    .in_scope(|| tracing::debug!(size, max_size, "refused an oversize frame"));
                self.refuse(CLOSE_TOO_BIG, "message too big")
            }
            Err(err) => {
                self.span
                    .in_scope(|| tracing::debug!(cause = %err, "read failed; ending connection"));
                Incoming::Ended
            }
        })
    }

    fn refuse(&mut self, code: u16, reason: &'static str) -> Incoming {
        self.span
            .in_scope(|| tracing::debug!(code, reason, "closing connection"));
        self.close(Close {
            code: Some(code),
            reason,
        });
        Incoming::Closing { refused: true }
    }

    /// Hands everything queued to the socket and flushes once; then the close frame, if
    /// one is due. Resumable: what the socket could not take yet stays for the next call.
    pub fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<Flow, WsError>> {
        if self.flushing {
            ready!(self.ws.poll_flush_unpin(cx))?;
            self.flushing = false;
        }
        self.outbox.take(&mut self.batch);
        if self.batch.is_empty() {
            return Poll::Ready(Ok(Flow::Open));
        }
        let closing = self.batch.close.clone();
        if closing.as_ref().is_some_and(|c| c.code.is_none()) {
            // The peer closed first: it will read nothing more but the library's reply.
            self.batch.reliable.clear();
            self.batch.snapshot = None;
        }
        while !self.batch.reliable.is_empty() {
            ready!(self.ws.poll_ready_unpin(cx))?;
            if let Some(msg) = self.batch.reliable.pop_front() {
                self.ws.start_send_unpin(Message::Binary(msg))?;
            }
        }
        if self.batch.snapshot.is_some() {
            ready!(self.ws.poll_ready_unpin(cx))?;
            if let Some(snapshot) = self.batch.snapshot.take() {
                self.ws.start_send_unpin(Message::Binary(snapshot))?;
            }
        }
        if let Some(Close {
            code: Some(code),
            reason,
        }) = closing
            && !self.close_sent
        {
            ready!(self.ws.poll_ready_unpin(cx))?;
            let frame = CloseFrame {
                code: code.into(),
                reason: reason.into(),
            };
            self.ws.start_send_unpin(Message::Close(Some(frame)))?;
            self.close_sent = true;
        }
        self.flushing = true;
        ready!(self.ws.poll_flush_unpin(cx))?;
        self.flushing = false;
        Poll::Ready(Ok(if closing.is_some() {
            Flow::Closed
        } else {
            Flow::Open
        }))
    }

    /// Ends the connection: sends what is queued and the close frame (1000 unless another
    /// was asked for), then reads until the peer answers or hangs up, so the socket is not
    /// reset under data the peer has yet to read. All within `grace`.
    pub async fn finish(mut self, grace: Duration) {
        if !self.is_closing() {
            self.close(Close {
                code: Some(CLOSE_NORMAL),
                reason: "",
            });
        }
        let span = self.span.clone();
        let ended = tokio::time::timeout(grace, async {
            loop {
                match std::future::poll_fn(|cx| self.poll_write(cx)).await {
                    Ok(Flow::Closed) => break,
                    Ok(Flow::Open) => {}
                    Err(_) => return,
                }
            }
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
        if ended.is_err() {
            span.in_scope(|| tracing::debug!("peer did not finish closing in time"));
        }
    }
}
