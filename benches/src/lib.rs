//! Shared set-up for the criterion benches in `benches/`: rooms of a given size whose
//! players walk the way the bots do, snapshot encoders configured as a room configures
//! them, and the old (protocol 2) snapshot encoding, kept to compare sizes against.
//!
//! Every player `id` walks [`Walk::new(id)`](Walk::new), the bots' own wandering walk
//! (one input per tick, turning by up to ±0.15 rad each time), so what the benches measure
//! is what a bot swarm makes the server do.

use bytes::Bytes;
use tickwire_bot::walk::Walk;
use tickwire_server::game::{Arena, ArenaRules, Game, SimPlayer, ValidInput};
use tickwire_server::snapshot::{ClientView, EncoderRules, SnapshotEncoder, SnapshotKind};
use tickwire_shared::{Input, PlayerId};

/// The room sizes every bench is run at: the default cap (64) and well past it.
pub const ROOM_SIZES: [u32; 4] = [16, 64, 256, 1024];

/// Ticks (and inputs, and snapshots) per second, as the server runs by default.
pub const TICK_RATE: u16 = 60;

/// One tick, in seconds.
pub const DT: f32 = 1.0 / TICK_RATE as f32;

/// How long a new room walks before a bench starts from it: three seconds, enough for
/// every player to reach top speed and for the walk to have turned it several times.
pub const SETTLE_TICKS: u32 = 3 * TICK_RATE as u32;

/// The walks of a room's players: walk `i` is player `i`'s.
#[derive(Debug, Clone)]
pub struct Walkers {
    walks: Vec<Walk>,
    seq: u32,
}

impl Walkers {
    /// The walks of players `0..players`, none taken yet.
    pub fn new(players: u32) -> Self {
        Self {
            walks: (0..players as usize).map(Walk::new).collect(),
            seq: 0,
        }
    }

    /// The next tick's inputs, one per player: `inputs[id]` is player `id`'s.
    pub fn next_inputs(&mut self) -> Vec<Input> {
        let mut inputs = Vec::with_capacity(self.walks.len());
        self.fill_next_inputs(&mut inputs);
        inputs
    }

    /// Like [`Self::next_inputs`], into a buffer that is cleared first.
    pub fn fill_next_inputs(&mut self, inputs: &mut Vec<Input>) {
        self.seq += 1;
        let seq = self.seq;
        inputs.clear();
        inputs.extend(self.walks.iter_mut().map(|walk| walk.next_input(seq)));
    }
}

/// Validates each input and hands it to the game as the player whose id is its index, as
/// a room does.
pub fn apply_inputs<G: Game>(game: &mut G, inputs: &[Input]) {
    for (id, input) in inputs.iter().enumerate() {
        if let Ok(valid) = ValidInput::new(input) {
            game.handle_input(id as PlayerId, &valid);
        }
    }
}

/// An arena whose players walk the bots' walk, one input per player per tick.
#[derive(Debug)]
pub struct WalkingRoom {
    /// The world.
    pub arena: Arena,
    /// Its players' walks.
    pub walkers: Walkers,
    /// Ticks stepped so far.
    pub tick: u64,
    inputs: Vec<Input>,
}

impl WalkingRoom {
    /// An arena of `players` players (ids `0..players`, at the arena's spawn points) that
    /// has walked for [`SETTLE_TICKS`], so that velocities are settled.
    pub fn new(players: u32) -> Self {
        let mut arena = Arena::new(ArenaRules::default());
        for id in 0..players {
            arena.handle_join(id);
        }
        let mut room = Self {
            arena,
            walkers: Walkers::new(players),
            tick: 0,
            inputs: Vec::new(),
        };
        for _ in 0..SETTLE_TICKS {
            room.step();
        }
        room
    }

    /// One tick: every player's next walk input, then one step of the arena.
    pub fn step(&mut self) {
        self.walkers.fill_next_inputs(&mut self.inputs);
        apply_inputs(&mut self.arena, &self.inputs);
        self.arena.step(DT);
        self.tick += 1;
    }

    /// The players as the simulation holds them.
    pub fn players(&self) -> Vec<SimPlayer> {
        let mut out = Vec::new();
        self.arena.snapshot(&mut out);
        out
    }

    /// The wall-clock time the room's snapshot of this tick carries.
    pub fn time_ms(&self) -> u64 {
        1_790_000_000_000 + self.tick * 1000 / u64::from(TICK_RATE)
    }
}

/// An encoder as a room makes it, with `view_radius`, that never sends everyone a
/// keyframe on its own after the first frame: the benches ask for keyframes or deltas
/// explicitly.
pub fn encoder(view_radius: Option<f32>) -> SnapshotEncoder {
    SnapshotEncoder::new(EncoderRules {
        tick_rate: TICK_RATE,
        keyframe_interval: u32::MAX,
        view_radius,
    })
}

/// A real delta of a settled walking room of `players` players (no view radius): the
/// tick it is from and its bytes.
pub fn walking_delta(players: u32) -> (u64, Bytes) {
    let mut room = WalkingRoom::new(players);
    let mut encoder = encoder(None);
    let mut view = ClientView::default();
    encoder.begin(&room.arena, room.tick, room.time_ms());
    let (_, kind) = encoder.for_client(None, &mut view, 0);
    assert_eq!(kind, SnapshotKind::Keyframe);
    let base = room.tick;
    room.step();
    encoder.begin(&room.arena, room.tick, room.time_ms());
    let (delta, kind) = encoder.for_client(Some(base), &mut view, 0);
    assert_eq!(kind, SnapshotKind::Delta);
    (room.tick, delta)
}

/// The whole room as protocol 2 sent it to every client every tick, for comparison:
/// `[2, [tick, server_time_ms, [[id, [x, y], [vx, vy], facing, last_input_seq], ...]]]`,
/// every number but the id, tick, time and seq an f32.
pub fn v2_snapshot(players: &[SimPlayer], tick: u64, time_ms: u64) -> Vec<u8> {
    type V2Player = (PlayerId, [f32; 2], [f32; 2], f32, u32);
    let players: Vec<V2Player> = players
        .iter()
        .map(|p| {
            (
                p.id,
                p.pos.to_array(),
                p.vel.to_array(),
                p.facing,
                p.last_input_seq,
            )
        })
        .collect();
    rmp_serde::to_vec(&(2u8, (tick, time_ms, players)))
        .expect("invariant: a tuple of numbers always serializes")
}
