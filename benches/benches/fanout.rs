//! Fan-out: one encoded snapshot handed to every player's outbox, and taken out again as
//! the room's write does. The bytes are shared, so each outbox costs a reference count,
//! not a copy.
//!
//! Expected curve: linear in outboxes, and independent of snapshot size.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickwire_benches::snapshot;
use tickwire_server::outbox::Outbox;
use tickwire_shared::encode;

fn fanout(c: &mut Criterion) {
    let bytes = encode(&snapshot(64));
    let mut outboxes: Vec<Outbox> = (0..64).map(|_| Outbox::new(256)).collect();
    let mut group = c.benchmark_group("fanout");
    group.throughput(Throughput::Elements(outboxes.len() as u64));
    group.bench_function("snapshot_into_64_outboxes", |b| {
        b.iter(|| {
            for outbox in &mut outboxes {
                outbox.push_snapshot(bytes.clone());
                black_box(outbox.take_snapshot());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
