//! Movement rules two games share and a new game may want: steering a body's velocity
//! toward where its player points, and keeping it inside a box. Plain functions of their
//! arguments, so a game that uses them stays deterministic.

use glam::Vec2;

/// The velocity after `dt` seconds of steering `vel` toward `intent` (length at most 1)
/// at up to `max_speed`: it turns toward the wanted velocity by at most `accel · dt`, and
/// with no intent the wanted velocity is zero, which is the friction that brings a body
/// to rest.
pub fn steer(vel: Vec2, intent: Vec2, max_speed: f32, accel: f32, dt: f32) -> Vec2 {
    let wanted = intent.clamp_length_max(1.0) * max_speed;
    let change = (wanted - vel).clamp_length_max(accel * dt);
    (vel + change).clamp_length_max(max_speed)
}

/// Puts `pos` back inside `[lo, hi]`, stopping the part of `vel` that points into a wall.
pub fn keep_inside(pos: &mut Vec2, vel: &mut Vec2, lo: Vec2, hi: Vec2) {
    let clamped = pos.clamp(lo, hi);
    if clamped.x != pos.x {
        vel.x = 0.0;
    }
    if clamped.y != pos.y {
        vel.y = 0.0;
    }
    *pos = clamped;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steering_turns_by_at_most_accel_dt_and_never_passes_top_speed() {
        let v = steer(Vec2::ZERO, Vec2::X, 300.0, 1500.0, 0.1);
        assert_eq!(v, Vec2::new(150.0, 0.0));
        let v = steer(
            Vec2::new(299.0, 0.0),
            Vec2::new(1.5, 0.0),
            300.0,
            1500.0,
            0.1,
        );
        assert_eq!(v, Vec2::new(300.0, 0.0));
        let still = steer(Vec2::new(10.0, 0.0), Vec2::ZERO, 300.0, 1500.0, 0.1);
        assert_eq!(still, Vec2::ZERO, "no intent: friction stops it");
    }

    #[test]
    fn a_wall_stops_only_the_motion_into_it() {
        let (mut pos, mut vel) = (Vec2::new(-5.0, 50.0), Vec2::new(-3.0, 4.0));
        keep_inside(&mut pos, &mut vel, Vec2::ZERO, Vec2::splat(100.0));
        assert_eq!((pos, vel), (Vec2::new(0.0, 50.0), Vec2::new(0.0, 4.0)));
    }
}
