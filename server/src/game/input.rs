//! Turning an untrusted wire input into values a game can use: checked against the
//! schema's input fields, so that what reaches [`super::Game::input`] is finite, in range
//! and of the right type, whatever bits the client sent.

use std::f64::consts::{PI, TAU};

use tickwire_shared::InputValue;
use tickwire_shared::schema::{InputField, InputType};

/// An input's values, checked against the schema: one per input field, in order. Floats
/// are finite and in their range, angles wrapped into (-π, π], integers and enum indices
/// in theirs, booleans 0 or 1.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputValues(Vec<f64>);

/// Why an input was refused: the reason the client is told with `INVALID_VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    /// A refusal with this reason.
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

impl InputValues {
    /// Checks `values` against `fields`.
    ///
    /// # Errors
    /// [`InvalidInput`] naming the first field that is missing, extra, of the wrong
    /// type, not finite or out of its range.
    pub fn check(fields: &[InputField], values: &[InputValue]) -> Result<Self, InvalidInput> {
        if values.len() != fields.len() {
            return Err(InvalidInput(format!(
                "input has {} values, the game's input has {} fields",
                values.len(),
                fields.len()
            )));
        }
        let mut out = Vec::with_capacity(values.len());
        for (f, v) in fields.iter().zip(values) {
            let bad = |why: &str| Err(InvalidInput(format!("input {:?} {why}", f.name)));
            let x = match (f.ty, *v) {
                (InputType::Float | InputType::Angle, InputValue::Float(x)) => x,
                (
                    InputType::Float | InputType::Angle | InputType::Int | InputType::Enum,
                    InputValue::Int(n),
                ) => n as f64,
                (InputType::Bool, InputValue::Bool(b)) => f64::from(u8::from(b)),
                _ => return bad("has the wrong type"),
            };
            if !x.is_finite() {
                return bad("is NaN or infinite");
            }
            if !(f.min..=f.max).contains(&x) {
                return bad("is out of range");
            }
            out.push(if f.ty == InputType::Angle {
                wrap_angle(x)
            } else {
                x
            });
        }
        Ok(Self(out))
    }

    /// Values taken as they are, as a recording kept them (checked when they were sent).
    pub fn from_recorded(values: Vec<f64>) -> Self {
        Self(values)
    }

    /// Every value, in field order.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    /// Field `i` as a float (0 when there is no such field).
    pub fn f32(&self, i: usize) -> f32 {
        self.0.get(i).copied().unwrap_or(0.0) as f32
    }

    /// Field `i` as an integer (0 when there is no such field).
    pub fn int(&self, i: usize) -> i64 {
        self.0.get(i).copied().unwrap_or(0.0) as i64
    }

    /// Field `i` as a flag.
    pub fn bool(&self, i: usize) -> bool {
        self.0.get(i).is_some_and(|&x| x != 0.0)
    }
}

/// Maps any finite angle into (-π, π].
fn wrap_angle(angle: f64) -> f64 {
    let a = angle.rem_euclid(TAU);
    if a > PI { a - TAU } else { a }
}

/// Drops inputs that are older than, or repeat, one already applied; the newest accepted
/// is the acknowledgement the room writes into its player's snapshots.
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

    /// The newest sequence number accepted (0: none).
    pub fn last(&self) -> u32 {
        self.last.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<InputField> {
        vec![
            InputField::float("dx", -1.0, 1.0),
            InputField::angle("aim"),
            InputField::int("slot", 0, 9),
            InputField::boolean("fire"),
            InputField::enumeration("mode", &["walk", "run"]),
        ]
    }

    fn check(values: &[InputValue]) -> Result<InputValues, InvalidInput> {
        InputValues::check(&fields(), values)
    }

    use InputValue::{Bool, Float, Int};

    #[test]
    fn good_values_are_kept_and_angles_wrapped() {
        let v = check(&[Float(0.5), Float(3.0 * PI), Int(9), Bool(true), Int(1)]).unwrap();
        assert_eq!(v.f32(0), 0.5);
        assert!((v.as_slice()[1] - PI).abs() < 1e-9);
        assert_eq!((v.int(2), v.bool(3), v.int(4)), (9, true, 1));
        // An integer where a float goes is a float.
        assert_eq!(
            check(&[Int(1), Int(0), Int(0), Bool(false), Int(0)])
                .unwrap()
                .f32(0),
            1.0
        );
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (values, why) in [
            (
                vec![Float(1.5), Float(0.0), Int(0), Bool(false), Int(0)],
                "\"dx\" is out of range",
            ),
            (
                vec![Float(f64::NAN), Float(0.0), Int(0), Bool(false), Int(0)],
                "\"dx\" is NaN",
            ),
            (
                vec![
                    Float(0.0),
                    Float(f64::INFINITY),
                    Int(0),
                    Bool(false),
                    Int(0),
                ],
                "\"aim\" is NaN",
            ),
            (
                vec![Float(0.0), Float(13.0), Int(0), Bool(false), Int(0)],
                "\"aim\" is out of range",
            ),
            (
                vec![Float(0.0), Float(0.0), Float(1.0), Bool(false), Int(0)],
                "\"slot\" has the wrong type",
            ),
            (
                vec![Float(0.0), Float(0.0), Int(10), Bool(false), Int(0)],
                "\"slot\" is out of range",
            ),
            (
                vec![Float(0.0), Float(0.0), Int(0), Int(1), Int(0)],
                "\"fire\" has the wrong type",
            ),
            (
                vec![Float(0.0), Float(0.0), Int(0), Bool(false), Int(2)],
                "\"mode\" is out of range",
            ),
            (vec![Float(0.0)], "1 values"),
        ] {
            let err = check(&values).unwrap_err();
            assert!(err.0.contains(why), "{values:?}: {err}");
        }
    }

    #[test]
    fn seq_filter_drops_old_and_duplicate_numbers() {
        let mut f = SeqFilter::default();
        assert_eq!(f.last(), 0);
        assert!(f.accept(0));
        assert!(!f.accept(0));
        assert!(f.accept(5));
        assert!(!f.accept(5));
        assert!(!f.accept(3));
        assert!(f.accept(6));
        assert_eq!(f.last(), 6);
        assert!(f.accept(u32::MAX));
        assert!(!f.accept(7));
    }
}
