//! A light bot in its room: inputs and pings at their rates, every frame read as it comes
//! (snapshots only counted and timed), until the deadline, a redirect or the end of the
//! connection; one round per connection, and the bot's figures at the end.

use std::time::Duration;

use tickwire_shared::{
    ClientMsg, Message as _, Ping, PlayerId, Redirect, Schema, ServerMsg, Snapshot, encode_client,
};
use tokio::time::{Instant, sleep_until, timeout};

use super::conn::RawWs;
use super::frame;
use super::pace::Pacer;
use crate::CLOSE_GRACE;
use crate::bot::{Shared, tick, ticker};
use crate::inputs::InputMaker;
use crate::stats::{BotStats, ErrorKind, SnapshotClock, round_trip, server_error_words};
use crate::walk::Walk;

/// How often a light bot checks its input schedule besides when snapshots come: often
/// enough that inputs owed while none came go out within the pacer's catch-up window.
const FALLBACK_CHECK: Duration = Duration::from_millis(50);

/// What to do after a frame.
enum Flow {
    Go,
    /// Answer the server's ping with these bytes.
    Pong(Vec<u8>),
    /// The server closed, saying this.
    Closed(String),
    /// The node sent the bot on (it is draining).
    Redirected(Redirect),
}

/// Why playing stopped.
pub(crate) enum End {
    /// The deadline came: close the connection.
    Deadline,
    /// The connection ended (the server closed it, or it failed) before the deadline.
    Lost,
    /// The node sent the bot on: follow the redirect.
    Redirected(Redirect),
}

/// A light bot in its room.
pub(crate) struct LightBot<'a> {
    index: usize,
    player_id: PlayerId,
    shared: &'a Shared,
    stats: BotStats,
    clock: SnapshotClock,
    walk: Walk,
    /// `None` when the room's schema lacks what the bots' game needs (said once, as an
    /// error), and no input is sent.
    maker: Option<InputMaker>,
    seq: u32,
    /// The newest snapshot's tick: what the inputs say they were made from.
    view_tick: u64,
    /// When the bot lost its room (see [`crate::cluster`]), until the first snapshot in a
    /// room again.
    room_lost_at: Option<Instant>,
}

impl<'a> LightBot<'a> {
    /// A light bot that got its first seat, before its first round.
    pub(crate) fn new(index: usize, shared: &'a Shared, stats: BotStats) -> Self {
        Self {
            index,
            player_id: 0,
            shared,
            stats,
            clock: SnapshotClock::default(),
            walk: Walk::new(index),
            maker: None,
            seq: 0,
            view_tick: 0,
            room_lost_at: None,
        }
    }

    /// A connection in a room begins, as `player_id` in a room playing `schema`: the
    /// inputs are made for it, and its snapshots start a new run of intervals. A schema
    /// without what the bots' game needs, or none, is an error of kind `schema`, once.
    pub(crate) fn new_connection(&mut self, player_id: PlayerId, schema: Option<Schema>) {
        self.player_id = player_id;
        self.view_tick = 0;
        self.clock.reconnected();
        self.maker = None;
        let Some(schema) = schema else {
            self.error(
                ErrorKind::Schema,
                "the server resumed the bot into a room without its schema".to_owned(),
            );
            return;
        };
        match InputMaker::new(self.shared.game, &schema) {
            Ok(maker) => self.maker = Some(maker),
            Err(mismatch) => self.error(ErrorKind::Schema, mismatch.to_string()),
        }
    }

    /// Plays one round on `ws`, until the deadline, a redirect or the connection's end;
    /// returns why and when it stopped. The caller closes, leaves or gets back.
    pub(crate) async fn round(&mut self, ws: &mut RawWs) -> (End, Instant) {
        let counters = &self.shared.counters;
        counters.joined();
        let joined_at = Instant::now();
        let (end, ended_at) = self.play(ws).await;
        counters.left();
        self.stats.active += ended_at.saturating_duration_since(joined_at);
        (end, ended_at)
    }

    /// The connection on `ws` ended before the deadline: counted once, and the answer to
    /// the server's close, if it closed, flushed so that it sees a clean close rather than
    /// a reset.
    pub(crate) async fn lost(&mut self, ws: &mut RawWs) {
        self.stats.disconnects = 1;
        let _ = timeout(CLOSE_GRACE, ws.flush()).await;
    }

    /// The bot left its room at `at`, lost or redirected: the first snapshot in a room
    /// again ends its reseat.
    pub(crate) fn room_lost(&mut self, at: Instant) {
        self.room_lost_at = Some(at);
    }

    /// Where the seating steps count what they send, receive and meet.
    pub(crate) fn stats_mut(&mut self) -> &mut BotStats {
        &mut self.stats
    }

    /// The bot is done: its snapshot rate settled, its figures.
    pub(crate) fn finish(mut self) -> BotStats {
        self.clock.settle(&mut self.stats);
        self.stats
    }

    async fn play(&mut self, ws: &mut RawWs) -> (End, Instant) {
        let deadline = self.shared.deadline;
        let mut pacer = self
            .shared
            .input_period
            .map(|period| Pacer::new(period, Instant::now()));
        let making = self.maker.is_some() && pacer.is_some();
        // Inputs go out with the snapshots (`Pacer::due_on_arrival`); this slower check
        // keeps them going when no snapshot comes.
        let mut fallback = making.then(|| ticker(FALLBACK_CHECK));
        let mut pings = self.shared.ping_period.map(ticker);
        let end = sleep_until(deadline);
        tokio::pin!(end);
        let (mut read, mut write) = ws.split();
        let ended = 'play: loop {
            tokio::select! {
                () = &mut end => break End::Deadline,
                got = read.fill() => {
                    match got {
                        Ok(0) => {
                            self.stats.note(
                                "disconnected: connection ended without a close frame".to_owned(),
                            );
                            break End::Lost;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            self.failed(e.to_string(), true);
                            break End::Lost;
                        }
                    }
                    let now = Instant::now();
                    loop {
                        let head = match read.next_frame() {
                            Ok(Some(head)) => head,
                            Ok(None) => break,
                            Err(e) => {
                                self.error(ErrorKind::WebSocket, e.to_string());
                                break 'play End::Lost;
                            }
                        };
                        let flow = self.on_frame(head.opcode, read.payload(&head), now);
                        read.consume(&head);
                        match flow {
                            Flow::Go => {}
                            Flow::Pong(payload) => write.queue(frame::PONG, &payload),
                            Flow::Closed(reason) => {
                                tracing::debug!(bot = self.index, "server closed: {reason}");
                                self.stats.note(format!("disconnected: {reason}"));
                                write.queue(frame::CLOSE, &frame::close_payload(1000, ""));
                                break 'play End::Lost;
                            }
                            // What follows it (the node's close) is the leaving's to read.
                            Flow::Redirected(redirect) => break 'play End::Redirected(redirect),
                        }
                    }
                    if let (Some(pacer), true) = (pacer.as_mut(), making) {
                        let owed = pacer.due_on_arrival(now);
                        self.send_inputs(&mut write, owed);
                    }
                }
                ready = write.writable(), if !write.idle() => {
                    if let Err(e) = ready {
                        self.failed(format!("send failed: {e}"), true);
                        break End::Lost;
                    }
                }
                () = tick(&mut fallback) => {
                    if let Some(pacer) = pacer.as_mut() {
                        let owed = pacer.due(Instant::now());
                        self.send_inputs(&mut write, owed);
                    }
                }
                () = tick(&mut pings) => {
                    if write.idle() {
                        let ping = ClientMsg::Ping(Ping { client_time: self.clock_ms() });
                        self.send(&mut write, &ping);
                    }
                }
            }
            if let Err(e) = write.write_now() {
                self.failed(format!("send failed: {e}"), true);
                break End::Lost;
            }
        };
        let now = Instant::now();
        match ended {
            End::Deadline => (End::Deadline, now.min(deadline)),
            End::Lost => (End::Lost, now),
            End::Redirected(redirect) => (End::Redirected(redirect), now),
        }
    }

    /// Queues `owed` inputs, to go out in one write. A socket still holding the last
    /// message means a server that stopped reading: they are skipped, as a full bot's
    /// would wait.
    fn send_inputs(&mut self, write: &mut super::conn::WriteSide<'_>, owed: u32) {
        if !write.idle() {
            return;
        }
        for _ in 0..owed {
            let Some(msg) = self.next_input() else {
                return;
            };
            self.send(write, &msg);
            self.stats.inputs_sent += 1;
            self.stats.light_inputs += 1;
        }
    }

    /// Queues `msg`, counting its bytes.
    fn send(&mut self, write: &mut super::conn::WriteSide<'_>, msg: &ClientMsg) {
        let payload = encode_client(msg);
        self.stats.bytes_out += payload.len() as u64;
        write.queue(frame::BINARY, &payload);
    }

    /// The next input, from the walk alone: a light bot holds no copy of the room to aim in.
    fn next_input(&mut self) -> Option<ClientMsg> {
        let maker = self.maker.as_mut()?;
        self.seq = self.seq.wrapping_add(1);
        Some(ClientMsg::Input(maker.next(
            self.seq,
            self.view_tick,
            self.walk.step(),
            &[],
            self.player_id,
        )))
    }

    /// Handles one whole frame that arrived at `now`.
    fn on_frame(&mut self, opcode: u8, payload: &[u8], now: Instant) -> Flow {
        match opcode {
            frame::BINARY => {
                self.stats.bytes_in += payload.len() as u64;
                if ServerMsg::peek_kind(payload) == Some(Snapshot::KIND) {
                    self.on_snapshot(payload, now);
                    return Flow::Go;
                }
                match ServerMsg::decode(payload) {
                    Ok(msg) => self.on_message(msg),
                    Err(e) => {
                        self.error(ErrorKind::Decode, e.to_string());
                        Flow::Go
                    }
                }
            }
            frame::TEXT => {
                self.error(
                    ErrorKind::TextFrame,
                    format!("text frame of {} bytes", payload.len()),
                );
                Flow::Go
            }
            frame::CLOSE => Flow::Closed(frame::close_reason(payload)),
            frame::PING => Flow::Pong(payload.to_vec()),
            _ => Flow::Go,
        }
    }

    /// A snapshot: counted and timed, its body unread but for its tick.
    fn on_snapshot(&mut self, payload: &[u8], now: Instant) {
        let Some(tick) = Snapshot::peek_tick(payload) else {
            self.error(
                ErrorKind::Decode,
                format!("snapshot of {} bytes without a tick", payload.len()),
            );
            return;
        };
        self.view_tick = self.view_tick.max(tick);
        if let Some(lost_at) = self.room_lost_at.take() {
            self.stats
                .cluster
                .reseat(now.saturating_duration_since(lost_at));
        }
        self.clock.snapshot(now, &mut self.stats);
        self.stats.light_snapshots += 1;
        self.shared.counters.snapshot();
    }

    /// Any message but a snapshot: these are rare, and decoded in full.
    fn on_message(&mut self, msg: ServerMsg) -> Flow {
        match msg {
            // The pong echoes our own clock; anything else is not a round trip.
            ServerMsg::Pong(pong) => match round_trip(pong.client_time, self.clock_ms()) {
                Ok(rtt) => self.stats.rtt(rtt),
                Err(why) => self.error(ErrorKind::Decode, why),
            },
            ServerMsg::Error(e) => self.error(ErrorKind::Server, server_error_words(&e)),
            ServerMsg::Events(events) => {
                self.stats.events += 1;
                self.stats.game_events += events.events.len() as u64;
            }
            ServerMsg::ChatAck(ack) => self.error(
                ErrorKind::Protocol,
                format!("chat ack for id {} from a bot that never chats", ack.id),
            ),
            ServerMsg::Snapshot(_)
            | ServerMsg::ChatMessage(_)
            | ServerMsg::Welcome(_)
            | ServerMsg::Joined(_)
            | ServerMsg::Resumed(_)
            | ServerMsg::PlayerJoined(_)
            | ServerMsg::PlayerLeft(_) => {}
            ServerMsg::Notice(_) => self.stats.cluster.notices += 1,
            // Its node sends the bot on while it plays: the node is draining.
            ServerMsg::Redirect(redirect) => {
                self.stats.cluster.redirects += 1;
                return Flow::Redirected(redirect);
            }
        }
        Flow::Go
    }

    /// Milliseconds since the swarm started: the clock pings carry.
    fn clock_ms(&self) -> f64 {
        self.shared.swarm_start.elapsed().as_secs_f64() * 1000.0
    }

    /// The connection failed, saying `what`; `io` when its socket did (see
    /// [`Shared::failed`]).
    fn failed(&mut self, what: String, io: bool) {
        if self.shared.failed(&mut self.stats, self.index, what, io) {
            self.shared.counters.error();
        }
    }

    pub(crate) fn error(&mut self, kind: ErrorKind, what: String) {
        tracing::debug!(bot = self.index, "{}: {what}", kind.name());
        self.stats.error(kind, what);
        self.shared.counters.error();
    }
}
