//! One room's task: owns the room's players and game, and runs the fixed-timestep loop.
//!
//! Each tick: admit joiners, drain every player's queued inputs, step the game (catching up
//! a bounded number of steps when late), encode one snapshot and hand the same bytes to
//! every player's outbox, then write each outbox out if its socket takes it at once. The
//! room never waits on a socket: a write that would wait is left to the connection's writer. A player whose connection ended is noticed by its input queue closing.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use slotmap::{SlotMap, new_key_type};
use tickwire_shared::{Joined, PlayerId, PlayerInfo, PlayerJoined, PlayerLeft, Snapshot, encode};
use tokio::sync::mpsc;

use crate::context::ServerContext;
use crate::game::{Game, SeqFilter, ValidInput};
use crate::input_queue::InputReceiver;
use crate::link::Link;
use crate::metrics::Metrics;
use crate::rooms::{RoomShared, Seat};
use crate::tick_clock::TickClock;

/// At most this many overdue ticks are run back to back after a stall; the rest are skipped.
const MAX_CATCH_UP: u32 = 4;

/// What a room is asked to do.
#[derive(Debug)]
pub enum RoomCmd {
    /// Let a player in; they hold a seat already.
    Join {
        /// The seat the registry reserved.
        seat: Seat,
        /// Who is joining.
        player: PlayerInfo,
        /// Where the player's messages go.
        link: Arc<Link>,
        /// The player's validated inputs; closed when the player leaves or disconnects.
        inputs: InputReceiver,
    },
}

new_key_type! {
    struct MemberKey;
}

#[derive(Debug)]
struct Member {
    id: PlayerId,
    name: String,
    link: Arc<Link>,
    inputs: InputReceiver,
    seq: SeqFilter,
}

struct Room<G> {
    ctx: Arc<ServerContext>,
    shared: Arc<RoomShared>,
    game: G,
    members: SlotMap<MemberKey, Member>,
    /// Reused every tick so a snapshot costs no allocation but its encoding.
    snapshot: Snapshot,
    departed: Vec<MemberKey>,
    /// Scratch for one member's inputs, reused every tick.
    inputs: Vec<ValidInput>,
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
        inputs: Vec::new(),
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
            room.ctx
                .metrics
                .ticks_skipped
                .fetch_add(due.skipped, Ordering::Relaxed);
            tracing::warn!(skipped = due.skipped, "room fell behind and skipped ticks");
        }
        let began = Instant::now();
        room.admit(&mut cmds);
        room.apply_inputs();
        for _ in 0..due.steps {
            room.game.step(clock.dt());
            room.snapshot.tick += 1;
        }
        room.shared
            .tick
            .store(room.snapshot.tick, Ordering::Relaxed);
        room.broadcast_snapshot();
        let took = began.elapsed();
        if took > tick_period {
            Metrics::inc(&room.ctx.metrics.tick_overruns);
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
}

impl<G: Game> Room<G> {
    fn admit(&mut self, cmds: &mut mpsc::Receiver<RoomCmd>) {
        while let Ok(cmd) = cmds.try_recv() {
            match cmd {
                RoomCmd::Join {
                    seat,
                    player,
                    link,
                    inputs,
                } => self.join(seat, player, link, inputs),
            }
        }
    }

    fn join(&mut self, seat: Seat, player: PlayerInfo, link: Arc<Link>, inputs: InputReceiver) {
        seat.fill();
        let joined = encode(&Joined {
            room: self.shared.name.clone(),
            players: self
                .members
                .values()
                .map(|m| PlayerInfo {
                    id: m.id,
                    name: m.name.clone(),
                })
                .collect(),
        });
        let arrived = encode(&PlayerJoined {
            id: player.id,
            name: player.name.clone(),
        });
        for member in self.members.values() {
            member.link.outbox().push_reliable(arrived.clone());
        }
        link.outbox().push_reliable(joined);
        self.game.handle_join(player.id);
        tracing::debug!(player = player.id, "player joined");
        self.members.insert(Member {
            id: player.id,
            name: player.name,
            link,
            inputs,
            seq: SeqFilter::default(),
        });
    }

    fn apply_inputs(&mut self) {
        for (key, member) in &mut self.members {
            if !member.inputs.drain_into(&mut self.inputs) {
                self.departed.push(key);
            }
            for input in self.inputs.drain(..) {
                if member.seq.accept(input.seq) {
                    self.game.handle_input(member.id, &input);
                }
            }
        }
        for key in std::mem::take(&mut self.departed) {
            self.leave(key);
        }
    }

    fn leave(&mut self, key: MemberKey) {
        let Some(member) = self.members.remove(key) else {
            return;
        };
        self.game.handle_leave(member.id);
        self.shared.release_seat();
        let left = encode(&PlayerLeft { id: member.id });
        for other in self.members.values() {
            other.link.outbox().push_reliable(left.clone());
        }
        tracing::debug!(player = member.id, "player left");
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
        // and the tick's messages leave in one write per client.
        let bytes = encode(&self.snapshot);
        for member in self.members.values() {
            member.link.outbox().push_snapshot(bytes.clone());
            member.link.send_now();
        }
    }
}
