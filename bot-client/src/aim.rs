//! Finding something to shoot at: the nearest other entity of a kind (the shooter's
//! `ship`) in the bot's copy of the room, read generically through the schema.
//!
//! Positions are the kind's position fields (the schema's `at`), turned back into world
//! units with the fields' own [`Field::from_wire`]; an entity of the kind with a `bool`
//! field named `alive` that is 0 is no target.

use tickwire_shared::schema::{Field, FieldType, Kind};
use tickwire_shared::{Entity, EntityId, KindId, Schema};

/// How to read where entities of one kind are, and whether they are alive.
#[derive(Debug, Clone)]
pub(crate) struct Sights {
    kind: KindId,
    /// The `x` and `y` fields: their indices and how to read them.
    x: (usize, Field),
    y: (usize, Field),
    /// The index of the kind's `alive` flag, when it has one.
    alive: Option<usize>,
}

/// The nearest target, as seen from the bot's own entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    /// The target's entity id.
    pub(crate) id: EntityId,
    /// The angle from the bot to it, in radians in (-π, π].
    pub(crate) angle: f64,
    /// How far it is, in world units.
    pub(crate) distance: f64,
}

impl Sights {
    /// Sights on the kind `kind` of `schema`; `None` when the schema has no such kind, or
    /// the kind has no place in the world (two `fixed` position fields).
    pub(crate) fn new(schema: &Schema, kind: &str) -> Option<Self> {
        let id = schema.kind_id(kind)?;
        let k = schema.kinds.get(usize::from(id))?;
        let [x, y] = position(k)?;
        let alive = k
            .index_of("alive")
            .map(usize::from)
            .filter(|&i| k.fields.get(i).is_some_and(|f| f.ty == FieldType::Bool));
        Some(Self {
            kind: id,
            x: (x, k.fields.get(x)?.clone()),
            y: (y, k.fields.get(y)?.clone()),
            alive,
        })
    }

    /// Where `e` is, in world units, when it is of the kind.
    fn place(&self, e: &Entity) -> Option<(f64, f64)> {
        if e.kind != self.kind {
            return None;
        }
        let x = self.x.1.from_wire(e.values.get(self.x.0)?.int());
        let y = self.y.1.from_wire(e.values.get(self.y.0)?.int());
        Some((x, y))
    }

    fn is_alive(&self, e: &Entity) -> bool {
        self.alive
            .is_none_or(|i| e.values.get(i).is_none_or(|v| v.int() != 0))
    }

    /// The nearest living entity of the kind but `me`, from `me`'s place; `None` when
    /// `me` is not held (or not of the kind), or there is nobody else.
    pub(crate) fn nearest(&self, entities: &[Entity], me: EntityId) -> Option<Target> {
        let (mx, my) = entities
            .iter()
            .find(|e| e.id == me)
            .and_then(|e| self.place(e))?;
        entities
            .iter()
            .filter(|e| e.id != me && self.is_alive(e))
            .filter_map(|e| self.place(e).map(|(x, y)| (e.id, x - mx, y - my)))
            .map(|(id, dx, dy)| Target {
                id,
                angle: dy.atan2(dx),
                distance: dx.hypot(dy),
            })
            .min_by(|a, b| a.distance.total_cmp(&b.distance))
    }
}

/// The indices of a kind's position fields: its `at`, else fields named `x` and `y`;
/// both must be `fixed`.
fn position(k: &Kind) -> Option<[usize; 2]> {
    let [x, y] = match k.position {
        Some(at) => at,
        None => [k.index_of("x")?, k.index_of("y")?],
    };
    let fixed = |i: u8| {
        k.fields
            .get(usize::from(i))
            .is_some_and(|f| f.ty == FieldType::Fixed)
    };
    (fixed(x) && fixed(y)).then(|| [usize::from(x), usize::from(y)])
}

#[cfg(test)]
mod tests {
    use std::f64::consts::FRAC_PI_2;

    use tickwire_shared::Value;
    use tickwire_shared::schema::Field;

    use super::*;

    fn schema() -> Schema {
        Schema::new("shooter")
            .kind(
                Kind::new("rock")
                    .field(Field::position("x", 100))
                    .field(Field::position("y", 100))
                    .at("x", "y"),
            )
            .kind(
                Kind::new("ship")
                    .field(Field::velocity("vx", 1))
                    .field(Field::velocity("vy", 1))
                    .field(Field::position("x", 100).predicted_by("vx"))
                    .field(Field::position("y", 100).predicted_by("vy"))
                    .field(Field::boolean("alive"))
                    .at("x", "y"),
            )
    }

    /// A ship at (x, y) world units.
    fn ship(id: EntityId, x: f64, y: f64, alive: bool) -> Entity {
        let v = |n: f64| Value::Int((n * 100.0).round() as i64);
        Entity {
            id,
            kind: 1,
            values: vec![
                Value::Int(0),
                Value::Int(0),
                v(x),
                v(y),
                Value::Int(alive.into()),
            ],
        }
    }

    #[test]
    fn the_nearest_living_other_ship_is_the_target() {
        let sights = Sights::new(&schema(), "ship").expect("ships have a place");
        let rock = Entity {
            id: 9,
            kind: 0,
            values: vec![Value::Int(1000), Value::Int(1000)],
        };
        let world = [
            ship(1, 100.0, 100.0, true),
            ship(2, 100.0, 400.0, true),
            ship(3, 100.0, 150.0, false),
            rock,
            ship(4, 900.0, 100.0, true),
        ];
        let t = sights.nearest(&world, 1).expect("a target");
        assert_eq!(t.id, 2, "the dead ship and the rock are no targets");
        assert!((t.distance - 300.0).abs() < 1e-9, "{t:?}");
        assert!((t.angle - FRAC_PI_2).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn without_self_or_others_there_is_no_target() {
        let sights = Sights::new(&schema(), "ship").expect("ships");
        assert_eq!(sights.nearest(&[ship(2, 0.0, 0.0, true)], 1), None);
        assert_eq!(sights.nearest(&[ship(1, 0.0, 0.0, true)], 1), None);
        assert!(Sights::new(&schema(), "bullet").is_none());
        let placeless = Schema::new("g").kind(Kind::new("ship").field(Field::boolean("alive")));
        assert!(Sights::new(&placeless, "ship").is_none());
    }
}
