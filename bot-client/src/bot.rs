//! One honest bot's life: wait for its start, connect, say hello, join its room, then play
//! (inputs of its game made from the room's schema, see [`crate::inputs`]; pings; chat;
//! reading every frame and applying every snapshot to its copy of the room, see
//! [`crate::replica`]) until the swarm's deadline, and close. With
//! chaos (`--chaos`), it also drops its connection at random moments and comes back to the
//! same room, resumed as the same player when the server allows it (see [`crate::chaos`]
//! and [`crate::reconnect`]).
//!
//! Everything a bot does is bounded in time: the handshake by [`CONNECT_TIMEOUT`], every
//! send by the deadline (a server that stops reading cannot hold a bot past it), each
//! reconnection by the deadline, and the closing handshake by [`CLOSE_GRACE`]. Nothing the
//! server sends can make a bot panic: bad frames are counted as errors and the bot carries
//! on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{ClientMsg, Ping, PlayerId, Schema, ServerMsg};
use tokio::time::{Instant, Interval, MissedTickBehavior, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::ack::AckTracker;
use crate::chaos::next_drop_in;
use crate::chat::ChatBook;
use crate::inputs::InputMaker;
use crate::live::LiveCounters;
use crate::reconnect::{Outcome, ReconnectPolicy, reconnect};
use crate::replica::{Applied, ReplicaBook};
use crate::rng::XorShift64;
use crate::session::{
    self, Rejoined, ResumeRoom, SameRoom, WsSink, WsStream, close_reason, room_name,
};
use crate::stats::{BotStats, ErrorKind, SnapshotClock, round_trip, server_error_words};
use crate::walk::Walk;
use crate::{CLOSE_GRACE, CONNECT_TIMEOUT, Game, IN_FLIGHT, auth};

/// Unacknowledged inputs remembered per bot: 17 s at 60 Hz, far beyond any healthy ack.
const ACK_WINDOW: usize = 1024;

/// Mixed into a bot's index to seed its chaos generator, so that its drops do not follow
/// its walk.
const CHAOS_SEED: u64 = 0xC4A0_5EED;

/// What every bot shares: where to go, how fast to talk, when to stop.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) url: String,
    pub(crate) rooms: usize,
    /// What the honest bots' inputs do.
    pub(crate) game: Game,
    /// Time between inputs, or `None` for no inputs.
    pub(crate) input_period: Option<Duration>,
    /// Time between pings, or `None` for no pings.
    pub(crate) ping_period: Option<Duration>,
    /// Time between chat messages, or `None` for no chat.
    pub(crate) chat_period: Option<Duration>,
    /// Drops on purpose per second per honest bot; 0 never drops.
    pub(crate) chaos: f64,
    /// How dropped bots (and closed misbehaving ones) get back.
    pub(crate) reconnect: ReconnectPolicy,
    /// The server's token secret, when it authenticates.
    pub(crate) auth_secret: Option<String>,
    /// Ping times are milliseconds since this instant.
    pub(crate) swarm_start: Instant,
    /// When every bot stops playing.
    pub(crate) deadline: Instant,
    pub(crate) counters: Arc<LiveCounters>,
}

impl Shared {
    /// The URL bot `index`, called `name`, connects to: the swarm's, with the bot's own
    /// token when the server authenticates. The token lasts until [`auth::TOKEN_SLACK`]
    /// after the deadline, so every reconnect can present it again.
    ///
    /// # Errors
    /// When the token cannot be made (see [`auth::mint`]).
    pub(crate) fn url_for(&self, index: usize, name: &str) -> anyhow::Result<String> {
        let Some(secret) = &self.auth_secret else {
            return Ok(self.url.clone());
        };
        let ttl = self.deadline.saturating_duration_since(Instant::now()) + auth::TOKEN_SLACK;
        let token = auth::mint(secret, &auth::subject(index), name, SystemTime::now(), ttl)
            .map_err(|e| anyhow::anyhow!("making the token: {e}"))?;
        Ok(auth::with_token(&self.url, &token))
    }
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
    /// Chaos: drop the connection abruptly and come back.
    Drop,
}

/// Runs one bot from its start to its end and returns what it measured.
pub(crate) async fn run(plan: BotPlan, shared: Arc<Shared>) -> BotStats {
    let mut stats = BotStats::new();
    let name = format!("bot-{}", plan.index);
    let room = room_name(plan.index, shared.rooms);
    sleep_until(plan.start_at).await;
    let handshake = async {
        let url = shared.url_for(plan.index, &name)?;
        let joined = timeout(
            CONNECT_TIMEOUT,
            session::join_room(&url, name.clone(), room.clone(), &mut stats),
        )
        .await;
        match joined {
            Ok(joined) => joined.map(|joined| (url, joined)),
            Err(_) => anyhow::bail!("no Joined within {CONNECT_TIMEOUT:?}"),
        }
    };
    let (url, mut conn) = match handshake.await {
        Ok(connection) => connection,
        Err(why) => {
            // Each failure is a single message; `{:#}` would repeat an I/O cause.
            return connect_failed(plan.index, stats, why.to_string(), &shared);
        }
    };

    stats.connected = 1;
    let mut bot = Bot {
        index: plan.index,
        player_id: conn.player_id,
        resume_token: Some(std::mem::take(&mut conn.resume_token)),
        shared: &shared,
        stats,
        clock: SnapshotClock::default(),
        acks: AckTracker::new(ACK_WINDOW),
        walk: Walk::new(plan.index),
        maker: None,
        seq: 0,
        chats: shared.chat_period.map(ticker),
        chat: shared.chat_period.map(|_| ChatBook::new(name.clone())),
        replica: ReplicaBook::new(),
    };
    let mut rng = XorShift64::seeded(CHAOS_SEED ^ plan.index as u64);
    let mut resend = false;
    // One round per connection. A round ends in a drop only before the deadline, and each
    // reconnection ends by the deadline at the latest, so the rounds end too.
    loop {
        // The server starts every connection, resumed or new, with a keyframe.
        bot.new_connection(conn.tick_rate, conn.schema.take());
        shared.counters.joined();
        let joined_at = Instant::now();
        let drop_at = next_drop_in(shared.chaos, rng.next_unit()).map(|wait| joined_at + wait);
        let (end, ended_at) = bot
            .play(&mut conn.sink, &mut conn.stream, drop_at, resend)
            .await;
        shared.counters.left();
        bot.stats.active += ended_at.saturating_duration_since(joined_at);
        match end {
            End::Deadline => {
                session::close(conn.sink, conn.stream).await;
                bot.finish(ended_at, true);
                break;
            }
            End::Lost => {
                bot.finish(ended_at, false);
                break;
            }
            End::Drop => {}
        }

        let dropped_at = Instant::now();
        session::abort(conn.sink, conn.stream);
        bot.stats.chaos.drops += 1;
        bot.connection_lost();
        let mut rejoin = ResumeRoom {
            token: bot.resume_token.take(),
            fallback: SameRoom {
                url: &url,
                name: &name,
                room: &room,
                tally: &mut bot.stats,
            },
        };
        match reconnect(&shared.reconnect, shared.deadline, &mut rng, &mut rejoin).await {
            Outcome::Back(Rejoined::Resumed {
                conn: back,
                room: resumed_into,
            }) => {
                bot.stats.chaos.resumed(dropped_at.elapsed());
                bot.resumed(back.player_id, resumed_into, &room);
                resend = true;
                conn = back;
            }
            Outcome::Back(Rejoined::Joined(back)) => {
                bot.stats.chaos.joined_afresh(dropped_at.elapsed());
                // A new player: the old one's unacknowledged inputs are nobody's now.
                bot.close_input_books(None);
                bot.player_id = back.player_id;
                resend = false;
                conn = back;
            }
            Outcome::GaveUp { last_error } => {
                bot.stats.chaos.failures += 1;
                let attempts = shared.reconnect.max_attempts;
                bot.error(
                    ErrorKind::Reconnect,
                    format!("gave up after {attempts} attempts: {last_error}"),
                );
                bot.finish(dropped_at, false);
                break;
            }
            Outcome::Deadline => {
                bot.stats.chaos.in_flight += 1;
                bot.finish(dropped_at, false);
                break;
            }
        }
        bot.resume_token = Some(std::mem::take(&mut conn.resume_token));
    }
    bot.stats
}

/// A bot in its room.
struct Bot<'a> {
    index: usize,
    player_id: PlayerId,
    /// The token to present after the next drop: the newest the server gave.
    resume_token: Option<String>,
    shared: &'a Shared,
    stats: BotStats,
    /// When this bot's snapshots came, for its intervals and its rate.
    clock: SnapshotClock,
    /// The current player's inputs awaiting a snapshot's acknowledgement.
    acks: AckTracker,
    walk: Walk,
    /// This connection's inputs, made for its schema; `None` when the schema does not
    /// have what the bots' game needs (said once, as an error), and no input is sent.
    maker: Option<InputMaker>,
    /// The newest input sequence number sent. It carries on across connections: a resumed
    /// player must, and a new player does not mind.
    seq: u32,
    /// When to chat. One schedule for the whole run, not one per connection: chats due
    /// while reconnecting are skipped, so a bot never chats faster than its rate (and
    /// the server's rate limit sees no burst after each reconnect).
    chats: Option<Interval>,
    /// What the bot's chat waits for and counted so far, when it chats; settled into
    /// `stats.chat` when the bot finishes.
    chat: Option<ChatBook>,
    /// The room as this connection's snapshots built it.
    replica: ReplicaBook,
}

impl Bot<'_> {
    /// Plays until the deadline, the end of the connection, or `drop_at` (chaos). After a
    /// resume (`resend`), first sends again the inputs no snapshot acknowledged. Returns
    /// why and when it stopped. On [`End::Lost`] the connection is finished with; on the
    /// others the caller closes or drops it.
    async fn play(
        &mut self,
        sink: &mut WsSink,
        stream: &mut WsStream,
        drop_at: Option<Instant>,
        resend: bool,
    ) -> (End, Instant) {
        let deadline = self.shared.deadline;
        let mut inputs = self.shared.input_period.map(ticker);
        let mut pings = self.shared.ping_period.map(ticker);
        // Out of `self` while playing, so that its tick can be awaited beside `&mut self`.
        let mut chats = self.chats.take();
        let chatting = chats.is_some();
        let end = sleep_until(deadline);
        tokio::pin!(end);
        // Never polled without chaos, so it costs the honest loop one test per wake-up.
        let drops = drop_at.is_some_and(|at| at < deadline);
        let drop_timer = sleep_until(drop_at.unwrap_or(deadline));
        tokio::pin!(drop_timer);
        let making = self.maker.is_some();

        let ended = 'play: {
            if resend {
                // In order and with their own numbers, before any new input: the server
                // applies those it has not seen and ignores the rest.
                for input in self.acks.resend(Instant::now()) {
                    self.stats.chaos.inputs_resent += 1;
                    if let Some(ended) = self.send_until(sink, &ClientMsg::Input(input)).await {
                        break 'play ended;
                    }
                }
            }
            loop {
                tokio::select! {
                    () = &mut end => break End::Deadline,
                    () = &mut drop_timer, if drops => break End::Drop,
                    frame = stream.next() => {
                        if let Some(ended) = self.on_frame(frame) {
                            break ended;
                        }
                    }
                    () = tick(&mut inputs), if making => {
                        let Some(msg) = self.next_input() else {
                            continue;
                        };
                        let sent_at = Instant::now();
                        let ended = self.send_until(sink, &msg).await;
                        // Tracked once sent, moved rather than cloned: one allocation per
                        // input is the frame's own.
                        if let ClientMsg::Input(input) = msg {
                            self.acks.sent(input, sent_at);
                        }
                        self.stats.inputs_sent += 1;
                        if let Some(ended) = ended {
                            break ended;
                        }
                    }
                    () = tick(&mut pings) => {
                        let ping = Ping { client_time: self.clock_ms() };
                        if let Some(ended) = self.send_until(sink, &ClientMsg::Ping(ping)).await {
                            break ended;
                        }
                    }
                    () = tick(&mut chats), if chatting => {
                        let Some(book) = self.chat.as_mut() else {
                            continue;
                        };
                        let chat = ClientMsg::Chat(book.next(Instant::now()));
                        if let Some(ended) = self.send_until(sink, &chat).await {
                            break ended;
                        }
                    }
                }
            }
        };
        self.chats = chats;
        let now = Instant::now();
        match ended {
            End::Deadline => (End::Deadline, now.min(deadline)),
            End::Lost => {
                // Once at most: a lost connection ends the bot.
                self.stats.disconnects = 1;
                // When the server closed, the library has queued the answering close frame:
                // flush it, so the server sees a clean close rather than a reset.
                let _ = timeout(CLOSE_GRACE, sink.flush()).await;
                (End::Lost, now)
            }
            End::Drop => (End::Drop, now),
        }
    }

    /// A connection in the room begins, with the `Welcome`'s `tick_rate` (none after a
    /// resume) and the room's `schema`: a fresh copy of the room decoded with it, and the
    /// inputs of the bots' game made for it. A schema the bot cannot decode with, or one
    /// without what the game needs, is an error of kind `schema`, once.
    fn new_connection(&mut self, tick_rate: Option<u16>, schema: Option<Schema>) {
        self.maker = None;
        if let Err(why) = self.replica.new_connection(tick_rate, schema) {
            self.error(ErrorKind::Schema, why);
            return;
        }
        let made = self
            .replica
            .schema()
            .map(|schema| InputMaker::new(self.shared.game, schema));
        match made {
            Some(Ok(maker)) => self.maker = Some(maker),
            Some(Err(mismatch)) => self.error(ErrorKind::Schema, mismatch.to_string()),
            None => {}
        }
    }

    /// The next input, from the walk and what the bot's copy of the room shows; `None`
    /// when this connection sends none.
    fn next_input(&mut self) -> Option<ClientMsg> {
        let maker = self.maker.as_mut()?;
        self.seq = self.seq.wrapping_add(1);
        Some(ClientMsg::Input(maker.next(
            self.seq,
            self.replica.view_tick(),
            self.walk.step(),
            self.replica.entities(),
            self.player_id,
        )))
    }

    /// The connection was dropped; a new one follows, which starts a fresh run of snapshot
    /// intervals, its own chat order and its own copy of the room (reset as its round
    /// starts). The inputs stay: a resume sends them again.
    fn connection_lost(&mut self) {
        self.clock.reconnected();
        if let Some(book) = self.chat.as_mut() {
            book.connection_lost();
        }
    }

    /// Back as the same player after a drop. The server must have kept the player's id,
    /// and its room: anything else is a broken promise, counted as an error.
    fn resumed(&mut self, player_id: PlayerId, resumed_into: Option<String>, room: &str) {
        if player_id != self.player_id {
            self.error(
                ErrorKind::Protocol,
                format!("resumed as player {player_id}, not {}", self.player_id),
            );
            self.player_id = player_id;
        }
        if resumed_into.as_deref() != Some(room) {
            self.error(
                ErrorKind::Protocol,
                format!("resumed in room {resumed_into:?}, not `{room}`"),
            );
        }
    }

    /// Settles the current player's inputs: with `alive_at`, the player was still playing
    /// when the bot stopped at that moment, so its unacknowledged inputs older than
    /// [`IN_FLIGHT`] are lost; without, its session ended without a resume, and they are
    /// abandoned. Starts a new tracker for the next player.
    fn close_input_books(&mut self, alive_at: Option<Instant>) {
        let chaos = &mut self.stats.chaos;
        match alive_at {
            Some(end) => {
                // A run ending within a second of the clock's origin has nothing but
                // inputs in flight.
                if let Some(before) = end.checked_sub(IN_FLIGHT) {
                    chaos.inputs_lost += self.acks.unacked_sent_by(before) as u64;
                }
            }
            None => chaos.inputs_abandoned += self.acks.unacked() as u64,
        }
        chaos.ack_regressions += self.acks.regressions();
        self.stats.inputs_forgotten += self.acks.forgotten();
        self.acks = AckTracker::new(ACK_WINDOW);
    }

    /// The bot stopped playing at `end`, its session `alive` or not: settles its inputs,
    /// its chat and its snapshot rate.
    fn finish(&mut self, end: Instant, alive: bool) {
        self.close_input_books(alive.then_some(end));
        self.clock.settle(&mut self.stats);
        if let Some(book) = self.chat.take() {
            self.stats.chat = book.finish(end, IN_FLIGHT);
        }
    }

    /// Milliseconds since the swarm started: the clock pings carry.
    fn clock_ms(&self) -> f64 {
        self.shared.swarm_start.elapsed().as_secs_f64() * 1000.0
    }

    /// Sends `msg`, giving up at the deadline: a server that stops reading fills the socket
    /// buffers and would otherwise hold the bot in this send forever.
    async fn send_until(&mut self, sink: &mut WsSink, msg: &ClientMsg) -> Option<End> {
        match timeout_at(
            self.shared.deadline,
            session::send(sink, &mut self.stats, msg),
        )
        .await
        {
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
                    Ok(msg) => self.on_message(msg, frame.len()),
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

    /// Handles one message that came in a frame of `bytes` payload bytes.
    fn on_message(&mut self, msg: ServerMsg, bytes: usize) {
        let now = Instant::now();
        match msg {
            ServerMsg::Snapshot(snapshot) => {
                self.clock.snapshot(now, &mut self.stats);
                self.shared.counters.snapshot();
                match self
                    .replica
                    .apply(&snapshot, bytes, &mut self.stats.replica)
                {
                    // Only a snapshot that applied is taken at its word, its ack included.
                    Applied::Yes => {
                        let stats = &mut self.stats;
                        self.acks
                            .acked(snapshot.ack, now, |latency| stats.ack(latency));
                    }
                    Applied::Refused => {}
                    Applied::Failed(why) => self.error(ErrorKind::Replica, why),
                }
            }
            // The pong echoes our own clock; anything else is not a round trip.
            ServerMsg::Pong(pong) => match round_trip(pong.client_time, self.clock_ms()) {
                Ok(rtt) => self.stats.rtt(rtt),
                Err(why) => self.error(ErrorKind::Decode, why),
            },
            ServerMsg::Error(e) => self.error(ErrorKind::Server, server_error_words(&e)),
            ServerMsg::ChatAck(ack) => {
                let answered = match self.chat.as_mut() {
                    Some(book) => book.on_ack(&ack, now),
                    None => Err(format!(
                        "chat ack for id {} from a bot that never chats",
                        ack.id
                    )),
                };
                if let Err(why) = answered {
                    self.error(ErrorKind::Protocol, why);
                }
            }
            // Reliable one-shot events (hits, kills): counted, their outcome is in the
            // snapshots.
            ServerMsg::Events(events) => {
                self.stats.events += 1;
                self.stats.game_events += events.events.len() as u64;
            }
            // The room's chat, history included; counted only by bots that chat.
            ServerMsg::ChatMessage(msg) => {
                if let Some(book) = self.chat.as_mut() {
                    book.on_message(&msg);
                }
            }
            ServerMsg::Welcome(_)
            | ServerMsg::Joined(_)
            | ServerMsg::Resumed(_)
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

/// The figures of bot `index`, which could not connect and join, saying `why`.
pub(crate) fn connect_failed(
    index: usize,
    mut stats: BotStats,
    why: String,
    shared: &Shared,
) -> BotStats {
    tracing::debug!(bot = index, "failed to connect: {why}");
    stats.failed_to_connect = 1;
    stats.error(ErrorKind::Connect, why);
    shared.counters.error();
    stats
}

/// An interval for inputs or pings; the first tick is at once. Late ticks are skipped, not
/// bunched: a bot that fell behind should not fire a burst of inputs.
pub(crate) fn ticker(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// The next tick, or never when there is no interval (a rate of 0).
pub(crate) async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
