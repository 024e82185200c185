//! What the misbehaving bots did and what the server answered, kept apart from the honest
//! bots' measurements so that no honest figure includes them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::session::Tally;

/// Close code counted when the connection ended without a close frame (a reset, say); the
/// same number WebSocket APIs report for it, never sent on the wire.
pub(crate) const CLOSE_ABNORMAL: u16 = 1006;

/// Close code counted when a close frame came without a code.
pub(crate) const CLOSE_NO_STATUS: u16 = 1005;

/// One misbehaving bot's books.
#[derive(Debug, Default)]
pub(crate) struct MisbehaveStats {
    /// The bot got into its room at least once.
    pub(crate) connected: bool,
    /// Frames sent, hostile or not (hello and join included).
    pub(crate) frames_sent: u64,
    /// Payload bytes of those frames.
    pub(crate) bytes_sent: u64,
    /// Payload bytes of binary frames received.
    pub(crate) bytes_received: u64,
    /// `Error` messages received, by code.
    pub(crate) errors_received: BTreeMap<u16, u64>,
    /// Connections the server ended, by close code.
    pub(crate) closes: BTreeMap<u16, u64>,
    /// Times the bot got back into its room after a close or a failed connect.
    pub(crate) reconnects: u64,
    /// Times every attempt to get back failed, and the bot gave up.
    pub(crate) reconnect_failures: u64,
    /// Acts begun, by name.
    pub(crate) acts: BTreeMap<&'static str, u64>,
}

impl MisbehaveStats {
    pub(crate) fn error_received(&mut self, code: u16) {
        *self.errors_received.entry(code).or_default() += 1;
    }

    pub(crate) fn closed(&mut self, code: u16) {
        *self.closes.entry(code).or_default() += 1;
    }

    pub(crate) fn act(&mut self, name: &'static str) {
        *self.acts.entry(name).or_default() += 1;
    }
}

impl Tally for MisbehaveStats {
    fn sent(&mut self, bytes: usize) {
        self.frames_sent += 1;
        self.bytes_sent += bytes as u64;
    }

    fn received(&mut self, bytes: usize) {
        self.bytes_received += bytes as u64;
    }
}

/// Every misbehaving bot's books added up.
#[derive(Debug, Default)]
pub(crate) struct MisbehaveTotals {
    pub(crate) bots: usize,
    /// Bots that got into their room at least once.
    pub(crate) connected: usize,
    /// Bots whose task failed or overran: a bug in the swarm.
    pub(crate) lost: usize,
    pub(crate) sum: MisbehaveStats,
}

impl MisbehaveTotals {
    pub(crate) fn add(&mut self, bot: &MisbehaveStats) {
        self.bots += 1;
        let sum = &mut self.sum;
        sum.frames_sent += bot.frames_sent;
        sum.bytes_sent += bot.bytes_sent;
        sum.bytes_received += bot.bytes_received;
        sum.reconnects += bot.reconnects;
        sum.reconnect_failures += bot.reconnect_failures;
        for (code, n) in &bot.errors_received {
            *sum.errors_received.entry(*code).or_default() += n;
        }
        for (code, n) in &bot.closes {
            *sum.closes.entry(*code).or_default() += n;
        }
        for (name, n) in &bot.acts {
            *sum.acts.entry(name).or_default() += n;
        }
        self.connected += usize::from(bot.connected);
    }

    /// A bot whose task failed or did not finish in time: counted, nothing measured.
    pub(crate) fn lost(&mut self) {
        self.bots += 1;
        self.lost += 1;
    }
}

/// What the misbehaving bots did, in the report when `--misbehave` is above 0. None of it
/// is in the honest figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MisbehaveReport {
    /// The configured share of the bots.
    pub rate: f64,
    /// Misbehaving bots started (not counted in the report's `bots`).
    pub bots: usize,
    /// Of those, the ones that got into their room at least once.
    pub connected: usize,
    /// Frames they sent, hostile or not.
    pub frames_sent: u64,
    /// Payload bytes of those frames.
    pub bytes_sent: u64,
    /// Payload bytes of binary frames they received.
    pub bytes_received: u64,
    /// `Error` messages they received, by code (1 malformed, 2 unknown type, 3 invalid
    /// value, 5 bad state, 6 not in a room...).
    pub errors_received: BTreeMap<String, u64>,
    /// Connections the server ended, by close code; 1006 counts connections that ended
    /// without a close frame, 1005 close frames without a code.
    pub closes: BTreeMap<String, u64>,
    /// Times a misbehaving bot got back into its room after a close or a failed connect.
    pub reconnects: u64,
    /// Times a misbehaving bot gave up getting back.
    pub reconnect_failures: u64,
    /// Hostile acts begun, by name.
    pub acts: BTreeMap<String, u64>,
    /// Misbehaving bots whose task failed or overran: a bug in the swarm.
    pub lost: usize,
}

impl MisbehaveReport {
    pub(crate) fn new(rate: f64, totals: &MisbehaveTotals) -> Self {
        let sum = &totals.sum;
        let by_code =
            |map: &BTreeMap<u16, u64>| map.iter().map(|(code, n)| (code.to_string(), *n)).collect();
        Self {
            rate,
            bots: totals.bots,
            connected: totals.connected,
            frames_sent: sum.frames_sent,
            bytes_sent: sum.bytes_sent,
            bytes_received: sum.bytes_received,
            errors_received: by_code(&sum.errors_received),
            closes: by_code(&sum.closes),
            reconnects: sum.reconnects,
            reconnect_failures: sum.reconnect_failures,
            acts: sum
                .acts
                .iter()
                .map(|(name, n)| ((*name).to_owned(), *n))
                .collect(),
            lost: totals.lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_add_up_by_code_and_by_act() {
        let mut a = MisbehaveStats {
            connected: true,
            ..MisbehaveStats::default()
        };
        a.sent(10);
        a.sent(5000);
        a.error_received(1);
        a.error_received(1);
        a.closed(1009);
        a.act("oversize_frame");
        let mut b = MisbehaveStats::default();
        b.sent(20);
        b.error_received(2);
        b.closed(1009);
        b.closed(CLOSE_ABNORMAL);
        b.reconnects = 2;
        b.act("oversize_frame");

        let mut totals = MisbehaveTotals::default();
        totals.add(&a);
        totals.add(&b);
        totals.lost();
        let r = MisbehaveReport::new(0.1, &totals);
        assert_eq!((r.bots, r.connected, r.lost), (3, 1, 1));
        assert_eq!((r.frames_sent, r.bytes_sent), (3, 5030));
        assert_eq!(r.errors_received["1"], 2);
        assert_eq!(r.errors_received["2"], 1);
        assert_eq!(r.closes["1009"], 2);
        assert_eq!(r.closes["1006"], 1);
        assert_eq!(r.reconnects, 2);
        assert_eq!(r.acts["oversize_frame"], 2);
    }
}
