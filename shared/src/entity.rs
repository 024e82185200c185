//! Entities and events as the wire carries them whole: an id, a kind and the kind's field
//! values in schema order, as one flat MessagePack array.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::schema::{EntityId, FieldType, KindId};

/// One field's value: every type is an integer on the wire, strings aside.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A `fixed`, `angle`, `int`, `bool`, `enum` or `entity` field.
    Int(i64),
    /// A `string` field.
    Str(String),
}

impl Value {
    /// The integer, or 0 for a string.
    #[inline]
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(v) => *v,
            Value::Str(_) => 0,
        }
    }

    /// The text, or `""` for an integer.
    #[inline]
    pub fn str(&self) -> &str {
        match self {
            Value::Str(s) => s,
            Value::Int(_) => "",
        }
    }

    /// True when the value is of the kind `ty` needs (a string for `string`, an integer
    /// for the rest).
    #[inline]
    pub fn fits(&self, ty: FieldType) -> bool {
        match self {
            Value::Str(_) => ty == FieldType::String,
            Value::Int(_) => ty != FieldType::String,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(v) => s.serialize_i64(*v),
            Value::Str(v) => s.serialize_str(v),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer beyond i64"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// One entity whole: `[id, kind, value...]` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Its id, unique in the room.
    pub id: EntityId,
    /// Its kind, an index into the schema's kinds.
    pub kind: KindId,
    /// Its fields' values, in the kind's order.
    pub values: Vec<Value>,
}

/// One event: `[kind, value...]` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameEvent {
    /// Its kind, an index into the schema's events.
    pub kind: KindId,
    /// Its fields' values, in the event kind's order.
    pub values: Vec<Value>,
}

fn serialize_flat<S: Serializer>(s: S, head: &[u64], values: &[Value]) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(head.len() + values.len()))?;
    for h in head {
        seq.serialize_element(h)?;
    }
    for v in values {
        seq.serialize_element(v)?;
    }
    seq.end()
}

/// Reads `[h0, .., h(N-1), value...]`: `N` unsigned integers, then values.
struct FlatVisitor<const N: usize>;

impl<'de, const N: usize> Visitor<'de> for FlatVisitor<N> {
    type Value = ([u64; N], Vec<Value>);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {N} integers and then values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut head = [0u64; N];
        for (i, h) in head.iter_mut().enumerate() {
            *h = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        // A bound on what a hostile frame can make us reserve; the frame's own length
        // bounds the rest.
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element()? {
            values.push(v);
        }
        Ok((head, values))
    }
}

impl Serialize for Entity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_flat(s, &[self.id.into(), self.kind.into()], &self.values)
    }
}

impl<'de> Deserialize<'de> for Entity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ([id, kind], values) = d.deserialize_seq(FlatVisitor::<2>)?;
        Ok(Self {
            id: EntityId::try_from(id).map_err(|_| de::Error::custom("entity id beyond u32"))?,
            kind: KindId::try_from(kind).map_err(|_| de::Error::custom("kind beyond u8"))?,
            values,
        })
    }
}

impl Serialize for GameEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_flat(s, &[self.kind.into()], &self.values)
    }
}

impl<'de> Deserialize<'de> for GameEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ([kind], values) = d.deserialize_seq(FlatVisitor::<1>)?;
        Ok(Self {
            kind: KindId::try_from(kind).map_err(|_| de::Error::custom("kind beyond u8"))?,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_flat_arrays() {
        let e = Entity {
            id: 7,
            kind: 1,
            values: vec![Value::Int(-3), Value::Str("ab".into()), Value::Int(300)],
        };
        let bytes = rmp_serde::to_vec(&e).unwrap();
        assert_eq!(
            bytes,
            [0x95, 7, 1, 0xfd, 0xa2, b'a', b'b', 0xcd, 0x01, 0x2c]
        );
        assert_eq!(rmp_serde::from_slice::<Entity>(&bytes).unwrap(), e);
        let ev = GameEvent {
            kind: 2,
            values: vec![Value::Int(1)],
        };
        let bytes = rmp_serde::to_vec(&ev).unwrap();
        assert_eq!(bytes, [0x92, 2, 1]);
        assert_eq!(rmp_serde::from_slice::<GameEvent>(&bytes).unwrap(), ev);
    }

    #[test]
    fn bad_heads_are_errors() {
        // A kind of 300, an id that is a string, an empty array.
        for bytes in [
            &[0x92, 1, 0xcd, 0x01, 0x2c][..],
            &[0x92, 0xa1, b'x', 1],
            &[0x90],
        ] {
            assert!(
                rmp_serde::from_slice::<Entity>(bytes).is_err(),
                "{bytes:x?}"
            );
        }
    }
}
