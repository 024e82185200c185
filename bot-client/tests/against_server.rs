//! The swarm against the real server, started in this process: pins what the bots measure
//! and count (errors by kind, disconnects, failed connects, drops, resumes and reconnects,
//! re-sent inputs, chat acks, lost and disordered chat, tokens, what misbehaving bots
//! provoke, keyframes and deltas and what became of them).
//!
//! Every situation the real server can make is made by the server, through its
//! configuration: a refused join (no room may open), refused resumes (no resume grace),
//! refused chats (a low chat limit), tokens (a secret). The faults a correct server never
//! makes (a wrong state hash, a snapshot that never arrives, junk, an early close, chat
//! messages held back, skipped or swapped, acks held back) are made by a tampering proxy in
//! front of the real server ([`tamper`]). Where a test needs a witness besides the bot, it
//! is the server's own `/metrics` when the server knows (how its connections ended), and
//! the proxy's counts of what passed otherwise (tokens presented, inputs sent again,
//! resumes answered, chats refused, what it spoiled).

mod real_server;
mod tamper;

use std::time::Duration;

use tickwire_bot::{Game, ReconnectPolicy, Report, SwarmConfig, run};
use tickwire_server::Config;
use tokio::net::TcpListener;

use real_server::{RealServer, metric_reaching, test_config};
use tamper::{Proxy, Spoil, Tamper, count};

fn config(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        urls: vec![url],
        bots,
        rooms: 2,
        duration: Duration::from_millis(1500),
        ramp: Duration::from_millis(100),
        input_hz: 60.0,
        ping_hz: 4.0,
        progress: false,
        ..SwarmConfig::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs the swarm `swarm` makes of a URL against a real server with `config`.
async fn against(config: Config, swarm: impl FnOnce(String) -> SwarmConfig) -> Report {
    let server = RealServer::start(config).await;
    let report = run(swarm(server.url()))
        .await
        .expect("a usable configuration");
    server.stop().await;
    report
}

/// Runs the swarm `swarm` makes of a URL through a proxy that treats the frames of a real
/// server with `config` by `tamper`; returns the report, and the proxy for what it saw.
async fn through_proxy(
    config: Config,
    tamper: Tamper,
    swarm: impl FnOnce(String) -> SwarmConfig,
) -> (Report, Proxy) {
    let server = RealServer::start(config).await;
    let proxy = Proxy::start(server.addr, tamper).await;
    let report = run(swarm(proxy.url()))
        .await
        .expect("a usable configuration");
    server.stop().await;
    (report, proxy)
}

/// A keyframe for everyone every 30 snapshots, half a second: a spoiled delta's
/// consequences end well within a run.
fn keyframes_twice_a_second() -> Config {
    Config {
        keyframe_interval: 30,
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_server_gets_a_clean_report() {
    let r = against(test_config(), |url| config(url, 6)).await;
    assert!(r.passed(), "{r}");
    assert_eq!((r.bots, r.connected, r.failed_to_connect), (6, 6, 0), "{r}");
    assert_eq!((r.errors, r.disconnects), (0, 0), "{r}");
    assert!(r.snapshot_rate_hz.mean > 50.0, "{r}");
    assert!(r.snapshot_rate_hz.min > 40.0, "{r}");
    assert!(r.snapshot_interval_ms.p50 > 10.0, "{r}");
    assert!(r.rtt_ms.p50 > 0.0 && r.rtt_ms.p99 >= r.rtt_ms.p50, "{r}");
    assert!(r.input_ack_ms.p50 > 0.0, "{r}");
    assert!(r.inputs_acked > r.inputs_sent / 2, "{r}");
    assert!(r.pongs >= 6 * 5, "{r}");
    // Deltas of three walking players are some 20 bytes or more, at no less than 50 a
    // second; inputs some 15 or more, at 60.
    assert!(r.bytes_in_per_bot_s > 50.0 * 20.0, "{r}");
    assert!(r.bytes_out_per_bot_s > 60.0 * 15.0, "{r}");
    assert!(r.chaos.is_none() && r.chat.is_none(), "{r}");

    // Every snapshot rebuilt the server's room: a keyframe first and once a second for
    // everyone, deltas between, all applied.
    let replica = &r.replica;
    assert_eq!(replica.keyframes + replica.deltas, r.snapshots, "{r}");
    assert_eq!(replica.applied, r.snapshots, "{r}");
    assert!(replica.keyframes >= 6 * 2, "{r}");
    assert!(replica.deltas > replica.keyframes * 20, "{r}");
    assert_eq!(
        (
            replica.hash_mismatches,
            replica.missing_base,
            replica.skipped_after_error,
            replica.replica_errors
        ),
        (0, 0, 0, 0),
        "{r}"
    );
    // Three bots to a room; fewer only while the room fills during the ramp.
    assert!(
        replica.mean_players_held > 2.7 && replica.mean_players_held <= 3.0,
        "{r}"
    );
    // Snapshots are most of what comes in; a delta costs much less than a keyframe, though
    // with three players the head they share (ticks, time, hash) is much of either.
    let snapshot_bytes = replica.keyframe_bytes_per_bot_per_s + replica.delta_bytes_per_bot_per_s;
    assert!(snapshot_bytes < r.bytes_in_per_bot_s, "{r}");
    assert!(snapshot_bytes > r.bytes_in_per_bot_s * 0.8, "{r}");
    let per_keyframe = replica.keyframe_bytes_per_bot_per_s / replica.keyframes as f64;
    let per_delta = replica.delta_bytes_per_bot_per_s / replica.deltas as f64;
    assert!(per_delta < per_keyframe * 2.0 / 3.0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_with_a_wrong_state_hash_is_a_mismatch_and_fails_the_run() {
    let (r, proxy) = through_proxy(
        keyframes_twice_a_second(),
        Tamper {
            spoil: Some(Spoil::WrongHash { nth: 10 }),
            ..Tamper::default()
        },
        |url| config(url, 1),
    )
    .await;
    let seen = proxy.seen();
    let spoiled = seen.spoiled_ticks.lock().expect("ticks").clone();
    let [tick] = spoiled[..] else {
        panic!("one delta spoiled, not {spoiled:?}: {r}");
    };
    assert!(!r.passed(), "{r}");
    let replica = &r.replica;
    assert_eq!(replica.hash_mismatches, 1, "{r}");
    assert_eq!(r.broken_promises(), 1, "{r}");
    assert_eq!(r.errors_by_kind.get("replica"), Some(&1), "{r}");
    assert_eq!(r.errors, 1, "{r}");
    let problem = format!("bot-0: replica: delta of tick {tick}: state hash");
    assert!(r.problems.iter().any(|p| p.starts_with(&problem)), "{r}");
    // The copy is dropped: the deltas up to the next keyframe cannot apply, and are the
    // mismatch's cost, not missing bases. After the keyframe all is well again.
    let orphans = count(&seen.orphaned_deltas);
    assert!(
        orphans > 0,
        "the next keyframe is not the next snapshot: {r}"
    );
    assert_eq!(replica.skipped_after_error, orphans, "{r}");
    assert_eq!(
        (replica.missing_base, replica.replica_errors),
        (0, 0),
        "{r}"
    );
    assert!(replica.keyframes >= 2, "{r}");
    assert_eq!(replica.applied, r.snapshots - 1 - orphans, "{r}");
    assert_eq!(r.connected, 1, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_against_a_base_the_bot_lacks_is_a_missing_base_not_an_error() {
    let (r, proxy) = through_proxy(
        keyframes_twice_a_second(),
        Tamper {
            spoil: Some(Spoil::Lose { nth: 10 }),
            ..Tamper::default()
        },
        |url| config(url, 2),
    )
    .await;
    let seen = proxy.seen();
    assert_eq!(seen.spoiled_ticks.lock().expect("ticks").len(), 2, "{r}");
    assert!(r.passed(), "{r}");
    assert_eq!((r.errors, r.broken_promises()), (0, 0), "{r}");
    let replica = &r.replica;
    // A delta lost on the way to each bot: the server, which sent it, bases the deltas
    // after it on it, and each of those is a missing base until the next keyframe. The
    // bots keep their copies meanwhile, and nothing else goes wrong.
    let orphans = count(&seen.orphaned_deltas);
    assert!(orphans >= 2, "{r}");
    assert_eq!(replica.missing_base, orphans, "{r}");
    assert_eq!(
        (
            replica.hash_mismatches,
            replica.skipped_after_error,
            replica.replica_errors
        ),
        (0, 0, 0),
        "{r}"
    );
    assert_eq!(replica.applied, r.snapshots - orphans, "{r}");
    assert!(r.inputs_acked > r.inputs_sent / 2, "{r}");
    let summary = format!("hash mismatches 0, missing base {orphans}, other errors 0");
    assert!(r.to_string().contains(&summary), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_and_early_closes_are_counted() {
    let (r, _) = through_proxy(
        test_config(),
        Tamper {
            junk_after_joined: true,
            close_after_joined: Some(ms(300)),
            ..Tamper::default()
        },
        |url| config(url, 4),
    )
    .await;
    assert!(!r.passed(), "{r}");
    assert_eq!(r.connected, 4, "{r}");
    assert_eq!(r.disconnects, 4, "{r}");
    for kind in ["server_error", "text_frame", "decode"] {
        assert_eq!(r.errors_by_kind.get(kind), Some(&4), "{kind}: {r}");
    }
    // The proxy closes politely, so nothing but the planted junk is an error.
    assert_eq!(r.errors, 12, "{r}");
    assert!(r.problems.iter().any(|p| p.contains("just because")), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_join_is_a_failed_connect() {
    let r = against(
        Config {
            max_rooms: 0,
            ..test_config()
        },
        |url| config(url, 3),
    )
    .await;
    assert!(!r.passed(), "{r}");
    assert_eq!((r.connected, r.failed_to_connect), (0, 3), "{r}");
    assert_eq!(r.errors_by_kind.get("connect"), Some(&3), "{r}");
    assert!(r.problems[0].contains("too many rooms open"), "{r}");
}

/// Bots told to play another game than the server's still decode every snapshot (the
/// schema alone does it) but send no input, and each connection says why, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_of_another_game_decode_the_room_but_say_their_inputs_do_not_fit() {
    let r = against(test_config(), |url| SwarmConfig {
        game: Game::Shooter,
        ..config(url, 3)
    })
    .await;
    assert!(!r.passed(), "{r}");
    assert_eq!((r.connected, r.errors), (3, 3), "{r}");
    assert_eq!(r.errors_by_kind.get("schema"), Some(&3), "{r}");
    assert!(
        r.problems[0].contains(
            "the shooter bots need an input field \"aim\" of type angle, but the server's game \
             \"arena\" has input fields [dx (float), dy (float), facing (angle), buttons (int)]"
        ),
        "{r}"
    );
    assert_eq!((r.inputs_sent, r.game.as_str()), (0, "shooter"), "{r}");
    let replica = &r.replica;
    assert!(r.snapshots > 3 * 50, "{r}");
    assert_eq!(replica.applied, r.snapshots, "{r}");
    assert_eq!((replica.hash_mismatches, replica.no_schema), (0, 0), "{r}");
}

#[tokio::test]
async fn nobody_listening_fails_fast() {
    // Bind and drop to find a port nothing listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let started = std::time::Instant::now();
    let r = run(config(format!("ws://{addr}"), 3))
        .await
        .expect("a usable configuration");
    assert!(!r.passed(), "{r}");
    assert_eq!(r.failed_to_connect, 3, "{r}");
    assert!(started.elapsed() < Duration::from_secs(5), "{r}");
}

#[tokio::test]
async fn a_bad_configuration_is_an_error() {
    let cfg = SwarmConfig {
        rooms: 0,
        ..SwarmConfig::default()
    };
    assert!(run(cfg).await.is_err());
}

/// Chaos with a slow reconnect: 200 to 400 ms between a drop and the next attempt, far
/// longer than any snapshot interval, so an interval measured across a reconnect would
/// show in the max.
fn chaos(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        chaos: 2.0,
        reconnect: ReconnectPolicy {
            base: ms(400),
            cap: ms(400),
            max_attempts: 3,
        },
        duration: ms(2000),
        ..config(url, bots)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_drops_bots_abruptly_and_brings_them_back() {
    let server = RealServer::start(test_config()).await;
    let r = run(chaos(server.url(), 6))
        .await
        .expect("a usable configuration");
    let chaos = r.chaos.as_ref().expect("a chaos report");
    // Each drop was a reset, not a polite close, as the server saw it. So is a reconnection
    // the deadline cut short after it had connected.
    let resets = metric_reaching(
        &server,
        r#"tickwire_connections_closed_total{reason="abnormal"}"#,
        chaos.drops as f64,
    )
    .await as u64;
    server.stop().await;
    assert!(
        resets >= chaos.drops && resets <= chaos.drops + chaos.in_flight,
        "{resets} resets: {r}"
    );
    assert!(chaos.drops >= 6, "{r}");
    assert_eq!(chaos.reconnect_failures, 0, "{r}");
    // Every drop ends back in the room, unless the deadline cut its reconnection short.
    assert_eq!(chaos.reconnects + chaos.in_flight, chaos.drops, "{r}");
    assert!(chaos.in_flight <= 6, "{r}");
    assert!(chaos.reconnect_ms.p50 >= 200.0, "{r}");
    assert!(chaos.reconnect_ms.max >= chaos.reconnect_ms.p50, "{r}");

    // Drops on purpose are not errors, nor disconnects by the server.
    assert!(r.passed(), "{r}");
    assert_eq!(
        (r.bots, r.connected, r.errors, r.disconnects),
        (6, 6, 0, 0),
        "{r}"
    );
    // Intervals are measured within one connection, and the rate leaves the gaps out.
    assert!(r.snapshot_interval_ms.max < 190.0, "{r}");
    assert!(r.snapshot_rate_hz.mean > 50.0, "{r}");
    assert!(r.snapshot_rate_hz.min > 40.0, "{r}");
    assert!(r.inputs_acked > r.inputs_sent / 2, "{r}");
    // Each new connection starts with a keyframe: nothing is missing, nothing fails.
    assert!(r.replica.keyframes >= 6 + chaos.reconnects, "{r}");
    assert_eq!(
        (r.replica.missing_base, r.replica.applied),
        (0, r.snapshots),
        "{r}"
    );
}

/// Snapshots held back by 100 ms, six ticks: the inputs of the last six ticks before a
/// drop were applied and not yet acknowledged, and a resumed bot sends them again.
fn acks_held_back() -> Tamper {
    Tamper {
        hold_snapshots: Some(ms(100)),
        ..Tamper::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_bot_resumes_with_its_newest_token_and_resends_what_was_not_acked() {
    let (r, proxy) = through_proxy(test_config(), acks_held_back(), |url| chaos(url, 6)).await;
    let seen = proxy.seen();
    let chaos = r.chaos.as_ref().expect("a chaos report");
    assert!(r.passed(), "{r}");
    assert!(chaos.drops >= 6, "{r}");
    // Every reconnect was a resume, with the player's newest token (the Welcome's, then
    // each Resumed's), as its first message: the server, which spends each token it takes,
    // refused none. A bot whose Resumed the deadline cut off may have been taken back
    // unbeknownst to it.
    assert_eq!(
        (chaos.failed_resumes, chaos.reconnects),
        (0, chaos.resumes),
        "{r}"
    );
    assert!(chaos.resumes >= 6, "{r}");
    let taken_back = count(&seen.resumed);
    assert!(
        taken_back >= chaos.resumes && taken_back <= chaos.resumes + chaos.in_flight,
        "{taken_back} taken back: {r}"
    );
    assert_eq!(count(&seen.resumes_refused), 0, "{r}");
    assert!(chaos.resume_ms.p50 >= 200.0, "{r}");
    assert_eq!(chaos.resume_ms.max, chaos.reconnect_ms.max, "{r}");

    // Each drop leaves applied inputs unacknowledged: the bot sends them again, with their
    // own numbers, after those it sent before. No number is ever skipped, and none is lost.
    let repeated = count(&seen.repeated_inputs);
    assert!(repeated >= chaos.resumes, "{repeated} repeated: {r}");
    assert!(chaos.inputs_resent >= repeated, "{repeated} repeated: {r}");
    assert_eq!(count(&seen.input_gaps), 0, "{r}");
    assert_eq!((chaos.inputs_lost, chaos.ack_regressions), (0, 0), "{r}");
    // Only a reconnection the deadline cut short leaves a player behind.
    if chaos.in_flight == 0 {
        assert_eq!(chaos.inputs_abandoned, 0, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_resume_falls_back_to_hello_and_join() {
    // No grace: a player whose connection is lost leaves at once, and its token with it.
    let no_grace = Config {
        resume_grace_ms: 0,
        ..test_config()
    };
    let (r, proxy) = through_proxy(no_grace, acks_held_back(), |url| chaos(url, 6)).await;
    let seen = proxy.seen();
    let chaos = r.chaos.as_ref().expect("a chaos report");
    // A refusal is no error: the bot is back, as a new player.
    assert!(r.passed(), "{r}");
    assert!(chaos.drops >= 6, "{r}");
    assert_eq!(
        (chaos.resumes, chaos.reconnects),
        (0, chaos.failed_resumes),
        "{r}"
    );
    assert!(chaos.failed_resumes >= 6, "{r}");
    let refused = count(&seen.resumes_refused);
    assert!(
        refused >= chaos.failed_resumes && refused <= chaos.failed_resumes + chaos.in_flight,
        "{refused} refused: {r}"
    );
    assert_eq!(count(&seen.resumed), 0, "{r}");
    // Nothing is re-sent to a new player; the old one's unacked inputs are abandoned.
    assert_eq!(
        (chaos.inputs_resent, count(&seen.repeated_inputs)),
        (0, 0),
        "{r}"
    );
    assert!(chaos.inputs_abandoned > 0, "{r}");
    assert_eq!(chaos.inputs_lost, 0, "{r}");
}

/// Chat at 10 a second per bot.
fn chatty(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        chat_rate: 10.0,
        ..config(url, bots)
    }
}

/// A server whose chat limit (20 a second, bursts of 20) refuses nothing of [`chatty`]
/// bots.
fn chat_server() -> Config {
    Config {
        chat_rate: 20,
        chat_burst: 20,
        ..test_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_are_acked_and_come_back_in_order() {
    let r = against(chat_server(), |url| chatty(url, 4)).await;
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(r.passed(), "{r}");
    assert_eq!(chat.rate, 10.0);
    // 1.5 s at 10 a second, the first at once.
    assert!(chat.sent >= 4 * 14, "{r}");
    assert!(chat.refused.is_empty(), "{r}");
    assert_eq!(chat.acked + chat.unanswered, chat.sent, "{r}");
    // Only the deadline leaves a chat unanswered, or its message unread.
    assert!(chat.unanswered <= 4, "{r}");
    assert!(chat.echoed + 4 >= chat.acked, "{r}");
    assert_eq!((chat.lost, chat.out_of_order), (0, 0), "{r}");
    assert!(
        chat.ack_ms.p50 > 0.0 && chat.ack_ms.p99 >= chat.ack_ms.p50,
        "{r}"
    );
    // Two bots to a room: each sees its own messages and the other's, but those the
    // deadline cut off.
    assert!(chat.received + 4 >= 2 * chat.echoed, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_chats_are_counted_by_reason() {
    // Five chats a second, no burst: about every other chat of a bot is refused.
    let strict = Config {
        chat_rate: 5,
        chat_burst: 1,
        ..test_config()
    };
    let (r, proxy) = through_proxy(strict, Tamper::default(), |url| chatty(url, 4)).await;
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(r.passed(), "refusals are answers, not failures: {r}");
    let refused = chat.refused.get("rate_limited").copied().unwrap_or(0);
    assert_eq!(chat.refused.len(), 1, "the server's one reason: {r}");
    assert_eq!(chat.acked + refused + chat.unanswered, chat.sent, "{r}");
    assert!(refused > 0 && chat.acked > 0, "{r}");
    // Every refusal the server sent is counted, but those the deadline cut off.
    let sent_back = count(&proxy.seen().chats_refused);
    assert!(
        refused <= sent_back && sent_back <= refused + chat.unanswered,
        "{sent_back} refused by the server: {r}"
    );
    assert_eq!(chat.lost, 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_missing_or_out_of_order_fail_the_run() {
    let (r, proxy) = through_proxy(
        chat_server(),
        Tamper {
            skip_own_chat_every: Some(3),
            swap_own_chat: true,
            ..Tamper::default()
        },
        |url| chatty(url, 4),
    )
    .await;
    let seen = proxy.seen();
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(!r.passed(), "{r}");
    let skipped = count(&seen.own_chats_skipped);
    let swapped = count(&seen.own_chats_swapped);
    // Skipped in the last second of the run are still in flight, not lost.
    assert!(
        chat.lost >= 1 && chat.lost <= skipped,
        "{skipped} skipped: {r}"
    );
    assert!(
        chat.out_of_order >= 1 && chat.out_of_order <= swapped,
        "{swapped} swapped: {r}"
    );
    assert_eq!(r.broken_promises(), chat.lost + chat.out_of_order, "{r}");
    assert_eq!(r.errors, 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_cut_off_by_a_drop_comes_back_in_the_history_after_resumed() {
    let (r, proxy) = through_proxy(
        chat_server(),
        Tamper {
            hold_chat: Some(ms(150)),
            ..Tamper::default()
        },
        |url| SwarmConfig {
            chaos: 3.0,
            reconnect: ReconnectPolicy {
                base: ms(20),
                cap: ms(40),
                max_attempts: 3,
            },
            duration: ms(2500),
            ..chatty(url, 4)
        },
    )
    .await;
    let chaos = r.chaos.as_ref().expect("a chaos report");
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(chaos.resumes >= 4, "{r}");
    // Messages were cut off by drops, and the histories brought every one back, each
    // counted once and none out of order on its connection.
    assert!(count(&proxy.seen().own_chats_cut_off) > 4, "{r}");
    assert_eq!((chat.lost, chat.out_of_order), (0, 0), "{r}");
    assert!(
        chat.received > chat.echoed,
        "histories repeat messages: {r}"
    );
    assert!(r.passed(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bot_presents_its_own_token() {
    let server = Config {
        auth_secret: Some("s3cret".into()),
        ..test_config()
    };
    // A URL with a query of its own gets the token after `&`.
    let (r, proxy) = through_proxy(server, Tamper::default(), |url| SwarmConfig {
        auth_secret: Some("s3cret".into()),
        misbehave: 0.25,
        ..config(format!("{url}/?lobby=1"), 4)
    })
    .await;
    // The server took every token: everyone is in.
    assert!(r.passed(), "{r}");
    assert_eq!(r.connected, 3, "{r}");
    assert_eq!(r.misbehave.as_ref().map(|m| m.connected), Some(1), "{r}");
    let mut tokens = proxy.seen().tokens.lock().expect("tokens").clone();
    tokens.sort();
    tokens.dedup();
    assert_eq!(
        tokens,
        vec![
            ("bot-0".into(), "bot-0".into()),
            ("bot-1".into(), "bot-1".into()),
            ("bot-2".into(), "bot-2".into()),
            ("bot-3".into(), "rogue-3".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_the_wrong_secret_is_refused() {
    let r = against(
        Config {
            auth_secret: Some("s3cret".into()),
            ..test_config()
        },
        |url| SwarmConfig {
            auth_secret: Some("guess".into()),
            ..config(url, 2)
        },
    )
    .await;
    assert_eq!((r.connected, r.failed_to_connect), (0, 2), "{r}");
    assert!(r.problems[0].contains("401"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_bots_are_answered_and_kept_out_of_the_honest_figures() {
    let r = against(test_config(), |url| SwarmConfig {
        misbehave: 0.5,
        reconnect: ReconnectPolicy {
            base: ms(20),
            cap: ms(100),
            max_attempts: 5,
        },
        duration: ms(3000),
        ..config(url, 8)
    })
    .await;

    // The honest half saw a clean server and only their own traffic.
    assert!(r.passed(), "{r}");
    assert_eq!(
        (r.bots, r.connected, r.errors, r.disconnects),
        (4, 4, 0, 0),
        "{r}"
    );
    assert!(r.snapshot_rate_hz.mean > 50.0, "{r}");
    // 60 inputs of about 24 bytes and 4 pings a second: floods would be far above this.
    assert!(r.bytes_out_per_bot_s < 2500.0, "{r}");
    assert!(r.chaos.is_none(), "{r}");

    let bad = r.misbehave.as_ref().expect("a misbehave report");
    assert_eq!((bad.bots, bad.connected, bad.lost), (4, 4, 0), "{r}");
    assert!(bad.frames_sent > 100, "{r}");
    let errors: u64 = bad.errors_received.values().sum();
    assert!(errors > 0, "{r}");
    assert!(
        bad.errors_received.contains_key("1"),
        "malformed frames: {r}"
    );
    let closes: u64 = bad.closes.values().sum();
    assert!(closes > 0, "{r}");
    // The codes PROTOCOL.md gives a misbehaving client: unsupported data (a text frame),
    // policy (floods, falling behind) and too big.
    for code in bad.closes.keys() {
        assert!(["1003", "1008", "1009"].contains(&code.as_str()), "{r}");
    }
    // Each close is followed by a reconnect, unless the deadline came first.
    assert!(
        bad.reconnects <= closes && bad.reconnects + 4 >= closes,
        "{r}"
    );
    assert_eq!(bad.reconnect_failures, 0, "{r}");
    let acts: u64 = bad.acts.values().sum();
    assert!(acts >= 8, "{r}");
    let text = r.to_string();
    assert!(text.contains("misbehaving bots  4"), "{text}");
}
