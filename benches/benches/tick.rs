//! Tick cost: one step of a game's world.
//!
//! - `tick/inputs_and_step/N`: the arena with N players; one tick's inputs (one per
//!   player, from the bots' walk) checked against the schema and by the arena and
//!   applied, then one step. Making the inputs is the clients' work and is not timed.
//! - `tick_shooter/step/N`: the shooter mid-round ([`Shooter::scene`]) with N entities
//!   (ships, their score rows and bullets, the match clock), every ship flying and firing
//!   as the scene set it; one step (flight, bullets against the rewound ships, the
//!   rewind buffer). The scene is built afresh, untimed, every half second of play.
//!
//! Expected curve: linear in players (arena) and in entities (shooter). The arena's
//! collision pass buckets bodies in a grid, so it costs O(players + cells), not
//! O(players²); the fixed part is clearing the grid's cells. The shooter groups bullets by
//! their shooter's lag and tests them against a grid of the ships as they were that many
//! ticks ago, so a step is O(bullets + ships × lags in use); the scene staggers its ships'
//! lags over the whole rewind buffer (13 lags at 60 Hz), its worst case.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickwire_benches::{DT, ROOM_SIZES, SHOOTER_SCENES, ShooterScene, WalkingRoom, apply_inputs};
use tickwire_server::game::{Events, Game};

fn tick_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in ROOM_SIZES {
        let room = WalkingRoom::new(players);
        let schema = Arc::clone(room.schema());
        let WalkingRoom {
            mut arena,
            mut walkers,
            mut tick,
            ..
        } = room;
        let mut events = Events::new(Arc::clone(&schema));
        let mut inputs = Vec::new();
        group.throughput(Throughput::Elements(players.into()));
        group.bench_function(BenchmarkId::new("inputs_and_step", players), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    walkers.fill_next_inputs(&mut inputs);
                    tick += 1;
                    let start = Instant::now();
                    apply_inputs(&mut arena, &schema, &inputs);
                    arena.step(tick, DT, &mut events);
                    timed += start.elapsed();
                    events.take();
                }
                timed
            });
        });
    }
    group.finish();
}

fn shooter_tick_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick_shooter");
    for (entities, ..) in SHOOTER_SCENES {
        let mut scene = ShooterScene::new(entities);
        group.throughput(Throughput::Elements(entities.into()));
        group.bench_function(BenchmarkId::new("step", entities), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    if scene.worn() {
                        scene.rebuild();
                    }
                    // The step, and dropping its events (a `Vec` taken): nothing else.
                    let start = Instant::now();
                    scene.step_game();
                    timed += start.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, tick_cost, shooter_tick_cost);
criterion_main!(benches);
