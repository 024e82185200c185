//! Sessions on the in-memory harness: resuming a lost connection within the grace (and
//! not after it), which tokens are refused, a player lost in the lobby, a user's second
//! connection taking its seat over, and resume tokens bound to their user.
//!
//! All of this is the lobby's, the sessions' and the room's logic, so it runs on
//! [`Harness`]: virtual time, every run the same, and a lost connection is exactly the
//! loss the test says (a reset, with or without what the server had not read yet).
//! Authentication itself (the token in the handshake) is over real sockets in `auth.rs`;
//! here a connection is given the identity a token would have named.

mod arena;

use std::time::Duration;

use arena::body;
use tickwire_server::Config;
use tickwire_server::identity::Identity;
use tickwire_server::testing::{ClientId, Harness};
use tickwire_shared::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn join(room: &str) -> ClientMsg {
    ClientMsg::Join(Join {
        room: Some(room.into()),
        key: None,
    })
}

fn resume(token: &str) -> ClientMsg {
    ClientMsg::Resume(Resume {
        token: token.into(),
    })
}

fn user(name: &str) -> Identity {
    Identity {
        user_id: Some(name.into()),
        name: Some(name.into()),
        rooms: Vec::new(),
    }
}

/// The newest of its own inputs client `c`'s latest snapshot acknowledges.
fn acked(h: &Harness, c: ClientId) -> Option<u32> {
    h.client(c).last_snapshot()?.acked
}

/// Runs `ticks` ticks while `watcher` watches player `id`: it stays in every snapshot,
/// never moves further in a tick than its top speed allows, and nobody is told it left or
/// joined.
fn watch_steady(h: &mut Harness, watcher: ClientId, id: PlayerId, ticks: usize) {
    let position = |h: &Harness| {
        let p = body(&h.client(watcher).replica, id);
        p.unwrap_or_else(|| panic!("player {id} is not in the watcher's room"))
            .pos()
    };
    let mut before = position(h);
    for _ in 0..ticks {
        h.step();
        let now = position(h);
        let moved = ((now[0] - before[0]).powi(2) + (now[1] - before[1]).powi(2)).sqrt();
        // 300 units/s at 60 Hz is 5 a tick; pushes from others add a little.
        assert!(moved <= 6.0, "player {id} jumped {moved} in a tick");
        before = now;
    }
    let told = h.client(watcher).inbox.iter().any(|m| match m {
        ServerMsg::PlayerLeft(left) => left.id == id,
        ServerMsg::PlayerJoined(joined) => joined.id == id,
        _ => false,
    });
    assert!(!told, "the others were told of a leave or a join");
}

#[test]
fn a_resume_within_the_grace_keeps_the_player_and_applies_each_input_once() {
    let mut h = Harness::new(Config::default());
    let watcher = h.join("watcher", Some("r"));
    let runner = h.join("runner", Some("r"));
    let id = h.client(runner).id;
    let token = h.client(runner).token.clone();
    h.expect(
        watcher,
        |m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == id),
    );

    // Twenty inputs, each turning a little, sent at once. The room reads
    // `frames_per_tick` of them at its next tick; then the line is cut, and what the
    // server had not read yet is lost with it.
    let dir = |seq: u32| {
        let a = seq as f32 * 0.1;
        [a.cos(), a.sin()]
    };
    for seq in 1..=20 {
        h.send_input(runner, seq, dir(seq));
    }
    h.step();
    h.pipe_mut(runner).to_server.clear();
    h.reset(runner);
    watch_steady(&mut h, watcher, id, 30);
    assert_eq!(h.room("r").unwrap().away(), 1);

    let (back, answer) = h.resume(&token);
    let ServerMsg::Resumed(resumed) = answer else {
        panic!("expected Resumed, got {answer:?}")
    };
    assert_eq!(
        (resumed.player_id, resumed.room.as_deref()),
        (id, Some("r"))
    );
    let watcher_info = PlayerInfo {
        id: h.client(watcher).id,
        name: "watcher".into(),
    };
    assert_eq!(resumed.players, [watcher_info]);
    assert_ne!(resumed.resume_token, token, "a fresh token");
    // A full snapshot comes with the answer, acknowledging what the room had read.
    h.run_until(ms(100), |h| !h.client(back).snapshots.is_empty());
    let first = h.client(back).snapshots[0];
    assert_eq!(first.base_tick, None, "a keyframe");
    let read = Config::default().frames_per_tick as u32;
    assert_eq!(first.acked, Some(read), "what one tick read before the cut");

    // The client re-sends what no snapshot acknowledged, and the acknowledged ones too,
    // pointing the other way: those must not be applied a second time.
    for seq in 1..=read {
        h.send_input(back, seq, [-1.0, 0.0]);
    }
    for seq in read + 1..=20 {
        h.send_input(back, seq, dir(seq));
    }
    h.run_until(ms(200), |h| acked(h, back) == Some(20));
    watch_steady(&mut h, watcher, id, 40);
    let v = body(&h.client(watcher).replica, id).unwrap().vel();
    let want = dir(20);
    assert!(
        v[0] * want[0] + v[1] * want[1] > 250.0,
        "velocity {v:?} follows input 20, not the repeats"
    );
}

#[test]
fn a_token_refused_after_the_grace_leaves_the_connection_as_new() {
    let mut h = Harness::new(Config {
        resume_grace_ms: 300,
        ..Config::default()
    });
    let watcher = h.join("watcher", Some("r"));
    let gone = h.join("gone", Some("r"));
    let (id, token) = (h.client(gone).id, h.client(gone).token.clone());
    h.reset(gone);
    let left = h.expect(watcher, |m| matches!(m, ServerMsg::PlayerLeft(_)));
    assert_eq!(
        left,
        ServerMsg::PlayerLeft(PlayerLeft {
            id,
            name: "gone".into()
        })
    );

    let (late, answer) = h.resume(&token);
    let ServerMsg::Error(err) = answer else {
        panic!("expected a refusal, got {answer:?}")
    };
    assert_eq!(
        (err.code, err.in_reply_to),
        (ErrorCode::RESUME_REFUSED, Some(Resume::KIND))
    );
    // The connection is as it was before any message: a hello and a join work.
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "fresh".into(),
    });
    let ServerMsg::Welcome(welcome) = h.ask(late, hello) else {
        panic!("expected a welcome")
    };
    assert_ne!(welcome.player_id, id, "a new player");
    assert!(matches!(h.ask(late, join("r")), ServerMsg::Joined(_)));
}

#[test]
fn spent_made_up_and_connected_lobby_tokens_are_refused_and_resume_comes_first_or_not_at_all() {
    let mut h = Harness::new(Config::default());
    let player = h.join("p", Some("r"));
    let token = h.client(player).token.clone();
    h.reset(player);
    h.run_until(ms(100), |h| h.room("r").unwrap().away() == 1);
    let (back, answer) = h.resume(&token);
    assert!(matches!(answer, ServerMsg::Resumed(_)), "{answer:?}");

    let lobby = h.greet("lobby");
    let lobby_token = h.client(lobby).token.clone();
    for stolen in [
        token.as_str(),
        "00000000000000000000000000000000",
        &lobby_token,
    ] {
        let (_, answer) = h.resume(stolen);
        let ServerMsg::Error(err) = answer else {
            panic!("{stolen}: expected a refusal, got {answer:?}")
        };
        assert_eq!(err.code, ErrorCode::RESUME_REFUSED, "{stolen}");
    }
    // After hello, a resume is out of place, even with a live token.
    let greeted = h.greet("g");
    let live = h.client(back).token.clone();
    let answer = h.ask(greeted, resume(&live));
    assert!(
        matches!(&answer, ServerMsg::Error(e) if e.code == ErrorCode::BAD_STATE),
        "{answer:?}"
    );
}

#[test]
fn a_resume_replaces_a_connection_that_still_looks_alive() {
    let mut h = Harness::new(Config::default());
    let watcher = h.join("watcher", Some("r"));
    let old = h.join("half-open", Some("r"));
    let id = h.client(old).id;
    h.expect(
        watcher,
        |m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == id),
    );
    // The client gave up on a connection that the server still sees open, and resumes.
    let token = h.client(old).token.clone();
    let (new, answer) = h.resume(&token);
    assert!(
        matches!(&answer, ServerMsg::Resumed(r) if r.player_id == id),
        "{answer:?}"
    );
    let (code, reason) = h.client(old).close().unwrap();
    assert_eq!(code, 1008);
    assert!(reason.contains("replaced"), "{reason}");
    let room = h.room("r").unwrap();
    assert_eq!((room.members(), room.away()), (2, 0));
    assert_eq!(h.rooms().list()[0].players, 2, "the same seat");
    h.run_until(ms(100), |h| h.client(new).replica.entity(id).is_some());
    assert!(
        !h.client(watcher)
            .inbox
            .iter()
            .any(|m| matches!(m, ServerMsg::PlayerLeft(_) | ServerMsg::PlayerJoined(_))),
        "the others see the same player go on"
    );
    let replaced = h.metric(r#"tickwire_connections_closed_total{reason="replaced"}"#);
    assert_eq!(replaced, 1.0);
}

#[test]
fn a_player_lost_in_the_lobby_resumes_there() {
    let mut h = Harness::new(Config::default());
    let player = h.greet("lobbyist");
    let (id, token) = (h.client(player).id, h.client(player).token.clone());
    h.reset(player);
    h.run_until(ms(100), |h| !h.in_lobby(player));
    let (back, answer) = h.resume(&token);
    assert_eq!(
        answer,
        ServerMsg::Resumed(Resumed {
            player_id: id,
            room: None,
            players: vec![],
            resume_token: h.client(back).token.clone(),
            schema: None,
        })
    );
    assert_ne!(h.client(back).token, token);
    let quick = ClientMsg::Join(Join {
        room: None,
        key: None,
    });
    assert!(matches!(h.ask(back, quick), ServerMsg::Joined(_)));
    h.run_until(ms(100), |h| h.client(back).replica.entity(id).is_some());
}

#[test]
fn a_users_second_connection_takes_its_seat_over_even_in_a_full_room() {
    let mut h = Harness::new(Config {
        max_room_players: 2,
        ..Config::default()
    });
    let watcher = h.greet_as(user("wendy"), "wendy");
    assert!(matches!(h.ask(watcher, join("r")), ServerMsg::Joined(_)));
    let first = h.greet_as(user("alice"), "alice");
    assert!(matches!(h.ask(first, join("r")), ServerMsg::Joined(_)));
    let old_id = h.client(first).id;
    h.expect(
        watcher,
        |m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == old_id),
    );
    let stranger = h.greet_as(user("stranger"), "stranger");
    let full = h.ask(stranger, join("r"));
    assert!(
        matches!(&full, ServerMsg::Error(e) if e.code == ErrorCode::ROOM_FULL),
        "{full:?}"
    );

    // The room is full, but alice's new connection takes her own seat.
    let second = h.greet_as(user("alice"), "alice");
    let ServerMsg::Joined(joined) = h.ask(second, join("r")) else {
        panic!("expected Joined")
    };
    let wendy = PlayerInfo {
        id: h.client(watcher).id,
        name: "wendy".into(),
    };
    assert_eq!(joined.players, [wendy], "only the watcher is left to see");
    let (code, reason) = h.client(first).close().unwrap();
    assert_eq!(code, 1008);
    assert!(reason.contains("taken over"), "{reason}");
    // The others see the old player leave, then the new one arrive.
    let new_id = h.client(second).id;
    let seen: Vec<ServerMsg> = h
        .client_mut(watcher)
        .take_all()
        .into_iter()
        .filter(|m| matches!(m, ServerMsg::PlayerLeft(_) | ServerMsg::PlayerJoined(_)))
        .collect();
    assert_eq!(
        seen,
        [
            ServerMsg::PlayerLeft(PlayerLeft {
                id: old_id,
                name: "alice".into()
            }),
            ServerMsg::PlayerJoined(PlayerJoined {
                id: new_id,
                name: "alice".into()
            }),
        ]
    );
    h.run_until(ms(100), |h| h.client(second).replica.entities().len() == 2);
    assert!(h.client(second).replica.entity(old_id).is_none());
    assert_eq!(h.rooms().list()[0].players, 2, "two seats, not three");
    let replaced = h.metric(r#"tickwire_connections_closed_total{reason="replaced"}"#);
    assert_eq!(replaced, 1.0);
}

#[test]
fn a_resume_token_serves_only_its_own_user() {
    let mut h = Harness::new(Config::default());
    let player = h.greet_as(user("alice"), "alice");
    assert!(matches!(h.ask(player, join("r")), ServerMsg::Joined(_)));
    let token = h.client(player).token.clone();
    h.reset(player);
    h.run_until(ms(100), |h| h.room("r").unwrap().away() == 1);

    let thief = h.connect_as(user("mallory"));
    let answer = h.ask(thief, resume(&token));
    assert!(
        matches!(&answer, ServerMsg::Error(e) if e.code == ErrorCode::RESUME_REFUSED),
        "{answer:?}"
    );
    // The refusal spent nothing: the token still takes alice back.
    let back = h.connect_as(user("alice"));
    let answer = h.ask(back, resume(&token));
    assert!(
        matches!(&answer, ServerMsg::Resumed(r) if r.room.as_deref() == Some("r")),
        "{answer:?}"
    );
}
