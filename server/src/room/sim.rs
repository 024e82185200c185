//! The room's game and its tick count: the one way the room changes the world, so that
//! what each tick did can be recorded (when the room records) and replayed.

use std::sync::Arc;

use tickwire_shared::PlayerId;
use tickwire_shared::schema::Schema;

use crate::game::{Events, Game, InputValues, World};
use crate::record::{Chunk, Tape};

/// A room's game, with the number of steps it has run, the events of the steps since
/// they were last taken and, when the room records, its tape.
#[derive(Debug)]
pub struct Sim<G> {
    game: G,
    tick: u64,
    dt: f32,
    tape: Option<Tape>,
    events: Events,
    /// Scratch for the world hash.
    world: World,
}

impl<G: Game> Sim<G> {
    /// `game` (whose schema is `schema`) at `tick`, stepping `dt` seconds a tick,
    /// recording on `tape` if there is one.
    pub fn new(game: G, schema: Arc<Schema>, dt: f32, tick: u64, tape: Option<Tape>) -> Self {
        Self {
            game,
            tick,
            dt,
            tape,
            events: Events::new(schema.clone()),
            world: World::new(schema),
        }
    }

    /// The game.
    pub fn game(&self) -> &G {
        &self.game
    }

    /// The game, to change by hand: tests and benches set up scenes with it. What it
    /// changes is not recorded.
    pub fn game_mut(&mut self) -> &mut G {
        &mut self.game
    }

    /// Steps run so far.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// A player enters the world.
    pub fn join(&mut self, id: PlayerId) {
        self.game.handle_join(id);
        if let Some(tape) = &mut self.tape {
            tape.join(id);
        }
    }

    /// A player leaves the world.
    pub fn leave(&mut self, id: PlayerId) {
        self.game.handle_leave(id);
        if let Some(tape) = &mut self.tape {
            tape.leave(id);
        }
    }

    /// A player's connection was lost; it stays without acting.
    pub fn away(&mut self, id: PlayerId) {
        self.game.handle_away(id);
        if let Some(tape) = &mut self.tape {
            tape.away(id);
        }
    }

    /// A player's admitted input: `values` as checked, `input` what the game made of
    /// them, `view_tick` the tick the client was showing (at most the current tick).
    pub fn input(&mut self, id: PlayerId, values: &InputValues, input: &G::Input, view_tick: u64) {
        let view_tick = view_tick.min(self.tick);
        self.game.handle_input(id, input, view_tick);
        if let Some(tape) = &mut self.tape {
            tape.input(id, view_tick, values);
        }
    }

    /// The events of the steps since the last call, oldest first.
    pub fn events(&mut self) -> &mut Events {
        &mut self.events
    }

    /// One step of the world, at `wall_ms` on the wall clock (for a recording's header).
    pub fn step(&mut self, wall_ms: u64) {
        if let Some(tape) = &mut self.tape
            && tape.needs_segment()
        {
            match self.game.save() {
                Some(world) => tape.begin_segment(self.tick, wall_ms, world),
                None => tape.pause(),
            }
        }
        self.tick += 1;
        self.game.step(self.tick, self.dt, &mut self.events);
        if self.tape.is_some() {
            let hash = self.world_hash();
            if let Some(tape) = &mut self.tape {
                tape.step(hash);
            }
        }
    }

    /// The world hash of the game as it is now ([`Game::world_hash`]).
    pub fn world_hash(&mut self) -> u32 {
        self.game.world_hash(&mut self.world)
    }

    /// The next chunk of the room's recording, once there is at least `min_bytes` of it
    /// (see [`Tape::take`]).
    pub fn take_recording(&mut self, min_bytes: usize) -> Option<Chunk> {
        self.tape.as_mut()?.take(min_bytes)
    }

    /// The last chunk taken did not reach the writer.
    pub fn recording_lost(&mut self) {
        if let Some(tape) = &mut self.tape {
            tape.lost();
        }
    }
}
