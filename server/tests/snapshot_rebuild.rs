//! Rebuilding the room from keyframes and deltas, for thousands of ticks, through the real
//! room.
//!
//! The in-memory harness runs the real lobby, room core, game and snapshot encoder on
//! virtual time, and its clients decode every snapshot with `Replica`, hash checked (what
//! any client does). Players join, walk, leave, drop (their player stays, away) and resume
//! on a new connection; sockets stall at random, so some snapshots are replaced in the
//! outbox before they go out. Invariant, checked after every snapshot a client receives: it
//! applied without error and the client holds exactly the server's state, every player
//! equal field by field, or, with a view radius, exactly the players within the radius.

mod arena;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tickwire_server::Config;
use tickwire_server::games::arena::PLAYER;
use tickwire_server::testing::{ClientId, Harness};
use tickwire_shared::{
    ClientMsg, Entity, Hello, Join, Leave, PROTOCOL_VERSION, PlayerId, ServerMsg,
};

/// xorshift64*: a fixed seed gives the same run every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn angle(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * std::f32::consts::TAU
    }
}

/// A player the run drives: its connection, where it walks, and its next input number.
struct Walker {
    c: ClientId,
    /// `Joined` (or `Resumed`) has arrived: it plays.
    playing: bool,
    angle: f32,
    seq: u32,
}

/// A player whose connection was lost: its token, and its next input number (the room's
/// sequence filter survives the resume).
struct Lost {
    token: String,
    seq: u32,
}

#[derive(Debug, Default)]
struct Tally {
    keyframes: u64,
    deltas: u64,
    replaced: u64,
    checked: u64,
    joins: u64,
    leaves: u64,
    drops: u64,
    resumes: u64,
}

/// What the client `own` should hold after the room's last snapshot: the whole frame, or
/// the part within `radius` of itself (and whatever has no place, seen by all).
fn expected(h: &Harness, own: PlayerId, radius: Option<f32>) -> Vec<Entity> {
    let frame = h.room("r").expect("the room is open").frame();
    let center = frame
        .position(frame.index[&own] as usize)
        .expect("a player has a place");
    let mut out: Vec<Entity> = (0..frame.len())
        .filter(|&i| {
            let id = frame.ids[i];
            match (radius, frame.position(i)) {
                (Some(r), Some(pos)) => id == own || pos.distance(center) <= r,
                _ => true,
            }
        })
        .map(|i| Entity {
            id: frame.ids[i],
            // Every arena entity is a player; a frame of another kind would show as a
            // mismatch with what the client holds.
            kind: PLAYER,
            values: frame.values(i).to_vec(),
        })
        .collect();
    out.sort_by_key(|e| e.id);
    out
}

/// A new connection that greets and joins the room, without waiting.
fn arrive(h: &mut Harness, rng: &mut Rng) -> Walker {
    let c = h.connect();
    h.send(
        c,
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: format!("w{c}"),
        }),
    );
    h.send(
        c,
        ClientMsg::Join(Join {
            room: Some("r".into()),
            key: None,
        }),
    );
    Walker {
        c,
        playing: false,
        angle: rng.angle(),
        seq: 0,
    }
}

fn run(seed: u64, ticks: u64, send_every: u32, radius: Option<f32>) -> Tally {
    let mut rng = Rng(seed);
    let mut h = Harness::new(Config {
        send_every,
        view_radius: radius,
        max_room_players: 128,
        ..Config::default()
    });
    let mut walkers: Vec<Walker> = (0..40).map(|_| arrive(&mut h, &mut rng)).collect();
    let mut lost: Vec<Lost> = Vec::new();
    let mut tally = Tally::default();
    for _ in 0..ticks {
        // Membership changes, between ticks, as clients make them.
        if rng.chance(0.03) && walkers.len() < 60 {
            walkers.push(arrive(&mut h, &mut rng));
            tally.joins += 1;
        }
        if rng.chance(0.02) && walkers.len() > 5 {
            let gone = walkers.swap_remove(rng.below(walkers.len()));
            h.send(gone.c, ClientMsg::Leave(Leave {}));
            tally.leaves += 1;
        }
        if rng.chance(0.02) && walkers.len() > 5 {
            let w = walkers.swap_remove(rng.below(walkers.len()));
            h.reset(w.c);
            if w.playing {
                let token = h.client(w.c).token.clone();
                lost.push(Lost { token, seq: w.seq });
                tally.drops += 1;
            }
        }
        if !lost.is_empty() && rng.chance(0.03) {
            // Back on a new connection: nothing held, nothing sent yet.
            let back = lost.swap_remove(rng.below(lost.len()));
            let c = h.connect();
            h.send(
                c,
                ClientMsg::Resume(tickwire_shared::Resume { token: back.token }),
            );
            walkers.push(Walker {
                c,
                playing: false,
                angle: rng.angle(),
                seq: back.seq,
            });
            tally.resumes += 1;
        }
        for w in walkers.iter_mut().filter(|w| w.playing) {
            w.seq += 1;
            w.angle = (w.angle + (rng.angle() - std::f32::consts::PI) * 0.05)
                .rem_euclid(std::f32::consts::TAU);
            // Now and then a player stands still, so unchanged records are exercised too.
            let dir = if w.seq % 200 < 20 {
                [0.0, 0.0]
            } else {
                [w.angle.cos(), w.angle.sin()]
            };
            h.send(w.c, arena::input_facing(w.seq, dir, w.angle));
        }
        // One socket in ten is full this tick: its snapshot waits, and may be replaced.
        for w in &walkers {
            h.stall(w.c, rng.chance(0.1));
        }
        let tick_before = h.room("r").map_or(0, |r| r.tick());
        h.step();
        let tick = h.room("r").expect("the room stays open").tick();
        if tick == tick_before {
            continue;
        }
        for w in &mut walkers {
            let client = h.client_mut(w.c);
            if !w.playing {
                w.playing = client
                    .take(|m| matches!(m, ServerMsg::Joined(_) | ServerMsg::Resumed(_)))
                    .is_some();
            }
            let client = h.client(w.c);
            let Some(seen) = client.last_snapshot().filter(|s| s.tick == tick) else {
                continue;
            };
            match seen.base_tick {
                None => tally.keyframes += 1,
                Some(_) => tally.deltas += 1,
            }
            let mut held = client.replica.entities().to_vec();
            held.sort_by_key(|e| e.id);
            assert_eq!(
                held,
                expected(&h, client.id, radius),
                "tick {tick}, player {}",
                client.id
            );
            tally.checked += 1;
        }
    }
    tally.replaced = h.metrics().snapshots_dropped.get();
    tally
}

#[test]
fn everyone_holds_the_servers_state_through_churn() {
    let t = run(7, 3_000, 1, None);
    eprintln!("{t:?}");
    assert!(t.checked > 90_000, "checked {}", t.checked);
    // The run really exercised what it claims to. One socket in ten is full at each
    // snapshot, and the snapshot after a replaced one is a keyframe: about one in eight.
    assert!(
        t.deltas > 5 * t.keyframes,
        "{} deltas, {} keyframes",
        t.deltas,
        t.keyframes
    );
    for (what, n) in [
        ("replaced", t.replaced),
        ("joins", t.joins),
        ("leaves", t.leaves),
        ("drops", t.drops),
        ("resumes", t.resumes),
    ] {
        assert!(n > 15, "{what}: only {n}");
    }
}

#[test]
fn deltas_over_several_ticks_rebuild_exactly_too() {
    let t = run(11, 4_500, 3, None);
    eprintln!("{t:?}");
    assert!(t.checked > 50_000 && t.deltas > 5 * t.keyframes, "{t:?}");
}

#[test]
fn each_client_holds_exactly_the_players_in_its_view() {
    // 40 to 60 players in a 2000-unit world: a radius of 400 sees a handful, with
    // players walking in and out of view all the time.
    let t = run(13, 3_000, 1, Some(400.0));
    eprintln!("{t:?}");
    assert!(t.checked > 100_000 && t.deltas > 5 * t.keyframes, "{t:?}");
}

#[test]
fn views_follow_the_exact_radius_as_players_walk_in_and_out_of_it() {
    const RADIUS: f32 = 600.0;
    const PLAYERS: usize = 8;
    let mut h = Harness::new(Config {
        view_radius: Some(RADIUS),
        ..Config::default()
    });
    let clients: Vec<ClientId> = (0..PLAYERS)
        .map(|i| h.join(&format!("p{i}"), Some("view")))
        .collect();
    let (mut compared, mut entered, mut left) = (0, 0, 0);
    let mut before: BTreeMap<ClientId, BTreeSet<PlayerId>> = BTreeMap::new();
    for seq in 1..=240u32 {
        // Everyone walks off in its own direction, turning a little: they pass in and
        // out of each other's view.
        for (i, &c) in clients.iter().enumerate() {
            let turn = i as f32 * std::f32::consts::TAU / PLAYERS as f32 + seq as f32 * 0.01;
            h.send(c, arena::input_facing(seq, [turn.cos(), turn.sin()], turn));
        }
        h.step();
        let frame = h.room("view").expect("open").frame();
        let pos = |id: PlayerId| {
            frame
                .position(frame.index[&id] as usize)
                .expect("a player has a place")
        };
        for &c in &clients {
            let client = h.client(c);
            let held: BTreeSet<PlayerId> = client.replica.entities().iter().map(|e| e.id).collect();
            for &other in &clients {
                let other = h.client(other).id;
                let d = pos(client.id).distance(pos(other));
                assert_eq!(
                    held.contains(&other),
                    d <= RADIUS,
                    "tick {}: player {} and {other} are {d} apart",
                    frame.tick,
                    client.id
                );
                compared += 1;
            }
            if let Some(was) = before.get(&c) {
                entered += held.difference(was).count();
                left += was.difference(&held).count();
            }
            before.insert(c, held);
        }
    }
    assert_eq!(compared, 240 * PLAYERS * PLAYERS);
    assert!(
        entered >= 4 && left >= 4,
        "players should walk in and out of view: {entered} entered, {left} left"
    );
}

#[test]
fn with_send_every_3_inputs_are_still_applied_every_tick_and_counted_snapshots_match() {
    let mut h = Harness::new(Config {
        send_every: 3,
        ..Config::default()
    });
    let a = h.join("a", Some("slow"));
    let _b = h.join("b", Some("slow"));
    for seq in 1..=120 {
        h.send_input(a, seq, [1.0, 0.0]);
        h.step();
    }
    h.run_for(Duration::from_millis(50));
    let client = h.client(a);
    assert!(client.replica.entity(client.id).is_some(), "sees itself");
    assert_eq!(
        client.last_snapshot().and_then(|s| s.acked),
        Some(120),
        "every input applied and acknowledged"
    );
    let deltas = client
        .snapshots
        .iter()
        .filter(|s| s.base_tick.is_some())
        .count();
    assert!(
        deltas >= 35,
        "{deltas} deltas in {} snapshots",
        client.snapshots.len()
    );
    let text = h.metrics().encode();
    let counted = |kind: &str| -> f64 {
        let series = format!("tickwire_snapshots_sent_total{{kind=\"{kind}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    };
    let sent: usize = [a, _b].iter().map(|&c| h.client(c).snapshots.len()).sum();
    assert_eq!(
        counted("keyframe") + counted("delta"),
        sent as f64,
        "every snapshot queued was delivered and counted once"
    );
}
