//! `RoomCore`: one room as a state machine, with no I/O.
//!
//! The core owns the room's members and away players, its chat, the players' sequence
//! filters, its game, its schedule and its snapshot encoder. It reads no clock and touches
//! no socket: the time comes in as an argument, the members' connections are reached
//! through [`Links`], and what the world around it must do comes out as [`Event`]s. The
//! driver runs it on real sockets and the wall clock; the test harness on in-memory pipes
//! and virtual time; both through the same calls:
//!
//! - [`RoomCore::handle_join`] / [`RoomCore::handle_resume`] / [`RoomCore::handle_watch`]:
//!   a client the lobby sends in;
//! - [`RoomCore::handle_tick`]: when the schedule says a tick is due (see
//!   [`RoomCore::next_deadline`]), read every member, step the game, queue the snapshot and
//!   write every member, once each;
//! - [`RoomCore::handle_close`] / [`RoomCore::handle_shutdown`]: the room closes, or the
//!   server shuts down;
//! - [`RoomCore::poll_event`]: what to carry out, after each of the above.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slotmap::SlotMap;
use tickwire_shared::schema::Schema;
use tickwire_shared::{
    ChatAck, ChatText, ClientMsg, ErrorCode, Events, GameEvent, Input, Joined, Message as _,
    PlayerId, PlayerInfo, PlayerJoined, PlayerLeft, Pong, Resume, Resumed, Watch, encode,
};

use super::event::{Event, Next};
use super::links::Links;
use super::member::{Away, Fate, Member, MemberKey, Seated};
use super::rules::RoomRules;
use super::sim::Sim;
use crate::chat::{Accepted, ChatRefusal, RoomChat};
use crate::game::{Audience, Game, InputValues, SeqFilter};
use crate::heartbeat::Beat;
use crate::inbound::Inbound;
use crate::metrics::{CloseCause, Metrics};
use crate::outbox::{CLOSE_POLICY, Close, SHUTTING_DOWN};
use crate::peer::Peer;
use crate::rate_limit::{FloodGuard, Verdict};
use crate::record::{Chunk, Tape};
use crate::snapshot::{ClientView, EncoderRules, Frame, SnapshotEncoder, SnapshotKind};
use crate::stage::{self, Stage};
use crate::tick_clock::{Due, TickClock};
use crate::transport::Flow;

/// At most this many clients watch one room at a time.
pub const MAX_WATCHERS: usize = 32;

/// At most this many overdue ticks are run back to back after a stall; the rest are skipped.
const MAX_CATCH_UP: u32 = 4;

/// Why a member is taken off its seat by a newer connection.
pub const TAKEN_OVER: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "taken over by a newer connection of the same user",
    cause: CloseCause::Replaced,
};

/// Why a member's half-open connection is replaced by its resumed one.
pub const REPLACED: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "replaced by a resumed connection",
    cause: CloseCause::Replaced,
};

/// One room, without I/O (see the module doc).
#[derive(Debug)]
pub struct RoomCore<G> {
    name: String,
    rules: RoomRules,
    sim: Sim<G>,
    members: SlotMap<MemberKey, Member>,
    away: Vec<Away>,
    chat: RoomChat,
    /// Chat messages accepted this tick, delivered to everyone after the reads.
    chat_out: Vec<Bytes>,
    clock: TickClock,
    /// The time the schedule counts from.
    start: Instant,
    /// The tick of the last snapshot sent (0: none yet).
    last_send: u64,
    snapshots: SnapshotEncoder,
    events: VecDeque<Event>,
    metrics: Arc<Metrics>,
    /// Shutting down: a connection ending now is not kept for a resume.
    shutting_down: bool,
    /// The game's schema, sent to everyone who joins.
    schema: Arc<Schema>,
    /// Since when the room has had no player connected (watchers do not keep it open).
    empty_since: Option<Instant>,
    /// Scratch: the members leaving at the end of a phase.
    departed: Vec<MemberKey>,
}

impl<G: Game> RoomCore<G> {
    /// A room called `name` playing `game` by `rules`, whose schedule starts at `start`.
    pub fn new(
        name: String,
        game: G,
        rules: RoomRules,
        metrics: Arc<Metrics>,
        start: Instant,
    ) -> Self {
        let clock = TickClock::new(rules.tick_rate, MAX_CATCH_UP);
        let schema = Arc::new(G::schema());
        let encoder_rules = EncoderRules {
            tick_rate: rules.tick_rate,
            keyframe_interval: rules.keyframe_interval,
            view_radius: rules.view_radius,
        };
        let snapshots = SnapshotEncoder::new(encoder_rules, Arc::clone(&schema));
        let tape = rules
            .record_segment_bytes
            .map(|max| Tape::new(name.clone(), G::NAME, rules.tick_rate, max));
        Self {
            sim: Sim::new(game, Arc::clone(&schema), clock.dt(), 0, tape),
            schema,
            name,
            chat: RoomChat::new(rules.chat.max_bytes, rules.chat.history),
            rules,
            members: SlotMap::with_key(),
            away: Vec::new(),
            chat_out: Vec::new(),
            clock,
            start,
            last_send: 0,
            snapshots,
            events: VecDeque::new(),
            metrics,
            shutting_down: false,
            empty_since: Some(start),
            departed: Vec::new(),
        }
    }

    /// The simulation's tick: steps run so far.
    pub fn tick(&self) -> u64 {
        self.sim.tick()
    }

    /// The game.
    pub fn game(&self) -> &G {
        self.sim.game()
    }

    /// The game, to change by hand: tests set up scenes with it (see [`Sim::game_mut`]).
    pub fn game_mut(&mut self) -> &mut G {
        self.sim.game_mut()
    }

    /// The last snapshot's frame: the state every member was sent, rounded for the wire.
    pub fn frame(&self) -> &Frame {
        self.snapshots.frame()
    }

    /// How long one tick is.
    pub fn tick_period(&self) -> Duration {
        Duration::from_secs_f32(self.clock.dt())
    }

    /// When the next tick is due.
    pub fn next_deadline(&self) -> Instant {
        self.start + self.clock.next_deadline()
    }

    /// Members connected now.
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// Players away now (connection lost, seat kept).
    pub fn away(&self) -> usize {
        self.away.len()
    }

    /// True when the room has had no player connected for its idle time at `now`.
    pub fn is_idle(&self, now: Instant) -> bool {
        self.empty_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.rules.idle_close)
    }

    /// The next chunk of what the room recorded (when it records), once there is at least
    /// `min_bytes` of it (0: whatever there is), for the writer.
    pub fn take_recording(&mut self, min_bytes: usize) -> Option<Chunk> {
        self.sim.take_recording(min_bytes)
    }

    /// The last recording taken did not reach the writer: the room starts a new segment.
    pub fn recording_lost(&mut self) {
        self.sim.recording_lost();
    }

    /// The next thing for the driver to carry out, in the order they happened.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Lets a greeted client in at `now`; it holds a seat already. Gives the peer back
    /// when it is not greeted (the lobby sends none such).
    ///
    /// # Errors
    /// The peer, when it carries no player.
    #[expect(
        clippy::result_large_err,
        reason = "a peer moves once per join; boxing it would cost an allocation for nothing"
    )]
    pub fn handle_join(&mut self, mut peer: Peer, now: Instant) -> Result<MemberKey, Peer> {
        let Some(player) = peer.player().cloned() else {
            return Err(peer);
        };
        let user_id = peer.user_id();
        self.take_over(&user_id, now);
        let arrived = encode(&PlayerJoined {
            id: player.id,
            name: player.name.clone(),
        });
        for member in self.members.values_mut() {
            member.peer.send(arrived.clone());
        }
        peer.send(encode(&Joined {
            room: self.name.clone(),
            players: self.roster(player.id),
            schema: Schema::clone(&self.schema),
        }));
        self.send_chat_history(&mut peer);
        self.sim.join(player.id);
        self.events.push_back(Event::Seated {
            player: player.id,
            user: user_id.clone(),
        });
        peer.span()
            .in_scope(|| tracing::debug!(room = %self.name, "joined room"));
        let seated = Seated {
            id: player.id,
            name: player.name,
            user_id,
            seq: SeqFilter::default(),
        };
        Ok(self.insert(seated, peer, now, false))
    }

    /// Lets a greeted client watch at `now`: it gets the room's snapshots, every entity in
    /// view, and its chat, but takes no seat and has no place in the game, and the players
    /// are not told.
    ///
    /// # Errors
    /// The peer, with an error queued, when it carries no player or the room has
    /// [`MAX_WATCHERS`] already: it goes back to the lobby.
    #[expect(
        clippy::result_large_err,
        reason = "a peer moves once per watch; boxing it would cost an allocation for nothing"
    )]
    pub fn handle_watch(&mut self, mut peer: Peer, now: Instant) -> Result<MemberKey, Peer> {
        let Some(player) = peer.player().cloned() else {
            return Err(peer);
        };
        if self.members.values().filter(|m| m.watching).count() >= MAX_WATCHERS {
            peer.error(
                ErrorCode::ROOM_FULL,
                format!(
                    "room {:?} has its most watchers ({MAX_WATCHERS})",
                    self.name
                ),
                Some(Watch::KIND),
            );
            return Err(peer);
        }
        peer.send(encode(&Joined {
            room: self.name.clone(),
            players: self.roster(player.id),
            schema: Schema::clone(&self.schema),
        }));
        self.send_chat_history(&mut peer);
        peer.span()
            .in_scope(|| tracing::debug!(room = %self.name, "watching room"));
        let watcher = Seated {
            id: player.id,
            name: player.name,
            user_id: peer.user_id(),
            seq: SeqFilter::default(),
        };
        Ok(self.insert(watcher, peer, now, true))
    }

    /// Gives a lost player its new connection at `now`: back from away, or in place of a
    /// connection that looks alive here but that the client has given up on. `token` is the
    /// player's next resume token, for the answer.
    ///
    /// # Errors
    /// The peer, with a `RESUME_REFUSED` error queued and its player forgotten, when the
    /// player is no longer in the room: it goes back to the lobby.
    #[expect(
        clippy::result_large_err,
        reason = "a peer moves once per resume; boxing it would cost an allocation for nothing"
    )]
    pub fn handle_resume(
        &mut self,
        mut peer: Peer,
        token: String,
        now: Instant,
    ) -> Result<MemberKey, Peer> {
        let Some(id) = peer.player().map(|p| p.id) else {
            return Err(peer);
        };
        let seated = if let Some(i) = self.away.iter().position(|a| a.player.id == id) {
            Some(self.away.swap_remove(i).player)
        } else if let Some((key, _)) = self.members.iter().find(|(_, m)| m.player.id == id) {
            self.members.remove(key).map(|mut old| {
                old.peer.close(REPLACED);
                self.events.push_back(Event::Departed {
                    member: key,
                    peer: old.peer,
                    next: Next::Close,
                });
                old.player
            })
        } else {
            None
        };
        let Some(player) = seated else {
            // Its grace ran out between the token's check and now.
            peer.clear_player(now);
            peer.error(
                ErrorCode::RESUME_REFUSED,
                "the player has left the room",
                Some(Resume::KIND),
            );
            return Err(peer);
        };
        peer.send(encode(&Resumed {
            player_id: player.id,
            room: Some(self.name.clone()),
            players: self.roster(player.id),
            resume_token: token,
            schema: Some(Schema::clone(&self.schema)),
        }));
        self.send_chat_history(&mut peer);
        peer.span()
            .in_scope(|| tracing::debug!(room = %self.name, "resumed"));
        // The tick's snapshot, written with the answer, is the full state it needs.
        Ok(self.insert(player, peer, now, false))
    }

    /// Runs the tick that is due at `now`, if one is: reads what every member sent (at
    /// most `frames_per_tick` frames each), delivers chat, settles departures and expired
    /// away players, steps the game (catching up a bounded number of steps when late),
    /// queues the snapshot when one is due (stamped `wall_ms`), and writes every member
    /// once. Returns what the schedule said: no steps when nothing was due.
    pub fn handle_tick(&mut self, now: Instant, wall_ms: u64, links: &mut impl Links) -> Due {
        let due = self
            .clock
            .advance(now.saturating_duration_since(self.start));
        if due.steps == 0 {
            return due;
        }
        if due.skipped > 0 {
            self.metrics.ticks_skipped.inc_by(due.skipped);
            tracing::warn!(skipped = due.skipped, "room fell behind and skipped ticks");
        }
        self.read(now, wall_ms, links);
        self.deliver_chat();
        self.settle(now);
        self.expire_away(now);
        for _ in 0..due.steps {
            self.sim.step(wall_ms);
        }
        self.write(now, wall_ms, links);
        self.settle(now);
        self.metrics.ticks.inc_by(u64::from(due.steps));
        if !self.members.values().any(|m| !m.watching) {
            self.empty_since.get_or_insert(now);
        } else {
            self.empty_since = None;
        }
        due
    }

    /// The room closes, standing empty of players: its watchers go back to the lobby, told
    /// why.
    pub fn handle_close(&mut self) {
        for (key, mut member) in self.members.drain() {
            member.peer.error(
                ErrorCode::NOT_FOUND,
                format!("room {:?} closed", self.name),
                Some(Watch::KIND),
            );
            self.events.push_back(Event::Unwatched {
                player: member.player.id,
                lost: None,
                to_lobby: true,
            });
            self.events.push_back(Event::Departed {
                member: key,
                peer: member.peer,
                next: Next::Lobby,
            });
        }
    }

    /// An operator's notice (an encoded `Notice`) for the member who is `user`, or for
    /// every member with `None`.
    pub fn handle_notice(&mut self, user: Option<&str>, frame: &Bytes) {
        for member in self.members.values_mut() {
            if user.is_none_or(|u| member.peer.user_id() == u) {
                member.peer.send(frame.clone());
            }
        }
    }

    /// The server shuts down: every member is closed with 1001, and none is kept for a
    /// resume. With `redirect` (an encoded `Redirect`, when a node of a cluster has
    /// somewhere to send them), each member is told first where to go instead.
    pub fn handle_shutdown(&mut self, redirect: Option<Bytes>) {
        self.shutting_down = true;
        for (key, mut member) in self.members.drain() {
            if let Some(redirect) = &redirect {
                member.peer.send(redirect.clone());
            }
            member.peer.close(SHUTTING_DOWN);
            self.events.push_back(Event::Departed {
                member: key,
                peer: member.peer,
                next: Next::Close,
            });
        }
    }

    fn insert(
        &mut self,
        player: Seated,
        mut peer: Peer,
        now: Instant,
        watching: bool,
    ) -> MemberKey {
        // A client back from another room (or this one, before) holds none of our ticks.
        peer.outbox().forget_snapshots();
        if !watching {
            self.empty_since = None;
        }
        self.members.insert(Member {
            player,
            watching,
            peer,
            chat: FloodGuard::new(self.rules.chat.limit, now),
            view: ClientView::default(),
            fate: Fate::Plays,
        })
    }

    /// Every player in the room but `except`, connected or away.
    fn roster(&self, except: PlayerId) -> Vec<PlayerInfo> {
        let members = self
            .members
            .values()
            .filter(|m| !m.watching)
            .map(|m| &m.player);
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

    fn send_chat_history(&self, peer: &mut Peer) {
        for frame in self.chat.history() {
            peer.send(frame.clone());
        }
    }

    /// The same user may sit in a room once: a player of `user_id` already here, connected
    /// or away, gives its seat up to the newcomer.
    fn take_over(&mut self, user_id: &str, now: Instant) {
        let mut found = false;
        for member in self.members.values_mut() {
            if member.player.user_id == user_id && member.fate == Fate::Plays && !member.watching {
                member
                    .peer
                    .span()
                    .in_scope(|| tracing::info!("seat taken over by a newer connection"));
                member.peer.close(TAKEN_OVER);
                member.fate = Fate::Closes;
                found = true;
            }
        }
        if found {
            self.settle(now);
        }
        for away in &mut self.away {
            if away.player.user_id == user_id {
                away.deadline = now;
            }
        }
        self.expire_away(now);
    }

    /// Players away past their grace leave for good.
    fn expire_away(&mut self, now: Instant) {
        while let Some(i) = self.away.iter().position(|a| a.deadline <= now) {
            let away = self.away.swap_remove(i);
            tracing::debug!(player = away.player.id, "resume grace over");
            self.remove_player(away.player, false);
        }
    }

    /// Takes a player out of the game and the room, and tells the others.
    fn remove_player(&mut self, player: Seated, kept_session: bool) {
        self.sim.leave(player.id);
        self.events.push_back(Event::Left {
            player: player.id,
            user: player.user_id,
            kept_session,
        });
        let left = encode(&PlayerLeft {
            id: player.id,
            name: player.name,
        });
        for other in self.members.values_mut() {
            other.peer.send(left.clone());
        }
    }

    /// Sends this tick's accepted chat messages to everyone, in the order accepted.
    fn deliver_chat(&mut self) {
        for frame in self.chat_out.drain(..) {
            for member in self.members.values_mut() {
                member.peer.send(frame.clone());
            }
        }
    }

    /// Reads up to `frames_per_tick` frames from every member. What a flooding client
    /// sends beyond that waits in its own socket, slowing nobody else.
    fn read(&mut self, now: Instant, wall_ms: u64, links: &mut impl Links) {
        let budget = self.rules.frames_per_tick.max(1);
        let keep_alive = self.rules.keep_alive;
        let mut malformed = 0;
        for (key, member) in &mut self.members {
            for _ in 0..budget {
                let Some(frame) = links.read(key) else {
                    break;
                };
                match member.peer.on_frame(frame, now) {
                    Inbound::Request(ClientMsg::Chat(chat)) if !member.watching => {
                        let ack = on_chat(&mut self.chat, member, &chat.text, now, wall_ms);
                        let (server_id, time_ms, refused) = match ack {
                            Ok(accepted) => {
                                let ack = (accepted.server_id, accepted.time_ms, None);
                                self.chat_out.push(accepted.frame);
                                ack
                            }
                            Err(why) => (0, 0, Some(why.reason().to_owned())),
                        };
                        member.peer.send(encode(&ChatAck {
                            id: chat.id,
                            server_id,
                            time_ms,
                            refused,
                        }));
                    }
                    Inbound::Request(msg) => {
                        on_request(&self.metrics, &self.schema, &mut self.sim, member, msg);
                    }
                    Inbound::Malformed(err) => {
                        malformed += 1;
                        member
                            .peer
                            .span()
                            .in_scope(|| tracing::debug!(cause = %err, "malformed frame"));
                        member.peer.error(err.code(), err.to_string(), err.kind());
                    }
                    Inbound::Close(_) => member.fate = Fate::Closes,
                    Inbound::Ended => member.fate = Fate::Gone,
                    Inbound::Dropped(_) | Inbound::Control => {}
                }
                if member.fate != Fate::Plays {
                    break;
                }
            }
            if member.fate == Fate::Plays && member.peer.keep_alive(now, keep_alive) == Beat::Dead {
                member.fate = Fate::Closes;
            }
        }
        if malformed > 0 {
            self.metrics.frames_malformed.inc_by(malformed);
        }
    }

    /// True when this tick's state goes out: once per multiple of `send_every` passed,
    /// so ticks run back to back after a stall send one snapshot, not several.
    fn snapshot_due(&self) -> bool {
        let every = u64::from(self.rules.send_every.max(1));
        self.sim.tick() / every > self.last_send / every
    }

    /// Queues this tick's snapshot for every member when one is due, then writes each
    /// member once with everything the tick queued for it.
    fn write(&mut self, now: Instant, wall_ms: u64, links: &mut impl Links) {
        if self.members.is_empty() {
            // Nobody to tell what happened.
            self.sim.events().take();
            return;
        }
        let tick = self.sim.tick();
        let snapshot_due = self.snapshot_due();
        if snapshot_due {
            self.last_send = tick;
            self.send_events(tick);
            self.snapshots.begin(self.sim.game(), tick, wall_ms);
        }
        let mut dropped = 0;
        let mut sent = [0u64; 2];
        for (key, member) in &mut self.members {
            if snapshot_due {
                let base = member.peer.outbox().sent_snapshot();
                // Shared bytes (a reference count) unless the view radius makes them
                // differ per client; then assembled from pieces encoded once.
                // A watcher sees everything; a player what its view radius holds.
                let own = (!member.watching).then_some(member.player.id);
                let (bytes, kind) = self.snapshots.for_client(
                    base,
                    &mut member.view,
                    own,
                    member.player.seq.last(),
                );
                sent[usize::from(kind == SnapshotKind::Delta)] += 1;
                dropped += u64::from(member.peer.outbox().push_snapshot(tick, bytes));
            }
            let flow = links.write(key, &mut member.peer);
            member.peer.note_flow(flow, now);
            match flow {
                Flow::Open | Flow::Blocked => {}
                Flow::Closed => member.fate = Fate::Closes,
                Flow::Failed => member.fate = Fate::Gone,
            }
            if member.fate == Fate::Plays && member.peer.is_closing() {
                // Its reliable lane overflowed: it cannot keep up.
                member.fate = Fate::Closes;
            }
        }
        self.metrics.add_snapshots(sent[0], sent[1]);
        if dropped > 0 {
            self.metrics.snapshots_dropped.inc_by(dropped);
        }
    }

    /// Sends the events of the steps since the last snapshot, ahead of the snapshot of
    /// `tick` and on the reliable lane, so that a client gets every one, in order, before
    /// the state that shows their outcome. Encoded once when every event is for everyone.
    fn send_events(&mut self, tick: u64) {
        let events = self.sim.events().take();
        if events.is_empty() {
            return;
        }
        if events.iter().all(|(to, _)| *to == Audience::All) {
            let frame = encode(&Events {
                tick,
                events: events.into_iter().map(|(_, e)| e).collect(),
            });
            for member in self.members.values_mut() {
                member.peer.send(frame.clone());
            }
            return;
        }
        for member in self.members.values_mut() {
            let me = Audience::Player(member.player.id);
            let mine: Vec<GameEvent> = events
                .iter()
                .filter(|(to, _)| *to == Audience::All || *to == me)
                .map(|(_, e)| e.clone())
                .collect();
            if !mine.is_empty() {
                member.peer.send(encode(&Events { tick, events: mine }));
            }
        }
    }

    /// Removes members that leave, close or are gone. A member whose connection was lost
    /// (not closed on purpose) stays in the game as away, keeping its seat for the resume
    /// grace, unseen by the others; everyone else leaves, and the others are told. Leavers
    /// go back to the lobby, closing connections are closed.
    fn settle(&mut self, now: Instant) {
        self.departed.extend(
            self.members
                .iter()
                .filter(|(_, m)| m.fate != Fate::Plays)
                .map(|(k, _)| k),
        );
        let grace = self.rules.resume_grace;
        for key in std::mem::take(&mut self.departed) {
            let Some(Member {
                player,
                peer,
                fate,
                watching,
                ..
            }) = self.members.remove(key)
            else {
                continue;
            };
            let next = match fate {
                Fate::Leaves => Next::Lobby,
                Fate::Closes => Next::Close,
                Fate::Gone | Fate::Plays => Next::Drop,
            };
            if watching {
                self.events.push_back(Event::Unwatched {
                    player: player.id,
                    lost: peer.connection_lost().then_some(now),
                    to_lobby: next == Next::Lobby,
                });
                self.events.push_back(Event::Departed {
                    member: key,
                    peer,
                    next,
                });
                continue;
            }
            let lost = fate != Fate::Leaves
                && !grace.is_zero()
                && !self.shutting_down
                && peer.connection_lost();
            if lost {
                self.sim.away(player.id);
                self.events.push_back(Event::Lost {
                    player: player.id,
                    at: now,
                });
                self.away.push(Away {
                    player,
                    deadline: now + grace,
                });
            } else {
                self.remove_player(player, fate == Fate::Leaves);
            }
            peer.span()
                .in_scope(|| tracing::debug!(?fate, lost, "left room"));
            self.events.push_back(Event::Departed {
                member: key,
                peer,
                next,
            });
        }
    }
}

/// Answers one request of a member (chat aside, which the room orders itself).
fn on_request<G: Game>(
    metrics: &Metrics,
    schema: &Schema,
    sim: &mut Sim<G>,
    member: &mut Member,
    msg: ClientMsg,
) {
    let stage = if member.watching {
        Stage::Watching
    } else {
        Stage::Playing
    };
    if let Err(why) = stage::check(stage, &msg) {
        stage::refuse(&mut member.peer, &msg, why);
        return;
    }
    let kind = Some(msg.kind());
    match msg {
        ClientMsg::Input(input) => match admit::<G>(schema, &input) {
            Ok((values, game_input)) => {
                if member.player.seq.accept(input.seq) {
                    sim.input(member.player.id, &values, &game_input, input.view_tick);
                }
            }
            Err(err) => {
                metrics.inputs_invalid.inc();
                member
                    .peer
                    .error(ErrorCode::INVALID_VALUE, err.to_string(), kind);
            }
        },
        ClientMsg::Ping(ping) => {
            member.peer.send(encode(&Pong {
                client_time: ping.client_time,
                server_tick: sim.tick(),
            }));
        }
        ClientMsg::Leave(_) => member.fate = Fate::Leaves,
        // The stage table refuses the rest in a room, and chat is read by the room itself.
        ClientMsg::Hello(_)
        | ClientMsg::Resume(_)
        | ClientMsg::Join(_)
        | ClientMsg::Create(_)
        | ClientMsg::Watch(_)
        | ClientMsg::Claim(_)
        | ClientMsg::Chat(_) => {}
    }
}

/// An input's values checked against the schema, then by the game: what reaches the world.
fn admit<G: Game>(
    schema: &Schema,
    input: &Input,
) -> Result<(InputValues, G::Input), crate::game::InvalidInput> {
    let values = InputValues::check(&schema.input, &input.values)?;
    let game_input = G::input(&values)?;
    Ok((values, game_input))
}

/// Checks a member's chat message at `now` against its rate and the room's rules.
fn on_chat(
    chat: &mut RoomChat,
    member: &mut Member,
    text: &ChatText,
    now: Instant,
    wall_ms: u64,
) -> Result<Accepted, ChatRefusal> {
    if member.chat.check(now) != Verdict::Allow {
        return Err(ChatRefusal::RateLimited);
    }
    chat.accept(member.player.id, &member.player.name, text, wall_ms)
}
