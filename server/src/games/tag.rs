//! "Tag", the smallest complete game: the README's example of bringing your own game.
//! Runners move where their stick points; whoever is "it" passes it on by touch.

use crate::game::{
    Audience, EventKind, Events, Field, Game, InputField, InputValues, InvalidInput, Kind,
    PlayerId, Schema, World,
};
use glam::Vec2;

/// A runner: who, where, and whether it is "it".
#[derive(Debug, Clone, Copy)]
struct Runner {
    id: PlayerId,
    pos: Vec2,
    dir: Vec2,
    it: bool,
}

/// The tag world: its runners, in the order they joined.
#[derive(Debug, Default)]
pub struct Tag {
    runners: Vec<Runner>,
}

impl Game for Tag {
    const NAME: &'static str = "tag";
    type Input = Vec2;

    fn new() -> Self {
        Self::default()
    }

    fn schema() -> Schema {
        Schema::new(Self::NAME)
            .input(InputField::float("dx", -1.0, 1.0))
            .input(InputField::float("dy", -1.0, 1.0))
            .kind(
                Kind::new("runner")
                    .field(Field::position("x", 10))
                    .field(Field::position("y", 10))
                    .field(Field::boolean("it"))
                    .at("x", "y"),
            )
            .event(EventKind::new("tagged").field(Field::entity("runner")))
    }

    fn input(v: &InputValues) -> Result<Vec2, InvalidInput> {
        Ok(Vec2::new(v.f32(0), v.f32(1)).clamp_length_max(1.0))
    }

    fn handle_join(&mut self, id: PlayerId) {
        let it = self.runners.is_empty();
        let pos = Vec2::new((id % 10) as f32 * 40.0, (id / 10 % 10) as f32 * 40.0);
        self.runners.push(Runner {
            id,
            pos,
            dir: Vec2::ZERO,
            it,
        });
    }

    fn handle_leave(&mut self, id: PlayerId) {
        self.runners.retain(|r| r.id != id);
        if !self.runners.iter().any(|r| r.it)
            && let Some(first) = self.runners.first_mut()
        {
            first.it = true;
        }
    }

    fn handle_away(&mut self, id: PlayerId) {
        self.handle_input(id, &Vec2::ZERO, 0);
    }

    fn handle_input(&mut self, id: PlayerId, dir: &Vec2, _view_tick: u64) {
        if let Some(r) = self.runners.iter_mut().find(|r| r.id == id) {
            r.dir = *dir;
        }
    }

    fn step(&mut self, _tick: u64, dt: f32, events: &mut Events) {
        for r in &mut self.runners {
            r.pos = (r.pos + r.dir * 200.0 * dt).clamp(Vec2::ZERO, Vec2::splat(400.0));
        }
        let Some(it) = self.runners.iter().position(|r| r.it) else {
            return;
        };
        let touched = self
            .runners
            .iter()
            .position(|r| !r.it && r.pos.distance(self.runners[it].pos) < 10.0);
        if let Some(t) = touched {
            (self.runners[it].it, self.runners[t].it) = (false, true);
            // Sent to the far side, so that it cannot tag straight back.
            self.runners[t].pos = Vec2::splat(400.0) - self.runners[t].pos;
            events
                .emit(0, Audience::All)
                .entity(Some(self.runners[t].id));
        }
    }

    fn snapshot(&self, world: &mut World) {
        for r in &self.runners {
            world.spawn(0, r.id).f32(r.pos.x).f32(r.pos.y).bool(r.it);
        }
    }
}
