//! Fixed-point numbers on the wire: snapshots carry integers, never floats.
//!
//! The simulation keeps full `f32` precision; only what goes out is rounded, to the steps
//! below. Integers are smaller on the wire, change by small amounts from tick to tick
//! (which is what makes deltas cheap), and hash the same on every machine.

use std::f32::consts::TAU;

/// Position steps per world unit: positions travel in hundredths of a unit.
pub const POS_STEPS_PER_UNIT: i32 = 100;
/// Velocity steps per world unit per second: velocities travel in whole units per second.
pub const VEL_STEPS_PER_UNIT: i32 = 1;
/// Facing steps per full turn: 1024, about 0.35° each. Facing travels in `(-512, 512]`.
pub const FACING_STEPS_PER_TURN: i32 = 1024;

/// A coordinate in world units as position steps (rounded to nearest; NaN is 0, and
/// values beyond `i32` saturate).
pub fn pos_to_steps(units: f32) -> i32 {
    (units * POS_STEPS_PER_UNIT as f32).round() as i32
}

/// Position steps back to world units.
pub fn pos_from_steps(steps: i32) -> f32 {
    steps as f32 / POS_STEPS_PER_UNIT as f32
}

/// A velocity component in units per second as velocity steps (rounded, NaN is 0).
pub fn vel_to_steps(units_per_s: f32) -> i32 {
    (units_per_s * VEL_STEPS_PER_UNIT as f32).round() as i32
}

/// Velocity steps back to units per second.
pub fn vel_from_steps(steps: i32) -> f32 {
    steps as f32 / VEL_STEPS_PER_UNIT as f32
}

/// An angle in radians as facing steps in `(-512, 512]` (any angle, wrapped; NaN is 0).
pub fn facing_to_steps(radians: f32) -> i32 {
    wrap_facing((radians * (FACING_STEPS_PER_TURN as f32 / TAU)).round() as i32)
}

/// Facing steps back to radians in `(-π, π]`.
pub fn facing_from_steps(steps: i32) -> f32 {
    wrap_facing(steps) as f32 * (TAU / FACING_STEPS_PER_TURN as f32)
}

/// Brings any number of facing steps into `(-512, 512]`.
pub fn wrap_facing(steps: i32) -> i32 {
    let turn = steps.rem_euclid(FACING_STEPS_PER_TURN);
    if turn > FACING_STEPS_PER_TURN / 2 {
        turn - FACING_STEPS_PER_TURN
    } else {
        turn
    }
}

/// The shortest turn from `from` to `to`, in `[-512, 511]` steps.
pub fn facing_turn(from: i32, to: i32) -> i32 {
    let half = FACING_STEPS_PER_TURN / 2;
    (i64::from(to) - i64::from(from) + i64::from(half)).rem_euclid(i64::from(FACING_STEPS_PER_TURN))
        as i32
        - half
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    #[test]
    fn positions_are_hundredths_of_a_unit() {
        assert_eq!(pos_to_steps(12.345), 1235);
        assert_eq!(pos_to_steps(-0.004), 0);
        assert_eq!(pos_to_steps(2000.0), 200_000);
        assert_eq!(pos_from_steps(1235), 12.35);
        assert_eq!(pos_to_steps(f32::NAN), 0);
        assert_eq!(pos_to_steps(f32::INFINITY), i32::MAX);
        // Round trip error is at most half a step anywhere in a 2000-unit world.
        for k in 0..20_000 {
            let x = k as f32 * 0.0999;
            assert!((pos_from_steps(pos_to_steps(x)) - x).abs() <= 0.005 + 1e-3);
        }
    }

    #[test]
    fn velocities_are_whole_units_per_second() {
        assert_eq!(vel_to_steps(299.6), 300);
        assert_eq!(vel_to_steps(-12.4), -12);
        assert_eq!(vel_from_steps(-12), -12.0);
    }

    #[test]
    fn facing_wraps_into_half_open_range() {
        assert_eq!(facing_to_steps(0.0), 0);
        assert_eq!(facing_to_steps(PI), 512);
        assert_eq!(facing_to_steps(-PI), 512, "-π and π are the same facing");
        assert_eq!(facing_to_steps(PI / 2.0), 256);
        assert_eq!(facing_to_steps(-PI / 2.0), -256);
        assert_eq!(facing_to_steps(3.0 * PI), 512);
        assert_eq!(wrap_facing(-512), 512);
        assert_eq!(wrap_facing(513), -511);
        assert!((facing_from_steps(256) - PI / 2.0).abs() < 1e-6);
    }

    #[test]
    fn facing_turn_is_the_short_way_round() {
        assert_eq!(facing_turn(500, -500), 24);
        assert_eq!(facing_turn(-500, 500), -24);
        assert_eq!(facing_turn(0, 512), -512);
        assert_eq!(facing_turn(10, 12), 2);
        for from in -511..=512 {
            for to in [-511, -3, 0, 7, 512] {
                let turn = facing_turn(from, to);
                assert!((-512..=511).contains(&turn));
                assert_eq!(wrap_facing(from + turn), to);
            }
        }
    }
}
