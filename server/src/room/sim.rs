//! The room's game and its tick count: the one way the room changes the world, so that
//! what a tick did can be recorded and replayed.

use tickwire_shared::PlayerId;

use crate::game::{Game, ValidInput};

/// A room's game, with the number of steps it has run.
#[derive(Debug)]
pub struct Sim<G> {
    game: G,
    tick: u64,
    dt: f32,
}

impl<G: Game> Sim<G> {
    /// `game` at tick 0, stepping `dt` seconds a tick.
    pub fn new(game: G, dt: f32) -> Self {
        Self { game, tick: 0, dt }
    }

    /// The game.
    pub fn game(&self) -> &G {
        &self.game
    }

    /// Steps run so far.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// A player enters the world.
    pub fn join(&mut self, id: PlayerId) {
        self.game.handle_join(id);
    }

    /// A player leaves the world.
    pub fn leave(&mut self, id: PlayerId) {
        self.game.handle_leave(id);
    }

    /// A player's connection was lost; it stays without acting.
    pub fn away(&mut self, id: PlayerId) {
        self.game.handle_away(id);
    }

    /// A player's admitted input.
    pub fn input(&mut self, id: PlayerId, input: &ValidInput) {
        self.game.handle_input(id, input);
    }

    /// One step of the world.
    pub fn step(&mut self) {
        self.game.step(self.dt);
        self.tick += 1;
    }
}
