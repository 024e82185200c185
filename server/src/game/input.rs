//! Turning an untrusted wire input into one the rules can apply.
//!
//! Everything here is a pure function of the input: a client can send any bits, and what
//! reaches the game is finite, a direction no longer than 1 and a facing in (-π, π]; what
//! is far outside those ranges is refused rather than bent into them, since no working
//! client sends it.

use std::f32::consts::{PI, TAU};

use glam::Vec2;
use tickwire_shared::Input;

/// An input that passed validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidInput {
    /// The client's sequence number.
    pub seq: u32,
    /// Wanted direction, length at most 1.
    pub dir: Vec2,
    /// Facing in radians, in (-π, π].
    pub facing: f32,
    /// Button bits.
    pub buttons: u8,
}

/// The longest direction accepted; a little over 1, so that a unit vector with float
/// rounding (an analog stick's normalized reading) is not refused. Anything in between is
/// scaled to length 1.
pub const MAX_DIRECTION_LENGTH: f32 = 1.01;

/// The largest facing accepted, in either direction: two full turns' worth of slack for
/// clients that do not wrap their angle, and far from anything a working client sends.
pub const MAX_FACING: f32 = 2.0 * TAU;

/// Why an input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// A direction component or the facing was NaN or infinite.
    #[error("input has a NaN or infinite number")]
    NotFinite,
    /// The direction was longer than [`MAX_DIRECTION_LENGTH`].
    #[error("input direction is longer than 1")]
    DirectionTooLong,
    /// The facing was beyond ±[`MAX_FACING`].
    #[error("input facing is beyond ±4π radians")]
    FacingOutOfRange,
}

impl ValidInput {
    /// Validates and clamps a wire input.
    ///
    /// # Errors
    /// [`InvalidInput`] when any number is NaN or infinite, the direction is longer than
    /// [`MAX_DIRECTION_LENGTH`] or the facing beyond ±[`MAX_FACING`].
    pub fn new(input: &Input) -> Result<Self, InvalidInput> {
        let [x, y] = input.dir;
        if !(x.is_finite() && y.is_finite() && input.facing.is_finite()) {
            return Err(InvalidInput::NotFinite);
        }
        // Compared per component first: the squared length of huge components overflows.
        let dir = Vec2::new(x, y);
        if x.abs() > MAX_DIRECTION_LENGTH
            || y.abs() > MAX_DIRECTION_LENGTH
            || dir.length() > MAX_DIRECTION_LENGTH
        {
            return Err(InvalidInput::DirectionTooLong);
        }
        if input.facing.abs() > MAX_FACING {
            return Err(InvalidInput::FacingOutOfRange);
        }
        Ok(Self {
            seq: input.seq,
            dir: dir.clamp_length_max(1.0),
            facing: wrap_angle(input.facing),
            buttons: input.buttons,
        })
    }
}

/// Maps any finite angle into (-π, π].
fn wrap_angle(angle: f32) -> f32 {
    let a = angle.rem_euclid(TAU);
    if a > PI { a - TAU } else { a }
}

/// Drops inputs that are older than, or repeat, one already applied.
///
/// Sequence numbers are 32-bit and never wrap in practice (at 60 inputs per second they
/// last over two years of one connection), so a plain comparison is enough.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeqFilter {
    last: Option<u32>,
}

impl SeqFilter {
    /// True when `seq` is newer than every sequence number accepted so far; it is then
    /// remembered.
    pub fn accept(&mut self, seq: u32) -> bool {
        if self.last.is_some_and(|last| seq <= last) {
            return false;
        }
        self.last = Some(seq);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(dir: [f32; 2], facing: f32) -> Input {
        Input {
            seq: 1,
            dir,
            facing,
            buttons: 0,
        }
    }

    #[test]
    fn directions_a_little_long_are_shortened_to_one() {
        let v = ValidInput::new(&input([0.6 * 1.005, 0.8 * 1.005], 0.0)).unwrap();
        assert!((v.dir - Vec2::new(0.6, 0.8)).length() < 1e-6);
    }

    #[test]
    fn directions_longer_than_one_are_refused() {
        for dir in [
            [3.0, 4.0],
            [1.02, 0.0],
            [0.0, -1.5],
            [0.75, 0.75],
            [f32::MAX, f32::MAX],
        ] {
            assert_eq!(
                ValidInput::new(&input(dir, 0.0)),
                Err(InvalidInput::DirectionTooLong),
                "{dir:?}"
            );
        }
    }

    #[test]
    fn short_directions_are_kept() {
        let v = ValidInput::new(&input([0.3, 0.0], 0.0)).unwrap();
        assert_eq!(v.dir, Vec2::new(0.3, 0.0));
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(
                ValidInput::new(&input([bad, 0.0], 0.0)),
                Err(InvalidInput::NotFinite)
            );
            assert_eq!(
                ValidInput::new(&input([0.0, bad], 0.0)),
                Err(InvalidInput::NotFinite)
            );
            assert_eq!(
                ValidInput::new(&input([0.0, 0.0], bad)),
                Err(InvalidInput::NotFinite)
            );
        }
    }

    #[test]
    fn facing_is_wrapped_into_half_open_range() {
        for (raw, want) in [
            (0.0, 0.0),
            (PI, PI),
            (-PI, PI),
            (3.0 * PI, PI),
            (-0.5, -0.5),
        ] {
            let got = ValidInput::new(&input([0.0, 0.0], raw)).unwrap().facing;
            assert!((got - want).abs() < 1e-5, "{raw} -> {got}, want {want}");
        }
        let turned = ValidInput::new(&input([0.0, 0.0], -3.9 * PI))
            .unwrap()
            .facing;
        assert!((turned - 0.1 * PI).abs() < 1e-5, "{turned}");
    }

    #[test]
    fn facings_beyond_two_turns_are_refused() {
        for facing in [4.01 * PI, -4.01 * PI, 1e30] {
            assert_eq!(
                ValidInput::new(&input([0.0, 0.0], facing)),
                Err(InvalidInput::FacingOutOfRange)
            );
        }
    }

    #[test]
    fn seq_filter_drops_old_and_duplicate_numbers() {
        let mut f = SeqFilter::default();
        assert!(f.accept(0));
        assert!(!f.accept(0));
        assert!(f.accept(5));
        assert!(!f.accept(5));
        assert!(!f.accept(3));
        assert!(f.accept(6));
        assert!(f.accept(u32::MAX));
        assert!(!f.accept(7));
    }
}
