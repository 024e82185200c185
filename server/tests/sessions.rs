//! Sessions over real sockets: resuming a lost connection within the grace (and not after
//! it, nor with a spent token), private rooms and their refusals, and room chat.

#![allow(clippy::unwrap_used)] // test set-up helpers: a failure should panic the test

mod common;

use std::time::Duration;

use common::{Client, Seen, TestServer, input};
use tickwire_server::Config;
use tickwire_shared::*;

fn me(snap: &Seen, id: PlayerId) -> PlayerState {
    *snap
        .player(id)
        .unwrap_or_else(|| panic!("player {id} is not in the snapshot of tick {}", snap.tick))
}

/// Reads the watcher's messages for `for_ticks` snapshots; fails on any PlayerLeft or
/// PlayerJoined about `id`, and on `id` jumping further than its top speed allows.
async fn watch_steady(watcher: &mut Client, id: PlayerId, for_ticks: usize) -> Seen {
    let mut last: Option<Seen> = None;
    let mut seen = 0;
    while seen < for_ticks {
        match watcher.recv().await {
            ServerMsg::Snapshot(snap) => {
                let snap = watcher.seen(&snap);
                let now = me(&snap, id);
                if let Some(prev) = &last {
                    let before = me(prev, id);
                    let ticks = (snap.tick - prev.tick) as f32;
                    let moved = ((now.pos()[0] - before.pos()[0]).powi(2)
                        + (now.pos()[1] - before.pos()[1]).powi(2))
                    .sqrt();
                    // 300 units/s at 60 Hz is 5 per tick; pushes from others add a little.
                    assert!(
                        moved <= 6.0 * ticks,
                        "player {id} jumped {moved} in {ticks} ticks"
                    );
                }
                last = Some(snap);
                seen += 1;
            }
            ServerMsg::PlayerLeft(left) => assert_ne!(left.id, id, "the others saw a leave"),
            ServerMsg::PlayerJoined(joined) => {
                assert_ne!(joined.id, id, "the others saw a join");
            }
            _ => {}
        }
    }
    last.expect("at least one snapshot was watched")
}

#[tokio::test]
async fn a_resume_within_the_grace_keeps_the_player_and_loses_no_input() {
    let server = TestServer::start(Config::default()).await;
    let (mut watcher, _) = Client::joined(&server, "watcher", Some("r")).await;
    let (mut player, _) = Client::joined(&server, "runner", Some("r")).await;
    let id = player.id;
    let token = player.token.clone();
    watcher
        .recv_where(|m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == id))
        .await;

    // Twenty inputs, sent at once, each turning a little: then the line is cut before
    // any acknowledgement is read.
    let dir = |seq: u32| {
        let a = seq as f32 * 0.1;
        [a.cos(), a.sin()]
    };
    for seq in 1..=20 {
        player.send(input(seq, dir(seq))).await;
    }
    player.reset();
    // The others see the player stay (not acting), with no leave.
    watch_steady(&mut watcher, id, 30).await;

    let (mut back, answer) = Client::resuming(&server, &token).await;
    let ServerMsg::Resumed(resumed) = answer else {
        panic!("expected Resumed, got {answer:?}")
    };
    assert_eq!(resumed.player_id, id);
    assert_eq!(resumed.room.as_deref(), Some("r"));
    assert!(resumed.players.iter().any(|p| p.name == "watcher"));
    assert_ne!(resumed.resume_token, token, "a fresh token");
    // A full snapshot follows at once.
    let snap = back.recv_snapshot().await;
    let acked = me(&snap, id).last_input_seq;
    assert!(acked <= 20);

    // The client re-sends what no snapshot acknowledged. It also re-sends the acknowledged
    // ones with a different direction, which must not be applied a second time.
    for seq in 1..=acked {
        back.send(input(seq, [-1.0, 0.0])).await;
    }
    for seq in acked + 1..=20 {
        back.send(input(seq, dir(seq))).await;
    }
    let mut state = me(&back.recv_snapshot().await, id);
    for _ in 0..60 {
        if state.last_input_seq == 20 {
            break;
        }
        state = me(&back.recv_snapshot().await, id);
    }
    assert_eq!(state.last_input_seq, 20, "every input applied");
    // Moving the way input 20 said: the duplicates (all pointing -x) were not applied.
    let settled = watch_steady(&mut watcher, id, 40).await;
    let v = me(&settled, id).vel();
    let want = dir(20);
    assert!(
        v[0] * want[0] + v[1] * want[1] > 250.0,
        "velocity {v:?} follows input 20"
    );
    server.stop().await;
}

#[tokio::test]
async fn after_the_grace_the_player_leaves_and_its_token_is_refused() {
    let server = TestServer::start(Config {
        resume_grace_ms: 300,
        ..Config::default()
    })
    .await;
    let (mut watcher, _) = Client::joined(&server, "watcher", Some("r")).await;
    let (player, _) = Client::joined(&server, "gone", Some("r")).await;
    let (id, token) = (player.id, player.token.clone());
    player.reset();
    let left = watcher
        .recv_where(|m| matches!(m, ServerMsg::PlayerLeft(_)))
        .await;
    assert_eq!(
        left,
        ServerMsg::PlayerLeft(PlayerLeft {
            id,
            name: "gone".into()
        })
    );
    let (mut late, answer) = Client::resuming(&server, &token).await;
    let ServerMsg::Error(err) = answer else {
        panic!("expected a refusal, got {answer:?}")
    };
    assert_eq!(
        (err.code, err.in_reply_to),
        (ErrorCode::RESUME_REFUSED, Some(6))
    );
    // The connection is usable: a fresh hello and join work.
    late.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "fresh".into(),
    }))
    .await;
    let ServerMsg::Welcome(w) = late.recv().await else {
        panic!("expected welcome")
    };
    assert_ne!(w.player_id, id);
    late.send(ClientMsg::Join(Join {
        room: Some("r".into()),
        key: None,
    }))
    .await;
    late.recv_where(|m| matches!(m, ServerMsg::Joined(_))).await;
    server.stop().await;
}

#[tokio::test]
async fn spent_unknown_and_live_lobby_tokens_are_refused() {
    let server = TestServer::start(Config::default()).await;
    let (player, _) = Client::joined(&server, "p", Some("r")).await;
    let token = player.token.clone();
    player.reset();
    let (back, answer) = Client::resuming(&server, &token).await;
    assert!(matches!(answer, ServerMsg::Resumed(_)), "{answer:?}");
    // The spent token, a made-up one, and one whose player sits connected in the lobby.
    let lobby = Client::greeted(&server, "lobby").await;
    for stolen in [
        token.as_str(),
        "00000000000000000000000000000000",
        &lobby.token,
    ] {
        let (_c, answer) = Client::resuming(&server, stolen).await;
        let ServerMsg::Error(err) = answer else {
            panic!("{stolen}: expected a refusal, got {answer:?}")
        };
        assert_eq!(err.code, ErrorCode::RESUME_REFUSED, "{stolen}");
    }
    // Resume is only a first message.
    let mut greeted = Client::greeted(&server, "g").await;
    greeted
        .send(ClientMsg::Resume(Resume {
            token: back.token.clone(),
        }))
        .await;
    assert_eq!(greeted.recv_error().await.code, ErrorCode::BAD_STATE);
    server.stop().await;
}

#[tokio::test]
async fn a_player_lost_in_the_lobby_resumes_there() {
    let server = TestServer::start(Config::default()).await;
    let player = Client::greeted(&server, "lobbyist").await;
    let (id, token) = (player.id, player.token.clone());
    player.reset();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut back, answer) = Client::resuming(&server, &token).await;
    assert_eq!(
        answer,
        ServerMsg::Resumed(Resumed {
            player_id: id,
            room: None,
            players: vec![],
            resume_token: back.token.clone(),
        })
    );
    back.send(ClientMsg::Join(Join {
        room: None,
        key: None,
    }))
    .await;
    back.recv_where(|m| matches!(m, ServerMsg::Joined(_))).await;
    assert_eq!(me(&back.recv_snapshot().await, id).id, id);
    server.stop().await;
}

async fn create(
    c: &mut Client,
    room: &str,
    private: bool,
    key: Option<&str>,
    capacity: Option<u32>,
) -> ServerMsg {
    c.send(ClientMsg::Create(Create {
        room: room.into(),
        private,
        key: key.map(Into::into),
        capacity,
    }))
    .await;
    c.recv_where(|m| matches!(m, ServerMsg::Joined(_) | ServerMsg::Error(_)))
        .await
}

async fn join(c: &mut Client, room: Option<&str>, key: Option<&str>) -> ServerMsg {
    c.send(ClientMsg::Join(Join {
        room: room.map(Into::into),
        key: key.map(Into::into),
    }))
    .await;
    c.recv_where(|m| matches!(m, ServerMsg::Joined(_) | ServerMsg::Error(_)))
        .await
}

fn code(msg: &ServerMsg) -> Option<ErrorCode> {
    match msg {
        ServerMsg::Error(e) => Some(e.code),
        _ => None,
    }
}

#[tokio::test]
async fn private_rooms_answer_with_precise_codes_and_the_connection_stays_usable() {
    let server = TestServer::start(Config::default()).await;
    let mut owner = Client::greeted(&server, "owner").await;
    let joined = create(&mut owner, "den", true, Some("sesame"), Some(2)).await;
    assert!(
        matches!(joined, ServerMsg::Joined(ref j) if j.room == "den"),
        "{joined:?}"
    );

    let mut guest = Client::greeted(&server, "guest").await;
    assert_eq!(
        code(&join(&mut guest, Some("den"), None).await),
        Some(ErrorCode::ACCESS_DENIED)
    );
    assert_eq!(
        code(&join(&mut guest, Some("den"), Some("wrong")).await),
        Some(ErrorCode::ACCESS_DENIED)
    );
    assert_eq!(
        code(&join(&mut guest, Some("nowhere"), Some("sesame")).await),
        Some(ErrorCode::NOT_FOUND)
    );
    let mut other = Client::greeted(&server, "other").await;
    assert_eq!(
        code(&create(&mut other, "den", false, None, None).await),
        Some(ErrorCode::ROOM_EXISTS)
    );
    assert_eq!(
        code(&create(&mut other, "big", false, None, Some(100_000)).await),
        Some(ErrorCode::INVALID_VALUE)
    );
    // Quick-join never lands in a private room.
    let quick = join(&mut other, None, None).await;
    assert!(
        matches!(quick, ServerMsg::Joined(ref j) if j.room != "den"),
        "{quick:?}"
    );
    // The right key works; the room's capacity of 2 is then full.
    let ok = join(&mut guest, Some("den"), Some("sesame")).await;
    assert!(matches!(ok, ServerMsg::Joined(_)), "{ok:?}");
    let mut third = Client::greeted(&server, "third").await;
    assert_eq!(
        code(&join(&mut third, Some("den"), Some("sesame")).await),
        Some(ErrorCode::ROOM_FULL)
    );
    // After all those refusals the connection still works.
    assert!(matches!(
        join(&mut third, Some("open"), None).await,
        ServerMsg::Joined(_)
    ));
    let (_, rooms) = server.admin_get("/rooms").await;
    assert!(
        rooms.contains(r#"{"id":"den","players":2,"capacity":2,"private":true}"#),
        "{rooms}"
    );
    server.stop().await;
}

#[tokio::test]
async fn chat_is_acknowledged_delivered_in_one_order_and_kept_as_history() {
    let server = TestServer::start(Config {
        chat_rate: 100,
        chat_burst: 100,
        chat_max_bytes: 16,
        ..Config::default()
    })
    .await;
    let (mut ana, _) = Client::joined(&server, "ana", Some("r")).await;
    let (mut bo, _) = Client::joined(&server, "bo", Some("r")).await;
    let say = |id: u32, text: &[u8]| {
        ClientMsg::Chat(Chat {
            id,
            text: ChatText(text.to_vec()),
        })
    };
    // Both talk at once; then some refusals.
    for i in 0..5 {
        ana.send(say(i, format!("a{i}").as_bytes())).await;
        bo.send(say(100 + i, format!("b{i}").as_bytes())).await;
    }
    ana.send(say(9, b"")).await;
    ana.send(say(10, &[b'x'; 17])).await;
    ana.send(say(11, &[0xff, 0xfe])).await;

    let mut acks = Vec::new();
    let mut ana_seen = Vec::new();
    while ana_seen.len() < 10 || acks.len() < 8 {
        match ana.recv().await {
            ServerMsg::ChatAck(ack) => {
                // The ack comes before the sender's own copy of the message.
                if ack.refused.is_none() {
                    assert!(
                        !ana_seen
                            .iter()
                            .any(|m: &ChatMessage| m.server_id == ack.server_id)
                    );
                }
                acks.push(ack);
            }
            ServerMsg::ChatMessage(m) => ana_seen.push(m),
            _ => {}
        }
    }
    let mut bo_seen = Vec::new();
    while bo_seen.len() < 10 {
        if let ServerMsg::ChatMessage(m) = bo.recv().await {
            bo_seen.push(m);
        }
    }
    let ids = |seen: &[ChatMessage]| seen.iter().map(|m| m.server_id).collect::<Vec<_>>();
    assert_eq!(
        ids(&ana_seen),
        (1..=10).collect::<Vec<_>>(),
        "one order, no gaps"
    );
    assert_eq!(ids(&ana_seen), ids(&bo_seen), "the same order for everyone");
    assert_eq!(
        acks.iter()
            .filter_map(|a| a.refused.clone())
            .collect::<Vec<_>>(),
        ["empty", "too_long", "not_utf8"]
    );
    for ack in acks.iter().filter(|a| a.refused.is_none()) {
        let m = ana_seen
            .iter()
            .find(|m| m.server_id == ack.server_id)
            .unwrap();
        assert_eq!(m.text, format!("a{}", ack.id));
        assert_eq!((m.name.as_str(), m.time_ms), ("ana", ack.time_ms));
    }

    // A newcomer gets the history, oldest first; outside a room chat is refused.
    let mut late = Client::greeted(&server, "late").await;
    late.send(say(1, b"hi")).await;
    let ServerMsg::ChatAck(ack) = late.recv().await else {
        panic!("expected an ack")
    };
    assert_eq!(ack.refused.as_deref(), Some("not_in_room"));
    assert!(matches!(
        join(&mut late, Some("r"), None).await,
        ServerMsg::Joined(_)
    ));
    let mut history = Vec::new();
    while history.len() < 10 {
        if let ServerMsg::ChatMessage(m) = late.recv().await {
            history.push(m);
        }
    }
    assert_eq!(ids(&history), ids(&ana_seen));
    server.stop().await;
}

#[tokio::test]
async fn chat_over_the_rate_is_refused_not_closed() {
    let server = TestServer::start(Config {
        chat_rate: 1,
        chat_burst: 2,
        ..Config::default()
    })
    .await;
    let (mut c, _) = Client::joined(&server, "chatty", Some("r")).await;
    for id in 0..4 {
        c.send(ClientMsg::Chat(Chat {
            id,
            text: "hey".into(),
        }))
        .await;
    }
    let mut refused = Vec::new();
    while refused.len() < 4 {
        if let ServerMsg::ChatAck(ack) = c.recv().await {
            refused.push(ack.refused);
        }
    }
    assert_eq!(
        refused,
        [
            None,
            None,
            Some("rate_limited".into()),
            Some("rate_limited".into())
        ]
    );
    c.recv_snapshot().await;
    server.stop().await;
}

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!";

fn authed_server_config() -> Config {
    Config {
        auth_secret: Some(SECRET.into()),
        ..Config::default()
    }
}

/// Connects with a token for `user` (naming `rooms`) and says hello.
async fn as_user(server: &TestServer, user: &str, rooms: &[&str]) -> Client {
    let auth = tickwire_server::auth::Auth::new(SECRET.as_bytes());
    let rooms: Vec<String> = rooms.iter().map(|r| r.to_string()).collect();
    let token = auth.mint(user, None, Duration::from_secs(600), &rooms);
    let url = format!("{}?token={token}", server.url());
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut c = Client::over(ws);
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "ignored".into(),
    }))
    .await;
    let ServerMsg::Welcome(w) = c.recv().await else {
        panic!("expected welcome")
    };
    assert_eq!(w.user_id, user);
    c.id = w.player_id;
    c.token = w.resume_token;
    c
}

#[tokio::test]
async fn a_second_connection_of_a_user_takes_its_seat_over() {
    let server = TestServer::start(Config {
        max_room_players: 2,
        ..authed_server_config()
    })
    .await;
    let mut watcher = as_user(&server, "wendy", &[]).await;
    assert!(matches!(
        join(&mut watcher, Some("r"), None).await,
        ServerMsg::Joined(_)
    ));
    let mut first = as_user(&server, "alice", &[]).await;
    assert!(matches!(
        join(&mut first, Some("r"), None).await,
        ServerMsg::Joined(_)
    ));
    // The room is full, but alice's new connection takes her own seat.
    let mut second = as_user(&server, "alice", &[]).await;
    let joined = join(&mut second, Some("r"), None).await;
    let ServerMsg::Joined(joined) = joined else {
        panic!("expected Joined, got {joined:?}")
    };
    assert_eq!(joined.players.len(), 1, "only the watcher: {joined:?}");
    let (code, reason) = first.recv_close().await;
    assert_eq!(code, 1008);
    assert!(reason.contains("taken over"), "{reason}");
    // The others see the old player leave and the new one arrive.
    let left = watcher
        .recv_where(|m| matches!(m, ServerMsg::PlayerLeft(_)))
        .await;
    assert!(matches!(left, ServerMsg::PlayerLeft(ref l) if l.id == first.id && l.name == "alice"));
    let arrived = watcher
        .recv_where(|m| matches!(m, ServerMsg::PlayerJoined(_)))
        .await;
    assert!(matches!(arrived, ServerMsg::PlayerJoined(ref j) if j.id == second.id));
    let snap = second.recv_snapshot().await;
    let mut ids: Vec<PlayerId> = snap.players.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [watcher.id, second.id]);
    // Counted once the old connection has finished closing.
    drop(first);
    let replaced = r#"tickwire_connections_closed_total{reason="replaced"}"#;
    for _ in 0..100 {
        if server.metric(replaced).await == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.metric(replaced).await, 1.0);
    server.stop().await;
}

#[tokio::test]
async fn a_token_naming_a_private_room_admits_without_a_key_and_resumes_are_per_user() {
    let server = TestServer::start(authed_server_config()).await;
    let mut owner = as_user(&server, "owner", &[]).await;
    assert!(matches!(
        create(&mut owner, "vip", true, None, None).await,
        ServerMsg::Joined(_)
    ));
    let mut stranger = as_user(&server, "stranger", &[]).await;
    assert_eq!(
        code(&join(&mut stranger, Some("vip"), None).await),
        Some(ErrorCode::ACCESS_DENIED)
    );
    let mut invited = as_user(&server, "invited", &["vip", "later"]).await;
    assert!(matches!(
        join(&mut invited, Some("vip"), None).await,
        ServerMsg::Joined(_)
    ));
    // A room the token names but nobody opened yet is not there.
    let mut other = as_user(&server, "invited2", &["later"]).await;
    assert_eq!(
        code(&join(&mut other, Some("later"), None).await),
        Some(ErrorCode::NOT_FOUND)
    );

    // A resume token is bound to its user: another user's connection cannot use it.
    let token = invited.token.clone();
    invited.reset();
    let mut thief = as_user(&server, "mallory", &[]).await;
    drop(thief.ws.close(None).await);
    let auth = tickwire_server::auth::Auth::new(SECRET.as_bytes());
    let url = |user: &str| {
        let t = auth.mint(user, None, Duration::from_secs(60), &[]);
        format!("{}?token={t}", server.url())
    };
    for (user, ok) in [("mallory", false), ("invited", true)] {
        let (ws, _) = tokio_tungstenite::connect_async(url(user)).await.unwrap();
        thief = Client::over(ws);
        thief
            .send(ClientMsg::Resume(Resume {
                token: token.clone(),
            }))
            .await;
        let answer = thief
            .recv_where(|m| matches!(m, ServerMsg::Resumed(_) | ServerMsg::Error(_)))
            .await;
        assert_eq!(
            matches!(answer, ServerMsg::Resumed(_)),
            ok,
            "{user}: {answer:?}"
        );
    }
    server.stop().await;
}
