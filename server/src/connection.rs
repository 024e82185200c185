//! A connection's start and its time in the lobby: the WebSocket handshake, then the
//! requests of a client that is not in a room (hello, join, ping).
//!
//! The connection task owns its [`Client`] until a join succeeds; then the client moves to
//! its room, which reads and writes it from then on, and this task ends. A client that
//! leaves its room comes back to a new lobby task. Nothing a peer sends can panic this:
//! each bad frame gets an error message, and text or oversize frames close the connection
//! with a code and a reason.

use std::net::SocketAddr;
use std::sync::Arc;

use tickwire_shared::{
    ChatAck, ClientMsg, Create, ErrorCode, Hello, Join, Message as _, PROTOCOL_VERSION, PlayerInfo,
    Pong, Resume, Resumed, Welcome, encode,
};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::Span;

use crate::auth::valid_display_name;
use crate::chat::ChatRefusal;
use crate::client::{self, Client, Flow, HandshakeFailure, Incoming};
use crate::context::ServerContext;
use crate::heartbeat::Beat;
use crate::metrics::{CloseCause, Refusal};
use crate::outbox::{CLOSE_GOING_AWAY, CLOSE_PROTOCOL, Close};
use crate::room::RoomCmd;
use crate::rooms::{JoinRefused, Request, RoomHandle};

/// The close every client gets when the server shuts down.
pub const SHUTTING_DOWN: Close = Close {
    code: Some(CLOSE_GOING_AWAY),
    reason: "server shutting down",
    cause: CloseCause::Shutdown,
};

/// Enough for a burst of a dozen inputs in one read; bigger frames take a few reads.
const READ_BUFFER_BYTES: usize = 512;

/// The WebSocket settings for one client, from the server's limits: a small read buffer
/// (thousands of idle players should cost kilobytes; and the library zeroes the buffer's
/// free space before every read, so its size is paid per read), messages no bigger than
/// the protocol needs, and a write buffer bounded so one client cannot hold much memory.
fn websocket_config(ctx: &ServerContext) -> WebSocketConfig {
    let max = ctx.config.max_message_bytes;
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Frames are gathered until the one flush per tick; this only caps the gathering.
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Kernel receive buffer per client: a client sends a few dozen bytes a tick, and what a
/// flood puts beyond this waits in the client's own send buffer, not in our memory.
const SOCKET_RECV_BYTES: usize = 16 * 1024;
/// Kernel send buffer per client: dozens of snapshots of a full room, so a brief stall
/// costs nothing, while a client that stops reading holds a bounded amount of memory.
const SOCKET_SEND_BYTES: usize = 256 * 1024;

/// Fixed buffer sizes (which also turn off the kernel's per-read autotuning) and no Nagle:
/// snapshots are latency-sensitive and already batched one write per tick.
fn tune_socket(stream: &TcpStream) {
    let sock = socket2::SockRef::from(stream);
    let _ = sock.set_tcp_nodelay(true);
    let _ = sock.set_recv_buffer_size(SOCKET_RECV_BYTES);
    let _ = sock.set_send_buffer_size(SOCKET_SEND_BYTES);
}

/// Serves one accepted TCP connection: handshake, then the lobby. A peer over the
/// connection limits is answered with an HTTP refusal instead of the upgrade. Errors are
/// logged here, never returned.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    handshake_permit: OwnedSemaphorePermit,
    ctx: Arc<ServerContext>,
) {
    tune_socket(&stream);
    let slot = ctx.limits.acquire(peer.ip());
    let refuse = match slot {
        Ok(_) => None,
        Err(Refusal::PerIp) => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from your address",
        )),
        Err(_) => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its connection limit",
        )),
    };
    let handshake = client::handshake(stream, websocket_config(&ctx), refuse, ctx.auth.as_ref());
    let handshake = tokio::time::timeout(ctx.config.handshake_timeout(), handshake).await;
    drop(handshake_permit);
    let (ws, identity, slot) = match (handshake, slot) {
        (Ok(Ok((ws, identity))), Ok(slot)) => (ws, identity, slot),
        (_, Err(refusal)) => {
            ctx.metrics.refused(refusal);
            tracing::info!(reason = refusal.label(), "refused connection");
            return;
        }
        (Ok(Err(HandshakeFailure::Unauthorized(why))), Ok(_)) => {
            let refusal = Refusal::Unauthorized;
            ctx.metrics.refused(refusal);
            tracing::info!(reason = refusal.label(), cause = %why, "refused connection");
            return;
        }
        (Ok(Err(err)), Ok(_)) => {
            ctx.metrics.refused(Refusal::HandshakeFailed);
            tracing::debug!(cause = %err, "handshake failed");
            return;
        }
        (Err(_), Ok(_)) => {
            ctx.metrics.refused(Refusal::HandshakeTimeout);
            tracing::debug!("handshake timed out");
            return;
        }
    };
    let mut client = Client::new(
        ws,
        ctx.client_rules,
        Arc::clone(&ctx.metrics),
        slot,
        Span::current(),
    );
    client.set_identity(identity);
    lobby(client, ctx).await;
}

/// Serves a client that is not in a room, until it joins one (and moves there) or the
/// connection ends. Each round writes what is queued and reads what has arrived, and
/// only when neither can make progress sleeps until the socket is ready: a peer that does
/// not read its replies still has its requests (and its close) read.
pub async fn lobby(client: Client, ctx: Arc<ServerContext>) {
    let Some((client, finish)) = lobby_loop(client, &ctx).await else {
        return; // moved to a room
    };
    end_session(&ctx, &client);
    if finish {
        client.finish(ctx.config.shutdown_grace()).await;
    }
    tracing::debug!("connection ended");
}

/// A lobby connection is over: a player that went without a goodbye keeps its session for
/// the resume grace; one that closed cleanly, or broke a rule, has none.
fn end_session(ctx: &ServerContext, client: &Client) {
    let Some(player) = client.player() else {
        return;
    };
    if client.connection_lost() {
        ctx.sessions
            .connection_lost(player.id, std::time::Instant::now());
    } else {
        ctx.sessions.end(player.id);
    }
}

/// The lobby itself: `None` once the client moved to a room, otherwise the client and
/// whether its close still has to be sent.
async fn lobby_loop(mut client: Client, ctx: &Arc<ServerContext>) -> Option<(Client, bool)> {
    if client.socket_mut().to_reactor().is_err() {
        return Some((client, false));
    }
    let shutdown = ctx.shutdown.clone();
    let keep_alive = ctx.config.keep_alive();
    loop {
        ctx.metrics.add_traffic(client.take_traffic());
        if client.keep_alive(std::time::Instant::now(), keep_alive) == Beat::Dead {
            break;
        }
        let mut blocked = false;
        if client.wants_write() {
            match client.write_now() {
                Ok(Flow::Open) => {}
                Ok(Flow::Blocked) => blocked = true,
                Ok(Flow::Closed) => break,
                Err(err) => {
                    client.span().in_scope(
                        || tracing::debug!(cause = %err, "write failed; ending connection"),
                    );
                    return Some((client, false));
                }
            }
        }
        let Some(incoming) = client.read_now() else {
            let due = client.keep_alive_due(keep_alive);
            let socket = client.socket();
            let ready = tokio::select! {
                biased;
                _ = shutdown.cancelled() => None,
                ready = socket.readable() => Some(ready),
                ready = socket.writable(), if blocked => Some(ready),
                () = tokio::time::sleep_until(due.into()) => Some(Ok(())),
            };
            match ready {
                None => {
                    client.close(SHUTTING_DOWN);
                    break;
                }
                Some(Ok(())) => continue,
                Some(Err(_)) => return Some((client, false)),
            }
        };
        // A peer that keeps frames coming must not keep this task from yielding: the
        // runtime's budget makes it step aside now and then, and shutdown is looked at.
        tokio::task::coop::consume_budget().await;
        if shutdown.is_cancelled() {
            client.close(SHUTTING_DOWN);
            break;
        }
        // A join, create or resume moves the client to a room (this task ends), or gives
        // it back with an error queued.
        match incoming {
            Incoming::Request(ClientMsg::Join(join)) => {
                let request = Request::Join {
                    room: join.room.as_deref(),
                    key: join.key.as_deref(),
                };
                client = try_enter(ctx, client, request, Join::KIND)?;
            }
            Incoming::Request(ClientMsg::Create(create)) => {
                let request = Request::Create {
                    room: &create.room,
                    private: create.private,
                    key: create.key.as_deref(),
                    capacity: create.capacity,
                };
                client = try_enter(ctx, client, request, Create::KIND)?;
            }
            Incoming::Request(ClientMsg::Resume(resume)) => {
                client = try_resume(ctx, client, &resume)?;
            }
            Incoming::Request(msg) => on_request(ctx, &mut client, msg),
            Incoming::Malformed(err) => {
                ctx.metrics.frames_malformed.inc();
                client
                    .span()
                    .in_scope(|| tracing::debug!(cause = %err, "malformed frame"));
                client.error(err.code(), err.to_string(), err.kind());
            }
            Incoming::Closing => break,
            Incoming::Ended => return Some((client, false)),
            Incoming::Nothing => {}
        }
        // A client given back was already switched to the room's polling; a no-op otherwise.
        if client.socket_mut().to_reactor().is_err() {
            return Some((client, false));
        }
        if client.is_closing() {
            break;
        }
    }
    Some((client, true))
}

/// Answers a lobby request other than join, create and resume.
fn on_request(ctx: &ServerContext, client: &mut Client, msg: ClientMsg) {
    let kind = Some(msg.kind());
    match (msg, client.player().is_some()) {
        (ClientMsg::Hello(hello), false) => on_hello(ctx, client, hello),
        (ClientMsg::Hello(_), true) => {
            client.error(ErrorCode::BAD_STATE, "hello was already sent", kind);
        }
        (_, false) => client.error(ErrorCode::BAD_STATE, "send hello first", kind),
        (ClientMsg::Ping(ping), true) => {
            client.send(encode(&Pong {
                client_time: ping.client_time,
                server_tick: 0,
            }));
        }
        (ClientMsg::Leave(_) | ClientMsg::Input(_), true) => {
            client.error(ErrorCode::NOT_IN_ROOM, "not in a room", kind);
        }
        (ClientMsg::Chat(chat), true) => {
            client.send(encode(&ChatAck {
                id: chat.id,
                server_id: 0,
                time_ms: 0,
                refused: Some(ChatRefusal::NotInRoom.reason().to_owned()),
            }));
        }
        // The lobby loop routes these elsewhere; none reaches here.
        (ClientMsg::Join(_) | ClientMsg::Create(_) | ClientMsg::Resume(_), true) => {
            debug_assert!(false, "routed to on_request");
        }
    }
}

fn on_hello(ctx: &ServerContext, client: &mut Client, hello: Hello) {
    let kind = Some(Hello::KIND);
    if hello.version != PROTOCOL_VERSION {
        client.error(
            ErrorCode::VERSION_MISMATCH,
            format!(
                "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
                hello.version
            ),
            kind,
        );
        client.close(Close {
            code: Some(CLOSE_PROTOCOL),
            reason: "protocol version mismatch",
            cause: CloseCause::BadInput,
        });
        return;
    }
    // With a token, its name is the player's; the hello's is for anonymous players.
    let name = match client.identity().name.clone() {
        Some(name) => name,
        None if valid_display_name(&hello.name) => hello.name,
        None => {
            client.error(
                ErrorCode::INVALID_VALUE,
                "names are 1 to 32 characters with no control characters",
                kind,
            );
            return;
        }
    };
    let player = PlayerInfo {
        id: ctx.new_player_id(),
        name,
    };
    client.set_player(player.clone());
    let user_id = client.user_id();
    let resume_token = ctx.sessions.open(player.clone(), user_id.clone());
    client.send(encode(&Welcome {
        player_id: player.id,
        tick_rate: ctx.config.tick_rate,
        protocol_version: PROTOCOL_VERSION,
        resume_token,
        user_id,
    }));
}

/// Takes a lost player back: into its room (which answers), or, if it was in none, right
/// here. A refused resume leaves the connection as it was, before hello.
fn try_resume(ctx: &Arc<ServerContext>, mut client: Client, resume: &Resume) -> Option<Client> {
    let kind = Some(Resume::KIND);
    if client.player().is_some() {
        client.error(
            ErrorCode::BAD_STATE,
            "resume must be the first message",
            kind,
        );
        return Some(client);
    }
    let user = client.identity().user_id.clone();
    let ticket =
        match ctx
            .sessions
            .redeem(&resume.token, user.as_deref(), std::time::Instant::now())
        {
            Ok(ticket) => ticket,
            Err(refused) => {
                client
                    .span()
                    .in_scope(|| tracing::debug!(%refused, "resume refused"));
                client.error(ErrorCode::RESUME_REFUSED, refused.to_string(), kind);
                return Some(client);
            }
        };
    client.set_player(ticket.player.clone());
    let Some(room_name) = ticket.room else {
        client.send(encode(&Resumed {
            player_id: ticket.player.id,
            room: None,
            players: Vec::new(),
            resume_token: ticket.token,
        }));
        return Some(client);
    };
    let room = ctx.rooms.get(&room_name);
    let Some(room) = room else {
        // The room closed: its players' sessions ended with it.
        ctx.sessions.end(ticket.player.id);
        client.clear_player();
        client.error(ErrorCode::RESUME_REFUSED, "the room is gone", kind);
        return Some(client);
    };
    let cmd = RoomCmd::Resume {
        client,
        token: ticket.token,
    };
    send_to_room(&room, cmd, kind)
}

/// Moves the client to the room its join or create asks for; gives it back, with an error
/// queued, when that cannot be done.
fn try_enter(
    ctx: &Arc<ServerContext>,
    mut client: Client,
    request: Request<'_>,
    kind: u8,
) -> Option<Client> {
    let kind = Some(kind);
    if client.player().is_none() {
        client.error(ErrorCode::BAD_STATE, "send hello first", kind);
        return Some(client);
    }
    let user = client.user_id();
    let (room, seat) = match ctx.rooms.reserve(ctx, request, &user, client.identity()) {
        Ok(reserved) => reserved,
        Err(refused) => {
            let code = match refused {
                JoinRefused::Full(_) => ErrorCode::ROOM_FULL,
                JoinRefused::BadName | JoinRefused::BadCapacity(_) => ErrorCode::INVALID_VALUE,
                JoinRefused::TooManyRooms => ErrorCode::UNAVAILABLE,
                JoinRefused::NotFound(_) => ErrorCode::NOT_FOUND,
                JoinRefused::AccessDenied(_) => ErrorCode::ACCESS_DENIED,
                JoinRefused::Exists(_) => ErrorCode::ROOM_EXISTS,
            };
            client.error(code, refused.to_string(), kind);
            return Some(client);
        }
    };
    client
        .span()
        .in_scope(|| tracing::debug!(room = %room.shared.name, "joining room"));
    send_to_room(&room, RoomCmd::Join { seat, client }, kind)
}

/// Hands the client in `cmd` to `room`; gives it back, with an error queued, when the room
/// cannot take it.
fn send_to_room(room: &RoomHandle, mut cmd: RoomCmd, kind: Option<u8>) -> Option<Client> {
    // From now on the room polls the socket once per tick: take it out of the reactor, so
    // arriving packets no longer wake the runtime one by one.
    if let Err(err) = cmd.client_mut().socket_mut().to_polled() {
        cmd.client_mut()
            .span()
            .in_scope(|| tracing::debug!(cause = %err, "cannot hand the socket to the room"));
        return None;
    }
    // The room drains its queue every tick; a full queue means the room is stuck or gone.
    // A join's seat is handed back when the command is dropped.
    let (cmd, why) = match room.cmds.try_send(cmd) {
        Ok(()) => return None,
        Err(TrySendError::Full(cmd)) => (cmd, "the room is busy; try again"),
        Err(TrySendError::Closed(cmd)) => (cmd, "the room is closing; try again"),
    };
    let mut client = cmd.into_client();
    if kind == Some(Resume::KIND) {
        client.clear_player();
        client.error(ErrorCode::RESUME_REFUSED, why, kind);
    } else {
        client.error(ErrorCode::UNAVAILABLE, why, kind);
    }
    Some(client)
}
