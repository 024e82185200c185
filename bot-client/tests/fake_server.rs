//! The swarm against a small fake server in this process, which can misbehave on purpose:
//! pins what the bots measure and count (errors by kind, disconnects, failed connects,
//! drops and reconnects, what misbehaving bots provoke) without depending on the real
//! server's behaviour. Like the real one, it answers bad frames with `Error` messages and
//! closes on text (1003) and oversize (1009) frames.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tickwire_bot::{ReconnectPolicy, Report, SwarmConfig, run};
use tickwire_shared::{
    ClientMsg, Error, ErrorCode, Joined, PlayerState, Pong, ServerMsg, Snapshot, Welcome,
    encode_server,
};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// The real server's default frame limit.
const MAX_FRAME: usize = 4096;

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

/// What the fake server saw, over all its connections.
#[derive(Debug, Default)]
struct Seen {
    /// Connections that ended with a TCP reset rather than a close or a FIN.
    resets: AtomicU32,
}

/// Starts the fake server; returns its URL.
async fn fake_server(behaviour: Behaviour) -> String {
    fake_server_seeing(behaviour).await.0
}

/// Starts the fake server; returns its URL and what it sees.
async fn fake_server_seeing(behaviour: Behaviour) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("local address"));
    let next_id = Arc::new(AtomicU32::new(1));
    let seen = Arc::new(Seen::default());
    let seen_by_server = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(tcp, id, behaviour, Arc::clone(&seen_by_server)));
        }
    });
    (url, seen)
}

fn frame(msg: ServerMsg) -> Message {
    Message::Binary(encode_server(&msg))
}

fn error(code: ErrorCode, in_reply_to: Option<u8>) -> Message {
    frame(ServerMsg::Error(Error {
        code,
        message: "fake says no".into(),
        in_reply_to,
    }))
}

fn close(code: u16) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: "fake closes".into(),
    }))
}

/// Counts a reset, whether a read or a write met it.
fn note_reset(seen: &Seen, e: &tungstenite::Error) {
    if let tungstenite::Error::Io(io) = e {
        if io.kind() == std::io::ErrorKind::ConnectionReset {
            seen.resets.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn serve(tcp: tokio::net::TcpStream, id: u32, behaviour: Behaviour, seen: Arc<Seen>) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let mut last_input_seq = 0;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / 60.0));
    let mut greeted = false;
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
                if let Err(e) = tx.send(frame(ServerMsg::Snapshot(snapshot))).await {
                    note_reset(&seen, &e);
                    return;
                }
            }
            msg = rx.next() => {
                let bytes = match msg {
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Text(_))) => {
                        let _ = tx.send(close(1003)).await;
                        return;
                    }
                    Some(Err(e)) => {
                        note_reset(&seen, &e);
                        return;
                    }
                    _ => return,
                };
                if bytes.len() > MAX_FRAME {
                    let _ = tx.send(close(1009)).await;
                    return;
                }
                let msg = match ClientMsg::decode(&bytes) {
                    Ok(msg) => msg,
                    Err(e) => {
                        if tx.send(error(e.code(), e.kind())).await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                let kind = Some(msg.kind());
                let reply = match msg {
                    ClientMsg::Hello(_) if greeted => error(ErrorCode::BAD_STATE, kind),
                    ClientMsg::Hello(_) => {
                        greeted = true;
                        frame(ServerMsg::Welcome(Welcome {
                            player_id: id,
                            tick_rate: 60,
                            protocol_version: tickwire_shared::PROTOCOL_VERSION,
                        }))
                    }
                    ClientMsg::Join(_) if joined => error(ErrorCode::NOT_IN_ROOM, kind),
                    ClientMsg::Join(_) if behaviour.refuse_join => frame(ServerMsg::Error(Error {
                        code: ErrorCode::ROOM_FULL,
                        message: "no space".into(),
                        in_reply_to: Some(1),
                    })),
                    ClientMsg::Join(join) => {
                        joined = true;
                        // Each join starts a fresh input sequence.
                        last_input_seq = 0;
                        if let Some(after) = behaviour.close_after {
                            close_at.as_mut().reset(tokio::time::Instant::now() + after);
                        }
                        let room = join.room.expect("the bots name their room");
                        let reply = frame(ServerMsg::Joined(Joined { room, players: vec![] }));
                        if tx.send(reply).await.is_err() {
                            return;
                        }
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
                    ClientMsg::Input(_) if !joined => error(ErrorCode::NOT_IN_ROOM, kind),
                    ClientMsg::Input(input)
                        if !(input.dir[0].is_finite()
                            && input.dir[1].is_finite()
                            && input.facing.is_finite()) =>
                    {
                        error(ErrorCode::INVALID_VALUE, kind)
                    }
                    ClientMsg::Input(input) => {
                        last_input_seq = last_input_seq.max(input.seq);
                        continue;
                    }
                    ClientMsg::Ping(ping) => frame(ServerMsg::Pong(Pong {
                        client_time: ping.client_time,
                        server_tick: 1,
                    })),
                    ClientMsg::Leave(_) if joined => {
                        joined = false;
                        continue;
                    }
                    ClientMsg::Leave(_) => error(ErrorCode::NOT_IN_ROOM, kind),
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
        ..SwarmConfig::default()
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

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_drops_bots_abruptly_and_brings_them_back() {
    let (url, seen) = fake_server_seeing(Behaviour::default()).await;
    let r = run(SwarmConfig {
        chaos: 2.0,
        // 200 to 400 ms between a drop and the next attempt: far longer than any snapshot
        // interval here, so an interval measured across a reconnect would show in the max.
        reconnect: ReconnectPolicy {
            base: ms(400),
            cap: ms(400),
            max_attempts: 3,
        },
        duration: ms(2000),
        ..config(url, 6)
    })
    .await
    .expect("a usable configuration");
    let chaos = r.chaos.as_ref().expect("a chaos report");
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
    // Each drop was a reset, not a polite close.
    assert_eq!(
        u64::from(seen.resets.load(Ordering::Relaxed)),
        chaos.drops,
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_bots_are_answered_and_kept_out_of_the_honest_figures() {
    let url = fake_server(Behaviour::default()).await;
    let r = run(SwarmConfig {
        misbehave: 0.5,
        reconnect: ReconnectPolicy {
            base: ms(20),
            cap: ms(100),
            max_attempts: 5,
        },
        duration: ms(3000),
        ..config(url, 8)
    })
    .await
    .expect("a usable configuration");

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
    for code in bad.closes.keys() {
        assert!(["1003", "1009"].contains(&code.as_str()), "{r}");
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
