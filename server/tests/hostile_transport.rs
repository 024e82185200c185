//! Untrusted input that only a real transport can show, over real sockets: a text frame is
//! closed with 1003, and a frame one byte over `--max-message-bytes` (tungstenite's size
//! limit) with 1009, in the lobby and in a room, while an honest player in the room keeps
//! its 60 Hz (`common::honest`); a real client library answers the server's real pings and
//! stays, while a peer that never answers is closed with 1008.
//!
//! Everything else about hostile input (what each frame means, floods, idleness) is the
//! server's logic, tested exactly on the harness in `hostile.rs`. Tokio's paused time is no
//! help here: the server reads its clock from `std::time::Instant`, which a paused tokio
//! clock does not move, so these tests run on the wall clock and wait for the events
//! themselves, with timeouts only as guards.

mod common;

use std::time::{Duration, Instant};

use common::honest::{Ending, Honest, ending};
use common::{Client, TestServer};
use futures::SinkExt;
use tickwire_server::Config;
use tickwire_shared::ErrorCode;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

/// Reads `c` until its connection ends; checks that the server closed it with `code` and
/// a reason that says `why`.
async fn assert_closed(c: &mut Client, code: u16, why: &str) {
    match ending(&mut c.ws, common::WAIT).await {
        Some(Ending::Closed { code: got, reason }) => {
            assert_eq!(got, code, "{reason}");
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!("expected close {code}, got {other:?}"),
    }
}

#[tokio::test]
async fn text_frames_are_closed_with_1003() {
    let server = TestServer::start(Config::default()).await;
    let mut honest = Honest::join(&server, "r").await;
    let mut in_lobby = Client::greeted(&server, "lobby-texter").await;
    let (mut in_room, _) = Client::joined(&server, "room-texter", Some("r")).await;

    for c in [&mut in_lobby, &mut in_room] {
        c.ws.send(Message::Text("{\"hello\":1}".into()))
            .await
            .unwrap();
        assert_closed(c, 1003, "text").await;
    }
    honest.sees_leave(in_room.id).await;
    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn oversize_frames_are_closed_with_1009() {
    let config = Config {
        max_message_bytes: 512,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut honest = Honest::join(&server, "r").await;
    let mut in_lobby = Client::greeted(&server, "lobby-big").await;
    let (mut in_room, _) = Client::joined(&server, "room-big", Some("r")).await;

    for c in [&mut in_lobby, &mut in_room] {
        // At the limit: read, and answered as the bad message it is.
        c.send_raw(vec![0x90; 512]).await;
        let err = c.recv_error().await;
        let answer = (err.code, err.in_reply_to);
        assert_eq!(answer, (ErrorCode::MALFORMED, None), "{}", err.message);
        // One byte over: closed.
        c.send_raw(vec![0x90; 513]).await;
        assert_closed(c, 1009, "too big").await;
    }
    honest.sees_leave(in_room.id).await;
    let watch = honest.finish().await;
    watch.assert_steady_and_alone();
    server.stop().await;
}

/// Pings the answering client must see, and answer, without being closed: at the quick
/// keep-alive's rates (a ping every 100 ms, closed after 400 ms of silence) that is well
/// past the idle timeout.
const PINGS: usize = 6;

#[tokio::test]
async fn a_client_library_answers_real_pings_and_stays_while_a_peer_that_never_answers_is_closed() {
    let config = Config {
        ping_interval_ms: 100,
        idle_timeout_ms: 400,
        ..Config::default()
    };
    let idle = Duration::from_millis(config.idle_timeout_ms);
    let server = TestServer::start(config).await;
    // In a room, sending nothing; tungstenite answers each ping while the client reads.
    let (answering, _) = Client::joined(&server, "answering", Some("r")).await;
    let answering_since = Instant::now();
    // Through the upgrade, then only reading raw bytes: nothing is ever answered.
    let MaybeTlsStream::Plain(mute) = Client::connect(&server).await.ws.into_inner() else {
        unreachable!("tests use plain TCP")
    };
    let mute_since = Instant::now();

    let (answered, (code, reason, pinged)) =
        tokio::join!(answer_pings(answering, PINGS), read_until_close(mute));
    assert!(
        answered >= answering_since + idle,
        "the answering client was pinged for less than the idle timeout"
    );
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("idle"), "{reason}");
    assert!(pinged > 0, "the mute peer was pinged first");
    assert!(
        mute_since.elapsed() >= idle,
        "closed before the idle timeout"
    );
    server.stop().await;
}

/// Reads `client` until it has seen `pings` pings (its library answering each); returns
/// when. Panics when its connection ends first, or a frame is slow to come.
async fn answer_pings(mut client: Client, pings: usize) -> Instant {
    let mut seen = 0;
    while seen < pings {
        match client.next_frame().await {
            Some(Message::Ping(_)) => seen += 1,
            Some(Message::Binary(_)) => {}
            other => {
                panic!("the answering client's connection ended after {seen} pings: {other:?}")
            }
        }
    }
    Instant::now()
}

/// Reads raw WebSocket frames from `tcp`, answering none, until the server's close frame;
/// returns its code and reason, and how many pings came before it.
async fn read_until_close(mut tcp: TcpStream) -> (u16, String, usize) {
    let mut buf = Vec::new();
    let mut pings = 0;
    loop {
        while let Some((opcode, payload, len)) = raw_frame(&buf) {
            match opcode {
                0x8 => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    let reason = String::from_utf8_lossy(&payload[2..]).into_owned();
                    return (code, reason, pings);
                }
                0x9 => pings += 1,
                other => panic!("a frame of opcode {other:#x} before hello"),
            }
            buf.drain(..len);
        }
        let mut chunk = [0; 512];
        let read = tokio::time::timeout(common::WAIT, tcp.read(&mut chunk)).await;
        let n = read
            .expect("a frame within the wait")
            .expect("the socket reads");
        assert!(n > 0, "the connection ended without a close frame");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The first whole frame in `buf`, if it holds one: its opcode, payload, and length on
/// the wire. Server frames are never masked, and before hello the server sends only
/// control frames, whose payloads are under 126 bytes.
fn raw_frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (first, second) = (*buf.first()?, *buf.get(1)?);
    let len = usize::from(second);
    assert!(len < 126, "a control frame's length, unmasked: {second:#x}");
    let payload = buf.get(2..2 + len)?;
    Some((first & 0x0f, payload, 2 + len))
}
