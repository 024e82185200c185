//! The score table: one row per player, written as a `score` entity of its own (every
//! client sees every row, wherever it is), and the rules of what a hit and a kill earn.

use serde::{Deserialize, Serialize};

use crate::game::EntityId;

use super::rules::ShooterRules;

/// One player's row of the score table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tally {
    /// The row's entity id (at least `FIRST_GAME_ID`, given when the player joined).
    pub id: EntityId,
    /// Ships this player destroyed.
    pub kills: i64,
    /// Times this player's ship was destroyed.
    pub deaths: i64,
    /// Damage dealt and kills, weighted by the rules.
    pub score: i64,
}

impl Tally {
    /// A fresh row with entity id `id`.
    pub fn new(id: EntityId) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    /// The shooter's side of a hit that took `damage` hit points.
    pub fn dealt(&mut self, damage: i32, rules: &ShooterRules) {
        self.score += i64::from(damage) * i64::from(rules.score_per_damage);
    }

    /// The killer's side of a kill.
    pub fn killed(&mut self, rules: &ShooterRules) {
        self.kills += 1;
        self.score += i64::from(rules.score_per_kill);
    }

    /// The victim's side of a kill.
    pub fn died(&mut self) {
        self.deaths += 1;
    }

    /// Back to nothing, keeping the row's id (a new round).
    pub fn reset(&mut self) {
        *self = Self::new(self.id);
    }
}
