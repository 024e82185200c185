//! What a game writes for a snapshot: its entities, each with its kind's field values in
//! the schema's order, rounded for the wire as the schema says.
//!
//! ```
//! # use std::sync::Arc;
//! # use tickwire_server::game::{Field, Kind, Schema, Value, World};
//! let schema = Schema::new("dots").kind(
//!     Kind::new("dot")
//!         .field(Field::position("x", 100))
//!         .field(Field::position("y", 100))
//!         .field(Field::int("hp", 0, 100))
//!         .at("x", "y"),
//! );
//! let mut world = World::new(Arc::new(schema));
//! world.spawn(0, 7).f32(1.234).f32(-2.0).int(150);
//! assert_eq!(world.values(0), &[Value::Int(123), Value::Int(-200), Value::Int(100)]);
//! ```

use std::sync::Arc;

use glam::Vec2;
use tickwire_shared::schema::{EntityId, Field, FieldType, KindId, Schema};
use tickwire_shared::{StateHasher, Value, entity_hash};

/// One entity of a [`World`]: who, of which kind, and where its values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placed {
    id: EntityId,
    kind: KindId,
    at: u32,
    end: u32,
}

/// Every entity of a game at one tick, in the order the game wrote them.
#[derive(Debug, Clone)]
pub struct World {
    schema: Arc<Schema>,
    entities: Vec<Placed>,
    values: Vec<Value>,
}

impl World {
    /// An empty world of a game with this schema.
    pub fn new(schema: Arc<Schema>) -> Self {
        Self {
            schema,
            entities: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Forgets every entity (keeping the buffers).
    pub fn clear(&mut self) {
        self.entities.clear();
        self.values.clear();
    }

    /// The game's schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Adds entity `id` of kind `kind`; write its fields, in order, on what this returns.
    /// Fields left unwritten are 0 (or empty). A kind the schema does not have is a bug
    /// of the game's: the entity is left out (and debug builds stop on it).
    pub fn spawn(&mut self, kind: KindId, id: EntityId) -> Fields<'_> {
        let fields: &[Field] = match self.schema.kinds.get(usize::from(kind)) {
            Some(k) => {
                let at = u32::try_from(self.values.len())
                    .expect("invariant: a world holds fewer than 2^32 values");
                // Every field gets a value: `Fields` pads what the game leaves unwritten.
                let end = at + k.fields.len() as u32;
                self.entities.push(Placed { id, kind, at, end });
                self.values.reserve(k.fields.len());
                &k.fields
            }
            None => {
                debug_assert!(false, "the schema has no entity kind {kind}");
                &[]
            }
        };
        Fields {
            fields,
            values: &mut self.values,
            next: 0,
        }
    }

    /// How many entities there are.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Entity `i`'s id.
    pub fn id(&self, i: usize) -> EntityId {
        self.entities[i].id
    }

    /// Entity `i`'s kind.
    pub fn kind(&self, i: usize) -> KindId {
        self.entities[i].kind
    }

    /// Entity `i`'s values, one per field of its kind.
    pub fn values(&self, i: usize) -> &[Value] {
        let e = self.entities[i];
        &self.values[e.at as usize..e.end as usize]
    }

    /// Entity `i`'s place in world units, or `None` for a kind without one (seen by all).
    pub fn position(&self, i: usize) -> Option<Vec2> {
        let kind = &self.schema.kinds[usize::from(self.entities[i].kind)];
        let [x, y] = kind.position?;
        let values = self.values(i);
        let coord = |at: u8| {
            let f = &kind.fields[usize::from(at)];
            f.from_wire(values[usize::from(at)].int()) as f32
        };
        Some(Vec2::new(coord(x), coord(y)))
    }

    /// Entity `i`'s [`entity_hash`].
    pub fn hash(&self, i: usize) -> u64 {
        entity_hash(self.id(i), self.kind(i), self.values(i))
    }

    /// The state hash of the whole world.
    pub fn state_hash(&self) -> u32 {
        let mut hasher = StateHasher::default();
        for i in 0..self.len() {
            hasher.add(self.hash(i));
        }
        hasher.finish()
    }
}

/// Writes one entity's (or event's) fields in the schema's order; each call writes the
/// next field, rounded and bounded as that field's type says.
#[derive(Debug)]
pub struct Fields<'a> {
    fields: &'a [Field],
    values: &'a mut Vec<Value>,
    next: usize,
}

impl<'a> Fields<'a> {
    /// Writes into `values` the fields `fields`.
    pub(crate) fn new(fields: &'a [Field], values: &'a mut Vec<Value>) -> Self {
        Self {
            fields,
            values,
            next: 0,
        }
    }

    fn put(mut self, value: impl FnOnce(&Field) -> Value) -> Self {
        if let Some(f) = self.fields.get(self.next) {
            let v = value(f);
            debug_assert!(v.fits(f.ty), "field {:?} written with {v:?}", f.name);
            self.values
                .push(if v.fits(f.ty) { v } else { default_of(f) });
            self.next += 1;
        } else {
            debug_assert!(false, "more values written than the kind has fields");
        }
        self
    }

    /// A `fixed` or `angle` field (radians), or any number field, from a real number.
    pub fn f32(mut self, x: f32) -> Self {
        // The commonest write of all (every coordinate of every entity of every sent
        // tick), so without `put`'s generality: a number field always takes a number.
        if let Some(f) = self.fields.get(self.next) {
            let v = if f.ty == FieldType::String {
                debug_assert!(false, "field {:?} written with a number", f.name);
                default_of(f)
            } else {
                Value::Int(f.to_wire(x.into()))
            };
            self.values.push(v);
            self.next += 1;
        } else {
            debug_assert!(false, "more values written than the kind has fields");
        }
        self
    }

    /// An `int`, `enum` or `bool` field (clamped to its range), or a `fixed` field's steps.
    pub fn int(self, n: i64) -> Self {
        self.put(|f| {
            Value::Int(match f.ty {
                FieldType::Int | FieldType::Enum | FieldType::Bool => n.max(f.min).min(f.max),
                FieldType::Entity => n.clamp(0, u32::MAX.into()),
                FieldType::Angle => tickwire_shared::changes::wrap_angle(n, f.scale),
                _ => n.clamp(i32::MIN.into(), i32::MAX.into()),
            })
        })
    }

    /// A `bool` field.
    pub fn bool(self, b: bool) -> Self {
        self.int(b.into())
    }

    /// A `string` field, cut to its longest (at a character boundary).
    pub fn str(self, text: &str) -> Self {
        self.put(|f| {
            let max = usize::try_from(f.max).unwrap_or(0).min(255);
            let mut end = text.len().min(max);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            Value::Str(text[..end].to_owned())
        })
    }

    /// An `entity` field: another entity's id, or `None`.
    pub fn entity(self, id: Option<EntityId>) -> Self {
        self.put(|_| Value::Int(id.map_or(0, i64::from)))
    }
}

impl Drop for Fields<'_> {
    fn drop(&mut self) {
        // Every entity has a value per field; what the game did not write is zero.
        for f in &self.fields[self.next.min(self.fields.len())..] {
            self.values.push(default_of(f));
        }
    }
}

fn default_of(f: &Field) -> Value {
    match f.ty {
        FieldType::String => Value::Str(String::new()),
        _ => Value::Int(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_shared::schema::Kind;

    fn world() -> World {
        World::new(Arc::new(
            Schema::new("t")
                .kind(
                    Kind::new("ship")
                        .field(Field::position("x", 100))
                        .field(Field::position("y", 100))
                        .field(Field::angle("aim", 1024))
                        .field(Field::string("name", 4))
                        .at("x", "y"),
                )
                .kind(Kind::new("clock").field(Field::enumeration("phase", &["a", "b"]))),
        ))
    }

    #[test]
    fn fields_are_rounded_bounded_and_padded() {
        let mut w = world();
        w.spawn(0, 1)
            .f32(1.005)
            .f32(-3.0)
            .f32(std::f32::consts::PI)
            .str("ééé");
        w.spawn(1, 2).int(9);
        w.spawn(0, 3).f32(2.0);
        assert_eq!(w.len(), 3);
        assert_eq!(
            w.values(0),
            &[
                Value::Int(100),
                Value::Int(-300),
                Value::Int(512),
                Value::Str("éé".into())
            ]
        );
        assert_eq!(w.values(1), &[Value::Int(1)]);
        assert_eq!(
            w.values(2)[1..],
            [Value::Int(0), Value::Int(0), Value::Str(String::new())]
        );
        assert_eq!(w.position(0), Some(Vec2::new(1.0, -3.0)));
        assert_eq!(w.position(1), None);
    }

    #[test]
    fn the_world_hash_is_the_wire_state_hash() {
        let mut w = world();
        w.spawn(1, 9).int(1);
        let e = tickwire_shared::Entity {
            id: 9,
            kind: 1,
            values: vec![Value::Int(1)],
        };
        assert_eq!(w.state_hash(), tickwire_shared::state_hash([&e]));
    }
}
