//! Untrusted input over real sockets: every bad frame gets an error or a close with a
//! reason, and the other players of the room keep their snapshots.

mod common;

use common::{Client, TestServer, input};
use tickwire_server::Config;
use tickwire_shared::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn garbage_gets_errors_while_the_other_player_keeps_its_snapshots() {
    let server = TestServer::start(Config::default()).await;
    let (mut honest, _) = Client::joined(&server, "honest", Some("r")).await;
    let (mut vandal, _) = Client::joined(&server, "vandal", Some("r")).await;

    let first = honest.recv_snapshot().await.tick;
    let garbage: [&[u8]; 6] = [
        b"",
        b"\xc1\xc1\xc1",
        b"\x92\x03\x95\x01", // an input cut short
        b"\x92\x63\x90",     // unknown type 99
        b"\x93\x01\x02\x03",
        &[0xff; 300],
    ];
    for _ in 0..20 {
        for frame in garbage {
            vandal.send_raw(frame.to_vec()).await;
        }
    }
    for _ in 0..20 {
        for frame in garbage {
            let err = vandal.recv_error().await;
            let want = if frame == b"\x92\x63\x90" {
                ErrorCode::UNKNOWN_TYPE
            } else {
                ErrorCode::MALFORMED
            };
            assert_eq!(err.code, want, "{frame:02x?}: {}", err.message);
        }
    }
    // The vandal is still connected and served.
    vandal
        .send(ClientMsg::Ping(Ping { client_time: 1.0 }))
        .await;
    vandal.recv_where(|m| matches!(m, ServerMsg::Pong(_))).await;

    // Meanwhile the honest player got every tick's snapshot: the tick advanced by one
    // each time, for a second's worth of ticks.
    let mut last = first;
    for _ in 0..60 {
        let tick = honest.recv_snapshot().await.tick;
        assert!(tick > last, "ticks go forward");
        last = tick;
    }
    assert!(last - first <= 70, "no snapshot was lost: {first}..{last}");
    server.stop().await;
}

#[tokio::test]
async fn requests_out_of_order_are_refused_with_bad_state() {
    let server = TestServer::start(Config::default()).await;
    let mut c = Client::connect(&server).await;
    c.send(ClientMsg::Join(Join { room: None })).await;
    let err = c.recv_error().await;
    assert_eq!((err.code, err.in_reply_to), (ErrorCode::BAD_STATE, Some(1)));
    c.send(input(1, [0.0, 0.0])).await;
    assert_eq!(c.recv_error().await.code, ErrorCode::BAD_STATE);

    let mut c = Client::greeted(&server, "x").await;
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "again".into(),
    }))
    .await;
    assert_eq!(c.recv_error().await.code, ErrorCode::BAD_STATE);
    c.send(input(1, [0.0, 0.0])).await;
    assert_eq!(c.recv_error().await.code, ErrorCode::NOT_IN_ROOM);
    c.send(ClientMsg::Leave(Leave {})).await;
    assert_eq!(c.recv_error().await.code, ErrorCode::NOT_IN_ROOM);
    c.send(ClientMsg::Join(Join {
        room: Some("no spaces allowed".into()),
    }))
    .await;
    assert_eq!(c.recv_error().await.code, ErrorCode::INVALID_VALUE);
    server.stop().await;
}

#[tokio::test]
async fn non_finite_inputs_are_refused_and_do_not_move_anyone() {
    let server = TestServer::start(Config::default()).await;
    let (mut c, _) = Client::joined(&server, "nan", Some("r")).await;
    c.send(input(1, [f32::NAN, 0.0])).await;
    let err = c.recv_error().await;
    assert_eq!(
        (err.code, err.in_reply_to),
        (ErrorCode::INVALID_VALUE, Some(3))
    );
    c.send(ClientMsg::Input(Input {
        seq: 2,
        dir: [0.0, 0.0],
        facing: f32::INFINITY,
        buttons: 0,
    }))
    .await;
    assert_eq!(c.recv_error().await.code, ErrorCode::INVALID_VALUE);
    let snap = c.recv_snapshot().await;
    let me = snap.players[0];
    assert_eq!(me.last_input_seq, 0);
    assert!(me.pos.iter().chain(&me.vel).all(|v| v.is_finite()));
    server.stop().await;
}

#[tokio::test]
async fn a_huge_direction_moves_no_faster_than_top_speed() {
    let server = TestServer::start(Config::default()).await;
    let (mut c, _) = Client::joined(&server, "speeder", Some("r")).await;
    for seq in 1..=90 {
        c.send(input(seq, [1e30, 1e30])).await;
        let snap = c.recv_snapshot().await;
        let v = snap.players[0].vel;
        assert!((v[0] * v[0] + v[1] * v[1]).sqrt() <= 300.0 + 1e-3, "{v:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_protocol_version_is_told_and_closed() {
    let server = TestServer::start(Config::default()).await;
    let mut c = Client::connect(&server).await;
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION + 1,
        name: "future".into(),
    }))
    .await;
    let err = c.recv_error().await;
    assert_eq!(err.code, ErrorCode::VERSION_MISMATCH);
    assert_eq!(c.recv_close().await.0, 1002);
    server.stop().await;
}

#[tokio::test]
async fn text_frames_are_closed_with_1003() {
    let server = TestServer::start(Config::default()).await;
    let mut c = Client::greeted(&server, "texter").await;
    futures::SinkExt::send(&mut c.ws, Message::Text("{\"hello\":1}".into()))
        .await
        .unwrap();
    let (code, reason) = c.recv_close().await;
    assert_eq!(code, 1003);
    assert!(reason.contains("text"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn oversize_frames_are_closed_with_1009() {
    let config = Config {
        max_message_bytes: 512,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let (mut big, _) = Client::joined(&server, "big", Some("r")).await;
    let (mut other, _) = Client::joined(&server, "other", Some("r")).await;
    big.send_raw(vec![0x90; 513]).await;
    let (code, reason) = big.recv_close().await;
    assert_eq!(code, 1009);
    assert!(reason.contains("too big"), "{reason}");
    // The other player sees the big one leave and keeps playing.
    other
        .recv_where(|m| matches!(m, ServerMsg::PlayerLeft(_)))
        .await;
    let snap = other.recv_snapshot().await;
    assert_eq!(snap.players.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_inputs_slows_only_the_flooder() {
    let server = TestServer::start(Config::default()).await;
    let (mut honest, _) = Client::joined(&server, "honest", Some("r")).await;
    let (mut flooder, _) = Client::joined(&server, "flooder", Some("r")).await;
    let flood = 800u32;
    let frames: Vec<_> = (1..=flood)
        .map(|seq| tickwire_shared::encode_client(&input(seq, [1.0, 0.0])))
        .collect();
    for frame in frames {
        futures::SinkExt::feed(&mut flooder.ws, Message::Binary(frame))
            .await
            .unwrap();
    }
    futures::SinkExt::flush(&mut flooder.ws).await.unwrap();

    // The honest player's snapshots keep coming, tick after tick, during the flood.
    let mut last = honest.recv_snapshot().await.tick;
    for _ in 0..30 {
        let tick = honest.recv_snapshot().await.tick;
        assert!(tick > last);
        last = tick;
    }
    // The flooder's inputs are all read in the end, a bounded number per tick.
    let mut applied = 0;
    while applied < flood {
        let snap = flooder.recv_snapshot().await;
        applied = snap
            .players
            .iter()
            .find(|p| p.id == flooder.id)
            .unwrap()
            .last_input_seq;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_hold_up_the_room() {
    let server = TestServer::start(Config::default()).await;
    let (_sleeper, _) = Client::joined(&server, "sleeper", Some("r")).await;
    let (mut honest, _) = Client::joined(&server, "honest", Some("r")).await;
    // The sleeper never reads again; the honest player gets a second's worth of ticks.
    let first = honest.recv_snapshot().await.tick;
    let mut last = first;
    for _ in 0..60 {
        let snap = honest.recv_snapshot().await;
        assert!(snap.tick > last);
        assert_eq!(snap.players.len(), 2, "the sleeper is still in the room");
        last = snap.tick;
    }
    server.stop().await;
}
