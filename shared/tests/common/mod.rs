//! The example games every test file here shares, and the story each tells: a keyframe,
//! a delta from it, events and an input. `vectors.rs` writes the every-type story to
//! `shared/vectors/every-type-*` and checks the arena's copy here against the vectors the
//! server writes from the real arena; `golden.rs` pins the arena's frames as hex,
//! `replica.rs` and `decode_props.rs` build on the schemas.
//!
//! Each test binary uses a part of this module, so unused items are expected in each.
#![allow(dead_code)]

use tickwire_shared::schema::{EventKind, FIRST_GAME_ID, Field, InputField, Kind, Schema};
use tickwire_shared::{Entity, EntityId, Events, GameEvent, Input, InputValue, Snapshot, Value};

/// The arena's schema, copied from `server/src/games/arena.rs` (`Arena::schema()`): the
/// shared crate cannot depend on the server. `MAX_DIRECTION_LENGTH` is an `f32` there.
/// `vectors.rs` holds the copy to the real one: `shared/vectors/arena-joined.bin`, which
/// `server/tests/vectors.rs` writes from the real game, carries exactly this schema.
pub fn arena_schema() -> Schema {
    let d = f64::from(1.01f32);
    Schema::new("arena")
        .input(InputField::float("dx", -d, d))
        .input(InputField::float("dy", -d, d))
        .input(InputField::angle("facing"))
        .input(InputField::int("buttons", 0, 255))
        .kind(
            Kind::new("player")
                .field(Field::velocity("vx", 1))
                .field(Field::velocity("vy", 1))
                .field(Field::position("x", 100).predicted_by("vx"))
                .field(Field::position("y", 100).predicted_by("vy"))
                .field(Field::angle("facing", 1024))
                .at("x", "y"),
        )
}

/// A made-up game with every field type (shaped like a shooter, but not the real one,
/// which is `server/src/games/shooter/`): predicted positions with velocities of two
/// scales, an angle, ints (one busy, one that goes negative), a bool, enums, strings and
/// entity references; two kinds without a position (a score table, the match); events
/// with strings and fixed values. Its vectors are `shared/vectors/every-type-*`.
pub fn every_type_schema() -> Schema {
    Schema::new("every-type")
        .input(InputField::float("dx", -1.0, 1.0))
        .input(InputField::float("dy", -1.0, 1.0))
        .input(InputField::angle("aim"))
        .input(InputField::boolean("fire"))
        .input(InputField::enumeration("weapon", &["blaster", "rocket"]))
        .input(InputField::int("emote", -1, 7))
        .kind(
            Kind::new("ship")
                .field(Field::velocity("vx", 1))
                .field(Field::velocity("vy", 1))
                .field(Field::position("x", 100).predicted_by("vx"))
                .field(Field::position("y", 100).predicted_by("vy"))
                .field(Field::angle("aim", 1024))
                .field(Field::int("hp", 0, 100))
                .field(Field::int("score", -1000, 1000).busy())
                .field(Field::boolean("alive"))
                .field(Field::enumeration("team", &["red", "blue", "green"]))
                .field(Field::string("name", 16))
                .field(Field::entity("target"))
                .at("x", "y"),
        )
        .kind(
            // Velocities in tenths of a unit per second: prediction divides by the scale.
            Kind::new("bullet")
                .field(Field::velocity("vx", 10))
                .field(Field::velocity("vy", 10))
                .field(Field::position("x", 100).predicted_by("vx"))
                .field(Field::position("y", 100).predicted_by("vy"))
                .field(Field::entity("owner"))
                .at("x", "y"),
        )
        .kind(
            Kind::new("score")
                .field(Field::entity("player"))
                .field(Field::int("kills", 0, i32::MAX))
                .field(Field::int("deaths", 0, i32::MAX)),
        )
        .kind(
            Kind::new("match")
                .field(Field::enumeration("phase", &["warmup", "live", "over"]))
                .field(Field::int("time_left", 0, i32::MAX))
                // An unpredicted fixed field with widths of its own.
                .field(Field::fixed("wind", 10).widths(3, 8))
                .field(Field::string("banner", 32)),
        )
        .event(
            EventKind::new("hit")
                .field(Field::entity("target"))
                .field(Field::entity("shooter"))
                .field(Field::int("damage", 0, 100)),
        )
        .event(
            EventKind::new("kill")
                .field(Field::entity("victim"))
                .field(Field::entity("killer")),
        )
        .event(
            EventKind::new("announce")
                .field(Field::string("text", 64))
                .field(Field::fixed("x", 100))
                .field(Field::fixed("y", 100)),
        )
}

/// [`every_type_schema`] by its older name, which `golden.rs`, `replica.rs` and
/// `decode_props.rs` use.
pub fn shooter_schema() -> Schema {
    every_type_schema()
}

/// Values from integers and strings, in field order.
#[derive(Debug, Clone)]
pub enum V {
    I(i64),
    S(&'static str),
}

pub fn values(vs: &[V]) -> Vec<Value> {
    vs.iter()
        .map(|v| match v {
            V::I(n) => Value::Int(*n),
            V::S(s) => Value::Str((*s).to_owned()),
        })
        .collect()
}

pub fn ints(vs: &[i64]) -> Vec<Value> {
    vs.iter().map(|&n| Value::Int(n)).collect()
}

pub fn entity(id: EntityId, kind: u8, values: Vec<Value>) -> Entity {
    Entity { id, kind, values }
}

/// One game's story, as the vectors hold it.
pub struct Story {
    pub schema: Schema,
    /// The room and the players already in it, for the `Joined`.
    pub room: &'static str,
    /// The `Welcome`'s tick rate, which the delta's predictions use.
    pub tick_rate: u16,
    pub keyframe: Snapshot,
    pub delta: Snapshot,
    /// What the client holds once the delta is applied, in the wire's order.
    pub after_delta: Vec<Entity>,
    pub events: Events,
    pub input: Input,
}

pub const TIME_MS: u64 = 1_700_000_000_000;

// The arena: ana (player 7) and bo (3) stand at tick 1200 and the client gets a keyframe.
// In tick 1201 bo leaves, cy (9) joins, and ana starts to walk.

/// Ana at tick 1200: at rest at (1000.00, 512.50), facing 244/1024 of a turn (1.5 rad).
pub fn ana_at_1200() -> Entity {
    entity(7, 0, ints(&[0, 0, 100_000, 51_250, 244]))
}

/// Bo at tick 1200: at rest at (250.00, 750.50), looking along -y.
pub fn bo_at_1200() -> Entity {
    entity(3, 0, ints(&[0, 0, 25_000, 75_050, -256]))
}

/// Ana at tick 1201: 1500 units/s² for one tick took her to (20, -15) units/s; she is a
/// step off where that velocity predicts (100033, 51225), and turned 5 steps clockwise.
pub fn ana_at_1201() -> Entity {
    entity(7, 0, ints(&[20, -15, 100_034, 51_223, 239]))
}

/// Cy, new at tick 1201: at rest where the server spawned them, facing 0.
pub fn cy_at_1201() -> Entity {
    entity(9, 0, ints(&[0, 0, 150_025, 40_000, 0]))
}

/// Ana's record in the arena's delta, 34 bits and 6 of padding:
///
/// ```text
/// 1                changed
/// 1 010100         vx: `1`, a 6-bit delta, +20    (0 -> 20)
/// 1 110001         vy: `1`, a 6-bit delta, -15    (0 -> -15; 64 - 15 = 49)
/// 10 0001          x: `10`, a 4-bit residual, +1  (predicted 100000 + round(20·100·1/60)
///                                                  = 100033; now 100034)
/// 10 1110          y: `10`, a 4-bit residual, -2  (predicted 51250 + round(-15·100·1/60)
///                                                  = 51225; now 51223; 16 - 2 = 14)
/// 1 111011         facing: `1`, a 6-bit turn, -5  (244 -> 239; 64 - 5 = 59)
/// 000000           padding to a whole byte
///
/// 11010100 11100011 00001101 11011110 11000000 = d4 e3 0d de c0
/// ```
pub const ANA_WALKS: [u8; 5] = [0xd4, 0xe3, 0x0d, 0xde, 0xc0];

pub fn arena_story() -> Story {
    let schema = arena_schema();
    let base = vec![ana_at_1200(), bo_at_1200()];
    let now = vec![cy_at_1201(), ana_at_1201()];
    let keyframe = Snapshot::keyframe(1200, TIME_MS, 300, base.clone());
    let delta = Snapshot::delta(
        &schema,
        (1200, &base),
        (1201, &now),
        60,
        (TIME_MS + 17, 301),
    );
    Story {
        schema,
        room: "lobby",
        tick_rate: 60,
        keyframe,
        delta,
        after_delta: vec![ana_at_1201(), cy_at_1201()],
        // The arena has no events: its frames carry none.
        events: Events {
            tick: 1201,
            events: vec![],
        },
        input: Input {
            seq: 301,
            view_tick: 1200,
            values: vec![
                InputValue::Float(0.6),
                InputValue::Float(-0.8),
                InputValue::Float(1.5),
                InputValue::Int(1),
            ],
        },
    }
}

// The every-type game, at 30 ticks per second: at tick 1200 ana (ship 7) chases bo
// (ship 3), her bullet flies, the score table and the match are there. Tick 1203 (three
// ticks later, one delta) brings every kind of change: bo and his score leave, ana is shot
// down and renamed, her bullet bounces, the match goes live, cy (9) arrives with a bullet
// and a score of his own.

pub const G: EntityId = FIRST_GAME_ID;

use V::{I, S};

pub fn ship(id: EntityId, vs: &[V]) -> Entity {
    entity(id, 0, values(vs))
}

/// [`every_type_base`] by its older name, which `replica.rs` uses.
pub fn shooter_base() -> Vec<Entity> {
    every_type_base()
}

/// The every-type game at tick 1200, in the client's order.
pub fn every_type_base() -> Vec<Entity> {
    vec![
        ship(
            7,
            &[
                I(200),
                I(0),
                I(100_000),
                I(51_250),
                I(510),
                I(100),
                I(0),
                I(1),
                I(0),
                S("ana"),
                I(3),
            ],
        ),
        ship(
            3,
            &[
                I(0),
                I(0),
                I(25_000),
                I(75_050),
                I(-256),
                I(40),
                I(-12),
                I(1),
                I(1),
                S("bo"),
                I(0),
            ],
        ),
        entity(G, 1, ints(&[3000, -1500, 101_000, 51_000, 7])),
        entity(G + 1, 2, ints(&[7, 2, 1])),
        entity(G + 2, 2, ints(&[3, 0, 2])),
        entity(G + 3, 3, values(&[I(0), I(600), I(-15), S("warmup")])),
    ]
}

/// The every-type game at tick 1203, in the server's own order (not the client's).
pub fn every_type_now() -> Vec<Entity> {
    vec![
        entity(G + 3, 3, values(&[I(1), I(597), I(-12), S("fight!")])),
        ship(
            9,
            &[
                I(0),
                I(-40),
                I(150_025),
                I(40_000),
                I(0),
                I(100),
                I(0),
                I(1),
                I(2),
                S("cy"),
                I(0),
            ],
        ),
        // vx 210 (+10, narrow), vy -900 (wide), x a 3-step residual off the prediction
        // 100000 + 210·100·3/30, y teleported (a value), the aim turned +14 across ±512,
        // hp 100 -> 0 (wide), score -5 (busy narrow), dead, on team green, renamed, no
        // target.
        ship(
            7,
            &[
                I(210),
                I(-900),
                I(102_103),
                I(-5),
                I(-500),
                I(0),
                I(-5),
                I(0),
                I(2),
                S("ana-marie"),
                I(0),
            ],
        ),
        // Bounced: vx from 300.0 to -7000.0 units/s (a busy value), x and y exactly where
        // the new velocity predicts them.
        entity(G, 1, ints(&[-70_000, -1500, 31_000, 49_500, 7])),
        entity(G + 1, 2, ints(&[7, 2, 1])),
        entity(G + 4, 1, ints(&[5000, -250, 150_025, 40_100, 9])),
        entity(G + 5, 2, ints(&[9, 0, 0])),
    ]
}

pub fn every_type_story() -> Story {
    let schema = every_type_schema();
    let base = every_type_base();
    let now = every_type_now();
    let keyframe = Snapshot::keyframe(1200, TIME_MS, 1234, base.clone());
    let delta = Snapshot::delta(
        &schema,
        (1200, &base),
        (1203, &now),
        30,
        (TIME_MS + 100, 1237),
    );
    let find = |id| {
        now.iter()
            .find(|e| e.id == id)
            .cloned()
            .expect("in the story")
    };
    let after_delta = [7, G, G + 1, G + 3, 9, G + 4, G + 5].map(find).to_vec();
    Story {
        schema,
        room: "duel",
        tick_rate: 30,
        keyframe,
        delta,
        after_delta,
        events: Events {
            tick: 1203,
            events: vec![
                GameEvent {
                    kind: 0,
                    values: ints(&[7, 3, 100]),
                },
                GameEvent {
                    kind: 1,
                    values: ints(&[7, 3]),
                },
                GameEvent {
                    kind: 2,
                    values: values(&[S("ana is out"), I(102_103), I(-5)]),
                },
            ],
        },
        input: Input {
            seq: 1238,
            view_tick: 1203,
            values: vec![
                InputValue::Float(0.5),
                InputValue::Float(-0.25),
                InputValue::Float(-2.5),
                InputValue::Bool(true),
                InputValue::Int(1),
                InputValue::Int(-1),
            ],
        },
    }
}
