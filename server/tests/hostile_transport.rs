//! Untrusted input that only a real transport can show, over real sockets: a text frame is
//! closed with 1003, and a frame one byte over `--max-message-bytes` (tungstenite's size
//! limit) with 1009, in the lobby and in a room, while an honest player in the room keeps
//! its 60 Hz (`common::honest`); frames that break RFC 6455, written by hand
//! (`common::wire`), are closed with 1007 (invalid UTF-8) or 1002 (the rest), each with its
//! reason and counted as bad input; a flood of pings is closed with 1008 like any other
//! flood; a real client library answers the server's real pings and stays, while a peer
//! that never answers is closed with 1008.
//!
//! Everything else about hostile input (what each frame means, floods, idleness) is the
//! server's logic, tested exactly on the harness in `hostile.rs`. Tokio's paused time is no
//! help here: the server reads its clock from `std::time::Instant`, which a paused tokio
//! clock does not move, so these tests run on the wall clock and wait for the events
//! themselves, with timeouts only as guards.

mod common;

use std::time::{Duration, Instant};

use common::honest::{Ending, Honest, ending};
use common::wire::client_frame;
use common::{Client, TestServer};
use futures::SinkExt;
use tickwire_server::Config;
use tickwire_server::inbound::{self, FLOODING_MESSAGES};
use tickwire_server::metrics::CloseCause;
use tickwire_server::outbox::Close;
use tickwire_shared::{ClientMsg, ErrorCode, Ping, encode_client};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

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
/// returns its code and reason, and how many pings came before it (pongs are skipped).
async fn read_until_close(mut tcp: impl AsyncRead + Unpin) -> (u16, String, usize) {
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
                0xa => {}
                other => panic!("a frame of opcode {other:#x} outside a room"),
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
/// the wire. Server frames are never masked, and the raw peers here are sent only control
/// frames, whose payloads are under 126 bytes.
fn raw_frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (first, second) = (*buf.first()?, *buf.get(1)?);
    let len = usize::from(second);
    assert!(len < 126, "a control frame's length, unmasked: {second:#x}");
    let payload = buf.get(2..2 + len)?;
    Some((first & 0x0f, payload, 2 + len))
}

const BAD_INPUT: &str = r#"tickwire_connections_closed_total{reason="bad_input"}"#;
const ABNORMAL: &str = r#"tickwire_connections_closed_total{reason="abnormal"}"#;
const FLOOD: &str = r#"tickwire_connections_closed_total{reason="flood"}"#;

/// Bytes that are not UTF-8: a valid prefix, then a lone continuation byte and a byte that
/// never appears in UTF-8.
const NOT_UTF8: &[u8] = b"hello \x80\xff";

/// Writes `bytes` straight to `c`'s socket, under its WebSocket library (which has nothing
/// half-written: every send of the tests' client flushes), which still reads the answer.
async fn send_bytes(c: &mut Client, bytes: &[u8]) {
    let MaybeTlsStream::Plain(tcp) = c.ws.get_mut() else {
        unreachable!("tests use plain TCP")
    };
    tcp.write_all(bytes)
        .await
        .expect("the socket takes the frame");
}

/// Reads `c` until its connection ends; checks that the server closed it with `want`'s
/// code and a reason, `want`'s.
async fn assert_closed_with(c: &mut Client, want: &Close) {
    let code = want.code.expect("a close the server sends");
    match ending(&mut c.ws, common::WAIT).await {
        Some(Ending::Closed { code: got, reason }) => {
            assert_eq!((got, reason.as_str()), (code, want.reason));
            assert!(!reason.is_empty(), "a close with a reason");
        }
        other => panic!("expected close {code}, got {other:?}"),
    }
}

/// A client in the lobby sends `frame`, which breaks RFC 6455: the server closes it with
/// `want`, and counts it once, as bad input, not as abnormal.
async fn lobby_frame_is_closed_with(frame: Vec<u8>, want: Close) {
    assert_eq!(want.cause, CloseCause::BadInput);
    let server = TestServer::start(Config::default()).await;
    let mut breaker = Client::greeted(&server, "breaker").await;
    send_bytes(&mut breaker, &frame).await;
    assert_closed_with(&mut breaker, &want).await;
    drop(breaker);
    server.await_metric(BAD_INPUT, 1.0).await;
    assert_eq!(server.metric(ABNORMAL).await, 0.0);
    server.stop().await;
}

/// A message the server would take, had its frame been sent right.
fn ping_message() -> Vec<u8> {
    encode_client(&ClientMsg::Ping(Ping { client_time: 1.0 })).to_vec()
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_is_closed_with_1007() {
    let frame = client_frame(0x81, NOT_UTF8, true);
    lobby_frame_is_closed_with(frame, inbound::INVALID_UTF8).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_close_reason_is_closed_with_1007() {
    let payload = [&1000u16.to_be_bytes()[..], NOT_UTF8].concat();
    let frame = client_frame(0x88, &payload, true);
    lobby_frame_is_closed_with(frame, inbound::INVALID_UTF8).await;
}

#[tokio::test]
async fn an_unmasked_frame_is_closed_with_1002() {
    let frame = client_frame(0x82, &ping_message(), false);
    lobby_frame_is_closed_with(frame, inbound::UNMASKED).await;
}

#[tokio::test]
async fn a_frame_with_reserved_bits_is_closed_with_1002() {
    // FIN, RSV1 (what permessage-deflate would use, never negotiated here), binary.
    let frame = client_frame(0x80 | 0x40 | 0x2, &ping_message(), true);
    lobby_frame_is_closed_with(frame, inbound::RESERVED_BITS).await;
}

#[tokio::test]
async fn a_reserved_data_opcode_is_closed_with_1002() {
    let frame = client_frame(0x80 | 0x3, &ping_message(), true);
    lobby_frame_is_closed_with(frame, inbound::RESERVED_DATA_OPCODE).await;
}

#[tokio::test]
async fn a_reserved_control_opcode_is_closed_with_1002() {
    let frame = client_frame(0x80 | 0xb, b"", true);
    lobby_frame_is_closed_with(frame, inbound::RESERVED_CONTROL_OPCODE).await;
}

#[tokio::test]
async fn a_control_frame_over_125_bytes_is_closed_with_1002() {
    let frame = client_frame(0x80 | 0x9, &[0x42; 126], true);
    lobby_frame_is_closed_with(frame, inbound::CONTROL_TOO_BIG).await;
}

#[tokio::test]
async fn a_fragmented_ping_is_closed_with_1002() {
    // A ping without FIN.
    let frame = client_frame(0x9, b"part", true);
    lobby_frame_is_closed_with(frame, inbound::FRAGMENTED_CONTROL).await;
}

#[tokio::test]
async fn a_continuation_with_nothing_to_continue_is_closed_with_1002() {
    let frame = client_frame(0x80, &ping_message(), true);
    lobby_frame_is_closed_with(frame, inbound::UNEXPECTED_CONTINUATION).await;
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_is_closed_with_1002() {
    let message = ping_message();
    let (first, rest) = message.split_at(1);
    // Binary without FIN, then a whole binary frame instead of its continuation.
    let frames = [
        client_frame(0x2, first, true),
        client_frame(0x82, rest, true),
    ]
    .concat();
    lobby_frame_is_closed_with(frames, inbound::EXPECTED_CONTINUATION).await;
}

#[tokio::test]
async fn a_close_frame_of_one_byte_is_closed_with_1002() {
    let frame = client_frame(0x88, &[0x03], true);
    lobby_frame_is_closed_with(frame, inbound::INVALID_CLOSE_PAYLOAD).await;
}

#[tokio::test]
async fn invalid_utf8_from_a_player_in_a_room_is_closed_with_1007_while_the_room_plays_on() {
    let server = TestServer::start(Config::default()).await;
    let mut honest = Honest::join(&server, "r").await;
    let (mut breaker, _) = Client::joined(&server, "breaker", Some("r")).await;

    send_bytes(&mut breaker, &client_frame(0x81, NOT_UTF8, true)).await;
    assert_closed_with(&mut breaker, &inbound::INVALID_UTF8).await;
    honest.sees_leave(breaker.id).await;
    honest.finish().await.assert_steady_and_alone();
    drop(breaker);
    server.await_metric(BAD_INPUT, 1.0).await;
    assert_eq!(server.metric(ABNORMAL).await, 0.0);
    server.stop().await;
}

/// The most pings the flooder sends, and for how long at most: far more than it takes.
const FLOOD_PINGS: usize = 20_000;
const FLOOD_FOR: Duration = Duration::from_secs(5);
/// Pings per write.
const PINGS_PER_WRITE: usize = 100;

#[tokio::test]
async fn a_ping_flood_is_closed_for_flooding() {
    let server = TestServer::start(Config::default()).await;
    let flooder = Client::greeted(&server, "pinger").await;
    // After the welcome the lobby sends nothing unasked, so no frame is cut in two here.
    let MaybeTlsStream::Plain(tcp) = flooder.ws.into_inner() else {
        unreachable!("tests use plain TCP")
    };
    let (read, mut write) = tcp.into_split();
    let closed = CancellationToken::new();

    let reader = async {
        let close = read_until_close(read).await;
        closed.cancel();
        close
    };
    let writer = async {
        let pings = client_frame(0x89, b"", true).repeat(PINGS_PER_WRITE);
        let started = Instant::now();
        let mut sent = 0;
        while sent < FLOOD_PINGS && started.elapsed() < FLOOD_FOR {
            tokio::select! {
                biased;
                () = closed.cancelled() => break,
                written = write.write_all(&pings) => match written {
                    Ok(()) => sent += PINGS_PER_WRITE,
                    Err(_) => break, // the server has hung up
                },
            }
        }
        // Done: the server, reading until we are, sees the end of the stream.
        let _ = write.shutdown().await;
        sent
    };
    // The kernel's buffers may take every ping before the server reads the first: the
    // close is what matters, not how many went out before it.
    let ((code, reason, _), sent) = tokio::join!(reader, writer);
    assert_eq!(code, 1008, "{reason}");
    assert_eq!(reason, FLOODING_MESSAGES.reason);
    assert!(reason.contains("flooding"), "{reason}");
    assert!(sent > 0);
    server.await_metric(FLOOD, 1.0).await;
    assert_eq!(server.metric(ABNORMAL).await, 0.0);
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed_at_the_hello_timeout() {
    let config = Config {
        hello_timeout_ms: 300,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    // A greeted client in the lobby is not on that clock.
    let mut greeted = Client::greeted(&server, "greeted").await;
    let started = Instant::now();
    let mut silent = Client::connect(&server).await;
    assert_closed(&mut silent, 1008, "no hello").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    server
        .await_metric("tickwire_connections_closed_total{reason=\"timeout\"}", 1.0)
        .await;
    greeted
        .send(ClientMsg::Ping(Ping { client_time: 1.0 }))
        .await;
    assert!(matches!(
        greeted.recv().await,
        tickwire_shared::ServerMsg::Pong(_)
    ));
    server.stop().await;
}
