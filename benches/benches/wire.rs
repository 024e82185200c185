//! The codec on the hot path: encoding a room's snapshot once per tick, and decoding a
//! client's input once per input.
//!
//! Expected curve: snapshot encode is linear in players (about 40 bytes each); input
//! decode is constant.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tickwire_benches::{ROOM_SIZES, inputs, snapshot};
use tickwire_shared::{ClientMsg, encode};

fn snapshot_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_encode");
    for players in ROOM_SIZES {
        let snap = snapshot(players);
        group.throughput(Throughput::Bytes(encode(&snap).len() as u64));
        group.bench_function(BenchmarkId::from_parameter(players), |b| {
            b.iter(|| encode(black_box(&snap)));
        });
    }
    group.finish();
}

fn input_decode(c: &mut Criterion) {
    let frame = encode(&inputs(1, 1234)[0]);
    c.bench_function("input_decode", |b| {
        b.iter(|| ClientMsg::decode(black_box(&frame)).expect("a valid input frame"));
    });
}

criterion_group!(benches, snapshot_encode, input_decode);
criterion_main!(benches);
