//! A snapshot's `changes`: one bit-packed record per player of the base, saying what
//! changed since the base and by how much.
//!
//! Bits are written most significant first; signed values are two's complement of the
//! stated width. Each field starts with a prefix code saying what follows, the commonest
//! case in the fewest bits (measured with the bots' walk: most players change velocity,
//! facing and input every tick, and more than half move exactly as predicted on an axis).
//! A record:
//!
//! | field | prefixes |
//! |-------|----------|
//! | changed | `0`: nothing changed, the record ends; `1`: the fields follow |
//! | `vx`, then `vy` | `00` same; `1` + 6-bit delta; `010` + 16-bit delta; `011` + 32-bit value |
//! | `x`, then `y` | `0` as predicted; `10` + 4-bit residual; `110` + 10-bit residual; `111` + 32-bit value |
//! | `facing` | `00` same; `1` + 6-bit turn; `01` + 10-bit turn |
//! | `last_input_seq` | `00` same; `1` one more; `010` + 8-bit increase; `011` + 32-bit value |
//!
//! The position is predicted from the base position and the *new* velocity over the
//! ticks since the base ([`predict`]), so a player moving steadily costs a residual of a
//! step or two instead of its whole displacement. Each axis has its own code, because a
//! player sliding along a wall, or pushed by a crowd, changes on one axis only. A player
//! walking about with its stick turning every tick (the bots' walk) takes 25 to 35 bits.

use std::io;

use bitstream_io::{BitRead, BitWrite};

use crate::quant::{POS_STEPS_PER_UNIT, VEL_STEPS_PER_UNIT, facing_turn, wrap_facing};
use crate::{PlayerState, Snapshot, state_hash};

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
    write_field(out, &VEL, dvx, now.vx)?;
    write_field(out, &VEL, dvy, now.vy)?;
    write_field(out, &POS, rx, now.x)?;
    write_field(out, &POS, ry, now.y)?;
    // Any turn fits the wide width: it is in [-512, 511].
    write_field(out, &FACING, turn.into(), now.facing)?;
    match dseq {
        0 => write_prefix(out, SEQ[SAME]),
        1 => write_prefix(out, SEQ[NARROW]),
        d if d < 256 => {
            write_prefix(out, SEQ[WIDE])?;
            out.write_var(8, d)
        }
        _ => {
            write_prefix(out, SEQ[VALUE])?;
            out.write_var(32, now.last_input_seq)
        }
    }
}

/// A prefix code: its bits (right-aligned) and how many there are.
type Prefix = (u8, u32);

/// Which case a field's prefix announces, as an index into its prefixes.
const SAME: usize = 0;
const NARROW: usize = 1;
const WIDE: usize = 2;
const VALUE: usize = 3;

/// How one field is coded: a prefix per case (same, narrow, wide, value; a length of 0
/// for a case the field does not have), and the widths of its narrow and wide deltas.
struct Field {
    prefixes: [Prefix; 4],
    narrow: u32,
    wide: u32,
}

/// Velocity: 6 bits (±31 steps, a turn at full acceleration), else 16.
const VEL: Field = Field {
    prefixes: [(0b00, 2), (0b1, 1), (0b010, 3), (0b011, 3)],
    narrow: 6,
    wide: 16,
};
/// Position residuals: 4 bits (±7 steps, rounding), else 10 (±511, a push by a neighbour).
const POS: Field = Field {
    prefixes: [(0b0, 1), (0b10, 2), (0b110, 3), (0b111, 3)],
    narrow: 4,
    wide: 10,
};
/// Facing turns: 6 bits (±31 steps, about ±11°), else 10 (any turn).
const FACING: Field = Field {
    prefixes: [(0b00, 2), (0b1, 1), (0b01, 2), (0, 0)],
    narrow: 6,
    wide: 10,
};
/// The input sequence: same, one more, an 8-bit increase, a 32-bit value.
const SEQ: [Prefix; 4] = [(0b00, 2), (0b1, 1), (0b010, 3), (0b011, 3)];

fn write_prefix<W: BitWrite + ?Sized>(out: &mut W, (bits, len): Prefix) -> io::Result<()> {
    out.write_var(len, bits)
}

/// One field: its delta in the narrowest width that holds it, or its value.
fn write_field<W: BitWrite + ?Sized>(
    out: &mut W,
    field: &Field,
    delta: i64,
    value: i32,
) -> io::Result<()> {
    if delta == 0 {
        write_prefix(out, field.prefixes[SAME])
    } else if fits(delta, field.narrow) {
        write_prefix(out, field.prefixes[NARROW])?;
        out.write_signed_var(field.narrow, delta as i32)
    } else if fits(delta, field.wide) || field.prefixes[VALUE].1 == 0 {
        write_prefix(out, field.prefixes[WIDE])?;
        out.write_signed_var(field.wide, delta as i32)
    } else {
        write_prefix(out, field.prefixes[VALUE])?;
        out.write_signed_var(32, value)
    }
}

/// Reads a prefix bit by bit until it is one of `prefixes` (they are prefix-free).
fn read_prefix<R: BitRead + ?Sized>(input: &mut R, prefixes: &[Prefix; 4]) -> io::Result<usize> {
    let mut bits = 0u8;
    for len in 1..=3 {
        bits = (bits << 1) | u8::from(input.read_bit()?);
        if let Some(case) = prefixes.iter().position(|&p| p == (bits, len)) {
            return Ok(case);
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "no such prefix"))
}

/// One field: `from` unchanged, or moved by a delta, or replaced by a value.
fn read_field<R: BitRead + ?Sized>(input: &mut R, field: &Field, from: i32) -> io::Result<i32> {
    Ok(match read_prefix(input, &field.prefixes)? {
        SAME => from,
        NARROW => from.wrapping_add(input.read_signed_var(field.narrow)?),
        WIDE => from.wrapping_add(input.read_signed_var(field.wide)?),
        _ => input.read_signed_var(32)?,
    })
}

/// Reads one record and returns the player as it is now, given what it was (`base`).
///
/// # Errors
/// The bits ran out (every string of bits is made of valid prefixes).
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
    now.vx = read_field(input, &VEL, base.vx)?;
    now.vy = read_field(input, &VEL, base.vy)?;
    // The position's "same" is the prediction from the new velocity.
    let px = predict(base.x, now.vx, ticks, tick_rate) as i32;
    let py = predict(base.y, now.vy, ticks, tick_rate) as i32;
    now.x = read_field(input, &POS, px)?;
    now.y = read_field(input, &POS, py)?;
    now.facing = wrap_facing(read_field(input, &FACING, base.facing)?);
    now.last_input_seq = match read_prefix(input, &SEQ)? {
        SAME => base.last_input_seq,
        NARROW => base.last_input_seq.wrapping_add(1),
        WIDE => base.last_input_seq.wrapping_add(input.read_var::<u32>(8)?),
        _ => input.read_var::<u32>(32)?,
    };
    Ok(now)
}

impl Snapshot {
    /// The delta from `base` (what a client holds at `base_tick`, in its order) to `now`
    /// (what it should hold at `tick`, in any order): the reference encoder, as plain as
    /// the protocol allows, for tests, tools and small servers. The client then holds the
    /// base's survivors in the base's order, then the newcomers in `now`'s order. (The
    /// server's own encoder, `tickwire_server::snapshot`, builds the same bytes from
    /// pieces encoded once per tick.)
    pub fn delta(
        (base_tick, base): (u64, &[PlayerState]),
        (tick, now): (u64, &[PlayerState]),
        tick_rate: u16,
        server_time_ms: u64,
    ) -> Self {
        const INFALLIBLE: &str = "invariant: writing bits into a Vec cannot fail";
        let find = |list: &[PlayerState], id| list.iter().find(|p| p.id == id).copied();
        let mut bits = bitstream_io::BitWriter::endian(Vec::new(), bitstream_io::BigEndian);
        let mut removed = Vec::new();
        let mut held = Vec::with_capacity(now.len());
        for was in base {
            match find(now, was.id) {
                Some(is) => {
                    write_change(&mut bits, was, &is, tick.wrapping_sub(base_tick), tick_rate)
                        .expect(INFALLIBLE);
                    held.push(is);
                }
                None => removed.push(was.id),
            }
        }
        bits.byte_align().expect(INFALLIBLE);
        let added: Vec<PlayerState> = now
            .iter()
            .filter(|p| find(base, p.id).is_none())
            .copied()
            .collect();
        held.extend_from_slice(&added);
        Self {
            tick,
            base_tick: Some(base_tick),
            server_time_ms,
            state_hash: state_hash(&held),
            removed,
            added,
            changes: bits.into_writer(),
        }
    }
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
    fn a_walking_turning_player_takes_35_bits() {
        // 1 changed + vx, vy (1+6 each) + x, y (2+4 each) + facing (1+6) + seq (1).
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
        assert_eq!(bits, 35);
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
        assert_eq!(bits, 1 + 2 + 2 + 1 + 1 + 2 + 1);
        // 1 00 00 0 0 00 1, then padding.
        assert_eq!(bytes, vec![0b1000_0000, 0b0100_0000]);
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
        assert_eq!(
            bits,
            1 + 2 + 2 + 1 + 1 + 1 + 6 + 2,
            "a 4-step turn, not 1020"
        );
        assert_eq!(read(&bytes, &base, 1), now);
    }

    #[test]
    fn every_prefix_is_read_back_and_short_input_is_an_error() {
        // Each field's cases, written and read alone, in each width.
        for field in [&VEL, &POS, &FACING] {
            for (delta, value) in [(0, 5), (-3, 5), (300, 5), (1 << 20, 77)] {
                if field.prefixes[VALUE].1 == 0 && !fits(delta, field.wide) {
                    continue;
                }
                let mut w = BitWriter::endian(Vec::new(), BigEndian);
                write_field(&mut w, field, delta, value).unwrap();
                w.byte_align().unwrap();
                let bytes = w.into_writer();
                let from = value.wrapping_sub(delta as i32);
                let back = read_field(&mut BitReader::endian(&bytes[..], BigEndian), field, from);
                assert_eq!(back.unwrap(), value, "delta {delta}");
            }
        }
        // Changed, vx `1` and its 6-bit delta, then the bits run out before vy's prefix.
        let err = read_change(
            &mut BitReader::endian(&[0b1100_0000][..], BigEndian),
            &walker(),
            1,
            60,
        );
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
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
