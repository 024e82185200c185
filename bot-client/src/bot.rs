//! One bot's life: wait for its start, connect, say hello, join its room, then play
//! (inputs, pings, reading every frame) until the swarm's deadline, and close.
//!
//! Everything a bot does is bounded in time: the handshake by [`CONNECT_TIMEOUT`], every
//! send by the deadline (a server that stops reading cannot hold a bot past it), and the
//! closing handshake by [`CLOSE_GRACE`]. Nothing the server sends can make a bot panic:
//! bad frames are counted as errors and the bot carries on.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{
    ClientMsg, Hello, Join, PROTOCOL_VERSION, Ping, PlayerId, ServerMsg, encode_client,
};
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

use crate::ack::AckTracker;
use crate::live::LiveCounters;
use crate::stats::{BotStats, ErrorKind};
use crate::walk::Walk;
use crate::{CLOSE_GRACE, CONNECT_TIMEOUT};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type WsSink = SplitSink<Ws, Message>;
type WsStream = SplitStream<Ws>;

/// Unacknowledged inputs remembered per bot: 17 s at 60 Hz, far beyond any healthy ack.
const ACK_WINDOW: usize = 1024;

/// What every bot shares: where to go, how fast to talk, when to stop.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) url: String,
    pub(crate) rooms: usize,
    /// Time between inputs, or `None` for no inputs.
    pub(crate) input_period: Option<Duration>,
    /// Time between pings, or `None` for no pings.
    pub(crate) ping_period: Option<Duration>,
    /// Ping times are milliseconds since this instant.
    pub(crate) swarm_start: Instant,
    /// When every bot stops playing.
    pub(crate) deadline: Instant,
    pub(crate) counters: Arc<LiveCounters>,
}

/// What is particular to one bot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BotPlan {
    /// The bot's number: its name is `bot-{index}`, its room `bots-{index % rooms}`.
    pub(crate) index: usize,
    /// When it connects.
    pub(crate) start_at: Instant,
}

/// Why playing stopped.
enum End {
    /// The deadline came: close the connection ourselves.
    Deadline,
    /// The connection ended (the server closed it, or it failed) before the deadline.
    Lost,
}

/// Runs one bot from its start to its end and returns what it measured.
pub(crate) async fn run(plan: BotPlan, shared: Arc<Shared>) -> BotStats {
    let mut stats = BotStats::new();
    sleep_until(plan.start_at).await;
    let handshake = timeout(CONNECT_TIMEOUT, handshake(plan.index, &shared, &mut stats)).await;
    let failure = match handshake {
        Ok(Ok(connection)) => Ok(connection),
        // Each failure is a single message; `{:#}` would repeat an I/O cause.
        Ok(Err(failure)) => Err(failure.to_string()),
        Err(_) => Err(format!("no Joined within {CONNECT_TIMEOUT:?}")),
    };
    let (sink, stream, player_id) = match failure {
        Ok(connection) => connection,
        Err(why) => {
            tracing::debug!(bot = plan.index, "failed to connect: {why}");
            stats.failed_to_connect = true;
            stats.error(ErrorKind::Connect, why);
            shared.counters.error();
            return stats;
        }
    };

    stats.connected = true;
    shared.counters.joined();
    let joined_at = Instant::now();
    let mut bot = Bot {
        index: plan.index,
        player_id,
        shared: &shared,
        stats,
        acks: AckTracker::new(ACK_WINDOW),
    };
    let (ended_at, sink, stream) = bot.play(sink, stream).await;
    shared.counters.left();
    bot.stats.active = ended_at.saturating_duration_since(joined_at);
    bot.stats.inputs_forgotten = bot.acks.forgotten();
    if let (Some(sink), Some(stream)) = (sink, stream) {
        close(sink, stream).await;
    }
    bot.stats
}

/// Connects, says hello and joins the bot's room; returns the connection and the bot's
/// player id. Any server `Error` or unexpected end is a failure.
async fn handshake(
    index: usize,
    shared: &Shared,
    stats: &mut BotStats,
) -> anyhow::Result<(WsSink, WsStream, PlayerId)> {
    // No Nagle: an input is a few dozen bytes and must leave now, not with the next one.
    let (ws, _response) = connect_async_with_config(shared.url.as_str(), None, true)
        .await
        .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
    let (mut sink, mut stream) = ws.split();

    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: format!("bot-{index}"),
    });
    send(&mut sink, stats, &hello)
        .await
        .map_err(|e| anyhow::anyhow!("sending Hello: {e}"))?;
    let welcome = wait_for(&mut stream, stats, "Welcome", |msg| match msg {
        ServerMsg::Welcome(welcome) => Some(welcome),
        _ => None,
    })
    .await?;

    let room = format!("bots-{}", index % shared.rooms);
    let join = ClientMsg::Join(Join { room: Some(room) });
    send(&mut sink, stats, &join)
        .await
        .map_err(|e| anyhow::anyhow!("sending Join: {e}"))?;
    wait_for(&mut stream, stats, "Joined", |msg| match msg {
        ServerMsg::Joined(joined) => Some(joined),
        _ => None,
    })
    .await?;
    Ok((sink, stream, welcome.player_id))
}

/// Reads frames until `pick` accepts one. Other messages (another player's arrival, say)
/// are skipped; an `Error`, a bad frame or the end of the connection is a failure.
async fn wait_for<T>(
    stream: &mut WsStream,
    stats: &mut BotStats,
    what: &str,
    pick: impl Fn(ServerMsg) -> Option<T>,
) -> anyhow::Result<T> {
    loop {
        let frame = match stream.next().await {
            Some(Ok(Message::Binary(frame))) => frame,
            Some(Ok(Message::Text(_))) => anyhow::bail!("text frame while waiting for {what}"),
            Some(Ok(Message::Close(frame))) => {
                anyhow::bail!("closed while waiting for {what}: {}", close_reason(frame))
            }
            // WebSocket pings are answered by tungstenite itself.
            Some(Ok(_)) => continue,
            Some(Err(e)) => anyhow::bail!("websocket error while waiting for {what}: {e}"),
            None => anyhow::bail!("connection ended while waiting for {what}"),
        };
        stats.bytes_in += frame.len() as u64;
        match ServerMsg::decode(&frame) {
            Ok(ServerMsg::Error(e)) => anyhow::bail!(
                "server error {} while waiting for {what}: {}",
                e.code.0,
                e.message
            ),
            Ok(msg) => {
                if let Some(found) = pick(msg) {
                    return Ok(found);
                }
            }
            Err(e) => anyhow::bail!("undecodable frame while waiting for {what}: {e}"),
        }
    }
}

/// A bot in its room.
struct Bot<'a> {
    index: usize,
    player_id: PlayerId,
    shared: &'a Shared,
    stats: BotStats,
    acks: AckTracker,
}

impl Bot<'_> {
    /// Plays until the deadline or the end of the connection. Returns when it stopped, and
    /// the connection halves when they are still usable and should be closed politely.
    async fn play(
        &mut self,
        mut sink: WsSink,
        mut stream: WsStream,
    ) -> (Instant, Option<WsSink>, Option<WsStream>) {
        let deadline = self.shared.deadline;
        let mut inputs = self.shared.input_period.map(ticker);
        let mut pings = self.shared.ping_period.map(ticker);
        let mut walk = Walk::new(self.index);
        let mut seq: u32 = 0;
        let end = sleep_until(deadline);
        tokio::pin!(end);

        let ended = loop {
            tokio::select! {
                () = &mut end => break End::Deadline,
                frame = stream.next() => {
                    if let Some(ended) = self.on_frame(frame) {
                        break ended;
                    }
                }
                () = tick(&mut inputs) => {
                    seq = seq.wrapping_add(1);
                    let input = walk.next_input(seq);
                    self.acks.sent(seq, Instant::now());
                    self.stats.inputs_sent += 1;
                    if let Some(ended) = self.send_until(&mut sink, &ClientMsg::Input(input)).await {
                        break ended;
                    }
                }
                () = tick(&mut pings) => {
                    let ping = Ping { client_time: self.clock_ms() };
                    if let Some(ended) = self.send_until(&mut sink, &ClientMsg::Ping(ping)).await {
                        break ended;
                    }
                }
            }
        };
        let now = Instant::now();
        match ended {
            End::Deadline => (now.min(deadline), Some(sink), Some(stream)),
            End::Lost => {
                self.stats.disconnected = true;
                // When the server closed, the library has queued the answering close frame:
                // flush it, so the server sees a clean close rather than a reset.
                let _ = timeout(CLOSE_GRACE, sink.flush()).await;
                (now, None, None)
            }
        }
    }

    /// Milliseconds since the swarm started: the clock pings carry.
    fn clock_ms(&self) -> f64 {
        self.shared.swarm_start.elapsed().as_secs_f64() * 1000.0
    }

    /// Sends `msg`, giving up at the deadline: a server that stops reading fills the socket
    /// buffers and would otherwise hold the bot in this send forever.
    async fn send_until(&mut self, sink: &mut WsSink, msg: &ClientMsg) -> Option<End> {
        match timeout_at(self.shared.deadline, send(sink, &mut self.stats, msg)).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                self.error(ErrorKind::WebSocket, format!("send failed: {e}"));
                Some(End::Lost)
            }
            Err(_) => Some(End::Deadline),
        }
    }

    /// Handles what the reader produced; returns `Some` when the connection is over.
    fn on_frame(&mut self, frame: Option<Result<Message, tungstenite::Error>>) -> Option<End> {
        match frame {
            Some(Ok(Message::Binary(frame))) => {
                self.stats.bytes_in += frame.len() as u64;
                match ServerMsg::decode(&frame) {
                    Ok(msg) => self.on_message(msg),
                    Err(e) => self.error(ErrorKind::Decode, e.to_string()),
                }
                None
            }
            Some(Ok(Message::Text(text))) => {
                self.error(
                    ErrorKind::TextFrame,
                    format!("text frame of {} bytes", text.len()),
                );
                None
            }
            Some(Ok(Message::Close(frame))) => {
                let reason = close_reason(frame);
                tracing::debug!(bot = self.index, "server closed: {reason}");
                self.stats.note(format!("disconnected: {reason}"));
                Some(End::Lost)
            }
            // WebSocket pings are answered by tungstenite itself; raw frames never come out
            // of a read.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => None,
            Some(Err(e)) => {
                self.error(ErrorKind::WebSocket, e.to_string());
                Some(End::Lost)
            }
            None => {
                self.stats
                    .note("disconnected: connection ended without a close frame".to_owned());
                Some(End::Lost)
            }
        }
    }

    fn on_message(&mut self, msg: ServerMsg) {
        let now = Instant::now();
        match msg {
            ServerMsg::Snapshot(snapshot) => {
                self.stats.snapshot(now);
                self.shared.counters.snapshot();
                // A snapshot without this bot (a race with joining, say) acknowledges nothing.
                if let Some(me) = snapshot.players.iter().find(|p| p.id == self.player_id) {
                    let stats = &mut self.stats;
                    self.acks
                        .acked(me.last_input_seq, now, |latency| stats.ack(latency));
                }
            }
            ServerMsg::Pong(pong) => {
                let rtt_ms = self.clock_ms() - pong.client_time;
                // The pong echoes our own clock; anything else is not a round trip.
                if rtt_ms.is_finite() && rtt_ms >= 0.0 {
                    self.stats.rtt(Duration::from_secs_f64(rtt_ms / 1000.0));
                } else {
                    self.error(
                        ErrorKind::Decode,
                        format!("pong echoes {} ms, not a ping we sent", pong.client_time),
                    );
                }
            }
            ServerMsg::Error(e) => self.error(
                ErrorKind::Server,
                format!(
                    "code {} in reply to {:?}: {}",
                    e.code.0, e.in_reply_to, e.message
                ),
            ),
            ServerMsg::Welcome(_)
            | ServerMsg::Joined(_)
            | ServerMsg::PlayerJoined(_)
            | ServerMsg::PlayerLeft(_) => {}
        }
    }

    fn error(&mut self, kind: ErrorKind, what: String) {
        tracing::debug!(bot = self.index, "{}: {what}", kind.name());
        self.stats.error(kind, what);
        self.shared.counters.error();
    }
}

/// Encodes and sends one message (one frame, flushed at once: a bot sends one message at a
/// time, and holding it back would only add latency), counting its bytes.
async fn send(
    sink: &mut WsSink,
    stats: &mut BotStats,
    msg: &ClientMsg,
) -> Result<(), tungstenite::Error> {
    let frame = encode_client(msg);
    stats.bytes_out += frame.len() as u64;
    sink.send(Message::Binary(frame)).await
}

/// Says goodbye at the deadline: a close frame, then whatever the server still sends until
/// its own close, all within [`CLOSE_GRACE`]. What arrives now is no longer measured, and
/// failures here are not errors: the bot's work is done.
async fn close(mut sink: WsSink, mut stream: WsStream) {
    let _ = timeout(CLOSE_GRACE, async {
        let bye = Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bot done".into(),
        }));
        if sink.send(bye).await.is_ok() {
            while let Some(Ok(_)) = stream.next().await {}
        }
    })
    .await;
}

/// An interval for inputs or pings; the first tick is at once. Late ticks are skipped, not
/// bunched: a bot that fell behind should not fire a burst of inputs.
fn ticker(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// The next tick, or never when there is no interval (a rate of 0).
async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn close_reason(frame: Option<CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.reason.is_empty() => format!("close code {}", frame.code),
        Some(frame) => format!("close code {}: {}", frame.code, frame.reason),
        None => "close without a code".to_owned(),
    }
}
