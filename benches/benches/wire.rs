//! The codec on the hot path: decoding a client's input, once per input (60 a second per
//! player). Snapshot encoding has its own bench, `snapshot`.
//!
//! Expected curve: constant (one small MessagePack array, no allocation).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tickwire_benches::Walkers;
use tickwire_shared::{ClientMsg, encode};

fn input_decode(c: &mut Criterion) {
    // A walker's 1234th input: its sequence number takes two bytes, as most do.
    let mut walkers = Walkers::new(1);
    let mut inputs = Vec::new();
    for _ in 0..1234 {
        walkers.fill_next_inputs(&mut inputs);
    }
    let frame = encode(&inputs[0]);
    c.bench_function("input_decode", |b| {
        b.iter(|| ClientMsg::decode(black_box(&frame)).expect("a valid input frame"));
    });
}

criterion_group!(benches, input_decode);
criterion_main!(benches);
