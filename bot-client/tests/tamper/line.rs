//! What the proxy does on one connection, without the sockets: the [`Tamper`] policy
//! applied to each frame the server sends the bot (forwarded, rewritten, held back, dropped
//! or joined by junk), the frames waiting for their time ([`Held`]), and what it notes of
//! the frames the bot sends the server.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tickwire_shared::{
    ChatMessage, ClientMsg, Error, ErrorCode, PlayerId, ServerMsg, Snapshot, encode_server,
};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::seen::{Seen, bump};

/// How the proxy treats what the server sends each bot; everything is off by default, and
/// the proxy then only forwards (and counts).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tamper {
    /// Right after `Joined`, send the bot an `Error` ("just because"), a text frame and an
    /// undecodable binary frame.
    pub junk_after_joined: bool,
    /// This long after `Joined`, close the bot's connection (and then the server's),
    /// politely.
    pub close_after_joined: Option<Duration>,
    /// Spoil one delta on each connection.
    pub spoil: Option<Spoil>,
    /// Hold every snapshot back this long: inputs the server applied stay unacknowledged
    /// that long, so a drop always leaves some for the bot to send again.
    pub hold_snapshots: Option<Duration>,
    /// Hold every chat message back this long (acks are not held): a drop in between cuts
    /// the bot's own messages off, and only a history brings them back.
    pub hold_chat: Option<Duration>,
    /// Never deliver every n-th of a bot's own chat messages on a connection.
    pub skip_own_chat_every: Option<u64>,
    /// Deliver a bot's own chat messages (those not skipped) in swapped pairs.
    pub swap_own_chat: bool,
}

/// How the first delta at or after the connection's n-th snapshot is spoiled.
#[derive(Debug, Clone, Copy)]
pub enum Spoil {
    /// It carries a wrong state hash.
    WrongHash { nth: u64 },
    /// It never reaches the bot, though the server thinks it went out: the deltas after it
    /// are against a base the bot lacks.
    Lose { nth: u64 },
}

impl Spoil {
    fn nth(self) -> u64 {
        match self {
            Spoil::WrongHash { nth } | Spoil::Lose { nth } => nth,
        }
    }
}

/// A frame for the bot and when it is due.
#[derive(Debug)]
struct Due {
    at: Instant,
    msg: Message,
    /// One of the bot's own chat messages on its first way to it, counted when cut off.
    first_own_chat: bool,
}

/// Frames for the bot in the order they are due; frames due at the same time keep the
/// order in which they were put in.
#[derive(Debug, Default)]
pub(super) struct Held {
    queue: VecDeque<Due>,
}

impl Held {
    /// Holds `msg` until `at`.
    pub(super) fn push(&mut self, at: Instant, msg: Message) {
        self.hold(at, msg, false);
    }

    fn hold(&mut self, at: Instant, msg: Message, first_own_chat: bool) {
        let place = self.queue.partition_point(|d| d.at <= at);
        let due = Due {
            at,
            msg,
            first_own_chat,
        };
        self.queue.insert(place, due);
    }

    /// When the next frame is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|d| d.at)
    }

    /// The next frame if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Message> {
        if self.next_due()? > now {
            return None;
        }
        self.queue.pop_front().map(|d| d.msg)
    }

    /// The connection ended abruptly with these frames undelivered.
    pub(super) fn cut_off(&self, seen: &Seen) {
        let own = self.queue.iter().filter(|d| d.first_own_chat).count() as u64;
        seen.own_chats_cut_off.fetch_add(own, Ordering::Relaxed);
    }
}

/// One connection's state.
#[derive(Debug)]
pub(super) struct Line {
    tamper: Tamper,
    /// The player the connection is, once the server said (`Welcome`, `Resumed`).
    player: Option<PlayerId>,
    /// Snapshots from the server so far.
    snapshots: u64,
    /// Whether this connection's delta was spoiled already.
    spoiled: bool,
    /// Since the spoiled delta, until the next keyframe: deltas are orphans.
    orphaning: bool,
    /// The bot's own chat messages from the server so far.
    own_chats: u64,
    /// An own chat message waiting for the next, to be swapped with it.
    swap_held: Option<Message>,
    /// When to close, once joined.
    close_at: Option<Instant>,
}

impl Line {
    pub(super) fn new(tamper: Tamper) -> Self {
        Self {
            tamper,
            player: None,
            snapshots: 0,
            spoiled: false,
            orphaning: false,
            own_chats: 0,
            swap_held: None,
            close_at: None,
        }
    }

    /// When the proxy is to close the connection.
    pub(super) fn close_at(&self) -> Option<Instant> {
        self.close_at
    }

    /// The bot sent `msg` to the server: notes its inputs.
    pub(super) fn handle_bot_msg(&self, msg: &Message, seen: &Seen) {
        let (Message::Binary(frame), Some(player)) = (msg, self.player) else {
            return;
        };
        if let Ok(ClientMsg::Input(input)) = ClientMsg::decode(frame) {
            seen.input(player, input.seq);
        }
    }

    /// The server sent `frame` (a binary frame) at `now`: puts what the bot is to get in
    /// `held`.
    pub(super) fn handle_server_frame(
        &mut self,
        frame: Bytes,
        now: Instant,
        seen: &Seen,
        held: &mut Held,
    ) {
        let Ok(msg) = ServerMsg::decode(&frame) else {
            held.push(now, Message::Binary(frame));
            return;
        };
        let mut joined = false;
        match msg {
            ServerMsg::Snapshot(snapshot) => {
                return self.snapshot(snapshot, frame, now, seen, held);
            }
            ServerMsg::ChatMessage(chat) => return self.chat(&chat, frame, now, seen, held),
            ServerMsg::Welcome(welcome) => self.player = Some(welcome.player_id),
            ServerMsg::Resumed(resumed) => {
                self.player = Some(resumed.player_id);
                bump(&seen.resumed);
            }
            ServerMsg::Error(e) if e.code == ErrorCode::RESUME_REFUSED => {
                bump(&seen.resumes_refused);
            }
            ServerMsg::ChatAck(ack) if ack.refused.is_some() => bump(&seen.chats_refused),
            ServerMsg::Joined(_) => joined = true,
            _ => {}
        }
        held.push(now, Message::Binary(frame));
        if joined {
            self.joined(now, held);
        }
    }

    fn joined(&mut self, now: Instant, held: &mut Held) {
        if self.tamper.junk_after_joined {
            let error = ServerMsg::Error(Error {
                code: ErrorCode::INVALID_VALUE,
                message: "just because".into(),
                in_reply_to: None,
            });
            held.push(now, Message::Binary(encode_server(&error)));
            held.push(now, Message::text("hello?"));
            held.push(now, Message::Binary(Bytes::from_static(&[0xc1])));
        }
        if let Some(after) = self.tamper.close_after_joined {
            self.close_at = Some(now + after);
        }
    }

    fn snapshot(
        &mut self,
        mut snapshot: Snapshot,
        frame: Bytes,
        now: Instant,
        seen: &Seen,
        held: &mut Held,
    ) {
        self.snapshots += 1;
        if snapshot.is_keyframe() {
            self.orphaning = false;
        } else if self.orphaning {
            bump(&seen.orphaned_deltas);
        }
        let at = now + self.tamper.hold_snapshots.unwrap_or_default();
        let spoil = self
            .tamper
            .spoil
            .filter(|s| !self.spoiled && !snapshot.is_keyframe() && self.snapshots >= s.nth());
        let Some(spoil) = spoil else {
            held.push(at, Message::Binary(frame));
            return;
        };
        self.spoiled = true;
        self.orphaning = true;
        seen.spoiled_ticks
            .lock()
            .expect("ticks")
            .push(snapshot.tick);
        if let Spoil::WrongHash { .. } = spoil {
            snapshot.state_hash ^= 0x5a5a;
            let frame = encode_server(&ServerMsg::Snapshot(snapshot));
            held.push(at, Message::Binary(frame));
        }
    }

    fn chat(
        &mut self,
        chat: &ChatMessage,
        frame: Bytes,
        now: Instant,
        seen: &Seen,
        held: &mut Held,
    ) {
        let own = self.player == Some(chat.from);
        if own {
            self.own_chats += 1;
            if (self.tamper.skip_own_chat_every).is_some_and(|n| self.own_chats % n == 0) {
                bump(&seen.own_chats_skipped);
                return;
            }
            if self.tamper.swap_own_chat {
                match self.swap_held.take() {
                    Some(first) => {
                        bump(&seen.own_chats_swapped);
                        held.push(now, Message::Binary(frame));
                        held.push(now, first);
                    }
                    None => self.swap_held = Some(Message::Binary(frame)),
                }
                return;
            }
        }
        let first = own && seen.first_own_chat(chat.from, chat.server_id);
        let at = now + self.tamper.hold_chat.unwrap_or_default();
        held.hold(at, Message::Binary(frame), first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tamper::count;

    #[test]
    fn held_frames_leave_when_due_and_in_order_of_arrival() {
        let t0 = Instant::now();
        let mut held = Held::default();
        held.push(t0 + Duration::from_millis(100), Message::text("late"));
        held.push(t0, Message::text("a"));
        held.push(t0, Message::text("b"));
        assert_eq!(held.pop_due(t0), Some(Message::text("a")));
        assert_eq!(held.pop_due(t0), Some(Message::text("b")));
        assert_eq!(held.pop_due(t0), None);
        assert_eq!(held.next_due(), Some(t0 + Duration::from_millis(100)));
        let later = t0 + Duration::from_millis(100);
        assert_eq!(held.pop_due(later), Some(Message::text("late")));
    }

    /// Ticks 1 to 6, keyframes at 1 and 5, through a line with `spoil`: what the bot got.
    fn feed(spoil: Spoil, seen: &Seen) -> Vec<Snapshot> {
        let mut line = Line::new(Tamper {
            spoil: Some(spoil),
            ..Tamper::default()
        });
        let mut held = Held::default();
        let now = Instant::now();
        for tick in 1..=6 {
            let snapshot = Snapshot {
                base_tick: (tick != 1 && tick != 5).then(|| tick - 1),
                ..Snapshot::keyframe(tick, 0, 0, Vec::new())
            };
            let frame = encode_server(&ServerMsg::Snapshot(snapshot));
            line.handle_server_frame(frame, now, seen, &mut held);
        }
        std::iter::from_fn(|| held.pop_due(now))
            .map(|msg| match ServerMsg::decode(&msg.into_data()) {
                Ok(ServerMsg::Snapshot(s)) => s,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_lost_delta_orphans_the_deltas_up_to_the_next_keyframe() {
        let seen = Seen::default();
        let got = feed(Spoil::Lose { nth: 2 }, &seen);
        let ticks: Vec<u64> = got.iter().map(|s| s.tick).collect();
        assert_eq!(ticks, vec![1, 3, 4, 5, 6]);
        assert_eq!(*seen.spoiled_ticks.lock().expect("ticks"), vec![2]);
        assert_eq!(count(&seen.orphaned_deltas), 2);
    }

    #[test]
    fn a_wrong_hash_goes_on_the_first_delta_from_the_nth_snapshot() {
        let seen = Seen::default();
        // The 5th is a keyframe: the 6th gets it.
        let got = feed(Spoil::WrongHash { nth: 5 }, &seen);
        let hashes: Vec<u32> = got.iter().map(|s| s.state_hash).collect();
        let good = tickwire_shared::state_hash(&[]);
        assert_eq!(hashes, vec![good, good, good, good, good, good ^ 0x5a5a]);
        assert_eq!(*seen.spoiled_ticks.lock().expect("ticks"), vec![6]);
        assert_eq!(count(&seen.orphaned_deltas), 0);
    }
}
