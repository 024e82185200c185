//! Watchers on the in-memory harness: a client that watches a room sees all of it and
//! its chat, takes no seat and no place in the game, may not act, and goes back to the
//! lobby when it leaves or the room closes.

use std::time::Duration;

use tickwire_shared::{Chat, ClientMsg, Create, ErrorCode, Join, Leave, Ping, ServerMsg, Watch};

use super::core::MAX_WATCHERS;
use crate::config::Config;
use crate::testing::{ClientId, Harness};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn watch(room: &str, key: Option<&str>) -> ClientMsg {
    ClientMsg::Watch(Watch {
        room: room.into(),
        key: key.map(Into::into),
    })
}

/// Greets as `name` and watches `room`, which must take it.
fn watcher(h: &mut Harness, name: &str, room: &str) -> ClientId {
    let c = h.greet(name);
    let answer = h.ask(c, watch(room, None));
    assert!(matches!(answer, ServerMsg::Joined(_)), "{answer:?}");
    c
}

/// The code of the error `c` got for `msg`.
fn refusal(h: &mut Harness, c: ClientId, msg: ClientMsg) -> ErrorCode {
    h.send(c, msg);
    match h.expect(c, |m| matches!(m, ServerMsg::Error(_))) {
        ServerMsg::Error(e) => e.code,
        _ => unreachable!(),
    }
}

#[test]
fn a_watcher_sees_the_room_but_takes_no_seat_and_nobody_is_told() {
    let mut h = Harness::new(Config::default());
    let ana = h.join("ana", Some("r"));
    let bo = h.join("bo", Some("r"));
    let carl = h.greet("carl");
    let ServerMsg::Joined(joined) = h.ask(carl, watch("r", None)) else {
        panic!("no Joined")
    };
    let mut names: Vec<_> = joined.players.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ana", "bo"]);
    h.run_until(ms(500), |h| h.client(carl).replica.entities().len() == 2);
    let (a, b) = (h.client(ana).id, h.client(bo).id);
    assert!(h.client(carl).replica.entity(a).is_some());
    assert!(h.client(carl).replica.entity(b).is_some());
    h.run_for(ms(200));
    let carl_id = h.client(carl).id;
    assert!(h.client(ana).replica.entity(carl_id).is_none(), "no entity");
    for c in [ana, bo] {
        assert!(
            !h.client(c)
                .inbox
                .iter()
                .any(|m| matches!(m, ServerMsg::PlayerJoined(p) if p.id == carl_id)),
            "the players are not told of a watcher"
        );
    }
    assert!(h.client(carl).snapshots.iter().all(|s| s.acked.is_none()));
    assert_eq!(h.rooms().list()[0].players, 2, "no seat taken");
    assert_eq!(h.room("r").unwrap().members(), 3);
}

#[test]
fn a_watcher_sees_every_entity_whatever_the_view_radius() {
    let mut h = Harness::new(Config {
        view_radius: Some(1.0),
        ..Config::default()
    });
    let ana = h.join("ana", Some("r"));
    let bo = h.join("bo", Some("r"));
    // Two players apart: each sees only itself.
    h.send_input(ana, 1, [1.0, 0.0]);
    h.send_input(bo, 1, [-1.0, 0.0]);
    h.run_for(ms(1_000));
    assert_eq!(h.client(ana).replica.entities().len(), 1);
    assert_eq!(h.client(bo).replica.entities().len(), 1);
    let carl = watcher(&mut h, "carl", "r");
    h.run_until(ms(500), |h| h.client(carl).replica.entities().len() == 2);
}

#[test]
fn a_watcher_may_not_play_or_chat_but_pings_and_leaves_to_the_lobby() {
    let mut h = Harness::new(Config::default());
    let ana = h.join("ana", Some("r"));
    let carl = watcher(&mut h, "carl", "r");
    h.send_input(carl, 1, [1.0, 0.0]);
    assert_eq!(
        h.expect(carl, |m| matches!(m, ServerMsg::Error(_))),
        ServerMsg::Error(tickwire_shared::Error {
            code: ErrorCode::NOT_IN_ROOM,
            message: "watching, not playing: join the room to play".into(),
            in_reply_to: Some(3),
        })
    );
    h.send(
        carl,
        ClientMsg::Chat(Chat {
            id: 9,
            text: "hi".into(),
        }),
    );
    let ServerMsg::ChatAck(ack) = h.expect(carl, |m| matches!(m, ServerMsg::ChatAck(_))) else {
        unreachable!()
    };
    assert_eq!((ack.id, ack.refused.as_deref()), (9, Some("watching")));
    // The players' chat reaches the watcher.
    h.send(
        ana,
        ClientMsg::Chat(Chat {
            id: 1,
            text: "gl hf".into(),
        }),
    );
    h.expect(
        carl,
        |m| matches!(m, ServerMsg::ChatMessage(c) if c.text == "gl hf"),
    );
    h.send(carl, ClientMsg::Ping(Ping { client_time: 4.0 }));
    h.expect(
        carl,
        |m| matches!(m, ServerMsg::Pong(p) if p.client_time == 4.0),
    );
    assert_eq!(
        refusal(&mut h, carl, watch("r", None)),
        ErrorCode::NOT_IN_ROOM
    );
    h.send(carl, ClientMsg::Leave(Leave {}));
    h.run_until(ms(100), |h| h.in_lobby(carl));
    assert_eq!(h.room("r").unwrap().members(), 1);
    // Back in the lobby, it may join as a player.
    let answer = h.ask(
        carl,
        ClientMsg::Join(Join {
            room: Some("r".into()),
            key: None,
        }),
    );
    assert!(matches!(answer, ServerMsg::Joined(_)), "{answer:?}");
    h.expect(
        ana,
        |m| matches!(m, ServerMsg::PlayerJoined(p) if p.name == "carl"),
    );
}

#[test]
fn watching_is_refused_for_missing_private_and_crowded_rooms() {
    let mut h = Harness::new(Config::default());
    let c = h.greet("carl");
    assert_eq!(
        refusal(&mut h, c, watch("nowhere", None)),
        ErrorCode::NOT_FOUND
    );
    assert!(h.rooms().list().is_empty(), "watching opens no room");
    let owner = h.greet("owner");
    let created = h.ask(
        owner,
        ClientMsg::Create(Create {
            room: "den".into(),
            private: true,
            key: Some("k3y".into()),
            capacity: None,
        }),
    );
    assert!(matches!(created, ServerMsg::Joined(_)), "{created:?}");
    assert_eq!(
        refusal(&mut h, c, watch("den", None)),
        ErrorCode::ACCESS_DENIED
    );
    assert_eq!(
        refusal(&mut h, c, watch("den", Some("nope"))),
        ErrorCode::ACCESS_DENIED
    );
    assert!(matches!(
        h.ask(c, watch("den", Some("k3y"))),
        ServerMsg::Joined(_)
    ));

    h.join("ana", Some("busy"));
    for i in 0..MAX_WATCHERS {
        watcher(&mut h, &format!("w{i}"), "busy");
    }
    let late = h.greet("late");
    assert_eq!(
        refusal(&mut h, late, watch("busy", None)),
        ErrorCode::ROOM_FULL
    );
    assert!(h.in_lobby(late));
}

#[test]
fn watchers_do_not_keep_a_room_open_and_go_back_to_the_lobby_when_it_closes() {
    let mut h = Harness::new(Config {
        room_idle_secs: 2,
        ..Config::default()
    });
    let ana = h.join("ana", Some("r"));
    let carl = watcher(&mut h, "carl", "r");
    h.send(ana, ClientMsg::Leave(Leave {}));
    h.run_until(ms(3_000), |h| h.room("r").is_none());
    let ServerMsg::Error(e) = h.expect(carl, |m| matches!(m, ServerMsg::Error(_))) else {
        unreachable!()
    };
    assert_eq!(e.code, ErrorCode::NOT_FOUND);
    assert!(h.in_lobby(carl));
}

#[test]
fn a_lost_watcher_resumes_into_the_lobby() {
    let mut h = Harness::new(Config::default());
    h.join("ana", Some("r"));
    let carl = watcher(&mut h, "carl", "r");
    let (id, token) = (h.client(carl).id, h.client(carl).token.clone());
    h.reset(carl);
    h.run_for(ms(200));
    assert_eq!(h.room("r").unwrap().members(), 1);
    let (_, answer) = h.resume(&token);
    let ServerMsg::Resumed(resumed) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!((resumed.player_id, resumed.room), (id, None));
}
