//! The whole swarm against the real server, started in this process on a free port:
//! 20 bots in 2 rooms for 3 seconds must all connect, see no error, get their snapshots at
//! close to 60 Hz, and measure positive round trips and input acks. Then the same with
//! chaos (bots dropping and reconnecting) and with misbehaving bots, whose hostility the
//! real server must answer without the honest bots seeing any of it.

use std::net::SocketAddr;
use std::time::Duration;

use tickwire_bot::{ReconnectPolicy, Report, SwarmConfig, run};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A real server on a free port, shut down by [`Server::stop`].
struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(tickwire_server::run(
            listener,
            tickwire_server::Config::default(),
            shutdown.clone(),
        ));
        Ok(Self {
            addr,
            shutdown,
            task,
        })
    }

    fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }
}

/// Every honest bot connected, saw no error and got its snapshots at about 60 Hz.
fn assert_honest_bots_played_cleanly(report: &Report, bots: usize) {
    assert_eq!(report.bots, bots, "{report}");
    assert_eq!(report.errors, 0, "{report}");
    assert_eq!(report.connected, bots, "{report}");
    assert_eq!(report.failed_to_connect, 0, "{report}");
    assert_eq!(report.disconnects, 0, "{report}");
    assert!(report.passed(), "{report}");
    assert!(report.snapshot_rate_hz.mean > 50.0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_bots_in_two_rooms_play_cleanly_at_sixty_hertz() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let report = run(SwarmConfig {
        url: server.url(),
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
    server.stop().await?;

    assert_honest_bots_played_cleanly(&report, 20);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_chaos_bots_drop_and_come_back_to_their_rooms() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let report = run(SwarmConfig {
        url: server.url(),
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
    server.stop().await?;

    let chaos = report.chaos.as_ref().expect("a chaos report");
    assert!(chaos.drops >= 10, "{report}");
    assert_eq!(chaos.reconnect_failures, 0, "{report}");
    assert_eq!(chaos.reconnects + chaos.in_flight, chaos.drops, "{report}");
    assert!(chaos.in_flight <= 10, "{report}");
    assert!(chaos.reconnect_ms.p50 >= 25.0, "{report}");
    assert_honest_bots_played_cleanly(&report, 10);
    assert!(report.inputs_acked > report.inputs_sent / 2, "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_bots_get_answers_and_the_honest_ones_see_none_of_it() -> anyhow::Result<()> {
    let server = Server::start().await?;
    let report = run(SwarmConfig {
        url: server.url(),
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
    server.stop().await?;

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
