//! Snapshots: what a room spends, once per sent tick, turning its state into the bytes
//! its clients get, with every player walking the bots' walk. The arena is stepped one
//! tick between iterations, outside the timed part, so every iteration encodes a new
//! state against the one before, as a room does.
//!
//! - `snapshot_encode/keyframe/N`: `SnapshotEncoder::begin` (the frame: every player
//!   rounded, encoded whole, its change record and hash) plus the shared keyframe's bytes.
//! - `snapshot_encode/delta/N`: the same `begin` plus the shared delta's bytes.
//! - `snapshot_interest/begin/1024` and `.../begin_without_radius/1024`: `begin` with a
//!   view radius (the frame, plus the grid of positions) and without; the difference is
//!   the grid.
//! - `snapshot_interest/assemble/1024`: after `begin`, every one of 1024 clients' own
//!   delta assembled from the frame's pieces.
//! - `snapshot_encode_shooter/keyframe/N` and `.../delta/N`: the same as
//!   `snapshot_encode` for the shooter mid-round ([`Shooter::scene`]) with N entities of
//!   four kinds (ships, bullets, score rows, the match clock); the scene plays on by
//!   itself between iterations and is built afresh, untimed, every half second of play.
//!
//! Before timing, each group prints (to stderr) the sizes: bytes per snapshot and per
//! player, keyframe against delta, and against protocol 2's full float snapshot, with the
//! share of players against a wall and of change records whose position residual did not
//! fit 4 bits; and, with interest, bytes per client against the shared delta.
//!
//! Expected curve: `snapshot_encode` is linear in players, both kinds, and dominated by
//! `begin` (about 150 ns per player); the keyframe adds a copy of about 20 bytes per
//! player, the delta a playback of its records. A walker in the open takes 25 to 35 bits;
//! the walk never steers away from walls, though, so at any time a third (1024 players) to
//! two thirds (64) of the players are pressed against a wall, many in piles where the
//! arena pushes them apart every tick, and those need 10-bit position residuals on the
//! axis along the wall: the delta comes to about 4–5 bytes per player, 0.20–0.24 of the
//! keyframe. `begin` with a radius costs little more than without (the grid is linear
//! in players). `assemble` is linear in clients times what each sees (about 35 players at
//! radius 200 in the default world, whatever the room's size), so its cost per client is
//! about constant; one
//! client's delta is about 35 records, not 1024. `snapshot_encode_shooter` is linear in
//! entities; bullets fly straight (their predicted positions need no residual) and score
//! rows and the clock rarely change, so its delta is smaller per entity than the arena's.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tickwire_benches::{
    ROOM_SIZES, SHOOTER_SCENES, Scene, ShooterScene, TICK_RATE, WalkingRoom, encoder, encoder_of,
    v2_snapshot,
};
use tickwire_server::game::{Game, Value};
use tickwire_server::games::arena::{Arena, ArenaRules, PLAYER};
use tickwire_server::games::shooter::Shooter;
use tickwire_server::snapshot::{ClientView, SnapshotEncoder, SnapshotKind};
use tickwire_shared::PlayerId;
use tickwire_shared::changes::predict;

/// The acknowledgement every snapshot's head carries: a sequence number of three bytes,
/// as most are (one input a tick for 2 to 18 minutes).
const ACK: u32 = 1234;

/// Ticks of walking the size tables are averaged over: ten seconds.
const TABLE_TICKS: u32 = 600;

/// The view radius of the interest benches: about 30 of 1024 players in view in the
/// default 2000 × 2000 world.
const VIEW_RADIUS: f32 = 200.0;

/// The room size of the interest benches.
const INTEREST_PLAYERS: u32 = 1024;

/// Mean bytes of one snapshot of a room, over [`TABLE_TICKS`], and what explains them.
struct Sizes {
    keyframe: f64,
    delta: f64,
    v2: f64,
    /// Share of players against a wall.
    at_wall: f64,
    /// Share of change records whose position residual does not fit 4 bits (the arena
    /// pushed the player: a wall, or another player).
    wide_residual: f64,
}

/// Steps the scene and starts its encoder's frame of the new tick; returns the tick the
/// encoder's previous frame was from. A scene that was renewed first has its frame begun
/// (untimed by the callers that time), so that the new frame is a delta of the renewed
/// scene, not of the worn one.
fn next_frame<S: Scene>(scene: &mut S, encoder: &mut SnapshotEncoder) -> u64 {
    if scene.renew() {
        encoder.begin(scene.game(), scene.tick(), scene.time_ms());
    }
    let base = scene.tick();
    scene.step();
    encoder.begin(scene.game(), scene.tick(), scene.time_ms());
    base
}

/// A room of `players` and an encoder (with `view_radius`) that has sent its first frame,
/// so that the next can be a delta.
fn primed(players: u32, view_radius: Option<f32>) -> (WalkingRoom, SnapshotEncoder) {
    let room = WalkingRoom::new(players);
    let mut encoder = encoder(view_radius);
    encoder.begin(&room.arena, room.tick, room.time_ms());
    (room, encoder)
}

/// The shooter scene of `entities` and its encoder, primed as [`primed`] primes a room.
fn primed_shooter(entities: u32) -> (ShooterScene, SnapshotEncoder) {
    let scene = ShooterScene::new(entities);
    let mut encoder = encoder_of::<Shooter>(None);
    encoder.begin(scene.game(), scene.tick(), scene.time_ms());
    (scene, encoder)
}

/// Where the arena player's fields are, and the scales a delta predicts positions with.
struct PlayerFields {
    at: [usize; 4],
    pos_scale: u32,
    vel_scale: u32,
}

impl PlayerFields {
    fn new() -> Self {
        let schema = Arena::schema();
        let kind = &schema.kinds[usize::from(PLAYER)];
        let at = |name: &str| usize::from(kind.index_of(name).expect("an arena player field"));
        let at = ["x", "y", "vx", "vy"].map(at);
        Self {
            pos_scale: kind.fields[at[0]].scale,
            vel_scale: kind.fields[at[2]].scale,
            at,
        }
    }

    /// True when the change from `was` to `now` leaves a position residual (against the
    /// position predicted from the velocity) that does not fit 4 bits.
    fn wide_residual(&self, was: &[Value], now: &[Value]) -> bool {
        let [x, y, vx, vy] = self.at;
        let residual = |pos: usize, vel: usize| {
            let predicted = predict(
                was[pos].int(),
                now[vel].int(),
                1,
                TICK_RATE,
                self.pos_scale,
                self.vel_scale,
            );
            now[pos].int() - predicted
        };
        !(-8..8).contains(&residual(x, vx)) || !(-8..8).contains(&residual(y, vy))
    }
}

fn measure_sizes(players: u32) -> Sizes {
    let (mut room, mut encoder) = primed(players, None);
    let mut view = ClientView::default();
    let rules = ArenaRules::default();
    let (wall_lo, wall_hi) = (Vec2::splat(rules.radius), rules.size - rules.radius);
    let fields = PlayerFields::new();
    let (mut keyframe, mut delta, mut v2) = (0usize, 0usize, 0usize);
    let (mut at_wall, mut wide, mut records) = (0usize, 0usize, 0usize);
    let values = |encoder: &SnapshotEncoder| -> Vec<Vec<Value>> {
        let frame = encoder.frame();
        (0..frame.len()).map(|i| frame.values(i).to_vec()).collect()
    };
    let mut prev = values(&encoder);
    for _ in 0..TABLE_TICKS {
        let base = next_frame(&mut room, &mut encoder);
        let (bytes, kind) = encoder.for_client(None, &mut view, Some(0), ACK);
        assert_eq!(kind, SnapshotKind::Keyframe);
        keyframe += bytes.len();
        let (bytes, kind) = encoder.for_client(Some(base), &mut view, Some(0), ACK);
        assert_eq!(kind, SnapshotKind::Delta);
        delta += bytes.len();
        let players = room.players();
        v2 += v2_snapshot(&players, room.tick, room.time_ms(), room.walkers.seq()).len();
        at_wall += players
            .iter()
            .filter(|p| p.pos.cmple(wall_lo).any() || p.pos.cmpge(wall_hi).any())
            .count();
        // Survivors keep the previous frame's order.
        let frame = encoder.frame();
        for (i, was) in prev.iter().enumerate().take(frame.survivors) {
            wide += usize::from(fields.wide_residual(was, frame.values(i)));
            records += 1;
        }
        prev = values(&encoder);
    }
    let mean = |total: usize| total as f64 / f64::from(TABLE_TICKS);
    Sizes {
        keyframe: mean(keyframe),
        delta: mean(delta),
        v2: mean(v2),
        at_wall: mean(at_wall) / f64::from(players),
        wide_residual: wide as f64 / records.max(1) as f64,
    }
}

fn print_sizes(sizes: &[(u32, Sizes)]) {
    eprintln!(
        "\nsnapshot bytes, bots' walk, no view radius, mean over {TABLE_TICKS} ticks \
         (per snapshot / per player):"
    );
    eprintln!(
        "{:>7} | {:>16} | {:>14} | {:>14} | {:>16} | {:>11} | {:>7} | {:>13}",
        "players",
        "keyframe",
        "delta",
        "delta/keyframe",
        "v2 floats",
        "keyframe/v2",
        "at wall",
        "wide residual"
    );
    for (players, s) in sizes {
        let players = *players;
        let n = f64::from(players);
        eprintln!(
            "{players:>7} | {:>8.0} / {:>5.2} | {:>6.0} / {:>5.2} | {:>14.3} | {:>8.0} / {:>5.2} | {:>11.3} | {:>6.1}% | {:>12.1}%",
            s.keyframe,
            s.keyframe / n,
            s.delta,
            s.delta / n,
            s.delta / s.keyframe,
            s.v2,
            s.v2 / n,
            s.keyframe / s.v2,
            100.0 * s.at_wall,
            100.0 * s.wide_residual,
        );
    }
    eprintln!();
}

/// Times `encode` on a fresh frame per iteration: the scene is stepped (and renewed)
/// untimed, then `begin` and `produce` are timed.
fn bench_frames<S: Scene>(
    b: &mut criterion::Bencher<'_>,
    scene: &mut S,
    encoder: &mut SnapshotEncoder,
    mut produce: impl FnMut(&mut SnapshotEncoder, u64),
) {
    b.iter_custom(|iters| {
        let mut timed = Duration::ZERO;
        for _ in 0..iters {
            if scene.renew() {
                encoder.begin(scene.game(), scene.tick(), scene.time_ms());
            }
            let base = scene.tick();
            scene.step();
            let start = Instant::now();
            encoder.begin(scene.game(), scene.tick(), scene.time_ms());
            produce(encoder, base);
            timed += start.elapsed();
        }
        timed
    });
}

fn snapshot_encode(c: &mut Criterion) {
    let sizes: Vec<(u32, Sizes)> = ROOM_SIZES.map(|n| (n, measure_sizes(n))).into();
    print_sizes(&sizes);

    let mut group = c.benchmark_group("snapshot_encode");
    for (players, size) in &sizes {
        let (mut room, mut encoder) = primed(*players, None);
        let mut view = ClientView::default();
        group.throughput(Throughput::Bytes(size.keyframe.round() as u64));
        group.bench_function(BenchmarkId::new("keyframe", players), |b| {
            bench_frames(b, &mut room, &mut encoder, |encoder, _| {
                black_box(encoder.for_client(None, &mut view, Some(0), ACK));
            });
        });
        group.throughput(Throughput::Bytes(size.delta.round() as u64));
        group.bench_function(BenchmarkId::new("delta", players), |b| {
            bench_frames(b, &mut room, &mut encoder, |encoder, base| {
                black_box(encoder.for_client(Some(base), &mut view, Some(0), ACK));
            });
        });
    }
    group.finish();
}

/// Mean bytes of a keyframe and of a delta of the shooter scene of `entities`, over
/// [`TABLE_TICKS`] (the scene renewed as the bench renews it).
fn measure_shooter_sizes(entities: u32) -> (f64, f64) {
    let (mut scene, mut encoder) = primed_shooter(entities);
    let mut view = ClientView::default();
    let (mut keyframe, mut delta) = (0usize, 0usize);
    for _ in 0..TABLE_TICKS {
        // A renewed scene's first frame is a delta of the frame `next_frame` began for it.
        let base = next_frame(&mut scene, &mut encoder);
        let (bytes, kind) = encoder.for_client(None, &mut view, Some(1), ACK);
        assert_eq!(kind, SnapshotKind::Keyframe);
        keyframe += bytes.len();
        let (bytes, kind) = encoder.for_client(Some(base), &mut view, Some(1), ACK);
        assert_eq!(kind, SnapshotKind::Delta);
        delta += bytes.len();
    }
    let mean = |total: usize| total as f64 / f64::from(TABLE_TICKS);
    (mean(keyframe), mean(delta))
}

/// The shooter's encoding, beside the arena's: see the module doc.
fn snapshot_encode_shooter(c: &mut Criterion) {
    eprintln!(
        "
shooter snapshot bytes, mid-round scenes, no view radius, mean over {TABLE_TICKS} \
         ticks (per snapshot / per entity):"
    );
    eprintln!(
        "{:>8} | {:>16} | {:>14} | {:>14}",
        "entities", "keyframe", "delta", "delta/keyframe"
    );
    let sizes: Vec<(u32, (f64, f64))> = SHOOTER_SCENES
        .iter()
        .map(|&(entities, ..)| (entities, measure_shooter_sizes(entities)))
        .collect();
    for &(entities, (keyframe, delta)) in &sizes {
        let n = f64::from(entities);
        eprintln!(
            "{entities:>8} | {keyframe:>8.0} / {:>5.2} | {delta:>6.0} / {:>5.2} | {:>14.3}",
            keyframe / n,
            delta / n,
            delta / keyframe
        );
    }
    eprintln!();

    let mut group = c.benchmark_group("snapshot_encode_shooter");
    for (entities, (keyframe, delta)) in sizes {
        let (mut scene, mut encoder) = primed_shooter(entities);
        let mut view = ClientView::default();
        group.throughput(Throughput::Bytes(keyframe.round() as u64));
        group.bench_function(BenchmarkId::new("keyframe", entities), |b| {
            bench_frames(b, &mut scene, &mut encoder, |encoder, _| {
                black_box(encoder.for_client(None, &mut view, Some(1), ACK));
            });
        });
        group.throughput(Throughput::Bytes(delta.round() as u64));
        group.bench_function(BenchmarkId::new("delta", entities), |b| {
            bench_frames(b, &mut scene, &mut encoder, |encoder, base| {
                black_box(encoder.for_client(Some(base), &mut view, Some(1), ACK));
            });
        });
    }
    group.finish();
}

/// Every client's snapshot of the encoder's current frame; `base` is the tick every
/// client holds, if any. Returns the total bytes.
fn assemble_all(
    encoder: &mut SnapshotEncoder,
    views: &mut [ClientView],
    base: Option<u64>,
) -> usize {
    let mut bytes = 0;
    for (id, view) in views.iter_mut().enumerate() {
        let (snapshot, _) = encoder.for_client(base, view, Some(id as PlayerId), ACK);
        bytes += snapshot.len();
        black_box(snapshot);
    }
    bytes
}

/// Mean bytes per client and players in view, with interest, over [`TABLE_TICKS`] / 2.
fn print_interest_sizes() {
    let ticks = TABLE_TICKS / 2;
    let (mut room, mut encoder) = primed(INTEREST_PLAYERS, Some(VIEW_RADIUS));
    let mut views = vec![ClientView::default(); INTEREST_PLAYERS as usize];
    assemble_all(&mut encoder, &mut views, None);
    let (mut delta, mut keyframe, mut visible) = (0usize, 0usize, 0usize);
    for _ in 0..ticks {
        let base = next_frame(&mut room, &mut encoder);
        // A keyframe of each client's view, to throwaway views, then the real deltas.
        for id in 0..INTEREST_PLAYERS {
            let (bytes, kind) = encoder.for_client(None, &mut ClientView::default(), Some(id), ACK);
            assert_eq!(kind, SnapshotKind::Keyframe);
            keyframe += bytes.len();
        }
        delta += assemble_all(&mut encoder, &mut views, Some(base));
        visible += views.iter().map(|v| v.held().len()).sum::<usize>();
    }
    let per_client = |total: usize| total as f64 / f64::from(ticks * INTEREST_PLAYERS);
    let (delta, keyframe, visible) = (per_client(delta), per_client(keyframe), per_client(visible));
    let shared = measure_sizes(INTEREST_PLAYERS);
    eprintln!(
        "\nsnapshot bytes per client, {INTEREST_PLAYERS} players, bots' walk, mean over {ticks} ticks:"
    );
    eprintln!("  view radius {VIEW_RADIUS}: {visible:.1} players in view (itself included)");
    eprintln!(
        "  with radius:    delta {delta:>8.1} B ({:.2} B per player in view), keyframe of the view {keyframe:>8.1} B",
        delta / visible
    );
    eprintln!(
        "  without radius: delta {:>8.1} B ({:.2} B per player),         keyframe {:>8.1} B",
        shared.delta,
        shared.delta / f64::from(INTEREST_PLAYERS),
        shared.keyframe
    );
    eprintln!(
        "  interest delta / shared delta: {:.4}; all clients' deltas per tick: {:.0} kB with radius, {:.0} kB without\n",
        delta / shared.delta,
        delta * f64::from(INTEREST_PLAYERS) / 1000.0,
        shared.delta * f64::from(INTEREST_PLAYERS) / 1000.0
    );
}

fn snapshot_interest(c: &mut Criterion) {
    print_interest_sizes();
    let mut group = c.benchmark_group("snapshot_interest");

    for (name, radius) in [("begin", Some(VIEW_RADIUS)), ("begin_without_radius", None)] {
        let (mut room, mut encoder) = primed(INTEREST_PLAYERS, radius);
        group.throughput(Throughput::Elements(INTEREST_PLAYERS.into()));
        group.bench_function(BenchmarkId::new(name, INTEREST_PLAYERS), |b| {
            bench_frames(b, &mut room, &mut encoder, |_, _| {});
        });
    }

    let (mut room, mut encoder) = primed(INTEREST_PLAYERS, Some(VIEW_RADIUS));
    let mut views = vec![ClientView::default(); INTEREST_PLAYERS as usize];
    assemble_all(&mut encoder, &mut views, None);
    group.throughput(Throughput::Elements(INTEREST_PLAYERS.into()));
    group.bench_function(BenchmarkId::new("assemble", INTEREST_PLAYERS), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let base = next_frame(&mut room, &mut encoder);
                let start = Instant::now();
                assemble_all(&mut encoder, &mut views, Some(base));
                timed += start.elapsed();
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    snapshot_encode,
    snapshot_interest,
    snapshot_encode_shooter
);
criterion_main!(benches);
