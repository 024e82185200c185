//! "Shooter", the worked example of a game: a top-down arena shooter with a score table,
//! a match clock and lag-compensated hits. A game developer copies this module.
//!
//! Ships fly toward their input direction and fire where they aim while the trigger is
//! held; bullets fly straight for a while; a ship that loses its hit points is out for a
//! moment, then back at a spawn point. A round warms up, is played against the clock,
//! then its scores stand for a few seconds and the next round starts from zero. The
//! score table and the clock are entities without a position (`score`, `match`), so every
//! client sees them; hits, kills and respawns are events.
//!
//! Files, one job each: [`rules`](ShooterRules) (the numbers), `ship` (motion), `bullets`
//! (flight and hit tests), `rewind` (the lag-compensation buffer), `round` (the clock),
//! `scores` (the table), `spawn` (spawn points), `schema` (what the clients are told),
//! `scene` (a bench's scene), `tests`.
//!
//! # Lag compensation
//!
//! A client sees the world as it was when its latest snapshot was made, a round trip and
//! an interpolation delay ago, so a player who aims at a ship aims at where the ship
//! *was*. Each input says which snapshot the client was showing (`view_tick`). The game
//! keeps every ship's position and alive flag for the last [`ShooterRules::max_rewind`]
//! (200 ms by default; in ticks, `max_rewind / dt`), and a bullet remembers its shooter's
//! lag, `now - view_tick` clamped to `0..=max_rewind` ticks, where `now` is the last tick
//! stepped (the newest snapshot there is). Each step, the bullet's path is tested against
//! the ships as they were `lag` ticks before that step, so the shot plays out as it would
//! have for a player with no latency. The shooter's own ship, and where the bullet starts,
//! are the present: its client predicts its own ship, so the present is what it shows.
//! An input with `view_tick` 0 (the client did not say) claims nothing and gets no
//! compensation. A ship is hit only if it was alive in the frame judged *and* is alive
//! now: no damage to a ship that has died since, none to one that was not there yet.
//!
//! The bound is the trade-off. Compensating favours the shooter: what they hit on their
//! screen is a hit. It costs the target: a ship that has just gone behind cover on its
//! own screen can still be hit, up to `max_rewind` after it got there ("shot behind a
//! wall"). Without a bound, a lagging or lying client could claim to have seen the world
//! a second ago and hit ships long gone; so a claim older than the bound is judged at the
//! bound, not refused: a player on a bad connection still plays, but must lead targets by
//! the lag beyond 200 ms, as everyone would without compensation. 200 ms covers most
//! real connections with interpolation and keeps the victim's surprise short.

mod bullets;
mod rewind;
mod round;
mod rules;
mod scene;
mod schema;
mod scores;
mod ship;
mod spawn;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::{
    Audience, EntityId, Events, Game, InputValues, InvalidInput, PlayerId, RestoreError, Schema,
    World,
};

pub use bullets::Bullet;
pub use rewind::{Frame, Pose};
pub use round::Phase;
pub use rules::{ShooterRules, ticks};
pub use schema::{BULLET, HIT, KILL, MATCH, MATCH_ID, MAX_DIRECTION_LENGTH, RESPAWN, SCORE, SHIP};
pub use scores::Tally;
pub use ship::Ship;

use bullets::{Collider, Hit};
use rewind::Rewind;
use round::Round;
use spawn::Spawner;

/// A shooter input: where the player wants to go, where it aims, whether it fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShooterInput {
    /// Wanted direction, length at most 1.
    pub dir: Vec2,
    /// Aim in radians, in (-π, π].
    pub aim: f32,
    /// The trigger is held: fire whenever the gun is ready.
    pub fire: bool,
}

/// The shooter world.
///
/// Ships and bullets live in plain vectors (a leaver's place is taken by the last ship),
/// so every pass over them follows from the calls alone: a saved world, restored, goes on
/// exactly as the original would. The map from player to ship is only looked up, never
/// iterated.
#[derive(Debug)]
pub struct Shooter {
    rules: ShooterRules,
    ships: Vec<Ship>,
    by_id: HashMap<PlayerId, usize>,
    bullets: Vec<Bullet>,
    rewind: Rewind,
    round: Round,
    spawner: Spawner,
    /// The last tick stepped: what "now" is to an input's view tick.
    tick: u64,
    /// The last step's `dt`, to turn durations into ticks between steps (0 before the first).
    dt: f32,
    /// The next id to give a bullet or a score row.
    next_id: EntityId,
    /// Scratch space of the hit tests.
    collider: Collider,
    /// Scratch: this step's hits.
    hits: Vec<Hit>,
}

/// Everything that makes one shooter world differ from another, as [`Game::save`] writes it.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    rules: ShooterRules,
    tick: u64,
    dt: f32,
    next_id: EntityId,
    spawner: Spawner,
    round: Round,
    ships: Vec<Ship>,
    bullets: Vec<Bullet>,
    rewind: Rewind,
}

impl Shooter {
    /// An empty world with these rules.
    pub fn with_rules(rules: ShooterRules) -> Self {
        Self {
            rules,
            ships: Vec::new(),
            by_id: HashMap::new(),
            bullets: Vec::new(),
            rewind: Rewind::default(),
            round: Round::default(),
            spawner: Spawner::default(),
            tick: 0,
            dt: 0.0,
            next_id: MATCH_ID + 1,
            collider: Collider::new(&rules),
            hits: Vec::new(),
        }
    }

    /// The rules it plays by.
    pub fn rules(&self) -> &ShooterRules {
        &self.rules
    }

    /// The ships, in the world's order.
    pub fn ships(&self) -> &[Ship] {
        &self.ships
    }

    /// Player `id`'s ship.
    pub fn ship(&self, id: PlayerId) -> Option<&Ship> {
        self.ships.get(*self.by_id.get(&id)?)
    }

    /// The bullets in flight, oldest first.
    pub fn bullets(&self) -> &[Bullet] {
        &self.bullets
    }

    /// The round's phase.
    pub fn phase(&self) -> Phase {
        self.round.phase
    }

    /// The round's number, from 1.
    pub fn round_number(&self) -> u32 {
        self.round.number
    }

    /// The last tick stepped.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// How many ticks back a shot may be judged at the current `dt` (0 before the first
    /// step).
    pub fn max_rewind_ticks(&self) -> u64 {
        ticks(self.rules.max_rewind, self.dt)
    }

    /// Puts a ship at an exact place, keeping its velocity (tests and benches set up
    /// scenes with it).
    pub fn place(&mut self, id: PlayerId, pos: Vec2) {
        if let Some(ship) = self.ship_mut(id) {
            ship.pos = pos;
        }
    }

    fn ship_mut(&mut self, id: PlayerId) -> Option<&mut Ship> {
        self.ships.get_mut(*self.by_id.get(&id)?)
    }

    /// A fresh id for a bullet or a score row.
    fn new_id(&mut self) -> EntityId {
        let id = self.next_id;
        // After 2^31 - 1 ids (years of one room firing) the count starts over; an id still
        // in use by then could only be a score row of a player who has stayed as long.
        self.next_id = id.checked_add(1).unwrap_or(MATCH_ID + 1);
        id
    }

    /// How many ticks behind the present a view of tick `view_tick` is, within the bound.
    fn lag_of(&self, view_tick: u64) -> u64 {
        if view_tick == 0 {
            return 0;
        }
        self.tick.saturating_sub(view_tick).min(self.rewind.depth())
    }

    /// What entering `phase` does: a round that starts counting, or a new round, starts
    /// from zero scores with every ship back at a spawn point; the end of a round takes
    /// the bullets out of the air.
    fn enter(&mut self, phase: Phase, events: &mut Events) {
        self.bullets.clear();
        if phase == Phase::Over {
            return;
        }
        for i in 0..self.ships.len() {
            let pos = self.spawner.next(self.rules.size, self.rules.ship_radius);
            let ship = &mut self.ships[i];
            ship.tally.reset();
            ship.respawn(pos, &self.rules);
            events.emit(RESPAWN, Audience::All).entity(Some(ship.id));
        }
    }

    /// Brings back the dead whose time has come.
    fn respawn_due(&mut self, tick: u64, events: &mut Events) {
        for i in 0..self.ships.len() {
            let ship = &self.ships[i];
            if ship.alive || tick < ship.respawn_at {
                continue;
            }
            let pos = self.spawner.next(self.rules.size, self.rules.ship_radius);
            let ship = &mut self.ships[i];
            ship.respawn(pos, &self.rules);
            events.emit(RESPAWN, Audience::All).entity(Some(ship.id));
        }
    }

    /// Every live ship with the trigger held and a ready gun fires one bullet.
    fn fire(&mut self, tick: u64, dt: f32) {
        if self.round.phase == Phase::Over {
            return;
        }
        let rules = self.rules;
        let cooldown = ticks(rules.fire_cooldown, dt).max(1);
        let lifetime = ticks(rules.bullet_lifetime, dt).max(1);
        for i in 0..self.ships.len() {
            let ship = self.ships[i];
            if !(ship.alive && ship.fire && tick >= ship.next_fire) {
                continue;
            }
            let dir = ship.facing();
            let id = self.new_id();
            self.bullets.push(Bullet {
                id,
                owner: ship.id,
                // From the ship's rim, so that it never starts inside its own ship.
                pos: ship.pos + dir * (rules.ship_radius + rules.bullet_radius),
                vel: dir * rules.bullet_speed,
                expires_at: tick + lifetime,
                lag: ship.lag,
            });
            self.ships[i].next_fire = tick + cooldown;
        }
    }

    /// Applies this step's hits, in bullet order: damage, deaths and scores. A bullet
    /// whose target has died since it was judged (an earlier bullet of this step) flies on.
    fn apply_hits(&mut self, tick: u64, dt: f32, events: &mut Events) {
        let rules = self.rules;
        for h in 0..self.hits.len() {
            let Hit { bullet, target, at } = self.hits[h];
            let owner = self.bullets[bullet].owner;
            let (Some(&t), Some(&o)) = (self.by_id.get(&target), self.by_id.get(&owner)) else {
                continue;
            };
            if !self.ships[t].alive {
                continue;
            }
            // Spent: gone at the end of this step.
            self.bullets[bullet].expires_at = tick;
            let victim = &mut self.ships[t];
            let damage = rules.damage.min(victim.hp).max(0);
            victim.hp -= damage;
            let killed = victim.hp <= 0;
            if killed {
                victim.alive = false;
                victim.vel = Vec2::ZERO;
                victim.respawn_at = tick + ticks(rules.respawn_delay, dt).max(1);
                victim.tally.died();
            }
            let shooter = &mut self.ships[o].tally;
            shooter.dealt(damage, &rules);
            if killed {
                shooter.killed(&rules);
            }
            events
                .emit(HIT, Audience::All)
                .entity(Some(owner))
                .entity(Some(target))
                .int(damage.into())
                .f32(at.x)
                .f32(at.y);
            if killed {
                events
                    .emit(KILL, Audience::All)
                    .entity(Some(owner))
                    .entity(Some(target));
            }
        }
    }
}

impl Game for Shooter {
    const NAME: &'static str = "shooter";
    type Input = ShooterInput;

    fn new() -> Self {
        Shooter::with_rules(ShooterRules::default())
    }

    fn schema() -> Schema {
        schema::schema()
    }

    fn input(values: &InputValues) -> Result<ShooterInput, InvalidInput> {
        let dir = Vec2::new(values.f32(0), values.f32(1));
        if dir.length() > MAX_DIRECTION_LENGTH {
            return Err(InvalidInput::new("input direction is longer than 1"));
        }
        Ok(ShooterInput {
            dir: dir.clamp_length_max(1.0),
            aim: values.f32(2),
            fire: values.bool(3),
        })
    }

    fn handle_join(&mut self, id: PlayerId) {
        if self.by_id.contains_key(&id) {
            return;
        }
        let pos = self.spawner.next(self.rules.size, self.rules.ship_radius);
        let tally = Tally::new(self.new_id());
        self.by_id.insert(id, self.ships.len());
        self.ships.push(Ship::new(id, pos, tally, &self.rules));
    }

    fn handle_leave(&mut self, id: PlayerId) {
        let Some(at) = self.by_id.remove(&id) else {
            return;
        };
        self.ships.swap_remove(at);
        if let Some(moved) = self.ships.get(at) {
            self.by_id.insert(moved.id, at);
        }
        // Its bullets go with it: a kill must have a killer to credit.
        self.bullets.retain(|b| b.owner != id);
    }

    fn handle_away(&mut self, id: PlayerId) {
        if let Some(ship) = self.ship_mut(id) {
            ship.intent = Vec2::ZERO;
            ship.fire = false;
        }
    }

    fn handle_input(&mut self, id: PlayerId, input: &ShooterInput, view_tick: u64) {
        let lag = self.lag_of(view_tick);
        let Some(ship) = self.ship_mut(id) else {
            return;
        };
        ship.intent = input.dir;
        ship.aim = input.aim;
        ship.fire = input.fire;
        ship.lag = lag;
    }

    fn step(&mut self, tick: u64, dt: f32, events: &mut Events) {
        self.tick = tick;
        self.dt = dt;
        let rules = self.rules;
        self.rewind.set_depth(ticks(rules.max_rewind, dt));
        if let Some(phase) = self.round.advance(tick, dt, &rules) {
            self.enter(phase, events);
        }
        self.respawn_due(tick, events);
        for ship in &mut self.ships {
            ship.fly(dt, &rules);
        }
        self.rewind.record(
            tick,
            self.ships.iter().map(|s| Pose {
                id: s.id,
                pos: s.pos,
                alive: s.alive,
            }),
        );
        self.fire(tick, dt);
        self.bullets.retain(|b| b.expires_at > tick);
        self.collider.fly(
            &mut self.bullets,
            &self.rewind,
            tick,
            dt,
            &rules,
            &mut self.hits,
        );
        self.apply_hits(tick, dt, events);
        let size = rules.size;
        self.bullets.retain(|b| {
            b.expires_at > tick && b.pos.cmpge(Vec2::ZERO).all() && b.pos.cmple(size).all()
        });
    }

    fn snapshot(&self, world: &mut World) {
        for s in &self.ships {
            world
                .spawn(SHIP, s.id)
                .f32(s.vel.x)
                .f32(s.vel.y)
                .f32(s.pos.x)
                .f32(s.pos.y)
                .f32(s.aim)
                .int(s.hp.into())
                .bool(s.alive);
        }
        for b in &self.bullets {
            world
                .spawn(BULLET, b.id)
                .f32(b.vel.x)
                .f32(b.vel.y)
                .f32(b.pos.x)
                .f32(b.pos.y)
                .entity(Some(b.owner));
        }
        for s in &self.ships {
            world
                .spawn(SCORE, s.tally.id)
                .entity(Some(s.id))
                .int(s.tally.kills)
                .int(s.tally.deaths)
                .int(s.tally.score);
        }
        world
            .spawn(MATCH, MATCH_ID)
            .int(self.round.phase.index())
            .int(self.round.seconds_left(self.tick, self.dt))
            .int(self.round.number.into());
    }

    /// The exact state (f32 bits, counters and timers, not the wire's rounding), in the
    /// world's own deterministic order. The rewind buffer is left out: it holds only
    /// ship states that were hashed when they were the present.
    fn world_hash(&self, _scratch: &mut World) -> u32 {
        fn f(h: &mut fnv::FnvHasher, xs: &[f32]) {
            xs.iter().for_each(|x| h.write_u32(x.to_bits()));
        }
        let mut h = fnv::FnvHasher::default();
        (self.tick, self.next_id, self.round, self.spawner).hash(&mut h);
        f(&mut h, &[self.dt]);
        for s in &self.ships {
            (
                s.id,
                s.hp,
                s.alive,
                s.fire,
                s.lag,
                s.next_fire,
                s.respawn_at,
                s.tally,
            )
                .hash(&mut h);
            f(
                &mut h,
                &[
                    s.pos.x, s.pos.y, s.vel.x, s.vel.y, s.aim, s.intent.x, s.intent.y,
                ],
            );
        }
        for b in &self.bullets {
            (b.id, b.owner, b.expires_at, b.lag).hash(&mut h);
            f(&mut h, &[b.pos.x, b.pos.y, b.vel.x, b.vel.y]);
        }
        let sum = h.finish();
        (sum ^ (sum >> 32)) as u32
    }

    fn save(&self) -> Option<Vec<u8>> {
        let saved = Saved {
            rules: self.rules,
            tick: self.tick,
            dt: self.dt,
            next_id: self.next_id,
            spawner: self.spawner,
            round: self.round,
            ships: self.ships.clone(),
            bullets: self.bullets.clone(),
            rewind: self.rewind.clone(),
        };
        rmp_serde::to_vec(&saved).ok()
    }

    fn restore(&mut self, saved: &[u8]) -> Result<(), RestoreError> {
        let saved: Saved =
            rmp_serde::from_slice(saved).map_err(|e| RestoreError::Corrupt(e.to_string()))?;
        let mut by_id = HashMap::with_capacity(saved.ships.len());
        for (at, ship) in saved.ships.iter().enumerate() {
            if by_id.insert(ship.id, at).is_some() {
                return Err(RestoreError::Corrupt(
                    "a player is in the world twice".into(),
                ));
            }
        }
        *self = Shooter::with_rules(saved.rules);
        self.by_id = by_id;
        self.tick = saved.tick;
        self.dt = saved.dt;
        self.next_id = saved.next_id;
        self.spawner = saved.spawner;
        self.round = saved.round;
        self.ships = saved.ships;
        self.bullets = saved.bullets;
        self.rewind = saved.rewind;
        Ok(())
    }
}
