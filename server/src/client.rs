//! One client's connection, wherever it lives: its WebSocket, its outbox, and who it is.
//!
//! A client is owned by exactly one task at a time: its connection task while in the
//! lobby, its room while playing, a closing task at the end. It moves between them whole,
//! so nothing here is shared or locked. Reads and writes never wait: the room drives all
//! its clients once per tick, and the lobby and closing tasks wait on the socket's
//! readiness between attempts. The WebSocket is tungstenite's, over a non-blocking
//! [`Socket`], so a tick's read and write cost no more than the system calls they make.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tickwire_shared::{ClientMsg, DecodeError, Error as ErrorMsg, ErrorCode, PlayerInfo, encode};
use tokio_tungstenite::tungstenite::handshake::HandshakeError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{
    self, Error as WsError, Message, WebSocket, error::CapacityError,
};
use tracing::Span;

use crate::auth::{Auth, AuthError};
use crate::conn_limits::Slot;
use crate::heartbeat::{Beat, KeepAlive, Liveness};
use crate::identity::Identity;
use crate::metrics::{CloseCause, Limited, Metrics, Traffic};
use crate::outbox::{CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, Close, Outbox};
use crate::rate_limit::{FloodGuard, Limit, Verdict};
use crate::socket::Socket;

/// What one frame from the client amounts to.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed request.
    Request(ClientMsg),
    /// A binary frame that is not a valid message; answer with an error and go on.
    Malformed(DecodeError),
    /// The client closed, or broke a rule (text or oversize frame, flooding) and a close
    /// with a reason is queued; either way the connection is ending.
    Closing,
    /// The socket ended or failed.
    Ended,
    /// Nothing to act on: a control frame (answered by the library), or a message dropped
    /// by the rate limit.
    Nothing,
}

/// Where the connection stands after a write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Everything queued was written; the connection stays open.
    Open,
    /// The socket could not take everything; the rest waits for the next attempt.
    Blocked,
    /// The close (ours or the reply to the peer's) went out; the connection is over.
    Closed,
}

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

/// Why a handshake did not give a connection.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeFailure {
    /// The upgrade carried no valid token; a 401 with the reason was sent. The peer should
    /// get a token and connect again.
    #[error("unauthorized: {0}")]
    Unauthorized(AuthError),
    /// Anything else: not HTTP, not an upgrade, the socket failed, or the refusal asked
    /// for by the caller was sent (`WsError::Http`).
    #[error(transparent)]
    Ws(#[from] WsError),
}

/// Completes the server side of the WebSocket handshake on `stream`, or, with `refuse`,
/// reads the request and answers it with that HTTP status instead of upgrading. With
/// `auth`, the request must carry a valid token, or is answered with 401; the token says
/// who the connection is (nobody in particular without `auth`).
///
/// The socket is waited on for reading only: the handshake's one write, a short HTTP
/// response on a fresh socket with an empty send buffer, cannot block in practice, and a
/// peer that makes it block anyway runs into the caller's handshake timeout.
///
/// # Errors
/// [`HandshakeFailure::Unauthorized`] after a 401 was sent; otherwise whatever made the
/// handshake fail (not HTTP, not an upgrade, the socket failed), and `WsError::Http` after
/// the `refuse` refusal was sent.
pub async fn handshake(
    stream: tokio::net::TcpStream,
    config: WebSocketConfig,
    refuse: Option<(StatusCode, &'static str)>,
    auth: Option<&Auth>,
) -> Result<(WebSocket<Socket>, Identity), HandshakeFailure> {
    // Filled in by the callback, which runs once, when the request has been read.
    let mut verdict: Option<Result<Identity, AuthError>> = None;
    let upgraded = {
        // The error type is tungstenite's callback contract, large or not.
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, response: Response| {
            if let Some((status, why)) = refuse {
                return Err(refusal(status, why));
            }
            let checked = auth.map_or(Ok(Identity::default()), |auth| auth.verify(request));
            let answer = match &checked {
                Ok(_) => Ok(response),
                Err(why) => Err(refusal(StatusCode::UNAUTHORIZED, &why.to_string())),
            };
            verdict = Some(checked);
            answer
        };
        let mut attempt =
            tungstenite::accept_hdr_with_config(Socket::new(stream), callback, Some(config));
        loop {
            match attempt {
                Ok(ws) => break Ok(ws),
                Err(HandshakeError::Failure(err)) => break Err(err),
                Err(HandshakeError::Interrupted(mid)) => {
                    mid.get_ref()
                        .get_ref()
                        .readable()
                        .await
                        .map_err(WsError::Io)?;
                    attempt = mid.handshake();
                }
            }
        }
    };
    match (upgraded, verdict) {
        (Ok(ws), Some(Ok(identity))) => Ok((ws, identity)),
        (_, Some(Err(why))) => Err(HandshakeFailure::Unauthorized(why)),
        (Err(err), _) => Err(err.into()),
        // The library calls back before it upgrades; this is only for the type's sake.
        (Ok(_), None) => {
            Err(WsError::Protocol(tungstenite::error::ProtocolError::HandshakeIncomplete).into())
        }
    }
}

/// An HTTP refusal of the upgrade, with the reason as a plain-text body.
fn refusal(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(format!("{why}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, (why.len() + 1).into());
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// The limits every client is held to, from the server's settings.
#[derive(Debug, Clone, Copy)]
pub struct ClientRules {
    /// Reliable messages that may wait in the outbox.
    pub reliable_cap: usize,
    /// Inputs per second.
    pub inputs: Limit,
    /// Other messages (and malformed frames) per second.
    pub messages: Limit,
    /// How long the socket may refuse our writes before the client is closed as too slow.
    pub stall_timeout: Duration,
}

/// One client's connection.
#[derive(Debug)]
pub struct Client {
    ws: WebSocket<Socket>,
    outbox: Outbox,
    /// A flush is unfinished: nothing new is handed to the library until it is, so a
    /// stalled socket holds at most one tick's messages there and snapshots keep
    /// replacing each other in the outbox instead of piling up.
    flushing: bool,
    close_sent: bool,
    /// Something arrived since the last keep-alive check.
    heard: bool,
    /// A keep-alive ping is to go out with the next write.
    ping_due: bool,
    /// The read side is unusable (an oversize frame is stuck in the library's buffer):
    /// reading again would only fail again.
    read_broken: bool,
    liveness: Liveness,
    /// Since when the socket has refused to take our writes.
    stalled_since: Option<Instant>,
    stall_timeout: Duration,
    inputs: FloodGuard,
    messages: FloodGuard,
    /// Messages in and out since the owner last took the traffic (bytes are in the socket).
    messages_in: u64,
    messages_out: u64,
    metrics: Arc<Metrics>,
    span: Span,
    player: Option<PlayerInfo>,
    identity: Identity,
    /// Counts this connection against the server's limits until the client is dropped.
    _slot: Slot,
}

impl Client {
    /// A client on an upgraded socket, held to `rules`, logging under `span`. It counts as
    /// an open connection until it is dropped, and is then counted as closed, for the reason
    /// its close was asked for (or as abnormal if none was).
    pub fn new(
        ws: WebSocket<Socket>,
        rules: ClientRules,
        metrics: Arc<Metrics>,
        slot: Slot,
        span: Span,
    ) -> Self {
        metrics.connections_accepted.inc();
        metrics.connections_open.inc();
        Self {
            ws,
            outbox: Outbox::new(rules.reliable_cap),
            flushing: false,
            close_sent: false,
            heard: false,
            ping_due: false,
            read_broken: false,
            liveness: Liveness::new(Instant::now()),
            stalled_since: None,
            stall_timeout: rules.stall_timeout,
            inputs: FloodGuard::new(rules.inputs),
            messages: FloodGuard::new(rules.messages),
            messages_in: 0,
            messages_out: 0,
            metrics,
            span,
            player: None,
            identity: Identity::default(),
            _slot: slot,
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

    /// The connection's span (peer address, player id): enter it to log.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Who the client is, once greeted.
    pub fn player(&self) -> Option<&PlayerInfo> {
        self.player.as_ref()
    }

    /// Who the handshake's token said this connection is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Records who the handshake's token said this connection is.
    pub fn set_identity(&mut self, identity: Identity) {
        self.identity = identity;
    }

    /// The user this client is: the token's subject, or `anon-<player id>` without
    /// authentication (empty before hello).
    pub fn user_id(&self) -> String {
        match (&self.identity.user_id, &self.player) {
            (Some(user), _) => user.clone(),
            (None, Some(player)) => format!("anon-{}", player.id),
            (None, None) => String::new(),
        }
    }

    /// True when the connection was lost rather than ended on purpose: no close at all, or
    /// one for silence or a socket that stopped draining. Its player may then resume; one
    /// that said goodbye, broke a rule, or met a shutdown may not.
    pub fn connection_lost(&self) -> bool {
        self.outbox
            .close_request()
            .is_none_or(|c| c.cause.is_loss())
    }

    /// Forgets who the client is (a resume that failed after all): it is back before hello.
    pub fn clear_player(&mut self) {
        self.player = None;
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

    /// The client's socket.
    pub fn socket(&self) -> &Socket {
        self.ws.get_ref()
    }

    /// The client's socket, to switch its mode or start a tick.
    pub fn socket_mut(&mut self) -> &mut Socket {
        self.ws.get_mut()
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
    pub fn wants_write(&self) -> bool {
        self.flushing || self.ping_due || self.outbox.has_pending() || self.outbox.is_closing()
    }

    /// Keep-alive and drain check at `now`: queues a ping when one is due, and closes the
    /// connection with 1008 (then returns [`Beat::Dead`]) when nothing has been heard for
    /// the idle timeout, or the socket has refused our writes for the stall timeout.
    pub fn keep_alive(&mut self, now: Instant, rules: KeepAlive) -> Beat {
        if self
            .stalled_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.stall_timeout)
        {
            self.span
                .in_scope(|| tracing::debug!("socket not drained for the stall timeout; closing"));
            self.close(Close {
                code: Some(CLOSE_POLICY),
                reason: "too slow: not reading its socket",
                cause: CloseCause::Stalled,
            });
            return Beat::Dead;
        }
        let beat = self
            .liveness
            .check(now, std::mem::take(&mut self.heard), rules);
        match beat {
            Beat::Ping => self.ping_due = true,
            Beat::Dead => {
                self.span
                    .in_scope(|| tracing::debug!("nothing heard for the idle timeout; closing"));
                self.close(Close {
                    code: Some(CLOSE_POLICY),
                    reason: "idle timeout: nothing received, not even a pong",
                    cause: CloseCause::Timeout,
                });
            }
            Beat::Quiet => {}
        }
        beat
    }

    /// When [`Client::keep_alive`] next has something to do.
    pub fn keep_alive_due(&self, rules: KeepAlive) -> Instant {
        let due = self.liveness.next_due(rules);
        match self.stalled_since {
            Some(since) => due.min(since + self.stall_timeout),
            None => due,
        }
    }

    /// Reads one frame if one is there (`None` when nothing is). Never panics on what the
    /// peer sent.
    pub fn read_now(&mut self) -> Option<Incoming> {
        if self.read_broken {
            return Some(Incoming::Ended);
        }
        let frame = match self.ws.read() {
            Err(err) if would_block(&err) => return None,
            frame => frame,
        };
        self.heard |= frame.is_ok();
        Some(match frame {
            Ok(Message::Binary(bytes)) => {
                self.messages_in += 1;
                let decoded = ClientMsg::decode(&bytes);
                let (guard, kind) = match decoded {
                    Ok(ClientMsg::Input(_)) => (&self.inputs, Limited::Input),
                    _ => (&self.messages, Limited::Message),
                };
                match guard.check() {
                    Verdict::Allow => match decoded {
                        Ok(msg) => Incoming::Request(msg),
                        Err(err) => Incoming::Malformed(err),
                    },
                    Verdict::Drop => {
                        self.metrics.rate_limited(kind);
                        Incoming::Nothing
                    }
                    Verdict::Flooding => self.refuse(
                        CLOSE_POLICY,
                        match kind {
                            Limited::Input => "flooding: too many inputs",
                            Limited::Message => "flooding: too many messages",
                        },
                        CloseCause::Flood,
                    ),
                }
            }
            Ok(Message::Text(_)) => {
                self.messages_in += 1;
                self.refuse(
                    CLOSE_UNSUPPORTED,
                    "text frames are not supported; send binary MessagePack",
                    CloseCause::BadInput,
                )
            }
            Ok(Message::Close(_)) => {
                self.close(Close {
                    code: None,
                    reason: "",
                    cause: CloseCause::Clean,
                });
                Incoming::Closing
            }
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Incoming::Nothing,
            Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                self.span
                    .in_scope(|| tracing::debug!(size, max_size, "refused an oversize frame"));
                self.read_broken = true;
                self.refuse(CLOSE_TOO_BIG, "message too big", CloseCause::Oversize)
            }
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Incoming::Ended,
            Err(err) => {
                self.span
                    .in_scope(|| tracing::debug!(cause = %err, "read failed; ending connection"));
                Incoming::Ended
            }
        })
    }

    fn refuse(&mut self, code: u16, reason: &'static str, cause: CloseCause) -> Incoming {
        self.span
            .in_scope(|| tracing::debug!(code, reason, "closing connection"));
        self.close(Close {
            code: Some(code),
            reason,
            cause,
        });
        Incoming::Closing
    }

    /// Hands everything queued to the socket and flushes once; then the close frame, if
    /// one is due. Resumable: what the socket could not take yet stays for the next call.
    ///
    /// # Errors
    /// The socket failed; the connection is over.
    pub fn write_now(&mut self) -> Result<Flow, WsError> {
        if self.flushing {
            match self.flush()? {
                Flow::Open => {}
                other => return Ok(other),
            }
        }
        let closing = self.outbox.close_request().cloned();
        if !self.outbox.has_pending() && !self.ping_due && closing.is_none() {
            return Ok(Flow::Open);
        }
        if std::mem::take(&mut self.ping_due) && closing.is_none() {
            write_message(&mut self.ws, Message::Ping(Bytes::new()))?;
        }
        if closing.as_ref().is_some_and(|c| c.code.is_none()) {
            // The peer closed first: it will read nothing more but the library's reply.
            self.outbox.drain_reliable().for_each(drop);
            self.outbox.take_snapshot();
        }
        // Everything goes into the library's buffer at once (on `WouldBlock` it keeps the
        // message queued); `flushing` then holds back the next batch until this one is out.
        for msg in self.outbox.drain_reliable() {
            self.messages_out += 1;
            write_message(&mut self.ws, Message::Binary(msg))?;
        }
        if let Some(snapshot) = self.outbox.take_snapshot() {
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
        self.flush()
    }

    /// True once the close this connection ends with has been handed to the library: ours,
    /// or the library's own reply when the peer closed first.
    fn close_handed_over(&self) -> bool {
        self.outbox
            .close_request()
            .is_some_and(|c| c.code.is_none() || self.close_sent)
    }

    fn flush(&mut self) -> Result<Flow, WsError> {
        match self.ws.flush() {
            Ok(()) => {
                self.flushing = false;
                self.stalled_since = None;
                Ok(if self.close_handed_over() {
                    Flow::Closed
                } else {
                    Flow::Open
                })
            }
            Err(err) if would_block(&err) => {
                self.stalled_since.get_or_insert_with(Instant::now);
                Ok(Flow::Blocked)
            }
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                self.flushing = false;
                Ok(Flow::Closed)
            }
            Err(err) => Err(err),
        }
    }

    /// Ends the connection: sends what is queued and the close frame (1000 unless another
    /// was asked for), then reads until the peer answers or hangs up, so the socket is not
    /// reset under data the peer has yet to read. All within `grace`.
    pub async fn finish(mut self, grace: Duration) {
        if !self.is_closing() {
            self.close(Close {
                code: Some(CLOSE_NORMAL),
                reason: "",
                cause: CloseCause::Clean,
            });
        }
        if self.socket_mut().to_reactor().is_err() {
            return;
        }
        let span = self.span.clone();
        let ended = tokio::time::timeout(grace, async {
            loop {
                match self.write_now() {
                    Ok(Flow::Closed) | Err(_) => break,
                    Ok(Flow::Open) => {}
                    Ok(Flow::Blocked) => {
                        if self.socket().writable().await.is_err() {
                            return;
                        }
                    }
                }
            }
            loop {
                match self.read_now() {
                    Some(Incoming::Ended) => return,
                    Some(_) => {}
                    None => {
                        if self.socket().readable().await.is_err() {
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

impl Drop for Client {
    fn drop(&mut self) {
        let cause = self
            .outbox
            .close_request()
            .map_or(CloseCause::Abnormal, |c| c.cause);
        let traffic = self.take_traffic();
        self.metrics.add_traffic(traffic);
        self.metrics.closed(cause);
        self.span.in_scope(|| match cause {
            CloseCause::Shutdown => tracing::debug!(reason = cause.label(), "connection closed"),
            _ => tracing::info!(reason = cause.label(), "connection closed"),
        });
    }
}
