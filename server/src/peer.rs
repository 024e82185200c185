//! One client's connection state, apart from its socket: who it is, what waits to be sent
//! to it, its rate limits, and whether it is alive.
//!
//! Pure: every method that needs the time takes it. A [`Peer`] and its socket's `Link`
//! travel together as a `Client` between the lobby and the closing task; in a room they part, the room's core keeping the
//! peer and its driver the link, so the core runs on any clock and any transport (the
//! test harness gives it in-memory pipes). Dropping a peer counts its connection's end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tickwire_shared::{Error as ErrorMsg, ErrorCode, PlayerInfo, encode};
use tracing::Span;

use crate::conn_limits::Slot;
use crate::heartbeat::{Beat, KeepAlive, Liveness};
use crate::identity::Identity;
use crate::inbound::{Inbound, InboundLimits};
use crate::metrics::{CloseCause, Metrics};
use crate::outbox::{CLOSE_POLICY, Close, Outbox};
use crate::rate_limit::Limit;
use crate::transport::{Flow, Frame};

/// The close for a client whose socket took none of our writes for the stall timeout.
pub const STALLED: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "too slow: not reading its socket",
    cause: CloseCause::Stalled,
};

/// The close for a client from which nothing arrived, not even a pong, for the idle timeout.
pub const IDLE: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "idle timeout: nothing received, not even a pong",
    cause: CloseCause::Timeout,
};

/// The close for a client that did not say `Hello` within the hello timeout of its
/// handshake: an upgraded connection that never greets would otherwise hold a connection
/// slot for as long as it answers pings.
pub const NO_HELLO: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "no hello: send Hello (or Resume) right after the upgrade",
    cause: CloseCause::Timeout,
};

/// The limits every client is held to, from the server's settings.
#[derive(Debug, Clone)]
pub struct ClientRules {
    /// Reliable messages that may wait in the outbox.
    pub reliable_cap: usize,
    /// Inputs per second.
    pub inputs: Limit,
    /// Other messages (and malformed frames) per second.
    pub messages: Limit,
    /// How long the socket may refuse our writes before the client is closed as too slow.
    pub stall_timeout: Duration,
    /// How long after its handshake a client may take to say `Hello` (or `Resume`).
    pub hello_timeout: Duration,
    /// In cluster mode, this node's id: an anonymous player is then `anon-NODE-ID`, since
    /// player ids are unique only on their node.
    pub anon_node: Option<Arc<str>>,
}

/// One client's connection state (see the module doc).
#[derive(Debug)]
pub struct Peer {
    outbox: Outbox,
    limits: InboundLimits,
    /// Something arrived since the last keep-alive check.
    heard: bool,
    /// A keep-alive ping is to go out with the next write.
    ping_due: bool,
    liveness: Liveness,
    /// Since when the socket has refused to take our writes.
    stalled_since: Option<Instant>,
    stall_timeout: Duration,
    /// While the client has no player: when it must have greeted.
    hello_by: Option<Instant>,
    hello_timeout: Duration,
    player: Option<PlayerInfo>,
    identity: Identity,
    anon_node: Option<Arc<str>>,
    metrics: Arc<Metrics>,
    span: Span,
    /// Counts this connection against the server's limits until the peer is dropped.
    _slot: Option<Slot>,
}

impl Peer {
    /// A connection that completed its handshake at `now`, held to `rules`, logging under
    /// `span`. It counts as an open connection until it is dropped, and is then counted as
    /// closed, for the reason its close was asked for (or as abnormal if none was).
    pub fn new(
        rules: ClientRules,
        metrics: Arc<Metrics>,
        slot: Option<Slot>,
        span: Span,
        now: Instant,
    ) -> Self {
        metrics.connections_accepted.inc();
        metrics.connections_open.inc();
        Self {
            outbox: Outbox::new(rules.reliable_cap),
            limits: InboundLimits::new(rules.inputs, rules.messages, now),
            heard: false,
            ping_due: false,
            liveness: Liveness::new(now),
            stalled_since: None,
            stall_timeout: rules.stall_timeout,
            hello_by: Some(now + rules.hello_timeout),
            hello_timeout: rules.hello_timeout,
            player: None,
            identity: Identity::default(),
            anon_node: rules.anon_node,
            metrics,
            span,
            _slot: slot,
        }
    }

    /// The connection's span (peer address, player id): enter it to log.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Who the client is, once greeted.
    pub fn player(&self) -> Option<&PlayerInfo> {
        self.player.as_ref()
    }

    /// Records who the client is after a valid hello (or a redeemed resume).
    pub fn set_player(&mut self, player: PlayerInfo) {
        self.span.record("player", player.id);
        self.player = Some(player);
        self.hello_by = None;
    }

    /// Forgets who the client is (a resume that failed after all) at `now`: it is back
    /// before hello, with the hello timeout from now to greet again.
    pub fn clear_player(&mut self, now: Instant) {
        self.player = None;
        self.hello_by = Some(now + self.hello_timeout);
    }

    /// Who the handshake's token said this connection is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Records who the handshake's token said this connection is.
    pub fn set_identity(&mut self, identity: Identity) {
        self.identity = identity;
    }

    /// The user this client is: the token's subject, or `anon-<player id>` without
    /// authentication (empty before hello).
    pub fn user_id(&self) -> String {
        match (&self.identity.user_id, &self.player) {
            (Some(user), _) => user.clone(),
            (None, Some(player)) => match &self.anon_node {
                Some(node) => format!("anon-{node}-{}", player.id),
                None => format!("anon-{}", player.id),
            },
            (None, None) => String::new(),
        }
    }

    /// True when the connection was lost rather than ended on purpose: no close at all, or
    /// one for silence or a socket that stopped draining. Its player may then resume; one
    /// that said goodbye, broke a rule, or met a shutdown may not.
    pub fn connection_lost(&self) -> bool {
        self.outbox
            .close_request()
            .is_none_or(|c| c.cause.is_loss())
    }

    /// The client's send queue.
    pub fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    /// Queues a message that must arrive; false when the client is too slow and is being
    /// closed instead.
    pub fn send(&mut self, msg: Bytes) -> bool {
        self.outbox.push_reliable(msg)
    }

    /// Queues an error reply.
    pub fn error(&mut self, code: ErrorCode, message: impl Into<String>, in_reply_to: Option<u8>) {
        self.send(encode(&ErrorMsg {
            code,
            message: message.into(),
            in_reply_to,
        }));
    }

    /// Asks for the connection to end once what is queued has gone out.
    pub fn close(&mut self, close: Close) {
        self.outbox.close(close);
    }

    /// True once the connection is ending.
    pub fn is_closing(&self) -> bool {
        self.outbox.is_closing()
    }

    /// True when something waits to be written: a message, a snapshot, a ping or a close.
    pub fn wants_write(&self) -> bool {
        self.ping_due || self.outbox.has_pending() || self.outbox.is_closing()
    }

    /// Takes the keep-alive ping that is due, if one is, for the next write.
    pub fn take_ping(&mut self) -> bool {
        std::mem::take(&mut self.ping_due)
    }

    /// What one frame that arrived at `now` amounts to (see the inbound policy); a rule it
    /// broke is already answered with its close, and a message dropped for its rate counted.
    pub fn on_frame(&mut self, frame: Frame, now: Instant) -> Inbound {
        self.heard |= !matches!(frame, Frame::TooBig { .. } | Frame::Ended);
        if let Frame::TooBig { size, max } = frame {
            self.span
                .in_scope(|| tracing::debug!(size, max_size = max, "refused an oversize frame"));
        }
        let inbound = self.limits.judge(frame, now);
        match &inbound {
            Inbound::Dropped(kind) => self.metrics.rate_limited(*kind),
            Inbound::Close(close) => {
                if let Some(code) = close.code {
                    let reason = close.reason;
                    self.span
                        .in_scope(|| tracing::debug!(code, reason, "closing connection"));
                }
                self.close(close.clone());
            }
            Inbound::Request(_) | Inbound::Malformed(_) | Inbound::Ended | Inbound::Control => {}
        }
        inbound
    }

    /// Notes how a write at `now` went, so a socket that stays blocked is found stalled.
    pub fn note_flow(&mut self, flow: Flow, now: Instant) {
        match flow {
            Flow::Blocked => {
                self.stalled_since.get_or_insert(now);
            }
            Flow::Open | Flow::Closed | Flow::Failed => self.stalled_since = None,
        }
    }

    /// Keep-alive and drain check at `now`: queues a ping when one is due, and closes the
    /// connection with 1008 (then returns [`Beat::Dead`]) when nothing has been heard for
    /// the idle timeout, or the socket has refused our writes for the stall timeout.
    pub fn keep_alive(&mut self, now: Instant, rules: KeepAlive) -> Beat {
        if self
            .stalled_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.stall_timeout)
        {
            self.span
                .in_scope(|| tracing::debug!("socket not drained for the stall timeout; closing"));
            self.close(STALLED);
            return Beat::Dead;
        }
        if self.hello_by.is_some_and(|by| now >= by) {
            self.span
                .in_scope(|| tracing::debug!("no hello within the hello timeout; closing"));
            self.close(NO_HELLO);
            return Beat::Dead;
        }
        let beat = self
            .liveness
            .check(now, std::mem::take(&mut self.heard), rules);
        match beat {
            Beat::Ping => self.ping_due = true,
            Beat::Dead => {
                self.span
                    .in_scope(|| tracing::debug!("nothing heard for the idle timeout; closing"));
                self.close(IDLE);
            }
            Beat::Quiet => {}
        }
        beat
    }

    /// When [`Peer::keep_alive`] next has something to do.
    pub fn keep_alive_due(&self, rules: KeepAlive) -> Instant {
        let due = self.liveness.next_due(rules);
        let due = self.hello_by.map_or(due, |by| due.min(by));
        match self.stalled_since {
            Some(since) => due.min(since + self.stall_timeout),
            None => due,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let cause = self
            .outbox
            .close_request()
            .map_or(CloseCause::Abnormal, |c| c.cause);
        self.metrics.closed(cause);
        self.span.in_scope(|| match cause {
            CloseCause::Shutdown => tracing::debug!(reason = cause.label(), "connection closed"),
            _ => tracing::info!(reason = cause.label(), "connection closed"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: ClientRules = ClientRules {
        reliable_cap: 4,
        inputs: Limit {
            per_second: 60,
            burst: 60,
        },
        messages: Limit {
            per_second: 10,
            burst: 10,
        },
        stall_timeout: Duration::from_secs(10),
        // Longer than any other test here runs its clock: only the hello test reaches it.
        hello_timeout: Duration::from_secs(600),
        anon_node: None,
    };

    const KEEP_ALIVE: KeepAlive = KeepAlive {
        ping_interval: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(15),
    };

    fn peer(metrics: &Arc<Metrics>, now: Instant) -> Peer {
        Peer::new(RULES, Arc::clone(metrics), None, Span::none(), now)
    }

    #[test]
    fn a_socket_blocked_for_the_stall_timeout_closes_the_connection() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        peer.note_flow(Flow::Blocked, t0);
        peer.on_frame(Frame::Control, t0 + Duration::from_secs(9));
        assert_ne!(
            peer.keep_alive(t0 + Duration::from_secs(9), KEEP_ALIVE),
            Beat::Dead
        );
        // Blocked again later: the stall still counts from the first time.
        peer.note_flow(Flow::Blocked, t0 + Duration::from_secs(9));
        let at = t0 + Duration::from_secs(10);
        assert_eq!(peer.keep_alive_due(KEEP_ALIVE), at);
        assert_eq!(peer.keep_alive(at, KEEP_ALIVE), Beat::Dead);
        assert_eq!(peer.outbox().close_request(), Some(&STALLED));
        assert!(
            peer.connection_lost(),
            "a stall is a loss: the player may resume"
        );
    }

    #[test]
    fn a_client_that_does_not_greet_within_the_hello_timeout_is_closed() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        let by = t0 + RULES.hello_timeout;
        // Pongs keep it alive, but they are not a greeting.
        let mut at = t0;
        while at + KEEP_ALIVE.ping_interval < by {
            at += KEEP_ALIVE.ping_interval;
            peer.on_frame(Frame::Control, at);
            assert_ne!(peer.keep_alive(at, KEEP_ALIVE), Beat::Dead);
        }
        assert_eq!(peer.keep_alive_due(KEEP_ALIVE), by);
        assert_eq!(peer.keep_alive(by, KEEP_ALIVE), Beat::Dead);
        assert_eq!(peer.outbox().close_request(), Some(&NO_HELLO));
    }

    #[test]
    fn a_greeted_client_has_no_hello_deadline() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        peer.set_player(PlayerInfo {
            id: 7,
            name: "p".into(),
        });
        let late = t0 + RULES.hello_timeout + Duration::from_secs(1);
        peer.on_frame(Frame::Control, late);
        assert_ne!(peer.keep_alive(late, KEEP_ALIVE), Beat::Dead);
        assert!(peer.keep_alive_due(KEEP_ALIVE) > t0 + RULES.hello_timeout);
    }

    #[test]
    fn a_client_whose_resume_failed_has_the_hello_timeout_again_from_then() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        peer.set_player(PlayerInfo {
            id: 7,
            name: "p".into(),
        });
        let refused = t0 + RULES.hello_timeout + Duration::from_secs(1);
        peer.on_frame(Frame::Control, refused);
        peer.clear_player(refused);
        // Not closed for the first deadline, long past: it has a new one.
        assert_ne!(peer.keep_alive(refused, KEEP_ALIVE), Beat::Dead);
        let by = refused + RULES.hello_timeout;
        assert!(peer.keep_alive_due(KEEP_ALIVE) <= by);
        peer.on_frame(Frame::Control, by);
        assert_eq!(peer.keep_alive(by, KEEP_ALIVE), Beat::Dead);
        assert_eq!(peer.outbox().close_request(), Some(&NO_HELLO));
    }

    #[test]
    fn a_write_that_goes_through_ends_the_stall() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        peer.note_flow(Flow::Blocked, t0);
        peer.note_flow(Flow::Open, t0 + Duration::from_secs(5));
        peer.on_frame(Frame::Control, t0 + Duration::from_secs(11));
        assert_ne!(
            peer.keep_alive(t0 + Duration::from_secs(11), KEEP_ALIVE),
            Beat::Dead
        );
    }

    #[test]
    fn silence_closes_for_idleness_and_anything_heard_keeps_it_alive() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        assert_eq!(
            peer.keep_alive(t0 + Duration::from_secs(5), KEEP_ALIVE),
            Beat::Ping
        );
        assert!(peer.take_ping() && !peer.take_ping(), "one ping per beat");
        // A pong is heard; the idle timeout starts again from it.
        peer.on_frame(Frame::Control, t0 + Duration::from_secs(6));
        assert_ne!(
            peer.keep_alive(t0 + Duration::from_secs(14), KEEP_ALIVE),
            Beat::Dead
        );
        assert_eq!(
            peer.keep_alive(t0 + Duration::from_secs(29), KEEP_ALIVE),
            Beat::Dead
        );
        assert_eq!(peer.outbox().close_request(), Some(&IDLE));
    }

    #[test]
    fn a_broken_rule_queues_its_close_and_the_end_is_counted_by_it() {
        let metrics = Arc::new(Metrics::new());
        let t0 = Instant::now();
        let mut peer = peer(&metrics, t0);
        assert!(matches!(peer.on_frame(Frame::Text, t0), Inbound::Close(_)));
        assert!(peer.is_closing());
        assert!(!peer.connection_lost(), "breaking a rule is no loss");
        drop(peer);
        let text = metrics.encode();
        assert!(
            text.contains("tickwire_connections_closed_total{reason=\"bad_input\"} 1"),
            "{text}"
        );
    }
}
