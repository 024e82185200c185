//! The whole swarm against the real server, started in this process on a free port:
//! 20 bots in 2 rooms for 3 seconds must all connect, see no error, get their snapshots at
//! close to 60 Hz, and measure positive round trips and input acks. Then the same with
//! chaos (bots dropping and resuming their sessions, losing no input), with chat (every
//! message acknowledged and back to its sender, in order), with tokens against a server
//! that demands them, with a view radius (each bot holding only its neighbours), with
//! misbehaving bots, whose hostility the real server must answer without the honest bots
//! seeing any of it, and playing the shooter, a game of several entity kinds and events
//! the bots know only by its schema. Every run's snapshots must rebuild the server's state
//! in every bot.

mod real_server;

use std::time::Duration;

use clap::Parser as _;
use tickwire_bot::{Game, ReconnectPolicy, Report, SwarmConfig, run};

use real_server::{RealServer, test_config};

/// The server's own flags, to configure it as its command line would.
#[derive(Debug, clap::Parser)]
struct ServerFlags {
    #[command(flatten)]
    config: tickwire_server::Config,
}

/// A server configured by `flags`, as on its command line.
async fn start_with_flags(flags: &[&str]) -> anyhow::Result<RealServer> {
    let args = std::iter::once("tickwire-server").chain(flags.iter().copied());
    Ok(RealServer::start(ServerFlags::try_parse_from(args)?.config).await)
}

/// Every honest bot connected, saw no error and got its snapshots at about 60 Hz, each
/// connection's starting with a keyframe and the rest mostly deltas, every one of which
/// rebuilt the server's state.
fn assert_honest_bots_played_cleanly(report: &Report, bots: usize) {
    assert_eq!(report.bots, bots, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    assert_eq!(report.connected, bots, "{report}");
    assert_eq!(report.failed_to_connect, 0, "{report}");
    assert_eq!(report.disconnects, 0, "{report}");
    assert!(report.passed(), "{report}");
    assert!(report.snapshot_rate_hz.mean > 50.0, "{report}");
    let replica = &report.replica;
    assert_eq!(
        replica.keyframes + replica.deltas,
        report.snapshots,
        "{report}"
    );
    assert!(replica.keyframes >= bots as u64, "{report}");
    assert!(replica.deltas > replica.keyframes, "{report}");
    assert_eq!(
        (
            replica.hash_mismatches,
            replica.replica_errors,
            replica.skipped_after_error
        ),
        (0, 0, 0),
        "{report}"
    );
    // The server knows what went out, so a delta against a missing base is rare.
    assert!(replica.missing_base * 100 <= report.snapshots, "{report}");
    assert!(
        replica.mean_players_held >= 1.0,
        "itself at least: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_in_two_rooms_play_cleanly_at_sixty_hertz() -> anyhow::Result<()> {
    let server = RealServer::start(test_config()).await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 20,
        rooms: 2,
        duration: Duration::from_secs(3),
        ramp: Duration::ZERO,
        input_hz: 60.0,
        ping_hz: 2.0,
        progress: false,
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&report, 20);
    // Everyone sees everyone: ten in each room.
    assert!(
        (report.replica.mean_players_held - 10.0).abs() < 0.5,
        "{report}"
    );
    assert!(report.input_ack_ms.p50 > 0.0, "{report}");
    assert!(report.input_ack_ms.p99 > 0.0, "{report}");
    assert!(report.rtt_ms.p50 > 0.0, "{report}");
    assert!(report.rtt_ms.p99 > 0.0, "{report}");
    assert!(
        report.chaos.is_none() && report.misbehave.is_none(),
        "{report}"
    );
    Ok(())
}

/// Under interest management each bot holds only the players near it, and itself: far
/// fewer than its room, and every snapshot still rebuilds the server's state as players
/// come into view and leave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_view_radius_bots_hold_only_their_neighbours() -> anyhow::Result<()> {
    let server = start_with_flags(&["--view-radius", "300"]).await?;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 20,
        rooms: 1,
        duration: Duration::from_secs(3),
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&report, 20);
    // Spawned at random in a 2000-unit square, a bot has one or two others within 300
    // units on average; the whole room would be 20.
    let held = report.replica.mean_players_held;
    assert!((1.0..10.0).contains(&held), "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_chaos_bots_drop_resume_their_seats_and_lose_no_input() -> anyhow::Result<()> {
    // Recorded, to replay below: the rooms' matches must be deterministic through it all.
    let record = std::env::temp_dir().join(format!("tickwire-chaos-{}", std::process::id()));
    let server = RealServer::start(tickwire_server::Config {
        record: Some(record.clone()),
        ..test_config()
    })
    .await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 10,
        rooms: 2,
        duration: Duration::from_secs(3),
        chaos: 1.5,
        reconnect: ReconnectPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(200),
            max_attempts: 5,
        },
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    let chaos = report.chaos.as_ref().expect("a chaos report");
    assert!(chaos.drops >= 10, "{report}");
    assert_eq!(chaos.reconnect_failures, 0, "{report}");
    assert_eq!(chaos.reconnects + chaos.in_flight, chaos.drops, "{report}");
    assert!(chaos.in_flight <= 10, "{report}");
    assert!(chaos.reconnect_ms.p50 >= 25.0, "{report}");
    assert_honest_bots_played_cleanly(&report, 10);
    assert!(report.inputs_acked > report.inputs_sent / 2, "{report}");
    assert!(chaos.resumes >= 10, "{report}");
    assert_every_drop_resumed_losing_nothing(&report);

    // Every room's recording replays to the same world hash on every tick.
    let mut files: Vec<_> = std::fs::read_dir(&record)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    assert_eq!(files.len(), 2, "one file per room: {files:?}");
    let (mut membership, mut inputs) = (0, 0);
    for file in &files {
        let done = tickwire_server::registry::replay_file(file)
            .map_err(|err| anyhow::anyhow!("{}: {err}", file.display()))?;
        assert!(done.steps >= 150, "{}: {done:?}", file.display());
        membership += done.membership;
        inputs += done.inputs;
    }
    // Ten joins, and drops the rooms saw as lost connections (a drop whose resume came
    // first replaces the half-open connection and changes nothing in the game).
    assert!(membership > 10, "{membership} joins and drops recorded");
    assert!(
        inputs >= report.inputs_acked,
        "{inputs} inputs recorded: {report}"
    );
    std::fs::remove_dir_all(&record)?;
    Ok(())
}

/// Every reconnect was a resume: the server's grace (10 s) is far longer than any
/// reconnection here, so none is refused.
fn assert_every_drop_resumed_losing_nothing(report: &Report) {
    let chaos = report.chaos.as_ref().expect("a chaos report");
    assert_eq!(chaos.failed_resumes, 0, "{report}");
    assert_eq!(chaos.resumes, chaos.reconnects, "{report}");
    assert_eq!(chaos.inputs_lost, 0, "{report}");
    assert_eq!(chaos.ack_regressions, 0, "{report}");
    assert!(chaos.resume_ms.p50 > 0.0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatting_bots_get_every_message_back_in_order() -> anyhow::Result<()> {
    let server = RealServer::start(test_config()).await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 10,
        rooms: 2,
        duration: Duration::from_secs(3),
        // Below the server's 2 a second per player, so nothing is refused.
        chat_rate: 1.5,
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&report, 10);
    let chat = report.chat.as_ref().expect("a chat report");
    assert!(chat.sent >= 10 * 4, "{report}");
    assert!(chat.refused.is_empty(), "{report}");
    assert_eq!(chat.acked + chat.unanswered, chat.sent, "{report}");
    assert!(
        chat.unanswered <= 10,
        "only the deadline cuts one off: {report}"
    );
    assert_eq!((chat.lost, chat.out_of_order), (0, 0), "{report}");
    assert!(chat.echoed + 10 >= chat.acked, "{report}");
    // Five bots to a room: each message reaches them all.
    assert!(chat.received >= 3 * chat.acked, "{report}");
    assert!(chat.ack_ms.p50 > 0.0, "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_and_inputs_survive_chaos() -> anyhow::Result<()> {
    let server = RealServer::start(test_config()).await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 10,
        rooms: 2,
        duration: Duration::from_secs(4),
        chaos: 1.0,
        chat_rate: 1.5,
        reconnect: ReconnectPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(200),
            max_attempts: 5,
        },
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&report, 10);
    assert_every_drop_resumed_losing_nothing(&report);
    let chat = report.chat.as_ref().expect("a chat report");
    // A bot keeps its chat schedule across reconnects, so it never sends faster than
    // 1.5 a second, below the server's limit.
    assert!(chat.refused.is_empty(), "{report}");
    assert_eq!((chat.lost, chat.out_of_order), (0, 0), "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_with_tokens_get_into_a_server_that_demands_them() -> anyhow::Result<()> {
    let server = start_with_flags(&["--auth-secret", "s3cret"]).await?;
    let swarm = |auth_secret: Option<&str>| SwarmConfig {
        urls: vec![server.url()],
        bots: 6,
        rooms: 2,
        duration: Duration::from_secs(2),
        auth_secret: auth_secret.map(str::to_owned),
        ..SwarmConfig::default()
    };
    let with_token = run(swarm(Some("s3cret"))).await?;
    let without = run(swarm(None)).await?;
    let wrong = run(swarm(Some("guess"))).await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&with_token, 6);
    for refused in [&without, &wrong] {
        assert_eq!(refused.failed_to_connect, 6, "{refused}");
        assert!(
            refused.problems.iter().all(|p| p.contains("401")),
            "{refused}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_bots_get_answers_and_the_honest_ones_see_none_of_it() -> anyhow::Result<()> {
    let server = RealServer::start(test_config()).await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 12,
        rooms: 2,
        duration: Duration::from_secs(3),
        misbehave: 0.34,
        reconnect: ReconnectPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
            max_attempts: 5,
        },
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&report, 8);
    // An honest bot sends 60 inputs of about 24 bytes and 2 pings a second.
    assert!(report.bytes_out_per_bot_s < 2500.0, "{report}");
    let bad = report.misbehave.as_ref().expect("a misbehave report");
    assert_eq!((bad.bots, bad.connected, bad.lost), (4, 4, 0), "{report}");
    assert!(bad.frames_sent > 100, "{report}");
    assert!(bad.errors_received.contains_key("1"), "malformed: {report}");
    assert_eq!(bad.reconnect_failures, 0, "{report}");
    let closes: u64 = bad.closes.values().sum();
    assert!(bad.reconnects <= closes, "{report}");
    Ok(())
}

/// Eight bots in one room play the shooter for three seconds: ships, bullets, the score
/// table and the match timer, all decoded from the schema alone, rebuild the server's
/// state on every snapshot, while the bots walk, aim at each other and fire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_bots_play_the_shooter_without_a_hash_mismatch() -> anyhow::Result<()> {
    // Loud, not skipped: a server without the shooter would open no room, and every bot
    // would fail to connect for a reason this says first.
    assert!(
        tickwire_server::registry::find("shooter").is_some(),
        "the server has no game \"shooter\" in tickwire_server::registry::GAMES yet"
    );
    let server = RealServer::start(tickwire_server::Config {
        game: "shooter".to_owned(),
        ..test_config()
    })
    .await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 8,
        rooms: 1,
        game: Game::Shooter,
        duration: Duration::from_secs(3),
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;

    assert_honest_bots_played_cleanly(&report, 8);
    assert_eq!(report.game, "shooter", "{report}");
    assert_eq!(report.replica.hash_mismatches, 0, "{report}");
    // Every ship is a player's; the room's score rows and match are entities too.
    let replica = &report.replica;
    assert!(replica.mean_players_held > 7.0, "{report}");
    assert!(
        replica.mean_entities_held > replica.mean_players_held + 1.0,
        "{report}"
    );
    assert!(report.inputs_acked > report.inputs_sent / 2, "{report}");
    assert!(report.input_ack_ms.p50 > 0.0, "{report}");
    // Hits come only from aimed fire: eight ships in one room score dozens a second.
    assert!(report.game_events > 0, "no hit in three seconds: {report}");
    assert!(
        report.events > 0 && report.events <= report.game_events,
        "{report}"
    );
    Ok(())
}
