//! Rooms end to end over real sockets: joining, seeing each other move, quick-join.

mod common;

use common::{Client, TestServer, input};
use tickwire_server::Config;
use tickwire_shared::*;

#[tokio::test]
async fn two_players_in_one_room_both_see_one_move() {
    let server = TestServer::start(Config::default()).await;
    let (mut ana, joined) = Client::joined(&server, "ana", Some("arena")).await;
    assert_eq!(joined.room, "arena");
    assert!(joined.players.is_empty());
    let (mut bo, joined) = Client::joined(&server, "bo", Some("arena")).await;
    assert_eq!(
        joined.players,
        vec![PlayerInfo {
            id: ana.id,
            name: "ana".into()
        }]
    );
    let arrived = ana
        .recv_where(|m| matches!(m, ServerMsg::PlayerJoined(_)))
        .await;
    assert_eq!(
        arrived,
        ServerMsg::PlayerJoined(PlayerJoined {
            id: bo.id,
            name: "bo".into()
        })
    );

    let start = ana.recv_snapshot().await;
    let before = start.players.iter().find(|p| p.id == ana.id).unwrap().pos();
    ana.send(input(1, [1.0, 0.0])).await;

    // Both clients see ana move right, with input 1 applied, within a few ticks.
    for client in [&mut ana, &mut bo] {
        let mut seen = false;
        for _ in 0..30 {
            let snap = client.recv_snapshot().await;
            assert_eq!(snap.players.len(), 2);
            let p = snap.players.iter().find(|p| p.last_input_seq == 1);
            if let Some(p) = p {
                assert!(
                    p.pos()[0] > before[0],
                    "moved right: {:?} -> {:?}",
                    before,
                    p.pos()
                );
                assert!(p.vel()[0] > 0.0);
                seen = true;
                break;
            }
        }
        assert!(seen, "the move showed within 30 snapshots");
    }

    // Snapshot ticks only go forward.
    let a = bo.recv_snapshot().await.tick;
    let b = bo.recv_snapshot().await.tick;
    assert!(b > a);

    // A clean close ends the session at once (a lost connection would keep the seat for
    // the resume grace).
    let bo_id = bo.id;
    bo.ws.close(None).await.unwrap();
    let left = ana
        .recv_where(|m| matches!(m, ServerMsg::PlayerLeft(_)))
        .await;
    assert_eq!(
        left,
        ServerMsg::PlayerLeft(PlayerLeft {
            id: bo_id,
            name: "bo".into()
        })
    );
    server.stop().await;
}

#[tokio::test]
async fn quick_join_fills_a_room_to_its_cap_then_opens_another() {
    let config = Config {
        max_room_players: 3,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut clients = Vec::new();
    let mut rooms = Vec::new();
    for i in 0..7 {
        let (c, joined) = Client::joined(&server, &format!("p{i}"), None).await;
        clients.push(c);
        rooms.push(joined.room);
    }
    assert_eq!(
        rooms,
        [
            "quick-1", "quick-1", "quick-1", "quick-2", "quick-2", "quick-2", "quick-3"
        ]
    );

    // A full named room refuses, and says which request it answers.
    let mut late = Client::greeted(&server, "late").await;
    late.send(ClientMsg::Join(Join {
        room: Some("quick-1".into()),
        key: None,
    }))
    .await;
    let err = late.recv_error().await;
    assert_eq!(err.code, ErrorCode::ROOM_FULL);
    assert_eq!(err.in_reply_to, Some(1));

    // A seat freed by a leave is taken by the next quick-join.
    let mut leaver = clients.remove(1);
    leaver.send(ClientMsg::Leave(Leave {})).await;
    // Once the room has let the leaver go, quick-1 (2 of 3) is the fullest room with space.
    clients[0]
        .recv_where(|m| matches!(m, ServerMsg::PlayerLeft(_)))
        .await;
    late.send(ClientMsg::Join(Join {
        room: None,
        key: None,
    }))
    .await;
    match late
        .recv_where(|m| matches!(m, ServerMsg::Joined(_) | ServerMsg::Error(_)))
        .await
    {
        ServerMsg::Joined(j) => assert_eq!(j.room, "quick-1"),
        other => panic!("quick-join never refuses: {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn pings_are_answered_at_once_with_the_room_tick() {
    let server = TestServer::start(Config::default()).await;
    let mut c = Client::greeted(&server, "pinger").await;
    c.send(ClientMsg::Ping(Ping { client_time: 12.5 })).await;
    assert_eq!(
        c.recv().await,
        ServerMsg::Pong(Pong {
            client_time: 12.5,
            server_tick: 0
        })
    );
    c.send(ClientMsg::Join(Join {
        room: None,
        key: None,
    }))
    .await;
    let snap = c.recv_snapshot().await;
    c.send(ClientMsg::Ping(Ping { client_time: 99.0 })).await;
    let pong = c.recv_where(|m| matches!(m, ServerMsg::Pong(_))).await;
    let ServerMsg::Pong(pong) = pong else {
        unreachable!()
    };
    assert_eq!(pong.client_time, 99.0);
    assert!(pong.server_tick >= snap.tick);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_going_away() {
    let server = TestServer::start(Config::default()).await;
    let (mut a, _) = Client::joined(&server, "a", Some("r")).await;
    let mut b = Client::greeted(&server, "b").await;
    server.shutdown.cancel();
    assert_eq!(a.recv_close().await.0, 1001);
    assert_eq!(b.recv_close().await.0, 1001);
    server.stop().await;
}

#[tokio::test]
async fn an_empty_room_closes_after_its_idle_time() {
    // One room at most, so whether the first has closed shows in whether a second opens.
    let config = Config {
        max_rooms: 1,
        room_idle_secs: 1,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let (mut c, _) = Client::joined(&server, "wanderer", Some("first")).await;
    c.send(ClientMsg::Leave(Leave {})).await;
    c.send(ClientMsg::Join(Join {
        room: Some("second".into()),
        key: None,
    }))
    .await;
    assert_eq!(c.recv_error().await.code, ErrorCode::UNAVAILABLE);

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the empty room never closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        c.send(ClientMsg::Join(Join {
            room: Some("second".into()),
            key: None,
        }))
        .await;
        match c
            .recv_where(|m| matches!(m, ServerMsg::Joined(_) | ServerMsg::Error(_)))
            .await
        {
            ServerMsg::Joined(j) => {
                assert_eq!(j.room, "second");
                break;
            }
            ServerMsg::Error(e) => assert_eq!(e.code, ErrorCode::UNAVAILABLE),
            _ => unreachable!(),
        }
    }
    server.stop().await;
}
