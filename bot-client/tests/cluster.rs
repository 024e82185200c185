//! The swarm against fake cluster nodes ([`fake_node`]): a join redirected with a ticket
//! is claimed on the other node, a draining node's bots are sent on without a disconnect,
//! a killed node's bots reconnect to the next node, where a refused resume leads to a
//! fresh hello and join (or a redirected one is presented again on the session's node),
//! and a redirect loop is given up. Full and light bots alike; each run is well under a
//! second, and the report must count what happened.

mod fake_node;

use std::time::Duration;

use tickwire_bot::{ReconnectPolicy, Report, SwarmConfig, run};
use tickwire_shared::{
    Claim, ClientMsg, Error, ErrorCode, Hello, Join, PROTOCOL_VERSION, Resume, Resumed, ServerMsg,
};

use fake_node::{FakeNode, Reply, Then, joined, play, redirect, requests, schema, token, welcome};

/// `bots` bots on `urls` for `ms` milliseconds, one in `check_every` checking, without
/// pings (the fake nodes do not answer them) and with quick reconnects.
fn swarm(urls: Vec<String>, bots: usize, check_every: usize, ms: u64) -> SwarmConfig {
    SwarmConfig {
        urls,
        bots,
        rooms: 1,
        duration: Duration::from_millis(ms),
        ping_hz: 0.0,
        check_every,
        reconnect: ReconnectPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(20),
            max_attempts: 5,
        },
        ..SwarmConfig::default()
    }
}

async fn report_of(cfg: SwarmConfig) -> Report {
    run(cfg).await.expect("a usable configuration")
}

fn hello(name: &str) -> ClientMsg {
    ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: name.to_owned(),
    })
}

fn join() -> ClientMsg {
    ClientMsg::Join(Join {
        room: Some("bots-0".into()),
        key: None,
    })
}

/// `heard` without the inputs of play: the requests alone.
fn without_play(heard: &[ClientMsg]) -> Vec<ClientMsg> {
    heard
        .iter()
        .filter(|m| !matches!(m, ClientMsg::Input(_) | ClientMsg::Ping(_)))
        .cloned()
        .collect()
}

/// A node that seats every hello and join, and plays until the bot leaves.
async fn seating_node(name: &'static str) -> FakeNode {
    FakeNode::start(move |msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome(name, conn)],
        ClientMsg::Join(_) => vec![joined("bots-0"), play()],
        _ => vec![],
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_redirected_with_a_ticket_is_claimed_on_the_other_node() {
    // The room lives on `there`: it seats whoever claims the ticket it reserved.
    let mut there = FakeNode::start(|msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome("there", conn)],
        ClientMsg::Claim(claim) if claim.ticket == format!("ticket-{}", conn.name) => {
            vec![joined("bots-0"), play()]
        }
        _ => vec![],
    })
    .await;
    let there_url = there.url.clone();
    let mut here = FakeNode::start(move |msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome("here", conn)],
        ClientMsg::Join(_) => vec![Reply::Send(ServerMsg::Redirect(redirect(
            &there_url,
            Some(format!("ticket-{}", conn.name)),
            Some(1),
        )))],
        _ => vec![],
    })
    .await;
    // Bot 0 checks everything, bot 1 is light: both follow the redirect.
    let r = report_of(swarm(vec![here.url.clone()], 2, 2, 500)).await;

    assert!(r.passed(), "{r}");
    assert_eq!((r.connected, r.bots_light), (2, 1), "{r}");
    assert_eq!((r.errors, r.disconnects), (0, 0), "{r}");
    assert_eq!((r.redirects, r.claims), (2, 2), "{r}");
    assert_eq!((r.joins_redirected, r.joins_direct), (2, 0), "{r}");
    assert!(r.join_redirected_ms.max > 0.0, "{r}");
    assert_eq!(r.join_direct_ms.max, 0.0, "{r}");
    assert_eq!(r.reseated, 0, "nothing lost: {r}");
    assert!(r.snapshot_rate_hz.min > 0.0, "both played on: {r}");
    assert_eq!(r.replica.applied, r.snapshots_checked, "{r}");

    let mut asked = here.heard(2).await;
    asked.sort_by_key(|heard| format!("{heard:?}"));
    for (i, heard) in asked.iter().enumerate() {
        assert_eq!(heard, &vec![hello(&format!("bot-{i}")), join()]);
    }
    let mut claimed: Vec<Vec<ClientMsg>> = there
        .heard(2)
        .await
        .iter()
        .map(|h| without_play(h))
        .collect();
    claimed.sort_by_key(|heard| format!("{heard:?}"));
    for (i, heard) in claimed.iter().enumerate() {
        let name = format!("bot-{i}");
        let ticket = format!("ticket-{name}");
        assert_eq!(
            heard,
            &vec![hello(&name), ClientMsg::Claim(Claim { ticket })],
            "hello, then the claim, no join"
        );
    }
}

/// A node whose joins play `count` snapshots, then end as `then` says.
async fn node_that_ends(name: &'static str, count: u32, then: fn(&str) -> Then) -> FakeNode {
    FakeNode::start(move |msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome(name, conn)],
        ClientMsg::Join(_) => vec![
            joined("bots-0"),
            Reply::Play {
                count,
                then: then(&conn.name),
            },
        ],
        _ => vec![],
    })
    .await
}

/// A node that refuses every resume as a cluster does when the token's node is gone, and
/// seats every hello and join.
async fn refusing_node(name: &'static str) -> FakeNode {
    FakeNode::start(move |msg, conn| match msg {
        ClientMsg::Resume(_) => vec![Reply::Send(ServerMsg::Error(Error {
            code: ErrorCode::RESUME_REFUSED,
            message: "resume refused: the room is gone with its node".into(),
            in_reply_to: Some(6),
        }))],
        ClientMsg::Hello(_) => vec![welcome(name, conn)],
        ClientMsg::Join(_) => vec![joined("bots-0"), play()],
        _ => vec![],
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_its_node_is_killed_a_refused_resume_leads_to_a_fresh_hello_and_join() {
    let killed = node_that_ends("killed", 5, |_| Then::Kill).await;
    let mut next = refusing_node("next").await;
    let r = report_of(swarm(vec![killed.url.clone(), next.url.clone()], 1, 1, 700)).await;

    // Lost, then back on the next node, as a new player in a new room.
    assert!(r.passed(), "{r}");
    assert_eq!((r.connected, r.errors), (1, 0), "{r}");
    assert_eq!(r.disconnects, 1, "{r}");
    assert_eq!(r.reseated, 1, "{r}");
    assert!(r.reseat_ms.max > 0.0, "{r}");
    assert_eq!((r.joins_direct, r.redirects), (2, 0), "{r}");
    assert!(r.chaos.is_none(), "{r}");
    assert_eq!(
        killed.connections(),
        1,
        "the killed node is not tried again"
    );

    let heard = without_play(&next.next_heard().await);
    assert_eq!(
        heard,
        vec![
            ClientMsg::Resume(Resume {
                token: token("killed", "bot-0")
            }),
            hello("bot-0"),
            join(),
        ],
        "the old session first, then hello and join on the same connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_bot_gets_back_after_its_node_is_killed_too() {
    let mut next = refusing_node("next").await;
    let killed = node_that_ends("killed", 5, |_| Then::Kill).await;
    // Bot 0 (checking) starts on `next`, bot 1 (light) on `killed`.
    let r = report_of(swarm(vec![next.url.clone(), killed.url.clone()], 2, 2, 700)).await;

    assert!(r.passed(), "{r}");
    assert_eq!((r.connected, r.bots_light, r.errors), (2, 1, 0), "{r}");
    assert_eq!((r.disconnects, r.reseated), (1, 1), "{r}");
    let mut heard: Vec<Vec<ClientMsg>> = next
        .heard(2)
        .await
        .iter()
        .map(|h| without_play(h))
        .collect();
    heard.sort_by_key(|h| requests(h));
    assert_eq!(heard[0], vec![hello("bot-0"), join()]);
    assert_eq!(
        heard[1],
        vec![
            ClientMsg::Resume(Resume {
                token: token("killed", "bot-1")
            }),
            hello("bot-1"),
            join(),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_sends_its_bots_on_without_a_disconnect() {
    let mut there = seating_node("there").await;
    let there_url = there.url.clone();
    let draining = FakeNode::start(move |msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome("draining", conn)],
        ClientMsg::Join(_) => vec![
            joined("bots-0"),
            Reply::Play {
                count: 5,
                then: Then::Drain(redirect(&there_url, None, None)),
            },
        ],
        _ => vec![],
    })
    .await;
    let r = report_of(swarm(vec![draining.url.clone()], 2, 2, 600)).await;

    assert!(r.passed(), "{r}");
    assert_eq!((r.connected, r.errors), (2, 0), "{r}");
    assert_eq!(r.disconnects, 0, "a redirect's close is no disconnect: {r}");
    assert_eq!((r.redirects, r.claims, r.notices), (2, 0, 2), "{r}");
    assert_eq!(r.reseated, 2, "{r}");
    assert!(r.reseat_ms.p50 > 0.0, "{r}");
    // Two joins on each node, none redirected: a drain is no answer to a join.
    assert_eq!((r.joins_direct, r.joins_redirected), (4, 0), "{r}");
    for heard in there.heard(2).await {
        assert_eq!(requests(&heard), vec![0, 1], "hello and join, no resume");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_sent_on_is_presented_again_on_the_sessions_node_without_hello() {
    // The session lives on `home`; its connection there is lost (a network blip, say),
    // and the bot's reconnect goes to `other`, which sends the resume on.
    let mut home = FakeNode::start(|msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome("home", conn)],
        ClientMsg::Join(_) => vec![
            joined("bots-0"),
            Reply::Play {
                count: 5,
                then: Then::Kill,
            },
        ],
        ClientMsg::Resume(_) => vec![
            Reply::Send(ServerMsg::Resumed(Resumed {
                player_id: 1,
                room: Some("bots-0".into()),
                players: Vec::new(),
                resume_token: "home/next".into(),
                schema: Some(schema()),
            })),
            play(),
        ],
        _ => vec![],
    })
    .await;
    let home_url = home.url.clone();
    let mut other = FakeNode::start(move |msg, _| match msg {
        ClientMsg::Resume(_) => vec![Reply::Send(ServerMsg::Redirect(redirect(
            &home_url,
            None,
            Some(6),
        )))],
        _ => vec![],
    })
    .await;
    let r = report_of(swarm(vec![home.url.clone(), other.url.clone()], 1, 1, 700)).await;

    assert!(r.passed(), "{r}");
    assert_eq!((r.errors, r.disconnects, r.redirects), (0, 1, 1), "{r}");
    assert_eq!(r.reseated, 1, "back in its room: {r}");
    let resume = ClientMsg::Resume(Resume {
        token: token("home", "bot-0"),
    });
    assert_eq!(other.next_heard().await, vec![resume.clone()]);
    let first = without_play(&home.next_heard().await);
    assert_eq!(first, vec![hello("bot-0"), join()]);
    let back = without_play(&home.next_heard().await);
    assert_eq!(back, vec![resume], "the resume again, and no hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_fails_the_connect_after_five() {
    let bound = FakeNode::bind().await;
    let own = bound.url.clone();
    let node = bound.serve(move |msg, conn| match msg {
        ClientMsg::Hello(_) => vec![welcome("loop", conn)],
        ClientMsg::Join(_) => vec![Reply::Send(ServerMsg::Redirect(redirect(
            &own,
            None,
            Some(1),
        )))],
        _ => vec![],
    });
    let r = report_of(swarm(vec![node.url.clone()], 1, 1, 300)).await;

    assert!(!r.passed(), "{r}");
    assert_eq!((r.connected, r.failed_to_connect), (0, 1), "{r}");
    assert_eq!(r.errors_by_kind.get("connect"), Some(&1), "{r}");
    assert!(
        r.problems.iter().any(|p| p.contains("redirect loop")),
        "{r}"
    );
    // The first connection and five redirects followed; the sixth is not.
    assert_eq!(r.redirects, 6, "{r}");
    assert_eq!(node.connections(), 6, "{r}");
}
