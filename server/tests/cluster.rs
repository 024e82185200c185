//! Cluster mode over a real Redis: three `tickwire-server` processes on loopback share one
//! `redis-server` (started here on a free port). Joins from any node reach the room's node
//! through a redirect and a seat ticket; seats are never given twice; a killed node leaves
//! the directory and its players are seated again; rooms keep their ticks while Redis is
//! down; a stopping node sends its members elsewhere; notices and presence cross nodes.

#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test

mod common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::honest::Honest;
use common::{Client, TestServer, WAIT};
use tickwire_shared::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn connect(url: &str) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    Client::over(ws)
}

async fn hello(c: &mut Client, name: &str) {
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
    }))
    .await;
    let ServerMsg::Welcome(w) = c.recv().await else {
        panic!("expected welcome");
    };
    c.id = w.player_id;
    c.token = w.resume_token;
}

async fn join(c: &mut Client, room: Option<&str>) -> ServerMsg {
    c.send(ClientMsg::Join(Join {
        room: room.map(Into::into),
        key: None,
    }))
    .await;
    c.recv_where(|m| {
        matches!(
            m,
            ServerMsg::Joined(_) | ServerMsg::Redirect(_) | ServerMsg::Error(_)
        )
    })
    .await
}

/// Follows `redirect` as a client should: connects there, greets, claims the ticket.
async fn follow(redirect: &Redirect, name: &str) -> (Client, ServerMsg) {
    let mut c = connect(&redirect.url).await;
    hello(&mut c, name).await;
    let ticket = redirect
        .ticket
        .clone()
        .expect("a seat redirect carries a ticket");
    c.send(ClientMsg::Claim(Claim { ticket })).await;
    let answer = c
        .recv_where(|m| matches!(m, ServerMsg::Joined(_) | ServerMsg::Error(_)))
        .await;
    (c, answer)
}

/// Greets on `node` and joins `room`, following a redirect: the client in its room.
async fn seated(node: &TestServer, name: &str, room: Option<&str>) -> (Client, Joined) {
    let mut c = Client::greeted(node, name).await;
    match join(&mut c, room).await {
        ServerMsg::Joined(j) => (c, j),
        ServerMsg::Redirect(r) => match follow(&r, name).await {
            (c, ServerMsg::Joined(j)) => (c, j),
            (_, other) => panic!("claim answered {other:?}"),
        },
        other => panic!("join answered {other:?}"),
    }
}

#[tokio::test]
async fn a_join_on_any_node_takes_a_seat_in_the_rooms_node() {
    let cluster = Cluster::start();
    let (mut ana, _) = seated(&cluster.node(0), "ana", Some("den")).await;
    // Bo reaches n2, which does not run den: it is sent to n1 with a ticket.
    let mut bo = Client::greeted(&cluster.node(1), "bo").await;
    let ServerMsg::Redirect(r) = join(&mut bo, Some("den")).await else {
        panic!("expected a redirect");
    };
    assert_eq!(r.url, format!("ws://{}", cluster.nodes[0].addr));
    assert_eq!(r.room.as_deref(), Some("den"));
    assert_eq!(r.in_reply_to, Some(Join::KIND));
    assert_eq!(
        bo.recv_close().await.0,
        1000,
        "the redirect ends that connection"
    );
    let (mut bo, answer) = follow(&r, "bo").await;
    let ServerMsg::Joined(joined) = answer else {
        panic!("claim answered {answer:?}");
    };
    assert_eq!(joined.room, "den");
    assert!(joined.players.iter().any(|p| p.name == "ana"));
    ana.recv_where(|m| matches!(m, ServerMsg::PlayerJoined(p) if p.name == "bo"))
        .await;
    bo.recv_snapshot().await;
    // A ticket is good once.
    let mut again = connect(&r.url).await;
    hello(&mut again, "eve").await;
    again
        .send(ClientMsg::Claim(Claim {
            ticket: r.ticket.clone().unwrap(),
        }))
        .await;
    let err = again.recv_error().await;
    assert!(err.message.contains("used already"), "{err:?}");
    // A quick-join on n3 goes to the fullest public room, wherever it is.
    let (_cy, quick) = seated(&cluster.node(2), "cy", None).await;
    assert_eq!(quick.room, "den");
}

#[tokio::test]
async fn two_nodes_never_give_one_seat_twice() {
    let cluster = Cluster::start();
    let mut owner = Client::greeted(&cluster.node(0), "owner").await;
    owner
        .send(ClientMsg::Create(Create {
            room: "duo".into(),
            private: false,
            key: None,
            capacity: Some(2),
        }))
        .await;
    owner
        .recv_where(|m| matches!(m, ServerMsg::Joined(_)))
        .await;
    // Six players race for the one seat left, three through each of the other nodes.
    let racers = (0..6).map(|i| {
        let node = cluster.node(1 + i % 2);
        async move {
            let mut c = Client::greeted(&node, &format!("r{i}")).await;
            match join(&mut c, Some("duo")).await {
                ServerMsg::Redirect(r) => match follow(&r, "racer").await {
                    (c, ServerMsg::Joined(_)) => Some(c),
                    (_, other) => panic!("a granted ticket was refused: {other:?}"),
                },
                ServerMsg::Error(e) => {
                    assert_eq!(e.code, ErrorCode::ROOM_FULL, "{e:?}");
                    None
                }
                other => panic!("join answered {other:?}"),
            }
        }
    });
    let seated: Vec<Client> = futures::future::join_all(racers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(seated.len(), 1, "exactly one racer got the last seat");
}

#[tokio::test]
async fn a_killed_nodes_players_are_told_their_room_is_gone_and_seated_again() {
    let cluster = Cluster::start();
    let (ana, _) = seated(&cluster.node(0), "ana", Some("den")).await;
    let token = ana.token.clone();
    assert!(token.starts_with("n1."), "tokens name their node: {token}");
    cluster.nodes[0].signal("KILL");
    let killed = Instant::now();
    // Another node soon knows that the token's node is gone (until Redis has seen the
    // killed node's connections drop, it redirects the resume there).
    let n2 = cluster.node(1);
    let (mut back, err) = loop {
        let mut c = connect(&n2.url()).await;
        c.send(ClientMsg::Resume(Resume {
            token: token.clone(),
        }))
        .await;
        match c
            .recv_where(|m| matches!(m, ServerMsg::Error(_) | ServerMsg::Redirect(_)))
            .await
        {
            ServerMsg::Error(err) => break (c, err),
            _ => assert!(killed.elapsed() < WAIT, "the dead node is still listed"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(err.code, ErrorCode::RESUME_REFUSED);
    assert!(err.message.contains("room is gone"), "{err:?}");
    cluster.wait_listed(2);
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "the directory dropped the node {:?} after the kill",
        killed.elapsed()
    );
    hello(&mut back, "ana").await;
    let ServerMsg::Joined(joined) = join(&mut back, Some("den")).await else {
        panic!("den could not be opened again");
    };
    assert_eq!(joined.room, "den");
    back.recv_snapshot().await;
}

#[tokio::test]
async fn without_redis_rooms_keep_their_ticks_and_cross_node_joins_are_refused() {
    let mut cluster = Cluster::start();
    let n1 = cluster.node(0);
    let n2 = cluster.node(1);
    let honest = Honest::join(&n1, "den").await;
    cluster.redis.kill();
    let mut bo = Client::greeted(&n2, "bo").await;
    let answer = join(&mut bo, Some("den")).await;
    let ServerMsg::Error(err) = answer else {
        panic!("a cross-node join without Redis answered {answer:?}");
    };
    assert_eq!(err.code, ErrorCode::UNAVAILABLE);
    assert!(err.message.contains("unreachable"), "{err:?}");
    // A quick-join still finds a room on its own node.
    let mut cy = Client::greeted(&n2, "cy").await;
    assert!(matches!(join(&mut cy, None).await, ServerMsg::Joined(_)));
    // Redis is back: within a few heartbeats the join goes through again.
    cluster.redis.restart();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut dee = Client::greeted(&n2, "dee").await;
        let answer = join(&mut dee, Some("den")).await;
        if let ServerMsg::Redirect(r) = &answer {
            assert!(matches!(follow(r, "dee").await.1, ServerMsg::Joined(_)));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cross-node joins did not recover: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let watch = honest.finish().await;
    watch.assert_steady();
}

#[tokio::test]
async fn a_stopping_node_sends_its_members_to_another_node() {
    let cluster = Cluster::start();
    let (mut ana, _) = seated(&cluster.node(0), "ana", Some("den")).await;
    ana.recv_snapshot().await;
    // Let a heartbeat tell n1 where its members would go.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cluster.nodes[0].signal("TERM");
    let r = ana
        .recv_where(|m| matches!(m, ServerMsg::Redirect(_)))
        .await;
    let ServerMsg::Redirect(r) = r else {
        unreachable!()
    };
    assert_eq!(r.in_reply_to, None);
    assert!(r.ticket.is_none());
    let others = [cluster.nodes[1].addr, cluster.nodes[2].addr].map(|a| format!("ws://{a}"));
    assert!(others.contains(&r.url), "{} is not another node", r.url);
    assert_eq!(ana.recv_close().await.0, 1001);
    // The node left the directory, and the place it named takes the player.
    cluster.wait_listed(2);
    let mut moved = connect(&r.url).await;
    hello(&mut moved, "ana").await;
    // A quick-join there may be sent on once more, to the least-loaded node.
    let answer = match join(&mut moved, None).await {
        ServerMsg::Redirect(r) => follow(&r, "ana").await.1,
        answer => answer,
    };
    assert!(matches!(answer, ServerMsg::Joined(_)), "{answer:?}");
}

#[tokio::test]
async fn notices_and_presence_reach_across_nodes() {
    let cluster = Cluster::start();
    let (mut ana, _) = seated(&cluster.node(0), "ana", Some("den")).await;
    let (mut bo, _) = seated(&cluster.node(2), "bo", Some("loft")).await;
    // Player ids are a node's own: in a cluster an anonymous user is named with its node.
    let ana_user = format!("anon-n1-{}", ana.id);
    // The heartbeat lists who sits where.
    let n2 = cluster.node(1);
    let deadline = Instant::now() + WAIT;
    let presence = loop {
        let (status, body) = n2.admin_get(&format!("/presence/{ana_user}")).await;
        if status == 200 {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no presence for {ana_user}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let presence: serde_json::Value = serde_json::from_str(&presence).unwrap();
    assert_eq!(presence["node"], "n1");
    assert_eq!(presence["room"], "den");
    let body = format!(r#"{{"user":"{ana_user}","text":"to ana"}}"#);
    let (status, answer) = post(&n2, "/notice", &body).await;
    assert_eq!(status, 200, "{answer}");
    let notice = ana.recv_where(|m| matches!(m, ServerMsg::Notice(_))).await;
    assert!(matches!(notice, ServerMsg::Notice(n) if n.text == "to ana" && !n.to_all));
    let (status, answer) = post(&n2, "/notice", r#"{"text":"to all"}"#).await;
    assert_eq!(status, 200, "{answer}");
    for c in [&mut ana, &mut bo] {
        let notice = c.recv_where(|m| matches!(m, ServerMsg::Notice(_))).await;
        assert!(matches!(notice, ServerMsg::Notice(n) if n.text == "to all" && n.to_all));
    }
    let (status, _) = post(&n2, "/notice", r#"{"user":"nobody","text":"x"}"#).await;
    assert_eq!(status, 404);
}

/// A bare HTTP/1.1 POST of JSON to the admin endpoint: the status and the body.
async fn post(node: &TestServer, path: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(node.admin_addr)
        .await
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}
