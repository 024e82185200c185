//! Turning what a bot wants to do into an `Input` of the server's game: one value per
//! input field of the schema, in the schema's order, placed by the fields' names.
//!
//! Each [`Game`] needs some fields by name and type (the arena `dx`, `dy`, `facing`; the
//! shooter `dx`, `dy`, `aim`, `fire`, and a `ship` kind with a place to aim at). Fields it
//! does not need get a neutral value (0 within the field's range, `false`), so that a
//! server whose game grew a field still gets inputs it accepts; a needed field that is
//! missing or of another type is a [`Mismatch`], which the bot reports instead of sending
//! inputs the server would refuse.

use tickwire_shared::schema::{InputField, InputType};
use tickwire_shared::{Entity, EntityId, Input, InputValue, Schema};

use crate::Game;
use crate::aim::{Sights, Target};
use crate::walk::Heading;

/// A shooter bot fires every this many inputs, besides whenever a target is in range.
const FIRE_EVERY: u64 = 10;

/// A target this near (in world units) is fired at: a bullet's reach is some 700.
const FIRE_RANGE: f64 = 600.0;

/// What one input field carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Dx,
    Dy,
    /// Where the walk goes.
    Facing,
    /// Toward the nearest target, or where the walk goes when there is none.
    Aim,
    Fire,
    /// A field the game does not need: its neutral value.
    Neutral,
}

/// Why a game cannot be played with a server's schema: what it needs and did not find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {game} bots need {need}, but the server's game {server:?} has input fields [{fields}]{kinds}"
)]
pub(crate) struct Mismatch {
    game: Game,
    need: String,
    server: String,
    fields: String,
    kinds: String,
}

/// One connection's input maker: the schema's fields resolved once.
#[derive(Debug, Clone)]
pub(crate) struct InputMaker {
    slots: Vec<(Slot, InputField)>,
    /// Whom to aim at (the shooter only).
    sights: Option<Sights>,
    /// Inputs made so far, for the firing cadence.
    made: u64,
}

impl InputMaker {
    /// The inputs `game` sends to a server whose game is `schema`.
    ///
    /// # Errors
    /// [`Mismatch`] when a field the game needs is missing or of another type, or (for the
    /// shooter) the schema has no `ship` with a place in the world.
    pub(crate) fn new(game: Game, schema: &Schema) -> Result<Self, Mismatch> {
        let angle = [InputType::Angle, InputType::Float];
        let float = [InputType::Float, InputType::Float];
        let needs: &[(&str, Slot, [InputType; 2])] = match game {
            Game::Arena => &[
                ("dx", Slot::Dx, float),
                ("dy", Slot::Dy, float),
                ("facing", Slot::Facing, angle),
            ],
            Game::Shooter => &[
                ("dx", Slot::Dx, float),
                ("dy", Slot::Dy, float),
                ("aim", Slot::Aim, angle),
                ("fire", Slot::Fire, [InputType::Bool, InputType::Bool]),
            ],
        };
        let mismatch = |need: String| Mismatch {
            game,
            need,
            server: schema.game.clone(),
            fields: schema
                .input
                .iter()
                .map(|f| format!("{} ({:?})", f.name, f.ty).to_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
            kinds: if game == Game::Shooter {
                let kinds: Vec<_> = schema.kinds.iter().map(|k| k.name.as_str()).collect();
                format!(" and kinds [{}]", kinds.join(", "))
            } else {
                String::new()
            },
        };
        for (name, _, types) in needs {
            if !schema
                .input
                .iter()
                .any(|f| f.name == *name && types.contains(&f.ty))
            {
                let ty = format!("{:?}", types[0]).to_lowercase();
                return Err(mismatch(format!("an input field {name:?} of type {ty}")));
            }
        }
        let sights = match game {
            Game::Arena => None,
            Game::Shooter => Some(
                Sights::new(schema, "ship")
                    .ok_or_else(|| mismatch("a kind \"ship\" with a position".to_owned()))?,
            ),
        };
        let slots = schema
            .input
            .iter()
            .map(|f| {
                let slot = needs
                    .iter()
                    .find(|(name, _, _)| *name == f.name)
                    .map_or(Slot::Neutral, |&(_, slot, _)| slot);
                (slot, f.clone())
            })
            .collect();
        Ok(Self {
            slots,
            sights,
            made: 0,
        })
    }

    /// Inputs that fit `schema` whatever its game: the walk in fields named `dx` and `dy`
    /// when they are floats, neutral values elsewhere. For bots whose inputs only need to
    /// be well formed (the misbehaving ones).
    pub(crate) fn lenient(schema: &Schema) -> Self {
        let slots = schema
            .input
            .iter()
            .map(|f| {
                let slot = match (f.name.as_str(), f.ty) {
                    ("dx", InputType::Float) => Slot::Dx,
                    ("dy", InputType::Float) => Slot::Dy,
                    _ => Slot::Neutral,
                };
                (slot, f.clone())
            })
            .collect();
        Self {
            slots,
            sights: None,
            made: 0,
        }
    }

    /// The input numbered `seq` for a bot walking `heading`, showing the snapshot of
    /// `view_tick`, in a room it holds as `world`, where it is entity `me`.
    pub(crate) fn next(
        &mut self,
        seq: u32,
        view_tick: u64,
        heading: Heading,
        world: &[Entity],
        me: EntityId,
    ) -> Input {
        self.made += 1;
        let target: Option<Target> = self.sights.as_ref().and_then(|s| s.nearest(world, me));
        let fire = self.made % FIRE_EVERY == 0 || target.is_some_and(|t| t.distance <= FIRE_RANGE);
        let values = self
            .slots
            .iter()
            .map(|(slot, field)| match slot {
                Slot::Dx => float(field, heading.dx.into()),
                Slot::Dy => float(field, heading.dy.into()),
                Slot::Facing => float(field, heading.facing.into()),
                Slot::Aim => float(field, target.map_or(heading.facing.into(), |t| t.angle)),
                Slot::Fire => InputValue::Bool(fire),
                Slot::Neutral => neutral(field),
            })
            .collect();
        Input {
            seq,
            view_tick,
            values,
        }
    }
}

/// `x` as a value of a float or angle field, within its range.
fn float(field: &InputField, x: f64) -> InputValue {
    InputValue::Float(x.clamp(field.min, field.max))
}

/// The value of a field the bot has no use for: 0 (or the nearest value in range), or
/// `false`.
fn neutral(field: &InputField) -> InputValue {
    let zero = 0.0f64.clamp(field.min, field.max);
    match field.ty {
        InputType::Float | InputType::Angle => InputValue::Float(zero),
        // The schema's check keeps int and enum ranges whole.
        InputType::Int | InputType::Enum => InputValue::Int(zero as i64),
        InputType::Bool => InputValue::Bool(false),
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::Value;
    use tickwire_shared::schema::{Field, Kind};

    use super::*;

    fn arena() -> Schema {
        Schema::new("arena")
            .input(InputField::float("dx", -1.01, 1.01))
            .input(InputField::float("dy", -1.01, 1.01))
            .input(InputField::angle("facing"))
            .input(InputField::int("buttons", 0, 255))
    }

    fn shooter() -> Schema {
        Schema::new("shooter")
            .input(InputField::float("dx", -1.01, 1.01))
            .input(InputField::float("dy", -1.01, 1.01))
            .input(InputField::angle("aim"))
            .input(InputField::boolean("fire"))
            .kind(
                Kind::new("ship")
                    .field(Field::position("x", 100))
                    .field(Field::position("y", 100))
                    .at("x", "y"),
            )
    }

    const EAST: Heading = Heading {
        dx: 1.0,
        dy: 0.0,
        facing: 0.0,
    };

    fn ship(id: EntityId, x: i64, y: i64) -> Entity {
        Entity {
            id,
            kind: 0,
            values: vec![Value::Int(x * 100), Value::Int(y * 100)],
        }
    }

    #[test]
    fn the_arena_walks_faces_its_way_and_presses_nothing() {
        let mut maker = InputMaker::new(Game::Arena, &arena()).expect("fits");
        let input = maker.next(3, 77, EAST, &[], 1);
        assert_eq!((input.seq, input.view_tick), (3, 77));
        use InputValue::{Float, Int};
        assert_eq!(
            input.values,
            vec![Float(1.0), Float(0.0), Float(0.0), Int(0)]
        );
    }

    #[test]
    fn the_shooter_aims_at_the_nearest_ship_and_fires_in_range_or_now_and_then() {
        let mut maker = InputMaker::new(Game::Shooter, &shooter()).expect("fits");
        let near = [ship(1, 0, 0), ship(2, 0, 100), ship(3, 900, 0)];
        let input = maker.next(1, 5, EAST, &near, 1);
        let InputValue::Float(aim) = input.values[2] else {
            panic!("{input:?}");
        };
        assert!(
            (aim - std::f64::consts::FRAC_PI_2).abs() < 1e-9,
            "{input:?}"
        );
        assert_eq!(input.values[3], InputValue::Bool(true), "in range");

        let far = [ship(1, 0, 0), ship(3, 900, 0)];
        let fired: Vec<bool> = (2..=21)
            .map(|seq| maker.next(seq, 5, EAST, &far, 1).values[3] == InputValue::Bool(true))
            .collect();
        assert_eq!(
            fired.iter().filter(|&&f| f).count(),
            2,
            "every 10th: {fired:?}"
        );
        // Alone, it aims where it walks.
        let alone = maker.next(30, 5, EAST, &[ship(1, 0, 0)], 1);
        assert_eq!(alone.values[2], InputValue::Float(0.0));
    }

    #[test]
    fn fields_a_game_does_not_need_get_neutral_values_in_range() {
        let schema = arena()
            .input(InputField::int("slot", 2, 9))
            .input(InputField::boolean("crouch"))
            .input(InputField::enumeration("mode", &["walk", "run"]))
            .input(InputField::float("lean", 0.5, 1.0));
        let mut maker = InputMaker::new(Game::Arena, &schema).expect("extra fields are fine");
        let values = maker.next(1, 0, EAST, &[], 1).values;
        use InputValue::{Bool, Float, Int};
        assert_eq!(values[4..], [Int(2), Bool(false), Int(0), Float(0.5)]);
    }

    #[test]
    fn a_game_without_what_the_bots_need_is_a_mismatch_in_words() {
        let err = InputMaker::new(Game::Arena, &shooter()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("the arena bots need an input field \"facing\""),
            "{text}"
        );
        assert!(
            text.contains("\"shooter\" has input fields [dx (float)"),
            "{text}"
        );
        let err = InputMaker::new(Game::Shooter, &arena()).unwrap_err();
        assert!(err.to_string().contains("\"aim\" of type angle"), "{err}");
        let shipless = Schema {
            kinds: Vec::new(),
            ..shooter()
        };
        let err = InputMaker::new(Game::Shooter, &shipless).unwrap_err();
        assert!(err.to_string().contains("a kind \"ship\""), "{err}");
        let wrong_type = Schema::new("arena")
            .input(InputField::float("dx", -1.0, 1.0))
            .input(InputField::boolean("dy"))
            .input(InputField::angle("facing"));
        assert!(InputMaker::new(Game::Arena, &wrong_type).is_err());
    }

    #[test]
    fn the_real_arena_takes_the_arena_bots_inputs_and_refuses_the_shooters() {
        let arena = tickwire_server::registry::find("arena").expect("registered");
        let schema = (arena.schema)();
        let mut maker = InputMaker::new(Game::Arena, &schema).expect("the bots play it");
        let mut walk = crate::walk::Walk::new(1);
        for seq in 1..=100 {
            let input = maker.next(seq, 0, walk.step(), &[], 1);
            let checked = tickwire_server::game::InputValues::check(&schema.input, &input.values);
            assert!(checked.is_ok(), "{input:?}: {checked:?}");
        }
        assert!(InputMaker::new(Game::Shooter, &schema).is_err());
    }

    #[test]
    fn lenient_inputs_fit_any_schema() {
        let mut maker = InputMaker::lenient(&shooter());
        let values = maker.next(1, 0, EAST, &[], 1).values;
        use InputValue::{Bool, Float};
        assert_eq!(
            values,
            vec![Float(1.0), Float(0.0), Float(0.0), Bool(false)]
        );
        let mut none = InputMaker::lenient(&Schema::new("empty"));
        assert!(none.next(1, 0, EAST, &[], 1).values.is_empty());
    }
}
