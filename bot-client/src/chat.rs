//! Chat (`--chat-rate`): honest bots that talk, and what the server's chat promises
//! looked like from their side.
//!
//! A chatting bot sends `Chat { id, text }` at an even rate, with ids counting up from 1
//! over the whole run (across reconnects) and a text unique to the bot and the id
//! (`bot-3 chat 17`). Its [`ChatBook`] checks three promises:
//!
//! - **Every chat is answered.** The `ChatAck` names the id; the time from sending to it is
//!   the ack latency. A refused chat is counted by its reason. A chat whose connection was
//!   lost before its ack came is *unanswered*: the bot cannot know whether it was taken.
//! - **An accepted chat comes back to its sender.** The server queues the sender's own
//!   `ChatMessage` right after the ack, so an accepted chat whose message never arrived is
//!   *lost*. Across a drop the message may have been cut off with the old connection; the
//!   room's history, sent after `Resumed` (or after `Joined`, when the resume was refused),
//!   brings it back. Messages are matched by server id *and* text, so the same message
//!   seen live and again in a history counts once, and a room opened afresh under the same
//!   name (whose ids start over) matches nothing by mistake. Chats acknowledged within
//!   [`IN_FLIGHT`](crate::IN_FLIGHT) of the bot's end are still in flight, not lost.
//! - **One order per room.** Each connection must see server ids strictly increasing, the
//!   history first and the live messages after it. A new connection starts over (its
//!   history repeats messages seen before), so an id at or below the previous one *on the
//!   same connection* is *out of order*.
//!
//! `lost` and `out_of_order` should be 0 from a correct server, and a run where they are
//! not fails (see [`crate::Report::passed`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::Serialize;
use tickwire_shared::{Chat, ChatAck, ChatMessage, ChatText};
use tokio::time::Instant;

use crate::hist::{Latencies, Percentiles};

/// Chats remembered while they wait for their ack, and accepted ones while they wait for
/// their message: far more than a healthy server leaves waiting, and a bound on a bot's
/// memory when the server answers nothing.
const WINDOW: usize = 1024;

/// Distinct refusal reasons counted by name; a server inventing more gets them counted as
/// `other`, so it cannot grow the report without bound.
const MAX_REASONS: usize = 16;

/// One bot's chat while it runs: what it is waiting for, and what it counted so far.
#[derive(Debug)]
pub(crate) struct ChatBook {
    /// The start of every text: the bot's name.
    name: String,
    /// The id of the next chat.
    next_id: u32,
    /// `(id, sent_at)` of chats sent on this connection and not yet acknowledged, in
    /// sending order (the server answers in that order).
    awaiting_ack: VecDeque<(u32, Instant)>,
    /// Accepted chats whose message has not arrived yet: server id to `(id, acked_at)`.
    awaiting_message: BTreeMap<u64, (u32, Instant)>,
    /// The last server id seen on this connection (0 before any).
    last_seen: u64,
    stats: ChatStats,
}

/// What a [`ChatBook`] counted, one bot's or merged over many: the fields of
/// [`ChatReport`] but the rate.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ChatStats {
    pub(crate) sent: u64,
    pub(crate) acked: u64,
    pub(crate) refused: BTreeMap<String, u64>,
    pub(crate) unanswered: u64,
    pub(crate) echoed: u64,
    pub(crate) lost: u64,
    pub(crate) out_of_order: u64,
    pub(crate) received: u64,
    /// Chat sent to its ack, µs.
    pub(crate) ack_us: Latencies,
}

impl ChatStats {
    /// Adds another bot's (or bots') chat to this.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.sent += other.sent;
        self.acked += other.acked;
        for (reason, n) in &other.refused {
            *self.refused.entry(reason.clone()).or_default() += n;
        }
        self.unanswered += other.unanswered;
        self.echoed += other.echoed;
        self.lost += other.lost;
        self.out_of_order += other.out_of_order;
        self.received += other.received;
        self.ack_us.merge(&other.ack_us);
    }
}

impl ChatBook {
    /// The book of the bot called `name`.
    pub(crate) fn new(name: String) -> Self {
        Self {
            name,
            next_id: 1,
            awaiting_ack: VecDeque::new(),
            awaiting_message: BTreeMap::new(),
            last_seen: 0,
            stats: ChatStats::default(),
        }
    }

    /// The text of chat `id`: unique to this bot and the id.
    fn text(&self, id: u32) -> String {
        format!("{} chat {id}", self.name)
    }

    /// The next chat to send, sent at `now`.
    pub(crate) fn next(&mut self, now: Instant) -> Chat {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if self.awaiting_ack.len() == WINDOW {
            self.awaiting_ack.pop_front();
            self.stats.unanswered += 1;
        }
        self.awaiting_ack.push_back((id, now));
        self.stats.sent += 1;
        Chat {
            id,
            text: ChatText(self.text(id).into_bytes()),
        }
    }

    /// A `ChatAck` arrived at `now`.
    ///
    /// # Errors
    /// When it answers no chat awaiting an answer on this connection: the server made it
    /// up, or answered twice.
    pub(crate) fn on_ack(&mut self, ack: &ChatAck, now: Instant) -> Result<(), String> {
        // Answers come in sending order, so the match is nearly always at the front.
        let found = self
            .awaiting_ack
            .iter()
            .position(|&(id, _)| id == ack.id)
            .and_then(|at| self.awaiting_ack.remove(at));
        let Some((id, sent_at)) = found else {
            return Err(format!("chat ack for id {} that awaits none", ack.id));
        };
        self.stats
            .ack_us
            .record(now.saturating_duration_since(sent_at));
        match &ack.refused {
            Some(reason) => {
                let known = self.stats.refused.len() < MAX_REASONS
                    || self.stats.refused.contains_key(reason);
                let key = if known { reason.as_str() } else { "other" };
                *self.stats.refused.entry(key.to_owned()).or_default() += 1;
            }
            None => {
                self.stats.acked += 1;
                if self.awaiting_message.len() == WINDOW {
                    // Waited through a thousand later chats: it is not coming.
                    self.awaiting_message.pop_first();
                    self.stats.lost += 1;
                }
                self.awaiting_message.insert(ack.server_id, (id, now));
            }
        }
        Ok(())
    }

    /// A `ChatMessage` arrived: anyone's, live or from a history.
    pub(crate) fn on_message(&mut self, msg: &ChatMessage) {
        self.stats.received += 1;
        if msg.server_id <= self.last_seen {
            self.stats.out_of_order += 1;
        }
        self.last_seen = self.last_seen.max(msg.server_id);
        if let Some(&(id, _)) = self.awaiting_message.get(&msg.server_id) {
            if msg.text == self.text(id) {
                self.awaiting_message.remove(&msg.server_id);
                self.stats.echoed += 1;
            }
        }
    }

    /// The connection is gone: its unanswered chats will never be answered, and the next
    /// connection starts its own order.
    pub(crate) fn connection_lost(&mut self) {
        self.stats.unanswered += self.awaiting_ack.len() as u64;
        self.awaiting_ack.clear();
        self.last_seen = 0;
    }

    /// The bot stopped at `end`: chats still unanswered are unanswered, and accepted chats
    /// whose message never came are lost, unless acknowledged within `in_flight` of the end.
    /// Returns what the book counted.
    pub(crate) fn finish(mut self, end: Instant, in_flight: Duration) -> ChatStats {
        self.connection_lost();
        // A run ending within `in_flight` of the clock's origin has only chats in flight.
        if let Some(cutoff) = end.checked_sub(in_flight) {
            let lost = self
                .awaiting_message
                .values()
                .filter(|&&(_, acked_at)| acked_at <= cutoff)
                .count();
            self.stats.lost += lost as u64;
        }
        self.stats
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> &ChatStats {
        &self.stats
    }
}

/// What the honest bots' chat saw, in the report when `--chat-rate` is above 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatReport {
    /// The configured chats per second per bot.
    pub rate: f64,
    /// Chats sent.
    pub sent: u64,
    /// Chats the server accepted.
    pub acked: u64,
    /// Chats the server refused, by reason (`rate_limited`, `too_long`, ...).
    pub refused: BTreeMap<String, u64>,
    /// Chats whose connection ended before their ack came (a drop, or the end of the run):
    /// `sent` is the sum of this, `acked` and the refusals.
    pub unanswered: u64,
    /// Accepted chats whose message came back to the sender, live or in a history.
    pub echoed: u64,
    /// Accepted chats whose message never came back to the sender, leaving out those
    /// accepted in the last second of a bot's run: should be 0.
    pub lost: u64,
    /// Messages whose server id was not above the one before on the same connection:
    /// should be 0.
    pub out_of_order: u64,
    /// Chat messages received, anyone's, histories (and their repeats) included.
    pub received: u64,
    /// From sending a chat to its ack, accepted or refused.
    pub ack_ms: Percentiles,
}

impl ChatReport {
    pub(crate) fn new(rate: f64, c: &ChatStats) -> Self {
        Self {
            rate,
            sent: c.sent,
            acked: c.acked,
            refused: c.refused.clone(),
            unanswered: c.unanswered,
            echoed: c.echoed,
            lost: c.lost,
            out_of_order: c.out_of_order,
            received: c.received,
            ack_ms: Percentiles::of(&c.ack_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::assert_empty_merges_as_identity;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ack(id: u32, server_id: u64) -> ChatAck {
        ChatAck {
            id,
            server_id,
            time_ms: 1,
            refused: None,
        }
    }

    fn refusal(id: u32, reason: &str) -> ChatAck {
        ChatAck {
            id,
            server_id: 0,
            time_ms: 0,
            refused: Some(reason.to_owned()),
        }
    }

    fn message(server_id: u64, text: &str) -> ChatMessage {
        ChatMessage {
            server_id,
            from: 1,
            name: "bot-0".into(),
            text: text.into(),
            time_ms: 1,
        }
    }

    #[test]
    fn ids_count_up_and_texts_are_unique_to_the_bot() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-3".into());
        let a = book.next(t0);
        let b = book.next(t0);
        assert_eq!((a.id, b.id), (1, 2));
        assert_eq!(a.text, ChatText::from("bot-3 chat 1"));
        assert_eq!(b.text, ChatText::from("bot-3 chat 2"));
        assert_eq!(book.stats().sent, 2);
    }

    #[test]
    fn an_accepted_chat_is_acked_then_echoed_once() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        book.next(t0);
        assert_eq!(book.on_ack(&ack(1, 41), t0 + ms(3)), Ok(()));
        assert_eq!(book.stats().ack_us.len(), 1);
        // Someone else's message in between is received but matches nothing.
        book.on_message(&message(40, "bot-9 chat 1"));
        book.on_message(&message(41, "bot-0 chat 1"));
        let c = book.stats();
        assert_eq!(
            (c.acked, c.echoed, c.received, c.out_of_order),
            (1, 1, 2, 0)
        );
        let c = book.finish(t0 + ms(10_000), ms(1000));
        assert_eq!(c.lost, 0);
    }

    #[test]
    fn refusals_are_counted_by_reason_and_expect_no_message() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        for _ in 0..3 {
            book.next(t0);
        }
        book.on_ack(&refusal(1, "rate_limited"), t0)
            .expect("awaited");
        book.on_ack(&refusal(2, "rate_limited"), t0)
            .expect("awaited");
        book.on_ack(&ack(3, 7), t0).expect("awaited");
        book.on_message(&message(7, "bot-0 chat 3"));
        let c = book.finish(t0 + ms(5000), ms(1000));
        assert_eq!(c.refused.get("rate_limited"), Some(&2));
        assert_eq!((c.acked, c.echoed, c.lost, c.unanswered), (1, 1, 0, 0));
    }

    #[test]
    fn an_ack_nobody_waits_for_is_an_error() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        assert!(book.on_ack(&ack(1, 1), t0).is_err());
        book.next(t0);
        book.on_ack(&ack(1, 1), t0).expect("awaited");
        assert!(book.on_ack(&ack(1, 1), t0).is_err(), "answered twice");
    }

    #[test]
    fn a_missing_message_is_lost_unless_still_in_flight_at_the_end() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        book.next(t0);
        book.next(t0);
        book.on_ack(&ack(1, 1), t0 + ms(100)).expect("awaited");
        book.on_ack(&ack(2, 2), t0 + ms(2500)).expect("awaited");
        let c = book.finish(t0 + ms(3000), ms(1000));
        // Chat 1 waited 2.9 s for its message; chat 2 was acked 0.5 s before the end.
        assert_eq!(c.lost, 1);
    }

    #[test]
    fn a_message_cut_off_by_a_drop_is_found_in_the_next_history_once() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        book.next(t0);
        book.next(t0);
        book.on_ack(&ack(1, 5), t0).expect("awaited");
        book.on_message(&message(5, "bot-0 chat 1"));
        // Chat 2 was acked; the drop came before its message, and chat 3 before its ack.
        book.on_ack(&ack(2, 6), t0).expect("awaited");
        book.next(t0);
        book.connection_lost();
        // The history after the resume repeats 5, then brings 6: neither is out of order
        // on the new connection, and 5 is not echoed twice.
        book.on_message(&message(4, "bot-7 chat 9"));
        book.on_message(&message(5, "bot-0 chat 1"));
        book.on_message(&message(6, "bot-0 chat 2"));
        let c = book.finish(t0 + ms(9000), ms(1000));
        assert_eq!((c.echoed, c.lost, c.out_of_order), (2, 0, 0), "{c:?}");
        assert_eq!((c.sent, c.acked, c.unanswered), (3, 2, 1), "{c:?}");
        assert_eq!(c.received, 4);
    }

    #[test]
    fn ids_going_back_on_one_connection_are_out_of_order() {
        let mut book = ChatBook::new("bot-0".into());
        for id in [1, 2, 4, 3, 3, 5] {
            book.on_message(&message(id, "x"));
        }
        assert_eq!(book.stats().out_of_order, 2);
    }

    #[test]
    fn a_room_opened_afresh_matches_nothing_by_its_reused_ids() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        book.next(t0);
        book.on_ack(&ack(1, 3), t0).expect("awaited");
        book.connection_lost();
        // The new room's message 3 is someone else's.
        book.on_message(&message(3, "bot-1 chat 1"));
        let c = book.finish(t0 + ms(5000), ms(1000));
        assert_eq!((c.echoed, c.lost), (0, 1));
    }

    #[test]
    fn memory_is_bounded_when_the_server_answers_nothing() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        for _ in 0..WINDOW + 10 {
            book.next(t0);
        }
        assert_eq!(book.awaiting_ack.len(), WINDOW);
        assert_eq!(book.stats().unanswered, 10);
    }

    #[test]
    fn refusal_reasons_are_capped() {
        let t0 = Instant::now();
        let mut book = ChatBook::new("bot-0".into());
        for i in 0..(MAX_REASONS as u32 + 5) {
            let chat = book.next(t0);
            book.on_ack(&refusal(chat.id, &format!("reason-{i}")), t0)
                .expect("awaited");
        }
        let refused = &book.stats().refused;
        assert_eq!(refused.len(), MAX_REASONS + 1);
        assert_eq!(refused.get("other"), Some(&5));
    }

    /// Two bots' chat: `bot-0`'s chat accepted in 2 ms and echoed, `bot-1`'s refused in
    /// 4 ms.
    fn two_books(t0: Instant) -> (ChatBook, ChatBook) {
        let mut a = ChatBook::new("bot-0".into());
        let mut b = ChatBook::new("bot-1".into());
        a.next(t0);
        a.on_ack(&ack(1, 1), t0 + ms(2)).expect("awaited");
        a.on_message(&message(1, "bot-0 chat 1"));
        b.next(t0);
        b.on_ack(&refusal(1, "too_long"), t0 + ms(4))
            .expect("awaited");
        b.on_message(&message(1, "bot-0 chat 1"));
        (a, b)
    }

    #[test]
    fn totals_add_up() {
        let t0 = Instant::now();
        let (a, b) = two_books(t0);
        let mut totals = ChatStats::default();
        totals.merge(a.stats());
        totals.merge(b.stats());
        let r = ChatReport::new(1.5, &totals);
        assert_eq!((r.sent, r.acked), (2, 1));
        assert_eq!(r.refused.get("too_long"), Some(&1));
        assert!((r.ack_ms.max - 4.0).abs() < 0.1, "{r:?}");
    }

    #[test]
    fn merging_two_bots_gives_the_sums() {
        let t0 = Instant::now();
        let (a, b) = two_books(t0);
        let end = t0 + ms(5000);
        let mut merged = a.finish(end, ms(1000));
        merged.merge(&b.finish(end, ms(1000)));
        let mut ack_us = Latencies::default();
        ack_us.record(ms(2));
        ack_us.record(ms(4));
        let sums = ChatStats {
            sent: 2,
            acked: 1,
            refused: BTreeMap::from([("too_long".to_owned(), 1)]),
            unanswered: 0,
            echoed: 1,
            lost: 0,
            out_of_order: 0,
            received: 2,
            ack_us,
        };
        assert_eq!(merged, sums);
    }

    #[test]
    fn merging_into_nothing_changes_nothing() {
        let (a, _) = two_books(Instant::now());
        assert_empty_merges_as_identity(ChatStats::default, ChatStats::merge, a.stats());
    }
}
