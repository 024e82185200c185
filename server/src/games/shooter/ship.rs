//! A player's ship: how it moves (toward its input direction, within the world) and the
//! state of its gun and its life.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::{PlayerId, motion};

use super::rules::ShooterRules;
use super::scores::Tally;

/// One player's ship, as the simulation holds it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ship {
    /// The player, and so the ship's entity id.
    pub id: PlayerId,
    /// Where it is.
    pub pos: Vec2,
    /// How fast it goes, in units per second.
    pub vel: Vec2,
    /// Where it aims, in radians.
    pub aim: f32,
    /// Hit points left; 0 when dead.
    pub hp: i32,
    /// False between its death and its respawn: it neither moves, fires nor is hit.
    pub alive: bool,
    /// The direction of the latest input, length at most 1.
    pub intent: Vec2,
    /// Whether the latest input holds the trigger.
    pub fire: bool,
    /// How many ticks behind the present the latest input's view was, already clamped to
    /// the rewind bound: its shots are judged that far back.
    pub lag: u64,
    /// The first tick it may fire again.
    pub next_fire: u64,
    /// The tick it comes back at, while dead.
    pub respawn_at: u64,
    /// The player's row of the score table.
    pub tally: Tally,
}

impl Ship {
    /// A live ship at `pos`, with a fresh score row `tally`.
    pub fn new(id: PlayerId, pos: Vec2, tally: Tally, rules: &ShooterRules) -> Self {
        Self {
            id,
            pos,
            vel: Vec2::ZERO,
            aim: 0.0,
            hp: rules.hp,
            alive: true,
            intent: Vec2::ZERO,
            fire: false,
            lag: 0,
            next_fire: 0,
            respawn_at: 0,
            tally,
        }
    }

    /// Back to life at `pos`, at rest and with full hit points.
    pub fn respawn(&mut self, pos: Vec2, rules: &ShooterRules) {
        self.pos = pos;
        self.vel = Vec2::ZERO;
        self.hp = rules.hp;
        self.alive = true;
    }

    /// One step of `dt` seconds of motion.
    pub fn fly(&mut self, dt: f32, rules: &ShooterRules) {
        if !self.alive {
            self.vel = Vec2::ZERO;
            return;
        }
        self.vel = motion::steer(self.vel, self.intent, rules.max_speed, rules.accel, dt);
        self.pos += self.vel * dt;
        let lo = Vec2::splat(rules.ship_radius);
        let hi = (rules.size - lo).max(lo);
        motion::keep_inside(&mut self.pos, &mut self.vel, lo, hi);
    }

    /// The direction it aims at, as a unit vector.
    pub fn facing(&self) -> Vec2 {
        Vec2::from_angle(self.aim)
    }
}
