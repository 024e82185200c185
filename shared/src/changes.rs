//! A snapshot's `changes`: one bit-packed record per player of the base, saying what
//! changed since the base and by how much.
//!
//! Bits are written most significant first; signed values are two's complement of the
//! stated width. A record:
//!
//! | bits | field |
//! |------|-------|
//! | 1 | changed: 0 ends the record (nothing changed) |
//! | 2 + … | `vx`: 0 same; 1 a 6-bit delta; 2 a 16-bit delta; 3 a 32-bit value |
//! | 2 + … | `vy`: the same |
//! | 2 + … | `x`: 0 as predicted; 1 a 4-bit residual; 2 a 10-bit residual; 3 a 32-bit value |
//! | 2 + … | `y`: the same |
//! | 2 + … | `facing`: 0 same; 1 a 6-bit turn; 2 a 10-bit turn; 3 never sent |
//! | 2 + … | `last_input_seq`: 0 same; 1 one more; 2 an 8-bit increase; 3 a 32-bit value |
//!
//! The position is predicted from the base position and the *new* velocity over the
//! ticks since the base ([`predict`]), so a player moving steadily costs a residual of a
//! step or two instead of its whole displacement. Each axis has its own code, because a
//! player sliding along a wall, or pushed by a crowd, changes on one axis only. A player
//! walking about with its stick turning every tick (the bots' walk) takes 31 to 39 bits.

use std::io;

use bitstream_io::{BitRead, BitWrite};

use crate::PlayerState;
use crate::quant::{POS_STEPS_PER_UNIT, VEL_STEPS_PER_UNIT, facing_turn, wrap_facing};

/// Where a position is expected after `ticks` ticks at velocity `vel` (steps per second),
/// with `tick_rate` ticks per second: `base + round(vel · ticks · 100 / tick_rate)` in
/// position steps, rounding halves up: `⌊(2a + b) / 2b⌋` for `a / b`.
pub fn predict(base: i32, vel: i32, ticks: u64, tick_rate: u16) -> i64 {
    let scale = i64::from(POS_STEPS_PER_UNIT / VEL_STEPS_PER_UNIT);
    let a = i64::from(vel)
        .wrapping_mul(scale)
        .wrapping_mul(ticks.min(i64::MAX as u64) as i64);
    let b = i64::from(tick_rate.max(1));
    i64::from(base).wrapping_add(a.wrapping_mul(2).wrapping_add(b).div_euclid(2 * b))
}

fn fits(value: i64, bits: u32) -> bool {
    let half = 1i64 << (bits - 1);
    (-half..half).contains(&value)
}

/// Writes the record of a player that was `base` and is now `now`, `ticks` ticks later.
///
/// # Errors
/// Only what `out` returns.
pub fn write_change<W: BitWrite + ?Sized>(
    out: &mut W,
    base: &PlayerState,
    now: &PlayerState,
    ticks: u64,
    tick_rate: u16,
) -> io::Result<()> {
    let rx = i64::from(now.x) - predict(base.x, now.vx, ticks, tick_rate);
    let ry = i64::from(now.y) - predict(base.y, now.vy, ticks, tick_rate);
    let (dvx, dvy) = (
        i64::from(now.vx) - i64::from(base.vx),
        i64::from(now.vy) - i64::from(base.vy),
    );
    let turn = facing_turn(base.facing, now.facing);
    let dseq = now.last_input_seq.wrapping_sub(base.last_input_seq);
    // "Unchanged" means the position too, not only the residual: a player that moved
    // exactly as predicted has changed, and its reader must apply the prediction.
    if now.x == base.x && now.y == base.y && dvx == 0 && dvy == 0 && turn == 0 && dseq == 0 {
        return out.write_bit(false);
    }
    out.write_bit(true)?;
    write_axis(out, dvx, now.vx, VEL_WIDTHS)?;
    write_axis(out, dvy, now.vy, VEL_WIDTHS)?;
    write_axis(out, rx, now.x, POS_WIDTHS)?;
    write_axis(out, ry, now.y, POS_WIDTHS)?;
    match turn {
        0 => out.write_var(2, 0u8)?,
        t if fits(t.into(), 6) => {
            out.write_var(2, 1u8)?;
            out.write_signed_var(6, t)?;
        }
        t => {
            out.write_var(2, 2u8)?;
            out.write_signed_var(10, t)?;
        }
    }
    match dseq {
        0 => out.write_var(2, 0u8),
        1 => out.write_var(2, 1u8),
        d if d < 256 => {
            out.write_var(2, 2u8)?;
            out.write_var(8, d)
        }
        _ => {
            out.write_var(2, 3u8)?;
            out.write_var(32, now.last_input_seq)
        }
    }
}

/// Velocity deltas: 6 bits (±31 steps, a turn at full acceleration), else 16.
const VEL_WIDTHS: [u32; 2] = [6, 16];
/// Position residuals: 4 bits (±7 steps, rounding), else 10 (±511, a push by a neighbour).
const POS_WIDTHS: [u32; 2] = [4, 10];

/// One axis: its delta in the narrowest width that holds it, or its value.
fn write_axis<W: BitWrite + ?Sized>(
    out: &mut W,
    delta: i64,
    value: i32,
    [narrow, wide]: [u32; 2],
) -> io::Result<()> {
    if delta == 0 {
        out.write_var(2, 0u8)
    } else if fits(delta, narrow) {
        out.write_var(2, 1u8)?;
        out.write_signed_var(narrow, delta as i32)
    } else if fits(delta, wide) {
        out.write_var(2, 2u8)?;
        out.write_signed_var(wide, delta as i32)
    } else {
        out.write_var(2, 3u8)?;
        out.write_signed_var(32, value)
    }
}

/// Reads one record and returns the player as it is now, given what it was (`base`).
///
/// # Errors
/// The bits ran out, or the facing code was 3.
pub fn read_change<R: BitRead + ?Sized>(
    input: &mut R,
    base: &PlayerState,
    ticks: u64,
    tick_rate: u16,
) -> io::Result<PlayerState> {
    if !input.read_bit()? {
        return Ok(*base);
    }
    let mut now = *base;
    now.vx = read_axis(input, base.vx, VEL_WIDTHS)?;
    now.vy = read_axis(input, base.vy, VEL_WIDTHS)?;
    // The position's "same" is the prediction from the new velocity.
    let px = predict(base.x, now.vx, ticks, tick_rate) as i32;
    let py = predict(base.y, now.vy, ticks, tick_rate) as i32;
    now.x = read_axis(input, px, POS_WIDTHS)?;
    now.y = read_axis(input, py, POS_WIDTHS)?;
    let turn = match input.read_var::<u8>(2)? {
        0 => 0,
        1 => input.read_signed_var::<i32>(6)?,
        2 => input.read_signed_var::<i32>(10)?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "facing code 3 is not used",
            ));
        }
    };
    now.facing = wrap_facing(base.facing.wrapping_add(turn));
    now.last_input_seq = match input.read_var::<u8>(2)? {
        0 => base.last_input_seq,
        1 => base.last_input_seq.wrapping_add(1),
        2 => base.last_input_seq.wrapping_add(input.read_var::<u32>(8)?),
        _ => input.read_var::<u32>(32)?,
    };
    Ok(now)
}

/// One axis: `from` unchanged, or moved by a delta, or replaced by a value.
fn read_axis<R: BitRead + ?Sized>(
    input: &mut R,
    from: i32,
    [narrow, wide]: [u32; 2],
) -> io::Result<i32> {
    Ok(match input.read_var::<u8>(2)? {
        0 => from,
        1 => from.wrapping_add(input.read_signed_var(narrow)?),
        2 => from.wrapping_add(input.read_signed_var(wide)?),
        _ => input.read_signed_var(32)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitstream_io::{BigEndian, BitReader, BitWriter};
    use proptest::prelude::*;

    fn record(base: &PlayerState, now: &PlayerState, ticks: u64) -> (Vec<u8>, u32) {
        let mut rec: bitstream_io::BitRecorder<u32, BigEndian> = bitstream_io::BitRecorder::new();
        write_change(&mut rec, base, now, ticks, 60).unwrap();
        let bits = rec.written();
        let mut w = BitWriter::endian(Vec::new(), BigEndian);
        rec.playback(&mut w).unwrap();
        w.byte_align().unwrap();
        (w.into_writer(), bits)
    }

    fn read(bytes: &[u8], base: &PlayerState, ticks: u64) -> PlayerState {
        read_change(&mut BitReader::endian(bytes, BigEndian), base, ticks, 60).unwrap()
    }

    fn walker() -> PlayerState {
        PlayerState {
            id: 4,
            x: 100_000,
            y: 50_000,
            vx: 212,
            vy: -212,
            facing: -128,
            last_input_seq: 900,
        }
    }

    #[test]
    fn prediction_rounds_halves_up() {
        // 300 units/s for one tick at 60 Hz: 5 units, 500 steps.
        assert_eq!(predict(0, 300, 1, 60), 500);
        // 1 unit/s for one tick: 1.666… steps, rounds to 2; -1 unit/s to -2.
        assert_eq!(predict(0, 1, 1, 60), 2);
        assert_eq!(predict(0, -1, 1, 60), -2);
        // 0.5 step rounds up, -0.5 step rounds up too (to 0).
        assert_eq!(predict(0, 3, 1, 600), 1);
        assert_eq!(predict(0, -3, 1, 600), 0);
        assert_eq!(predict(10, 0, 99, 60), 10);
    }

    #[test]
    fn an_unchanged_player_takes_one_bit() {
        let p = walker();
        let still = PlayerState { vx: 0, vy: 0, ..p };
        assert_eq!(record(&still, &still, 1), (vec![0], 1));
        assert_eq!(read(&[0], &still, 1), still);
    }

    #[test]
    fn a_walking_turning_player_takes_39_bits() {
        // 1 changed + vx, vy (2+6 each) + x, y (2+4 each) + facing (2+6) + seq (2).
        let base = walker();
        let now = PlayerState {
            x: predict(base.x, 200, 1, 60) as i32 + 1,
            y: predict(base.y, -225, 1, 60) as i32 - 1,
            vx: 200,
            vy: -225,
            facing: -131,
            last_input_seq: 901,
            ..base
        };
        let (bytes, bits) = record(&base, &now, 1);
        assert_eq!(bits, 39);
        assert_eq!(read(&bytes, &base, 1), now);
    }

    #[test]
    fn a_steady_player_costs_only_its_prediction() {
        // Same velocity, moved exactly as predicted: only the input seq changed.
        let base = walker();
        let now = PlayerState {
            x: predict(base.x, base.vx, 1, 60) as i32,
            y: predict(base.y, base.vy, 1, 60) as i32,
            last_input_seq: base.last_input_seq + 1,
            ..base
        };
        let (bytes, bits) = record(&base, &now, 1);
        assert_eq!(bits, 1 + 2 + 2 + 2 + 2 + 2 + 2);
        // 1 00 00 00 00 00 01, then padding.
        assert_eq!(bytes, vec![0b1000_0000, 0b0000_1000]);
        assert_eq!(read(&bytes, &base, 1), now);
    }

    #[test]
    fn the_facing_turn_takes_the_short_way_across_half_a_turn() {
        let base = PlayerState {
            facing: 510,
            vx: 0,
            vy: 0,
            ..walker()
        };
        let now = PlayerState {
            facing: -510,
            x: base.x,
            y: base.y,
            ..base
        };
        let (bytes, bits) = record(&base, &now, 1);
        assert_eq!(bits, 1 + 4 * 2 + 2 + 6 + 2, "a 4-step turn, not 1020");
        assert_eq!(read(&bytes, &base, 1), now);
    }

    #[test]
    fn facing_code_3_and_short_input_are_errors() {
        // changed, vx vy x y same, facing code 3.
        let bytes = [0b1000_0000, 0b0110_0000];
        let err = read_change(
            &mut BitReader::endian(&bytes[..], BigEndian),
            &walker(),
            1,
            60,
        );
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::InvalidData);
        let err = read_change(
            &mut BitReader::endian(&[0xff][..], BigEndian),
            &walker(),
            1,
            60,
        );
        assert!(err.is_err());
    }

    fn any_player() -> impl Strategy<Value = PlayerState> {
        (
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            -511i32..=512,
            any::<u32>(),
        )
            .prop_map(|(x, y, vx, vy, facing, seq)| PlayerState {
                id: 1,
                x,
                y,
                vx,
                vy,
                facing,
                last_input_seq: seq,
            })
    }

    proptest! {
        /// Invariant: any change of any size, over any gap, reads back exactly.
        #[test]
        fn any_change_round_trips(base in any_player(), now in any_player(), ticks in 1u64..1000) {
            let (bytes, _) = record(&base, &now, ticks);
            prop_assert_eq!(read(&bytes, &base, ticks), now);
        }

        /// Invariant: small changes (a walking player) round trip too, in few bits.
        #[test]
        fn small_changes_round_trip(
            base in any_player(),
            dv in (-30i32..30, -30i32..30),
            r in (-3i32..3, -3i32..3),
            turn in -40i32..40,
            dseq in 0u32..300,
        ) {
            let vx = base.vx.saturating_add(dv.0);
            let vy = base.vy.saturating_add(dv.1);
            let now = PlayerState {
                vx,
                vy,
                x: (predict(base.x, vx, 1, 60) as i32).wrapping_add(r.0),
                y: (predict(base.y, vy, 1, 60) as i32).wrapping_add(r.1),
                facing: wrap_facing(base.facing + turn),
                last_input_seq: base.last_input_seq.wrapping_add(dseq),
                ..base
            };
            let (bytes, _) = record(&base, &now, 1);
            prop_assert_eq!(read(&bytes, &base, 1), now);
        }
    }
}
