//! Tick cost: one tick's queued inputs validated and applied, then one step of the arena.
//!
//! Expected curve: linear in players. The collision pass buckets bodies in a grid, so it
//! costs O(players + cells), not O(players²); the fixed part is clearing the grid's cells.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tickwire_benches::{ROOM_SIZES, apply, arena, inputs};
use tickwire_server::game::Game;

fn tick_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in ROOM_SIZES {
        let mut world = arena(players);
        // Two tick's worth of inputs, alternated, so directions keep changing.
        let batches = [inputs(players, 1), inputs(players, 2)];
        let mut n = 0usize;
        group.throughput(Throughput::Elements(players.into()));
        group.bench_function(BenchmarkId::new("inputs_and_step", players), |b| {
            b.iter(|| {
                n += 1;
                for (id, input) in batches[n % 2].iter().enumerate() {
                    apply(&mut world, input, id as u32);
                }
                world.step(1.0 / 60.0);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, tick_cost);
criterion_main!(benches);
