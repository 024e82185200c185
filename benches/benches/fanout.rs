//! Fan-out: one encoded snapshot (a real delta of a 64-player walking room) handed to
//! every player's outbox, and taken out again as the room's write does. The bytes are
//! shared, so each outbox costs a reference count, not a copy.
//!
//! Expected curve: linear in outboxes, and independent of snapshot size.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickwire_benches::walking_delta;
use tickwire_server::outbox::Outbox;

fn fanout(c: &mut Criterion) {
    let (tick, bytes) = walking_delta(64);
    let mut outboxes: Vec<Outbox> = (0..64).map(|_| Outbox::new(256)).collect();
    let mut group = c.benchmark_group("fanout");
    group.throughput(Throughput::Elements(outboxes.len() as u64));
    group.bench_function("snapshot_into_64_outboxes", |b| {
        b.iter(|| {
            for outbox in &mut outboxes {
                outbox.push_snapshot(tick, bytes.clone());
                black_box(outbox.take_snapshot());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
