//! The `tickwire-server` binary as an operator runs it: it drains on SIGTERM and exits 0,
//! exits at once on a second signal, writes JSON logs when asked, and replays recordings,
//! failing on one that differs.

#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test

mod common;

use std::process::Command;
use std::time::Duration;

use common::process::Process;
use common::{Client, http_get};

#[tokio::test]
async fn sigterm_drains_with_1001_and_exits_zero() {
    let mut server = Process::start(&["--shutdown-grace-ms", "2000"]);
    let target = server.target();
    let (mut player, _) = Client::joined(&target, "p", Some("r")).await;
    player.recv_snapshot().await;
    let mut lobby = Client::greeted(&target, "l").await;
    assert_eq!(http_get(server.admin, "/healthz").await.0, 200);

    server.signal("TERM");
    // Both clients are told why, and answering the close lets the server finish early.
    for client in [&mut player, &mut lobby] {
        let (code, reason) = client.recv_close().await;
        assert_eq!(code, 1001);
        assert_eq!(reason, "server shutting down");
        while client.next_frame().await.is_some() {}
    }
    let (code, took) = server.wait_exit(Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_millis(1500), "drained in {took:?}");
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    // A client that never answers the close would hold the drain for the whole grace.
    let mut server = Process::start(&["--shutdown-grace-ms", "60000"]);
    let (_mute, _) = Client::joined(&server.target(), "mute", Some("r")).await;
    server.signal("TERM");
    // The first signal has been taken once the health check says so.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while http_get(server.admin, "/healthz").await.0 != 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never began draining"
        );
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "still draining after the first signal"
    );
    server.signal("INT");
    let (code, _) = server.wait_exit(Duration::from_secs(3));
    assert_eq!(code, Some(130));
}

#[tokio::test]
async fn json_logs_carry_the_connection_fields() {
    let mut server = Process::start(&["--log-format", "json"]);
    let mut c = Client::greeted(&server.target(), "logged").await;
    c.ws.close(None).await.unwrap();
    while c.next_frame().await.is_some() {}
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).0, Some(0));
    let logs = server.stderr();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let closed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "connection closed")
        .unwrap_or_else(|| panic!("no close logged in:\n{logs}"));
    assert_eq!(closed["fields"]["reason"], "clean");
    assert_eq!(closed["level"], "INFO");
    assert!(
        closed["span"]["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(closed["span"]["player"].is_number());
}

#[test]
fn replay_checks_every_recording_and_fails_on_one_that_differs() {
    use tickwire_server::Config;
    use tickwire_server::testing::Harness;

    // A short match recorded in memory, written as the server writes it.
    let mut h = Harness::new(Config::default());
    h.record(64 << 20);
    let a = h.join("a", Some("r"));
    let _b = h.join("b", Some("r"));
    for seq in 1..=120 {
        let turn = seq as f32 * 0.05;
        h.send_input(a, seq, [turn.cos(), turn.sin()]);
        h.step();
    }
    let file = h.recording("r").remove(0);
    let dir = std::env::temp_dir().join(format!("tickwire-replay-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.twr");
    std::fs::write(&good, &file).unwrap();
    // The same with the last step's hash changed: the replay must name that tick.
    let mut bad_bytes = file.clone();
    let last = bad_bytes.len() - 1;
    bad_bytes[last] ^= 1;
    let bad = dir.join("bad.twr");
    std::fs::write(&bad, &bad_bytes).unwrap();

    let replay = |files: &[&std::path::Path]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tickwire-server"))
            .arg("replay")
            .args(files)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, out) = replay(&[&good]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("every tick's world hash matches"), "{out}");
    let (code, out) = replay(&[&good, &bad]);
    assert_eq!(code, Some(1), "{out}");
    let tick = h.room("r").unwrap().tick();
    assert!(out.contains(&format!("tick {tick} differs")), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
