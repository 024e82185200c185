//! Recording and replay on the in-memory harness: a room recorded through joins, inputs,
//! leaves, drops and resumes replays to the same world hash on every tick, each segment
//! on its own; a recording changed by one input is caught at the tick it changes.

mod arena;

use tickwire_server::Config;
use tickwire_server::game::InputValues;
use tickwire_server::record::format::{Reader, Record, write_header, write_record};
use tickwire_server::record::replay::ReplayError;
use tickwire_server::registry::replay_bytes;
use tickwire_server::testing::{ClientId, Harness};
use tickwire_shared::{ClientMsg, Leave};

/// A room of walkers for `ticks` ticks, with players leaving, dropping and resuming.
fn churn(h: &mut Harness, ticks: u32) {
    let mut walkers: Vec<ClientId> = (0..12)
        .map(|i| h.join(&format!("w{i}"), Some("r")))
        .collect();
    let mut seqs = vec![0u32; walkers.len()];
    for t in 0..ticks {
        for (i, &c) in walkers.iter().enumerate() {
            seqs[i] += 1;
            let a = (t as f32 * 0.03 + i as f32).rem_euclid(std::f32::consts::TAU);
            h.send(c, arena::input_facing(seqs[i], [a.cos(), a.sin()], a));
        }
        match t % 150 {
            40 => {
                let c = walkers[3];
                h.reset(c);
                let token = h.client(c).token.clone();
                let (back, _) = h.resume(&token);
                walkers[3] = back;
            }
            90 => {
                let c = walkers.pop().expect("walkers");
                seqs.pop();
                h.send(c, ClientMsg::Leave(Leave {}));
            }
            120 => {
                walkers.push(h.join(&format!("late{t}"), Some("r")));
                seqs.push(0);
            }
            _ => {}
        }
        h.step();
    }
}

#[test]
fn a_recorded_room_replays_to_the_same_hash_every_tick() {
    let mut h = Harness::new(Config::default());
    h.record(64 << 20);
    churn(&mut h, 900);
    let files = h.recording("r");
    assert_eq!(files.len(), 1, "one segment");
    let done = replay_bytes(&files[0]).expect("replays");
    let tick = h.room("r").expect("open").tick();
    assert_eq!((done.start_tick, done.last_tick), (0, tick));
    assert_eq!(done.steps, tick);
    assert!(done.inputs > 10_000 && done.membership > 20, "{done:?}");
    assert!(!done.cut_short);
}

#[test]
fn each_segment_replays_on_its_own_from_its_saved_world() {
    let mut h = Harness::new(Config::default());
    h.record(64 << 10);
    churn(&mut h, 900);
    let files = h.recording("r");
    assert!(files.len() >= 4, "{} segments", files.len());
    let mut next = 0;
    for file in &files {
        assert!(
            file.len() < (64 << 10) + 1024,
            "bounded: {} bytes",
            file.len()
        );
        let done = replay_bytes(file).expect("each segment replays");
        assert_eq!(done.start_tick, next, "the segments follow each other");
        next = done.last_tick;
    }
    assert_eq!(next, h.room("r").expect("open").tick());
}

#[test]
fn a_changed_input_is_found_at_the_tick_it_changes() {
    let mut h = Harness::new(Config::default());
    h.record(64 << 20);
    churn(&mut h, 300);
    let file = h.recording("r").remove(0);
    // The same recording, but the 200th input's direction one float step (of the f32 the
    // arena steps with) shorter: shorter, so that clamping the direction to length 1
    // cannot undo the change.
    let (header, mut reader) = Reader::new(&file).expect("a recording");
    let mut changed = Vec::new();
    write_header(&mut changed, &header);
    let (mut inputs, mut steps, mut changed_before) = (0, 0, None);
    while let Some(mut record) = reader.next_record().expect("well formed") {
        match &mut record {
            Record::Input(_, _, values) => {
                inputs += 1;
                if inputs == 200 {
                    let mut v = values.as_slice().to_vec();
                    let dx = v[0] as f32;
                    assert_ne!(dx, 0.0, "a direction with an x to shorten");
                    v[0] = f64::from(f32::from_bits(dx.to_bits() - 1));
                    *values = InputValues::from_recorded(v);
                    changed_before = Some(header.start_tick + steps + 1);
                }
            }
            Record::Step(_) => steps += 1,
            _ => {}
        }
        write_record(&mut changed, &record);
    }
    let changed_at = changed_before.expect("200 inputs");
    match replay_bytes(&changed) {
        Err(ReplayError::Diverged { tick, .. }) => {
            assert_eq!(tick, changed_at, "found at the first step after the change");
        }
        other => panic!("a changed input must be found: {other:?}"),
    }
    // A file cut in the middle of a record replays what comes before it.
    let whole = h.recording("r").remove(0);
    let cut = &whole[..whole.len() - 3];
    let done = replay_bytes(cut).expect("a cut file replays up to the cut");
    assert!(done.cut_short && done.steps > 250, "{done:?}");
}
