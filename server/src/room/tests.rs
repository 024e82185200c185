//! The room's behaviour, tick by tick, on the in-memory harness: joins and rosters (and
//! the game's schema they carry), inputs and their acknowledgement (each client its own),
//! refused inputs, events ahead of their snapshot, pings, drops and resumes, take-overs,
//! chat order, the send schedule, slow and stalled sockets, the read budget, the idle
//! close and shutdown.
//!
//! Most tests play the arena; what the room does for any game (refusals by the game, events)
//! is tested with [`Probe`], a game made for it.

use std::time::Duration;

use tickwire_shared::InputValue::{Float, Int};
use tickwire_shared::{
    Chat, ChatText, ClientMsg, ErrorCode, Input, Leave, Ping, PlayerId, PlayerInfo, ServerMsg,
};

use crate::config::Config;
use crate::game::{
    Audience, EventKind, Events, Field, Game, InputField, InputValues, InvalidInput, Kind, Schema,
    World,
};
use crate::games::arena::{Arena, PLAYER};
use crate::identity::Identity;
use crate::testing::{ClientId, Ending, Harness};
use crate::transport::Frame;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The arena's input `seq`: run toward `dir`, facing 0, no buttons.
fn input(seq: u32, dir: [f32; 2]) -> ClientMsg {
    let [dx, dy] = dir.map(|x| Float(x.into()));
    ClientMsg::Input(Input {
        seq,
        view_tick: 0,
        values: vec![dx, dy, Float(0.0), Int(0)],
    })
}

/// Arena player `id`'s velocity along x, in whole units per second, as client `c` holds it.
fn vx(h: &Harness, c: ClientId, id: PlayerId) -> Option<i64> {
    let schema = Arena::schema();
    let at = schema.kinds[usize::from(PLAYER)]
        .index_of("vx")
        .expect("a field vx");
    let e = h.client(c).replica.entity(id)?;
    Some(e.values[usize::from(at)].int())
}

fn say(id: u32, text: &str) -> ClientMsg {
    ClientMsg::Chat(Chat {
        id,
        text: ChatText(text.as_bytes().to_vec()),
    })
}

/// The newest of `c`'s own inputs its latest snapshot acknowledges (0: none).
fn acked<G: Game>(h: &Harness<G>, c: ClientId) -> u32 {
    h.client(c)
        .last_snapshot()
        .and_then(|s| s.acked)
        .unwrap_or(0)
}

#[test]
fn a_joiner_gets_the_roster_and_the_others_are_told() {
    let mut h = Harness::new(Config::default());
    let a = h.join("ana", Some("r"));
    let b = h.greet("bo");
    h.send(
        b,
        ClientMsg::Join(tickwire_shared::Join {
            room: Some("r".into()),
            key: None,
        }),
    );
    let ServerMsg::Joined(joined) = h.expect(b, |m| matches!(m, ServerMsg::Joined(_))) else {
        unreachable!()
    };
    let ana = PlayerInfo {
        id: h.client(a).id,
        name: "ana".into(),
    };
    assert_eq!((joined.room.as_str(), joined.players), ("r", vec![ana]));
    let bo = h.client(b).id;
    h.expect(a, |m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == bo));
    // Both hold both players from the first snapshot after the join.
    h.run_until(ms(100), |h| {
        h.client(a).replica.entities().len() == 2 && h.client(b).replica.entities().len() == 2
    });
}

#[test]
fn inputs_are_acknowledged_and_old_or_repeated_ones_are_dropped() {
    let mut h = Harness::new(Config::default());
    let c = h.join("runner", Some("r"));
    h.send(c, input(10, [1.0, 0.0]));
    h.run_until(ms(100), |h| acked(h, c) == 10);
    // A repeat and older numbers, asking for the other way, change nothing.
    for seq in [10, 9, 1] {
        h.send(c, input(seq, [-1.0, 0.0]));
    }
    h.run_for(ms(200));
    assert_eq!(acked(&h, c), 10);
    let me = h.client(c).id;
    assert!(vx(&h, c, me).unwrap() > 0, "still running right");
    assert!(
        h.client(c)
            .inbox
            .iter()
            .all(|m| !matches!(m, ServerMsg::Error(_))),
        "dropped silently"
    );
    h.send(c, input(11, [-1.0, 0.0]));
    h.run_until(ms(100), |h| acked(h, c) == 11);
}

#[test]
fn a_ping_is_answered_with_the_rooms_tick() {
    let mut h = Harness::new(Config::default());
    let c = h.join("pinger", Some("r"));
    h.run_for(ms(500));
    h.send(c, ClientMsg::Ping(Ping { client_time: 7.5 }));
    let ServerMsg::Pong(pong) = h.expect(c, |m| matches!(m, ServerMsg::Pong(_))) else {
        unreachable!()
    };
    let tick = h.room("r").unwrap().tick();
    assert_eq!(pong.client_time, 7.5);
    assert!(
        (25..=tick).contains(&pong.server_tick),
        "{pong:?} at {tick}"
    );
}

#[test]
fn a_lost_player_is_kept_away_and_resumes_where_it_was() {
    let mut h = Harness::new(Config::default());
    let watcher = h.join("watcher", Some("r"));
    let runner = h.join("runner", Some("r"));
    let id = h.client(runner).id;
    let token = h.client(runner).token.clone();
    h.send(runner, input(5, [1.0, 0.0]));
    h.run_until(ms(100), |h| acked(h, runner) == 5);
    h.reset(runner);
    h.run_for(ms(500));
    let room = h.room("r").unwrap();
    assert_eq!((room.members(), room.away()), (1, 1));
    assert!(h.client(watcher).replica.entity(id).is_some(), "still seen");
    assert!(
        !h.client(watcher)
            .inbox
            .iter()
            .any(|m| matches!(m, ServerMsg::PlayerLeft(_))),
        "nobody was told"
    );

    let (back, answer) = h.resume(&token);
    let ServerMsg::Resumed(resumed) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        (resumed.player_id, resumed.room.as_deref()),
        (id, Some("r"))
    );
    assert_ne!(resumed.resume_token, token);
    // The sequence filter survived: input 5 again is not applied, 6 is.
    h.send(back, input(5, [-1.0, 0.0]));
    h.send(back, input(6, [0.0, 1.0]));
    h.run_until(ms(100), |h| acked(h, back) == 6);
    let room = h.room("r").unwrap();
    assert_eq!((room.members(), room.away()), (2, 0));
}

#[test]
fn an_away_player_leaves_for_good_when_its_grace_ends() {
    let mut h = Harness::new(Config {
        resume_grace_ms: 1_000,
        ..Config::default()
    });
    let watcher = h.join("watcher", Some("r"));
    let lost = h.join("lost", Some("r"));
    let id = h.client(lost).id;
    let token = h.client(lost).token.clone();
    h.reset(lost);
    h.run_for(ms(900));
    assert_eq!(h.room("r").unwrap().away(), 1);
    h.expect(
        watcher,
        |m| matches!(m, ServerMsg::PlayerLeft(l) if l.id == id),
    );
    assert!(h.elapsed() >= ms(1_000), "not before the grace");
    let (_, answer) = h.resume(&token);
    assert!(
        matches!(&answer, ServerMsg::Error(e) if e.code == ErrorCode::RESUME_REFUSED),
        "{answer:?}"
    );
}

#[test]
fn a_second_connection_of_a_user_takes_the_seat_over() {
    let mut h = Harness::new(Config::default());
    let alice = Identity {
        user_id: Some("alice".into()),
        ..Identity::default()
    };
    let join = |h: &mut Harness| {
        let c = h.connect_as(alice.clone());
        h.send(
            c,
            ClientMsg::Hello(tickwire_shared::Hello {
                version: tickwire_shared::PROTOCOL_VERSION,
                name: "alice".into(),
            }),
        );
        h.send(
            c,
            ClientMsg::Join(tickwire_shared::Join {
                room: Some("r".into()),
                key: None,
            }),
        );
        h.expect(c, |m| matches!(m, ServerMsg::Joined(_)));
        c
    };
    let first = join(&mut h);
    let second = join(&mut h);
    h.run_until(ms(100), |h| h.client(first).ended.is_some());
    let (code, reason) = h.client(first).close().unwrap();
    assert_eq!(code, 1008);
    assert!(reason.contains("taken over"), "{reason}");
    assert_eq!(h.room("r").unwrap().members(), 1);
    assert_eq!(h.rooms().list()[0].players, 1, "one seat, not two");
    h.run_until(ms(100), |h| h.client(second).replica.entities().len() == 1);
}

#[test]
fn chat_is_acked_before_the_senders_copy_and_ordered_the_same_for_all() {
    let mut h = Harness::new(Config {
        chat_rate: 100,
        chat_burst: 100,
        ..Config::default()
    });
    let a = h.join("ana", Some("r"));
    let b = h.join("bo", Some("r"));
    for i in 0..3 {
        h.send(a, say(i, "from ana"));
        h.send(b, say(10 + i, "from bo"));
    }
    h.run_for(ms(100));
    let chat = |h: &mut Harness, c| -> Vec<ServerMsg> {
        h.client_mut(c)
            .take_all()
            .into_iter()
            .filter(|m| matches!(m, ServerMsg::ChatAck(_) | ServerMsg::ChatMessage(_)))
            .collect()
    };
    let ids = |msgs: &[ServerMsg]| -> Vec<u64> {
        msgs.iter()
            .filter_map(|m| match m {
                ServerMsg::ChatMessage(m) => Some(m.server_id),
                _ => None,
            })
            .collect()
    };
    let (at_a, at_b) = (chat(&mut h, a), chat(&mut h, b));
    assert_eq!(ids(&at_a), (1..=6).collect::<Vec<_>>());
    assert_eq!(ids(&at_a), ids(&at_b), "one order for everyone");
    for msgs in [&at_a, &at_b] {
        for (i, msg) in msgs.iter().enumerate() {
            if let ServerMsg::ChatAck(ack) = msg {
                let own = msgs[i..].iter().any(
                    |m| matches!(m, ServerMsg::ChatMessage(c) if c.server_id == ack.server_id),
                );
                assert!(own, "the ack comes before the sender's own copy: {msgs:?}");
            }
        }
    }
}

#[test]
fn chat_over_the_rate_is_refused_and_the_sender_stays() {
    let mut h = Harness::new(Config {
        chat_rate: 1,
        chat_burst: 2,
        ..Config::default()
    });
    let c = h.join("chatty", Some("r"));
    for i in 0..4 {
        h.send(c, say(i, "hi"));
    }
    h.run_for(ms(50));
    let refused: Vec<Option<String>> = h
        .client_mut(c)
        .take_all()
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::ChatAck(ack) => Some(ack.refused),
            _ => None,
        })
        .collect();
    let rate_limited = Some("rate_limited".to_owned());
    assert_eq!(refused, [None, None, rate_limited.clone(), rate_limited]);
    // A second later the bucket has refilled.
    h.run_for(ms(1_000));
    h.send(c, say(9, "again"));
    h.run_for(ms(50));
    assert!(
        h.client_mut(c)
            .take(|m| matches!(m, ServerMsg::ChatAck(a) if a.refused.is_none()))
            .is_some()
    );
}

#[test]
fn with_send_every_3_snapshots_come_every_third_tick_as_deltas_of_the_one_before() {
    let mut h = Harness::new(Config {
        send_every: 3,
        ..Config::default()
    });
    let c = h.join("watcher", Some("r"));
    h.run_for(ms(1_000));
    let seen = &h.client(c).snapshots;
    assert!(
        (18..=21).contains(&seen.len()),
        "{} snapshots in 1 s",
        seen.len()
    );
    for pair in seen.windows(2) {
        assert_eq!(pair[1].tick - pair[0].tick, 3, "{pair:?}");
        if let Some(base) = pair[1].base_tick {
            assert_eq!(base, pair[0].tick, "a delta names the snapshot before");
        }
    }
    assert!(seen.iter().skip(1).any(|s| s.base_tick.is_some()), "deltas");
}

#[test]
fn a_stalled_socket_gets_the_newest_snapshot_then_is_closed_after_the_stall_timeout() {
    let mut h = Harness::new(Config {
        stall_timeout_ms: 500,
        ..Config::default()
    });
    let watcher = h.join("watcher", Some("r"));
    let sleeper = h.join("sleeper", Some("r"));
    h.run_for(ms(100));
    h.stall(sleeper, true);
    let stalled_at = h.elapsed();
    let before = h.client(sleeper).snapshots.len();
    h.run_for(ms(300));
    assert_eq!(
        h.client(sleeper).snapshots.len(),
        before,
        "nothing gets through"
    );
    assert!(
        h.metrics().snapshots_dropped.get() > 10,
        "replaced, latest wins"
    );
    h.stall(sleeper, false);
    h.step();
    let last = *h.client(sleeper).last_snapshot().unwrap();
    assert_eq!(
        last.tick,
        h.room("r").unwrap().tick(),
        "the newest, not a backlog"
    );
    assert_eq!(
        last.base_tick, None,
        "a keyframe: the replaced ones never arrived"
    );

    h.stall(sleeper, true);
    let id = h.client(sleeper).id;
    h.run_until(ms(1_000), |h| h.room("r").unwrap().away() == 1);
    assert!(h.elapsed() - stalled_at >= ms(800), "{:?}", h.elapsed());
    assert_eq!(
        h.client(sleeper).ended,
        Some(Ending::Cut),
        "a stalled peer gets no close"
    );
    // A stall is a loss: the player stays away, and the watcher is not told.
    assert!(h.client(watcher).replica.entity(id).is_some());
}

#[test]
fn a_client_whose_reliable_queue_overflows_is_closed_as_too_slow() {
    let mut h = Harness::new(Config {
        reliable_queue: 8,
        message_rate: 1_000,
        message_burst: 1_000,
        ..Config::default()
    });
    let c = h.join("slow", Some("r"));
    h.stall(c, true);
    for _ in 0..20 {
        h.send(c, ClientMsg::Ping(Ping { client_time: 0.0 }));
    }
    h.run_until(ms(200), |h| h.room("r").unwrap().members() == 0);
    let text = h.metrics().encode();
    assert!(
        text.contains("tickwire_connections_closed_total{reason=\"slow\"} 1"),
        "{text}"
    );
}

#[test]
fn a_tick_reads_at_most_frames_per_tick_frames_from_one_client() {
    let mut h = Harness::new(Config {
        frames_per_tick: 4,
        input_burst: 1_000,
        ..Config::default()
    });
    let c = h.join("flooder", Some("r"));
    for seq in 1..=40 {
        h.send(c, input(seq, [0.0, 0.0]));
    }
    h.step();
    h.step();
    assert_eq!(acked(&h, c), 8, "two ticks, four frames each");
    h.run_until(ms(500), |h| acked(h, c) == 40);
}

#[test]
fn a_leaver_goes_back_to_the_lobby_and_the_empty_room_closes_after_its_idle_time() {
    let mut h = Harness::new(Config {
        room_idle_secs: 2,
        ..Config::default()
    });
    let c = h.join("wanderer", Some("first"));
    h.send(c, ClientMsg::Leave(Leave {}));
    h.run_until(ms(100), |h| h.in_lobby(c));
    let left_at = h.elapsed();
    h.run_until(ms(3_000), |h| h.room("first").is_none());
    let idle = h.elapsed() - left_at;
    assert!(
        (ms(2_000)..ms(2_100)).contains(&idle),
        "closed after {idle:?}"
    );
    assert!(h.rooms().list().is_empty());
}

#[test]
fn text_frames_close_with_1003_and_the_others_are_told() {
    let mut h = Harness::new(Config::default());
    let watcher = h.join("watcher", Some("r"));
    let texter = h.join("texter", Some("r"));
    let id = h.client(texter).id;
    h.send_frame(texter, Frame::Text);
    h.expect(
        watcher,
        |m| matches!(m, ServerMsg::PlayerLeft(l) if l.id == id),
    );
    let (code, reason) = h.client(texter).close().unwrap();
    assert_eq!(code, 1003, "{reason}");
    assert_eq!(h.room("r").unwrap().away(), 0, "breaking a rule is no loss");
}

#[test]
fn shutdown_closes_everyone_with_1001() {
    let mut h = Harness::new(Config::default());
    let playing = h.join("playing", Some("r"));
    let waiting = h.greet("waiting");
    h.shutdown();
    for c in [playing, waiting] {
        assert_eq!(h.client(c).close().map(|(code, _)| code), Some(1001));
    }
    let text = h.metrics().encode();
    assert!(
        text.contains("tickwire_connections_closed_total{reason=\"shutdown\"} 2"),
        "both counted as shut down: {text}"
    );
}

#[test]
fn a_stopping_node_tells_its_members_where_to_go_before_the_close() {
    let mut h = Harness::new(Config::default());
    let ana = h.join("ana", Some("r"));
    let bo = h.join("bo", Some("r"));
    let elsewhere = crate::cluster::Elsewhere::default();
    elsewhere.set(Some("ws://b:4000"));
    h.shutdown_with(elsewhere.redirect());
    for c in [ana, bo] {
        let redirect = h
            .client_mut(c)
            .take(|m| matches!(m, ServerMsg::Redirect(_)));
        let Some(ServerMsg::Redirect(r)) = redirect else {
            panic!("no redirect before the close");
        };
        assert_eq!((r.url.as_str(), r.in_reply_to), ("ws://b:4000", None));
        assert_eq!(h.client(c).close().map(|(code, _)| code), Some(1001));
    }
}

#[test]
fn a_notice_reaches_its_user_or_every_member() {
    let mut h = Harness::new(Config::default());
    let ana = h.join("ana", Some("r"));
    let bo = h.join("bo", Some("r"));
    h.run_for(ms(50));
    let ana_user = format!("anon-{}", h.client(ana).id);
    let notices = |h: &mut Harness, c| -> Vec<(String, bool)> {
        h.client_mut(c)
            .take_all()
            .into_iter()
            .filter_map(|m| match m {
                ServerMsg::Notice(n) => Some((n.text, n.to_all)),
                _ => None,
            })
            .collect()
    };
    let one = crate::cluster::node::notice("to ana".into(), false);
    assert_eq!(h.rooms().notify(Some(&ana_user), &one), 1, "ana's room");
    assert_eq!(h.rooms().notify(Some("nobody"), &one), 0);
    h.run_for(ms(50));
    assert_eq!(notices(&mut h, ana), [("to ana".to_owned(), false)]);
    assert_eq!(notices(&mut h, bo), []);
    let all = crate::cluster::node::notice("to all".into(), true);
    assert_eq!(h.rooms().notify(None, &all), 1);
    h.run_for(ms(50));
    for c in [ana, bo] {
        assert_eq!(notices(&mut h, c), [("to all".to_owned(), true)]);
    }
}

/// A game made for these tests: each player is an entity holding the last number it was
/// sent; every input that reaches the game is kept, so that a test sees exactly what got
/// through; and every [`Probe::BEAT`] ticks it emits a `beat` event naming the tick.
#[derive(Debug, Default)]
struct Probe {
    players: Vec<(PlayerId, i64)>,
    /// Every input the game was handed, in order: who, the number, the view tick.
    got: Vec<(PlayerId, i64, u64)>,
}

impl Probe {
    /// Ticks between two beats.
    const BEAT: u64 = 5;
    /// A number the schema admits and the game refuses.
    const UNLUCKY: i64 = 13;
    /// The `beat` event's kind.
    const BEAT_KIND: u8 = 0;
}

impl Game for Probe {
    const NAME: &'static str = "probe";
    type Input = i64;

    fn new() -> Self {
        Self::default()
    }

    fn schema() -> Schema {
        Schema::new(Self::NAME)
            .input(InputField::int("n", 0, 100))
            .kind(Kind::new("dot").field(Field::int("n", 0, 100)))
            .event(EventKind::new("beat").field(Field::int("tick", 0, i32::MAX)))
    }

    fn input(values: &InputValues) -> Result<i64, InvalidInput> {
        match values.int(0) {
            Self::UNLUCKY => Err(InvalidInput::new("13 is unlucky")),
            n => Ok(n),
        }
    }

    fn handle_join(&mut self, id: PlayerId) {
        if self.players.iter().all(|&(p, _)| p != id) {
            self.players.push((id, 0));
        }
    }

    fn handle_leave(&mut self, id: PlayerId) {
        self.players.retain(|&(p, _)| p != id);
    }

    fn handle_away(&mut self, _id: PlayerId) {}

    fn handle_input(&mut self, id: PlayerId, input: &i64, view_tick: u64) {
        self.got.push((id, *input, view_tick));
        for (p, n) in &mut self.players {
            if *p == id {
                *n = *input;
            }
        }
    }

    fn step(&mut self, tick: u64, _dt: f32, events: &mut Events) {
        if tick % Self::BEAT == 0 {
            events.emit(Self::BEAT_KIND, Audience::All).int(tick as i64);
        }
    }

    fn snapshot(&self, world: &mut World) {
        for &(id, n) in &self.players {
            world.spawn(0, id).int(n);
        }
    }
}

#[test]
fn each_client_is_acknowledged_its_own_inputs() {
    // Without a view radius every client's snapshot shares one encoded body; with one,
    // each is assembled for its client. The head, which carries the ack, is each
    // client's own either way.
    for view_radius in [None, Some(5_000.0)] {
        let mut h = Harness::new(Config {
            view_radius,
            ..Config::default()
        });
        let a = h.join("ana", Some("r"));
        let b = h.join("bo", Some("r"));
        let quiet = h.join("quiet", Some("r"));
        h.send(a, input(5, [1.0, 0.0]));
        h.send(b, input(9, [0.0, 1.0]));
        h.run_until(ms(100), |h| acked(h, a) == 5 && acked(h, b) == 9);
        h.run_for(ms(100));
        let tick = h.room("r").unwrap().tick();
        for (c, want) in [(a, Some(5)), (b, Some(9)), (quiet, None)] {
            let last = h.client(c).last_snapshot().unwrap();
            assert_eq!(
                (last.tick, last.acked),
                (tick, want),
                "client {c}, view radius {view_radius:?}"
            );
        }
    }
}

#[test]
fn a_refused_input_never_reaches_the_game_nor_moves_the_ack() {
    let mut h = Harness::<Probe>::for_game(Config::default());
    let c = h.join("p", Some("r"));
    let id = h.client(c).id;
    h.send_values(c, 1, 0, vec![Int(1)]);
    // Refused by the schema: out of range, of the wrong type, not finite, one too many.
    h.send_values(c, 2, 0, vec![Int(101)]);
    h.send_values(c, 3, 0, vec![Float(2.0)]);
    h.send_values(c, 4, 0, vec![Float(f64::NAN)]);
    h.send_values(c, 5, 0, vec![Int(1), Int(2)]);
    // Admitted by the schema, refused by the game.
    h.send_values(c, 6, 0, vec![Int(Probe::UNLUCKY)]);
    h.send_values(c, 7, 0, vec![Int(7)]);
    h.run_until(ms(100), |h| acked(h, c) == 7);
    let errors: Vec<_> = h
        .client_mut(c)
        .take_all()
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Error(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 5, "{errors:?}");
    for e in &errors {
        assert_eq!(
            (e.code, e.in_reply_to),
            (ErrorCode::INVALID_VALUE, Some(3)),
            "{e:?}"
        );
    }
    assert!(
        errors[4].message.contains("unlucky"),
        "the game's reason: {errors:?}"
    );
    assert_eq!(h.metrics().inputs_invalid.get(), 5);
    assert_eq!(h.room("r").unwrap().game().got, [(id, 1, 0), (id, 7, 0)]);

    // Refused after an applied one: the ack stays where it was.
    h.send_values(c, 8, 0, vec![Int(Probe::UNLUCKY)]);
    h.run_for(ms(100));
    assert_eq!(acked(&h, c), 7);
    assert_eq!(h.room("r").unwrap().game().got.len(), 2);
}

#[test]
fn joined_and_resumed_carry_the_games_schema() {
    let mut h = Harness::<Probe>::for_game(Config::default());
    let c = h.greet("p");
    let join = ClientMsg::Join(tickwire_shared::Join {
        room: Some("r".into()),
        key: None,
    });
    let ServerMsg::Joined(joined) = h.ask(c, join) else {
        panic!("expected Joined")
    };
    assert_eq!(joined.schema, Probe::schema());
    let id = h.client(c).id;
    // The client reads the room's snapshots with it.
    h.run_until(ms(100), |h| h.client(c).replica.entity(id).is_some());

    let token = h.client(c).token.clone();
    h.reset(c);
    h.run_until(ms(100), |h| h.room("r").unwrap().away() == 1);
    let (back, answer) = h.resume(&token);
    let ServerMsg::Resumed(resumed) = answer else {
        panic!("expected Resumed, got {answer:?}")
    };
    assert_eq!(resumed.schema, Some(Probe::schema()));
    h.run_until(ms(100), |h| h.client(back).replica.entity(id).is_some());
}

/// Steps once; returns the ticks of the snapshots client `c` got in that step, and the
/// `Events` messages it got, taken from its inbox.
fn step_and_take<G: Game>(
    h: &mut Harness<G>,
    c: ClientId,
) -> (Vec<u64>, Vec<tickwire_shared::Events>) {
    let before = h.client(c).snapshots.len();
    h.step();
    let client = h.client_mut(c);
    let snapshots = client.snapshots[before..].iter().map(|s| s.tick).collect();
    let mut events = Vec::new();
    while let Some(ServerMsg::Events(e)) = client.take(|m| matches!(m, ServerMsg::Events(_))) {
        events.push(e);
    }
    (snapshots, events)
}

/// The beats in `msg`, each checked to be a beat of a tick in `(after, msg.tick]`.
fn beats_in(msg: &tickwire_shared::Events, after: u64) -> Vec<u64> {
    msg.events
        .iter()
        .map(|e| {
            assert_eq!(e.kind, Probe::BEAT_KIND, "{msg:?}");
            let t = e.values[0].int() as u64;
            assert!(
                after < t && t <= msg.tick,
                "a beat of tick {t} in the events before the snapshot of tick {} \
                 (the one before was of tick {after})",
                msg.tick
            );
            t
        })
        .collect()
}

#[test]
fn a_games_events_arrive_just_before_the_snapshot_of_their_tick() {
    // Snapshots every third tick, beats every fifth: a beat waits for the next snapshot.
    let mut h = Harness::<Probe>::for_game(Config {
        send_every: 3,
        ..Config::default()
    });
    let c = h.greet("p");
    h.send(
        c,
        ClientMsg::Join(tickwire_shared::Join {
            room: Some("r".into()),
            key: None,
        }),
    );
    let (mut beats, mut last_snapshot) = (Vec::new(), 0);
    for _ in 0..120 {
        let (snapshots, events) = step_and_take(&mut h, c);
        for msg in &events {
            // Written in the same step as the snapshot it names, and the harness's pipe,
            // like a link, writes the reliable lane before the snapshot.
            assert_eq!(snapshots, [msg.tick], "{msg:?}");
            beats.extend(beats_in(msg, last_snapshot));
        }
        if let Some(&t) = snapshots.last() {
            last_snapshot = t;
        }
    }
    let every: Vec<u64> = (1..=last_snapshot)
        .filter(|t| t % Probe::BEAT == 0)
        .collect();
    assert!(every.len() >= 20, "{every:?}");
    assert_eq!(beats, every, "every beat, once, in order");
}

#[test]
fn a_stalled_client_gets_every_event_before_its_next_snapshot() {
    let mut h = Harness::<Probe>::for_game(Config::default());
    let c = h.join("p", Some("r"));
    h.run_for(ms(100));
    h.client_mut(c).take_all();
    let last_snapshot = h.client(c).last_snapshot().unwrap().tick;
    h.stall(c, true);
    for _ in 0..12 {
        let (snapshots, events) = step_and_take(&mut h, c);
        assert!(
            snapshots.is_empty() && events.is_empty(),
            "it reads nothing"
        );
    }
    h.stall(c, false);
    let (snapshots, events) = step_and_take(&mut h, c);
    // The snapshots it missed were replaced by the newest; their events were not.
    let [newest] = snapshots[..] else {
        panic!("one snapshot, the newest: {snapshots:?}")
    };
    assert!(events.len() >= 2, "{events:?}");
    let mut beats = Vec::new();
    for msg in &events {
        beats.extend(beats_in(msg, last_snapshot));
    }
    let every: Vec<u64> = (last_snapshot + 1..=newest)
        .filter(|t| t % Probe::BEAT == 0)
        .collect();
    assert_eq!(beats, every, "every beat, once, in order");
}
