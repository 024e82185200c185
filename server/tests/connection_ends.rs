//! How connections end, on the in-memory harness: every way a connection can end (a
//! goodbye, a reset, a rule broken, an oversize frame, silence, a flood, a client too slow
//! or not reading at all, a take-over, the shutdown) gets its close code, and is counted
//! once, by its reason, in the metrics the admin endpoint serves.
//!
//! Which reason a connection's end is counted under, and that it is counted exactly once
//! whatever becomes of its player afterwards, is the server's logic, so it runs on
//! [`Harness`], all in one run of virtual time. That the counters reach `/metrics`, and the
//! refusals before the upgrade, are over real sockets in `ops.rs`.

use std::time::Duration;

use tickwire_server::Config;
use tickwire_server::identity::Identity;
use tickwire_server::metrics::CloseCause;
use tickwire_server::testing::{ClientId, Ending, Harness};
use tickwire_server::transport::Frame;
use tickwire_shared::*;

fn closed(h: &Harness, cause: CloseCause) -> f64 {
    let label = cause.label();
    h.metric(&format!(
        "tickwire_connections_closed_total{{reason=\"{label}\"}}"
    ))
}

/// Runs until every one of `clients` has ended, within `limit` of virtual time.
fn until_ended(h: &mut Harness, clients: &[ClientId], limit: Duration) {
    h.run_until(limit, |h| {
        clients.iter().all(|&c| h.client(c).ended.is_some())
    });
}

#[test]
fn every_ended_connection_gets_its_close_and_is_counted_once_by_its_reason() {
    let mut h = Harness::new(Config {
        ping_interval_ms: 100,
        idle_timeout_ms: 1_000,
        stall_timeout_ms: 200,
        reliable_queue: 8,
        resume_grace_ms: 500,
        ..Config::default()
    });
    let alice = Identity {
        user_id: Some("alice".into()),
        ..Identity::default()
    };
    let clean = h.join("clean", Some("r"));
    let abrupt = h.join("abrupt", Some("r"));
    let texter = h.join("texter", Some("r"));
    let big = h.join("big", Some("r"));
    let flooder = h.join("flooder", Some("r"));
    let slow = h.join("slow", Some("r"));
    let sleeper = h.join("sleeper", Some("r"));
    let replaced = h.greet_as(alice.clone(), "alice");
    let join = ClientMsg::Join(Join {
        room: Some("r".into()),
        key: None,
    });
    assert!(matches!(
        h.ask(replaced, join.clone()),
        ServerMsg::Joined(_)
    ));
    let mute = h.greet("mute");
    let old = h.connect();
    let waiting = h.greet("waiting");

    h.send_frame(clean, Frame::Close);
    h.reset(abrupt);
    h.send_frame(texter, Frame::Text);
    h.send_frame(
        big,
        Frame::TooBig {
            size: 10_000,
            max: 4_096,
        },
    );
    for seq in 1..=1_000 {
        h.send_input(flooder, seq, [1.0, 0.0]);
    }
    // Stops reading, and asks for more answers than its reliable lane holds.
    h.stall(slow, true);
    for _ in 0..20 {
        h.send(slow, ClientMsg::Ping(Ping { client_time: 0.0 }));
    }
    h.stall(sleeper, true);
    let taker = h.greet_as(alice, "alice");
    assert!(matches!(h.ask(taker, join), ServerMsg::Joined(_)));
    h.pipe_mut(mute).answers_pings = false;
    let ancient = ClientMsg::Hello(Hello {
        version: 0,
        name: "old".into(),
    });
    h.send(old, ancient);

    let ended = [
        (clean, None),
        (abrupt, None),
        (texter, Some(1003)),
        (old, Some(1002)),
        (big, Some(1009)),
        (mute, Some(1008)),
        (flooder, Some(1008)),
        (slow, None),
        (sleeper, None),
        (replaced, Some(1008)),
    ];
    let clients: Vec<ClientId> = ended.iter().map(|&(c, _)| c).collect();
    until_ended(&mut h, &clients, Duration::from_secs(2));
    for (c, code) in ended {
        assert_eq!(
            h.client(c).close().map(|(code, _)| code),
            code,
            "client {c}: {:?}",
            h.client(c).ended
        );
    }
    assert_eq!(h.client(clean).ended, Some(Ending::Answered));
    assert!(h.client(flooder).close().unwrap().1.contains("flood"));
    assert!(h.metric(r#"tickwire_messages_rate_limited_total{kind="input"}"#) > 0.0);

    // The lost players' graces run out meanwhile: nothing is counted a second time.
    let counts = |h: &Harness| CloseCause::ALL.map(|cause| closed(h, cause));
    let before = counts(&h);
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.room("r").unwrap().away(), 0, "every grace is over");
    assert_eq!(counts(&h), before);

    h.shutdown();
    for c in [taker, waiting] {
        assert_eq!(h.client(c).close().map(|(code, _)| code), Some(1001));
    }
    let expected = [
        (CloseCause::Clean, 1.0),
        (CloseCause::Shutdown, 2.0),
        (CloseCause::Slow, 1.0),
        (CloseCause::Stalled, 1.0),
        (CloseCause::Flood, 1.0),
        (CloseCause::Oversize, 1.0),
        (CloseCause::BadInput, 2.0),
        (CloseCause::Timeout, 1.0),
        (CloseCause::Abnormal, 1.0),
        (CloseCause::Replaced, 1.0),
    ];
    assert_eq!(expected.map(|(cause, _)| cause), CloseCause::ALL);
    for (cause, count) in expected {
        assert_eq!(closed(&h, cause), count, "{}", cause.label());
    }
    let total: f64 = counts(&h).iter().sum();
    assert_eq!(total, h.metric("tickwire_connections_accepted_total"));
    assert_eq!(total, 12.0);
    assert_eq!(h.metric("tickwire_connections_open"), 0.0);
}
