//! A connection flood cannot slow a room: while 1,000 peers hold half-finished handshakes
//! and 3,000 connections are opened as fast as they can be from 50 loopback addresses
//! (127.0.0.2-127.0.0.51, so the per-address limit is no defence), an honest player in a
//! room of the real binary, run with its default flags, gets at least 59 snapshots in every
//! second.
//!
//! The server is a process of its own, so that its front thread (accepting, handshakes,
//! the lobby) and its room threads are scheduled as in production; the attacker runs on a
//! thread of its own in this process, and the honest player on the test's runtime.

#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::honest::Honest;
use common::process::Process;
use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{ClientMsg, Hello, PROTOCOL_VERSION, encode_client};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// Full WebSocket connections the flood opens.
const FLOOD: usize = 3_000;
/// Peers that send part of an upgrade request and then nothing.
const HALF_OPEN: usize = 1_000;
/// Source addresses: 127.0.0.2 and the 49 after it.
const SOURCES: u8 = 50;
/// Connection attempts the flood keeps under way at once.
const IN_FLIGHT: usize = 3_000;
/// The flood gives up after this long; the test then fails on its count.
const FLOOD_LIMIT: Duration = Duration::from_secs(40);
/// The fewest snapshots the honest player may get in any second of the attack.
const MIN_PER_SECOND: usize = 59;

fn source(i: usize) -> SocketAddr {
    let last = 2 + (i % usize::from(SOURCES)) as u8;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 0)
}

async fn connect_from(from: SocketAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(from)?;
    socket.connect(to).await
}

/// What the attacker managed.
#[derive(Debug)]
struct Attack {
    /// Half-finished handshakes the server was holding when the flood began.
    half_open_held: usize,
    /// WebSocket connections the flood opened.
    opened: usize,
    /// Attempts the server turned away or that failed, each retried.
    failed_attempts: usize,
    took: Duration,
}

/// One flood connection: retried until the upgrade succeeds or the flood's time is up.
async fn open_one(
    i: usize,
    to: SocketAddr,
    until: Instant,
) -> (Option<WebSocketStream<TcpStream>>, usize) {
    let url = format!("ws://{to}/");
    let mut failed = 0;
    while Instant::now() < until {
        let attempt = async {
            let stream = connect_from(source(i), to).await.ok()?;
            let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), stream)
                .await
                .ok()?;
            // Greeted, so each connection costs the lobby too.
            let hello = encode_client(&ClientMsg::Hello(Hello {
                version: PROTOCOL_VERSION,
                name: format!("flood{i}"),
            }));
            ws.send(Message::Binary(hello)).await.ok()?;
            match ws.next().await? {
                Ok(Message::Binary(_welcome)) => Some(ws),
                _ => None,
            }
        };
        match attempt.await {
            Some(ws) => return (Some(ws), failed),
            None => failed += 1,
        }
    }
    (None, failed)
}

async fn attack(to: SocketAddr) -> Attack {
    let started = Instant::now();
    let until = Instant::now() + FLOOD_LIMIT;
    let mut tasks = JoinSet::new();
    let mut held = Vec::with_capacity(FLOOD);
    let mut failed_attempts = 0;
    let mut next = 0;
    while next < FLOOD || !tasks.is_empty() {
        while next < FLOOD && tasks.len() < IN_FLIGHT {
            tasks.spawn(open_one(next, to, until));
            next += 1;
        }
        let (ws, failed) = tasks.join_next().await.unwrap().unwrap();
        failed_attempts += failed;
        held.extend(ws);
    }
    // Then, with the flood's connections still open, peers that each hold one of the
    // server's handshake permits.
    let mut half_open = Vec::with_capacity(HALF_OPEN);
    for i in 0..HALF_OPEN {
        let mut stream = connect_from(source(i), to).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            .await
            .unwrap();
        half_open.push(stream);
    }
    // Held means the server has not hung up on it.
    let mut half_open_held = 0;
    for stream in &mut half_open {
        let mut byte = [0u8; 1];
        let quiet = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut byte));
        if quiet.await.is_err() {
            half_open_held += 1;
        }
    }
    let took = started.elapsed();
    let opened = held.len();
    drop(half_open);
    drop(held);
    Attack {
        half_open_held,
        opened,
        failed_attempts,
        took,
    }
}

#[tokio::test]
async fn a_connection_flood_from_fifty_addresses_cannot_slow_a_room() {
    let server = Process::start(&[]);
    let target = server.target();
    let honest = Honest::join(&target, "r").await;
    let to = server.addr;
    let attacker = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(attack(to))
    });
    let attack = tokio::task::spawn_blocking(move || attacker.join().unwrap())
        .await
        .unwrap();
    let watch = honest.finish().await;
    let per_second = watch.per_second();
    eprintln!(
        "{} connections opened in {:?} ({} attempts turned away and retried), {} half-open \
         held; honest player per second: {per_second:?}",
        attack.opened, attack.took, attack.failed_attempts, attack.half_open_held
    );
    assert_eq!(attack.half_open_held, HALF_OPEN, "{attack:?}");
    assert_eq!(attack.opened, FLOOD, "{attack:?}");
    watch.assert_steady();
    assert!(
        per_second.len() >= 2 && per_second.iter().all(|&n| n >= MIN_PER_SECOND),
        "the honest player fell below {MIN_PER_SECOND} snapshots in a second: \
         {per_second:?}; {}",
        watch.summary()
    );
}
