//! A whole room's tick through its core, as the driver runs it but with no socket: every
//! member's input read and judged (decode, rate limit, validation, sequence filter), the
//! arena stepped, the snapshot encoded once and queued for every member, and every
//! member's outbox written (to nowhere). Once as the server runs by default, once with
//! `--record` on, to show what recording adds to a tick. Making the inputs (the clients'
//! work) is not timed.
//!
//! Expected curve: linear in members. Recording adds one record per input and one world
//! hash per tick, a small constant fraction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use slotmap::SecondaryMap;
use tickwire_benches::{SETTLE_TICKS, Walkers};
use tickwire_server::Config;
use tickwire_server::games::arena::{Arena, ArenaRules};
use tickwire_server::metrics::Metrics;
use tickwire_server::peer::Peer;
use tickwire_server::room::{Links, MemberKey, RoomCore};
use tickwire_server::transport::{Flow, Frame};
use tickwire_shared::{ClientMsg, PlayerInfo, encode_client};
use tracing::Span;

/// Each member's next frame, and writes that go nowhere.
#[derive(Default)]
struct BenchLinks {
    next: SecondaryMap<MemberKey, Bytes>,
}

impl Links for BenchLinks {
    fn read(&mut self, member: MemberKey) -> Option<Frame> {
        self.next.remove(member).map(Frame::Binary)
    }

    fn write(&mut self, _member: MemberKey, peer: &mut Peer) -> Flow {
        peer.take_ping();
        let outbox = peer.outbox();
        outbox.drain_reliable().for_each(drop);
        outbox.take_snapshot();
        Flow::Open
    }
}

/// A room of `members` walking players, settled, and what it needs to go on ticking.
struct Room {
    core: RoomCore<Arena>,
    links: BenchLinks,
    members: Vec<MemberKey>,
    walkers: Walkers,
    start: Instant,
    ticks: u32,
}

impl Room {
    fn new(count: u32, record: bool) -> Self {
        let config = Config::default();
        let mut rules = config.room_rules();
        if record {
            rules.record_segment_bytes = Some(config.record_segment_mib << 20);
        }
        let metrics = Arc::new(Metrics::new());
        let start = Instant::now();
        let mut core = RoomCore::new(
            "bench".into(),
            Arena::new(ArenaRules::default()),
            rules,
            Arc::clone(&metrics),
            start,
        );
        let members = (0..count)
            .map(|id| {
                let mut peer = Peer::new(
                    config.client_rules(),
                    Arc::clone(&metrics),
                    None,
                    Span::none(),
                    start,
                );
                peer.set_player(PlayerInfo {
                    id,
                    name: format!("p{id}"),
                });
                core.handle_join(peer, start).expect("a greeted peer joins")
            })
            .collect();
        let mut room = Self {
            core,
            links: BenchLinks::default(),
            members,
            walkers: Walkers::new(count),
            start,
            ticks: 0,
        };
        for _ in 0..SETTLE_TICKS {
            room.queue_inputs();
            room.tick();
        }
        room
    }

    /// Every member's next input, waiting to be read: the clients' work, not timed.
    fn queue_inputs(&mut self) {
        for (input, &member) in self.walkers.next_inputs().into_iter().zip(&self.members) {
            self.links
                .next
                .insert(member, encode_client(&ClientMsg::Input(input)));
        }
    }

    /// One tick, and the recording handed on as the driver hands it.
    fn tick(&mut self) {
        self.ticks += 1;
        let now = self.start + Duration::from_secs(1) * self.ticks / 60;
        let wall_ms = 1_700_000_000_000 + u64::from(self.ticks) * 16;
        self.core.handle_tick(now, wall_ms, &mut self.links);
        while let Some(chunk) = self.core.take_recording(64 * 1024) {
            drop(chunk);
        }
    }
}

fn room_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_tick");
    for members in [16, 64, 256] {
        group.throughput(Throughput::Elements(members.into()));
        for (name, record) in [("plain", false), ("recording", true)] {
            let mut room = Room::new(members, record);
            group.bench_function(BenchmarkId::new(name, members), |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        room.queue_inputs();
                        let start = Instant::now();
                        room.tick();
                        timed += start.elapsed();
                    }
                    timed
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, room_tick);
criterion_main!(benches);
