//! The numbers that make the shooter play the way it does, in seconds and world units so
//! that they mean the same at any tick rate; [`ticks`] turns a duration into a count of
//! steps once `dt` is known.

use glam::Vec2;
use serde::{Deserialize, Serialize};

/// The shooter's rules. Every duration is in seconds and every speed in units per second:
/// the game counts them in ticks of the `dt` it is stepped with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShooterRules {
    /// The world spans `[0, size.x] × [0, size.y]` world units.
    pub size: Vec2,
    /// Every ship is a circle of this radius.
    pub ship_radius: f32,
    /// No ship is ever faster than this.
    pub max_speed: f32,
    /// How fast a ship's velocity turns toward the wanted velocity, in units per second².
    pub accel: f32,
    /// The least time between two shots of one ship.
    pub fire_cooldown: f32,
    /// How fast a bullet flies.
    pub bullet_speed: f32,
    /// A bullet is a circle of this radius (it hits a ship when the circles touch).
    pub bullet_radius: f32,
    /// How long a bullet flies before it is gone.
    pub bullet_lifetime: f32,
    /// The hit points one bullet takes.
    pub damage: i32,
    /// A ship's hit points when it (re)spawns.
    pub hp: i32,
    /// How long a dead ship waits before it is back.
    pub respawn_delay: f32,
    /// Score for each hit point a player's bullets take.
    pub score_per_damage: i32,
    /// Score for each kill, on top of the damage.
    pub score_per_kill: i32,
    /// How far back a shot may be judged: a client that says it was showing an older
    /// snapshot is judged against the world this long ago, no older. 0 turns lag
    /// compensation off.
    pub max_rewind: f32,
    /// How long a round warms up (kills happen but are not kept) before it counts.
    pub warmup: f32,
    /// How long a round is played for.
    pub playing: f32,
    /// How long the final scores stand (nobody fires) before the next round.
    pub over: f32,
}

impl Default for ShooterRules {
    fn default() -> Self {
        Self {
            size: Vec2::splat(1600.0),
            ship_radius: 14.0,
            max_speed: 250.0,
            accel: 1500.0,
            fire_cooldown: 0.25,
            bullet_speed: 900.0,
            bullet_radius: 2.0,
            bullet_lifetime: 0.8,
            damage: 25,
            hp: 100,
            respawn_delay: 2.0,
            score_per_damage: 1,
            score_per_kill: 100,
            max_rewind: 0.2,
            warmup: 5.0,
            playing: 180.0,
            over: 10.0,
        }
    }
}

/// How many steps of `dt` seconds make `seconds`, rounded to the nearest (so that 0.8 s
/// at 60 Hz is 48 ticks, not 47 or 49 by float rounding); 0 for a duration of 0, or when
/// `dt` is not a positive number.
pub fn ticks(seconds: f32, dt: f32) -> u64 {
    // Written so that NaN, which compares false, gives 0 too.
    let positive = |x: f32| x > 0.0;
    if !(positive(dt) && positive(seconds)) {
        return 0;
    }
    // `as` saturates, so an absurd rule is a huge count rather than a wrap.
    (f64::from(seconds) / f64::from(dt)).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_whole_ticks() {
        assert_eq!(ticks(0.8, 1.0 / 60.0), 48);
        assert_eq!(ticks(0.2, 1.0 / 60.0), 12);
        assert_eq!(ticks(0.5, 1.0 / 30.0), 15);
        assert_eq!(ticks(0.0, 1.0 / 60.0), 0);
        assert_eq!(ticks(1.0, 0.0), 0);
        assert_eq!(ticks(1.0, f32::NAN), 0);
    }
}
