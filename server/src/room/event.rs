//! What a room's core asks of the world around it: the registry and the sessions to be
//! told who sits where, and members' connections to be handed on.

use std::time::Instant;

use tickwire_shared::PlayerId;

use super::member::MemberKey;
use crate::peer::Peer;
use crate::rooms::RoomShared;
use crate::sessions::Sessions;

/// Where a departing member's connection goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Back to the lobby: it left the room, or its resume was refused.
    Lobby,
    /// To be closed: its close is queued in its outbox.
    Close,
    /// Nowhere: its socket is gone.
    Drop,
}

/// One thing the core did that its driver carries out, in the order they happened.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "events are few (joins and departures) and drained at once; a box per departure buys nothing"
)]
pub enum Event {
    /// A player took a seat in the room.
    Seated {
        /// The player.
        player: PlayerId,
        /// Its user.
        user: String,
    },
    /// A player's connection was lost at `at`: it stays, away, for the resume grace.
    Lost {
        /// The player.
        player: PlayerId,
        /// When it was lost.
        at: Instant,
    },
    /// A player gave its seat up: it left, closed, was taken over, or its grace ran out.
    Left {
        /// The player.
        player: PlayerId,
        /// Its user.
        user: String,
        /// It walked out to the lobby, keeping its session; otherwise the session is over.
        kept_session: bool,
    },
    /// A watcher stopped watching. Its session goes on when it went back to the lobby, is
    /// kept for the resume grace (outside any room) when its connection was lost at `lost`,
    /// and is over otherwise.
    Unwatched {
        /// The watcher's player id.
        player: PlayerId,
        /// When its connection was lost, if it was.
        lost: Option<Instant>,
        /// It left for the lobby.
        to_lobby: bool,
    },
    /// A member's connection leaves the room, with its state, for `next`.
    Departed {
        /// The member it was.
        member: MemberKey,
        /// Its state (outbox, identity, limits).
        peer: Peer,
        /// Where it goes.
        next: Next,
    },
}

impl Event {
    /// Brings the registry's view of the room (`shared`) and the `sessions` up to date
    /// with a seat event; a departure changes neither, and is the caller's to carry out.
    pub fn update_records(&self, shared: &RoomShared, sessions: &Sessions) {
        match self {
            Event::Seated { player, user } => {
                shared.user_seated(user);
                sessions.set_room(*player, Some(shared.name.clone()));
            }
            Event::Lost { player, at } => sessions.connection_lost(*player, *at),
            Event::Left {
                player,
                user,
                kept_session,
            } => {
                shared.release_seat();
                shared.user_left(user);
                if *kept_session {
                    sessions.set_room(*player, None);
                } else {
                    sessions.end(*player);
                }
            }
            Event::Unwatched {
                player,
                lost,
                to_lobby,
            } => match (to_lobby, lost) {
                (true, _) => {}
                (false, Some(at)) => sessions.connection_lost(*player, *at),
                (false, None) => sessions.end(*player),
            },
            Event::Departed { .. } => {}
        }
    }
}
