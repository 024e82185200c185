//! The whole swarm against the real server, started in this process on a free port:
//! 20 bots in 2 rooms for 3 seconds must all connect, see no error, get their snapshots at
//! close to 60 Hz, and measure positive round trips and input acks.

use std::time::Duration;

use tickwire_bot::{SwarmConfig, run};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_in_two_rooms_play_cleanly_at_sixty_hertz() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(tickwire_server::run(
        listener,
        tickwire_server::Config::default(),
        shutdown.clone(),
    ));

    let report = run(SwarmConfig {
        url: format!("ws://{addr}"),
        bots: 20,
        rooms: 2,
        duration: Duration::from_secs(3),
        ramp: Duration::ZERO,
        input_hz: 60.0,
        ping_hz: 2.0,
        progress: false,
    })
    .await?;

    shutdown.cancel();
    server.await??;

    assert_eq!(report.errors, 0, "{report}");
    assert_eq!(report.connected, 20, "{report}");
    assert_eq!(report.failed_to_connect, 0, "{report}");
    assert_eq!(report.disconnects, 0, "{report}");
    assert!(report.passed(), "{report}");
    assert!(report.snapshot_rate_hz.mean > 50.0, "{report}");
    assert!(report.input_ack_ms.p50 > 0.0, "{report}");
    assert!(report.input_ack_ms.p99 > 0.0, "{report}");
    assert!(report.rtt_ms.p50 > 0.0, "{report}");
    assert!(report.rtt_ms.p99 > 0.0, "{report}");
    Ok(())
}
