//! Seat tickets: what a node hands out when it reserves a seat for a client that reached
//! another node, and takes back, once, when that client arrives with it.
//!
//! A ticket is a JWT (HS256, the cluster's secret) naming the node, the room, the
//! reservation and the user it was reserved for, valid for [`TICKET_TTL`]. The signature
//! lets a node refuse a forged or altered ticket before looking anything up; the
//! reservation itself (the [`Reserved`] seat) waits in this node's [`Tickets`] until it is
//! claimed, once, or expires and is dropped, which gives the seat back.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::rooms::Reserved;

/// How long a reserved seat waits for its client: a reconnect to another node takes a
/// round trip or two; ten seconds covers a slow mobile link without holding seats for long.
pub const TICKET_TTL: Duration = Duration::from_secs(10);

/// What a ticket says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct TicketClaims {
    /// The reservation's id at its node.
    sub: String,
    /// The node that holds the seat.
    node: String,
    /// The room.
    room: String,
    /// The user the seat was reserved for, when the handshake's token named one.
    user: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    exp: u64,
}

/// Why a ticket was not honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketRefused {
    /// Not signed by the cluster's secret, not a ticket at all, or expired.
    #[error("the ticket is not valid: {0}")]
    Invalid(String),
    /// Signed, but for a seat on another node.
    #[error("the ticket is for node `{0}`, not this one")]
    OtherNode(String),
    /// Signed for another user than this connection's.
    #[error("the ticket was issued to another user")]
    OtherUser,
    /// Used already, or its seat was given up after the time to claim it.
    #[error("the ticket was used already or has expired")]
    Spent,
}

/// A reservation waiting for its client.
#[derive(Debug)]
struct Waiting {
    reserved: Reserved,
    user: Option<String>,
    until: Instant,
}

/// This node's reserved seats, waiting for the clients other nodes sent here.
#[derive(Debug)]
pub struct Tickets {
    node: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl Tickets {
    /// Tickets of node `node`, signed with `secret`.
    pub fn new(node: &str, secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // The seat's own deadline is exact (`Waiting::until`); the token's `exp` only has
        // to stop an old ticket from being tried at all.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            node: node.to_owned(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// The node whose seats these are.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        // Each change is one map operation.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `reserved` for `user` until `now + TICKET_TTL`; returns the ticket for it, or
    /// `None` when no ticket could be made (no random id; the seat is given back).
    pub fn issue(&self, reserved: Reserved, user: Option<String>, now: Instant) -> Option<String> {
        let id = random_id()?;
        let claims = TicketClaims {
            sub: id.clone(),
            node: self.node.clone(),
            room: reserved.room.shared.name.clone(),
            user: user.clone(),
            exp: unix_secs() + TICKET_TTL.as_secs(),
        };
        let ticket =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()?;
        let mut waiting = self.waiting();
        sweep(&mut waiting, now);
        waiting.insert(
            id,
            Waiting {
                reserved,
                user,
                until: now + TICKET_TTL,
            },
        );
        Some(ticket)
    }

    /// The seat `ticket` reserved, for the connection of `user` (its token's user, if
    /// any) at `now`. A ticket is honoured once.
    ///
    /// # Errors
    /// [`TicketRefused`] when the ticket is forged, expired, another node's or another
    /// user's, or spent.
    pub fn redeem(
        &self,
        ticket: &str,
        user: Option<&str>,
        now: Instant,
    ) -> Result<Reserved, TicketRefused> {
        let claims = jsonwebtoken::decode::<TicketClaims>(ticket, &self.decoding, &self.validation)
            .map_err(|err| TicketRefused::Invalid(err.to_string()))?
            .claims;
        if claims.node != self.node {
            return Err(TicketRefused::OtherNode(claims.node));
        }
        let mut waiting = self.waiting();
        sweep(&mut waiting, now);
        let held = waiting.get(&claims.sub).ok_or(TicketRefused::Spent)?;
        // A ticket made for a signed-in user is that user's alone; an anonymous one is the
        // bearer's (anonymous players get a new id on every node).
        if held.user.is_some() && held.user.as_deref() != user {
            return Err(TicketRefused::OtherUser);
        }
        waiting
            .remove(&claims.sub)
            .map(|w| w.reserved)
            .ok_or(TicketRefused::Spent)
    }

    /// Gives back the seats whose time to be claimed is over.
    pub fn sweep(&self, now: Instant) {
        sweep(&mut self.waiting(), now);
    }

    /// Seats waiting for their clients.
    pub fn waiting_count(&self) -> usize {
        self.waiting().len()
    }
}

/// Drops (and so gives back) every reservation past its time.
fn sweep(waiting: &mut HashMap<String, Waiting>, now: Instant) {
    waiting.retain(|_, w| w.until > now);
}

/// 128 random bits as hex, or `None` if the system has no randomness to give.
fn random_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use crate::rooms::{Request, RoomLimits, Rooms};

    const SECRET: &[u8] = b"a cluster secret of thirty-two bytes!";

    fn rooms() -> Rooms {
        Rooms::new(RoomLimits {
            max_rooms: 4,
            max_room_players: 2,
        })
    }

    fn seat(rooms: &Rooms) -> Reserved {
        let join = Request::Join {
            room: Some("den"),
            key: None,
        };
        rooms
            .reserve(join, "u", &Identity::default())
            .expect("a seat in den")
    }

    fn occupancy(rooms: &Rooms) -> usize {
        rooms.list().first().map_or(0, |r| r.players)
    }

    #[test]
    fn a_ticket_takes_its_seat_once() {
        let rooms = rooms();
        let tickets = Tickets::new("a", SECRET);
        let now = Instant::now();
        let ticket = tickets.issue(seat(&rooms), None, now).unwrap();
        assert_eq!(occupancy(&rooms), 1, "the seat is held while it waits");
        let reserved = tickets.redeem(&ticket, None, now).expect("first claim");
        assert_eq!(reserved.room.shared.name, "den");
        assert_eq!(
            tickets.redeem(&ticket, None, now).unwrap_err(),
            TicketRefused::Spent
        );
    }

    #[test]
    fn an_unclaimed_seat_is_given_back_when_its_time_is_over() {
        let rooms = rooms();
        let tickets = Tickets::new("a", SECRET);
        let now = Instant::now();
        let ticket = tickets.issue(seat(&rooms), None, now).unwrap();
        tickets.sweep(now + TICKET_TTL);
        assert_eq!(occupancy(&rooms), 0);
        assert_eq!(tickets.waiting_count(), 0);
        assert_eq!(
            tickets.redeem(&ticket, None, now + TICKET_TTL).unwrap_err(),
            TicketRefused::Spent
        );
    }

    #[test]
    fn forged_and_foreign_tickets_are_refused() {
        let rooms = rooms();
        let now = Instant::now();
        let ours = Tickets::new("a", SECRET);
        let forger = Tickets::new("a", b"not the cluster's secret at all, no");
        let forged = forger.issue(seat(&rooms), None, now).unwrap();
        assert!(matches!(
            ours.redeem(&forged, None, now),
            Err(TicketRefused::Invalid(_))
        ));
        let other_node = Tickets::new("b", SECRET);
        let theirs = other_node.issue(seat(&rooms), None, now).unwrap();
        assert_eq!(
            ours.redeem(&theirs, None, now).unwrap_err(),
            TicketRefused::OtherNode("b".into())
        );
        assert!(matches!(
            ours.redeem("not a ticket", None, now),
            Err(TicketRefused::Invalid(_))
        ));
    }

    #[test]
    fn a_signed_in_users_ticket_is_theirs_alone() {
        let rooms = rooms();
        let tickets = Tickets::new("a", SECRET);
        let now = Instant::now();
        let ticket = tickets
            .issue(seat(&rooms), Some("ana".into()), now)
            .unwrap();
        assert_eq!(
            tickets.redeem(&ticket, Some("bo"), now).unwrap_err(),
            TicketRefused::OtherUser
        );
        assert_eq!(
            tickets.redeem(&ticket, None, now).unwrap_err(),
            TicketRefused::OtherUser
        );
        assert!(tickets.redeem(&ticket, Some("ana"), now).is_ok());
    }
}
