//! The operator's view over real sockets: the admin endpoint's health, rooms and metrics,
//! and that every connection that ends and every peer turned away is counted by reason.

mod common;

use std::time::Duration;

use common::{Client, TestServer, WAIT, input};
use futures::SinkExt;
use tickwire_server::Config;
use tickwire_shared::*;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::{self, Message};

fn closed(reason: &str) -> String {
    format!("tickwire_connections_closed_total{{reason=\"{reason}\"}}")
}

fn refused(reason: &str) -> String {
    format!("tickwire_connections_refused_total{{reason=\"{reason}\"}}")
}

/// Polls the metrics until `series` reaches `want`.
async fn await_metric(server: &TestServer, series: &str, want: f64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = server.metric(series).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} is {got}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn admin_endpoint_serves_health_rooms_and_metrics() {
    let server = TestServer::start(Config::default()).await;
    let (mut a1, _) = Client::joined(&server, "a1", Some("alpha")).await;
    let (_a2, _) = Client::joined(&server, "a2", Some("alpha")).await;
    let (_b1, _) = Client::joined(&server, "b1", Some("beta")).await;
    let _lobby = Client::greeted(&server, "idle").await;
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
    server.stop().await;
}

#[tokio::test]
async fn healthz_reports_draining_once_shutdown_begins() {
    // A long grace and a client that never answers the close keep the server draining.
    let server = TestServer::start(Config {
        shutdown_grace_ms: 3_000,
        ..Config::default()
    })
    .await;
    let (_silent, _) = Client::joined(&server, "silent", Some("r")).await;
    server.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server.admin_get("/healthz").await,
        (503, "draining\n".into())
    );
    server.stop().await;
}

#[tokio::test]
async fn every_ended_connection_is_counted_once_by_reason() {
    let server = TestServer::start(Config {
        idle_timeout_ms: 300,
        ping_interval_ms: 100,
        max_message_bytes: 256,
        ..Config::default()
    })
    .await;

    // Clean: the client closes.
    let (mut clean, _) = Client::joined(&server, "clean", Some("r")).await;
    clean.ws.close(None).await.unwrap();
    while clean.next_frame().await.is_some() {}

    // Abnormal: the TCP connection is reset without a close frame.
    let (abrupt, _) = Client::joined(&server, "abrupt", Some("r")).await;
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = abrupt.ws.into_inner() else {
        unreachable!()
    };
    socket2::SockRef::from(&tcp)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(tcp);

    // Bad input: a text frame, and a protocol version we do not speak.
    let (mut texter, _) = Client::joined(&server, "texter", Some("r")).await;
    texter.ws.send(Message::text("hi")).await.unwrap();
    assert_eq!(texter.recv_close().await.0, 1003);
    let mut old = Client::connect(&server).await;
    old.send(ClientMsg::Hello(Hello {
        version: 0,
        name: "old".into(),
    }))
    .await;
    assert_eq!(old.recv_close().await.0, 1002);

    // Oversize.
    let (mut big, _) = Client::joined(&server, "big", Some("r")).await;
    big.send_raw(vec![0x90; 1000]).await;
    assert_eq!(big.recv_close().await.0, 1009);

    // Timeout: a client that is never polled, so it never answers the server's pings.
    let _mute = Client::greeted(&server, "mute").await;

    await_metric(&server, &closed("clean"), 1.0).await;
    await_metric(&server, &closed("abnormal"), 1.0).await;
    await_metric(&server, &closed("bad_input"), 2.0).await;
    await_metric(&server, &closed("oversize"), 1.0).await;
    await_metric(&server, &closed("timeout"), 1.0).await;
    // Each ended connection was counted once, and none is counted twice.
    let text = server.admin_get("/metrics").await.1;
    let total: f64 = [
        "clean",
        "abnormal",
        "bad_input",
        "oversize",
        "timeout",
        "flood",
        "slow",
    ]
    .iter()
    .map(|r| common::metric_value(&text, &closed(r)))
    .sum();
    assert_eq!(total, 6.0);
    assert_eq!(
        common::metric_value(&text, "tickwire_connections_accepted_total"),
        6.0
    );
    assert_eq!(
        common::metric_value(&text, "tickwire_connections_open"),
        0.0
    );
    server.stop().await;
}

#[tokio::test]
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
    await_metric(&server, &refused("per_ip"), 1.0).await;
    drop(first);
    await_metric(&server, "tickwire_connections_open", 0.0).await;

    // A peer that opens TCP and never finishes the handshake.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    await_metric(&server, &refused("handshake_timeout"), 1.0).await;
    assert_eq!(
        server.metric("tickwire_connections_accepted_total").await,
        1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_flood_is_closed_and_counted() {
    let server = TestServer::start(Config {
        stall_timeout_ms: 300,
        ..Config::default()
    })
    .await;
    let (mut flooder, _) = Client::joined(&server, "flooder", Some("r")).await;
    let sender = tokio::spawn(async move {
        for seq in 1..=5_000 {
            if flooder
                .ws
                .feed(Message::binary(
                    encode_client(&input(seq, [1.0, 0.0])).to_vec(),
                ))
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = flooder.ws.flush().await;
        flooder
    });
    let mut flooder = sender.await.unwrap();
    let (code, reason) = flooder.recv_close().await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("flood"), "{reason}");
    await_metric(&server, &closed("flood"), 1.0).await;
    assert!(
        server
            .metric("tickwire_messages_rate_limited_total{kind=\"input\"}")
            .await
            > 0.0
    );
    server.stop().await;
}
