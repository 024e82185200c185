//! Light bots (`--check-every`) against the real server, started in this process on a free
//! port: one bot in four checks everything, the others only count their snapshots, and
//! every one of them plays, gets its snapshots at about 60 Hz and is in the rate figures,
//! with no error and no hash mismatch in the bots that check.

mod real_server;

use std::time::Duration;

use tickwire_bot::{Game, Report, SwarmConfig, run};

use real_server::{RealServer, metric_reaching, test_config};

/// `bots` bots, one in `every` checking, all connected and clean, with every snapshot
/// either checked or counted.
fn assert_light_swarm_played_cleanly(report: &Report, bots: usize, every: usize) {
    let checked = bots.div_ceil(every);
    assert_eq!(report.bots, bots, "{report}");
    assert_eq!(report.check_every, every, "{report}");
    assert_eq!(report.bots_checked, checked, "{report}");
    assert_eq!(report.bots_light, bots - checked, "{report}");
    assert_eq!(report.connected, bots, "{report}");
    assert_eq!((report.errors, report.disconnects), (0, 0), "{report}");
    assert!(report.passed(), "{report}");
    assert_eq!(
        report.snapshots_checked + report.snapshots_counted_only,
        report.snapshots,
        "{report}"
    );
    let replica = &report.replica;
    assert_eq!(
        replica.keyframes + replica.deltas,
        report.snapshots_checked,
        "only the checking bots decode: {report}"
    );
    assert_eq!(
        (replica.hash_mismatches, replica.replica_errors),
        (0, 0),
        "{report}"
    );
    assert!(replica.applied > 0, "{report}");
    // Every bot, light or not, is in the rate: the lowest is near 60 Hz, not 0.
    assert!(report.snapshot_rate_hz.min > 50.0, "{report}");
    assert!(report.snapshot_rate_hz.mean > 50.0, "{report}");
    // The light bots got about as many snapshots each as the checking ones.
    let per_checked = report.snapshots_checked as f64 / checked as f64;
    let per_light = report.snapshots_counted_only as f64 / (bots - checked) as f64;
    assert!(
        (per_light / per_checked - 1.0).abs() < 0.1,
        "{per_light} against {per_checked}: {report}"
    );
    assert!(report.snapshot_interval_ms.p50 > 10.0, "{report}");
    assert!(report.snapshot_interval_ms.p50 < 25.0, "{report}");
    assert!(report.rtt_ms.p50 > 0.0, "light bots' pongs too: {report}");
    assert!(report.pongs >= bots as u64, "{report}");
    assert!(report.inputs_sent_light > 0, "{report}");
    assert!(report.inputs_acked > 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_bots_with_one_in_four_checking_play_cleanly() -> anyhow::Result<()> {
    let server = RealServer::start(test_config()).await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 40,
        rooms: 2,
        duration: Duration::from_secs(3),
        check_every: 4,
        ..SwarmConfig::default()
    })
    .await?;
    // The server is the witness of the light bots' hand-made frames: it read every one as
    // a message, none malformed, and every bot closed cleanly.
    let messages_in = server.metric("tickwire_messages_in_total").await;
    let malformed = server.metric("tickwire_frames_malformed_total").await;
    let clean = metric_reaching(
        &server,
        r#"tickwire_connections_closed_total{reason="clean"}"#,
        40.0,
    )
    .await;
    server.stop().await;

    assert_light_swarm_played_cleanly(&report, 40, 4);
    assert!(
        messages_in >= report.inputs_sent as f64,
        "{messages_in} messages in for {} inputs sent: {report}",
        report.inputs_sent
    );
    assert_eq!(malformed, 0.0, "{report}");
    assert_eq!(clean, 40.0, "{report}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json())?;
    for key in [
        "bots_checked",
        "bots_light",
        "snapshots_checked",
        "snapshots_counted_only",
    ] {
        assert!(json[key].is_u64(), "{key}: {json}");
    }
    assert_eq!(json["bots_checked"], 10);
    assert!(
        report.to_string().contains("10 bots (one in 4), 30 light"),
        "{report}"
    );
    Ok(())
}

/// The shooter's inputs and events from light bots: the server takes them, and its events
/// are counted without a decode error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_bots_play_the_shooter() -> anyhow::Result<()> {
    let server = RealServer::start(tickwire_server::Config {
        game: "shooter".to_owned(),
        ..test_config()
    })
    .await;
    let report = run(SwarmConfig {
        urls: vec![server.url()],
        bots: 12,
        rooms: 2,
        game: Game::Shooter,
        duration: Duration::from_secs(2),
        check_every: 3,
        ..SwarmConfig::default()
    })
    .await?;
    server.stop().await;
    assert_light_swarm_played_cleanly(&report, 12, 3);
    Ok(())
}

/// Bots on one thread of their own that pauses between polls, as the binary runs them with
/// `--poll-pause-us`: each poll serves the sockets that became ready during the pause, and
/// every bot still gets its snapshots at about 60 Hz, none lost, none misread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_paused_between_polls_play_cleanly() -> anyhow::Result<()> {
    let server = RealServer::start(test_config()).await;
    let cfg = SwarmConfig {
        urls: vec![server.url()],
        bots: 40,
        rooms: 2,
        duration: Duration::from_secs(3),
        check_every: 4,
        poll_pause: Duration::from_millis(2),
        ..SwarmConfig::default()
    };
    let report = tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run(cfg))
    })
    .await??;
    server.stop().await;
    assert_light_swarm_played_cleanly(&report, 40, 4);
    Ok(())
}

#[tokio::test]
async fn a_pause_longer_than_five_ms_is_refused() {
    let refused = run(SwarmConfig {
        poll_pause: Duration::from_millis(6),
        ..SwarmConfig::default()
    })
    .await;
    let err = refused.expect_err("a 6 ms pause must be refused");
    assert!(format!("{err:#}").contains("poll_pause"), "{err:#}");
}
