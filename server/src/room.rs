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

use slotmap::{SlotMap, new_key_type};
use tickwire_shared::{
    ClientMsg, ErrorCode, Join, Joined, Message as _, PlayerId, PlayerInfo, PlayerJoined,
    PlayerLeft, Pong, Snapshot, encode,
};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::client::{Client, Flow, Incoming};
use crate::connection::{self, SHUTTING_DOWN};
use crate::context::ServerContext;
use crate::game::{Game, SeqFilter, ValidInput};
use crate::heartbeat::Beat;
use crate::metrics::Traffic;
use crate::rooms::{RoomShared, Seat};
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
}

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

#[derive(Debug)]
struct Member {
    id: PlayerId,
    name: String,
    client: Client,
    seq: SeqFilter,
    fate: Fate,
}

struct Room<G> {
    ctx: Arc<ServerContext>,
    shared: Arc<RoomShared>,
    game: G,
    members: SlotMap<MemberKey, Member>,
    /// Reused every tick so a snapshot costs no allocation but its encoding.
    snapshot: Snapshot,
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
    let mut room = Room {
        ctx,
        shared,
        game,
        members: SlotMap::with_key(),
        snapshot: Snapshot {
            tick: 0,
            server_time_ms: 0,
            players: Vec::new(),
        },
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
        room.settle_departures();
        for _ in 0..due.steps {
            room.game.step(clock.dt());
            room.snapshot.tick += 1;
        }
        room.broadcast_snapshot();
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
        while let Ok(RoomCmd::Join { seat, client }) = cmds.try_recv() {
            self.join(seat, client);
        }
    }

    fn join(&mut self, seat: Seat, mut client: Client) {
        let Some(player) = client.player().cloned() else {
            // Only greeted clients are sent here; drop the seat and the client if not.
            return;
        };
        seat.fill();
        let arrived = encode(&PlayerJoined {
            id: player.id,
            name: player.name.clone(),
        });
        for member in self.members.values_mut() {
            member.client.send(arrived.clone());
        }
        client.send(encode(&Joined {
            room: self.shared.name.clone(),
            players: self
                .members
                .values()
                .map(|m| PlayerInfo {
                    id: m.id,
                    name: m.name.clone(),
                })
                .collect(),
        }));
        self.game.handle_join(player.id);
        client
            .span()
            .in_scope(|| tracing::debug!(room = %self.shared.name, "joined room"));
        self.members.insert(Member {
            id: player.id,
            name: player.name,
            client,
            seq: SeqFilter::default(),
            fate: Fate::Plays,
        });
    }

    /// Reads up to the configured number of frames from every client. What a flooding
    /// client sends beyond that waits in its own socket, slowing nobody else.
    fn read_clients(&mut self, now: Instant) {
        let budget = self.ctx.config.frames_per_tick.max(1);
        let tick = self.snapshot.tick;
        let keep_alive = self.ctx.config.keep_alive();
        let mut malformed = 0;
        for member in self.members.values_mut() {
            member.client.socket_mut().new_tick();
            for _ in 0..budget {
                let Some(incoming) = member.client.read_now() else {
                    break;
                };
                match incoming {
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

    fn broadcast_snapshot(&mut self) {
        if self.members.is_empty() {
            return;
        }
        self.snapshot.server_time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.snapshot.players.clear();
        self.game.snapshot(&mut self.snapshot.players);
        // Encoded once; every outbox gets a reference-counted handle to the same bytes,
        // and each client gets one write for everything the tick queued for it.
        let bytes = encode(&self.snapshot);
        let mut dropped = 0;
        let mut traffic = Traffic::default();
        for member in self.members.values_mut() {
            dropped += u64::from(member.client.outbox().push_snapshot(bytes.clone()));
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
        if dropped > 0 {
            metrics.snapshots_dropped.inc_by(dropped);
        }
    }

    /// Removes members that leave, close or are gone; tells the others; sends leavers back
    /// to the lobby and closing clients to be closed.
    fn settle_departures(&mut self) {
        self.departed.extend(
            self.members
                .iter()
                .filter(|(_, m)| m.fate != Fate::Plays)
                .map(|(k, _)| k),
        );
        for key in std::mem::take(&mut self.departed) {
            let Some(member) = self.members.remove(key) else {
                continue;
            };
            self.game.handle_leave(member.id);
            self.shared.release_seat();
            let left = encode(&PlayerLeft { id: member.id });
            for other in self.members.values_mut() {
                other.client.send(left.clone());
            }
            member
                .client
                .span()
                .in_scope(|| tracing::debug!(fate = ?member.fate, "left room"));
            let span = member.client.span().clone();
            match member.fate {
                Fate::Leaves => {
                    let lobby = connection::lobby(member.client, Arc::clone(&self.ctx));
                    self.ctx.tracker.spawn(lobby.instrument(span));
                }
                Fate::Closes => {
                    let finish = member.client.finish(self.ctx.config.shutdown_grace());
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
                if member.seq.accept(input.seq) {
                    game.handle_input(member.id, &input);
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
        ClientMsg::Hello(_) => client.error(ErrorCode::BAD_STATE, "hello was already sent", kind),
        ClientMsg::Join(_) => client.error(
            ErrorCode::NOT_IN_ROOM,
            "already in a room; leave first",
            Some(Join::KIND),
        ),
    }
}
