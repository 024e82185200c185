//! The report's summary for people: `Display` for [`Report`], a few aligned lines of its
//! main figures, with lines for a cluster only when it did something (or there were
//! several nodes), and for chaos, chat and misbehaving bots only when they were on.
//! Kept apart from the JSON beside it, which is the interface scripts read: this text is
//! for whoever runs the swarm by hand.

use std::collections::BTreeMap;
use std::fmt;

use super::Report;
use crate::Percentiles;

/// The summary for people: a few aligned lines.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |p: &Percentiles| format!("p50 {:.2} ms, p99 {:.2} ms", p.p50, p.p99);
        writeln!(
            f,
            "{} bots playing {} in {} rooms for {} s: {} connected, {} failed to connect",
            self.bots,
            self.game,
            self.rooms,
            self.duration_s,
            self.connected,
            self.failed_to_connect
        )?;
        writeln!(
            f,
            "  snapshot rate     mean {:.1} Hz, min {:.1} Hz per bot ({} snapshots)",
            self.snapshot_rate_hz.mean, self.snapshot_rate_hz.min, self.snapshots
        )?;
        writeln!(
            f,
            "  checked           {} bots (one in {}), {} light; {} snapshots checked, {} only \
             counted",
            self.bots_checked,
            self.check_every,
            self.bots_light,
            self.snapshots_checked,
            self.snapshots_counted_only
        )?;
        writeln!(
            f,
            "  snapshot interval {}, max {:.2} ms",
            ms(&self.snapshot_interval_ms),
            self.snapshot_interval_ms.max
        )?;
        writeln!(
            f,
            "  round trip        {} ({} pongs)",
            ms(&self.rtt_ms),
            self.pongs
        )?;
        write!(
            f,
            "  input to ack      {} ({} of {} inputs acked",
            ms(&self.input_ack_ms),
            self.inputs_acked,
            self.inputs_sent.saturating_sub(self.inputs_sent_light)
        )?;
        if self.inputs_sent_light > 0 {
            write!(
                f,
                "; light bots sent {} more, untracked",
                self.inputs_sent_light
            )?;
        }
        writeln!(f, ")")?;
        let replica = &self.replica;
        writeln!(
            f,
            "  bytes per bot/s   in {:.0} (keyframes {:.0}, deltas {:.0}), out {:.0}",
            self.bytes_in_per_bot_s,
            replica.keyframe_bytes_per_bot_per_s,
            replica.delta_bytes_per_bot_per_s,
            self.bytes_out_per_bot_s
        )?;
        write!(
            f,
            "  replica           {} keyframes, {} deltas, {:.1} entities ({:.1} players) held on \
             average; hash mismatches {}, missing base {}, other errors {}",
            replica.keyframes,
            replica.deltas,
            replica.mean_entities_held,
            replica.mean_players_held,
            replica.hash_mismatches,
            replica.missing_base,
            replica.replica_errors
        )?;
        if replica.skipped_after_error > 0 {
            write!(
                f,
                " (deltas skipped after errors {})",
                replica.skipped_after_error
            )?;
        }
        if replica.no_schema > 0 {
            write!(f, " (snapshots without a schema {})", replica.no_schema)?;
        }
        writeln!(f)?;
        if self.events > 0 {
            writeln!(
                f,
                "  events            {} messages carrying {} events",
                self.events, self.game_events
            )?;
        }
        write!(f, "  errors            {}", self.errors)?;
        if !self.errors_by_kind.is_empty() {
            let kinds: Vec<_> = self
                .errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            write!(f, " ({})", kinds.join(", "))?;
        }
        writeln!(f)?;
        writeln!(f, "  disconnects       {}", self.disconnects)?;
        for problem in &self.problems {
            writeln!(f, "    {problem}")?;
        }
        let full = |p: &Percentiles| format!("{}, max {:.2} ms", ms(p), p.max);
        write!(
            f,
            "  joins             {} direct, {}",
            self.joins_direct,
            full(&self.join_direct_ms)
        )?;
        if self.joins_redirected > 0 {
            write!(
                f,
                "; redirected {}, {}",
                self.joins_redirected,
                full(&self.join_redirected_ms)
            )?;
        }
        writeln!(f)?;
        let clustered =
            self.nodes > 1 || self.redirects + self.claims + self.notices + self.reseated > 0;
        if clustered {
            writeln!(
                f,
                "  cluster           {} nodes: {} redirects, {} claims, {} notices",
                self.nodes, self.redirects, self.claims, self.notices
            )?;
            writeln!(
                f,
                "  reseated          {}, {}",
                self.reseated,
                full(&self.reseat_ms)
            )?;
        }
        if let Some(chaos) = &self.chaos {
            writeln!(
                f,
                "  chaos             {} drops/s per bot: {} drops, {} back, {} gave up, {} still \
                 reconnecting at the end",
                chaos.rate_per_s,
                chaos.drops,
                chaos.reconnects,
                chaos.reconnect_failures,
                chaos.in_flight
            )?;
            writeln!(
                f,
                "  drop to rejoined  {}, max {:.2} ms ({} resumed, {} joined afresh)",
                ms(&chaos.reconnect_ms),
                chaos.reconnect_ms.max,
                chaos.resumes,
                chaos.failed_resumes
            )?;
            writeln!(
                f,
                "  drop to resumed   {}, max {:.2} ms",
                ms(&chaos.resume_ms),
                chaos.resume_ms.max
            )?;
            writeln!(
                f,
                "  inputs            {} re-sent after resumes, {} lost, {} abandoned, {} acks \
                 went backwards",
                chaos.inputs_resent,
                chaos.inputs_lost,
                chaos.inputs_abandoned,
                chaos.ack_regressions
            )?;
        }
        if let Some(chat) = &self.chat {
            let refused: u64 = chat.refused.values().sum();
            write!(
                f,
                "  chat              {} msg/s per bot: {} sent, {} accepted, {} refused",
                chat.rate, chat.sent, chat.acked, refused
            )?;
            if !chat.refused.is_empty() {
                let reasons: Vec<_> = chat
                    .refused
                    .iter()
                    .map(|(reason, n)| format!("{reason} {n}"))
                    .collect();
                write!(f, " ({})", reasons.join(", "))?;
            }
            writeln!(
                f,
                ", {} unanswered; {} came back, {} lost, {} out of order",
                chat.unanswered, chat.echoed, chat.lost, chat.out_of_order
            )?;
            writeln!(
                f,
                "  chat to ack       {}, max {:.2} ms",
                ms(&chat.ack_ms),
                chat.ack_ms.max
            )?;
        }
        if let Some(bad) = &self.misbehave {
            let counts = |map: &BTreeMap<String, u64>| {
                if map.is_empty() {
                    return "none".to_owned();
                }
                let parts: Vec<_> = map.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                parts.join(", ")
            };
            writeln!(
                f,
                "  misbehaving bots  {} (share {}, not in the figures above), {} connected: \
                 {} frames sent, {} reconnects, {} gave up",
                bad.bots,
                bad.rate,
                bad.connected,
                bad.frames_sent,
                bad.reconnects,
                bad.reconnect_failures
            )?;
            writeln!(f, "    errors by code  {}", counts(&bad.errors_received))?;
            writeln!(f, "    closes by code  {}", counts(&bad.closes))?;
        }
        writeln!(
            f,
            "  result            {}",
            if self.passed() { "PASS" } else { "FAIL" }
        )
    }
}
