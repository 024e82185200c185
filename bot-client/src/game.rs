//! Which game the honest bots play (`--game`): what they do with their inputs.
//!
//! Decoding needs no game: every connection reads its snapshots with the schema the
//! server sent in `Joined` (or `Resumed`), whatever game that is. The game chosen here
//! only decides what the bots *send*, and it is chosen, not inferred from the schema's
//! name: a swarm told to play one game against a server of another says so in its report
//! (an error of kind `schema`) rather than quietly playing something else.

use std::fmt;
use std::str::FromStr;

/// A game the bots know how to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Game {
    /// The arena: the wandering walk, facing where it goes, no buttons.
    #[default]
    Arena,
    /// The shooter: the same walk, aiming at the nearest other ship it holds and firing
    /// now and then, and whenever a target is within range.
    Shooter,
}

impl Game {
    /// Every game, in the order `--help` lists them.
    pub const ALL: [Game; 2] = [Game::Arena, Game::Shooter];

    /// The game's name, as the server's `--game` and the schema's `game` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Game::Arena => "arena",
            Game::Shooter => "shooter",
        }
    }
}

impl fmt::Display for Game {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Game {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Game::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Game::ALL.iter().map(|g| g.name()).collect();
                format!("no game {s:?}: the bots play {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_refused() {
        for g in Game::ALL {
            assert_eq!(g.name().parse::<Game>(), Ok(g));
        }
        assert_eq!(Game::default(), Game::Arena);
        let err = "chess".parse::<Game>().unwrap_err();
        assert!(err.contains("arena, shooter"), "{err}");
    }
}
