//! What the server did and refused, as Prometheus metrics, shared by every task.
//!
//! Each metric is registered once in a [`Registry`] that the admin endpoint encodes on
//! scrape. Hot paths never look a metric up by label: every labelled series a task may
//! touch is resolved here, once, into a plain counter (an atomic behind an `Arc`). Rooms add
//! their traffic once per tick rather than once per message.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Why a connection that completed its handshake ended: every such connection ends with
/// exactly one, counted in `tickwire_connections_closed_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// The client closed with a close frame, or was closed after a clean request.
    Clean,
    /// The server is shutting down (1001).
    Shutdown,
    /// Its reliable queue overflowed: it could not keep up (1008).
    Slow,
    /// Its socket refused our writes for the stall timeout (1008).
    Stalled,
    /// It kept sending above its rate limit (1008).
    Flood,
    /// It sent a frame above the size limit (1009).
    Oversize,
    /// It broke the protocol: a text frame (1003) or a protocol version we do not speak (1002).
    BadInput,
    /// Nothing, not even a pong, arrived for the idle timeout (1008).
    Timeout,
    /// The connection ended without a close frame: reset, EOF, or a failed socket.
    Abnormal,
    /// A newer connection took its place: the same user joined its room again, or the
    /// player resumed on another connection (1008).
    Replaced,
}

impl CloseCause {
    /// Every cause, in the order of [`CloseCause::label`]'s table.
    pub const ALL: [CloseCause; 10] = [
        CloseCause::Clean,
        CloseCause::Shutdown,
        CloseCause::Slow,
        CloseCause::Stalled,
        CloseCause::Flood,
        CloseCause::Oversize,
        CloseCause::BadInput,
        CloseCause::Timeout,
        CloseCause::Abnormal,
        CloseCause::Replaced,
    ];

    /// The metric label value (and log field) for this cause.
    pub fn label(self) -> &'static str {
        match self {
            CloseCause::Clean => "clean",
            CloseCause::Shutdown => "shutdown",
            CloseCause::Slow => "slow",
            CloseCause::Stalled => "stalled",
            CloseCause::Flood => "flood",
            CloseCause::Oversize => "oversize",
            CloseCause::BadInput => "bad_input",
            CloseCause::Timeout => "timeout",
            CloseCause::Abnormal => "abnormal",
            CloseCause::Replaced => "replaced",
        }
    }

    /// True for the causes that mean the connection was lost rather than ended on purpose.
    pub fn is_loss(self) -> bool {
        matches!(
            self,
            CloseCause::Abnormal | CloseCause::Timeout | CloseCause::Stalled | CloseCause::Slow
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a TCP peer was turned away before it became a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address already had the most connections allowed (HTTP 429).
    PerIp,
    /// The server already had the most connections allowed (HTTP 503).
    Capacity,
    /// Too many handshakes were already under way; dropped unanswered.
    HandshakeBacklog,
    /// It did not complete the handshake in time.
    HandshakeTimeout,
    /// Its handshake was not a valid WebSocket upgrade, or the socket failed.
    HandshakeFailed,
    /// Its upgrade carried no valid token while authentication is on (HTTP 401).
    Unauthorized,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::PerIp,
        Refusal::Capacity,
        Refusal::HandshakeBacklog,
        Refusal::HandshakeTimeout,
        Refusal::HandshakeFailed,
        Refusal::Unauthorized,
    ];

    /// The metric label value (and log field) for this refusal.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::PerIp => "per_ip",
            Refusal::Capacity => "capacity",
            Refusal::HandshakeBacklog => "handshake_backlog",
            Refusal::HandshakeTimeout => "handshake_timeout",
            Refusal::HandshakeFailed => "handshake_failed",
            Refusal::Unauthorized => "unauthorized",
        }
    }
}

/// Which rate limit dropped a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// An input.
    Input,
    /// Any other message, or a malformed frame.
    Message,
}

type Labels = [(&'static str, &'static str); 1];

/// A client's traffic since it was last added to the totals.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// WebSocket messages received (data frames).
    pub messages_in: u64,
    /// WebSocket messages sent (data frames).
    pub messages_out: u64,
    /// Bytes read from the socket, framing included.
    pub bytes_in: u64,
    /// Bytes written to the socket, framing included.
    pub bytes_out: u64,
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, other: Self) {
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
    }
}

/// Server-wide metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Connections open now (handshake completed, not yet closed).
    pub connections_open: Gauge,
    /// Connections that completed the WebSocket handshake.
    pub connections_accepted: Counter,
    refused: [Counter; Refusal::ALL.len()],
    closed: [Counter; CloseCause::ALL.len()],
    /// Rooms open now (set when scraped).
    pub rooms: Gauge,
    /// Players seated in rooms now (set when scraped).
    pub players: Gauge,
    /// Simulation ticks run, over all rooms.
    pub ticks: Counter,
    /// Ticks the rooms gave up after falling too far behind.
    pub ticks_skipped: Counter,
    /// Ticks that took longer than one tick period.
    pub tick_overruns: Counter,
    /// How long one tick's work (read, step, encode, write) took, in seconds.
    pub tick_seconds: Histogram,
    messages_in: Counter,
    messages_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    /// Snapshots queued for clients: keyframes, then deltas.
    snapshots_sent: [Counter; 2],
    /// Snapshots replaced by a newer one before a slow socket could take them.
    pub snapshots_dropped: Counter,
    /// Frames that were not valid messages (answered with an error message).
    pub frames_malformed: Counter,
    /// Inputs refused for NaN or infinite numbers.
    pub inputs_invalid: Counter,
    rate_limited: [Counter; 2],
    /// Recording chunks dropped because the writer was behind (each ends a segment).
    pub record_dropped: Counter,
    /// Cluster mode: 1 while the directory (Redis) answers, 0 while it does not.
    pub cluster_directory_up: Gauge,
    /// Cluster mode: how long a seat asked of another node took to be granted, in seconds.
    pub cluster_seat_seconds: Histogram,
    /// Cluster mode: seats asked of other nodes and not granted (refused, or no answer).
    pub cluster_seats_refused: Counter,
    /// Cluster mode: clients sent to another node with a redirect.
    pub cluster_redirects: Counter,
    /// Members in the rooms of each room thread (`workers.rs`), by thread.
    thread_members: Family<[(&'static str, String); 1], Gauge>,
    /// Already counted in `closed`; kept to log a summary line at shutdown.
    closed_total: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric in a new registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tickwire");
        let refused_family = Family::<Labels, Counter>::default();
        let closed_family = Family::<Labels, Counter>::default();
        let limited_family = Family::<Labels, Counter>::default();
        let snapshots_family = Family::<Labels, Counter>::default();
        // Resolve every label now, so each series is shown (at 0) from the first scrape and
        // hot paths hold plain counters.
        let refused =
            Refusal::ALL.map(|r| refused_family.get_or_create_owned(&[("reason", r.label())]));
        let closed =
            CloseCause::ALL.map(|c| closed_family.get_or_create_owned(&[("reason", c.label())]));
        let rate_limited =
            ["input", "message"].map(|kind| limited_family.get_or_create_owned(&[("kind", kind)]));
        let snapshots_sent = ["keyframe", "delta"]
            .map(|kind| snapshots_family.get_or_create_owned(&[("kind", kind)]));
        // 50 µs to ~26 ms: a tick's budget is 16.7 ms at 60 Hz.
        let tick_seconds = Histogram::new(exponential_buckets(50e-6, 2.0, 10));
        let m = Self {
            connections_open: Gauge::default(),
            connections_accepted: Counter::default(),
            refused,
            closed,
            rooms: Gauge::default(),
            players: Gauge::default(),
            ticks: Counter::default(),
            ticks_skipped: Counter::default(),
            tick_overruns: Counter::default(),
            tick_seconds,
            messages_in: Counter::default(),
            messages_out: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            snapshots_sent,
            snapshots_dropped: Counter::default(),
            frames_malformed: Counter::default(),
            inputs_invalid: Counter::default(),
            rate_limited,
            record_dropped: Counter::default(),
            cluster_directory_up: Gauge::default(),
            // 250 µs to ~0.5 s: a Redis round trip on a LAN is about a millisecond.
            cluster_seat_seconds: Histogram::new(exponential_buckets(250e-6, 2.0, 12)),
            cluster_seats_refused: Counter::default(),
            cluster_redirects: Counter::default(),
            thread_members: Family::default(),
            closed_total: AtomicU64::new(0),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "connections_open",
            "Connections open now",
            m.connections_open.clone(),
        );
        r.register(
            "connections_accepted",
            "Connections that completed the WebSocket handshake",
            m.connections_accepted.clone(),
        );
        r.register(
            "connections_refused",
            "TCP peers turned away before the upgrade, by reason",
            refused_family,
        );
        r.register(
            "connections_closed",
            "Connections that ended, by reason",
            closed_family,
        );
        r.register("rooms", "Rooms open now", m.rooms.clone());
        r.register("players", "Players seated in rooms now", m.players.clone());
        r.register("ticks", "Simulation ticks run", m.ticks.clone());
        r.register(
            "ticks_skipped",
            "Ticks skipped after a stall",
            m.ticks_skipped.clone(),
        );
        r.register(
            "tick_overruns",
            "Ticks that took longer than the tick period",
            m.tick_overruns.clone(),
        );
        r.register(
            "cluster_directory_up",
            "Cluster mode: 1 while the directory (Redis) answers",
            m.cluster_directory_up.clone(),
        );
        r.register(
            "cluster_seat_seconds",
            "Cluster mode: time to be granted a seat by another node",
            m.cluster_seat_seconds.clone(),
        );
        r.register(
            "cluster_seats_refused",
            "Cluster mode: seats asked of other nodes and not granted",
            m.cluster_seats_refused.clone(),
        );
        r.register(
            "cluster_redirects",
            "Cluster mode: clients sent to another node",
            m.cluster_redirects.clone(),
        );
        r.register(
            "tick_duration_seconds",
            "Time one room's tick took",
            m.tick_seconds.clone(),
        );
        r.register(
            "messages_in",
            "WebSocket messages received",
            m.messages_in.clone(),
        );
        r.register(
            "messages_out",
            "WebSocket messages sent",
            m.messages_out.clone(),
        );
        r.register(
            "bytes_in",
            "Bytes read from clients' sockets",
            m.bytes_in.clone(),
        );
        r.register(
            "bytes_out",
            "Bytes written to clients' sockets",
            m.bytes_out.clone(),
        );
        r.register(
            "snapshots_sent",
            "Snapshots queued for clients, by kind (keyframe or delta)",
            snapshots_family,
        );
        r.register(
            "snapshots_dropped",
            "Snapshots replaced before a slow client's socket could take them",
            m.snapshots_dropped.clone(),
        );
        r.register(
            "frames_malformed",
            "Frames that were not valid messages",
            m.frames_malformed.clone(),
        );
        r.register(
            "inputs_invalid",
            "Inputs refused for NaN or infinite numbers",
            m.inputs_invalid.clone(),
        );
        r.register(
            "messages_rate_limited",
            "Messages dropped by a client's rate limit, by kind",
            limited_family,
        );
        r.register(
            "record_dropped",
            "Recording chunks dropped because the writer was behind (each ends a segment)",
            m.record_dropped.clone(),
        );
        r.register(
            "room_thread_members",
            "Members (players and watchers) in the rooms of each room thread now",
            m.thread_members.clone(),
        );
        Self { registry, ..m }
    }

    /// The gauge of the members on room thread `index`, for that thread's rooms to keep.
    pub fn thread_members(&self, index: usize) -> Gauge {
        self.thread_members
            .get_or_create_owned(&[("thread", index.to_string())])
    }

    /// The registry, to encode on scrape.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts a peer turned away.
    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].inc();
    }

    /// Counts a connection's end.
    pub fn closed(&self, cause: CloseCause) {
        self.closed[cause.index()].inc();
        self.connections_open.dec();
        self.closed_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message dropped by a rate limit.
    pub fn rate_limited(&self, kind: Limited) {
        self.rate_limited[kind as usize].inc();
    }

    /// Adds traffic to the totals.
    pub fn add_traffic(&self, t: Traffic) {
        if t == Traffic::default() {
            return;
        }
        self.messages_in.inc_by(t.messages_in);
        self.messages_out.inc_by(t.messages_out);
        self.bytes_in.inc_by(t.bytes_in);
        self.bytes_out.inc_by(t.bytes_out);
    }

    /// Counts the snapshots one tick queued.
    pub fn add_snapshots(&self, keyframes: u64, deltas: u64) {
        if keyframes > 0 {
            self.snapshots_sent[0].inc_by(keyframes);
        }
        if deltas > 0 {
            self.snapshots_sent[1].inc_by(deltas);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// One line with the main totals, for the log at shutdown.
    pub fn summary(&self) -> String {
        let closed: Vec<String> = CloseCause::ALL
            .iter()
            .map(|c| format!("{}={}", c.label(), self.closed[c.index()].get()))
            .filter(|s| !s.ends_with("=0"))
            .collect();
        format!(
            "accepted={} closed={} [{}] ticks={} skipped={} overruns={} bytes_out={}",
            self.connections_accepted.get(),
            self.closed_total.load(Ordering::Relaxed),
            closed.join(" "),
            self.ticks.get(),
            self.ticks_skipped.get(),
            self.tick_overruns.get(),
            self.bytes_out.get(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_exposed_from_the_start() {
        let m = Metrics::new();
        let text = m.encode();
        for c in CloseCause::ALL {
            let line = format!(
                "tickwire_connections_closed_total{{reason=\"{}\"}} 0",
                c.label()
            );
            assert!(text.contains(&line), "{line} missing in:\n{text}");
        }
        for r in Refusal::ALL {
            let line = format!(
                "tickwire_connections_refused_total{{reason=\"{}\"}} 0",
                r.label()
            );
            assert!(text.contains(&line), "{line} missing");
        }
        assert!(text.contains("tickwire_tick_duration_seconds_bucket"));
    }

    #[test]
    fn counts_land_on_their_label() {
        let m = Metrics::new();
        m.connections_open.inc();
        m.connections_open.inc();
        m.closed(CloseCause::Flood);
        m.refused(Refusal::PerIp);
        m.rate_limited(Limited::Message);
        m.add_traffic(Traffic {
            messages_in: 2,
            messages_out: 3,
            bytes_in: 40,
            bytes_out: 500,
        });
        let text = m.encode();
        for line in [
            "tickwire_connections_closed_total{reason=\"flood\"} 1",
            "tickwire_connections_closed_total{reason=\"clean\"} 0",
            "tickwire_connections_refused_total{reason=\"per_ip\"} 1",
            "tickwire_messages_rate_limited_total{kind=\"message\"} 1",
            "tickwire_connections_open 1",
            "tickwire_bytes_out_total 500",
            "tickwire_messages_in_total 2",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
    }
}
