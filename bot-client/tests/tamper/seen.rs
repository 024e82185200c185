//! What the tampering proxy saw pass, over all its connections: what the bots sent the
//! server (their tokens, their inputs' sequence numbers), what the server answered that a
//! test checks the bots' counts against (resumes taken back or refused, chats refused),
//! and what the proxy itself did to the frames.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tickwire_shared::PlayerId;

/// The proxy's counts; read them once the bots are done.
#[derive(Debug, Default)]
pub struct Seen {
    /// `(sub, name)` of the token in each upgrade's `?token=` query, as presented (the
    /// server is the one that checks them).
    pub tokens: Mutex<Vec<(String, String)>>,
    /// Inputs whose sequence number was at or below the highest already forwarded for the
    /// same player: sent again.
    pub repeated_inputs: AtomicU64,
    /// Inputs that skipped numbers past the highest forwarded for their player.
    pub input_gaps: AtomicU64,
    /// The highest input sequence number forwarded per player, across its connections.
    highest_input: Mutex<HashMap<PlayerId, u32>>,
    /// `Resumed` answers from the server: players it took back.
    pub resumed: AtomicU64,
    /// `Error`s with code `RESUME_REFUSED` from the server.
    pub resumes_refused: AtomicU64,
    /// `ChatAck`s from the server that refused the chat.
    pub chats_refused: AtomicU64,
    /// The ticks of the snapshots the proxy spoiled (a wrong hash) or lost on purpose.
    pub spoiled_ticks: Mutex<Vec<u64>>,
    /// Deltas forwarded after a spoiled or lost snapshot, up to the next keyframe: none of
    /// them can apply.
    pub orphaned_deltas: AtomicU64,
    /// A bot's own chat messages never delivered to it, on purpose.
    pub own_chats_skipped: AtomicU64,
    /// Pairs of a bot's own chat messages delivered to it in the wrong order, on purpose.
    pub own_chats_swapped: AtomicU64,
    /// A bot's own chat messages still held back when its connection ended abruptly (a
    /// drop), on their first way to it (not a history's repeat of one it got, or was cut
    /// off from, before).
    pub own_chats_cut_off: AtomicU64,
    /// Every player's own chat messages that came from the server, by server id.
    own_chats: Mutex<HashSet<(PlayerId, u64)>>,
}

/// Reads a counter of [`Seen`].
pub fn count(n: &AtomicU64) -> u64 {
    n.load(Ordering::Relaxed)
}

/// Adds one to a counter of [`Seen`].
pub(super) fn bump(n: &AtomicU64) {
    n.fetch_add(1, Ordering::Relaxed);
}

#[derive(Debug, serde::Deserialize)]
struct Claims {
    sub: String,
    name: String,
}

impl Seen {
    /// A bot asked to upgrade at `path_and_query`: notes the claims of its token, if any.
    pub(super) fn upgrade(&self, path_and_query: &str) {
        let token = path_and_query
            .split_once('?')
            .map_or("", |(_, query)| query)
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="));
        // Not checked here: whether the token is good is for the server to say.
        let claims = token
            .and_then(|t| jsonwebtoken::dangerous::insecure_decode::<Claims>(t).ok())
            .map(|data| (data.claims.sub, data.claims.name));
        if let Some(claims) = claims {
            self.tokens.lock().expect("tokens").push(claims);
        }
    }

    /// The server sent `player` its own chat message `server_id`: true the first time, on
    /// whichever connection.
    pub(super) fn first_own_chat(&self, player: PlayerId, server_id: u64) -> bool {
        let mut heard = self.own_chats.lock().expect("chats");
        heard.insert((player, server_id))
    }

    /// Player `player` sent input `seq`, which the proxy forwards.
    pub(super) fn input(&self, player: PlayerId, seq: u32) {
        let mut highest = self.highest_input.lock().expect("inputs");
        match highest.get(&player).copied() {
            Some(top) if seq <= top => bump(&self.repeated_inputs),
            Some(top) => {
                if seq > top.wrapping_add(1) {
                    bump(&self.input_gaps);
                }
                highest.insert(player, seq);
            }
            None => {
                highest.insert(player, seq);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_sent_again_and_numbers_skipped_are_counted_per_player() {
        let seen = Seen::default();
        for seq in [1, 2, 3, 2, 3, 4, 6] {
            seen.input(7, seq);
        }
        // Another player starts where its bot's numbers are.
        seen.input(9, 40);
        seen.input(9, 41);
        assert_eq!(count(&seen.repeated_inputs), 2);
        assert_eq!(count(&seen.input_gaps), 1);
    }

    #[test]
    fn a_token_is_read_from_the_query_and_none_is_no_token() {
        let claims = serde_json::json!({"sub": "bot-1", "name": "Bo", "exp": 1});
        let key = jsonwebtoken::EncodingKey::from_secret(b"whatever");
        let token =
            jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("a token");
        let seen = Seen::default();
        seen.upgrade(&format!("/?lobby=1&token={token}"));
        seen.upgrade("/?lobby=1");
        seen.upgrade("/");
        let tokens = seen.tokens.lock().expect("tokens").clone();
        assert_eq!(tokens, vec![("bot-1".to_owned(), "Bo".to_owned())]);
    }
}
