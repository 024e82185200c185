//! One client connection: the WebSocket handshake, then the reader that turns frames into
//! requests, with the writer (see `writer.rs`) running beside it as its own task.
//!
//! The reader owns the connection's protocol state: greeted or not, in a room or not. It
//! answers what it can at once (welcome, pong, errors) through its link, and passes
//! joins to the registry and inputs to the room. Nothing a peer sends can panic it: each
//! bad frame gets an error message, and text or oversize frames close the connection with
//! a code and a reason.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::SplitStream;
use tickwire_shared::{
    ClientMsg, DecodeError, Error as ErrorMsg, ErrorCode, Hello, Input, Join, Message as _,
    PROTOCOL_VERSION, PlayerId, PlayerInfo, Pong, Welcome, encode,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, error::CapacityError};
use tracing::Span;

use crate::context::ServerContext;
use crate::game::ValidInput;
use crate::input_queue::{InputSender, input_queue};
use crate::link::Link;
use crate::metrics::Metrics;
use crate::outbox::{CLOSE_GOING_AWAY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, Close};
use crate::room::RoomCmd;
use crate::rooms::{JoinRefused, RoomHandle};
use crate::writer;

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
        // Frames are gathered until our one flush per tick; this only caps the gathering.
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Serves one accepted TCP connection to its end. Errors are logged here, never returned.
pub async fn serve(stream: TcpStream, ctx: Arc<ServerContext>) {
    // Snapshots are latency-sensitive and already batched per tick: never wait for Nagle.
    let _ = stream.set_nodelay(true);
    let handshake =
        tokio_tungstenite::accept_async_with_config(stream, Some(websocket_config(&ctx)));
    let ws = match tokio::time::timeout(ctx.config.handshake_timeout(), handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(err)) => {
            Metrics::inc(&ctx.metrics.handshakes_failed);
            tracing::debug!(cause = %err, "handshake failed");
            return;
        }
        Err(_) => {
            Metrics::inc(&ctx.metrics.handshakes_failed);
            tracing::debug!("handshake timed out");
            return;
        }
    };
    Metrics::inc(&ctx.metrics.connections_accepted);
    let (sink, stream) = ws.split();
    let link = Arc::new(Link::new(sink, ctx.config.reliable_queue));
    // The reader and the writer enter the connection's span only to log: entering it on
    // every poll cost about 4% of the server's CPU under a swarm.
    let span = Span::current();
    let conn = Connection {
        ctx: Arc::clone(&ctx),
        link: Arc::clone(&link),
        span: span.clone(),
        player: None,
        room: None,
    };
    let mut writer = tokio::spawn(writer::run(Arc::clone(&link), span));
    let mut reader = tokio::spawn(read_frames(stream, conn));

    // This task wakes only when the connection ends. The reader and the writer do the
    // per-frame work, each with a plain loop and nothing else to poll on every wake-up.
    let mut writer_finished = false;
    tokio::select! {
        _ = ctx.shutdown.cancelled() => {
            link.close(Close { code: Some(CLOSE_GOING_AWAY), reason: "server shutting down" });
        }
        _ = &mut reader => {}
        _ = &mut writer => writer_finished = true,
    }
    link.close(Close {
        code: Some(1000),
        reason: "",
    });
    if !writer_finished
        && tokio::time::timeout(ctx.config.shutdown_grace(), &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
    // Stopping the reader drops its input queue, which is how the room learns the player left.
    reader.abort();
    tracing::debug!("connection ended");
}

/// Reads frames until the peer closes, breaks a rule, or the outbox closes.
async fn read_frames(mut stream: SplitStream<WebSocketStream<TcpStream>>, mut conn: Connection) {
    while let Some(frame) = stream.next().await {
        let link = &conn.link;
        let span = &conn.span;
        match frame {
            Ok(Message::Binary(bytes)) => conn.on_frame(&bytes),
            Ok(Message::Text(_)) => {
                Metrics::inc(&conn.ctx.metrics.frames_refused);
                span.in_scope(|| tracing::debug!("refused a text frame"));
                link.close(Close {
                    code: Some(CLOSE_UNSUPPORTED),
                    reason: "text frames are not supported; send binary MessagePack",
                });
            }
            Ok(Message::Close(_)) => link.close(Close {
                code: None,
                reason: "",
            }),
            // Pings are answered by the library; pongs and raw frames need nothing.
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                Metrics::inc(&conn.ctx.metrics.frames_refused);
                span.in_scope(|| tracing::debug!(size, max_size, "refused an oversize frame"));
                link.close(Close {
                    code: Some(CLOSE_TOO_BIG),
                    reason: "message too big",
                });
            }
            Err(err) => {
                span.in_scope(|| tracing::debug!(cause = %err, "read failed; ending connection"));
                return;
            }
        }
        if conn.link.outbox().is_closing() {
            return;
        }
    }
}

/// Where a connection is in its life.
struct InRoom {
    room: RoomHandle,
    inputs: InputSender,
}

struct Connection {
    ctx: Arc<ServerContext>,
    link: Arc<Link>,
    /// The connection's span (peer address, player id), entered to log.
    span: Span,
    /// Set by a valid hello.
    player: Option<PlayerInfo>,
    room: Option<InRoom>,
}

impl Connection {
    fn reply(&self, msg: Bytes) {
        if !self.link.send_reliable(msg) {
            Metrics::inc(&self.ctx.metrics.clients_too_slow);
        }
    }

    fn error(&self, code: ErrorCode, message: impl Into<String>, in_reply_to: Option<u8>) {
        self.reply(encode(&ErrorMsg {
            code,
            message: message.into(),
            in_reply_to,
        }));
    }

    fn on_frame(&mut self, frame: &[u8]) {
        let msg = match ClientMsg::decode(frame) {
            Ok(msg) => msg,
            Err(err) => return self.on_bad_frame(&err),
        };
        let kind = Some(msg.kind());
        match (msg, &self.player) {
            (ClientMsg::Hello(hello), None) => self.on_hello(hello),
            (ClientMsg::Hello(_), Some(_)) => {
                self.error(ErrorCode::BAD_STATE, "hello was already sent", kind);
            }
            (_, None) => self.error(ErrorCode::BAD_STATE, "send hello first", kind),
            (ClientMsg::Join(join), Some(_)) => self.on_join(join),
            (ClientMsg::Leave(_), Some(_)) => {
                if self.room.take().is_none() {
                    self.error(ErrorCode::NOT_IN_ROOM, "not in a room", kind);
                }
            }
            (ClientMsg::Input(input), Some(_)) => self.on_input(&input),
            (ClientMsg::Ping(ping), Some(_)) => {
                let server_tick = self
                    .room
                    .as_ref()
                    .map_or(0, |r| r.room.shared.tick.load(Ordering::Relaxed));
                self.reply(encode(&Pong {
                    client_time: ping.client_time,
                    server_tick,
                }));
            }
        }
    }

    fn on_bad_frame(&self, err: &DecodeError) {
        Metrics::inc(&self.ctx.metrics.frames_malformed);
        self.span
            .in_scope(|| tracing::debug!(cause = %err, "malformed frame"));
        self.error(err.code(), err.to_string(), err.kind());
    }

    fn on_hello(&mut self, hello: Hello) {
        let kind = Some(Hello::KIND);
        if hello.version != PROTOCOL_VERSION {
            self.error(
                ErrorCode::VERSION_MISMATCH,
                format!(
                    "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
                    hello.version
                ),
                kind,
            );
            self.link.close(Close {
                code: Some(CLOSE_PROTOCOL),
                reason: "protocol version mismatch",
            });
            return;
        }
        if !valid_display_name(&hello.name) {
            self.error(
                ErrorCode::INVALID_VALUE,
                "names are 1 to 32 characters with no control characters",
                kind,
            );
            return;
        }
        let id: PlayerId = self.ctx.new_player_id();
        self.span.record("player", id);
        self.reply(encode(&Welcome {
            player_id: id,
            tick_rate: self.ctx.config.tick_rate,
            protocol_version: PROTOCOL_VERSION,
        }));
        self.player = Some(PlayerInfo {
            id,
            name: hello.name,
        });
    }

    fn on_join(&mut self, join: Join) {
        let kind = Some(Join::KIND);
        let Some(player) = self.player.clone() else {
            return;
        };
        if self.room.is_some() {
            self.error(
                ErrorCode::NOT_IN_ROOM,
                "already in a room; leave first",
                kind,
            );
            return;
        }
        let (room, seat) = match self.ctx.rooms.reserve(&self.ctx, join.room.as_deref()) {
            Ok(reserved) => reserved,
            Err(refused) => {
                let code = match refused {
                    JoinRefused::Full(_) => ErrorCode::ROOM_FULL,
                    JoinRefused::BadName => ErrorCode::INVALID_VALUE,
                    JoinRefused::TooManyRooms => ErrorCode::UNAVAILABLE,
                };
                self.error(code, refused.to_string(), kind);
                return;
            }
        };
        let (inputs, input_rx) = input_queue(self.ctx.config.input_queue);
        let cmd = RoomCmd::Join {
            seat,
            player,
            link: Arc::clone(&self.link),
            inputs: input_rx,
        };
        // The room drains its queue every tick; a full queue means the room is stuck or
        // gone, and the seat is handed back when the command is dropped.
        if let Err(err) = room.cmds.try_send(cmd) {
            let why = match err {
                TrySendError::Full(_) => "the room is busy; try again",
                TrySendError::Closed(_) => "the room is closing; try again",
            };
            self.error(ErrorCode::UNAVAILABLE, why, kind);
            return;
        }
        self.span
            .in_scope(|| tracing::debug!(room = %room.shared.name, "joining room"));
        self.room = Some(InRoom { room, inputs });
    }

    fn on_input(&mut self, input: &Input) {
        let kind = Some(Input::KIND);
        let Some(in_room) = &self.room else {
            self.error(ErrorCode::NOT_IN_ROOM, "input outside a room", kind);
            return;
        };
        let valid = match ValidInput::new(input) {
            Ok(valid) => valid,
            Err(err) => {
                Metrics::inc(&self.ctx.metrics.inputs_invalid);
                self.error(ErrorCode::INVALID_VALUE, err.to_string(), kind);
                return;
            }
        };
        if !in_room.inputs.push(valid) {
            Metrics::inc(&self.ctx.metrics.inputs_dropped);
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
