//! The bots' inputs: a wandering walk whose direction drifts a little with every input.
//!
//! A tiny xorshift generator seeded from the bot's index is enough: the walk only needs to
//! look alive and differ between bots, and the same index always walks the same way, which
//! makes runs comparable.

use std::f32::consts::{PI, TAU};

use tickwire_shared::Input;

use crate::rng::XorShift64;

/// The largest change of direction between two inputs, in radians (about 8.6°).
const MAX_TURN: f32 = 0.15;

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

    /// Turns a little and returns the input with sequence number `seq`.
    pub fn next_input(&mut self, seq: u32) -> Input {
        self.angle = wrap_angle(self.angle + self.rng.next_signed_unit() * MAX_TURN);
        let (sin, cos) = self.angle.sin_cos();
        Input {
            seq,
            dir: [cos, sin],
            facing: self.angle,
            buttons: 0,
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
    fn inputs_are_unit_directions_facing_where_they_go() {
        let mut walk = Walk::new(3);
        for seq in 1..=10_000 {
            let input = walk.next_input(seq);
            assert_eq!(input.seq, seq);
            assert_eq!(input.buttons, 0);
            let [x, y] = input.dir;
            assert!(((x * x + y * y) - 1.0).abs() < 1e-4, "{input:?}");
            assert!(input.facing > -PI && input.facing <= PI, "{input:?}");
            assert!((y.atan2(x) - input.facing).abs() < 1e-3 || input.facing.abs() > PI - 1e-3);
        }
    }

    #[test]
    fn the_direction_drifts_by_small_steps() {
        let mut walk = Walk::new(0);
        let mut last = walk.next_input(1).facing;
        for seq in 2..1000 {
            let now = walk.next_input(seq).facing;
            let turn = wrap_angle(now - last).abs();
            assert!(turn <= MAX_TURN + 1e-5, "turned {turn}");
            last = now;
        }
    }

    #[test]
    fn walks_are_reproducible_and_differ_between_bots() {
        let take = |index| {
            let mut walk = Walk::new(index);
            (1..=5)
                .map(|s| walk.next_input(s).facing)
                .collect::<Vec<_>>()
        };
        assert_eq!(take(7), take(7));
        assert_ne!(take(7), take(8));
    }
}
