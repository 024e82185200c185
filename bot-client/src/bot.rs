//! One honest bot's life: wait for its start, connect, say hello, join its room (on the
//! node its room lives on, following the redirects there; see [`crate::session`]), then
//! play (inputs of its game made from the room's schema, see [`crate::inputs`]; pings;
//! chat; reading every frame and applying every snapshot to its copy of the room, see
//! [`crate::replica`]) until the swarm's deadline, and close.
//!
//! A connection can end before the deadline in three more ways, each followed by getting
//! back into a room ([`crate::rejoin`]):
//! - with chaos (`--chaos`), the bot drops it at random moments and comes back to the same
//!   room, resumed as the same player when the server allows it (see [`crate::chaos`]);
//! - a node redirects it while it plays (the node is draining): the bot follows at once;
//! - against a cluster (several URLs), the server ends it or it fails (a node killed): the
//!   bot reconnects to the next node, resuming its session there or joining anew. With one
//!   URL such an end ends the bot, counted as a disconnect, as it always did.
//!
//! Everything a bot does is bounded in time: the handshake by [`crate::CONNECT_TIMEOUT`], every
//! send by the deadline (a server that stops reading cannot hold a bot past it), each
//! reconnection by the deadline, the redirects it follows in a row by
//! [`crate::redirect::MAX_REDIRECTS`], and the closing handshake by [`CLOSE_GRACE`].
//! Nothing the server sends can make a bot panic: bad frames are counted as errors and the
//! bot carries on.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{ClientMsg, Ping, PlayerId, Redirect, Schema, ServerMsg};
use tokio::time::{Instant, Interval, MissedTickBehavior, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::ack::AckTracker;
use crate::chaos::next_drop_in;
use crate::chat::ChatBook;
use crate::inputs::InputMaker;
use crate::live::LiveCounters;
use crate::reconnect::{Outcome, ReconnectPolicy};
use crate::rejoin::{Rejoiner, get_back};
use crate::replica::{Applied, ReplicaBook};
use crate::rng::XorShift64;
use crate::session::{Entry, Line as _, Seated, Seating, first_seat, room_name};
use crate::stats::{BotStats, ErrorKind, SnapshotClock, round_trip, server_error_words};
use crate::urls::NodeRing;
use crate::walk::Walk;
use crate::ws::{self, WsDial, WsLine, WsSink, WsStream, close_reason};
use crate::{CLOSE_GRACE, Game, IN_FLIGHT, auth};

/// Unacknowledged inputs remembered per bot: 17 s at 60 Hz, far beyond any healthy ack.
const ACK_WINDOW: usize = 1024;

/// Mixed into a bot's index to seed its chaos generator, so that its drops do not follow
/// its walk.
const CHAOS_SEED: u64 = 0xC4A0_5EED;

/// What every bot shares: where to go, how fast to talk, when to stop.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The nodes, as `--url` listed them (at least one).
    pub(crate) urls: Arc<[String]>,
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
    /// Bot `index`'s way round the nodes, starting at node `index % n`.
    pub(crate) fn nodes_for(&self, index: usize) -> NodeRing {
        NodeRing::for_bot(Arc::clone(&self.urls), index)
    }

    /// Counts bot `index`'s connection failing, saying `what` (`io`: its socket failed,
    /// not the WebSocket protocol), in `stats`; true when that is an error. Against a
    /// cluster a socket's failure is how a killed node looks: a disconnect the bot comes
    /// back from (and an error of kind `reconnect` if it cannot), noted in words. With one
    /// node, or for a protocol failure, a WebSocket error, as it always was.
    pub(crate) fn failed(
        &self,
        stats: &mut BotStats,
        index: usize,
        what: String,
        io: bool,
    ) -> bool {
        if io && self.urls.len() > 1 {
            tracing::debug!(bot = index, "connection lost: {what}");
            stats.note(format!("disconnected: {what}"));
            return false;
        }
        tracing::debug!(bot = index, "websocket: {what}");
        stats.error(ErrorKind::WebSocket, what);
        true
    }

    /// The token bot `index`, called `name`, presents in every URL it connects to, any
    /// node's and any redirect's; `None` when the server does not authenticate. It lasts
    /// until [`auth::TOKEN_SLACK`] after the deadline, so every reconnect can present it
    /// again.
    ///
    /// # Errors
    /// When the token cannot be made (see [`auth::mint`]).
    pub(crate) fn token_for(&self, index: usize, name: &str) -> anyhow::Result<Option<String>> {
        let Some(secret) = &self.auth_secret else {
            return Ok(None);
        };
        let ttl = self.deadline.saturating_duration_since(Instant::now()) + auth::TOKEN_SLACK;
        let token = auth::mint(secret, &auth::subject(index), name, SystemTime::now(), ttl)
            .map_err(|e| anyhow::anyhow!("making the token: {e}"))?;
        Ok(Some(token))
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
    /// The node sent the bot on (it is draining): follow the redirect.
    Redirected(Redirect),
}

/// Why a bot left a connection it will come back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaving {
    /// Dropped on purpose (chaos): what it cost is in the chaos figures.
    Drop,
    /// Lost, against a cluster.
    Lost,
    /// Redirected while playing.
    Redirected,
}

/// Runs one bot from its start to its end and returns what it measured.
pub(crate) async fn run(plan: BotPlan, shared: Arc<Shared>) -> BotStats {
    let mut stats = BotStats::new();
    let name = format!("bot-{}", plan.index);
    let room = room_name(plan.index, shared.rooms);
    let mut nodes = shared.nodes_for(plan.index);
    sleep_until(plan.start_at).await;
    let mut dial = match shared.token_for(plan.index, &name) {
        Ok(token) => WsDial::new(token),
        // Each failure is a single message; `{:#}` would repeat an I/O cause.
        Err(why) => return connect_failed(plan.index, stats, why.to_string(), &shared),
    };
    let first = first_seat(&mut dial, &name, &room, &mut stats, nodes.current()).await;
    let mut conn = match first {
        Ok(seated) => seated,
        Err(why) => return connect_failed(plan.index, stats, why, &shared),
    };
    nodes.seated_on(&conn.node);

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
        room_lost_at: None,
    };
    let mut rng = XorShift64::seeded(CHAOS_SEED ^ plan.index as u64);
    let mut resend = false;
    // One round per connection. A round ends in a drop, a loss or a redirect only before
    // the deadline, and each getting back ends by the deadline at the latest, so the rounds
    // end too.
    loop {
        // The server starts every connection, resumed or new, with a keyframe.
        bot.new_connection(conn.tick_rate, conn.schema.take());
        shared.counters.joined();
        let joined_at = Instant::now();
        let drop_at = next_drop_in(shared.chaos, rng.next_unit()).map(|wait| joined_at + wait);
        let WsLine {
            mut sink,
            mut stream,
        } = conn.line;
        let (end, ended_at) = bot.play(&mut sink, &mut stream, drop_at, resend).await;
        shared.counters.left();
        bot.stats.active += ended_at.saturating_duration_since(joined_at);
        let (leaving, redirect, left_at) = match end {
            End::Deadline => {
                ws::close(sink, stream).await;
                bot.finish(ended_at, true);
                break;
            }
            End::Lost if !nodes.is_cluster() => {
                bot.finish(ended_at, false);
                break;
            }
            // Already over: what is left of it goes with its halves.
            End::Lost => (Leaving::Lost, None, ended_at),
            End::Drop => {
                let dropped_at = Instant::now();
                ws::abort(sink, stream);
                bot.stats.chaos.drops += 1;
                (Leaving::Drop, None, dropped_at)
            }
            End::Redirected(redirect) => {
                WsLine { sink, stream }.leave().await;
                (Leaving::Redirected, Some(redirect), ended_at)
            }
        };
        bot.connection_lost();
        if leaving != Leaving::Drop {
            // The room is lost until a snapshot comes in one again; a drop on purpose
            // loses it only when its resume is refused (see `Bot::back`).
            bot.room_lost_at = Some(left_at);
        }
        let outcome = {
            let mut rejoin = Rejoiner {
                seating: Seating {
                    dial: &mut dial,
                    name: &name,
                    room: &room,
                    tally: &mut bot.stats,
                    token: bot.resume_token.take(),
                },
                nodes: &mut nodes,
            };
            get_back(
                &mut rejoin,
                redirect,
                &shared.reconnect,
                shared.deadline,
                &mut rng,
            )
            .await
        };
        match bot.back(outcome, leaving, left_at, &room) {
            Some((back, resend_now)) => {
                conn = back;
                resend = resend_now;
            }
            None => break,
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
    /// When the bot lost its room (see [`crate::cluster`]), until the first snapshot in a
    /// room again.
    room_lost_at: Option<Instant>,
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
            // Neither lost nor an error: the node closes after it, and the bot follows.
            End::Redirected(redirect) => (End::Redirected(redirect), now),
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

    /// What getting back after leaving a connection (for `leaving`, at `left_at`) came to:
    /// the connection to play on next, and whether to send the unacknowledged inputs again
    /// (a resume); `None` when the bot is done. Drops on purpose are chaos's to count.
    fn back(
        &mut self,
        outcome: Outcome<Seated<WsLine>>,
        leaving: Leaving,
        left_at: Instant,
        room: &str,
    ) -> Option<(Seated<WsLine>, bool)> {
        let chaos = leaving == Leaving::Drop;
        match outcome {
            Outcome::Back(back) => {
                let took = left_at.elapsed();
                if let Entry::Resumed { room: into } = &back.entry {
                    if chaos {
                        self.stats.chaos.resumed(took);
                    }
                    self.resumed(back.player_id, into.clone(), room);
                    return Some((back, true));
                }
                if chaos {
                    self.stats.chaos.joined_afresh(took);
                    // Its seat is gone: the bot lost its room after all.
                    self.room_lost_at = Some(left_at);
                }
                // A new player: the old one's unacknowledged inputs are nobody's now.
                self.close_input_books(None);
                self.player_id = back.player_id;
                Some((back, false))
            }
            Outcome::GaveUp { last_error } => {
                if chaos {
                    self.stats.chaos.failures += 1;
                }
                let attempts = self.shared.reconnect.max_attempts;
                self.error(
                    ErrorKind::Reconnect,
                    format!("gave up after {attempts} attempts: {last_error}"),
                );
                self.finish(left_at, false);
                None
            }
            Outcome::Deadline => {
                if chaos {
                    self.stats.chaos.in_flight += 1;
                }
                self.finish(left_at, false);
                None
            }
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
        match timeout_at(self.shared.deadline, ws::send(sink, &mut self.stats, msg)).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                let io = is_io(&e);
                self.failed(format!("send failed: {e}"), io);
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
                    Err(e) => {
                        self.error(ErrorKind::Decode, e.to_string());
                        None
                    }
                }
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
                let io = is_io(&e);
                self.failed(e.to_string(), io);
                Some(End::Lost)
            }
            None => {
                self.stats
                    .note("disconnected: connection ended without a close frame".to_owned());
                Some(End::Lost)
            }
        }
    }

    /// Handles one message that came in a frame of `bytes` payload bytes; returns `Some`
    /// when the connection is over (a redirect).
    fn on_message(&mut self, msg: ServerMsg, bytes: usize) -> Option<End> {
        let now = Instant::now();
        match msg {
            ServerMsg::Snapshot(snapshot) => {
                if let Some(lost_at) = self.room_lost_at.take() {
                    self.stats
                        .cluster
                        .reseat(now.saturating_duration_since(lost_at));
                }
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
            // Its node sends the bot on while it plays: the node is draining.
            ServerMsg::Redirect(redirect) => {
                self.stats.cluster.redirects += 1;
                tracing::debug!(bot = self.index, to = %redirect.url, "redirected while playing");
                return Some(End::Redirected(redirect));
            }
            ServerMsg::Notice(_) => self.stats.cluster.notices += 1,
            ServerMsg::Welcome(_)
            | ServerMsg::Joined(_)
            | ServerMsg::Resumed(_)
            | ServerMsg::PlayerJoined(_)
            | ServerMsg::PlayerLeft(_) => {}
        }
        None
    }

    /// The connection failed, saying `what`; `io` when the socket did (a reset, say), not
    /// the WebSocket protocol. See [`Shared::failed`].
    fn failed(&mut self, what: String, io: bool) {
        if self.shared.failed(&mut self.stats, self.index, what, io) {
            self.shared.counters.error();
        }
    }

    fn error(&mut self, kind: ErrorKind, what: String) {
        tracing::debug!(bot = self.index, "{}: {what}", kind.name());
        self.stats.error(kind, what);
        self.shared.counters.error();
    }
}

/// Whether `e` is the socket's failure (or its end, without a close frame, as a killed
/// server's looks) rather than a WebSocket protocol one.
fn is_io(e: &tungstenite::Error) -> bool {
    matches!(
        e,
        tungstenite::Error::Io(_)
            | tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake
            )
    )
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
