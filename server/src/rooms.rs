//! The room registry: finds or opens the room a join goes to, and admits no more players
//! than a room holds.
//!
//! Admission is a reservation taken under the registry's lock: the room's occupancy is
//! raised before the join is even sent to the room, so two quick-joins racing for the last
//! seat cannot both win, and a room closes itself only under the same lock and only while
//! nobody holds a seat. The lock guards a name map and is taken once per join and per room
//! closing, never on the tick's path.
//!
//! The registry opens rooms but runs none: a join that opens one gets it back as a
//! [`NewRoom`] for the caller to hand to the listener, the one place that starts tasks.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::client::Client;
use crate::identity::Identity;

/// Room names are 1 to 32 of these characters, so they are safe to log and to show.
pub fn valid_room_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// What a room shares with the registry and the lobby.
#[derive(Debug)]
pub struct RoomShared {
    /// The room's name, as sent in `Joined`.
    pub name: String,
    /// Seats taken: members plus reservations on their way in.
    occupancy: AtomicUsize,
    /// Seats in all.
    pub capacity: usize,
    /// Who may join.
    access: Access,
    /// The users seated now (kept by the room), so a second connection of one of them
    /// takes its seat over instead of being refused as full.
    users: Mutex<HashSet<String>>,
}

/// Who may join a room.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    /// Anyone, and quick-join.
    Public,
    /// Holders of the key (if there is one) and users whose token names the room.
    Private { key: Option<String> },
}

/// What a room is asked to do.
#[derive(Debug)]
pub enum RoomCmd {
    /// Let a greeted client in; it holds a seat already. The room owns the client from now on.
    Join {
        /// The seat the registry reserved.
        seat: Seat,
        /// The client, with its socket.
        client: Client,
    },
    /// Take a lost player back on a new connection; the client already says which player
    /// (from its redeemed token). The room answers, and on refusal sends it to the lobby.
    Resume {
        /// The client, with its socket and player.
        client: Client,
        /// The player's next resume token, for the `Resumed` answer.
        token: String,
    },
    /// Let a greeted client watch: no seat, no player in the game. The room answers, and
    /// sends it back to the lobby when it has its most watchers.
    Watch {
        /// The client, with its socket.
        client: Client,
    },
    /// Send an operator's notice (an encoded `Notice`) to the member `user`, or to every
    /// member with `None`.
    Notice {
        /// The user it is for, or `None` for everyone.
        user: Option<String>,
        /// The encoded message.
        frame: Bytes,
    },
}

impl RoomCmd {
    /// The client the command carries, if it carries one.
    pub fn client_mut(&mut self) -> Option<&mut Client> {
        match self {
            RoomCmd::Join { client, .. }
            | RoomCmd::Resume { client, .. }
            | RoomCmd::Watch { client } => Some(client),
            RoomCmd::Notice { .. } => None,
        }
    }

    /// The client back, when the room could not take the command.
    pub fn into_client(self) -> Option<Client> {
        match self {
            RoomCmd::Join { client, .. }
            | RoomCmd::Resume { client, .. }
            | RoomCmd::Watch { client } => Some(client),
            RoomCmd::Notice { .. } => None,
        }
    }
}

/// A room the registry has just opened, for the listener to run.
#[derive(Debug)]
pub struct NewRoom {
    /// What the room shares with the registry.
    pub shared: Arc<RoomShared>,
    /// Its command queue.
    pub cmds: mpsc::Receiver<RoomCmd>,
}

/// A seat reserved for a join: the room, the seat, and the room itself when the join
/// opened it (the caller hands it to the listener to run, before sending the join).
#[derive(Debug)]
pub struct Reserved {
    /// The room.
    pub room: RoomHandle,
    /// The seat in it.
    pub seat: Seat,
    /// The room to start, when this reservation opened it.
    pub opened: Option<NewRoom>,
}

/// A way to reach one room.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// State the room shares.
    pub shared: Arc<RoomShared>,
    /// The room's command queue.
    pub cmds: mpsc::Sender<RoomCmd>,
}

/// A seat in a room, taken but not yet filled. Dropping it gives the seat back; the room
/// calls [`Seat::fill`] when the player is in, and from then on the room gives it back.
#[derive(Debug)]
pub struct Seat {
    shared: Arc<RoomShared>,
    filled: bool,
}

impl Seat {
    /// The player is in the room; the room now owns the seat.
    pub fn fill(mut self) {
        self.filled = true;
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if !self.filled {
            self.shared.occupancy.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl RoomShared {
    /// A member left: their seat is free again.
    pub fn release_seat(&self) {
        self.occupancy.fetch_sub(1, Ordering::AcqRel);
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `user` is seated in the room now.
    pub fn user_seated(&self, user: &str) {
        self.users().insert(user.to_owned());
    }

    /// `user` no longer has a seat in the room.
    pub fn user_left(&self, user: &str) {
        self.users().remove(user);
    }

    fn admits(&self, key: Option<&str>, identity: &Identity) -> bool {
        match &self.access {
            Access::Public => true,
            Access::Private { key: room_key } => {
                identity.may_join(&self.name) || room_key.as_deref().is_some_and(|k| Some(k) == key)
            }
        }
    }
}

/// What a client asks the registry for.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// A named room (`key` for a private one), or quick-join with `None`.
    Join {
        /// The room's name, or `None` for quick-join.
        room: Option<&'a str>,
        /// The private room's key.
        key: Option<&'a str>,
    },
    /// A new room.
    Create {
        /// Its name.
        room: &'a str,
        /// Left out of quick-join and closed to those without the key or a token naming it.
        private: bool,
        /// The key to a private room.
        key: Option<&'a str>,
        /// Seats; `None` for the server's room size.
        capacity: Option<u32>,
    },
}

/// One open room, as the admin endpoint lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoomSummary {
    /// The room's name.
    pub id: String,
    /// Seats taken (players in the room and on their way in).
    pub players: usize,
    /// Seats in all.
    pub capacity: usize,
    /// Left out of quick-join, and closed to those without its key or a token naming it.
    pub private: bool,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinRefused {
    /// The named room has no free seat; the client may try another room.
    #[error("room `{0}` is full")]
    Full(String),
    /// The name breaks the naming rule; the client should fix it.
    #[error("room names are 1 to 32 characters of A-Z, a-z, 0-9, `_`, `-` and `.`")]
    BadName,
    /// Opening another room would pass the server's room limit; try later.
    #[error("the server has too many rooms open")]
    TooManyRooms,
    /// No private room has that name.
    #[error("no room `{0}`")]
    NotFound(String),
    /// The room is private and the key (or the token) does not admit this user.
    #[error("room `{0}` is private: a valid key or a token naming it is needed")]
    AccessDenied(String),
    /// A room with that name is open already.
    #[error("room `{0}` exists already")]
    Exists(String),
    /// The capacity asked for is 0 or above the server's room size.
    #[error("capacity must be 1 to {0}")]
    BadCapacity(usize),
}

/// How many rooms and how big, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomLimits {
    /// Most rooms open at once.
    pub max_rooms: usize,
    /// Most seats in one room; a created room may ask for fewer.
    pub max_room_players: usize,
}

#[derive(Debug, Default)]
struct Registry {
    rooms: HashMap<String, RoomHandle>,
    /// Numbers the rooms quick-join opens: `quick-1`, `quick-2`, ...
    quick_rooms_opened: u64,
}

/// All open rooms.
#[derive(Debug)]
pub struct Rooms {
    limits: RoomLimits,
    /// What the names of the rooms quick-join opens start with: `quick-`, or in a
    /// cluster `quick-NODE-`, so that no two nodes open the same name.
    quick_prefix: String,
    registry: Mutex<Registry>,
}

impl Rooms {
    /// No rooms yet; never more than `limits` allow.
    pub fn new(limits: RoomLimits) -> Self {
        Self {
            limits,
            quick_prefix: "quick-".to_owned(),
            registry: Mutex::new(Registry::default()),
        }
    }

    /// The rooms of node `node` of a cluster: quick-join names its rooms `quick-NODE-N`.
    #[must_use]
    pub fn of_node(mut self, node: &str) -> Self {
        self.quick_prefix = format!("quick-{node}-");
        self
    }

    /// A name for a new quick-join room that no open room has.
    pub fn quick_room_name(&self) -> String {
        self.registry().quick_room_name(&self.quick_prefix)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every open room, by name.
    pub fn list(&self) -> Vec<RoomSummary> {
        let mut rooms: Vec<RoomSummary> = self
            .registry()
            .rooms
            .iter()
            .map(|(name, handle)| RoomSummary {
                id: name.clone(),
                players: handle.shared.occupancy.load(Ordering::Acquire),
                capacity: handle.shared.capacity,
                private: handle.shared.access != Access::Public,
            })
            .collect();
        rooms.sort_by(|a, b| a.id.cmp(&b.id));
        rooms
    }

    /// Every seated user, with their room's name.
    pub fn seated_users(&self) -> Vec<(String, String)> {
        let handles: Vec<RoomHandle> = self.registry().rooms.values().cloned().collect();
        let mut seated = Vec::new();
        for handle in handles {
            let room = &handle.shared.name;
            seated.extend(
                handle
                    .shared
                    .users()
                    .iter()
                    .map(|u| (u.clone(), room.clone())),
            );
        }
        seated
    }

    /// Sends the notice `frame` to `user` in whichever room seats them, or with `None` to
    /// every room; returns how many rooms took it. A room whose queue is full misses it
    /// (a notice never waits on a room).
    pub fn notify(&self, user: Option<&str>, frame: &Bytes) -> usize {
        let handles: Vec<RoomHandle> = self
            .registry()
            .rooms
            .values()
            .filter(|h| user.is_none_or(|u| h.shared.users().contains(u)))
            .cloned()
            .collect();
        handles
            .iter()
            .filter(|h| {
                let cmd = RoomCmd::Notice {
                    user: user.map(str::to_owned),
                    frame: frame.clone(),
                };
                h.cmds.try_send(cmd).is_ok()
            })
            .count()
    }

    /// The open room called `name`.
    pub fn get(&self, name: &str) -> Option<RoomHandle> {
        self.registry().rooms.get(name).cloned()
    }

    /// The open room called `name`, for `identity` to watch: no seat is taken, and no
    /// room is opened.
    ///
    /// # Errors
    /// [`JoinRefused`] when the name is invalid, the room is not open, or it is private
    /// and neither `key` nor the token admits this user.
    pub fn watch(
        &self,
        name: &str,
        key: Option<&str>,
        identity: &Identity,
    ) -> Result<RoomHandle, JoinRefused> {
        if !valid_room_name(name) {
            return Err(JoinRefused::BadName);
        }
        match self.registry().rooms.get(name) {
            Some(handle) if handle.shared.admits(key, identity) => Ok(handle.clone()),
            Some(_) => Err(JoinRefused::AccessDenied(name.to_owned())),
            None => Err(JoinRefused::NotFound(name.to_owned())),
        }
    }

    /// Takes a seat for `user` (who is `identity`) as `request` asks: in a named room
    /// (opening a public one that does not exist, unless a key or the token says the
    /// client expects a private one), in the fullest public room with space (opening
    /// `quick-N` if none has), or in a room it creates.
    ///
    /// # Errors
    /// [`JoinRefused`] when the name or capacity is invalid, the room is full, private to
    /// this user, missing or taken, or no room may be opened.
    pub fn reserve(
        &self,
        request: Request<'_>,
        user: &str,
        identity: &Identity,
    ) -> Result<Reserved, JoinRefused> {
        let server_cap = self.limits.max_room_players;
        let max_rooms = self.limits.max_rooms;
        let mut reg = self.registry();
        let mut opened = None;
        let handle = match request {
            Request::Create {
                room,
                private,
                key,
                capacity,
            } => {
                if !valid_room_name(room) {
                    return Err(JoinRefused::BadName);
                }
                let capacity = capacity.map_or(server_cap, |c| c as usize);
                if !(1..=server_cap).contains(&capacity) {
                    return Err(JoinRefused::BadCapacity(server_cap));
                }
                if reg.rooms.contains_key(room) {
                    return Err(JoinRefused::Exists(room.to_owned()));
                }
                let access = if private {
                    Access::Private {
                        key: key.map(str::to_owned),
                    }
                } else {
                    Access::Public
                };
                reg.open(max_rooms, room.to_owned(), capacity, access, &mut opened)?
            }
            Request::Join {
                room: Some(name),
                key,
            } => {
                if !valid_room_name(name) {
                    return Err(JoinRefused::BadName);
                }
                match reg.rooms.get(name) {
                    Some(handle) if handle.shared.admits(key, identity) => handle.clone(),
                    Some(_) => return Err(JoinRefused::AccessDenied(name.to_owned())),
                    None if key.is_some() || identity.may_join(name) => {
                        return Err(JoinRefused::NotFound(name.to_owned()));
                    }
                    None => reg.open(
                        max_rooms,
                        name.to_owned(),
                        server_cap,
                        Access::Public,
                        &mut opened,
                    )?,
                }
            }
            Request::Join { room: None, .. } => {
                let fullest = reg
                    .rooms
                    .values()
                    .filter(|h| h.shared.access == Access::Public)
                    .map(|h| (h.shared.occupancy.load(Ordering::Acquire), h))
                    .filter(|(taken, h)| *taken < h.shared.capacity)
                    .max_by_key(|(taken, h)| (*taken, std::cmp::Reverse(h.shared.name.as_str())))
                    .map(|(_, h)| h.clone());
                match fullest {
                    Some(handle) => handle,
                    None => {
                        let name = reg.quick_room_name(&self.quick_prefix);
                        reg.open(max_rooms, name, server_cap, Access::Public, &mut opened)?
                    }
                }
            }
        };
        // Under the lock, so the count cannot change between the check and the take. A
        // user already seated takes its own seat over, so that is never refused as full.
        let taken = handle.shared.occupancy.load(Ordering::Acquire);
        if taken >= handle.shared.capacity && !handle.shared.users().contains(user) {
            return Err(JoinRefused::Full(handle.shared.name.clone()));
        }
        handle.shared.occupancy.fetch_add(1, Ordering::AcqRel);
        let seat = Seat {
            shared: Arc::clone(&handle.shared),
            filled: false,
        };
        Ok(Reserved {
            room: handle,
            seat,
            opened,
        })
    }

    /// Removes the room if nobody holds a seat in it; the room stops when this says true.
    pub fn close_if_empty(&self, name: &str) -> bool {
        let mut reg = self.registry();
        let empty = reg
            .rooms
            .get(name)
            .is_some_and(|h| h.shared.occupancy.load(Ordering::Acquire) == 0);
        if empty {
            reg.rooms.remove(name);
        }
        empty
    }
}

impl Registry {
    /// The next `PREFIX` + N that no open room has (a client may have taken one by name).
    fn quick_room_name(&mut self, prefix: &str) -> String {
        loop {
            self.quick_rooms_opened += 1;
            let name = format!("{prefix}{}", self.quick_rooms_opened);
            if !self.rooms.contains_key(&name) {
                return name;
            }
        }
    }

    /// Opens a room and puts it in `opened` for the caller to start.
    fn open(
        &mut self,
        max_rooms: usize,
        name: String,
        capacity: usize,
        access: Access,
        opened: &mut Option<NewRoom>,
    ) -> Result<RoomHandle, JoinRefused> {
        if self.rooms.len() >= max_rooms {
            return Err(JoinRefused::TooManyRooms);
        }
        // Joins are the only commands, and each waits for its seat; a small queue is plenty.
        let (cmds, cmd_rx) = mpsc::channel(64);
        let shared = Arc::new(RoomShared {
            name: name.clone(),
            occupancy: AtomicUsize::new(0),
            capacity,
            access,
            users: Mutex::new(HashSet::new()),
        });
        let handle = RoomHandle {
            shared: Arc::clone(&shared),
            cmds,
        };
        tracing::info!(room = %name, "opened room");
        self.rooms.insert(name, handle.clone());
        *opened = Some(NewRoom {
            shared,
            cmds: cmd_rx,
        });
        Ok(handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(max_room_players: usize) -> Rooms {
        Rooms::new(RoomLimits {
            max_rooms: 16,
            max_room_players,
        })
    }

    fn reserve(rooms: &Rooms, request: Request<'_>, user: &str) -> Result<Reserved, JoinRefused> {
        rooms.reserve(request, user, &Identity::default())
    }

    /// A seat in the room called `name` (opened if new), held until the result is dropped.
    fn sit(rooms: &Rooms, name: &str, user: &str) -> Reserved {
        let request = Request::Join {
            room: Some(name),
            key: None,
        };
        reserve(rooms, request, user).unwrap_or_else(|refused| panic!("{name}: {refused}"))
    }

    fn quick_join(rooms: &Rooms, user: &str) -> Result<Reserved, JoinRefused> {
        let request = Request::Join {
            room: None,
            key: None,
        };
        reserve(rooms, request, user)
    }

    fn name(reserved: &Reserved) -> &str {
        &reserved.room.shared.name
    }

    /// A new private room with no key, of the server's size.
    fn create_private(room: &str) -> Request<'_> {
        Request::Create {
            room,
            private: true,
            key: None,
            capacity: None,
        }
    }

    #[test]
    fn quick_join_takes_the_fullest_public_room_with_a_free_seat_and_never_a_private_one() {
        let rooms = rooms(3);
        let den = create_private("den");
        let invited = Identity {
            rooms: vec!["den".into()],
            ..Identity::default()
        };
        let into_den = Request::Join {
            room: Some("den"),
            key: None,
        };
        // den: 2 of 3 (the fullest, but private); b and c: 1 of 3; a: open and empty.
        let mut held = vec![
            reserve(&rooms, den, "u1").unwrap(),
            rooms.reserve(into_den, "u2", &invited).unwrap(),
            sit(&rooms, "c", "u3"),
            sit(&rooms, "b", "u4"),
        ];
        drop(sit(&rooms, "a", "u5"));
        let chosen: Vec<String> = (0..8)
            .map(|i| {
                let reserved = quick_join(&rooms, &format!("q{i}")).unwrap();
                let room = name(&reserved).to_owned();
                held.push(reserved);
                room
            })
            .collect();
        // b before c at a tie (by name), each filled before the next; a new room last.
        assert_eq!(chosen, ["b", "b", "c", "c", "a", "a", "a", "quick-1"]);
    }

    #[test]
    fn quick_join_opens_a_room_of_its_own_when_every_public_room_is_full() {
        let rooms = rooms(1);
        let _a = sit(&rooms, "a", "u1");
        let quick = quick_join(&rooms, "u2").unwrap();
        assert_eq!(name(&quick), "quick-1");
        assert!(quick.opened.is_some(), "for the caller to start");
        assert_eq!(name(&quick_join(&rooms, "u3").unwrap()), "quick-2");
    }

    /// Quick-join names its rooms `quick-N` by a counter of its own; a room a client
    /// created (or joined by name) as `quick-1` must not be replaced in the registry by the
    /// next room quick-join opens, or the registry would forget it while it runs.
    #[test]
    fn quick_join_never_opens_a_room_over_one_that_has_its_name() {
        let rooms = rooms(4);
        let _den = reserve(&rooms, create_private("quick-1"), "owner").unwrap();
        let quick = quick_join(&rooms, "player").unwrap();
        assert_ne!(name(&quick), "quick-1", "a room under a name of its own");
        assert_eq!(rooms.list().len(), 2, "both rooms: {:?}", rooms.list());
    }

    #[test]
    fn a_cluster_nodes_quick_rooms_carry_its_name_and_one_counter() {
        let rooms = rooms(1).of_node("n2");
        let _a = sit(&rooms, "a", "u1");
        assert_eq!(name(&quick_join(&rooms, "u2").unwrap()), "quick-n2-1");
        // The cluster's router takes names from the same counter, past open rooms.
        let _taken = sit(&rooms, "quick-n2-3", "u3");
        assert_eq!(rooms.quick_room_name(), "quick-n2-2");
        assert_eq!(rooms.quick_room_name(), "quick-n2-4");
    }

    #[test]
    fn a_full_room_refuses_a_seat_until_a_reservation_is_given_back() {
        let rooms = rooms(2);
        let first = sit(&rooms, "r", "u1");
        let _second = sit(&rooms, "r", "u2");
        let join = Request::Join {
            room: Some("r"),
            key: None,
        };
        assert_eq!(
            reserve(&rooms, join, "u3").err(),
            Some(JoinRefused::Full("r".into()))
        );
        drop(first);
        let third = reserve(&rooms, join, "u3").expect("the dropped seat is free again");
        // A filled seat is the room's to give back, when its player leaves.
        third.seat.fill();
        assert!(reserve(&rooms, join, "u4").is_err());
        rooms.get("r").unwrap().shared.release_seat();
        assert!(reserve(&rooms, join, "u4").is_ok());
    }

    #[test]
    fn a_seated_user_may_take_its_seat_over_in_a_full_room() {
        let rooms = rooms(1);
        let seated = sit(&rooms, "r", "alice");
        seated.seat.fill();
        let shared = Arc::clone(&rooms.get("r").unwrap().shared);
        shared.user_seated("alice");
        let join = Request::Join {
            room: Some("r"),
            key: None,
        };
        assert!(matches!(
            reserve(&rooms, join, "bob"),
            Err(JoinRefused::Full(_))
        ));
        assert!(reserve(&rooms, join, "alice").is_ok(), "her own seat");
        shared.user_left("alice");
        assert!(matches!(
            reserve(&rooms, join, "alice"),
            Err(JoinRefused::Full(_))
        ));
    }

    #[test]
    fn a_room_closes_only_with_no_seat_taken_and_its_name_opens_a_new_one() {
        let rooms = rooms(4);
        let held = sit(&rooms, "r", "u1");
        assert!(!rooms.close_if_empty("r"), "a reservation holds it open");
        drop(held);
        assert!(rooms.close_if_empty("r"));
        assert!(rooms.list().is_empty());
        assert!(sit(&rooms, "r", "u1").opened.is_some(), "a new room");
    }

    #[test]
    fn room_names_follow_the_rule() {
        for ok in ["a", "lobby-1", "A.b_c", &"x".repeat(32)] {
            assert!(valid_room_name(ok), "{ok}");
        }
        for bad in ["", " ", "a b", "ü", "x/y", &"x".repeat(33), "\n"] {
            assert!(!valid_room_name(bad), "{bad:?}");
        }
    }
}
