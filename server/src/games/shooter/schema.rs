//! What the shooter tells every client: its input fields, entity kinds and events, and
//! the indices the rest of the game writes them by.

use crate::game::{
    EntityId, EventKind, FIRST_GAME_ID, Field, Game, InputField, Kind, KindId, Schema,
};

use super::{Phase, Shooter};

/// The entity kind of a player's ship (its id is the player's).
pub const SHIP: KindId = 0;
/// The entity kind of a bullet.
pub const BULLET: KindId = 1;
/// The entity kind of a row of the score table (one per player, no position).
pub const SCORE: KindId = 2;
/// The entity kind of the match clock (one, no position).
pub const MATCH: KindId = 3;

/// The event kind of a bullet hitting a ship.
pub const HIT: KindId = 0;
/// The event kind of a ship destroyed.
pub const KILL: KindId = 1;
/// The event kind of a ship (re)appearing at a spawn point.
pub const RESPAWN: KindId = 2;

/// The entity id of the match clock: the first id a game may give.
pub const MATCH_ID: EntityId = FIRST_GAME_ID;

/// The longest direction accepted; a little over 1, so that a unit vector with float
/// rounding (an analog stick's normalized reading) is not refused. Anything in between is
/// scaled to length 1.
pub const MAX_DIRECTION_LENGTH: f32 = 1.01;

/// The shooter's schema: the kinds and events in the order of the indices above.
pub(super) fn schema() -> Schema {
    let d = f64::from(MAX_DIRECTION_LENGTH);
    Schema::new(<Shooter as Game>::NAME)
        .input(InputField::float("dx", -d, d))
        .input(InputField::float("dy", -d, d))
        .input(InputField::angle("aim"))
        .input(InputField::boolean("fire"))
        .kind(
            Kind::new("ship")
                .field(Field::velocity("vx", 1))
                .field(Field::velocity("vy", 1))
                .field(Field::position("x", 100).predicted_by("vx"))
                .field(Field::position("y", 100).predicted_by("vy"))
                .field(Field::angle("aim", 1024))
                .field(Field::int("hp", 0, 100))
                .field(Field::boolean("alive"))
                .at("x", "y"),
        )
        .kind(
            Kind::new("bullet")
                .field(Field::velocity("vx", 1))
                .field(Field::velocity("vy", 1))
                .field(Field::position("x", 100).predicted_by("vx"))
                .field(Field::position("y", 100).predicted_by("vy"))
                .field(Field::entity("owner"))
                .at("x", "y"),
        )
        .kind(
            Kind::new("score")
                .field(Field::entity("player"))
                .field(Field::int("kills", 0, i32::MAX))
                .field(Field::int("deaths", 0, i32::MAX))
                .field(Field::int("score", 0, i32::MAX)),
        )
        .kind(
            Kind::new("match")
                .field(Field::enumeration("phase", &Phase::NAMES))
                .field(Field::int("time_left", 0, i32::MAX))
                .field(Field::int("round", 0, i32::MAX)),
        )
        .event(
            EventKind::new("hit")
                .field(Field::entity("shooter"))
                .field(Field::entity("target"))
                .field(Field::int("damage", 0, 1000))
                .field(Field::fixed("x", 100))
                .field(Field::fixed("y", 100)),
        )
        .event(
            EventKind::new("kill")
                .field(Field::entity("killer"))
                .field(Field::entity("victim")),
        )
        .event(EventKind::new("respawn").field(Field::entity("player")))
}
