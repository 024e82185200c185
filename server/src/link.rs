//! One client's WebSocket: tungstenite over a non-blocking [`Socket`], read a frame at a
//! time and written a batch at a time, never waiting.
//!
//! The link is the transport half of a client (the [`Peer`] is the other): it turns what
//! arrives into [`Frame`]s and hands what the peer's outbox holds to the socket, reliable
//! messages first, then the snapshot, then the close. Each write batch goes into the
//! library's buffer at once and is flushed once; until that flush has gone out nothing new
//! is taken from the outbox, so a stalled socket holds at most one batch here and
//! snapshots keep replacing each other in the outbox instead of piling up.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, WebSocket};

use crate::metrics::{Metrics, Traffic};
use crate::outbox::Close;
use crate::peer::Peer;
use crate::socket::Socket;
use crate::transport::{Flow, Frame, Violation};

fn would_block(err: &WsError) -> bool {
    matches!(err, WsError::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Hands one message to the library; on `WouldBlock` it has queued it for the flush.
fn write_message(ws: &mut WebSocket<Socket>, msg: Message) -> Result<(), WsError> {
    match ws.write(msg) {
        Err(err) if would_block(&err) => Ok(()),
        written => written,
    }
}

/// The peer's breach of RFC 6455 that `err` reports, if it is one.
///
/// Tungstenite leaves the WebSocket open for writing after each of these (they are found
/// while reading a frame, before the close handshake's state changes), so our close frame
/// can still go out; but its reader may be stuck on the bad frame's header, and the RFC
/// says to process nothing more from the peer anyway.
fn violation(err: &WsError) -> Option<Violation> {
    let protocol = match err {
        WsError::Utf8(_) => return Some(Violation::InvalidUtf8),
        WsError::Protocol(protocol) => protocol,
        _ => return None,
    };
    Some(match protocol {
        ProtocolError::UnmaskedFrameFromClient => Violation::Unmasked,
        ProtocolError::NonZeroReservedBits => Violation::ReservedBits,
        // The header parser refuses reserved opcodes as `InvalidOpcode` before the two
        // `Unknown*` checks are reached; all three mean the same here.
        ProtocolError::InvalidOpcode(op)
        | ProtocolError::UnknownControlFrameType(op)
        | ProtocolError::UnknownDataFrameType(op) => Violation::ReservedOpcode(*op),
        ProtocolError::ControlFrameTooBig => Violation::ControlTooBig,
        ProtocolError::FragmentedControlFrame => Violation::FragmentedControl,
        ProtocolError::UnexpectedContinueFrame => Violation::UnexpectedContinuation,
        ProtocolError::ExpectedFragment(_) => Violation::ExpectedContinuation,
        ProtocolError::InvalidCloseSequence => Violation::InvalidClosePayload,
        // A connection cut without a close frame is an ending, not bad input; the rest
        // belong to the handshake, or to a close handshake already under way (after the
        // peer's close the library reads nothing more), where no close of ours can go out.
        _ => return None,
    })
}

/// One client's WebSocket (see the module doc).
#[derive(Debug)]
pub struct Link {
    ws: WebSocket<Socket>,
    /// A flush is unfinished: nothing new is handed to the library until it is.
    flushing: bool,
    close_sent: bool,
    /// The read side is unusable (an oversize frame is stuck in the library's buffer, or
    /// the peer broke the protocol): reading again would only fail again, or read what the
    /// RFC says to ignore.
    read_broken: bool,
    /// Messages in and out since the owner last took the traffic (bytes are in the socket).
    messages_in: u64,
    messages_out: u64,
    /// Where the traffic not taken by the owner goes when the link is dropped.
    metrics: Arc<Metrics>,
}

impl Link {
    /// A link over an upgraded WebSocket.
    pub fn new(ws: WebSocket<Socket>, metrics: Arc<Metrics>) -> Self {
        Self {
            ws,
            flushing: false,
            close_sent: false,
            read_broken: false,
            messages_in: 0,
            messages_out: 0,
            metrics,
        }
    }

    /// The traffic since the last call, for the owner to add to the totals.
    pub fn take_traffic(&mut self) -> Traffic {
        let (bytes_in, bytes_out) = self.ws.get_mut().take_bytes();
        Traffic {
            messages_in: std::mem::take(&mut self.messages_in),
            messages_out: std::mem::take(&mut self.messages_out),
            bytes_in,
            bytes_out,
        }
    }

    /// The socket.
    pub fn socket(&self) -> &Socket {
        self.ws.get_ref()
    }

    /// The socket, to switch its mode or start a tick.
    pub fn socket_mut(&mut self) -> &mut Socket {
        self.ws.get_mut()
    }

    /// True while a write is unfinished.
    pub fn is_flushing(&self) -> bool {
        self.flushing
    }

    /// Reads one frame if one is there (`None` when nothing is). Never panics on what the
    /// peer sent.
    pub fn read_frame(&mut self) -> Option<Frame> {
        if self.read_broken {
            return Some(Frame::Ended);
        }
        let frame = match self.ws.read() {
            Err(err) if would_block(&err) => return None,
            frame => frame,
        };
        Some(match frame {
            Ok(Message::Binary(bytes)) => {
                self.messages_in += 1;
                Frame::Binary(bytes)
            }
            Ok(Message::Text(_)) => {
                self.messages_in += 1;
                Frame::Text
            }
            Ok(Message::Close(_)) => Frame::Close,
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Frame::Control,
            Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                self.read_broken = true;
                Frame::TooBig {
                    size,
                    max: max_size,
                }
            }
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Frame::Ended,
            Err(err) => match violation(&err) {
                Some(violation) => {
                    tracing::debug!(cause = %err, "the peer broke the WebSocket protocol");
                    self.read_broken = true;
                    Frame::Violation(violation)
                }
                None => {
                    tracing::debug!(cause = %err, "read failed; ending connection");
                    Frame::Ended
                }
            },
        })
    }

    /// Hands everything `peer` has queued to the socket and flushes once; then the close
    /// frame, if one is due. Resumable: what the socket could not take yet stays for the
    /// next call, and until it has gone out nothing more is taken from the outbox.
    pub fn write_now(&mut self, peer: &mut Peer) -> Flow {
        match self.try_write(peer) {
            Ok(flow) => flow,
            Err(err) => {
                peer.span()
                    .in_scope(|| tracing::debug!(cause = %err, "write failed; ending connection"));
                Flow::Failed
            }
        }
    }

    fn try_write(&mut self, peer: &mut Peer) -> Result<Flow, WsError> {
        if self.flushing {
            match self.flush(peer)? {
                Flow::Open => {}
                other => return Ok(other),
            }
        }
        if !peer.wants_write() {
            return Ok(Flow::Open);
        }
        let closing = peer.outbox().close_request().cloned();
        if peer.take_ping() && closing.is_none() {
            write_message(&mut self.ws, Message::Ping(Bytes::new()))?;
        }
        let outbox = peer.outbox();
        if closing.as_ref().is_some_and(|c| c.code.is_none()) {
            // The peer closed first: it will read nothing more but the library's reply.
            outbox.drain_reliable().for_each(drop);
            outbox.take_snapshot();
        }
        // Everything goes into the library's buffer at once (on `WouldBlock` it keeps the
        // message queued); `flushing` then holds back the next batch until this one is out.
        for msg in outbox.drain_reliable() {
            self.messages_out += 1;
            write_message(&mut self.ws, Message::Binary(msg))?;
        }
        if let Some(snapshot) = outbox.take_snapshot() {
            self.messages_out += 1;
            write_message(&mut self.ws, Message::Binary(snapshot))?;
        }
        if let Some(Close {
            code: Some(code),
            reason,
            ..
        }) = closing
            && !self.close_sent
        {
            self.close_sent = true;
            let frame = CloseFrame {
                code: code.into(),
                reason: reason.into(),
            };
            match self.ws.close(Some(frame)) {
                Ok(()) => {}
                Err(err) if would_block(&err) => {}
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => return Ok(Flow::Closed),
                Err(err) => return Err(err),
            }
        }
        self.flushing = true;
        self.flush(peer)
    }

    fn flush(&mut self, peer: &mut Peer) -> Result<Flow, WsError> {
        match self.ws.flush() {
            Ok(()) => {
                self.flushing = false;
                // Over once the close this connection ends with has been handed over: ours,
                // or the library's own reply when the peer closed first.
                let over = peer
                    .outbox()
                    .close_request()
                    .is_some_and(|c| c.code.is_none() || self.close_sent);
                Ok(if over { Flow::Closed } else { Flow::Open })
            }
            Err(err) if would_block(&err) => Ok(Flow::Blocked),
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                self.flushing = false;
                Ok(Flow::Closed)
            }
            Err(err) => Err(err),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let traffic = self.take_traffic();
        self.metrics.add_traffic(traffic);
    }
}
