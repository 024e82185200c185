//! Every built-in game played on the harness by scripted clients that know nothing of it
//! but its schema: they make their inputs from its input fields and rebuild the room from
//! its snapshots with the real replica (which checks every state hash), with and without
//! a view radius, every tick and every third tick, through a resume.

use std::time::Duration;

use tickwire_server::Config;
use tickwire_server::game::{Game, InputType, InputValue, Schema};
use tickwire_server::games::arena::Arena;
use tickwire_server::games::shooter::Shooter;
use tickwire_server::games::tag::Tag;
use tickwire_server::testing::Harness;
use tickwire_shared::{ClientMsg, ServerMsg};

/// A tiny deterministic generator: the same run every time.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One input's values, each somewhere in its field's range.
fn values(schema: &Schema, rng: &mut Rng) -> Vec<InputValue> {
    schema
        .input
        .iter()
        .map(|f| {
            let x = f.min + (f.max - f.min) * rng.unit();
            match f.ty {
                // Within ±1 on both axes may still be a direction longer than the game
                // takes: keep floats inside the unit circle's square.
                InputType::Float => InputValue::Float(x * 0.7),
                InputType::Angle => InputValue::Float(x),
                InputType::Int | InputType::Enum => InputValue::Int(x.round() as i64),
                InputType::Bool => InputValue::Bool(rng.unit() < 0.3),
            }
        })
        .collect()
}

/// Five clients play `G` for `seconds` of virtual time; every snapshot applies (the test
/// client panics on one that does not), every client sees its own entity and gets its
/// inputs acknowledged, and one client that loses its connection resumes and plays on.
fn play<G: Game>(config: Config, seconds: u64) {
    let schema = G::schema();
    let mut h = Harness::<G>::for_game(config);
    let clients: Vec<_> = (0..5)
        .map(|i| h.join(&format!("p{i}"), Some("r")))
        .collect();
    for &c in &clients {
        let joined = h.client(c).schema.clone();
        assert_eq!(
            joined.as_ref(),
            Some(&schema),
            "Joined carries the game's schema"
        );
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut seq = 0;
    let ticks = seconds * 60;
    for tick in 0..ticks {
        seq += 1;
        for &c in &clients {
            let view = h.client(c).snapshots.last().map_or(0, |s| s.tick);
            let v = values(&schema, &mut rng);
            h.send_values(c, seq, view, v);
        }
        if tick == ticks / 2 {
            // The last client's connection drops; it resumes on a new one.
            let lost = clients[4];
            let token = h.client(lost).token.clone();
            h.reset(lost);
            h.run_for(Duration::from_millis(100));
            let (again, answer) = h.resume(&token);
            let ServerMsg::Resumed(resumed) = answer else {
                panic!("resume refused: {answer:?}");
            };
            assert_eq!(resumed.schema.as_ref(), Some(&schema));
            let _ = again;
        }
        h.step();
    }
    for &c in &clients[..4] {
        let client = h.client(c);
        let seen = &client.snapshots;
        assert!(
            seen.len() as u64 >= ticks / 4,
            "client {c}: {} snapshots",
            seen.len()
        );
        assert!(
            client.replica.entity(client.id).is_some(),
            "client {c} holds its own entity"
        );
        let acked = seen.iter().rev().find_map(|s| s.acked).unwrap_or(0);
        assert!(acked + 5 >= seq, "client {c}: ack {acked} of {seq}");
    }
    // Inputs of the wrong shape are refused, never reach the game, and do not hurt.
    let c = clients[0];
    h.send(
        c,
        ClientMsg::Input(tickwire_shared::Input {
            seq: seq + 1,
            view_tick: 0,
            values: vec![InputValue::Bool(true); schema.input.len() + 1],
        }),
    );
    let refused = h.expect(c, |m| matches!(m, ServerMsg::Error(_)));
    assert!(format!("{refused:?}").contains("values"), "{refused:?}");
}

/// Every way of breaking one input field of `G`'s schema (NaN, infinities, out of range,
/// the wrong type) is refused with INVALID_VALUE, counted, and reaches no game: the
/// other client keeps its rate and the hostile one keeps playing after.
fn refuses_broken_inputs<G: Game>() {
    let schema = G::schema();
    let mut h = Harness::<G>::for_game(Config::default());
    let honest = h.join("honest", Some("r"));
    let hostile = h.join("hostile", Some("r"));
    let mut rng = Rng(7);
    let mut broken = Vec::new();
    for (i, f) in schema.input.iter().enumerate() {
        let bad: Vec<InputValue> = match f.ty {
            InputType::Float | InputType::Angle => vec![
                InputValue::Float(f64::NAN),
                InputValue::Float(f64::INFINITY),
                InputValue::Float(f64::NEG_INFINITY),
                InputValue::Float(f.max * 2.0 + 1.0),
                InputValue::Bool(true),
            ],
            InputType::Int | InputType::Enum => vec![
                InputValue::Int(f.max as i64 + 1),
                InputValue::Int(f.min as i64 - 1),
                InputValue::Float(0.5),
            ],
            InputType::Bool => vec![InputValue::Int(1), InputValue::Float(0.0)],
        };
        for b in bad {
            let mut v = values(&schema, &mut rng);
            v[i] = b;
            broken.push(v);
        }
    }
    let before = h.metric("tickwire_inputs_invalid_total");
    let snapshots = h.client(honest).snapshots.len();
    for (seq, v) in broken.iter().enumerate() {
        h.send_values(hostile, seq as u32 + 1, 0, v.clone());
        let answer = h.expect(hostile, |m| matches!(m, ServerMsg::Error(_)));
        let ServerMsg::Error(err) = answer else {
            unreachable!()
        };
        assert_eq!(
            err.code,
            tickwire_shared::ErrorCode::INVALID_VALUE,
            "{v:?}: {err:?}"
        );
    }
    let counted = h.metric("tickwire_inputs_invalid_total") - before;
    assert_eq!(counted, broken.len() as f64, "every refusal is counted");
    assert!(
        h.client(honest).snapshots.len() > snapshots,
        "the room went on"
    );
    // A good input after all of it is taken: acknowledged with its own number.
    let seq = broken.len() as u32 + 1;
    h.send_values(hostile, seq, 0, values(&schema, &mut rng));
    h.run_until(Duration::from_secs(1), |h| {
        h.client(hostile).snapshots.last().and_then(|s| s.acked) == Some(seq)
    });
}

#[test]
fn every_game_refuses_broken_inputs() {
    refuses_broken_inputs::<Arena>();
    refuses_broken_inputs::<Shooter>();
    refuses_broken_inputs::<Tag>();
}

fn every_way(play: fn(Config, u64)) {
    play(Config::default(), 4);
    play(
        Config {
            send_every: 3,
            view_radius: Some(150.0),
            ..Config::default()
        },
        4,
    );
}

#[test]
fn the_arena_plays_from_its_schema() {
    every_way(play::<Arena>);
}

#[test]
fn the_shooter_plays_from_its_schema() {
    every_way(play::<Shooter>);
}

#[test]
fn tag_plays_from_its_schema() {
    every_way(play::<Tag>);
}

#[test]
fn the_readme_shows_tag_as_it_is() {
    let readme = include_str!("../../README.md");
    let tag = include_str!("../src/games/tag.rs");
    assert!(
        readme.contains(tag),
        "README.md's \"Bring your own game\" must show server/src/games/tag.rs whole"
    );
}
