//! Tick cost: one tick's inputs (one per player, from the bots' walk) validated and
//! applied, then one step of the arena. Making the inputs is the clients' work and is not
//! timed.
//!
//! Expected curve: linear in players. The collision pass buckets bodies in a grid, so it
//! costs O(players + cells), not O(players²); the fixed part is clearing the grid's cells.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use tickwire_benches::{DT, ROOM_SIZES, WalkingRoom, apply_inputs};
use tickwire_server::game::Game;

fn tick_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in ROOM_SIZES {
        let WalkingRoom {
            mut arena,
            mut walkers,
            ..
        } = WalkingRoom::new(players);
        let mut inputs = Vec::new();
        group.throughput(Throughput::Elements(players.into()));
        group.bench_function(BenchmarkId::new("inputs_and_step", players), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    walkers.fill_next_inputs(&mut inputs);
                    let start = Instant::now();
                    apply_inputs(&mut arena, &inputs);
                    arena.step(DT);
                    timed += start.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, tick_cost);
criterion_main!(benches);
