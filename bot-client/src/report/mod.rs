//! The swarm's result: one [`Report`], written as JSON for machines and as a short summary
//! for people (its `Display`, in `summary.rs`), and the verdict ([`Report::passed`]) that
//! sets the exit code.
//!
//! The JSON keys are an interface (scripts such as `shared/tools/swarm-cost` read them):
//! add keys freely, but rename or remove none. Every key but `misbehave` describes the
//! honest bots only. The `replica` object (keyframes and deltas, their bytes, and how they
//! rebuilt each bot's copy of the room) is always there, and so are the cluster's figures
//! (`redirects`, `claims`, `notices`, `reseated`, `reseat_ms`, `join_direct_ms`,
//! `join_redirected_ms`: 0 against a single server); the `chaos`, `chat` and `misbehave`
//! objects appear only when their option is on.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::BotStats;
use crate::{ChaosReport, ChatReport, MisbehaveReport, Percentiles, ReplicaReport, SwarmConfig};

mod summary;

/// Mean and minimum over the bots.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// The mean over all bots.
    pub mean: f64,
    /// The lowest bot.
    pub min: f64,
}

/// What the swarm measured, over all honest bots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Honest bots started (misbehaving ones are counted in `misbehave`).
    pub bots: usize,
    /// Rooms they were spread over.
    pub rooms: usize,
    /// The game they played (`--game`): what their inputs did. Their copies of the rooms
    /// were decoded with each room's own schema, whatever its game.
    pub game: String,
    /// Bots that got `Joined`.
    pub connected: usize,
    /// Bots that did not get `Joined` within the connect timeout (each is also an error).
    pub failed_to_connect: usize,
    /// The configured playing time, in seconds (after the ramp).
    pub duration_s: f64,
    /// Snapshots received by all bots, light or not.
    pub snapshots: u64,
    /// One bot in this many decoded and checked every snapshot (`--check-every`); 1 when
    /// every bot did.
    pub check_every: usize,
    /// Bots that decoded, applied and hash-checked every snapshot (and tracked their
    /// inputs' acks): the ones `replica` and `input_ack_ms` describe.
    pub bots_checked: usize,
    /// Light bots: they played the same, but only counted and timed their snapshots.
    pub bots_light: usize,
    /// Snapshots the checking bots received: each decoded, and applied and checked against
    /// its state hash unless `replica` says otherwise. Keyframes and deltas in `replica`.
    pub snapshots_checked: u64,
    /// Snapshots the light bots received and only counted: in `snapshots`, in
    /// `snapshot_rate_hz` and `snapshot_interval_ms`, in no `replica` figure.
    pub snapshots_counted_only: u64,
    /// Each bot's snapshot rate, light bots' included: its snapshots minus one over the
    /// time from its first to its last, in Hz. With chaos, the time spent reconnecting is
    /// left out of both.
    pub snapshot_rate_hz: Rate,
    /// Time between consecutive snapshots of a bot on one connection, light bots' included.
    pub snapshot_interval_ms: Percentiles,
    /// Ping to pong.
    pub rtt_ms: Percentiles,
    /// Input sent to the first applied snapshot whose `ack` covers it (checking bots only).
    pub input_ack_ms: Percentiles,
    /// Payload bytes received per bot per second in its room: every frame, of which
    /// snapshots are `replica.keyframe_bytes_per_bot_per_s` and
    /// `replica.delta_bytes_per_bot_per_s`.
    pub bytes_in_per_bot_s: f64,
    /// Payload bytes sent per bot per second in its room.
    pub bytes_out_per_bot_s: f64,
    /// The snapshots by kind (keyframes, deltas) with their bytes, and how they rebuilt
    /// each bot's copy of the room: hash mismatches, missing bases, other errors, the mean
    /// numbers of entities and of players held.
    pub replica: ReplicaReport,
    /// Inputs sent by all bots.
    pub inputs_sent: u64,
    /// Of those, the light bots': nobody tracked their acks.
    pub inputs_sent_light: u64,
    /// Inputs matched to an acknowledging snapshot.
    pub inputs_acked: u64,
    /// Inputs never matched because a bot had more than 1024 awaiting an ack at once:
    /// their latency is missing from `input_ack_ms`, which reads too low when this is not 0.
    pub inputs_forgotten: u64,
    /// Pongs received by all bots.
    pub pongs: u64,
    /// `Events` messages received by all bots (the rooms' reliable one-shot events, such
    /// as the shooter's hits and kills): counted, never errors.
    pub events: u64,
    /// The game events those messages carried.
    pub game_events: u64,
    /// All errors: failed connects, server `Error` messages, undecodable frames, WebSocket
    /// failures, text frames, answers that break the resume or chat protocol, snapshots
    /// that did not rebuild the server's state (`replica.hash_mismatches` and
    /// `replica.replica_errors`), and with chaos, reconnections given up.
    pub errors: u64,
    /// The errors by kind, such as `connect`, `server_error`, `decode`, `websocket`,
    /// `protocol`, `replica`, `schema` (a room's schema unusable, or without the inputs
    /// the bots' game needs), `reconnect`.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Bots whose connection the server ended before their deadline (against a cluster,
    /// they reconnected; a redirect's close is not one).
    pub disconnects: usize,
    /// The server nodes the bots were given (`--url`): 1 for a single server.
    pub nodes: usize,
    /// `Redirect` messages the bots received: in answer to a join or resume whose room or
    /// session lives on another node, or while playing, from a draining node. Each is
    /// followed, but the one that would make more than 5 in a row (a loop, which fails
    /// that attempt to get seated).
    pub redirects: u64,
    /// `Claim` messages sent: seats a redirect's ticket reserved, taken.
    pub claims: u64,
    /// The operator's `Notice` messages received.
    pub notices: u64,
    /// Times a bot lost its room (its connection lost, a resume refused after a drop, or
    /// a redirect while playing) and was playing in a room again afterwards.
    pub reseated: u64,
    /// From the loss (the connection's end, or the redirect's arrival) to the first
    /// snapshot in a room again, one per reseat.
    pub reseat_ms: Percentiles,
    /// Joins the node asked seated itself.
    pub joins_direct: u64,
    /// `Join` sent to `Joined`, on the same node.
    pub join_direct_ms: Percentiles,
    /// Joins a redirect sent to another node.
    pub joins_redirected: u64,
    /// The first `Join`, on the first node, to `Joined` on the node the redirects led to,
    /// the reconnects between included.
    pub join_redirected_ms: Percentiles,
    /// The first few errors and disconnect reasons, in words, with the bot's name.
    pub problems: Vec<String>,
    /// What chaos did (`--chaos`); absent when it is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chaos: Option<ChaosReport>,
    /// What the chat saw (`--chat-rate`); absent when it is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatReport>,
    /// What the misbehaving bots did (`--misbehave`); absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misbehave: Option<MisbehaveReport>,
}

impl Report {
    /// Sums up the swarm's stats for the configuration it ran.
    pub(crate) fn new(cfg: &SwarmConfig, s: &BotStats) -> Self {
        Self {
            bots: s.bots,
            rooms: cfg.rooms,
            game: cfg.game.name().to_owned(),
            connected: s.connected,
            failed_to_connect: s.failed_to_connect,
            duration_s: cfg.duration.as_secs_f64(),
            snapshots: s.snapshots,
            check_every: cfg.check_every,
            bots_checked: s.bots.saturating_sub(s.light_bots),
            bots_light: s.light_bots,
            snapshots_checked: s.snapshots.saturating_sub(s.light_snapshots),
            snapshots_counted_only: s.light_snapshots,
            snapshot_rate_hz: Rate {
                mean: s.rate_mean_hz(),
                min: s.rate_min_hz(),
            },
            snapshot_interval_ms: Percentiles::of(&s.interval_us),
            rtt_ms: Percentiles::of(&s.rtt_us),
            input_ack_ms: Percentiles::of(&s.ack_us),
            bytes_in_per_bot_s: s.per_bot_per_s(s.bytes_in),
            bytes_out_per_bot_s: s.per_bot_per_s(s.bytes_out),
            replica: ReplicaReport::new(&s.replica, |bytes| s.per_bot_per_s(bytes)),
            inputs_sent: s.inputs_sent,
            inputs_sent_light: s.light_inputs,
            inputs_acked: s.ack_us.len(),
            inputs_forgotten: s.inputs_forgotten,
            pongs: s.rtt_us.len(),
            events: s.events,
            game_events: s.game_events,
            errors: s.errors(),
            errors_by_kind: s.errors_by_kind(),
            disconnects: s.disconnects,
            nodes: cfg.urls.len(),
            redirects: s.cluster.redirects,
            claims: s.cluster.claims,
            notices: s.cluster.notices,
            reseated: s.cluster.reseated,
            reseat_ms: Percentiles::of(&s.cluster.reseat_us),
            joins_direct: s.cluster.join_direct_us.len(),
            join_direct_ms: Percentiles::of(&s.cluster.join_direct_us),
            joins_redirected: s.cluster.join_redirected_us.len(),
            join_redirected_ms: Percentiles::of(&s.cluster.join_redirected_us),
            problems: s.problems().to_vec(),
            chaos: None,
            chat: None,
            misbehave: None,
        }
    }

    /// True when every honest bot connected, none saw an error (a bot that gave up
    /// reconnecting after a chaos drop has one), and the server broke none of the promises
    /// the bots check ([`Report::broken_promises`]). Disconnects alone do not fail a run: a
    /// server may legitimately close a client (too slow, shutting down), and the count is in
    /// the report for whoever judges it. Misbehaving bots never fail it: what the server
    /// answered them is theirs to judge.
    pub fn passed(&self) -> bool {
        self.failed_to_connect == 0 && self.errors == 0 && self.broken_promises() == 0
    }

    /// Counts that a correct server keeps at 0, summed: snapshots whose state hash did
    /// not match what they rebuilt (also errors); with chaos, inputs lost and
    /// acknowledgements gone backwards; with chat, chats lost and messages out of order.
    pub fn broken_promises(&self) -> u64 {
        let chaos = self
            .chaos
            .as_ref()
            .map_or(0, |c| c.inputs_lost + c.ack_regressions);
        let chat = self.chat.as_ref().map_or(0, |c| c.lost + c.out_of_order);
        self.replica.hash_mismatches + chaos + chat
    }

    /// The report as one pretty-printed JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .expect("invariant: the report holds only strings, integers, floats and maps")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::cluster::JoinPath;
    use crate::replica::ReplicaStats;
    use crate::stats::{ErrorKind, SnapshotClock};

    fn sample() -> Report {
        let t0 = Instant::now();
        let mut bot = BotStats::new();
        let mut clock = SnapshotClock::default();
        bot.connected = 1;
        bot.active = Duration::from_secs(2);
        bot.bytes_in = 4000;
        bot.bytes_out = 600;
        bot.replica = ReplicaStats {
            keyframes: 3,
            keyframe_bytes: 600,
            deltas: 118,
            delta_bytes: 2800,
            applied: 121,
            entities_held: 484,
            players_held: 363,
            ..ReplicaStats::default()
        };
        for i in 0..=120 {
            clock.snapshot(t0 + Duration::from_micros(i * 16_667), &mut bot);
        }
        clock.settle(&mut bot);
        bot.rtt(Duration::from_micros(800));
        bot.ack(Duration::from_millis(9));
        bot.events = 4;
        bot.game_events = 6;
        bot.cluster
            .joined(JoinPath::Direct, Duration::from_millis(2));
        let mut stats = BotStats::empty();
        stats.merge(&bot.named(0));
        let cfg = SwarmConfig {
            bots: 1,
            duration: Duration::from_secs(2),
            ..SwarmConfig::default()
        };
        Report::new(&cfg, &stats)
    }

    #[test]
    fn json_has_the_documented_keys() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        for key in [
            "bots",
            "connected",
            "duration_s",
            "snapshot_rate_hz",
            "snapshot_interval_ms",
            "rtt_ms",
            "input_ack_ms",
            "bytes_in_per_bot_s",
            "bytes_out_per_bot_s",
            "errors",
            "disconnects",
            "events",
            "game_events",
            "nodes",
            "redirects",
            "claims",
            "notices",
            "reseated",
            "joins_direct",
            "joins_redirected",
        ] {
            assert!(json.get(key).is_some(), "missing {key}: {json}");
        }
        for outer in ["reseat_ms", "join_direct_ms", "join_redirected_ms"] {
            for inner in ["p50", "p99", "max"] {
                assert!(json[outer][inner].is_number(), "{outer}.{inner}: {json}");
            }
        }
        assert_eq!(json["nodes"], 1);
        assert_eq!(json["joins_direct"], 1);
        let direct_max = json["join_direct_ms"]["max"].as_f64().unwrap_or_default();
        assert!((direct_max - 2.0).abs() < 0.02, "{json}");
        assert_eq!(
            (json["redirects"].as_u64(), json["reseated"].as_u64()),
            (Some(0), Some(0))
        );
        for (outer, inner) in [
            ("snapshot_rate_hz", "mean"),
            ("snapshot_rate_hz", "min"),
            ("snapshot_interval_ms", "p50"),
            ("snapshot_interval_ms", "p99"),
            ("snapshot_interval_ms", "max"),
            ("rtt_ms", "p50"),
            ("rtt_ms", "p99"),
            ("input_ack_ms", "p50"),
            ("input_ack_ms", "p99"),
        ] {
            assert!(json[outer][inner].is_number(), "{outer}.{inner}: {json}");
        }
        assert_eq!(json["bots"], 1);
        assert_eq!(json["duration_s"], 2.0);
        assert_eq!(json["bytes_in_per_bot_s"], 2000.0);
        assert_eq!(json["bytes_out_per_bot_s"], 300.0);
        assert_eq!(json["game"], "arena");
        assert_eq!(
            (json["events"].as_u64(), json["game_events"].as_u64()),
            (Some(4), Some(6))
        );
    }

    #[test]
    fn json_has_the_replica_object_with_its_documented_keys() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        let replica = &json["replica"];
        for key in [
            "keyframes",
            "deltas",
            "applied",
            "hash_mismatches",
            "missing_base",
            "skipped_after_error",
            "replica_errors",
            "no_schema",
        ] {
            assert!(replica[key].is_u64(), "replica.{key}: {json}");
        }
        for key in [
            "keyframe_bytes_per_bot_per_s",
            "delta_bytes_per_bot_per_s",
            "mean_players_held",
            "mean_entities_held",
        ] {
            assert!(replica[key].is_f64(), "replica.{key}: {json}");
        }
        // The snapshot count it always had stays a number beside it.
        assert_eq!(json["snapshots"], 121);
        assert_eq!(replica["keyframes"], 3);
        assert_eq!(replica["deltas"], 118);
        // Over the bot's two seconds in its room.
        assert_eq!(replica["keyframe_bytes_per_bot_per_s"], 300.0);
        assert_eq!(replica["delta_bytes_per_bot_per_s"], 1400.0);
        assert_eq!(replica["mean_players_held"], 3.0);
        assert_eq!(replica["mean_entities_held"], 4.0);
        assert_eq!(replica["hash_mismatches"], 0);
    }

    #[test]
    fn the_summary_breaks_bytes_down_and_counts_the_replica() {
        let r = sample();
        let text = r.to_string();
        assert!(
            text.contains("in 2000 (keyframes 300, deltas 1400), out 300"),
            "{text}"
        );
        assert!(
            text.contains(
                "3 keyframes, 118 deltas, 4.0 entities (3.0 players) held on average; hash \
                 mismatches 0, missing base 0, other errors 0\n"
            ),
            "{text}"
        );
        assert!(!text.contains("skipped"), "{text}");
        assert!(!text.contains("without a schema"), "{text}");
        assert!(text.contains("1 bots playing arena in 1 rooms"), "{text}");
        assert!(
            text.contains("events            4 messages carrying 6 events"),
            "{text}"
        );
    }

    #[test]
    fn a_hash_mismatch_fails_the_run_but_a_missing_base_does_not() {
        let mut missing = sample();
        missing.replica.missing_base = 2;
        assert!(missing.passed(), "{missing}");
        assert_eq!(missing.broken_promises(), 0);

        let mut bot = BotStats::new();
        bot.connected = 1;
        bot.replica.hash_mismatches = 1;
        bot.replica.skipped_after_error = 4;
        bot.error(ErrorKind::Replica, "delta of tick 7: state hash".into());
        let mut stats = BotStats::empty();
        stats.merge(&bot.named(0));
        let bad = Report::new(&SwarmConfig::default(), &stats);
        assert!(!bad.passed(), "{bad}");
        assert_eq!(bad.broken_promises(), 1);
        assert_eq!(bad.errors_by_kind.get("replica"), Some(&1));
        let text = bad.to_string();
        assert!(text.contains("hash mismatches 1,"), "{text}");
        assert!(text.contains("(deltas skipped after errors 4)"), "{text}");
        assert!(text.contains("FAIL"), "{text}");
    }

    #[test]
    fn figures_come_through_in_milliseconds() {
        let r = sample();
        assert!((r.snapshot_rate_hz.mean - 60.0).abs() < 0.1, "{r:?}");
        assert!((r.snapshot_interval_ms.p50 - 16.667).abs() < 0.2, "{r:?}");
        assert!((r.rtt_ms.p50 - 0.8).abs() < 0.01, "{r:?}");
        assert!((r.input_ack_ms.p99 - 9.0).abs() < 0.1, "{r:?}");
        assert_eq!(r.inputs_acked, 1);
        assert_eq!(r.pongs, 1);
    }

    #[test]
    fn errors_or_failed_connects_fail_the_run_and_say_so() {
        let good = sample();
        assert!(good.passed());
        assert!(good.to_string().contains("PASS"), "{good}");

        let mut bot = BotStats::new();
        bot.failed_to_connect = 1;
        bot.error(ErrorKind::Connect, "connection refused".into());
        let mut stats = BotStats::empty();
        stats.merge(&bot.named(3));
        let bad = Report::new(&SwarmConfig::default(), &stats);
        assert!(!bad.passed());
        let text = bad.to_string();
        assert!(text.contains("FAIL"), "{text}");
        assert!(text.contains("connect 1"), "{text}");
        assert!(
            text.contains("bot-3: connect: connection refused"),
            "{text}"
        );
    }

    #[test]
    fn chaos_and_misbehave_appear_only_when_on() {
        let plain = sample();
        let json: serde_json::Value = serde_json::from_str(&plain.to_json()).unwrap();
        assert!(json.get("chaos").is_none(), "{json}");
        assert!(json.get("chat").is_none(), "{json}");
        assert!(json.get("misbehave").is_none(), "{json}");
        assert!(!plain.to_string().contains("chaos"), "{plain}");
        assert!(!plain.to_string().contains("misbehaving"), "{plain}");

        let mut rough = sample();
        rough.chaos = Some(ChaosReport {
            rate_per_s: 0.5,
            drops: 4,
            reconnects: 3,
            reconnect_failures: 0,
            in_flight: 1,
            reconnect_ms: Percentiles {
                p50: 120.0,
                p99: 400.0,
                max: 410.0,
            },
            resumes: 2,
            failed_resumes: 1,
            resume_ms: Percentiles {
                p50: 110.0,
                p99: 130.0,
                max: 130.0,
            },
            inputs_resent: 5,
            inputs_lost: 0,
            inputs_abandoned: 2,
            ack_regressions: 0,
        });
        rough.misbehave = Some(MisbehaveReport {
            rate: 0.1,
            bots: 2,
            connected: 2,
            frames_sent: 5000,
            bytes_sent: 90_000,
            bytes_received: 80_000,
            errors_received: BTreeMap::from([("1".to_owned(), 30), ("2".to_owned(), 7)]),
            closes: BTreeMap::from([("1003".to_owned(), 2)]),
            reconnects: 2,
            reconnect_failures: 0,
            acts: BTreeMap::from([("text_frame".to_owned(), 2)]),
            lost: 0,
        });
        let json: serde_json::Value = serde_json::from_str(&rough.to_json()).unwrap();
        for key in [
            "drops",
            "reconnects",
            "reconnect_failures",
            "resumes",
            "failed_resumes",
            "inputs_resent",
            "inputs_lost",
            "inputs_abandoned",
            "ack_regressions",
        ] {
            assert!(json["chaos"][key].is_u64(), "chaos.{key}: {json}");
        }
        for key in ["p50", "p99", "max"] {
            assert!(json["chaos"]["reconnect_ms"][key].is_number(), "{json}");
            assert!(json["chaos"]["resume_ms"][key].is_number(), "{json}");
        }
        assert_eq!(json["misbehave"]["bots"], 2);
        assert_eq!(json["misbehave"]["frames_sent"], 5000);
        assert_eq!(json["misbehave"]["errors_received"]["1"], 30);
        assert_eq!(json["misbehave"]["closes"]["1003"], 2);
        assert_eq!(json["misbehave"]["reconnects"], 2);
        let text = rough.to_string();
        assert!(text.contains("4 drops, 3 back"), "{text}");
        assert!(text.contains("2 resumed, 1 joined afresh"), "{text}");
        assert!(text.contains("5 re-sent after resumes, 0 lost"), "{text}");
        assert!(text.contains("errors by code  1: 30, 2: 7"), "{text}");
        assert!(text.contains("closes by code  1003: 2"), "{text}");
        assert!(
            rough.passed(),
            "misbehaving bots' errors do not fail the run"
        );
    }

    fn chat() -> ChatReport {
        ChatReport {
            rate: 1.0,
            sent: 30,
            acked: 27,
            refused: BTreeMap::from([("rate_limited".to_owned(), 2)]),
            unanswered: 1,
            echoed: 27,
            lost: 0,
            out_of_order: 0,
            received: 80,
            ack_ms: Percentiles {
                p50: 0.4,
                p99: 1.2,
                max: 2.0,
            },
        }
    }

    #[test]
    fn chat_appears_with_its_documented_keys() {
        let mut r = sample();
        r.chat = Some(chat());
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for key in [
            "sent",
            "acked",
            "unanswered",
            "echoed",
            "lost",
            "out_of_order",
            "received",
        ] {
            assert!(json["chat"][key].is_u64(), "chat.{key}: {json}");
        }
        assert_eq!(json["chat"]["rate"], 1.0);
        assert_eq!(json["chat"]["refused"]["rate_limited"], 2);
        for key in ["p50", "p99", "max"] {
            assert!(json["chat"]["ack_ms"][key].is_number(), "{json}");
        }
        let text = r.to_string();
        assert!(
            text.contains("30 sent, 27 accepted, 2 refused (rate_limited 2), 1 unanswered"),
            "{text}"
        );
        assert!(
            text.contains("27 came back, 0 lost, 0 out of order"),
            "{text}"
        );
        assert!(r.passed(), "{r}");
    }

    #[test]
    fn broken_promises_fail_the_run() {
        let mut lost_chat = sample();
        lost_chat.chat = Some(ChatReport { lost: 1, ..chat() });
        let mut disordered = sample();
        disordered.chat = Some(ChatReport {
            out_of_order: 2,
            ..chat()
        });
        for r in [lost_chat, disordered] {
            assert!(!r.passed(), "{r}");
            assert!(r.broken_promises() > 0, "{r}");
            assert!(r.to_string().contains("FAIL"), "{r}");
        }
    }

    #[test]
    fn cluster_figures_appear_in_the_summary_when_there_are_any() {
        let plain = sample();
        let text = plain.to_string();
        assert!(
            text.contains("joins             1 direct, p50 2.0"),
            "{text}"
        );
        assert!(!text.contains("cluster"), "{text}");

        let mut bot = BotStats::new();
        bot.connected = 1;
        bot.cluster.redirects = 3;
        bot.cluster.claims = 2;
        bot.cluster.notices = 1;
        bot.cluster
            .joined(JoinPath::Redirected, Duration::from_millis(40));
        bot.cluster.reseat(Duration::from_millis(300));
        let mut stats = BotStats::empty();
        stats.merge(&bot.named(0));
        let cfg = SwarmConfig {
            urls: vec!["ws://a:1".into(), "ws://b:2".into()],
            ..SwarmConfig::default()
        };
        let r = Report::new(&cfg, &stats);
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["nodes"], 2);
        assert_eq!(json["redirects"], 3);
        assert_eq!(json["claims"], 2);
        assert_eq!(json["notices"], 1);
        assert_eq!(json["reseated"], 1);
        assert!((r.reseat_ms.max - 300.0).abs() < 3.0, "{r:?}");
        assert_eq!(json["joins_redirected"], 1);
        assert!((r.join_redirected_ms.p50 - 40.0).abs() < 0.4, "{r:?}");
        let text = r.to_string();
        assert!(text.contains("; redirected 1, p50 40."), "{text}");
        assert!(
            text.contains("cluster           2 nodes: 3 redirects, 2 claims, 1 notices"),
            "{text}"
        );
        assert!(text.contains("reseated          1, p50 30"), "{text}");
        assert!(r.passed(), "{r}");
    }

    #[test]
    fn disconnects_alone_do_not_fail_the_run() {
        let mut r = sample();
        r.disconnects = 1;
        assert!(r.passed());
    }
}
