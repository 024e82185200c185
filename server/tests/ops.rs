//! The operator's view over real sockets: the admin endpoint's health, rooms and metrics
//! over HTTP, `/healthz` turning to draining once shutdown begins, and peers turned away
//! before the upgrade counted by reason.
//!
//! These stay over real sockets because they are about the transport: an HTTP endpoint on
//! its own port, and refusals that happen in the TCP and HTTP handshake, before there is a
//! connection for the harness to model. How each connection's end is counted is the
//! server's logic, on the harness in `connection_ends.rs`.

mod common;

use common::{Client, TestServer};
use tickwire_server::Config;
use tickwire_server::testing::http_get_with_head;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite;

fn refused(reason: &str) -> String {
    format!("tickwire_connections_refused_total{{reason=\"{reason}\"}}")
}

#[tokio::test]
async fn admin_endpoint_serves_health_rooms_and_metrics() {
    let server = TestServer::start(Config::default()).await;
    let (mut a1, _) = Client::joined(&server, "a1", Some("alpha")).await;
    let (a2, _) = Client::joined(&server, "a2", Some("alpha")).await;
    let (b1, _) = Client::joined(&server, "b1", Some("beta")).await;
    let lobby = Client::greeted(&server, "idle").await;
    a1.recv_snapshot().await;

    assert_eq!(server.admin_get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.admin_get("/nope").await.0, 404);

    let (status, body) = server.admin_get("/rooms").await;
    assert_eq!(status, 200);
    let rooms: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        rooms,
        serde_json::json!([
            {"id": "alpha", "players": 2, "capacity": 64, "private": false},
            {"id": "beta", "players": 1, "capacity": 64, "private": false},
        ])
    );

    let (status, text) = server.admin_get("/metrics").await;
    assert_eq!(status, 200);
    let value = |series: &str| common::metric_value(&text, series);
    assert_eq!(value("tickwire_rooms"), 2.0);
    assert_eq!(value("tickwire_players"), 3.0);
    assert_eq!(value("tickwire_connections_open"), 4.0);
    assert_eq!(value("tickwire_connections_accepted_total"), 4.0);
    assert!(value("tickwire_ticks_total") > 0.0);
    assert!(value("tickwire_tick_duration_seconds_count") > 0.0);
    assert!(
        value("tickwire_messages_in_total") >= 7.0,
        "3 joins, 4 hellos"
    );
    assert!(value("tickwire_messages_out_total") > 7.0);
    assert!(value("tickwire_bytes_in_total") > 0.0);
    assert!(value("tickwire_bytes_out_total") > value("tickwire_bytes_in_total"));
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    // Hung up, so that the shutdown does not wait out its grace for replies nobody sends.
    drop((a1, a2, b1, lobby));
    server.stop().await;
}

#[tokio::test]
async fn healthz_reports_draining_once_shutdown_begins() {
    // A client that does not answer the close keeps the server draining (and its admin
    // endpoint up) for as long as the grace, or until it hangs up.
    let server = TestServer::start(Config {
        shutdown_grace_ms: 3_000,
        ..Config::default()
    })
    .await;
    let (silent, _) = Client::joined(&server, "silent", Some("r")).await;
    assert_eq!(server.admin_get("/healthz").await, (200, "ok\n".into()));
    // The endpoint reads the shutdown token itself: draining from the moment it is cancelled.
    server.shutdown.cancel();
    assert_eq!(
        server.admin_get("/healthz").await,
        (503, "draining\n".into())
    );
    drop(silent);
    server.stop().await;
}

/// On paused time: waiting out the handshake timeout is the point, and the clock jumps to
/// it as soon as nothing else is ready. Loopback bytes are readable as soon as they are
/// written, so a jump never cuts short a handshake under way.
#[tokio::test(start_paused = true)]
async fn refused_peers_are_counted_by_reason() {
    let server = TestServer::start(Config {
        max_connections_per_ip: 1,
        limit_loopback: true,
        handshake_timeout_ms: 200,
        ..Config::default()
    })
    .await;
    let first = Client::connect(&server).await;
    match tokio_tungstenite::connect_async(server.url()).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected a 429 refusal, got {other:?}"),
    }
    server.await_metric(&refused("per_ip"), 1.0).await;
    drop(first);
    server.await_metric("tickwire_connections_open", 0.0).await;

    // A peer that opens TCP and never finishes the handshake.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    server
        .await_metric(&refused("handshake_timeout"), 1.0)
        .await;
    assert_eq!(
        server.metric("tickwire_connections_accepted_total").await,
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn the_admin_endpoint_tells_pages_the_game_port_and_serves_the_playground() {
    let dir = std::env::temp_dir().join(format!("tickwire-playground-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>tw</title>").unwrap();
    std::fs::write(dir.join("assets/play.js"), "export {};\n").unwrap();
    let server = TestServer::start(Config {
        game: "shooter".into(),
        playground: Some(dir.clone()),
        ..Config::default()
    })
    .await;

    let (status, body) = server.admin_get("/info").await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        info,
        serde_json::json!({
            "game": "shooter",
            "game_port": server.addr.port(),
            "tick_rate": 60,
            "send_every": 1,
            "protocol_version": tickwire_shared::PROTOCOL_VERSION,
        })
    );
    let (head, body) = http_get_with_head(server.admin_addr, "/").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert_eq!(body, "<!doctype html><title>tw</title>");
    let (head, body) = http_get_with_head(server.admin_addr, "/assets/play.js").await;
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert_eq!(body, "export {};\n");
    // The admin's own paths win over files, and nothing outside the folder is served.
    assert_eq!(server.admin_get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.admin_get("/missing.js").await.0, 404);
    assert_eq!(server.admin_get("/../Cargo.toml").await.0, 404);
    server.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn without_a_playground_only_the_admin_paths_are_served() {
    let server = TestServer::start(Config::default()).await;
    assert_eq!(server.admin_get("/").await.0, 404);
    assert_eq!(server.admin_get("/info").await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn rooms_are_spread_over_the_room_threads_by_members_and_shown_per_thread() {
    let config = Config {
        threads: Some(2),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let members = |thread: usize| format!("tickwire_room_thread_members{{thread=\"{thread}\"}}");
    // Two players open "big" on the first thread (the fewest members at a tie)...
    let (mut a, _) = Client::joined(&server, "a", Some("big")).await;
    let (_b, _) = Client::joined(&server, "b", Some("big")).await;
    a.recv_snapshot().await;
    server.await_metric(&members(0), 2.0).await;
    // ...so the next two rooms open on the second, whose one member is still fewer.
    let (_c, _) = Client::joined(&server, "c", Some("small")).await;
    server.await_metric(&members(1), 1.0).await;
    let (_d, _) = Client::joined(&server, "d", Some("other")).await;
    server.await_metric(&members(1), 2.0).await;
    assert_eq!(server.metric(&members(0)).await, 2.0);
    // A member that leaves is taken off its thread's count.
    drop(a);
    server.await_metric(&members(0), 1.0).await;
    server.stop().await;
}
