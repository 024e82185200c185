//! Shared set-up for the criterion benches in `benches/`: rooms of a given size whose
//! players walk the way the bots do, shooter scenes of a given number of entities,
//! snapshot encoders configured as a room configures them, and the old (protocol 2)
//! snapshot encoding, kept to compare sizes against.
//!
//! Every arena player `id` walks [`Walk::new(id)`](Walk::new), the bots' own wandering
//! walk (one input per tick, turning by up to ±0.15 rad each time), so what the benches
//! measure is what a bot swarm makes the server do. A bench that runs on any game takes a
//! [`Scene`]: [`WalkingRoom`] is the arena's, [`ShooterScene`] the shooter's.

use std::sync::Arc;

use bytes::Bytes;
use glam::Vec2;
use tickwire_bot::walk::Walk;
use tickwire_server::game::{Events, Game, InputValues, Schema, World};
use tickwire_server::games::arena::{Arena, ArenaRules, PLAYER};
use tickwire_server::games::shooter::Shooter;
use tickwire_server::snapshot::{ClientView, EncoderRules, SnapshotEncoder, SnapshotKind};
use tickwire_shared::{Input, PlayerId};

/// The room sizes every arena bench is run at: the default cap (64) and well past it.
pub const ROOM_SIZES: [u32; 4] = [16, 64, 256, 1024];

/// Ticks (and inputs, and snapshots) per second, as the server runs by default.
pub const TICK_RATE: u16 = 60;

/// One tick, in seconds.
pub const DT: f32 = 1.0 / TICK_RATE as f32;

/// How long a new room walks before a bench starts from it: three seconds, enough for
/// every player to reach top speed and for the walk to have turned it several times.
pub const SETTLE_TICKS: u32 = 3 * TICK_RATE as u32;

/// A world a bench steps and encodes, tick after tick, whatever its game.
pub trait Scene {
    /// Its game.
    type Game: Game;

    /// The game, as it is now.
    fn game(&self) -> &Self::Game;

    /// The last tick stepped.
    fn tick(&self) -> u64;

    /// One more tick of play: what the clients and the room do before a snapshot (not
    /// timed by the encode benches).
    fn step(&mut self);

    /// The wall-clock time the snapshot of this tick carries.
    fn time_ms(&self) -> u64 {
        1_790_000_000_000 + self.tick() * 1000 / u64::from(TICK_RATE)
    }

    /// Puts the scene back as the bench set it up when playing on has worn it; true when
    /// it did, so that the next snapshot is no delta of the last one. A scene that stays
    /// what it was (the arena's walk) never does.
    fn renew(&mut self) -> bool {
        false
    }
}

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

    /// The sequence number of the inputs last made (0: none yet).
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// The next tick's arena inputs, one per player: `inputs[id]` is player `id`'s.
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

/// Checks each input against `schema` and by the game, and hands what passes to the game
/// as the player whose id is its index, as a room does.
pub fn apply_inputs<G: Game>(game: &mut G, schema: &Schema, inputs: &[Input]) {
    for (id, input) in inputs.iter().enumerate() {
        let Ok(values) = InputValues::check(&schema.input, &input.values) else {
            continue;
        };
        if let Ok(valid) = G::input(&values) {
            game.handle_input(id as PlayerId, &valid, input.view_tick);
        }
    }
}

/// An arena player as its snapshot writes it, back in world units (so rounded as the
/// wire rounds it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Body {
    /// The player.
    pub id: PlayerId,
    /// Position.
    pub pos: Vec2,
    /// Velocity, in units per second.
    pub vel: Vec2,
    /// Facing, in radians.
    pub facing: f32,
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
    schema: Arc<Schema>,
    events: Events,
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
        let schema = Arc::new(Arena::schema());
        let mut room = Self {
            arena,
            walkers: Walkers::new(players),
            tick: 0,
            events: Events::new(Arc::clone(&schema)),
            schema,
            inputs: Vec::new(),
        };
        for _ in 0..SETTLE_TICKS {
            room.step();
        }
        room
    }

    /// The arena's schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// One tick: every player's next walk input, then one step of the arena.
    pub fn step(&mut self) {
        self.walkers.fill_next_inputs(&mut self.inputs);
        apply_inputs(&mut self.arena, &self.schema, &self.inputs);
        self.tick += 1;
        self.arena.step(self.tick, DT, &mut self.events);
        // The arena emits none; a room would send them with the snapshot.
        self.events.take();
    }

    /// The players as the arena's snapshot has them.
    pub fn players(&self) -> Vec<Body> {
        let mut world = World::new(Arc::clone(&self.schema));
        self.arena.snapshot(&mut world);
        let kind = &self.schema.kinds[usize::from(PLAYER)];
        let at = |name: &str| usize::from(kind.index_of(name).expect("an arena player field"));
        let [vx, vy, x, y, facing] = ["vx", "vy", "x", "y", "facing"].map(at);
        (0..world.len())
            .map(|i| {
                let values = world.values(i);
                let unit = |f: usize| kind.fields[f].from_wire(values[f].int()) as f32;
                Body {
                    id: world.id(i),
                    pos: Vec2::new(unit(x), unit(y)),
                    vel: Vec2::new(unit(vx), unit(vy)),
                    facing: unit(facing),
                }
            })
            .collect()
    }

    /// The wall-clock time the room's snapshot of this tick carries.
    pub fn time_ms(&self) -> u64 {
        Scene::time_ms(self)
    }
}

impl Scene for WalkingRoom {
    type Game = Arena;

    fn game(&self) -> &Arena {
        &self.arena
    }

    fn tick(&self) -> u64 {
        self.tick
    }

    fn step(&mut self) {
        WalkingRoom::step(self);
    }
}

/// The shooter scenes the shooter benches run: entities in the snapshot, and the
/// [`Shooter::scene`] that has them (ships, bullets per ship). About three entities per
/// ship (ship, score row, bullets); the 256 scene is the bullet-heavier one.
pub const SHOOTER_SCENES: [(u32, u32, u32); 3] = [(64, 21, 1), (256, 51, 3), (1024, 341, 1)];

/// How many ticks a shooter scene is played before it is built afresh: half a second, so
/// that what is stepped and encoded stays the scene the bench names (bullets expire, ships
/// die and respawn as it plays on).
pub const SHOOTER_SCENE_TICKS: u32 = TICK_RATE as u32 / 2;

/// A shooter mid-round ([`Shooter::scene`]), played on by itself (every ship keeps
/// flying, aiming and firing as the scene set it), and built afresh every
/// [`SHOOTER_SCENE_TICKS`].
#[derive(Debug)]
pub struct ShooterScene {
    /// The world.
    pub game: Shooter,
    ships: u32,
    bullets: u32,
    played: u32,
    events: Events,
}

impl ShooterScene {
    /// The scene of `entities` entities, one of [`SHOOTER_SCENES`].
    ///
    /// # Panics
    /// When [`SHOOTER_SCENES`] has no scene of that size.
    pub fn new(entities: u32) -> Self {
        let &(_, ships, bullets) = SHOOTER_SCENES
            .iter()
            .find(|s| s.0 == entities)
            .expect("a scene of SHOOTER_SCENES");
        Self {
            game: Shooter::scene(ships, bullets),
            ships,
            bullets,
            played: 0,
            events: Events::new(Arc::new(Shooter::schema())),
        }
    }

    /// True when the scene has been played for [`SHOOTER_SCENE_TICKS`] and is due to be
    /// built afresh.
    pub fn worn(&self) -> bool {
        self.played >= SHOOTER_SCENE_TICKS
    }

    /// Builds the scene afresh (a bench does this untimed, when [`Self::worn`]).
    pub fn rebuild(&mut self) {
        self.game = Shooter::scene(self.ships, self.bullets);
        self.played = 0;
        self.events.take();
    }

    /// One step of the shooter, and what it emitted dropped (a room would send it).
    pub fn step_game(&mut self) {
        let tick = self.game.tick() + 1;
        self.game.step(tick, Shooter::SCENE_DT, &mut self.events);
        self.events.take();
        self.played += 1;
    }
}

impl Scene for ShooterScene {
    type Game = Shooter;

    fn game(&self) -> &Shooter {
        &self.game
    }

    fn tick(&self) -> u64 {
        self.game.tick()
    }

    fn step(&mut self) {
        self.step_game();
    }

    fn renew(&mut self) -> bool {
        let worn = self.worn();
        if worn {
            self.rebuild();
        }
        worn
    }
}

/// An encoder of the game `G` as a room makes it, with `view_radius`, that never sends
/// everyone a keyframe on its own after the first frame: the benches ask for keyframes or
/// deltas explicitly.
pub fn encoder_of<G: Game>(view_radius: Option<f32>) -> SnapshotEncoder {
    let rules = EncoderRules {
        tick_rate: TICK_RATE,
        keyframe_interval: u32::MAX,
        view_radius,
    };
    SnapshotEncoder::new(rules, Arc::new(G::schema()))
}

/// An arena's encoder (see [`encoder_of`]).
pub fn encoder(view_radius: Option<f32>) -> SnapshotEncoder {
    encoder_of::<Arena>(view_radius)
}

/// A real delta of a settled walking room of `players` players (no view radius): the
/// tick it is from and its bytes.
pub fn walking_delta(players: u32) -> (u64, Bytes) {
    let mut room = WalkingRoom::new(players);
    let mut encoder = encoder(None);
    let mut view = ClientView::default();
    encoder.begin(&room.arena, room.tick, room.time_ms());
    let (_, kind) = encoder.for_client(None, &mut view, Some(0), 0);
    assert_eq!(kind, SnapshotKind::Keyframe);
    let base = room.tick;
    room.step();
    encoder.begin(&room.arena, room.tick, room.time_ms());
    let (delta, kind) = encoder.for_client(Some(base), &mut view, Some(0), 0);
    assert_eq!(kind, SnapshotKind::Delta);
    (room.tick, delta)
}

/// The whole room as protocol 2 sent it to every client every tick, for comparison:
/// `[2, [tick, server_time_ms, [[id, [x, y], [vx, vy], facing, last_input_seq], ...]]]`,
/// every number but the id, tick, time and seq an f32. Every player's `last_input_seq`
/// is `seq`, as when each sends one input a tick.
pub fn v2_snapshot(players: &[Body], tick: u64, time_ms: u64, seq: u32) -> Vec<u8> {
    type V2Player = (PlayerId, [f32; 2], [f32; 2], f32, u32);
    let players: Vec<V2Player> = players
        .iter()
        .map(|p| (p.id, p.pos.to_array(), p.vel.to_array(), p.facing, seq))
        .collect();
    rmp_serde::to_vec(&(2u8, (tick, time_ms, players)))
        .expect("invariant: a tuple of numbers always serializes")
}
