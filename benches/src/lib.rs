//! Shared set-up for the criterion benches in `benches/`: rooms of a given size with
//! players spread over the world, and the inputs they send.

use glam::Vec2;
use tickwire_server::game::{Arena, ArenaRules, Game};
use tickwire_shared::{Input, PlayerState, Snapshot};

/// The room sizes every bench is run at: the default cap (64) and well past it.
pub const ROOM_SIZES: [u32; 4] = [16, 64, 256, 1024];

/// An arena with `players` players at their spawn points, stepped for a second so the
/// bench starts from a moving, settled world.
pub fn arena(players: u32) -> Arena {
    let mut arena = Arena::new(ArenaRules::default());
    for id in 0..players {
        arena.handle_join(id);
    }
    for seq in 1..=60 {
        for (id, input) in inputs(players, seq).iter().enumerate() {
            apply(&mut arena, input, id as u32);
        }
        arena.step(1.0 / 60.0);
    }
    arena
}

/// One tick's inputs for `players` players: each turns a little every tick, as a
/// wandering client would. `Input::seq` holds `seq`; the player is the index.
pub fn inputs(players: u32, seq: u32) -> Vec<Input> {
    (0..players)
        .map(|id| {
            let angle = id as f32 * 0.7 + seq as f32 * 0.05;
            Input {
                seq,
                dir: Vec2::from_angle(angle).to_array(),
                facing: angle,
                buttons: 0,
            }
        })
        .collect()
}

/// Validates `input` and hands it to the game as player `id`, as a room does.
pub fn apply(arena: &mut Arena, input: &Input, id: u32) {
    if let Ok(valid) = tickwire_server::game::ValidInput::new(input) {
        arena.handle_input(id, &valid);
    }
}

/// A snapshot of a room of `players` moving players.
pub fn snapshot(players: u32) -> Snapshot {
    let arena = arena(players);
    let mut states: Vec<PlayerState> = Vec::new();
    arena.snapshot(&mut states);
    Snapshot {
        tick: 123_456,
        server_time_ms: 1_790_000_000_000,
        players: states,
    }
}
