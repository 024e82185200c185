//! The bot swarm over a real cluster: three `tickwire-server` processes and a real
//! `redis-server` on loopback, the bots spread over the three URLs and their rooms
//! spread so that most bots reach a node that does not run their room. Every join
//! succeeds and every snapshot checks; a node killed mid-run has every one of its players
//! playing again elsewhere; Redis stopped for 10 s mid-run does not cost a room a tick.

#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use tickwire_bot::{Report, SwarmConfig, run};

/// 60 bots in 4 rooms: with 3 nodes, bot `i` reaches node `i % 3` and room `i % 4`, so
/// two bots in three are sent to another node.
fn swarm(cluster: &Cluster, secs: u64) -> SwarmConfig {
    SwarmConfig {
        urls: cluster.urls(),
        bots: 60,
        rooms: 4,
        duration: Duration::from_secs(secs),
        ramp: Duration::from_secs(1),
        input_hz: 60.0,
        ping_hz: 2.0,
        progress: false,
        check_every: 1,
        ..SwarmConfig::default()
    }
}

fn assert_clean(report: &Report) {
    assert_eq!(report.connected, report.bots, "{:?}", report.problems);
    assert_eq!(report.errors, 0, "{:?}", report.errors_by_kind);
    assert_eq!(report.replica.hash_mismatches, 0);
    assert_eq!(report.replica.missing_base, 0);
}

/// Seats taken in the rooms of the node whose admin endpoint is `admin`.
async fn players_on(cluster: &Cluster, node: usize) -> usize {
    let (_, body) = cluster.node(node).admin_get("/rooms").await;
    let rooms: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    rooms
        .iter()
        .map(|r| r["players"].as_u64().unwrap() as usize)
        .sum()
}

#[tokio::test]
async fn every_join_over_three_nodes_succeeds_and_every_snapshot_checks() {
    let cluster = Cluster::start();
    let report = run(swarm(&cluster, 5)).await.unwrap();
    assert_clean(&report);
    assert_eq!(report.joins_direct + report.joins_redirected, 60);
    assert_eq!(report.joins_redirected, 40, "rooms live on other nodes");
    assert_eq!(report.claims, 40);
    assert!(
        report.snapshot_rate_hz.mean >= 59.0,
        "{:?}",
        report.snapshot_rate_hz
    );
}

#[tokio::test]
async fn a_killed_nodes_bots_are_all_playing_again_elsewhere() {
    let cluster = Cluster::start();
    let swarm = tokio::spawn(run(swarm(&cluster, 9)));
    // Once every bot plays (1 s ramp), kill the node that runs the most.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let (victim, its_players) = loop {
        let mut counts = Vec::new();
        for i in 0..3 {
            counts.push(players_on(&cluster, i).await);
        }
        if counts.iter().sum::<usize>() == 60 {
            let (i, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n).unwrap();
            break (i, *n);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all bots seated: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.nodes[victim].signal("KILL");
    let report = swarm.await.unwrap().unwrap();
    assert_clean(&report);
    assert!(its_players > 0);
    assert!(
        report.reseated >= its_players as u64,
        "{} of the killed node's {its_players} bots were seated again",
        report.reseated
    );
    // A bot that could not get back would have counted a reconnect error (assert_clean).
    println!(
        "re-seat after kill -9 of a node with {its_players} bots: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        report.reseat_ms.p50, report.reseat_ms.p99, report.reseat_ms.max
    );
}

#[tokio::test]
async fn rooms_keep_sixty_hertz_while_redis_is_stopped_for_ten_seconds() {
    let mut cluster = Cluster::start();
    let swarm = tokio::spawn(run(swarm(&cluster, 14)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.redis.kill();
    tokio::time::sleep(Duration::from_secs(10)).await;
    cluster.redis.restart();
    let report = swarm.await.unwrap().unwrap();
    assert_clean(&report);
    assert_eq!(report.disconnects, 0);
    assert!(
        report.snapshot_rate_hz.mean >= 59.5,
        "{:?}",
        report.snapshot_rate_hz
    );
    assert!(
        report.snapshot_rate_hz.min >= 59.0,
        "{:?}",
        report.snapshot_rate_hz
    );
}
