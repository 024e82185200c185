//! One room's task: owns the room's clients and game, and runs the fixed-timestep loop.
//!
//! Each tick: admit joiners; read what every client sent since the last tick (inputs go
//! straight to the game, pings are answered, leaves noted); step the game (catching up a
//! bounded number of steps when late); encode one snapshot, queue the same bytes in every
//! outbox, and write each client once. Reads and writes never wait: a socket with nothing
//! to read is skipped, and a socket that cannot take a write keeps it queued for the next
//! tick, where a newer snapshot replaces the unsent one. The room owns its clients'
//! sockets outright, outside the reactor, so a tick costs no task wake-up and no
//! readiness event per client (see ARCHITECTURE.md).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use slotmap::{SlotMap, new_key_type};
use tickwire_shared::{
    ChatAck, ClientMsg, ErrorCode, Joined, Message as _, PlayerId, PlayerInfo, PlayerJoined,
    PlayerLeft, Pong, Resume, Resumed, encode,
};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::chat::{ChatRefusal, RoomChat};
use crate::client::{Client, Flow, Incoming};
use crate::connection::{self, SHUTTING_DOWN};
use crate::context::ServerContext;
use crate::game::{Game, SeqFilter, ValidInput};
use crate::heartbeat::Beat;
use crate::metrics::{CloseCause, Traffic};
use crate::outbox::{CLOSE_POLICY, Close};
use crate::rate_limit::{FloodGuard, Limit, Verdict};
use crate::rooms::{RoomShared, Seat};
use crate::snapshot::{ClientView, EncoderRules, SnapshotEncoder, SnapshotKind};
use crate::tick_clock::TickClock;

/// At most this many overdue ticks are run back to back after a stall; the rest are skipped.
const MAX_CATCH_UP: u32 = 4;

/// What a room is asked to do.
#[derive(Debug)]
pub enum RoomCmd {
    /// Let a greeted client in; it holds a seat already. The room owns the client from now on.
    Join {
        /// The seat the registry reserved.
        seat: Seat,
        /// The client, with its socket.
        client: Client,
    },
    /// Take a lost player back on a new connection; the client already says which player
    /// (from its redeemed token). The room answers, and on refusal sends it to the lobby.
    Resume {
        /// The client, with its socket and player.
        client: Client,
        /// The player's next resume token, for the `Resumed` answer.
        token: String,
    },
}

impl RoomCmd {
    /// The client the command carries.
    pub fn client_mut(&mut self) -> &mut Client {
        match self {
            RoomCmd::Join { client, .. } | RoomCmd::Resume { client, .. } => client,
        }
    }

    /// The client back, when the room could not take the command.
    pub fn into_client(self) -> Client {
        match self {
            RoomCmd::Join { client, .. } | RoomCmd::Resume { client, .. } => client,
        }
    }
}

/// Why a member is taken off its seat by a newer connection.
const TAKEN_OVER: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "taken over by a newer connection of the same user",
    cause: CloseCause::Replaced,
};

/// Why a member's half-open connection is replaced by its resumed one.
const REPLACED: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "replaced by a resumed connection",
    cause: CloseCause::Replaced,
};

new_key_type! {
    struct MemberKey;
}

/// What becomes of a member at the end of the tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Plays,
    /// Asked to leave: goes back to the lobby.
    Leaves,
    /// Its connection is closing (it closed, broke a rule, or fell behind).
    Closes,
    /// Its socket ended or failed.
    Gone,
}

/// A player with a seat, whether its connection is here or lost: what moves between
/// [`Member`] and [`Away`] when it drops and resumes.
#[derive(Debug)]
struct Seated {
    id: PlayerId,
    name: String,
    user_id: String,
    /// Survives a resume, so an input re-sent after it is applied at most once.
    seq: SeqFilter,
}

#[derive(Debug)]
struct Member {
    player: Seated,
    client: Client,
    chat: FloodGuard,
    /// What the client holds of the room, when it sees only part of it.
    view: ClientView,
    fate: Fate,
}

/// A player whose connection was lost: still in the game, not acting, its seat kept until
/// `deadline` for it to resume.
#[derive(Debug)]
struct Away {
    player: Seated,
    deadline: Instant,
}

struct Room<G> {
    ctx: Arc<ServerContext>,
    shared: Arc<RoomShared>,
    game: G,
    members: SlotMap<MemberKey, Member>,
    away: Vec<Away>,
    chat: RoomChat,
    /// Chat messages accepted this tick, delivered to everyone after the reads.
    chat_out: Vec<Bytes>,
    /// The simulation's tick.
    tick: u64,
    /// The tick of the last snapshot sent (0: none yet).
    last_send: u64,
    snapshots: SnapshotEncoder,
    departed: Vec<MemberKey>,
}

/// Runs a room until it has stood empty for the configured time, or the server shuts down.
pub async fn run<G: Game>(
    ctx: Arc<ServerContext>,
    shared: Arc<RoomShared>,
    mut cmds: mpsc::Receiver<RoomCmd>,
    game: G,
) {
    let mut clock = TickClock::new(ctx.config.tick_rate, MAX_CATCH_UP);
    let tick_period = Duration::from_secs_f32(clock.dt());
    let idle_limit = ctx.config.room_idle();
    let shutdown = ctx.shutdown.clone();
    let chat = RoomChat::new(ctx.config.chat_max_bytes, ctx.config.chat_history);
    let snapshots = SnapshotEncoder::new(EncoderRules {
        tick_rate: ctx.config.tick_rate,
        keyframe_interval: ctx.config.keyframe_interval,
        view_radius: ctx.config.view_radius,
    });
    let mut room = Room {
        ctx,
        shared,
        game,
        members: SlotMap::with_key(),
        away: Vec::new(),
        chat,
        chat_out: Vec::new(),
        tick: 0,
        last_send: 0,
        snapshots,
        departed: Vec::new(),
    };
    let start = tokio::time::Instant::now();
    let mut empty_since: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(start + clock.next_deadline()) => {}
        }
        let due = clock.advance(start.elapsed());
        if due.steps == 0 {
            continue;
        }
        if due.skipped > 0 {
            room.ctx.metrics.ticks_skipped.inc_by(due.skipped);
            tracing::warn!(skipped = due.skipped, "room fell behind and skipped ticks");
        }
        let began = Instant::now();
        room.admit(&mut cmds);
        room.read_clients(began);
        room.deliver_chat();
        room.settle_departures();
        room.expire_away(began);
        for _ in 0..due.steps {
            room.game.step(clock.dt());
            room.tick += 1;
        }
        room.write_clients();
        room.settle_departures();
        let took = began.elapsed();
        let metrics = &room.ctx.metrics;
        metrics.ticks.inc_by(u64::from(due.steps));
        metrics.tick_seconds.observe(took.as_secs_f64());
        if took > tick_period {
            metrics.tick_overruns.inc();
            tracing::warn!(took_us = took.as_micros() as u64, "tick overran its period");
        }

        if !room.members.is_empty() {
            empty_since = None;
        } else if empty_since.get_or_insert(began).elapsed() >= idle_limit
            && room.ctx.rooms.close_if_empty(&room.shared.name)
        {
            tracing::info!("closed room after standing empty");
            break;
        }
    }
    room.close_all();
}

impl<G: Game> Room<G> {
    fn admit(&mut self, cmds: &mut mpsc::Receiver<RoomCmd>) {
        while let Ok(cmd) = cmds.try_recv() {
            match cmd {
                RoomCmd::Join { seat, client } => self.join(seat, client),
                RoomCmd::Resume { client, token } => self.resume(client, token),
            }
        }
    }

    fn new_member(&self, player: Seated, mut client: Client) -> Member {
        // A client back from another room (or this one, before) holds none of our ticks.
        client.outbox().forget_snapshots();
        let config = &self.ctx.config;
        Member {
            player,
            client,
            chat: FloodGuard::new(Limit {
                per_second: config.chat_rate,
                burst: config.chat_burst,
            }),
            view: ClientView::default(),
            fate: Fate::Plays,
        }
    }

    /// Everyone in the room but `except`, connected or away.
    fn roster(&self, except: PlayerId) -> Vec<PlayerInfo> {
        let members = self.members.values().map(|m| &m.player);
        let away = self.away.iter().map(|a| &a.player);
        members
            .chain(away)
            .filter(|p| p.id != except)
            .map(|p| PlayerInfo {
                id: p.id,
                name: p.name.clone(),
            })
            .collect()
    }

    fn send_chat_history(&self, client: &mut Client) {
        for frame in self.chat.history() {
            client.send(frame.clone());
        }
    }

    fn join(&mut self, seat: Seat, mut client: Client) {
        let Some(player) = client.player().cloned() else {
            // Only greeted clients are sent here; drop the seat and the client if not.
            return;
        };
        seat.fill();
        let user_id = client.user_id();
        self.take_over(&user_id);
        let arrived = encode(&PlayerJoined {
            id: player.id,
            name: player.name.clone(),
        });
        for member in self.members.values_mut() {
            member.client.send(arrived.clone());
        }
        client.send(encode(&Joined {
            room: self.shared.name.clone(),
            players: self.roster(player.id),
        }));
        self.send_chat_history(&mut client);
        self.game.handle_join(player.id);
        self.shared.user_seated(&user_id);
        self.ctx
            .sessions
            .set_room(player.id, Some(self.shared.name.clone()));
        client
            .span()
            .in_scope(|| tracing::debug!(room = %self.shared.name, "joined room"));
        let player = Seated {
            id: player.id,
            name: player.name,
            user_id,
            seq: SeqFilter::default(),
        };
        let member = self.new_member(player, client);
        self.members.insert(member);
    }

    /// The same user may sit in a room once: a player of `user_id` already here, connected
    /// or away, gives its seat up to the newcomer.
    fn take_over(&mut self, user_id: &str) {
        let mut found = false;
        for member in self.members.values_mut() {
            if member.player.user_id == user_id && member.fate == Fate::Plays {
                member
                    .client
                    .span()
                    .in_scope(|| tracing::info!("seat taken over by a newer connection"));
                member.client.close(TAKEN_OVER);
                member.fate = Fate::Closes;
                found = true;
            }
        }
        if found {
            self.settle_departures();
        }
        let now = Instant::now();
        for away in &mut self.away {
            if away.player.user_id == user_id {
                away.deadline = now;
            }
        }
        self.expire_away(now);
    }

    /// Gives a lost player its new connection: back from away, or in place of a connection
    /// that looks alive here but that the client has given up on.
    fn resume(&mut self, mut client: Client, token: String) {
        let Some(id) = client.player().map(|p| p.id) else {
            return;
        };
        let seated = if let Some(i) = self.away.iter().position(|a| a.player.id == id) {
            Some(self.away.swap_remove(i).player)
        } else if let Some((key, _)) = self.members.iter().find(|(_, m)| m.player.id == id) {
            self.members.remove(key).map(|mut old| {
                old.client.close(REPLACED);
                let span = old.client.span().clone();
                let finish = old.client.finish(self.ctx.config.shutdown_grace());
                self.ctx.tracker.spawn(finish.instrument(span));
                old.player
            })
        } else {
            None
        };
        let Some(player) = seated else {
            // Its grace ran out between the token's check and now.
            client.clear_player();
            client.error(
                ErrorCode::RESUME_REFUSED,
                "the player has left the room",
                Some(Resume::KIND),
            );
            let span = client.span().clone();
            let lobby = connection::lobby(client, Arc::clone(&self.ctx));
            self.ctx.tracker.spawn(lobby.instrument(span));
            return;
        };
        client.send(encode(&Resumed {
            player_id: player.id,
            room: Some(self.shared.name.clone()),
            players: self.roster(player.id),
            resume_token: token,
        }));
        self.send_chat_history(&mut client);
        client
            .span()
            .in_scope(|| tracing::debug!(room = %self.shared.name, "resumed"));
        // The tick's snapshot, written with the answer, is the full state it needs.
        let member = self.new_member(player, client);
        self.members.insert(member);
    }

    /// Players away past their grace leave for good.
    fn expire_away(&mut self, now: Instant) {
        while let Some(i) = self.away.iter().position(|a| a.deadline <= now) {
            let away = self.away.swap_remove(i);
            tracing::debug!(player = away.player.id, "resume grace over");
            self.ctx.sessions.end(away.player.id);
            self.remove_player(away.player);
        }
    }

    /// Takes a player out of the game and the room, and tells the others.
    fn remove_player(&mut self, player: Seated) {
        self.game.handle_leave(player.id);
        self.shared.release_seat();
        self.shared.user_left(&player.user_id);
        let left = encode(&PlayerLeft {
            id: player.id,
            name: player.name,
        });
        for other in self.members.values_mut() {
            other.client.send(left.clone());
        }
    }

    /// Sends this tick's accepted chat messages to everyone, in the order accepted.
    fn deliver_chat(&mut self) {
        for frame in self.chat_out.drain(..) {
            for member in self.members.values_mut() {
                member.client.send(frame.clone());
            }
        }
    }

    /// Reads up to the configured number of frames from every client. What a flooding
    /// client sends beyond that waits in its own socket, slowing nobody else.
    fn read_clients(&mut self, now: Instant) {
        let budget = self.ctx.config.frames_per_tick.max(1);
        let tick = self.tick;
        let keep_alive = self.ctx.config.keep_alive();
        let mut malformed = 0;
        for member in self.members.values_mut() {
            member.client.socket_mut().new_tick();
            for _ in 0..budget {
                let Some(incoming) = member.client.read_now() else {
                    break;
                };
                match incoming {
                    Incoming::Request(ClientMsg::Chat(chat)) => {
                        let ack = on_chat(&mut self.chat, member, &chat.text);
                        let (server_id, time_ms, refused) = match ack {
                            Ok(accepted) => {
                                let ack = (accepted.server_id, accepted.time_ms, None);
                                self.chat_out.push(accepted.frame);
                                ack
                            }
                            Err(why) => (0, 0, Some(why.reason().to_owned())),
                        };
                        member.client.send(encode(&ChatAck {
                            id: chat.id,
                            server_id,
                            time_ms,
                            refused,
                        }));
                    }
                    Incoming::Request(msg) => {
                        on_request(&self.ctx, &mut self.game, member, msg, tick);
                    }
                    Incoming::Malformed(err) => {
                        malformed += 1;
                        member
                            .client
                            .span()
                            .in_scope(|| tracing::debug!(cause = %err, "malformed frame"));
                        member.client.error(err.code(), err.to_string(), err.kind());
                    }
                    Incoming::Closing => member.fate = Fate::Closes,
                    Incoming::Ended => member.fate = Fate::Gone,
                    Incoming::Nothing => {}
                }
                if member.fate != Fate::Plays {
                    break;
                }
            }
            if member.fate == Fate::Plays && member.client.keep_alive(now, keep_alive) == Beat::Dead
            {
                member.fate = Fate::Closes;
            }
        }
        if malformed > 0 {
            self.ctx.metrics.frames_malformed.inc_by(malformed);
        }
    }

    /// True when this tick's state goes out: once per multiple of `send_every` passed,
    /// so ticks run back to back after a stall send one snapshot, not several.
    fn snapshot_due(&self) -> bool {
        let every = u64::from(self.ctx.config.send_every.max(1));
        self.tick / every > self.last_send / every
    }

    /// Queues this tick's snapshot for every member when one is due, then writes each
    /// client once with everything the tick queued for it.
    fn write_clients(&mut self) {
        if self.members.is_empty() {
            return;
        }
        let snapshot_due = self.snapshot_due();
        if snapshot_due {
            self.last_send = self.tick;
            self.snapshots.begin(&self.game, self.tick, unix_ms());
        }
        let mut dropped = 0;
        let mut sent = [0u64; 2];
        let mut traffic = Traffic::default();
        for member in self.members.values_mut() {
            if snapshot_due {
                let base = member.client.outbox().sent_snapshot();
                // Shared bytes (a reference count) unless the view radius makes them
                // differ per client; then assembled from pieces encoded once.
                let (bytes, kind) =
                    self.snapshots
                        .for_client(base, &mut member.view, member.player.id);
                sent[usize::from(kind == SnapshotKind::Delta)] += 1;
                dropped += u64::from(member.client.outbox().push_snapshot(self.tick, bytes));
            }
            match member.client.write_now() {
                Ok(Flow::Open | Flow::Blocked) => {}
                Ok(Flow::Closed) => member.fate = Fate::Closes,
                Err(_) => member.fate = Fate::Gone,
            }
            if member.fate == Fate::Plays && member.client.is_closing() {
                // Its reliable lane overflowed: it cannot keep up.
                member.fate = Fate::Closes;
            }
            // Taken after the tick's read and write, so one sum per tick covers both.
            traffic += member.client.take_traffic();
        }
        let metrics = &self.ctx.metrics;
        metrics.add_traffic(traffic);
        metrics.add_snapshots(sent[0], sent[1]);
        if dropped > 0 {
            metrics.snapshots_dropped.inc_by(dropped);
        }
    }

    /// Removes members that leave, close or are gone. A member whose connection was lost
    /// (not closed on purpose) stays in the game as away, keeping its seat for the resume
    /// grace, unseen by the others; everyone else leaves, and the others are told. Leavers
    /// go back to the lobby, closing clients are closed.
    fn settle_departures(&mut self) {
        self.departed.extend(
            self.members
                .iter()
                .filter(|(_, m)| m.fate != Fate::Plays)
                .map(|(k, _)| k),
        );
        let grace = self.ctx.sessions.grace();
        for key in std::mem::take(&mut self.departed) {
            let Some(Member {
                player,
                client,
                fate,
                ..
            }) = self.members.remove(key)
            else {
                continue;
            };
            let lost = fate != Fate::Leaves
                && !grace.is_zero()
                && !self.ctx.shutdown.is_cancelled()
                && client.connection_lost();
            if lost {
                let now = Instant::now();
                self.game.handle_away(player.id);
                self.ctx.sessions.connection_lost(player.id, now);
                self.away.push(Away {
                    player,
                    deadline: now + grace,
                });
            } else {
                if fate == Fate::Leaves {
                    self.ctx.sessions.set_room(player.id, None);
                } else {
                    self.ctx.sessions.end(player.id);
                }
                self.remove_player(player);
            }
            client
                .span()
                .in_scope(|| tracing::debug!(?fate, lost, "left room"));
            let span = client.span().clone();
            match fate {
                Fate::Leaves => {
                    let lobby = connection::lobby(client, Arc::clone(&self.ctx));
                    self.ctx.tracker.spawn(lobby.instrument(span));
                }
                Fate::Closes => {
                    let finish = client.finish(self.ctx.config.shutdown_grace());
                    self.ctx.tracker.spawn(finish.instrument(span));
                }
                Fate::Gone | Fate::Plays => {}
            }
        }
    }

    /// On shutdown: every client is sent a close with code 1001.
    fn close_all(&mut self) {
        for (_, mut member) in self.members.drain() {
            member.client.close(SHUTTING_DOWN);
            let span = member.client.span().clone();
            let finish = member.client.finish(self.ctx.config.shutdown_grace());
            self.ctx.tracker.spawn(finish.instrument(span));
        }
    }
}

/// Answers one request of a member.
fn on_request<G: Game>(
    ctx: &ServerContext,
    game: &mut G,
    member: &mut Member,
    msg: ClientMsg,
    tick: u64,
) {
    let kind = Some(msg.kind());
    let client = &mut member.client;
    match msg {
        ClientMsg::Input(input) => match ValidInput::new(&input) {
            Ok(input) => {
                if member.player.seq.accept(input.seq) {
                    game.handle_input(member.player.id, &input);
                }
            }
            Err(err) => {
                ctx.metrics.inputs_invalid.inc();
                client.error(ErrorCode::INVALID_VALUE, err.to_string(), kind);
            }
        },
        ClientMsg::Ping(ping) => {
            client.send(encode(&Pong {
                client_time: ping.client_time,
                server_tick: tick,
            }));
        }
        ClientMsg::Leave(_) => member.fate = Fate::Leaves,
        ClientMsg::Hello(_) | ClientMsg::Resume(_) => {
            client.error(ErrorCode::BAD_STATE, "hello was already sent", kind);
        }
        ClientMsg::Join(_) | ClientMsg::Create(_) => {
            client.error(
                ErrorCode::NOT_IN_ROOM,
                "already in a room; leave first",
                kind,
            );
        }
        // Read by the room itself, which delivers accepted messages to everyone.
        ClientMsg::Chat(_) => debug_assert!(false, "chat routed to on_request"),
    }
}

/// Checks a member's chat message against its rate and the room's rules.
fn on_chat(
    chat: &mut RoomChat,
    member: &mut Member,
    text: &tickwire_shared::ChatText,
) -> Result<crate::chat::Accepted, ChatRefusal> {
    if member.chat.check() != Verdict::Allow {
        return Err(ChatRefusal::RateLimited);
    }
    chat.accept(member.player.id, &member.player.name, text, unix_ms())
}

/// The wall clock in milliseconds since the Unix epoch, as the wire carries times (0 if
/// the clock is before 1970).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
