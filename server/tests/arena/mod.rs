//! The arena as a client sees it: its inputs built from a direction and a facing, and its
//! player entity read back by field name, so that tests speak of velocity and position
//! rather than of value indices.
//!
//! Field indices come from the arena's own schema, so a reordered schema breaks no test
//! that reads through here; the entity is checked to be a player with one value per
//! field, so a test never reads another kind's values as a player's.

#![allow(dead_code)] // each test file uses its own part of this

use tickwire_server::game::{Field, Game, Kind};
use tickwire_server::games::arena::{Arena, PLAYER};
use tickwire_shared::{ClientMsg, Entity, Input, InputValue, PlayerId, Replica};

/// An arena player as the wire carries it: velocity in whole units per second, position
/// in hundredths of a unit, facing in 1024ths of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    /// The player (its entity has the player's id).
    pub id: PlayerId,
    pub vx: i64,
    pub vy: i64,
    pub x: i64,
    pub y: i64,
    pub facing: i64,
}

fn player_kind() -> Kind {
    Arena::schema().kinds[usize::from(PLAYER)].clone()
}

fn field(kind: &Kind, name: &str) -> usize {
    usize::from(
        kind.index_of(name)
            .expect("the arena's player has this field"),
    )
}

impl Body {
    /// Reads a player entity.
    ///
    /// # Panics
    /// When `e` is not an arena player: another kind, or the wrong number of values.
    pub fn of(e: &Entity) -> Self {
        let kind = player_kind();
        assert_eq!(e.kind, PLAYER, "entity {} is not a player: {e:?}", e.id);
        assert_eq!(e.values.len(), kind.fields.len(), "{e:?}");
        let v = |name| e.values[field(&kind, name)].int();
        Self {
            id: e.id,
            vx: v("vx"),
            vy: v("vy"),
            x: v("x"),
            y: v("y"),
            facing: v("facing"),
        }
    }

    /// Position in world units.
    pub fn pos(&self) -> [f32; 2] {
        let kind = player_kind();
        let unit = |name, v| kind.fields[field(&kind, name)].from_wire(v) as f32;
        [unit("x", self.x), unit("y", self.y)]
    }

    /// Velocity in world units per second.
    pub fn vel(&self) -> [f32; 2] {
        let kind = player_kind();
        let unit = |name, v| kind.fields[field(&kind, name)].from_wire(v) as f32;
        [unit("vx", self.vx), unit("vy", self.vy)]
    }
}

/// Player `id` as `replica` holds it.
pub fn body(replica: &Replica, id: PlayerId) -> Option<Body> {
    replica.entity(id).map(Body::of)
}

/// Every player `replica` holds, in wire order.
pub fn bodies(replica: &Replica) -> Vec<Body> {
    replica.entities().iter().map(Body::of).collect()
}

/// A facing in radians as the player entity carries it (1024ths of a turn).
pub fn facing_steps(radians: f32) -> i64 {
    let kind = player_kind();
    let facing: &Field = &kind.fields[field(&kind, "facing")];
    facing.to_wire(radians.into())
}

/// The arena's input values: run toward `dir`, face `facing` (radians), no buttons.
pub fn values(dir: [f32; 2], facing: f32) -> Vec<InputValue> {
    let [dx, dy] = dir.map(|x| InputValue::Float(x.into()));
    vec![dx, dy, InputValue::Float(facing.into()), InputValue::Int(0)]
}

/// Input `seq`: run toward `dir`, face `facing`, no buttons, showing no snapshot in
/// particular.
pub fn input_facing(seq: u32, dir: [f32; 2], facing: f32) -> ClientMsg {
    ClientMsg::Input(Input {
        seq,
        view_tick: 0,
        values: values(dir, facing),
    })
}

/// Input `seq`: run toward `dir`, face along +x.
pub fn input(seq: u32, dir: [f32; 2]) -> ClientMsg {
    input_facing(seq, dir, 0.0)
}
