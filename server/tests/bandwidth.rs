//! Delta snapshots, send rate and interest management over real sockets.
//!
//! Every test client applies every snapshot to a `Replica` and fails on any error,
//! a state hash that does not match the server's included (see `common::Client::recv`),
//! so each test here also checks that what the clients rebuild is the server's state.

#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Client, TestServer};
use tickwire_server::Config;
use tickwire_shared::*;

/// What one client held after one snapshot: its tick, the client's own position, the ids.
type Sighting = (u64, [f32; 2], BTreeSet<PlayerId>);

/// Reads until `ticks` snapshots have been applied, answering each with an input along
/// `angle` (turning a little each time); returns what was held after each: tick, own
/// position, and the ids held.
async fn walk_and_watch(mut c: Client, ticks: usize, angle: f32) -> (Client, Vec<Sighting>) {
    let mut out = Vec::with_capacity(ticks);
    let mut seq = 0;
    while out.len() < ticks {
        if let ServerMsg::Snapshot(s) = c.recv().await {
            let held: BTreeSet<PlayerId> = c.replica.players().iter().map(|p| p.id).collect();
            let me = c.replica.player(c.id).expect("a client always sees itself");
            out.push((s.tick, me.pos(), held));
            seq += 1;
            let turn = angle + seq as f32 * 0.01;
            c.send(ClientMsg::Input(Input {
                seq,
                dir: [turn.cos(), turn.sin()],
                facing: turn,
                buttons: 0,
            }))
            .await;
        }
    }
    (c, out)
}

#[tokio::test]
async fn each_client_receives_exactly_the_players_within_its_radius() {
    const RADIUS: f32 = 600.0;
    const PLAYERS: usize = 8;
    let server = TestServer::start(Config {
        view_radius: Some(RADIUS),
        ..Config::default()
    })
    .await;
    let mut clients = Vec::new();
    for i in 0..PLAYERS {
        let (c, _) = Client::joined(&server, &format!("p{i}"), Some("view")).await;
        clients.push(c);
    }
    // Everyone walks off in its own direction: they pass in and out of each other's view.
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let angle = i as f32 * std::f32::consts::TAU / PLAYERS as f32;
            tokio::spawn(walk_and_watch(c, 240, angle))
        })
        .collect();
    let mut runs = Vec::new();
    for t in tasks {
        runs.push(t.await.unwrap());
    }
    // tick -> (player -> (position, held)), for the ticks every client received.
    type Held = ([f32; 2], BTreeSet<PlayerId>);
    let mut by_tick: BTreeMap<u64, BTreeMap<PlayerId, Held>> = BTreeMap::new();
    for (c, log) in &runs {
        for (tick, pos, held) in log {
            by_tick
                .entry(*tick)
                .or_default()
                .insert(c.id, (*pos, held.clone()));
        }
    }
    let (mut compared, mut entered, mut left) = (0, 0, 0);
    let mut before: BTreeMap<PlayerId, BTreeSet<PlayerId>> = BTreeMap::new();
    for (tick, seen) in by_tick.iter().filter(|(_, s)| s.len() == PLAYERS) {
        for (&id, (pos, held)) in seen {
            for (&other, (other_pos, _)) in seen {
                let d = ((pos[0] - other_pos[0]).powi(2) + (pos[1] - other_pos[1]).powi(2)).sqrt();
                // Rounded positions are within 0.005 of the server's on each axis: a pair
                // this close to the edge could go either way.
                if (d - RADIUS).abs() < 0.02 {
                    continue;
                }
                assert_eq!(
                    held.contains(&other),
                    d <= RADIUS,
                    "tick {tick}: player {id} and {other} are {d} apart"
                );
                compared += 1;
            }
            if let Some(was) = before.get(&id) {
                entered += held.difference(was).count();
                left += was.difference(held).count();
            }
            before.insert(id, held.clone());
        }
    }
    assert!(
        compared > 200 * PLAYERS * PLAYERS,
        "only {compared} pairs compared"
    );
    assert!(
        entered >= 4 && left >= 4,
        "players should walk in and out of view: {entered} entered, {left} left"
    );
    for (c, _) in runs {
        drop(c);
    }
    server.stop().await;
}

#[tokio::test]
async fn snapshots_go_out_every_nth_tick_as_deltas_of_the_one_before() {
    let server = TestServer::start(Config {
        send_every: 3,
        ..Config::default()
    })
    .await;
    let (mut a, _) = Client::joined(&server, "a", Some("slow")).await;
    let (_b, _) = Client::joined(&server, "b", Some("slow")).await;
    let mut last: Option<u64> = None;
    let (mut deltas, mut on_multiples) = (0, 0);
    for seq in 1..=40 {
        let ServerMsg::Snapshot(s) = a.recv_where(|m| matches!(m, ServerMsg::Snapshot(_))).await
        else {
            unreachable!()
        };
        // One snapshot per stretch of 3 ticks: on its multiple of 3, unless the room ran
        // ticks back to back after the OS held it up, then on the tick it reached.
        on_multiples += u32::from(s.tick % 3 == 0);
        if let Some(last) = last {
            assert!(
                s.tick / 3 > last / 3,
                "{} came too soon after {last}",
                s.tick
            );
        }
        if let (Some(base), Some(last)) = (s.base_tick, last) {
            assert_eq!(base, last, "a delta names the snapshot before it");
            deltas += 1;
        }
        last = Some(s.tick);
        a.send(common::input(seq, [1.0, 0.0])).await;
    }
    assert!(deltas >= 35, "{deltas} deltas in 40 snapshots");
    assert!(
        on_multiples >= 30,
        "only {on_multiples} of 40 on a multiple of 3"
    );
    // Inputs are still applied every tick and acknowledged in the next snapshot out.
    let me = a.replica.player(a.id).unwrap();
    assert!(me.last_input_seq >= 35, "acked {}", me.last_input_seq);
    // The server counts what it sent: both clients' first keyframes, then deltas.
    let keyframes = server
        .metric(r#"tickwire_snapshots_sent_total{kind="keyframe"}"#)
        .await;
    let sent_deltas = server
        .metric(r#"tickwire_snapshots_sent_total{kind="delta"}"#)
        .await;
    assert!(keyframes >= 2.0, "{keyframes} keyframes counted");
    assert!(
        sent_deltas >= f64::from(deltas),
        "{sent_deltas} deltas counted"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_watcher_rebuilds_the_room_through_joins_leaves_drops_and_resumes() {
    // 240 Hz: thousands of ticks in a few seconds.
    let server = TestServer::start(Config {
        tick_rate: 240,
        resume_grace_ms: 2_000,
        ..Config::default()
    })
    .await;
    let (watcher, _) = Client::joined(&server, "watcher", Some("churn")).await;
    let watch = tokio::spawn(async move {
        let mut watcher = watcher;
        let (mut snapshots, mut keyframes, mut most) = (0u32, 0u32, 0usize);
        let mut first = None;
        loop {
            match watcher.recv().await {
                // Every snapshot was applied by `recv`, hash checked: the watcher's copy
                // is the server's state, tick after tick.
                ServerMsg::Snapshot(s) => {
                    snapshots += 1;
                    keyframes += u32::from(s.is_keyframe());
                    most = most.max(watcher.replica.players().len());
                    let first = *first.get_or_insert(s.tick);
                    if s.tick - first >= 2_400 {
                        return (snapshots, keyframes, most, watcher);
                    }
                }
                ServerMsg::Error(e) => panic!("watcher got {e:?}"),
                _ => {}
            }
        }
    });
    let mut players: Vec<Client> = Vec::new();
    let mut lost: Vec<String> = Vec::new();
    let (mut joins, mut leaves, mut drops, mut resumes) = (0, 0, 0, 0);
    for round in 0..40u32 {
        match round % 4 {
            0 | 1 => {
                let (mut c, _) = Client::joined(&server, &format!("j{round}"), Some("churn")).await;
                c.send(common::input(1, [0.6, -0.8])).await;
                players.push(c);
                joins += 1;
            }
            2 if !players.is_empty() => {
                // A drop: the player stays, away, and comes back on a new connection.
                let c = players.swap_remove(0);
                lost.push(c.token.clone());
                c.reset();
                drops += 1;
            }
            _ => {
                if let Some(token) = lost.pop() {
                    let (c, answer) = Client::resuming(&server, &token).await;
                    assert!(matches!(answer, ServerMsg::Resumed(_)), "{answer:?}");
                    players.push(c);
                    resumes += 1;
                } else if let Some(mut c) = players.pop() {
                    c.send(ClientMsg::Leave(Leave {})).await;
                    leaves += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (snapshots, keyframes, most, _watcher) = watch.await.unwrap();
    assert!(snapshots >= 2_000, "{snapshots} snapshots");
    assert!(
        keyframes >= 10 && keyframes < snapshots / 10,
        "{keyframes} keyframes"
    );
    assert!(most >= 10, "at most {most} players held");
    assert!(
        joins >= 15 && drops >= 5 && resumes >= 5,
        "{joins} {drops} {resumes}"
    );
    let _ = leaves;
    drop(players);
    server.stop().await;
}
