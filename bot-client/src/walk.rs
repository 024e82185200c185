//! The bots' wandering walk: a heading whose direction drifts a little with every input.
//!
//! A tiny xorshift generator seeded from the bot's index is enough: the walk only needs to
//! look alive and differ between bots, and the same index always walks the same way, which
//! makes runs comparable. What a heading becomes on the wire depends on the game's input
//! fields: [`crate::inputs`] places it; [`Walk::next_input`] is the arena's layout, for
//! callers (the benches) that drive an arena without a schema at hand.

use std::f32::consts::{PI, TAU};

use tickwire_shared::{Input, InputValue};

use crate::rng::XorShift64;

/// The largest change of direction between two inputs, in radians (about 8.6°).
const MAX_TURN: f32 = 0.15;

/// Where a walker goes next: a unit direction and the angle it faces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heading {
    /// The direction's x, in [-1, 1].
    pub dx: f32,
    /// The direction's y, in [-1, 1].
    pub dy: f32,
    /// The direction as an angle in radians, in (-π, π]: `dy.atan2(dx)`.
    pub facing: f32,
}

/// One bot's walk.
#[derive(Debug, Clone)]
pub struct Walk {
    rng: XorShift64,
    /// The current direction, kept in (-π, π] like the snapshots' facing.
    angle: f32,
}

impl Walk {
    /// The walk of bot `index`: always the same for the same index.
    pub fn new(index: usize) -> Self {
        let mut rng = XorShift64::seeded(index as u64);
        let angle = wrap_angle(rng.next_signed_unit() * PI);
        Self { rng, angle }
    }

    /// Turns a little and returns the new heading.
    pub fn step(&mut self) -> Heading {
        self.angle = wrap_angle(self.angle + self.rng.next_signed_unit() * MAX_TURN);
        let (sin, cos) = self.angle.sin_cos();
        Heading {
            dx: cos,
            dy: sin,
            facing: self.angle,
        }
    }

    /// Turns a little and returns the arena's input with sequence number `seq`: its fields
    /// `dx, dy, facing, buttons` (0), showing no snapshot (`view_tick` 0).
    pub fn next_input(&mut self, seq: u32) -> Input {
        let h = self.step();
        Input {
            seq,
            view_tick: 0,
            values: vec![
                InputValue::Float(h.dx.into()),
                InputValue::Float(h.dy.into()),
                InputValue::Float(h.facing.into()),
                InputValue::Int(0),
            ],
        }
    }
}

/// Brings an angle that is at most one turn out of range back into (-π, π].
fn wrap_angle(angle: f32) -> f32 {
    if angle > PI {
        angle - TAU
    } else if angle <= -PI {
        angle + TAU
    } else {
        angle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_unit_directions_facing_where_they_go() {
        let mut walk = Walk::new(3);
        for _ in 1..=10_000 {
            let h = walk.step();
            assert!(((h.dx * h.dx + h.dy * h.dy) - 1.0).abs() < 1e-4, "{h:?}");
            assert!(h.facing > -PI && h.facing <= PI, "{h:?}");
            assert!((h.dy.atan2(h.dx) - h.facing).abs() < 1e-3 || h.facing.abs() > PI - 1e-3);
        }
    }

    #[test]
    fn the_direction_drifts_by_small_steps() {
        let mut walk = Walk::new(0);
        let mut last = walk.step().facing;
        for _ in 2..1000 {
            let now = walk.step().facing;
            let turn = wrap_angle(now - last).abs();
            assert!(turn <= MAX_TURN + 1e-5, "turned {turn}");
            last = now;
        }
    }

    #[test]
    fn walks_are_reproducible_and_differ_between_bots() {
        let take = |index| {
            let mut walk = Walk::new(index);
            (1..=5).map(|_| walk.step().facing).collect::<Vec<_>>()
        };
        assert_eq!(take(7), take(7));
        assert_ne!(take(7), take(8));
    }

    #[test]
    fn the_arena_input_carries_the_heading_in_its_field_order() {
        let mut a = Walk::new(5);
        let mut b = Walk::new(5);
        let h = a.step();
        let input = b.next_input(9);
        assert_eq!((input.seq, input.view_tick), (9, 0));
        assert_eq!(
            input.values,
            vec![
                InputValue::Float(h.dx.into()),
                InputValue::Float(h.dy.into()),
                InputValue::Float(h.facing.into()),
                InputValue::Int(0),
            ]
        );
    }
}
