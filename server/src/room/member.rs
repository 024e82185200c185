//! The room's players: those connected ([`Member`]) and those whose connection was lost
//! ([`Away`]), and the [`Seated`] record that moves between the two when a player drops
//! and resumes.

use std::time::Instant;

use slotmap::new_key_type;
use tickwire_shared::PlayerId;

use crate::game::SeqFilter;
use crate::peer::Peer;
use crate::rate_limit::FloodGuard;
use crate::snapshot::ClientView;

new_key_type! {
    /// A connected member of a room: the key the core and its transport share.
    pub struct MemberKey;
}

/// What becomes of a member at the end of the tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Plays,
    /// Asked to leave: goes back to the lobby.
    Leaves,
    /// Its connection is closing (it closed, broke a rule, or fell behind).
    Closes,
    /// Its socket ended or failed.
    Gone,
}

/// A player with a seat, whether its connection is here or lost.
#[derive(Debug)]
pub(super) struct Seated {
    pub id: PlayerId,
    pub name: String,
    pub user_id: String,
    /// Survives a resume, so an input re-sent after it is applied at most once.
    pub seq: SeqFilter,
}

/// A connected member: a player, or a watcher (which has a player id but no seat and no
/// place in the game).
#[derive(Debug)]
pub(super) struct Member {
    pub player: Seated,
    pub watching: bool,
    pub peer: Peer,
    pub chat: FloodGuard,
    /// What the client holds of the room, when it sees only part of it.
    pub view: ClientView,
    pub fate: Fate,
}

/// A player whose connection was lost: still in the game, not acting, its seat kept until
/// `deadline` for it to resume.
#[derive(Debug)]
pub(super) struct Away {
    pub player: Seated,
    pub deadline: Instant,
}
