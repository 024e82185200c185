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
    ClientMsg, ErrorCode, Hello, Join, Message as _, PROTOCOL_VERSION, PlayerInfo, Pong, Welcome,
    encode,
};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::Span;

use crate::client::{self, Client, Flow, Incoming};
use crate::context::ServerContext;
use crate::heartbeat::Beat;
use crate::metrics::{CloseCause, Refusal};
use crate::outbox::{CLOSE_GOING_AWAY, CLOSE_PROTOCOL, Close};
use crate::room::RoomCmd;
use crate::rooms::JoinRefused;

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
    let handshake = client::handshake(stream, websocket_config(&ctx), refuse);
    let handshake = tokio::time::timeout(ctx.config.handshake_timeout(), handshake).await;
    drop(handshake_permit);
    let (ws, slot) = match (handshake, slot) {
        (Ok(Ok(ws)), Ok(slot)) => (ws, slot),
        (_, Err(refusal)) => {
            ctx.metrics.refused(refusal);
            tracing::info!(reason = refusal.label(), "refused connection");
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
    let client = Client::new(
        ws,
        ctx.client_rules,
        Arc::clone(&ctx.metrics),
        slot,
        Span::current(),
    );
    lobby(client, ctx).await;
}

/// Serves a client that is not in a room, until it joins one (and moves there) or the
/// connection ends. Each round writes what is queued and reads what has arrived, and
/// only when neither can make progress sleeps until the socket is ready: a peer that does
/// not read its replies still has its requests (and its close) read.
pub async fn lobby(mut client: Client, ctx: Arc<ServerContext>) {
    if client.socket_mut().to_reactor().is_err() {
        return;
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
                    return;
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
                Some(Err(_)) => return,
            }
        };
        // A peer that keeps frames coming must not keep this task from yielding: the
        // runtime's budget makes it step aside now and then, and shutdown is looked at.
        tokio::task::coop::consume_budget().await;
        if shutdown.is_cancelled() {
            client.close(SHUTTING_DOWN);
            break;
        }
        match incoming {
            Incoming::Request(ClientMsg::Join(join)) => match try_join(&ctx, client, join) {
                None => return,
                Some(back) => {
                    client = back;
                    if client.socket_mut().to_reactor().is_err() {
                        return;
                    }
                }
            },
            Incoming::Request(msg) => on_request(&ctx, &mut client, msg),
            Incoming::Malformed(err) => {
                ctx.metrics.frames_malformed.inc();
                client
                    .span()
                    .in_scope(|| tracing::debug!(cause = %err, "malformed frame"));
                client.error(err.code(), err.to_string(), err.kind());
            }
            Incoming::Closing => break,
            Incoming::Ended => return,
            Incoming::Nothing => {}
        }
        if client.is_closing() {
            break;
        }
    }
    client.finish(ctx.config.shutdown_grace()).await;
    tracing::debug!("connection ended");
}

/// Answers a lobby request other than join.
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
        // The lobby loop routes joins to `try_join`; none reaches here.
        (ClientMsg::Join(_), true) => debug_assert!(false, "join routed to on_request"),
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
    if !valid_display_name(&hello.name) {
        client.error(
            ErrorCode::INVALID_VALUE,
            "names are 1 to 32 characters with no control characters",
            kind,
        );
        return;
    }
    let id = ctx.new_player_id();
    client.send(encode(&Welcome {
        player_id: id,
        tick_rate: ctx.config.tick_rate,
        protocol_version: PROTOCOL_VERSION,
    }));
    client.set_player(PlayerInfo {
        id,
        name: hello.name,
    });
}

/// Moves the client to the room it asked for; gives it back, with an error queued, when
/// that cannot be done.
fn try_join(ctx: &Arc<ServerContext>, mut client: Client, join: Join) -> Option<Client> {
    let kind = Some(Join::KIND);
    if client.player().is_none() {
        client.error(ErrorCode::BAD_STATE, "send hello first", kind);
        return Some(client);
    }
    let (room, seat) = match ctx.rooms.reserve(ctx, join.room.as_deref()) {
        Ok(reserved) => reserved,
        Err(refused) => {
            let code = match refused {
                JoinRefused::Full(_) => ErrorCode::ROOM_FULL,
                JoinRefused::BadName => ErrorCode::INVALID_VALUE,
                JoinRefused::TooManyRooms => ErrorCode::UNAVAILABLE,
            };
            client.error(code, refused.to_string(), kind);
            return Some(client);
        }
    };
    client
        .span()
        .in_scope(|| tracing::debug!(room = %room.shared.name, "joining room"));
    // From now on the room polls the socket once per tick: take it out of the reactor, so
    // arriving packets no longer wake the runtime one by one.
    if let Err(err) = client.socket_mut().to_polled() {
        client
            .span()
            .in_scope(|| tracing::debug!(cause = %err, "cannot hand the socket to the room"));
        return None;
    }
    // The room drains its queue every tick; a full queue means the room is stuck or gone.
    // The seat is handed back when the command is dropped.
    match room.cmds.try_send(RoomCmd::Join { seat, client }) {
        Ok(()) => None,
        Err(TrySendError::Full(RoomCmd::Join { mut client, .. })) => {
            client.error(ErrorCode::UNAVAILABLE, "the room is busy; try again", kind);
            Some(client)
        }
        Err(TrySendError::Closed(RoomCmd::Join { mut client, .. })) => {
            client.error(
                ErrorCode::UNAVAILABLE,
                "the room is closing; try again",
                kind,
            );
            Some(client)
        }
    }
}

/// Display names are 1 to 32 characters with no control characters.
fn valid_display_name(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=32).contains(&chars) && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_follow_the_rule() {
        for ok in ["a", "Ana María", "忍者", &"x".repeat(32)] {
            assert!(valid_display_name(ok), "{ok}");
        }
        for bad in ["", "a\nb", "\u{7}", &"x".repeat(33)] {
            assert!(!valid_display_name(bad), "{bad:?}");
        }
    }
}
