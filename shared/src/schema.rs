//! A game's schema: what its inputs, its entities and its events are made of.
//!
//! The server sends its game's schema once, in `Joined` (and `Resumed`), so a client that
//! knows no game decodes any of them: the schema says, for every entity kind, which
//! fields it has in which order, how each travels whole (in a keyframe) and how its
//! change travels in a delta. A game declares its schema with the builders here:
//!
//! ```
//! use tickwire_shared::schema::{EventKind, Field, InputField, Kind, Schema};
//!
//! let schema = Schema::new("tag")
//!     .input(InputField::float("dx", -1.0, 1.0))
//!     .input(InputField::float("dy", -1.0, 1.0))
//!     .kind(
//!         Kind::new("runner")
//!             .field(Field::velocity("vx", 1))
//!             .field(Field::velocity("vy", 1))
//!             .field(Field::position("x", 100).predicted_by("vx"))
//!             .field(Field::position("y", 100).predicted_by("vy"))
//!             .field(Field::boolean("it"))
//!             .at("x", "y"),
//!     )
//!     .event(EventKind::new("tagged").field(Field::entity("runner")));
//! assert_eq!(schema.check(), Ok(()));
//! ```
//!
//! Every value is an integer on the wire, strings aside: a `fixed` field is a real number
//! rounded to `1/scale`, an `angle` is a fraction of a turn, `bool`s are 0 and 1, an `enum`
//! is its variant's index and an `entity` field is an entity id (0 for none). PROTOCOL.md
//! ("The schema") says how each is coded.

use serde::{Deserialize, Serialize};

/// An entity's id, unique in its room. A player's own entity has the player's id; ids the
/// game allocates for other entities are at least [`FIRST_GAME_ID`].
pub type EntityId = u32;

/// The first id of an entity that is not a player: player ids are below it.
pub const FIRST_GAME_ID: EntityId = 1 << 31;

/// An entity kind's index in [`Schema::kinds`].
pub type KindId = u8;

/// The most entity kinds, and the most event kinds, a schema may have.
pub const MAX_KINDS: usize = 64;
/// The most fields an entity kind or an event may have.
pub const MAX_FIELDS: usize = 64;
/// The most input fields a schema may have.
pub const MAX_INPUT_FIELDS: usize = 32;
/// The longest string field, in bytes.
pub const MAX_STRING: u32 = 255;

/// Everything a client needs to decode one game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The game's name, as `--game` selects it.
    pub game: String,
    /// What an input carries, in order.
    pub input: Vec<InputField>,
    /// The entity kinds; an entity's `kind` indexes this.
    pub kinds: Vec<Kind>,
    /// The event kinds; an event's `kind` indexes this.
    pub events: Vec<EventKind>,
}

/// One value of an input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputField {
    /// The field's name, for people and generic clients.
    pub name: String,
    /// What it holds.
    pub ty: InputType,
    /// The smallest value accepted (`float`, `int`; 0 for the others).
    pub min: f64,
    /// The largest value accepted (`float`, `int`; 1 for `bool`, the last index for
    /// `enum`; 4π for `angle`, which is accepted within ±4π and wrapped).
    pub max: f64,
    /// The names of an `enum`'s variants; empty otherwise.
    pub variants: Vec<String>,
}

/// What an input field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// A finite real number in `[min, max]`, sent as a float (or an integer).
    Float,
    /// An angle in radians, finite and within ±4π; the server wraps it into (-π, π].
    Angle,
    /// An integer in `[min, max]`.
    Int,
    /// `true` or `false`.
    Bool,
    /// A variant's index, an integer in `[0, variants.len())`.
    Enum,
}

/// One kind of entity: its fields, and which of them are its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kind {
    /// The kind's name.
    pub name: String,
    /// The indices of its `x` and `y` fields (both `fixed`), when it has a place in the
    /// world: a client with a view radius sees it only near its own entity. `None`: every
    /// client sees it (room state such as a score table or a match timer).
    pub position: Option<[u8; 2]>,
    /// The fields, in wire order.
    pub fields: Vec<Field>,
}

/// One kind of one-shot event (a hit, a kill, a pickup).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventKind {
    /// The event's name.
    pub name: String,
    /// Its fields, in wire order (only their types and ranges matter: events travel whole).
    pub fields: Vec<Field>,
}

/// What a field holds, and so how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A real number as an integer number of `1/scale` steps, in `i32`.
    Fixed,
    /// An angle as steps of `1/scale` of a turn, in `(-scale/2, scale/2]`.
    Angle,
    /// An integer in `[min, max]` (within `i32`).
    Int,
    /// 0 or 1.
    Bool,
    /// A variant's index in `[0, variants.len())`.
    Enum,
    /// UTF-8 text of at most `max` bytes.
    String,
    /// An entity's id, or 0 for none.
    Entity,
}

/// How a numeric field's delta is prefixed: which case gets the shortest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Mostly unchanged (or as predicted): `0` same, `10` narrow, `110` wide, `111` value.
    Steady,
    /// Mostly changed a little: `00` same, `1` narrow, `010` wide, `011` value.
    Busy,
}

/// One field of an entity or an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// What it holds.
    pub ty: FieldType,
    /// `fixed`: steps per unit; `angle`: steps per turn (even, at least 4); 0 otherwise.
    pub scale: u32,
    /// `int`: the smallest value; 0 otherwise.
    pub min: i64,
    /// `int`: the largest value; `string`: the most bytes; `enum`: the last index; 1 for
    /// `bool`; 0 otherwise.
    pub max: i64,
    /// `fixed` and `int`: which delta case is cheapest; ignored otherwise.
    pub code: Code,
    /// `fixed`, `int`, `angle`: the width in bits of a small delta; 0 otherwise.
    pub narrow: u8,
    /// `fixed`, `int`, `angle`: the width of a large delta (for `angle`, wide enough for
    /// any turn); `enum`: the width of a value; 0 otherwise.
    pub wide: u8,
    /// `fixed` only: the index of the `fixed` field (earlier in the kind) that is this
    /// field's velocity, in its own steps per second. A delta then carries the difference
    /// from the position predicted from it.
    pub predict: Option<u8>,
    /// `enum`: the variants' names; empty otherwise.
    pub variants: Vec<String>,
    /// `predicted_by`'s name, until the kind resolves it.
    #[serde(skip)]
    predict_name: Option<String>,
}

/// What is wrong with a schema: a game's mistake found at registration, or a server's
/// schema a client cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema of {game:?}: {what}")]
pub struct SchemaError {
    /// The game whose schema it is.
    pub game: String,
    /// What is wrong, naming the kind and the field.
    pub what: String,
}

impl Schema {
    /// An empty schema for the game `game`.
    pub fn new(game: &str) -> Self {
        Self {
            game: game.to_owned(),
            input: Vec::new(),
            kinds: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Adds an input field; inputs carry their fields in the order added.
    pub fn input(mut self, field: InputField) -> Self {
        self.input.push(field);
        self
    }

    /// Adds an entity kind; the first is kind 0.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// Adds an event kind; the first is kind 0.
    pub fn event(mut self, event: EventKind) -> Self {
        self.events.push(event);
        self
    }

    /// The index of the entity kind named `name`.
    pub fn kind_id(&self, name: &str) -> Option<KindId> {
        let at = self.kinds.iter().position(|k| k.name == name)?;
        KindId::try_from(at).ok()
    }

    /// The index of the event kind named `name`.
    pub fn event_id(&self, name: &str) -> Option<KindId> {
        let at = self.events.iter().position(|k| k.name == name)?;
        KindId::try_from(at).ok()
    }

    /// Checks every rule PROTOCOL.md states for a schema.
    ///
    /// # Errors
    /// The first rule broken, naming the kind and field.
    pub fn check(&self) -> Result<(), SchemaError> {
        let fail = |what: String| {
            Err(SchemaError {
                game: self.game.clone(),
                what,
            })
        };
        if self.kinds.len() > MAX_KINDS || self.events.len() > MAX_KINDS {
            return fail(format!("more than {MAX_KINDS} entity or event kinds"));
        }
        if self.input.len() > MAX_INPUT_FIELDS {
            return fail(format!("more than {MAX_INPUT_FIELDS} input fields"));
        }
        for f in &self.input {
            if let Err(what) = f.check() {
                return fail(format!("input {:?}: {what}", f.name));
            }
        }
        for kind in &self.kinds {
            if let Err(what) = kind.check() {
                return fail(format!("kind {:?}: {what}", kind.name));
            }
        }
        for event in &self.events {
            if event.fields.len() > MAX_FIELDS {
                return fail(format!("event {:?}: too many fields", event.name));
            }
            for (i, f) in event.fields.iter().enumerate() {
                if let Err(what) = f.check(&event.fields[..i]) {
                    return fail(format!(
                        "event {:?}, field {:?}: {what}",
                        event.name, f.name
                    ));
                }
            }
        }
        Ok(())
    }
}

impl InputField {
    fn with(name: &str, ty: InputType, min: f64, max: f64) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            min,
            max,
            variants: Vec::new(),
        }
    }

    /// A real number in `[min, max]`.
    pub fn float(name: &str, min: f64, max: f64) -> Self {
        Self::with(name, InputType::Float, min, max)
    }

    /// An angle in radians (accepted within ±4π, wrapped into (-π, π]).
    pub fn angle(name: &str) -> Self {
        Self::with(
            name,
            InputType::Angle,
            -4.0 * std::f64::consts::PI,
            4.0 * std::f64::consts::PI,
        )
    }

    /// An integer in `[min, max]`.
    pub fn int(name: &str, min: i32, max: i32) -> Self {
        Self::with(name, InputType::Int, min.into(), max.into())
    }

    /// A flag.
    pub fn boolean(name: &str) -> Self {
        Self::with(name, InputType::Bool, 0.0, 1.0)
    }

    /// One of `variants`, by index.
    pub fn enumeration(name: &str, variants: &[&str]) -> Self {
        let mut field = Self::with(name, InputType::Enum, 0.0, variants.len() as f64 - 1.0);
        field.variants = variants.iter().map(|v| (*v).to_owned()).collect();
        field
    }

    fn check(&self) -> Result<(), String> {
        if !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return Err("min and max must be finite, min <= max".into());
        }
        let whole =
            |v: f64| v.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v);
        match self.ty {
            InputType::Int if !(whole(self.min) && whole(self.max)) => {
                Err("an int's range must be whole numbers within i32".into())
            }
            InputType::Enum
                if self.variants.is_empty() || self.max != self.variants.len() as f64 - 1.0 =>
            {
                Err("an enum needs variants, and max = the last index".into())
            }
            _ => Ok(()),
        }
    }
}

impl Kind {
    /// A kind with no fields and no position (every client sees it).
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            position: None,
            fields: Vec::new(),
        }
    }

    /// Adds a field; a field `predicted_by` another names one added before it.
    pub fn field(mut self, mut field: Field) -> Self {
        if let Some(vel) = field.predict_name.take() {
            // An unknown name is kept as an index no kind has, which `check` reports.
            field.predict = Some(self.index_of(&vel).unwrap_or(u8::MAX));
        }
        self.fields.push(field);
        self
    }

    /// Gives the kind a place in the world: its fields `x` and `y` (both `fixed`, added
    /// before), so that a client with a view radius sees it only when it is near.
    pub fn at(mut self, x: &str, y: &str) -> Self {
        self.position = Some([
            self.index_of(x).unwrap_or(u8::MAX),
            self.index_of(y).unwrap_or(u8::MAX),
        ]);
        self
    }

    /// The index of the field named `name`.
    pub fn index_of(&self, name: &str) -> Option<u8> {
        let at = self.fields.iter().position(|f| f.name == name)?;
        u8::try_from(at).ok()
    }

    fn check(&self) -> Result<(), String> {
        if self.fields.len() > MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        if let Some(pos) = self.position {
            for at in pos {
                match self.fields.get(usize::from(at)) {
                    Some(f) if f.ty == FieldType::Fixed => {}
                    _ => return Err("its position must name two fixed fields".into()),
                }
            }
        }
        for (i, f) in self.fields.iter().enumerate() {
            f.check(&self.fields[..i])
                .map_err(|what| format!("field {:?}: {what}", f.name))?;
        }
        Ok(())
    }
}

impl EventKind {
    /// An event with no fields.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            fields: Vec::new(),
        }
    }

    /// Adds a field.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }
}

/// Bits enough to hold `0..=max` unsigned.
fn bits_for(max: u64) -> u8 {
    (u64::BITS - max.leading_zeros()).max(1) as u8
}

impl Field {
    fn with(name: &str, ty: FieldType) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            scale: 0,
            min: 0,
            max: 0,
            code: Code::Steady,
            narrow: 0,
            wide: 0,
            predict: None,
            variants: Vec::new(),
            predict_name: None,
        }
    }

    /// A real number in steps of `1/scale`. Its deltas suit a value that is mostly still
    /// or predicted (steady; 4-bit, else 10-bit deltas).
    pub fn fixed(name: &str, scale: u32) -> Self {
        Self {
            scale,
            narrow: 4,
            wide: 10,
            ..Self::with(name, FieldType::Fixed)
        }
    }

    /// A coordinate: [`Field::fixed`], to be [`Field::predicted_by`] its velocity.
    pub fn position(name: &str, scale: u32) -> Self {
        Self::fixed(name, scale)
    }

    /// A velocity in steps of `1/scale` units per second: it changes a little most ticks
    /// (busy; 6-bit, else 16-bit deltas).
    pub fn velocity(name: &str, scale: u32) -> Self {
        Self {
            code: Code::Busy,
            narrow: 6,
            wide: 16,
            ..Self::fixed(name, scale)
        }
    }

    /// An angle in steps of `1/steps` of a turn (`steps` even): 6-bit turns, else turns
    /// of any size.
    pub fn angle(name: &str, steps: u32) -> Self {
        Self {
            scale: steps,
            narrow: 6,
            wide: bits_for(u64::from(steps.max(2) - 1)),
            ..Self::with(name, FieldType::Angle)
        }
    }

    /// An integer in `[min, max]`, mostly unchanged: 4-bit deltas, else deltas as wide as
    /// the range.
    pub fn int(name: &str, min: i32, max: i32) -> Self {
        let span = (i64::from(max) - i64::from(min)).unsigned_abs();
        Self {
            min: min.into(),
            max: max.into(),
            narrow: 4,
            wide: (bits_for(span) + 1).min(32),
            ..Self::with(name, FieldType::Int)
        }
    }

    /// A flag.
    pub fn boolean(name: &str) -> Self {
        Self {
            max: 1,
            ..Self::with(name, FieldType::Bool)
        }
    }

    /// One of `variants`, by index.
    pub fn enumeration(name: &str, variants: &[&str]) -> Self {
        let last = variants.len().saturating_sub(1) as u64;
        Self {
            max: last as i64,
            wide: bits_for(last),
            variants: variants.iter().map(|v| (*v).to_owned()).collect(),
            ..Self::with(name, FieldType::Enum)
        }
    }

    /// Text of at most `max_bytes` bytes of UTF-8 (a name, a label).
    pub fn string(name: &str, max_bytes: u32) -> Self {
        Self {
            max: max_bytes.into(),
            ..Self::with(name, FieldType::String)
        }
    }

    /// A reference to another entity (0: none).
    pub fn entity(name: &str) -> Self {
        Self::with(name, FieldType::Entity)
    }

    /// Deltas that favor "changed a little" (the default for velocities).
    pub fn busy(mut self) -> Self {
        self.code = Code::Busy;
        self
    }

    /// Deltas that favor "unchanged" (the default for other numbers).
    pub fn steady(mut self) -> Self {
        self.code = Code::Steady;
        self
    }

    /// The widths of small and large deltas, in bits.
    pub fn widths(mut self, narrow: u8, wide: u8) -> Self {
        self.narrow = narrow;
        self.wide = wide;
        self
    }

    /// This coordinate moves at the velocity in field `velocity` (a `fixed` field added
    /// to the kind before this one): deltas carry only what the prediction missed.
    pub fn predicted_by(mut self, velocity: &str) -> Self {
        self.predict_name = Some(velocity.to_owned());
        self
    }

    /// A real number as this field's wire value: a `fixed` field's `x · scale` rounded to
    /// the nearest step (saturating at the `i32` range; NaN is 0), an `angle` in radians as
    /// steps of its turn wrapped into `(-scale/2, scale/2]`, an `int` rounded and clamped to
    /// its range, an `enum` index likewise, a `bool` 1 when `x` is not 0; anything else
    /// rounded.
    #[inline]
    pub fn to_wire(&self, x: f64) -> i64 {
        // Half away from zero, as `f64::round`, by the cast's truncation: `round` is a
        // library call on plain x86-64, and this runs for every field of every sent tick.
        let steps = |x: f64| {
            let r = (x + 0.5f64.copysign(x)) as i64;
            r.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
        };
        let x = if x.is_nan() { 0.0 } else { x };
        match self.ty {
            FieldType::Fixed => steps(x * f64::from(self.scale)),
            FieldType::Angle => {
                let turns = x / std::f64::consts::TAU;
                // The fraction of a turn first, so that huge angles keep their precision.
                let steps = (turns.fract() * f64::from(self.scale)).round() as i64;
                crate::changes::wrap_angle(steps, self.scale)
            }
            // `max(min).min(max)`, not `clamp`: a schema not yet checked may have min > max.
            FieldType::Int | FieldType::Enum => steps(x).max(self.min).min(self.max),
            FieldType::Bool => i64::from(x != 0.0),
            _ => steps(x),
        }
    }

    /// A wire value as the real number it stands for: the inverse of [`Field::to_wire`]
    /// (an angle in radians in `(-π, π]`).
    #[inline]
    pub fn from_wire(&self, v: i64) -> f64 {
        match self.ty {
            FieldType::Fixed => v as f64 / f64::from(self.scale.max(1)),
            FieldType::Angle => {
                crate::changes::wrap_angle(v, self.scale) as f64 * std::f64::consts::TAU
                    / f64::from(self.scale.max(2))
            }
            _ => v as f64,
        }
    }

    /// Checks this field given the fields before it.
    fn check(&self, before: &[Field]) -> Result<(), String> {
        let widths_ok = (1..=32).contains(&self.narrow)
            && (1..=32).contains(&self.wide)
            && self.narrow <= self.wide;
        match self.ty {
            FieldType::Fixed if self.scale == 0 => Err("scale must be at least 1".into()),
            FieldType::Fixed | FieldType::Int if !widths_ok => {
                Err("narrow and wide must be 1..=32 bits, narrow <= wide".into())
            }
            FieldType::Int
                if !(i64::from(i32::MIN) <= self.min
                    && self.min <= self.max
                    && self.max <= i64::from(i32::MAX)) =>
            {
                Err("an int's range must be within i32, min <= max".into())
            }
            FieldType::Angle
                if self.scale < 4
                    || self.wide > 32
                    || self.scale % 2 == 1
                    || self.scale > 1 << 16
                    || !(1..=self.wide).contains(&self.narrow)
                    || (1i64 << (self.wide - 1)) < i64::from(self.scale / 2) =>
            {
                Err("an angle needs an even scale in 4..=65536 and a wide delta that holds any turn".into())
            }
            FieldType::Enum
                if self.variants.is_empty()
                    || self.max != self.variants.len() as i64 - 1
                    || !(1..=32).contains(&self.wide)
                    || (self.max as u64) >> self.wide != 0 =>
            {
                Err("an enum needs variants, max = the last index, and a wide that holds it".into())
            }
            FieldType::String if !(1..=i64::from(MAX_STRING)).contains(&self.max) => {
                Err(format!("a string's max must be 1..={MAX_STRING} bytes"))
            }
            _ => match self.predict {
                None => Ok(()),
                Some(_) if self.ty != FieldType::Fixed => Err("only fixed fields are predicted".into()),
                Some(v) => match before.get(usize::from(v)) {
                    Some(vel) if vel.ty == FieldType::Fixed && vel.predict.is_none() => Ok(()),
                    _ => Err("predicted_by must name an unpredicted fixed field added before it".into()),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arena_like() -> Schema {
        Schema::new("arena")
            .input(InputField::float("dx", -1.0, 1.0))
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

    #[test]
    fn builders_resolve_names_and_pick_widths() {
        let s = arena_like();
        assert_eq!(s.check(), Ok(()));
        let player = &s.kinds[0];
        assert_eq!(player.position, Some([2, 3]));
        assert_eq!(player.fields[2].predict, Some(0));
        assert_eq!(
            player.fields[4].wide, 10,
            "any turn of 1024 steps fits 10 bits"
        );
        assert_eq!(Field::int("hp", 0, 100).wide, 8);
        assert_eq!(Field::enumeration("phase", &["a", "b", "c"]).wide, 2);
        assert_eq!(s.kind_id("player"), Some(0));
        assert_eq!(s.kind_id("ghost"), None);
    }

    #[test]
    fn mistakes_are_named() {
        let bad_predict = Schema::new("g")
            .kind(Kind::new("k").field(Field::position("x", 100).predicted_by("vx")));
        let err = bad_predict.check().unwrap_err();
        assert!(err.what.contains("\"x\""), "{err}");
        let bad_position =
            Schema::new("g").kind(Kind::new("k").field(Field::boolean("b")).at("b", "b"));
        assert!(bad_position.check().is_err());
        let bad_angle =
            Schema::new("g").kind(Kind::new("k").field(Field::angle("a", 1024).widths(6, 9)));
        assert!(bad_angle.check().is_err());
        let bad_int = Schema::new("g").input(InputField::int("i", 3, 2));
        assert!(bad_int.check().is_err());
    }

    #[test]
    fn a_schema_round_trips_through_messagepack() {
        let s = arena_like().event(EventKind::new("hit").field(Field::entity("who")));
        let bytes = rmp_serde::to_vec(&s).unwrap();
        let back: Schema = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, s);
    }
}
