//! A snapshot's `changes`: one bit-packed record per entity of the base, saying which of
//! its fields changed since the base and by how much, each field coded as its schema says.
//!
//! Bits are written most significant first; signed values are two's complement of the
//! stated width. A record starts with one bit: `0`, nothing changed and the record ends;
//! `1`, every field of the entity's kind follows, in the kind's order, each with a prefix
//! code saying what follows (the commonest case in the fewest bits):
//!
//! | type | prefixes |
//! |------|----------|
//! | `fixed`, `int`, steady | `0` same; `10` + narrow delta; `110` + wide delta; `111` + 32-bit value |
//! | `fixed`, `int`, busy | `00` same; `1` + narrow delta; `010` + wide delta; `011` + 32-bit value |
//! | `angle` | `00` same; `1` + narrow turn; `01` + wide turn |
//! | `bool` | `0` same; `1` flipped |
//! | `enum` | `0` same; `1` + `wide`-bit value |
//! | `string` | `0` same; `1` + 8-bit length + that many bytes |
//! | `entity` | `0` same; `1` + 32-bit unsigned id |
//!
//! A `fixed` field with a velocity (`predict`) is coded against where that velocity, as it
//! is *now*, carried it from its base value ([`predict`]): a body moving steadily costs a
//! residual of a step or two instead of its whole displacement. The arena's players walking
//! with their stick turning every tick take 34 bits.

use std::io;

use bitstream_io::{BitRead, BitWrite};

use crate::entity::{Entity, Value};
use crate::schema::{Code, Field, FieldType, Kind, Schema};
use crate::{Snapshot, state_hash};

/// Where a coordinate is expected after `ticks` ticks at velocity `vel`, with `tick_rate`
/// ticks per second, the coordinate in steps of `1/pos_scale` units and the velocity in
/// steps of `1/vel_scale` units per second: `base + round(vel · ticks · pos_scale /
/// (vel_scale · tick_rate))`, rounding halves up: `⌊(2a + b) / 2b⌋` for `a / b`.
pub fn predict(
    base: i64,
    vel: i64,
    ticks: u64,
    tick_rate: u16,
    pos_scale: u32,
    vel_scale: u32,
) -> i64 {
    let a = vel
        .wrapping_mul(i64::from(pos_scale))
        .wrapping_mul(ticks.min(i64::MAX as u64) as i64);
    let b = i64::from(vel_scale.max(1)) * i64::from(tick_rate.max(1));
    base.wrapping_add(a.wrapping_mul(2).wrapping_add(b).div_euclid(2 * b))
}

/// Brings any number of angle steps into `(-steps/2, steps/2]`.
#[inline]
pub fn wrap_angle(value: i64, steps: u32) -> i64 {
    let steps = i64::from(steps.max(2));
    let turn = value.rem_euclid(steps);
    if turn > steps / 2 { turn - steps } else { turn }
}

/// The shortest turn from `from` to `to`, in `[-steps/2, steps/2 - 1]`.
pub fn angle_turn(from: i64, to: i64, steps: u32) -> i64 {
    let steps = i64::from(steps.max(2));
    let half = steps / 2;
    (to.wrapping_sub(from).wrapping_add(half)).rem_euclid(steps) - half
}

/// A prefix code: its bits (right-aligned) and how many there are.
type Prefix = (u8, u32);

/// Which case a prefix announces, as an index into a field's prefixes.
const SAME: usize = 0;
const NARROW: usize = 1;
const WIDE: usize = 2;
const VALUE: usize = 3;

const STEADY: [Prefix; 4] = [(0b0, 1), (0b10, 2), (0b110, 3), (0b111, 3)];
const BUSY: [Prefix; 4] = [(0b00, 2), (0b1, 1), (0b010, 3), (0b011, 3)];
/// An angle has no value case: its wide turn holds any turn.
const ANGLE: [Prefix; 4] = [(0b00, 2), (0b1, 1), (0b01, 2), (0, 0)];

fn table(code: Code) -> &'static [Prefix; 4] {
    match code {
        Code::Steady => &STEADY,
        Code::Busy => &BUSY,
    }
}

fn fits(value: i64, bits: u8) -> bool {
    let half = 1i64 << (bits.clamp(1, 63) - 1);
    (-half..half).contains(&value)
}

fn write_prefix<W: BitWrite + ?Sized>(out: &mut W, (bits, len): Prefix) -> io::Result<()> {
    out.write_var(len, bits)
}

/// A number: its delta from `reference` in the narrowest width that holds it, or its value.
fn write_number<W: BitWrite + ?Sized>(
    out: &mut W,
    prefixes: &[Prefix; 4],
    f: &Field,
    reference: i64,
    now: i64,
) -> io::Result<()> {
    let delta = now.wrapping_sub(reference);
    if delta == 0 {
        write_prefix(out, prefixes[SAME])
    } else if fits(delta, f.narrow) {
        write_prefix(out, prefixes[NARROW])?;
        out.write_signed_var(u32::from(f.narrow), delta)
    } else if fits(delta, f.wide) || prefixes[VALUE].1 == 0 {
        write_prefix(out, prefixes[WIDE])?;
        out.write_signed_var(u32::from(f.wide), delta)
    } else {
        write_prefix(out, prefixes[VALUE])?;
        out.write_signed_var(32, now as i32)
    }
}

/// The reference a `fixed` field is coded against: its base, or its prediction from the
/// new value of its velocity.
fn reference(kind: &Kind, f: &Field, base: i64, now: &[Value], ticks: u64, tick_rate: u16) -> i64 {
    match f
        .predict
        .and_then(|v| kind.fields.get(usize::from(v)).zip(now.get(usize::from(v))))
    {
        Some((vel_field, vel)) => {
            predict(base, vel.int(), ticks, tick_rate, f.scale, vel_field.scale)
        }
        None => base,
    }
}

/// Writes the record of an entity of `kind` (of a checked schema) that was `base` and is
/// now `now`, `ticks` ticks later. Both hold one value per field of the kind, of the
/// field's type and in its range (as [`crate::schema::Field::to_wire`] makes them).
///
/// # Errors
/// Only what `out` returns.
pub fn write_record<W: BitWrite + ?Sized>(
    out: &mut W,
    kind: &Kind,
    base: &[Value],
    now: &[Value],
    ticks: u64,
    tick_rate: u16,
) -> io::Result<()> {
    // "Unchanged" means every value, not every residual: an entity that moved exactly as
    // predicted has changed, and its reader must apply the prediction.
    if base == now {
        return out.write_bit(false);
    }
    out.write_bit(true)?;
    for (i, f) in kind.fields.iter().enumerate() {
        let (was, is) = (&base[i], &now[i]);
        match f.ty {
            FieldType::Fixed => {
                let r = reference(kind, f, was.int(), now, ticks, tick_rate);
                write_number(out, table(f.code), f, r, is.int())?;
            }
            FieldType::Int => write_number(out, table(f.code), f, was.int(), is.int())?,
            FieldType::Angle => {
                let turn = angle_turn(was.int(), is.int(), f.scale);
                write_number(out, &ANGLE, f, 0, turn)?;
            }
            FieldType::Bool => out.write_bit(was != is)?,
            FieldType::Enum => {
                out.write_bit(was != is)?;
                if was != is {
                    // An index beyond `wide` bits breaks the precondition; masked, it
                    // costs the client a hash mismatch rather than the server a panic.
                    let mask = u32::MAX >> (32 - u32::from(f.wide.clamp(1, 32)));
                    out.write_var(u32::from(f.wide), is.int() as u32 & mask)?;
                }
            }
            FieldType::Entity => {
                out.write_bit(was != is)?;
                if was != is {
                    out.write_var(32, is.int() as u32)?;
                }
            }
            FieldType::String => {
                out.write_bit(was != is)?;
                if was != is {
                    let bytes = is.str().as_bytes();
                    let len = bytes.len().min(255);
                    out.write_var(8, len as u8)?;
                    out.write_bytes(&bytes[..len])?;
                }
            }
        }
    }
    Ok(())
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

fn read_number<R: BitRead + ?Sized>(
    input: &mut R,
    prefixes: &[Prefix; 4],
    f: &Field,
    reference: i64,
) -> io::Result<i64> {
    let value = match read_prefix(input, prefixes)? {
        SAME => reference,
        NARROW => reference.wrapping_add(input.read_signed_var::<i64>(u32::from(f.narrow))?),
        WIDE => reference.wrapping_add(input.read_signed_var::<i64>(u32::from(f.wide))?),
        _ => i64::from(input.read_signed_var::<i32>(32)?),
    };
    // Numbers are 32-bit on the wire: a delta that runs past the range wraps, as the
    // writer's arithmetic did.
    Ok(i64::from(value as i32))
}

/// Reads one record of an entity of `kind` and changes `values` (what it was at the
/// base, one per field) into what it is now.
///
/// # Errors
/// The bits ran out, a prefix is not one of the field's, or a string is not UTF-8.
pub fn read_record<R: BitRead + ?Sized>(
    input: &mut R,
    kind: &Kind,
    values: &mut [Value],
    ticks: u64,
    tick_rate: u16,
) -> io::Result<()> {
    if !input.read_bit()? {
        return Ok(());
    }
    for (i, f) in kind.fields.iter().enumerate() {
        let next = match f.ty {
            FieldType::Fixed => {
                // Its velocity came earlier, so `values` holds the new one already.
                let r = reference(kind, f, values[i].int(), values, ticks, tick_rate);
                Value::Int(read_number(input, table(f.code), f, r)?)
            }
            FieldType::Int => Value::Int(read_number(input, table(f.code), f, values[i].int())?),
            FieldType::Angle => {
                let turn = read_number(input, &ANGLE, f, 0)?;
                Value::Int(wrap_angle(values[i].int().wrapping_add(turn), f.scale))
            }
            FieldType::Bool => {
                if !input.read_bit()? {
                    continue;
                }
                Value::Int(1 - values[i].int().clamp(0, 1))
            }
            FieldType::Enum => {
                if !input.read_bit()? {
                    continue;
                }
                Value::Int(input.read_var::<u32>(u32::from(f.wide))?.into())
            }
            FieldType::Entity => {
                if !input.read_bit()? {
                    continue;
                }
                Value::Int(input.read_var::<u32>(32)?.into())
            }
            FieldType::String => {
                if !input.read_bit()? {
                    continue;
                }
                let len = input.read_var::<u8>(8)?;
                let mut bytes = vec![0; usize::from(len)];
                input.read_bytes(&mut bytes)?;
                Value::Str(String::from_utf8(bytes).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "string is not UTF-8")
                })?)
            }
        };
        values[i] = next;
    }
    Ok(())
}

impl Snapshot {
    /// The delta from `base` (what a client holds at `base_tick`, in its order) to `now`
    /// (what it should hold at `tick`, in any order), for a client whose newest applied
    /// input is `ack`: the reference encoder, as plain as the protocol allows, for tests,
    /// tools and small servers. The client then holds the base's survivors in the base's
    /// order, then the newcomers in `now`'s order. An entity whose kind changed is removed
    /// and added. (The server's own encoder builds the same bytes from pieces encoded once
    /// per tick.)
    pub fn delta(
        schema: &Schema,
        (base_tick, base): (u64, &[Entity]),
        (tick, now): (u64, &[Entity]),
        tick_rate: u16,
        (server_time_ms, ack): (u64, u32),
    ) -> Self {
        const INFALLIBLE: &str = "invariant: writing bits into a Vec cannot fail";
        let find = |list: &[Entity], e: &Entity| {
            list.iter()
                .find(|x| x.id == e.id && x.kind == e.kind)
                .cloned()
        };
        let mut bits = bitstream_io::BitWriter::endian(Vec::new(), bitstream_io::BigEndian);
        let mut removed = Vec::new();
        let mut held = Vec::with_capacity(now.len());
        for was in base {
            match (find(now, was), schema.kinds.get(usize::from(was.kind))) {
                (Some(is), Some(kind)) => {
                    let ticks = tick.wrapping_sub(base_tick);
                    write_record(&mut bits, kind, &was.values, &is.values, ticks, tick_rate)
                        .expect(INFALLIBLE);
                    held.push(is);
                }
                _ => removed.push(was.id),
            }
        }
        bits.byte_align().expect(INFALLIBLE);
        let added: Vec<Entity> = now
            .iter()
            .filter(|e| find(base, e).is_none())
            .cloned()
            .collect();
        held.extend_from_slice(&added);
        Self {
            tick,
            base_tick: Some(base_tick),
            server_time_ms,
            state_hash: state_hash(&held),
            ack,
            removed,
            added,
            changes: bits.into_writer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Field, Kind};
    use bitstream_io::{BigEndian, BitReader, BitWriter};
    use proptest::prelude::*;

    fn walker_kind() -> Kind {
        Kind::new("player")
            .field(Field::velocity("vx", 1))
            .field(Field::velocity("vy", 1))
            .field(Field::position("x", 100).predicted_by("vx"))
            .field(Field::position("y", 100).predicted_by("vy"))
            .field(Field::angle("facing", 1024))
            .at("x", "y")
    }

    fn every_type() -> Kind {
        walker_kind()
            .field(Field::int("hp", 0, 100))
            .field(Field::int("score", -1000, 1000).busy())
            .field(Field::boolean("alive"))
            .field(Field::enumeration("team", &["red", "blue", "green"]))
            .field(Field::string("name", 32))
            .field(Field::entity("target"))
    }

    fn ints(v: &[i64]) -> Vec<Value> {
        v.iter().map(|&x| Value::Int(x)).collect()
    }

    fn record(kind: &Kind, base: &[Value], now: &[Value], ticks: u64) -> (Vec<u8>, u32) {
        let mut rec: bitstream_io::BitRecorder<u32, BigEndian> = bitstream_io::BitRecorder::new();
        write_record(&mut rec, kind, base, now, ticks, 60).unwrap();
        let bits = rec.written();
        let mut w = BitWriter::endian(Vec::new(), BigEndian);
        rec.playback(&mut w).unwrap();
        w.byte_align().unwrap();
        (w.into_writer(), bits)
    }

    fn read(kind: &Kind, bytes: &[u8], base: &[Value], ticks: u64) -> io::Result<Vec<Value>> {
        let mut values = base.to_vec();
        read_record(
            &mut BitReader::endian(bytes, BigEndian),
            kind,
            &mut values,
            ticks,
            60,
        )?;
        Ok(values)
    }

    #[test]
    fn prediction_rounds_halves_up() {
        // 300 units/s for one tick at 60 Hz: 5 units, 500 steps.
        assert_eq!(predict(0, 300, 1, 60, 100, 1), 500);
        // 1 unit/s for one tick: 1.666… steps, rounds to 2; -1 unit/s to -2.
        assert_eq!(predict(0, 1, 1, 60, 100, 1), 2);
        assert_eq!(predict(0, -1, 1, 60, 100, 1), -2);
        // 0.5 step rounds up, -0.5 step rounds up too (to 0).
        assert_eq!(predict(0, 3, 1, 600, 100, 1), 1);
        assert_eq!(predict(0, -3, 1, 600, 100, 1), 0);
        assert_eq!(predict(10, 0, 99, 60, 100, 1), 10);
        // A velocity in tenths: 30 tenths = 3 units/s, at 100 steps per unit, 60 Hz.
        assert_eq!(predict(0, 30, 1, 60, 100, 10), 5);
    }

    #[test]
    fn an_unchanged_entity_takes_one_bit() {
        let kind = walker_kind();
        let still = ints(&[0, 0, 100_000, 50_000, -128]);
        assert_eq!(record(&kind, &still, &still, 1), (vec![0], 1));
        assert_eq!(read(&kind, &[0], &still, 1).unwrap(), still);
    }

    #[test]
    fn a_walking_turning_player_takes_34_bits() {
        // 1 changed + vx, vy (1+6 each) + x, y (2+4 each) + facing (1+6).
        let kind = walker_kind();
        let base = ints(&[212, -212, 100_000, 50_000, -128]);
        let now = ints(&[
            200,
            -225,
            predict(100_000, 200, 1, 60, 100, 1) + 1,
            predict(50_000, -225, 1, 60, 100, 1) - 1,
            -131,
        ]);
        let (bytes, bits) = record(&kind, &base, &now, 1);
        assert_eq!(bits, 34);
        assert_eq!(read(&kind, &bytes, &base, 1).unwrap(), now);
    }

    #[test]
    fn a_steady_walker_costs_only_its_prediction() {
        let kind = walker_kind();
        let base = ints(&[212, -212, 100_000, 50_000, -128]);
        let now = ints(&[
            212,
            -212,
            predict(100_000, 212, 1, 60, 100, 1),
            predict(50_000, -212, 1, 60, 100, 1),
            -128,
        ]);
        let (bytes, bits) = record(&kind, &base, &now, 1);
        // 1 00 00 0 0 00, then padding.
        assert_eq!(bits, 1 + 2 + 2 + 1 + 1 + 2);
        assert_eq!(bytes, vec![0b1000_0000, 0b0000_0000]);
        assert_eq!(read(&kind, &bytes, &base, 1).unwrap(), now);
    }

    #[test]
    fn the_turn_takes_the_short_way_across_half_a_turn() {
        let kind = walker_kind();
        let base = ints(&[0, 0, 10, 10, 510]);
        let now = ints(&[0, 0, 10, 10, -510]);
        let (bytes, bits) = record(&kind, &base, &now, 1);
        assert_eq!(bits, 1 + 2 + 2 + 1 + 1 + 1 + 6, "a 4-step turn, not 1020");
        assert_eq!(read(&kind, &bytes, &base, 1).unwrap(), now);
    }

    #[test]
    fn every_type_round_trips_and_short_input_is_an_error() {
        let kind = every_type();
        let mut base = ints(&[0, 0, 10, 10, 0, 100, 0, 1, 0, 0, 0]);
        base[9] = Value::Str("ann".into());
        let mut now = ints(&[5, -3, 900, -4, 300, 64, -1000, 0, 2, 0, (1 << 31) + 5]);
        now[9] = Value::Str("anne-marie".into());
        let (bytes, _) = record(&kind, &base, &now, 3);
        assert_eq!(read(&kind, &bytes, &base, 3).unwrap(), now);
        let err = read(&kind, &bytes[..bytes.len() - 3], &base, 3).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    fn any_walker() -> impl Strategy<Value = Vec<Value>> {
        (
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            -511i64..=512,
        )
            .prop_map(|(vx, vy, x, y, f)| ints(&[vx.into(), vy.into(), x.into(), y.into(), f]))
    }

    proptest! {
        /// Invariant: any change of any size, over any gap, reads back exactly.
        #[test]
        fn any_change_round_trips(base in any_walker(), now in any_walker(), ticks in 1u64..1000) {
            let kind = walker_kind();
            let (bytes, _) = record(&kind, &base, &now, ticks);
            prop_assert_eq!(read(&kind, &bytes, &base, ticks).unwrap(), now);
        }

        /// Invariant: every type's changes read back, whatever they are.
        #[test]
        fn any_change_of_every_type_round_trips(
            hp in 0i64..=100, score in -1000i64..=1000, alive: bool, team in 0i64..3,
            name in "[a-z]{0,32}", target: u32,
        ) {
            let kind = every_type();
            let mut base = ints(&[0, 0, 10, 10, 0, 100, 0, 1, 0, 0, 0]);
            base[9] = Value::Str(String::new());
            let mut now = ints(&[0, 0, 10, 10, 0, hp, score, alive.into(), team, 0, target.into()]);
            now[9] = Value::Str(name);
            let (bytes, _) = record(&kind, &base, &now, 1);
            prop_assert_eq!(read(&kind, &bytes, &base, 1).unwrap(), now);
        }
    }
}
