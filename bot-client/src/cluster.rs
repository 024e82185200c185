//! What a cluster did to the honest bots ([`ClusterStats`]): the redirects they followed,
//! the seats they claimed, the operator's notices, how long their joins took with and
//! without a redirect, and the times they lost their room and were seated again.
//!
//! A bot **loses its room** when its connection is lost (the server closed it or it
//! failed: a node killed, say, with several nodes to go back to), when it is redirected
//! while playing (its node is draining), or when it dropped its connection on purpose
//! (`--chaos`) and the resume was refused. It is **reseated** when, after that, a snapshot
//! arrives in a room again: resumed into the old one, or seated in a new one. The time
//! from the loss (the connection's end, or the redirect's arrival) to that first snapshot
//! is `reseat`.
//!
//! Joins are timed from the `Join` sent to the `Joined` received: **direct** when the node
//! asked seated the bot itself, **redirected** when it sent the bot on (timed from the
//! first `Join`, on the first node, to the `Joined` on the last, the reconnects between
//! included). Every join a bot makes counts, its first and those after a refused resume.

use std::time::Duration;

use crate::hist::Latencies;

/// One bot's cluster figures, or the same merged over many bots.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ClusterStats {
    /// `Redirect` messages received, followed or not (the one that makes a loop is not).
    pub(crate) redirects: u64,
    /// `Claim` messages sent.
    pub(crate) claims: u64,
    /// The operator's `Notice` messages received.
    pub(crate) notices: u64,
    /// Times a bot lost its room and then had a snapshot in a room again (module doc).
    pub(crate) reseated: u64,
    /// Loss to the first snapshot in a room again, µs, one per reseat.
    pub(crate) reseat_us: Latencies,
    /// `Join` to `Joined` on the same node, µs.
    pub(crate) join_direct_us: Latencies,
    /// The first `Join` to the `Joined` on the node the redirects led to, µs.
    pub(crate) join_redirected_us: Latencies,
}

/// How a join went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinPath {
    /// The node asked seated the bot.
    Direct,
    /// The bot was sent on, once or more, and seated elsewhere.
    Redirected,
}

impl ClusterStats {
    /// A join that took `took`, by `path`.
    pub(crate) fn joined(&mut self, path: JoinPath, took: Duration) {
        match path {
            JoinPath::Direct => self.join_direct_us.record(took),
            JoinPath::Redirected => self.join_redirected_us.record(took),
        }
    }

    /// In a room again, `took` after the room was lost.
    pub(crate) fn reseat(&mut self, took: Duration) {
        self.reseated += 1;
        self.reseat_us.record(took);
    }

    /// Adds another bot's (or bots') figures to these.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.redirects += other.redirects;
        self.claims += other.claims;
        self.notices += other.notices;
        self.reseated += other.reseated;
        self.reseat_us.merge(&other.reseat_us);
        self.join_direct_us.merge(&other.join_direct_us);
        self.join_redirected_us.merge(&other.join_redirected_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::{Percentiles, assert_empty_merges_as_identity};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn one_bot() -> ClusterStats {
        let mut c = ClusterStats {
            redirects: 2,
            claims: 1,
            notices: 3,
            ..ClusterStats::default()
        };
        c.joined(JoinPath::Direct, ms(4));
        c.joined(JoinPath::Redirected, ms(30));
        c.reseat(ms(250));
        c
    }

    #[test]
    fn joins_are_timed_by_their_path_and_reseats_counted() {
        let c = one_bot();
        assert_eq!(c.join_direct_us.len(), 1);
        assert_eq!(c.join_redirected_us.len(), 1);
        assert_eq!(c.reseated, 1);
        // Within the histograms' 1 %.
        let reseat = Percentiles::of(&c.reseat_us);
        assert!((reseat.max - 250.0).abs() < 2.5, "{reseat:?}");
        let redirected = Percentiles::of(&c.join_redirected_us);
        assert!((redirected.p50 - 30.0).abs() < 0.3, "{redirected:?}");
    }

    #[test]
    fn merging_sums_counts_and_latencies() {
        let mut swarm = ClusterStats::default();
        swarm.merge(&one_bot());
        swarm.merge(&one_bot());
        assert_eq!(
            (swarm.redirects, swarm.claims, swarm.notices, swarm.reseated),
            (4, 2, 6, 2)
        );
        assert_eq!(swarm.reseat_us.len(), 2);
        assert_eq!(swarm.join_direct_us.len(), 2);
        assert_empty_merges_as_identity(ClusterStats::default, ClusterStats::merge, &one_bot());
    }
}
