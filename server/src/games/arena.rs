//! "Arena", the first game: circles that run toward their input direction, stay inside
//! the world and push each other apart. Its wire is the one protocol 3 had built in,
//! declared now through the game API: a player entity of velocity, position (predicted
//! from the velocity) and facing.

use glam::Vec2;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::game::{
    Events, Field, Game, Grid, InputField, InputValues, InvalidInput, Kind, KindId, PlayerId,
    RestoreError, Schema, World, motion,
};

/// The entity kind of a player: the only kind the arena has.
pub const PLAYER: KindId = 0;

/// The longest direction accepted; a little over 1, so that a unit vector with float
/// rounding (an analog stick's normalized reading) is not refused. Anything in between is
/// scaled to length 1.
pub const MAX_DIRECTION_LENGTH: f32 = 1.01;

/// An arena input: where the player wants to go and where it looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArenaInput {
    /// Wanted direction, length at most 1.
    pub dir: Vec2,
    /// Facing in radians, in (-π, π].
    pub facing: f32,
    /// Button bits (the arena has no use for them yet).
    pub buttons: u8,
}

/// The numbers that make the arena play the way it does (documented in PROTOCOL.md for
/// clients that predict movement).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArenaRules {
    /// The world spans `[0, size.x] × [0, size.y]` world units.
    pub size: Vec2,
    /// Every player is a circle of this radius.
    pub radius: f32,
    /// No player is ever faster than this, in units per second.
    pub max_speed: f32,
    /// How fast velocity turns toward the wanted velocity, in units per second².
    pub accel: f32,
}

impl Default for ArenaRules {
    fn default() -> Self {
        Self {
            size: Vec2::splat(2000.0),
            radius: 12.0,
            max_speed: 300.0,
            accel: 1500.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Body {
    id: PlayerId,
    pos: Vec2,
    vel: Vec2,
    facing: f32,
    /// The direction of the latest applied input, length at most 1.
    intent: Vec2,
}

/// Everything that makes one arena world differ from another, as [`Game::save`] writes it.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    size: Vec2,
    radius: f32,
    max_speed: f32,
    accel: f32,
    spawn_state: u64,
    bodies: Vec<Body>,
}

/// The arena world.
///
/// Bodies live in a plain vector (a leaver's place is taken by the last body), so the
/// order they are stepped and pushed apart in follows from the joins and leaves alone:
/// a saved world, restored, goes on exactly as the original would.
#[derive(Debug)]
pub struct Arena {
    rules: ArenaRules,
    bodies: Vec<Body>,
    by_id: HashMap<PlayerId, usize>,
    grid: Grid,
    /// Scratch copy of positions for the collision pass, kept to avoid a per-tick allocation.
    scratch: Vec<Vec2>,
    /// Spawn points come from this deterministic generator, so a run can be replayed.
    spawn_state: u64,
}

impl Arena {
    /// An empty arena.
    pub fn new(rules: ArenaRules) -> Self {
        Self {
            rules,
            bodies: Vec::new(),
            by_id: HashMap::new(),
            grid: Grid::new(rules.size, rules.radius * 2.0),
            scratch: Vec::new(),
            spawn_state: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// How many players are in the world.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// True when nobody is in the world.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// Puts a player at an exact place (tests and benches set up scenes with it).
    pub fn place(&mut self, id: PlayerId, pos: Vec2) {
        if let Some(body) = self.body_mut(id) {
            body.pos = pos;
        }
    }

    fn body_mut(&mut self, id: PlayerId) -> Option<&mut Body> {
        let &at = self.by_id.get(&id)?;
        self.bodies.get_mut(at)
    }

    fn next_spawn(&mut self) -> Vec2 {
        let mut unit = || {
            // xorshift64*: cheap, deterministic, good enough to scatter spawn points.
            self.spawn_state ^= self.spawn_state >> 12;
            self.spawn_state ^= self.spawn_state << 25;
            self.spawn_state ^= self.spawn_state >> 27;
            let r = self.spawn_state.wrapping_mul(0x2545_f491_4f6c_dd1d);
            (r >> 40) as f32 / (1u64 << 24) as f32
        };
        let margin = Vec2::splat(self.rules.radius);
        let span = self.rules.size - 2.0 * margin;
        margin + Vec2::new(unit(), unit()) * span
    }

    fn separate_overlaps(&mut self) {
        let diameter = self.rules.radius * 2.0;
        self.scratch.clear();
        self.scratch.extend(self.bodies.iter().map(|b| b.pos));
        self.grid.rebuild(&self.scratch);
        let pos = &mut self.scratch;
        self.grid.for_each_near_pair(|i, j| {
            let delta = pos[j] - pos[i];
            let dist_sq = delta.length_squared();
            if dist_sq >= diameter * diameter {
                return;
            }
            let dist = dist_sq.sqrt();
            // Two bodies on the very same spot have no direction between them: pick one
            // by index, so the outcome stays deterministic.
            let normal = if dist > 1e-4 {
                delta / dist
            } else if i % 2 == 0 {
                Vec2::X
            } else {
                Vec2::Y
            };
            let push = normal * ((diameter - dist) * 0.5);
            pos[i] -= push;
            pos[j] += push;
        });
        for (body, &p) in self.bodies.iter_mut().zip(self.scratch.iter()) {
            body.pos = p;
        }
    }

    fn keep_inside(&mut self) {
        let lo = Vec2::splat(self.rules.radius);
        let hi = self.rules.size - lo;
        for body in &mut self.bodies {
            motion::keep_inside(&mut body.pos, &mut body.vel, lo, hi);
        }
    }
}

impl Game for Arena {
    const NAME: &'static str = "arena";
    type Input = ArenaInput;

    fn new() -> Self {
        Arena::new(ArenaRules::default())
    }

    fn schema() -> Schema {
        let d = f64::from(MAX_DIRECTION_LENGTH);
        Schema::new(Self::NAME)
            .input(InputField::float("dx", -d, d))
            .input(InputField::float("dy", -d, d))
            .input(InputField::angle("facing"))
            .input(InputField::int("buttons", 0, 255))
            .kind(
                Kind::new("player")
                    .field(Field::velocity("vx", 1))
                    .field(Field::velocity("vy", 1))
                    .field(Field::position("x", 100).predicted_by("vx"))
                    .field(Field::position("y", 100).predicted_by("vy"))
                    .field(Field::angle("facing", 1024))
                    .at("x", "y"),
            )
    }

    fn input(values: &InputValues) -> Result<ArenaInput, InvalidInput> {
        let dir = Vec2::new(values.f32(0), values.f32(1));
        if dir.length() > MAX_DIRECTION_LENGTH {
            return Err(InvalidInput::new("input direction is longer than 1"));
        }
        Ok(ArenaInput {
            dir: dir.clamp_length_max(1.0),
            facing: values.f32(2),
            buttons: values.int(3) as u8,
        })
    }

    fn handle_join(&mut self, id: PlayerId) {
        if self.by_id.contains_key(&id) {
            return;
        }
        let pos = self.next_spawn();
        self.by_id.insert(id, self.bodies.len());
        self.bodies.push(Body {
            id,
            pos,
            vel: Vec2::ZERO,
            facing: 0.0,
            intent: Vec2::ZERO,
        });
    }

    fn handle_leave(&mut self, id: PlayerId) {
        let Some(at) = self.by_id.remove(&id) else {
            return;
        };
        self.bodies.swap_remove(at);
        if let Some(moved) = self.bodies.get(at) {
            self.by_id.insert(moved.id, at);
        }
    }

    fn handle_away(&mut self, id: PlayerId) {
        if let Some(body) = self.body_mut(id) {
            body.intent = Vec2::ZERO;
        }
    }

    fn handle_input(&mut self, id: PlayerId, input: &ArenaInput, _view_tick: u64) {
        let Some(body) = self.body_mut(id) else {
            return;
        };
        body.intent = input.dir;
        body.facing = input.facing;
    }

    fn step(&mut self, _tick: u64, dt: f32, _events: &mut Events) {
        let ArenaRules {
            max_speed, accel, ..
        } = self.rules;
        for body in &mut self.bodies {
            body.vel = motion::steer(body.vel, body.intent, max_speed, accel, dt);
            body.pos += body.vel * dt;
        }
        self.separate_overlaps();
        self.keep_inside();
    }

    fn snapshot(&self, world: &mut World) {
        for b in &self.bodies {
            world
                .spawn(PLAYER, b.id)
                .f32(b.vel.x)
                .f32(b.vel.y)
                .f32(b.pos.x)
                .f32(b.pos.y)
                .f32(b.facing);
        }
    }

    /// Every body's exact state (its f32 bits, not the wire's rounding), summed so that
    /// it does not depend on the order the bodies are kept in.
    fn world_hash(&self, _scratch: &mut World) -> u32 {
        use std::hash::Hasher;
        let sum = self.bodies.iter().fold(0u64, |sum, b| {
            let mut h = fnv::FnvHasher::default();
            h.write_u32(b.id);
            for x in [
                b.pos.x, b.pos.y, b.vel.x, b.vel.y, b.facing, b.intent.x, b.intent.y,
            ] {
                h.write_u32(x.to_bits());
            }
            sum.wrapping_add(h.finish())
        });
        sum as u32
    }

    fn save(&self) -> Option<Vec<u8>> {
        let ArenaRules {
            size,
            radius,
            max_speed,
            accel,
        } = self.rules;
        let saved = Saved {
            size,
            radius,
            max_speed,
            accel,
            spawn_state: self.spawn_state,
            bodies: self.bodies.clone(),
        };
        rmp_serde::to_vec(&saved).ok()
    }

    fn restore(&mut self, saved: &[u8]) -> Result<(), RestoreError> {
        let saved: Saved =
            rmp_serde::from_slice(saved).map_err(|e| RestoreError::Corrupt(e.to_string()))?;
        let rules = ArenaRules {
            size: saved.size,
            radius: saved.radius,
            max_speed: saved.max_speed,
            accel: saved.accel,
        };
        *self = Arena::new(rules);
        self.spawn_state = saved.spawn_state;
        for (at, body) in saved.bodies.iter().enumerate() {
            self.by_id.insert(body.id, at);
        }
        if self.by_id.len() != saved.bodies.len() {
            return Err(RestoreError::Corrupt(
                "a player is in the world twice".into(),
            ));
        }
        self.bodies = saved.bodies;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::InputValue;

    const DT: f32 = 1.0 / 60.0;

    fn input(dir: [f32; 2]) -> ArenaInput {
        let values = [dir[0], dir[1], 0.0].map(|x| InputValue::Float(x.into()));
        let mut values = values.to_vec();
        values.push(InputValue::Int(0));
        let checked = InputValues::check(&Arena::schema().input, &values).unwrap();
        Arena::input(&checked).unwrap()
    }

    fn step(arena: &mut Arena) {
        let mut events = Events::new(std::sync::Arc::new(Arena::schema()));
        arena.step(0, DT, &mut events);
    }

    /// A player as the simulation holds it.
    #[derive(Debug, PartialEq)]
    struct Seen {
        id: PlayerId,
        pos: Vec2,
        vel: Vec2,
    }

    fn everyone(arena: &Arena) -> Vec<Seen> {
        arena
            .bodies
            .iter()
            .map(|b| Seen {
                id: b.id,
                pos: b.pos,
                vel: b.vel,
            })
            .collect()
    }

    fn state(arena: &Arena, id: PlayerId) -> Seen {
        everyone(arena).into_iter().find(|p| p.id == id).unwrap()
    }

    fn speed(p: &Seen) -> f32 {
        p.vel.length()
    }

    #[test]
    fn the_schema_is_valid_and_inputs_are_checked() {
        assert_eq!(Arena::schema().check(), Ok(()));
        let long = [0.75, 0.75, 0.0].map(InputValue::Float);
        let mut long = long.to_vec();
        long.push(InputValue::Int(0));
        let checked = InputValues::check(&Arena::schema().input, &long).unwrap();
        assert_eq!(
            Arena::input(&checked),
            Err(InvalidInput::new("input direction is longer than 1"))
        );
        let a = input([0.6 * 1.005, 0.8 * 1.005]);
        assert!((a.dir - Vec2::new(0.6, 0.8)).length() < 1e-6);
    }

    #[test]
    fn accelerates_toward_input_up_to_top_speed() {
        let mut arena = Arena::new(ArenaRules::default());
        arena.handle_join(1);
        arena.place(1, Vec2::splat(1000.0));
        // Full stick, with the rounding an analog stick may add: no more than top speed.
        arena.handle_input(1, &input([1.009, 0.0]), 0);
        let mut last = 0.0;
        for _ in 0..120 {
            step(&mut arena);
            let s = speed(&state(&arena, 1));
            assert!(s >= last - 1e-3, "never slows while pushing");
            assert!(s <= 300.0 + 1e-3, "speed {s} beyond the top speed");
            last = s;
        }
        assert!((last - 300.0).abs() < 1e-2, "reaches top speed, got {last}");
        let p = state(&arena, 1);
        assert!(p.vel.x > 0.0 && p.vel.y.abs() < 1e-3);
    }

    #[test]
    fn comes_to_rest_without_input() {
        let mut arena = Arena::new(ArenaRules::default());
        arena.handle_join(1);
        arena.place(1, Vec2::splat(1000.0));
        arena.handle_input(1, &input([0.0, 1.0]), 0);
        for _ in 0..60 {
            step(&mut arena);
        }
        arena.handle_input(1, &input([0.0, 0.0]), 0);
        for _ in 0..60 {
            step(&mut arena);
        }
        assert_eq!(speed(&state(&arena, 1)), 0.0);
    }

    #[test]
    fn stays_inside_the_world() {
        let mut arena = Arena::new(ArenaRules::default());
        arena.handle_join(1);
        arena.place(1, Vec2::new(20.0, 1000.0));
        arena.handle_input(1, &input([-1.0, 0.0]), 0);
        for _ in 0..120 {
            step(&mut arena);
        }
        let p = state(&arena, 1);
        assert_eq!(p.pos.x, 12.0, "pinned to the wall at one radius");
        assert_eq!(p.vel.x, 0.0, "no velocity into the wall");
        // A corrupt placement is pulled back in on the next step.
        arena.place(1, Vec2::new(-1e9, 5e9));
        step(&mut arena);
        let p = state(&arena, 1);
        assert_eq!(p.pos, Vec2::new(12.0, 1988.0));
    }

    #[test]
    fn overlapping_players_are_pushed_apart() {
        let mut arena = Arena::new(ArenaRules::default());
        arena.handle_join(1);
        arena.handle_join(2);
        arena.handle_join(3);
        arena.place(1, Vec2::new(500.0, 500.0));
        arena.place(2, Vec2::new(510.0, 500.0));
        // Same spot: still separated, deterministically.
        arena.place(3, Vec2::new(500.0, 900.0));
        arena.handle_join(4);
        arena.place(4, Vec2::new(500.0, 900.0));
        step(&mut arena);
        let (a, b) = (state(&arena, 1), state(&arena, 2));
        let gap = b.pos.distance(a.pos);
        assert!((gap - 24.0).abs() < 1e-3, "gap {gap}");
        assert!(a.pos.x < 500.0 && b.pos.x > 510.0, "pushed apart equally");
        let (c, d) = (state(&arena, 3), state(&arena, 4));
        assert!(c.pos.distance(d.pos) > 23.9);
    }

    #[test]
    fn a_crowd_settles_without_deep_overlaps() {
        let mut arena = Arena::new(ArenaRules::default());
        for id in 0..200 {
            arena.handle_join(id);
            // All in a small square: heavy overlap to start with.
            arena.place(
                id,
                Vec2::new(
                    900.0 + (id % 14) as f32 * 8.0,
                    900.0 + (id / 14) as f32 * 8.0,
                ),
            );
        }
        for _ in 0..120 {
            step(&mut arena);
        }
        let out = everyone(&arena);
        for (i, a) in out.iter().enumerate() {
            for b in &out[i + 1..] {
                let d = a.pos.distance(b.pos);
                assert!(d > 20.0, "players {} and {} overlap: {d}", a.id, b.id);
            }
        }
    }

    #[test]
    fn a_restored_world_goes_on_exactly_as_the_saved_one() {
        let mut arena = Arena::new(ArenaRules::default());
        for id in 0..30 {
            arena.handle_join(id);
            arena.handle_input(id, &input([(id as f32).cos(), (id as f32).sin()]), 0);
        }
        for _ in 0..30 {
            step(&mut arena);
        }
        // Leaves reorder the bodies; the copy must follow the same order from here on.
        arena.handle_leave(3);
        arena.handle_leave(17);
        let mut copy = Arena::new(ArenaRules::default());
        copy.restore(&arena.save().unwrap()).unwrap();
        for world in [&mut arena, &mut copy] {
            world.handle_join(100);
            world.handle_leave(5);
            for _ in 0..120 {
                step(world);
            }
        }
        assert_eq!(
            everyone(&arena),
            everyone(&copy),
            "bit for bit, in the same order"
        );
    }

    #[test]
    fn a_corrupt_save_is_refused() {
        let mut arena = Arena::new(ArenaRules::default());
        assert!(matches!(
            arena.restore(b"\x93\x01"),
            Err(RestoreError::Corrupt(_))
        ));
    }

    #[test]
    fn leave_removes_and_join_is_idempotent() {
        let mut arena = Arena::new(ArenaRules::default());
        arena.handle_join(7);
        arena.handle_join(7);
        assert_eq!(arena.len(), 1);
        arena.handle_input(8, &input([1.0, 0.0]), 0); // unknown player: ignored
        arena.handle_leave(7);
        arena.handle_leave(7);
        assert!(arena.is_empty());
    }
}
