//! The swarm against a small fake server in this process, which can misbehave on purpose:
//! pins what the bots measure and count (errors by kind, disconnects, failed connects)
//! without depending on the real server's behaviour.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tickwire_bot::{Report, SwarmConfig, run};
use tickwire_shared::{
    ClientMsg, Error, ErrorCode, Joined, PlayerState, Pong, ServerMsg, Snapshot, Welcome,
    encode_server,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// How the fake server treats each client once it has joined.
#[derive(Debug, Clone, Copy, Default)]
struct Behaviour {
    /// Answer the join with an `Error` instead of `Joined`.
    refuse_join: bool,
    /// Right after `Joined`, send an `Error`, a text frame and an undecodable binary frame.
    send_junk: bool,
    /// Close the connection this long after `Joined`.
    close_after: Option<Duration>,
}

/// Starts the fake server; returns its URL.
async fn fake_server(behaviour: Behaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("local address"));
    let next_id = Arc::new(AtomicU32::new(1));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(tcp, id, behaviour));
        }
    });
    url
}

fn frame(msg: ServerMsg) -> Message {
    Message::Binary(encode_server(&msg))
}

async fn serve(tcp: tokio::net::TcpStream, id: u32, behaviour: Behaviour) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let mut last_input_seq = 0;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / 60.0));
    let mut joined = false;
    let close_at = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(close_at);
    loop {
        tokio::select! {
            () = &mut close_at, if joined => {
                let _ = tx.send(Message::Close(None)).await;
                return;
            }
            _ = ticks.tick(), if joined => {
                let snapshot = Snapshot {
                    tick: 1,
                    server_time_ms: 0,
                    players: vec![PlayerState {
                        id,
                        pos: [0.0; 2],
                        vel: [0.0; 2],
                        facing: 0.0,
                        last_input_seq,
                    }],
                };
                if tx.send(frame(ServerMsg::Snapshot(snapshot))).await.is_err() {
                    return;
                }
            }
            msg = rx.next() => {
                let Some(Ok(Message::Binary(bytes))) = msg else { return };
                let reply = match ClientMsg::decode(&bytes).expect("the bots send valid frames") {
                    ClientMsg::Hello(_) => frame(ServerMsg::Welcome(Welcome {
                        player_id: id,
                        tick_rate: 60,
                        protocol_version: tickwire_shared::PROTOCOL_VERSION,
                    })),
                    ClientMsg::Join(_) if behaviour.refuse_join => frame(ServerMsg::Error(Error {
                        code: ErrorCode::ROOM_FULL,
                        message: "no space".into(),
                        in_reply_to: Some(1),
                    })),
                    ClientMsg::Join(join) => {
                        joined = true;
                        if let Some(after) = behaviour.close_after {
                            close_at.as_mut().reset(tokio::time::Instant::now() + after);
                        }
                        tx.send(frame(ServerMsg::Joined(Joined {
                            room: join.room.expect("the bots name their room"),
                            players: vec![],
                        })))
                        .await
                        .expect("send Joined");
                        if behaviour.send_junk {
                            tx.feed(frame(ServerMsg::Error(Error {
                                code: ErrorCode::INVALID_VALUE,
                                message: "just because".into(),
                                in_reply_to: None,
                            })))
                            .await
                            .expect("feed");
                            tx.feed(Message::text("hello?")).await.expect("send junk");
                            tx.feed(Message::Binary(vec![0xc1].into())).await.expect("send junk");
                            tx.flush().await.expect("send junk");
                        }
                        continue;
                    }
                    ClientMsg::Input(input) => {
                        last_input_seq = input.seq;
                        continue;
                    }
                    ClientMsg::Ping(ping) => frame(ServerMsg::Pong(Pong {
                        client_time: ping.client_time,
                        server_tick: 1,
                    })),
                    ClientMsg::Leave(_) => continue,
                };
                if tx.send(reply).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn config(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        url,
        bots,
        rooms: 2,
        duration: Duration::from_millis(1500),
        ramp: Duration::from_millis(100),
        input_hz: 60.0,
        ping_hz: 4.0,
        progress: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_server_gets_a_clean_report() {
    let url = fake_server(Behaviour::default()).await;
    let r: Report = run(config(url, 6)).await.expect("send junk");
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
    assert!(r.bytes_in_per_bot_s > 60.0 * 20.0, "{r}");
    assert!(r.bytes_out_per_bot_s > 60.0 * 15.0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_and_early_closes_are_counted() {
    let url = fake_server(Behaviour {
        send_junk: true,
        close_after: Some(Duration::from_millis(300)),
        ..Behaviour::default()
    })
    .await;
    let r = run(config(url, 4)).await.expect("send junk");
    assert!(!r.passed(), "{r}");
    assert_eq!(r.connected, 4, "{r}");
    assert_eq!(r.disconnects, 4, "{r}");
    for kind in ["server_error", "text_frame", "decode"] {
        assert_eq!(r.errors_by_kind.get(kind), Some(&4), "{kind}: {r}");
    }
    // The fake server drops its sockets abruptly, so a bot that was sending at that
    // moment may also see a reset (a `websocket` error) on top of the three planted ones.
    let planted = 12;
    let resets = r.errors_by_kind.get("websocket").copied().unwrap_or(0);
    assert_eq!(r.errors, planted + resets, "{r}");
    assert!(resets <= 4, "{r}");
    assert!(r.problems.iter().any(|p| p.contains("just because")), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_join_is_a_failed_connect() {
    let url = fake_server(Behaviour {
        refuse_join: true,
        ..Behaviour::default()
    })
    .await;
    let r = run(config(url, 3)).await.expect("send junk");
    assert!(!r.passed(), "{r}");
    assert_eq!((r.connected, r.failed_to_connect), (0, 3), "{r}");
    assert_eq!(r.errors_by_kind.get("connect"), Some(&3), "{r}");
    assert!(r.problems[0].contains("no space"), "{r}");
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
        .expect("send junk");
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
