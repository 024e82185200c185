//! What honest bots measured ([`BotStats`]): one bot's, and the swarm's, which is every
//! bot's merged into one of the same type.
//!
//! Each bot owns its stats while it runs (no sharing, no locks on the hot path) and hands
//! them back when it ends; `run` merges them. What is not a sum stays with the bot beside
//! its stats: when its snapshots came ([`SnapshotClock`], which settles the bot's snapshot
//! rate into its stats at the end) and its chat book ([`crate::chat::ChatBook`]).
//! Latencies go into [`Latencies`], small enough for thousands of bots (see
//! [`crate::hist`]).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::chaos::ChaosStats;
use crate::chat::ChatStats;
use crate::cluster::{ClusterStats, JoinPath};
use crate::hist::Latencies;
use crate::replica::ReplicaStats;
use crate::session::Tally;

/// How many problem descriptions a bot keeps, and the swarm reports.
const PROBLEMS_PER_BOT: usize = 3;
const PROBLEMS_IN_ALL: usize = 10;

/// What went wrong, for counting errors by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ErrorKind {
    /// Connecting, hello or join failed or took too long.
    Connect,
    /// The server sent an `Error` message.
    Server,
    /// A server frame could not be decoded.
    Decode,
    /// The WebSocket failed (I/O, protocol).
    WebSocket,
    /// The server sent a text frame; the protocol is binary only.
    TextFrame,
    /// After a drop on purpose (`--chaos`), every attempt to get back failed.
    Reconnect,
    /// The server broke the resume or chat protocol: a chat ack for no chat, a resume
    /// into another player or room.
    Protocol,
    /// A snapshot did not rebuild the server's state: a hash mismatch, or a delta that
    /// could not be applied (see [`crate::replica`]). A missing base is not one.
    Replica,
    /// The room's schema cannot be used: missing or against its own rules (nothing is
    /// decoded on that connection), or without the inputs the bots' game needs (no input
    /// is sent on it). Once per connection.
    Schema,
    /// The bot's task itself failed or overran: a bug in the swarm, not the server.
    Lost,
}

impl ErrorKind {
    /// The name used in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Server => "server_error",
            ErrorKind::Decode => "decode",
            ErrorKind::WebSocket => "websocket",
            ErrorKind::TextFrame => "text_frame",
            ErrorKind::Reconnect => "reconnect",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Replica => "replica",
            ErrorKind::Schema => "schema",
            ErrorKind::Lost => "bot_task",
        }
    }
}

/// Snapshots per second over the span from the first to the last of `count` snapshots:
/// `count − 1` intervals fit in that span. Fewer than two snapshots give 0.
pub(crate) fn snapshot_rate_hz(count: u64, span: Duration) -> f64 {
    if count < 2 || span.is_zero() {
        return 0.0;
    }
    (count - 1) as f64 / span.as_secs_f64()
}

/// What honest bots measured: one bot's while it runs, or any number of bots' merged.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BotStats {
    /// Bots measured: 1 for one bot's stats, 0 for none.
    pub(crate) bots: usize,
    /// Bots that got `Joined` (for one bot: 0 or 1, as for the next two).
    pub(crate) connected: usize,
    /// Bots that did not get `Joined` within the connect timeout.
    pub(crate) failed_to_connect: usize,
    /// Bots whose connection the server ended before their deadline.
    pub(crate) disconnects: usize,
    /// Snapshots received while playing.
    pub(crate) snapshots: u64,
    /// Light bots (`--check-every`, see [`crate::light`]): 0 or 1 for one bot. The others
    /// decoded and checked every snapshot.
    pub(crate) light_bots: usize,
    /// Snapshots the light bots only counted (and timed): part of `snapshots`, none of
    /// `replica`.
    pub(crate) light_snapshots: u64,
    /// Inputs the light bots sent: part of `inputs_sent`, whose acks nobody tracked.
    pub(crate) light_inputs: u64,
    /// What those snapshots were, their bytes, and what became of them in the bots' copies
    /// of the room.
    pub(crate) replica: ReplicaStats,
    /// Sum and least of the bots' snapshot rates, for the mean and the minimum; a bot's
    /// own is settled by its [`SnapshotClock`] when it finishes.
    rate_sum_hz: f64,
    rate_min_hz: f64,
    /// Time between consecutive snapshots of a bot on one connection, µs.
    pub(crate) interval_us: Latencies,
    /// Ping to pong, µs.
    pub(crate) rtt_us: Latencies,
    /// Input sent to the first snapshot acknowledging it, µs.
    pub(crate) ack_us: Latencies,
    /// `Events` messages received while playing: the rooms' reliable one-shot events.
    pub(crate) events: u64,
    /// The game events those messages carried.
    pub(crate) game_events: u64,
    /// Payload bytes of binary frames received.
    pub(crate) bytes_in: u64,
    /// Payload bytes of binary frames sent.
    pub(crate) bytes_out: u64,
    /// Inputs sent.
    pub(crate) inputs_sent: u64,
    /// Inputs never matched to an ack because too many were outstanding.
    pub(crate) inputs_forgotten: u64,
    /// How long the bots were in their rooms, from `Joined` to the end of each connection,
    /// summed: what bytes per bot per second divide by.
    pub(crate) active: Duration,
    /// Drops on purpose and reconnects (`--chaos`), and what became of the inputs.
    pub(crate) chaos: ChaosStats,
    /// What the bots' chat saw (`--chat-rate`), settled as each bot finished; empty when
    /// they do not chat.
    pub(crate) chat: ChatStats,
    /// Redirects, claims, notices, joins and reseats (see [`crate::cluster`]).
    pub(crate) cluster: ClusterStats,
    errors: BTreeMap<ErrorKind, u64>,
    /// The first few errors and disconnect reasons, in words: a bot's own, which
    /// [`BotStats::named`] prefixes with its name before they join the swarm's.
    problems: Vec<String>,
}

impl BotStats {
    /// The stats of no bots: what merging starts from.
    pub(crate) fn empty() -> Self {
        Self {
            bots: 0,
            connected: 0,
            failed_to_connect: 0,
            disconnects: 0,
            snapshots: 0,
            light_bots: 0,
            light_snapshots: 0,
            light_inputs: 0,
            replica: ReplicaStats::default(),
            rate_sum_hz: 0.0,
            rate_min_hz: f64::INFINITY,
            interval_us: Latencies::default(),
            rtt_us: Latencies::default(),
            ack_us: Latencies::default(),
            events: 0,
            game_events: 0,
            bytes_in: 0,
            bytes_out: 0,
            inputs_sent: 0,
            inputs_forgotten: 0,
            active: Duration::ZERO,
            chaos: ChaosStats::default(),
            chat: ChatStats::default(),
            cluster: ClusterStats::default(),
            errors: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// The stats of one bot that has measured nothing yet (its snapshot rate is 0).
    pub(crate) fn new() -> Self {
        Self {
            bots: 1,
            rate_min_hz: 0.0,
            ..Self::empty()
        }
    }

    /// The stats of a bot whose task failed or never finished: one error, nothing measured.
    pub(crate) fn lost(why: String) -> Self {
        let mut stats = Self::new();
        stats.error(ErrorKind::Lost, why);
        stats
    }

    pub(crate) fn rtt(&mut self, rtt: Duration) {
        self.rtt_us.record(rtt);
    }

    pub(crate) fn ack(&mut self, latency: Duration) {
        self.ack_us.record(latency);
    }

    /// Counts an error of `kind`; the first few are kept in words.
    pub(crate) fn error(&mut self, kind: ErrorKind, what: String) {
        *self.errors.entry(kind).or_default() += 1;
        self.note(format!("{}: {what}", kind.name()));
    }

    /// Keeps a problem in words (if this bot has not kept enough already) without counting
    /// it as an error: a disconnect's reason, say.
    pub(crate) fn note(&mut self, what: String) {
        if self.problems.len() < PROBLEMS_PER_BOT {
            self.problems.push(what);
        }
    }

    /// One bot's stats with its problems prefixed by its name, `bot-{index}`, so that the
    /// swarm's problems say whose they were.
    pub(crate) fn named(mut self, index: usize) -> Self {
        for problem in &mut self.problems {
            *problem = format!("bot-{index}: {problem}");
        }
        self
    }

    /// Adds another bot's (or bots') stats to these, keeping the first few problems in
    /// the order they were merged.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.bots += other.bots;
        self.connected += other.connected;
        self.failed_to_connect += other.failed_to_connect;
        self.disconnects += other.disconnects;
        self.snapshots += other.snapshots;
        self.light_bots += other.light_bots;
        self.light_snapshots += other.light_snapshots;
        self.light_inputs += other.light_inputs;
        self.replica.merge(&other.replica);
        self.rate_sum_hz += other.rate_sum_hz;
        self.rate_min_hz = self.rate_min_hz.min(other.rate_min_hz);
        self.interval_us.merge(&other.interval_us);
        self.rtt_us.merge(&other.rtt_us);
        self.ack_us.merge(&other.ack_us);
        self.events += other.events;
        self.game_events += other.game_events;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.inputs_sent += other.inputs_sent;
        self.inputs_forgotten += other.inputs_forgotten;
        self.active += other.active;
        self.chaos.merge(&other.chaos);
        self.chat.merge(&other.chat);
        self.cluster.merge(&other.cluster);
        for (kind, count) in &other.errors {
            *self.errors.entry(*kind).or_default() += count;
        }
        let room = PROBLEMS_IN_ALL.saturating_sub(self.problems.len());
        self.problems
            .extend(other.problems.iter().take(room).cloned());
    }

    /// All errors of every kind.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The errors by the kinds' names in the report.
    pub(crate) fn errors_by_kind(&self) -> BTreeMap<String, u64> {
        self.errors
            .iter()
            .map(|(kind, n)| (kind.name().to_owned(), *n))
            .collect()
    }

    /// The first few problems, in words.
    pub(crate) fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The mean of the bots' snapshot rates (0 with no bots).
    pub(crate) fn rate_mean_hz(&self) -> f64 {
        if self.bots == 0 {
            0.0
        } else {
            self.rate_sum_hz / self.bots as f64
        }
    }

    /// The lowest bot's snapshot rate (0 with no bots).
    pub(crate) fn rate_min_hz(&self) -> f64 {
        if self.bots == 0 {
            0.0
        } else {
            self.rate_min_hz
        }
    }

    /// `bytes` spread over the bots' time in their rooms: per bot, per second.
    pub(crate) fn per_bot_per_s(&self, bytes: u64) -> f64 {
        if self.active.is_zero() {
            0.0
        } else {
            bytes as f64 / self.active.as_secs_f64()
        }
    }
}

impl Tally for BotStats {
    fn sent(&mut self, bytes: usize) {
        self.bytes_out += bytes as u64;
    }

    fn received(&mut self, bytes: usize) {
        self.bytes_in += bytes as u64;
    }

    fn redirected(&mut self) {
        self.cluster.redirects += 1;
    }

    fn claimed(&mut self) {
        self.cluster.claims += 1;
    }

    fn noticed(&mut self) {
        self.cluster.notices += 1;
    }

    fn joined(&mut self, path: JoinPath, took: Duration) {
        self.cluster.joined(path, took);
    }
}

/// When one bot's snapshots came: what its snapshot intervals and its snapshot rate are
/// measured from. Not a sum, so it stays with the bot, beside its [`BotStats`].
#[derive(Debug, Default)]
pub(crate) struct SnapshotClock {
    first: Option<Instant>,
    /// The last snapshot on the current connection; `None` from a reconnect to its first.
    last: Option<Instant>,
    /// The last snapshot before a reconnect, until the new connection's first snapshot.
    gap_from: Option<Instant>,
    /// Time from the last snapshot before each reconnect to the first after it: not play,
    /// so left out of the snapshot rate, and never recorded as an interval.
    gaps: Duration,
    /// How many such gaps there were: snapshot pairs that are not intervals.
    gap_count: u64,
}

impl SnapshotClock {
    /// A snapshot arrived at `now`: counted in the bot's `stats`, with its interval since
    /// the one before on the same connection.
    pub(crate) fn snapshot(&mut self, now: Instant, stats: &mut BotStats) {
        stats.snapshots += 1;
        if let Some(last) = self.last {
            stats
                .interval_us
                .record(now.saturating_duration_since(last));
        } else if let Some(before) = self.gap_from.take() {
            // The first snapshot after a reconnect: the time since the old connection's
            // last one was spent reconnecting, not waiting for a snapshot.
            self.gaps += now.saturating_duration_since(before);
            self.gap_count += 1;
        }
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// The bot is on a new connection: the next snapshot starts a new run of intervals.
    pub(crate) fn reconnected(&mut self) {
        if let Some(last) = self.last.take() {
            self.gap_from = Some(last);
        }
    }

    /// The bot's snapshot rate, from its first snapshot to its last, leaving out the time
    /// spent reconnecting; `stats` are the ones [`SnapshotClock::snapshot`] counted into.
    pub(crate) fn rate_hz(&self, stats: &BotStats) -> f64 {
        match (self.first, self.last.or(self.gap_from)) {
            (Some(first), Some(last)) => snapshot_rate_hz(
                stats.snapshots - self.gap_count,
                last.saturating_duration_since(first)
                    .saturating_sub(self.gaps),
            ),
            _ => 0.0,
        }
    }

    /// Writes the bot's snapshot rate ([`SnapshotClock::rate_hz`]) into its `stats`, as it
    /// finishes.
    pub(crate) fn settle(&self, stats: &mut BotStats) {
        let rate = self.rate_hz(stats);
        stats.rate_sum_hz = rate;
        stats.rate_min_hz = rate;
    }
}

/// The round trip a pong shows: the clock it echoes and the clock now, both in
/// milliseconds since the swarm started. An echo that is not a ping of ours (in the future,
/// or not a number) is a decode error, in these words.
pub(crate) fn round_trip(echoed_ms: f64, now_ms: f64) -> Result<Duration, String> {
    let rtt_ms = now_ms - echoed_ms;
    if rtt_ms.is_finite() && rtt_ms >= 0.0 {
        Ok(Duration::from_secs_f64(rtt_ms / 1000.0))
    } else {
        Err(format!("pong echoes {echoed_ms} ms, not a ping we sent"))
    }
}

/// A server's `Error` message in words, as a bot's errors keep it.
pub(crate) fn server_error_words(e: &tickwire_shared::Error) -> String {
    format!(
        "code {} in reply to {:?}: {}",
        e.code.0, e.in_reply_to, e.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::{Percentiles, assert_empty_merges_as_identity};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Has `clock` see `n + 1` snapshots, `period` apart from `start`, counted in `bot`.
    fn snapshots(
        clock: &mut SnapshotClock,
        bot: &mut BotStats,
        start: Instant,
        period: Duration,
        n: u32,
    ) {
        for i in 0..=n {
            clock.snapshot(start + period * i, bot);
        }
    }

    /// Within hdrhistogram's 1 % at two significant digits.
    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= want.abs() * 0.01 + 1e-9
    }

    #[test]
    fn rate_counts_intervals_not_snapshots() {
        assert_eq!(snapshot_rate_hz(0, ms(1000)), 0.0);
        assert_eq!(snapshot_rate_hz(1, ms(1000)), 0.0);
        assert_eq!(snapshot_rate_hz(5, Duration::ZERO), 0.0);
        assert_eq!(snapshot_rate_hz(61, ms(1000)), 60.0);
        assert_eq!(snapshot_rate_hz(2, ms(500)), 2.0);
    }

    #[test]
    fn a_bot_records_snapshot_intervals_and_its_rate() {
        let t0 = Instant::now();
        let mut bot = BotStats::new();
        let mut clock = SnapshotClock::default();
        assert_eq!(clock.rate_hz(&bot), 0.0);
        snapshots(&mut clock, &mut bot, t0, Duration::from_micros(16_667), 60);
        assert_eq!(bot.snapshots, 61);
        assert_eq!(bot.interval_us.len(), 60);
        assert!(close(clock.rate_hz(&bot), 60.0), "{}", clock.rate_hz(&bot));
    }

    #[test]
    fn a_reconnect_gap_is_neither_an_interval_nor_play() {
        let t0 = Instant::now();
        let mut bot = BotStats::new();
        let mut clock = SnapshotClock::default();
        // 1 s at 10 Hz, 5 s away, then 1 s at 10 Hz again.
        snapshots(&mut clock, &mut bot, t0, ms(100), 10);
        clock.reconnected();
        snapshots(&mut clock, &mut bot, t0 + ms(6000), ms(100), 10);
        assert_eq!(bot.snapshots, 22);
        assert_eq!(bot.interval_us.len(), 20);
        let interval = Percentiles::of(&bot.interval_us);
        assert!(close(interval.max, 100.0), "{interval:?}");
        assert!(close(clock.rate_hz(&bot), 10.0), "{}", clock.rate_hz(&bot));
    }

    #[test]
    fn a_reconnect_without_snapshots_after_it_keeps_the_rate() {
        let t0 = Instant::now();
        let mut bot = BotStats::new();
        let mut clock = SnapshotClock::default();
        // Reconnecting before the first snapshot changes nothing.
        clock.reconnected();
        snapshots(&mut clock, &mut bot, t0, ms(100), 10);
        clock.reconnected();
        clock.reconnected();
        assert_eq!(bot.interval_us.len(), 10);
        assert!(close(clock.rate_hz(&bot), 10.0), "{}", clock.rate_hz(&bot));
    }

    #[test]
    fn errors_are_counted_by_kind_and_a_few_kept_in_words() {
        let mut bot = BotStats::new();
        for i in 0..5 {
            bot.error(ErrorKind::Decode, format!("bad frame {i}"));
        }
        bot.error(ErrorKind::Server, "room full".into());
        assert_eq!(bot.errors(), 6);
        assert_eq!(bot.problems.len(), PROBLEMS_PER_BOT);
        assert_eq!(bot.problems[0], "decode: bad frame 0");

        let mut swarm = BotStats::empty();
        swarm.merge(&bot.named(4));
        swarm.merge(&BotStats::lost("gone".into()).named(5));
        assert_eq!(swarm.errors(), 7);
        assert_eq!(swarm.errors_by_kind()["decode"], 5);
        assert_eq!(swarm.errors_by_kind()["server_error"], 1);
        assert_eq!(swarm.errors_by_kind()["bot_task"], 1);
        assert_eq!(swarm.problems[0], "bot-4: decode: bad frame 0");
        assert_eq!(swarm.problems[3], "bot-5: bot_task: gone");
    }

    #[test]
    fn merging_sums_counts_and_keeps_percentiles() {
        let mut a = BotStats::new();
        let mut b = BotStats::new();
        for v in 1..=50 {
            a.rtt(ms(v));
        }
        for v in 51..=100 {
            b.rtt(ms(v));
        }
        a.connected = 1;
        b.disconnects = 1;
        b.failed_to_connect = 1;
        a.bytes_in = 1000;
        b.bytes_in = 3000;
        a.bytes_out = 10;
        a.active = ms(1000);
        b.active = ms(1000);

        let mut swarm = BotStats::empty();
        swarm.merge(&a.named(0));
        swarm.merge(&b.named(1));
        assert_eq!(swarm.bots, 2);
        assert_eq!(swarm.connected, 1);
        assert_eq!(swarm.failed_to_connect, 1);
        assert_eq!(swarm.disconnects, 1);
        assert_eq!(swarm.rtt_us.len(), 100);
        let rtt = Percentiles::of(&swarm.rtt_us);
        assert!(close(rtt.p50, 50.0));
        assert!(close(rtt.p99, 99.0));
        assert!(close(rtt.max, 100.0));
        // 4000 bytes over two bot-seconds.
        assert_eq!(swarm.per_bot_per_s(swarm.bytes_in), 2000.0);
        assert_eq!(swarm.per_bot_per_s(swarm.bytes_out), 5.0);
    }

    #[test]
    fn snapshot_kinds_merge_and_their_bytes_spread_per_bot_per_second() {
        let mut a = BotStats::new();
        a.active = ms(1000);
        a.bytes_in = 5000;
        a.replica = ReplicaStats {
            keyframes: 1,
            keyframe_bytes: 600,
            deltas: 59,
            delta_bytes: 1800,
            applied: 60,
            entities_held: 240,
            players_held: 180,
            ..ReplicaStats::default()
        };
        let mut b = BotStats::new();
        b.active = ms(3000);
        b.bytes_in = 7000;
        b.replica = ReplicaStats {
            keyframes: 3,
            keyframe_bytes: 1400,
            deltas: 177,
            delta_bytes: 6200,
            applied: 170,
            entities_held: 170,
            players_held: 170,
            hash_mismatches: 1,
            missing_base: 2,
            skipped_after_error: 7,
            replica_errors: 0,
            no_schema: 0,
        };
        b.error(ErrorKind::Replica, "delta of tick 9: state hash".into());

        let mut swarm = BotStats::empty();
        swarm.merge(&a.named(0));
        swarm.merge(&b.named(1));
        let r = &swarm.replica;
        assert_eq!((r.keyframes, r.deltas, r.applied), (4, 236, 230));
        assert_eq!(
            (
                r.hash_mismatches,
                r.missing_base,
                r.skipped_after_error,
                r.replica_errors
            ),
            (1, 2, 7, 0)
        );
        // Four bot-seconds in the rooms: 2000 keyframe bytes, 8000 delta bytes, 12000 in all
        // (the rest is pongs and chat).
        assert_eq!(swarm.per_bot_per_s(r.keyframe_bytes), 500.0);
        assert_eq!(swarm.per_bot_per_s(r.delta_bytes), 2000.0);
        assert_eq!(swarm.per_bot_per_s(swarm.bytes_in), 3000.0);
        assert!((r.mean_players_held() - 350.0 / 230.0).abs() < 1e-9);
        assert!((r.mean_entities_held() - 410.0 / 230.0).abs() < 1e-9);
        assert_eq!(swarm.errors_by_kind()["replica"], 1);
        assert_eq!(
            swarm.problems[0],
            "bot-1: replica: delta of tick 9: state hash"
        );
    }

    #[test]
    fn rate_mean_and_min_are_over_all_bots() {
        let t0 = Instant::now();
        let mut fast = BotStats::new();
        let mut slow = BotStats::new();
        let (mut fast_clock, mut slow_clock) = (SnapshotClock::default(), SnapshotClock::default());
        snapshots(&mut fast_clock, &mut fast, t0, ms(10), 60); // 100 Hz
        snapshots(&mut slow_clock, &mut slow, t0, ms(50), 10); // 20 Hz
        fast_clock.settle(&mut fast);
        slow_clock.settle(&mut slow);
        let mut swarm = BotStats::empty();
        swarm.merge(&fast);
        swarm.merge(&slow);
        assert!(close(swarm.rate_mean_hz(), 60.0));
        assert!(close(swarm.rate_min_hz(), 20.0));
        // A bot that saw nothing pulls the minimum to zero.
        swarm.merge(&BotStats::new());
        assert_eq!(swarm.rate_min_hz(), 0.0);
    }

    #[test]
    fn empty_stats_read_as_zero_not_nan() {
        let swarm = BotStats::empty();
        assert_eq!(swarm.rate_mean_hz(), 0.0);
        assert_eq!(swarm.rate_min_hz(), 0.0);
        assert_eq!(swarm.per_bot_per_s(123), 0.0);
        assert_eq!(Percentiles::of(&swarm.ack_us).p99, 0.0);
        assert_eq!(Percentiles::of(&swarm.interval_us).max, 0.0);
    }

    #[test]
    fn absurd_latencies_saturate_instead_of_failing() {
        let mut bot = BotStats::new();
        bot.ack(Duration::from_secs(3600));
        bot.ack(Duration::ZERO);
        assert_eq!(bot.ack_us.len(), 2);
    }

    /// Two bots with something in every field: `a` played at 10 Hz, `b` at 20 Hz, and
    /// each had problems and a little chaos, chat and cluster.
    fn two_bots() -> (BotStats, BotStats) {
        let t0 = Instant::now();
        let mut a = BotStats::new();
        let mut b = BotStats::new();
        for (bot, period, rtt, bytes) in [(&mut a, 100, 3, 1000), (&mut b, 50, 7, 4000)] {
            let mut clock = SnapshotClock::default();
            snapshots(&mut clock, bot, t0, ms(period), 10);
            clock.settle(bot);
            bot.connected = 1;
            bot.rtt(ms(rtt));
            bot.ack(ms(rtt * 2));
            bot.bytes_in = bytes;
            bot.bytes_out = bytes / 10;
            bot.inputs_sent = bytes / 100;
            bot.inputs_forgotten = 1;
            bot.events = 3;
            bot.game_events = 5;
            bot.active = ms(bytes);
            bot.replica.keyframes = 1;
            bot.replica.deltas = 10;
            bot.chaos.drops = 1;
            bot.chaos.resumed(ms(rtt * 10));
            bot.chat.sent = 2;
            bot.chat.ack_us.record(ms(rtt));
            bot.redirected();
            bot.claimed();
            bot.noticed();
            bot.joined(JoinPath::Redirected, ms(rtt * 3));
            bot.cluster.reseat(ms(rtt * 20));
        }
        b.disconnects = 1;
        a.error(ErrorKind::Decode, "bad frame".into());
        b.error(ErrorKind::Decode, "worse frame".into());
        b.note("disconnected: going away".into());
        (a.named(0), b.named(1))
    }

    #[test]
    fn merging_two_bots_gives_the_sums() {
        let (a, b) = two_bots();
        let mut merged = a.clone();
        merged.merge(&b);

        let mut sums = BotStats::empty();
        sums.bots = 2;
        sums.connected = 2;
        sums.disconnects = 1;
        sums.snapshots = 22;
        sums.replica.keyframes = 2;
        sums.replica.deltas = 20;
        sums.rate_sum_hz = a.rate_sum_hz + b.rate_sum_hz;
        sums.rate_min_hz = a.rate_min_hz;
        for period in [100, 50] {
            for _ in 0..10 {
                sums.interval_us.record(ms(period));
            }
        }
        for rtt in [3, 7] {
            sums.rtt_us.record(ms(rtt));
            sums.ack_us.record(ms(rtt * 2));
            sums.chaos.drops += 1;
            sums.chaos.resumed(ms(rtt * 10));
            sums.chat.ack_us.record(ms(rtt));
            sums.cluster.joined(JoinPath::Redirected, ms(rtt * 3));
            sums.cluster.reseat(ms(rtt * 20));
        }
        (
            sums.cluster.redirects,
            sums.cluster.claims,
            sums.cluster.notices,
        ) = (2, 2, 2);
        sums.bytes_in = 5000;
        sums.bytes_out = 500;
        sums.inputs_sent = 50;
        sums.inputs_forgotten = 2;
        sums.events = 6;
        sums.game_events = 10;
        sums.active = ms(5000);
        sums.chat.sent = 4;
        sums.errors = BTreeMap::from([(ErrorKind::Decode, 2)]);
        sums.problems = vec![
            "bot-0: decode: bad frame".to_owned(),
            "bot-1: decode: worse frame".to_owned(),
            "bot-1: disconnected: going away".to_owned(),
        ];
        assert_eq!(merged, sums);
        assert!(close(merged.rate_mean_hz(), 15.0));
        assert!(close(merged.rate_min_hz(), 10.0));
    }

    #[test]
    fn merging_into_nothing_changes_nothing() {
        let (a, _) = two_bots();
        assert_empty_merges_as_identity(BotStats::empty, BotStats::merge, &a);
    }

    #[test]
    fn the_swarm_keeps_only_its_first_few_problems() {
        let mut swarm = BotStats::empty();
        for index in 0..5 {
            let mut bot = BotStats::new();
            for i in 0..PROBLEMS_PER_BOT {
                bot.note(format!("problem {i}"));
            }
            swarm.merge(&bot.named(index));
        }
        assert_eq!(swarm.problems().len(), PROBLEMS_IN_ALL);
        assert_eq!(swarm.problems()[9], "bot-3: problem 0");
    }
}
