//! Resume tokens: which player a token takes back, and until when.
//!
//! Every greeted player has a session with one live token. A token is spent when it is
//! redeemed, and the resume that redeemed it hands out the next one, so a token that leaked
//! after use is worth nothing. While a player is connected its session waits; once its
//! connection is lost without a clean goodbye, the session keeps the player for the resume
//! grace. The room (for a player in a room) or the lobby (for one that was not) says when
//! a connection is lost and when a session ends; this registry only answers who a token
//! is, under one lock, taken once per greeting, resume and departure.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tickwire_shared::{PlayerId, PlayerInfo};

/// What a redeemed token gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The player, as it was.
    pub player: PlayerInfo,
    /// The user the player belongs to.
    pub user_id: String,
    /// The room it was in, if any.
    pub room: Option<String>,
    /// The token for the next resume.
    pub token: String,
}

/// Why a resume was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeRefused {
    /// No session has this token: never issued, spent, or the session ended.
    #[error("unknown or already used resume token")]
    Unknown,
    /// The resume grace ran out.
    #[error("the resume grace period is over")]
    Expired,
    /// The token is another user's.
    #[error("the resume token belongs to another user")]
    OtherUser,
    /// The player is still connected outside a room; there is nothing to take back.
    #[error("the player is still connected")]
    StillConnected,
}

#[derive(Debug)]
struct Session {
    token: String,
    player: PlayerInfo,
    user_id: String,
    room: Option<String>,
    lost_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    by_token: HashMap<String, PlayerId>,
    by_player: HashMap<PlayerId, Session>,
    /// Lost connections in the order they were lost, so sessions nobody came back for are
    /// forgotten without a scan: otherwise every dropped lobby player would stay forever.
    lost: VecDeque<(Instant, PlayerId)>,
}

impl Inner {
    /// Forgets the sessions whose grace ended before `now` and that were not resumed since.
    fn sweep(&mut self, now: Instant, grace: Duration) {
        while let Some(&(lost_at, id)) = self.lost.front() {
            if now.saturating_duration_since(lost_at) <= grace {
                break;
            }
            self.lost.pop_front();
            // Only if this loss is still the session's last one: it may have resumed and
            // been lost again later (a later entry then covers it).
            if self
                .by_player
                .get(&id)
                .is_some_and(|s| s.lost_at == Some(lost_at))
            {
                if let Some(session) = self.by_player.remove(&id) {
                    self.by_token.remove(&session.token);
                }
            }
        }
    }
}

/// Every live session.
#[derive(Debug)]
pub struct Sessions {
    inner: Mutex<Inner>,
    grace: Duration,
    /// In cluster mode, `NODE.`: every token names the node that can take it back.
    token_prefix: String,
}

/// The node that issued resume token `token`, when it names one (in cluster mode tokens
/// are `NODE.SECRET`).
pub fn token_node(token: &str) -> Option<&str> {
    token.split_once('.').map(|(node, _)| node)
}

/// 128 random bits as hex: unguessable, and safe in any text field.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    // The system's random source failing means the machine is broken; a token made of
    // the clock would be guessable, so better no resume than a weak one: the empty token
    // is never issued to a map, see `open`.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    /// No sessions yet; a lost connection may be resumed for `grace`.
    pub fn new(grace: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            grace,
            token_prefix: String::new(),
        }
    }

    /// Sessions whose tokens name node `node`, so that any node of a cluster can tell
    /// where a token belongs.
    #[must_use]
    pub fn of_node(mut self, node: &str) -> Self {
        self.token_prefix = format!("{node}.");
        self
    }

    /// The resume grace.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// A fresh token with this node's prefix (empty when no random token could be made).
    fn new_token(&self) -> String {
        match new_token() {
            token if token.is_empty() => token,
            token => format!("{}{token}", self.token_prefix),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change below is a few map operations that cannot panic halfway.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session for a player greeted at `now`; returns its first token (empty
    /// when no random token could be made: the player then cannot resume).
    pub fn open(&self, player: PlayerInfo, user_id: String, now: Instant) -> String {
        let token = self.new_token();
        let mut inner = self.lock();
        inner.sweep(now, self.grace);
        if !token.is_empty() {
            inner.by_token.insert(token.clone(), player.id);
        }
        let id = player.id;
        let old = inner.by_player.insert(
            id,
            Session {
                token: token.clone(),
                player,
                user_id,
                room: None,
                lost_at: None,
            },
        );
        if let Some(old) = old {
            inner.by_token.remove(&old.token);
        }
        token
    }

    /// The player is now in `room` (or in none).
    pub fn set_room(&self, player: PlayerId, room: Option<String>) {
        if let Some(session) = self.lock().by_player.get_mut(&player) {
            session.room = room;
        }
    }

    /// The player's connection was lost at `now`: its grace starts.
    pub fn connection_lost(&self, player: PlayerId, now: Instant) {
        let mut inner = self.lock();
        inner.sweep(now, self.grace);
        if let Some(session) = inner.by_player.get_mut(&player) {
            session.lost_at = Some(now);
            inner.lost.push_back((now, player));
        }
    }

    /// The session is over (a clean goodbye, or the grace ran out): its token dies.
    pub fn end(&self, player: PlayerId) {
        let mut inner = self.lock();
        if let Some(session) = inner.by_player.remove(&player) {
            inner.by_token.remove(&session.token);
        }
    }

    /// Spends `token` at `now` for a connection of `user` (`None` without authentication).
    ///
    /// # Errors
    /// [`ResumeRefused`] when the token is unknown or spent, its grace is over, it is
    /// another user's, or its player is still connected outside a room.
    pub fn redeem(
        &self,
        token: &str,
        user: Option<&str>,
        now: Instant,
    ) -> Result<Ticket, ResumeRefused> {
        let mut inner = self.lock();
        let id = *inner.by_token.get(token).ok_or(ResumeRefused::Unknown)?;
        let grace = self.grace;
        let session = inner.by_player.get_mut(&id).ok_or(ResumeRefused::Unknown)?;
        if user.is_some_and(|u| u != session.user_id) {
            return Err(ResumeRefused::OtherUser);
        }
        match session.lost_at {
            Some(lost) if now.saturating_duration_since(lost) > grace => {
                let token = session.token.clone();
                inner.by_player.remove(&id);
                inner.by_token.remove(&token);
                return Err(ResumeRefused::Expired);
            }
            // In a room a connection can look alive to us after the client gave up on it
            // (half-open TCP): the room replaces it. In the lobby there is no seat to take.
            None if session.room.is_none() => return Err(ResumeRefused::StillConnected),
            _ => {}
        }
        let old = std::mem::replace(&mut session.token, self.new_token());
        session.lost_at = None;
        let ticket = Ticket {
            player: session.player.clone(),
            user_id: session.user_id.clone(),
            room: session.room.clone(),
            token: session.token.clone(),
        };
        inner.by_token.remove(&old);
        if !ticket.token.is_empty() {
            inner.by_token.insert(ticket.token.clone(), id);
        }
        Ok(ticket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(id: PlayerId) -> PlayerInfo {
        PlayerInfo {
            id,
            name: format!("p{id}"),
        }
    }

    const GRACE: Duration = Duration::from_secs(10);

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn a_token_is_spent_by_its_resume_and_replaced() {
        let sessions = Sessions::new(GRACE);
        let now = Instant::now();
        let token = sessions.open(player(1), "alice".into(), now);
        sessions.set_room(1, Some("r".into()));
        sessions.connection_lost(1, now);
        let ticket = sessions.redeem(&token, Some("alice"), now).unwrap();
        assert_eq!((ticket.player.id, ticket.room.as_deref()), (1, Some("r")));
        assert_ne!(ticket.token, token);
        assert_eq!(
            sessions.redeem(&token, Some("alice"), now),
            Err(ResumeRefused::Unknown)
        );
        sessions.connection_lost(1, now);
        assert!(sessions.redeem(&ticket.token, Some("alice"), now).is_ok());
    }

    #[test]
    fn the_grace_runs_out() {
        let sessions = Sessions::new(GRACE);
        let now = Instant::now();
        let token = sessions.open(player(1), "a".into(), now);
        sessions.connection_lost(1, now);
        assert_eq!(
            sessions.redeem(&token, None, now + GRACE + Duration::from_millis(1)),
            Err(ResumeRefused::Expired)
        );
        // Gone for good.
        assert_eq!(
            sessions.redeem(&token, None, now),
            Err(ResumeRefused::Unknown)
        );
    }

    #[test]
    fn sessions_nobody_came_back_for_are_forgotten() {
        let sessions = Sessions::new(GRACE);
        let now = Instant::now();
        for id in 0..100 {
            sessions.open(player(id), format!("u{id}"), now);
            sessions.connection_lost(id, now);
        }
        // One came back in time, and was lost again later.
        let token = sessions.lock().by_player[&7].token.clone();
        sessions.redeem(&token, None, now).unwrap();
        sessions.connection_lost(7, now + GRACE);
        sessions.connection_lost(1000, now + GRACE + Duration::from_millis(1));
        let inner = sessions.lock();
        assert_eq!(inner.by_player.len(), 1, "only the one lost later is kept");
        assert!(inner.by_player.contains_key(&7));
        assert_eq!(inner.by_token.len(), 1);
    }

    #[test]
    fn another_users_token_is_refused_and_stays_valid_for_its_owner() {
        let sessions = Sessions::new(GRACE);
        let now = Instant::now();
        let token = sessions.open(player(1), "alice".into(), now);
        sessions.connection_lost(1, now);
        assert_eq!(
            sessions.redeem(&token, Some("mallory"), now),
            Err(ResumeRefused::OtherUser)
        );
        assert!(sessions.redeem(&token, Some("alice"), now).is_ok());
    }

    #[test]
    fn a_connected_lobby_player_cannot_be_taken_over_and_ended_sessions_are_gone() {
        let sessions = Sessions::new(GRACE);
        let now = Instant::now();
        let token = sessions.open(player(1), "a".into(), now);
        assert_eq!(
            sessions.redeem(&token, None, now),
            Err(ResumeRefused::StillConnected)
        );
        sessions.end(1);
        assert_eq!(
            sessions.redeem(&token, None, now),
            Err(ResumeRefused::Unknown)
        );
    }
}
