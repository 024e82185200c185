//! Rooms on the in-memory harness, as players meet them: a move seen alike by both players
//! and a goodbye that is a leave at once, quick-join filling rooms to their cap, the lobby's
//! ping, the room limit given back when an empty room closes, private rooms (by key and by
//! a token naming them) and their precise refusals, and room chat with its refusals and
//! history.
//!
//! This is the lobby's, the registry's and the room's logic, so it runs on [`Harness`]:
//! virtual time, no sockets, every run the same. The same play over real sockets, once, is
//! the smoke test in `end_to_end.rs`; the registry's own rules (quick-join's choice,
//! capacity, seats) are unit tests beside it, in `src/rooms.rs`.

mod arena;

use std::time::Duration;

use arena::body;
use tickwire_server::Config;
use tickwire_server::identity::Identity;
use tickwire_server::rooms::RoomSummary;
use tickwire_server::testing::{ClientId, Ending, Harness};
use tickwire_server::transport::Frame;
use tickwire_shared::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn join(room: Option<&str>, key: Option<&str>) -> ClientMsg {
    ClientMsg::Join(Join {
        room: room.map(Into::into),
        key: key.map(Into::into),
    })
}

fn create(room: &str, private: bool, key: Option<&str>, capacity: Option<u32>) -> ClientMsg {
    ClientMsg::Create(Create {
        room: room.into(),
        private,
        key: key.map(Into::into),
        capacity,
    })
}

/// The error code of a refusal (`None` for any other answer).
fn code(answer: &ServerMsg) -> Option<ErrorCode> {
    match answer {
        ServerMsg::Error(e) => Some(e.code),
        _ => None,
    }
}

/// Client `c` asks with `msg`; the error code of the refusal (`None` for any other answer).
fn ask_code(h: &mut Harness, c: ClientId, msg: ClientMsg) -> Option<ErrorCode> {
    code(&h.ask(c, msg))
}

/// The room a `Joined` answer names (`None` for any other answer).
fn joined(answer: &ServerMsg) -> Option<&str> {
    match answer {
        ServerMsg::Joined(j) => Some(&j.room),
        _ => None,
    }
}

fn user(name: &str, rooms: &[&str]) -> Identity {
    Identity {
        user_id: Some(name.into()),
        name: Some(name.into()),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
    }
}

#[test]
fn a_move_is_seen_alike_by_both_players_and_a_goodbye_is_a_leave_at_once() {
    let mut h = Harness::new(Config::default());
    let ana = h.join("ana", Some("arena"));
    let bo = h.join("bo", Some("arena"));
    let (ana_id, bo_id) = (h.client(ana).id, h.client(bo).id);
    h.run_until(ms(100), |h| h.client(ana).replica.entities().len() == 2);
    let before = body(&h.client(ana).replica, ana_id).unwrap().pos();

    h.send_input(ana, 1, [1.0, 0.0]);
    // Ana sees input 1 acknowledged, and both see her moving right, in the same snapshot.
    h.run_until(ms(100), |h| {
        let acked = h.client(ana).last_snapshot().and_then(|s| s.acked) == Some(1);
        let moving = [ana, bo].iter().all(|&c| {
            let seen = body(&h.client(c).replica, ana_id);
            seen.is_some_and(|p| p.vx > 0)
        });
        acked && moving
    });
    let seen = body(&h.client(bo).replica, ana_id).unwrap();
    assert!(
        seen.pos()[0] > before[0],
        "moved right: {before:?} -> {seen:?}"
    );
    assert_eq!(
        h.client(ana).replica.entities(),
        h.client(bo).replica.entities()
    );
    for c in [ana, bo] {
        let ticks: Vec<u64> = h.client(c).snapshots.iter().map(|s| s.tick).collect();
        assert!(
            ticks.is_sorted_by(|a, b| a < b),
            "ticks go forward: {ticks:?}"
        );
    }

    // A close frame ends the session at once: the others are told, no seat is kept.
    h.send_frame(bo, Frame::Close);
    let left = h.expect(ana, |m| matches!(m, ServerMsg::PlayerLeft(_)));
    assert_eq!(
        left,
        ServerMsg::PlayerLeft(PlayerLeft {
            id: bo_id,
            name: "bo".into()
        })
    );
    assert_eq!(h.client(bo).ended, Some(Ending::Answered));
    assert_eq!(h.room("arena").unwrap().away(), 0);
    assert_eq!(h.rooms().list()[0].players, 1);
}

#[test]
fn quick_join_fills_a_room_to_its_cap_then_opens_another() {
    let mut h = Harness::new(Config {
        max_room_players: 3,
        ..Config::default()
    });
    let players: Vec<ClientId> = (0..7).map(|i| h.join(&format!("p{i}"), None)).collect();
    let rooms: Vec<&str> = players.iter().map(|&c| h.room_of(c).unwrap()).collect();
    assert_eq!(
        rooms,
        [
            "quick-1", "quick-1", "quick-1", "quick-2", "quick-2", "quick-2", "quick-3"
        ]
    );

    // A full named room refuses, and says which request it answers.
    let late = h.greet("late");
    let ServerMsg::Error(err) = h.ask(late, join(Some("quick-1"), None)) else {
        panic!("a full room refuses")
    };
    assert_eq!(
        (err.code, err.in_reply_to),
        (ErrorCode::ROOM_FULL, Some(Join::KIND))
    );

    // Once the room has let a leaver go, quick-1 (2 of 3) is the fullest room with space.
    h.send(players[1], ClientMsg::Leave(Leave {}));
    h.run_until(ms(100), |h| h.in_lobby(players[1]));
    let answer = h.ask(late, join(None, None));
    assert_eq!(joined(&answer), Some("quick-1"), "{answer:?}");
}

#[test]
fn a_ping_in_the_lobby_is_answered_with_tick_0() {
    let mut h = Harness::new(Config::default());
    let c = h.greet("pinger");
    h.send(c, ClientMsg::Ping(Ping { client_time: 12.5 }));
    h.step();
    assert_eq!(
        h.client_mut(c).take_all(),
        [ServerMsg::Pong(Pong {
            client_time: 12.5,
            server_tick: 0
        })]
    );
}

#[test]
fn an_empty_room_gives_its_place_under_the_room_limit_back_when_it_closes() {
    let mut h = Harness::new(Config {
        max_rooms: 1,
        room_idle_secs: 1,
        ..Config::default()
    });
    let c = h.join("wanderer", Some("first"));
    h.send(c, ClientMsg::Leave(Leave {}));
    h.run_until(ms(100), |h| h.in_lobby(c));
    let refused = h.ask(c, join(Some("second"), None));
    assert_eq!(code(&refused), Some(ErrorCode::UNAVAILABLE), "{refused:?}");

    h.run_until(ms(1_100), |h| h.room("first").is_none());
    assert!(h.rooms().list().is_empty());
    let answer = h.ask(c, join(Some("second"), None));
    assert_eq!(joined(&answer), Some("second"), "{answer:?}");
}

#[test]
fn private_rooms_answer_with_precise_codes_and_the_connection_stays_usable() {
    let mut h = Harness::new(Config::default());
    let owner = h.greet("owner");
    let answer = h.ask(owner, create("den", true, Some("sesame"), Some(2)));
    assert_eq!(joined(&answer), Some("den"), "{answer:?}");

    let guest = h.greet("guest");
    assert_eq!(
        ask_code(&mut h, guest, join(Some("den"), None)),
        Some(ErrorCode::ACCESS_DENIED)
    );
    assert_eq!(
        ask_code(&mut h, guest, join(Some("den"), Some("wrong"))),
        Some(ErrorCode::ACCESS_DENIED)
    );
    assert_eq!(
        ask_code(&mut h, guest, join(Some("nowhere"), Some("sesame"))),
        Some(ErrorCode::NOT_FOUND),
        "a key says a private room was meant: none is opened"
    );
    let other = h.greet("other");
    assert_eq!(
        ask_code(&mut h, other, create("den", false, None, None)),
        Some(ErrorCode::ROOM_EXISTS)
    );
    assert_eq!(
        ask_code(&mut h, other, create("big", false, None, Some(100_000))),
        Some(ErrorCode::INVALID_VALUE)
    );
    // Quick-join never lands in a private room.
    let quick = h.ask(other, join(None, None));
    assert!(
        joined(&quick).is_some_and(|room| room != "den"),
        "{quick:?}"
    );

    // The right key works; the room's capacity of 2 is then full.
    let ok = h.ask(guest, join(Some("den"), Some("sesame")));
    assert_eq!(joined(&ok), Some("den"), "{ok:?}");
    let third = h.greet("third");
    let full = h.ask(third, join(Some("den"), Some("sesame")));
    assert_eq!(code(&full), Some(ErrorCode::ROOM_FULL), "{full:?}");
    // After all those refusals the connection still works.
    let open = h.ask(third, join(Some("open"), None));
    assert_eq!(joined(&open), Some("open"), "{open:?}");
    let den = RoomSummary {
        id: "den".into(),
        players: 2,
        capacity: 2,
        private: true,
    };
    assert!(h.rooms().list().contains(&den), "{:?}", h.rooms().list());
}

#[test]
fn a_token_naming_a_private_room_admits_without_a_key() {
    let mut h = Harness::new(Config::default());
    let owner = h.greet_as(user("owner", &[]), "owner");
    let answer = h.ask(owner, create("vip", true, None, None));
    assert_eq!(joined(&answer), Some("vip"), "{answer:?}");

    let stranger = h.greet_as(user("stranger", &[]), "stranger");
    let refused = h.ask(stranger, join(Some("vip"), None));
    assert_eq!(
        code(&refused),
        Some(ErrorCode::ACCESS_DENIED),
        "{refused:?}"
    );
    let invited = h.greet_as(user("invited", &["vip", "later"]), "invited");
    let answer = h.ask(invited, join(Some("vip"), None));
    assert_eq!(joined(&answer), Some("vip"), "{answer:?}");
    // A room the token names but nobody opened yet is not there, and is not opened.
    let early = h.greet_as(user("early", &["later"]), "early");
    let answer = h.ask(early, join(Some("later"), None));
    assert_eq!(code(&answer), Some(ErrorCode::NOT_FOUND), "{answer:?}");
    assert!(h.rooms().get("later").is_none());
}

#[test]
fn chat_refusals_say_why_and_a_newcomer_gets_the_history_oldest_first() {
    let mut h = Harness::new(Config {
        chat_rate: 100,
        chat_burst: 100,
        chat_max_bytes: 16,
        ..Config::default()
    });
    let say = |id: u32, text: &[u8]| {
        ClientMsg::Chat(Chat {
            id,
            text: ChatText(text.to_vec()),
        })
    };
    let ana = h.join("ana", Some("r"));
    let bo = h.join("bo", Some("r"));
    let ana_id = h.client(ana).id;
    for i in 0..5 {
        h.send(ana, say(i, format!("a{i}").as_bytes()));
        h.send(bo, say(100 + i, format!("b{i}").as_bytes()));
    }
    h.send(ana, say(9, b""));
    h.send(ana, say(10, &[b'x'; 17]));
    h.send(ana, say(11, &[0xff, 0xfe]));
    h.run_for(ms(100));

    let chat = |h: &mut Harness, c| {
        let mut acks = Vec::new();
        let mut seen = Vec::new();
        for msg in h.client_mut(c).take_all() {
            match msg {
                ServerMsg::ChatAck(ack) => acks.push(ack),
                ServerMsg::ChatMessage(m) => seen.push(m),
                _ => {}
            }
        }
        (acks, seen)
    };
    let ids = |seen: &[ChatMessage]| seen.iter().map(|m| m.server_id).collect::<Vec<_>>();
    let (acks, at_ana) = chat(&mut h, ana);
    let (_, at_bo) = chat(&mut h, bo);
    assert_eq!(ids(&at_ana), (1..=10).collect::<Vec<_>>(), "no gaps");
    assert_eq!(ids(&at_ana), ids(&at_bo), "one order");
    let refused: Vec<(u32, &str)> = acks
        .iter()
        .filter_map(|a| Some((a.id, a.refused.as_deref()?)))
        .collect();
    assert_eq!(refused, [(9, "empty"), (10, "too_long"), (11, "not_utf8")]);
    for ack in acks.iter().filter(|a| a.refused.is_none()) {
        let m = at_ana
            .iter()
            .find(|m| m.server_id == ack.server_id)
            .unwrap();
        assert_eq!(m.text, format!("a{}", ack.id));
        assert_eq!((m.from, m.name.as_str()), (ana_id, "ana"));
        assert_eq!(m.time_ms, ack.time_ms, "the ack says when it was accepted");
    }

    // Outside a room chat is refused; a newcomer gets the history, oldest first.
    let late = h.greet("late");
    h.send(late, say(1, b"hi"));
    let ack = h.expect(late, |m| matches!(m, ServerMsg::ChatAck(_)));
    assert!(
        matches!(&ack, ServerMsg::ChatAck(a) if a.refused.as_deref() == Some("not_in_room")),
        "{ack:?}"
    );
    assert!(joined(&h.ask(late, join(Some("r"), None))).is_some());
    h.step();
    let (_, history) = chat(&mut h, late);
    assert_eq!(history, at_ana, "the same messages, in the same order");
}
