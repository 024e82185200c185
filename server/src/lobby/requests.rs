//! The lobby's answers: what a client that is not in a room may ask (hello, resume, join,
//! create, ping), decided without I/O.
//!
//! [`Lobby::on_frame`] takes one frame and the client's state and answers in its outbox;
//! a request that takes the client into a room comes back as an [`Entry`] for the caller
//! to carry out (the lobby task sends the client to the room's task; the test harness
//! hands it to an in-memory room). Out-of-place requests are refused from the same table
//! the rooms use ([`crate::stage`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use tickwire_shared::{
    Claim, ClientMsg, Create, ErrorCode, Hello, Join, Message as _, PROTOCOL_VERSION, PlayerId,
    PlayerInfo, Pong, Resume, Resumed, Watch, Welcome, encode,
};

use crate::auth::valid_display_name;
use crate::cluster::tickets::Tickets;
use crate::inbound::Inbound;
use crate::metrics::{CloseCause, Metrics};
use crate::outbox::{CLOSE_PROTOCOL, Close};
use crate::peer::Peer;
use crate::rooms::{JoinRefused, Request, Reserved, RoomHandle, Rooms};
use crate::sessions::Sessions;
use crate::stage::{self, Stage};
use crate::transport::Frame;

/// The close for a hello with a protocol version this server does not speak.
pub const VERSION_MISMATCH: Close = Close {
    code: Some(CLOSE_PROTOCOL),
    reason: "protocol version mismatch",
    cause: CloseCause::BadInput,
};

/// A way into a room that a request opened.
#[derive(Debug)]
pub enum Entry {
    /// A join or create: a seat is reserved (and the room opened, when it was new).
    Join {
        /// The seat, the room, and the room to start if it is new.
        reserved: Reserved,
        /// The kind of the request, for the error if the room cannot take the client.
        kind: u8,
    },
    /// A redeemed resume of a player that was in `room`.
    Resume {
        /// The room the player was in.
        room: RoomHandle,
        /// Its next resume token, for the room's `Resumed`.
        token: String,
    },
    /// A watch of `room`: no seat is taken.
    Watch {
        /// The room to watch.
        room: RoomHandle,
    },
}

/// What becomes of a lobby client after one frame.
#[derive(Debug)]
pub enum Outcome {
    /// Answered (or refused) in the client's outbox; it stays in the lobby.
    Stay,
    /// The client goes into a room.
    Enter(Entry),
    /// The connection is closing: its close is queued (the client closed, broke a rule, or
    /// spoke a protocol version this server does not).
    Close,
    /// The connection is gone.
    Ended,
    /// The request may concern another node of the cluster: the caller asks the
    /// directory (`cluster::route`), which answers in the client's outbox or enters a room.
    Route(Route),
}

/// A request that needs the cluster's directory to be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A join of a room not on this node, or a quick-join.
    Join {
        /// The room, or `None` for quick-join.
        room: Option<String>,
        /// The key of a private room.
        key: Option<String>,
    },
    /// A new room: its name must be free on every node.
    Create {
        /// Its name.
        room: String,
        /// Left out of quick-join.
        private: bool,
        /// The key to a private room.
        key: Option<String>,
        /// Seats; `None` for the server's room size.
        capacity: Option<u32>,
    },
    /// A watch of a room not on this node.
    Watch {
        /// The room.
        room: String,
        /// The key of a private room.
        key: Option<String>,
    },
    /// A resume with a token another node issued.
    Resume {
        /// The node that issued it.
        node: String,
    },
}

/// What every lobby shares: the registry, the sessions, and the player ids.
#[derive(Debug)]
pub struct Lobby {
    rooms: Arc<Rooms>,
    sessions: Arc<Sessions>,
    metrics: Arc<Metrics>,
    /// The tick rate every `Welcome` announces.
    tick_rate: u16,
    next_player_id: AtomicU32,
    /// In cluster mode: the seats this node reserved for clients other nodes send here.
    tickets: Option<Arc<Tickets>>,
}

impl Lobby {
    /// A lobby in front of `rooms`, keeping `sessions`, announcing `tick_rate`, counting
    /// into `metrics`.
    pub fn new(
        rooms: Arc<Rooms>,
        sessions: Arc<Sessions>,
        metrics: Arc<Metrics>,
        tick_rate: u16,
    ) -> Self {
        Self {
            rooms,
            sessions,
            metrics,
            tick_rate,
            next_player_id: AtomicU32::new(1),
            tickets: None,
        }
    }

    /// The lobby of a node in a cluster, which honours the seat tickets in `tickets` and
    /// routes what concerns other nodes.
    #[must_use]
    pub fn in_cluster(mut self, tickets: Arc<Tickets>) -> Self {
        self.tickets = Some(tickets);
        self
    }

    /// This node's id, in cluster mode.
    fn node(&self) -> Option<&str> {
        self.tickets.as_deref().map(Tickets::node)
    }

    /// A player id not given out before by this lobby (ids start at 1).
    fn new_player_id(&self) -> PlayerId {
        self.next_player_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A lobby connection is over at `now`: a player that went without a goodbye keeps its
    /// session for the resume grace; one that closed cleanly, or broke a rule, has none.
    pub fn depart(&self, peer: &Peer, now: Instant) {
        let Some(player) = peer.player() else {
            return;
        };
        if peer.connection_lost() {
            self.sessions.connection_lost(player.id, now);
        } else {
            self.sessions.end(player.id);
        }
    }

    /// Judges and answers one frame from `peer` that arrived at `now`.
    pub fn on_frame(&self, peer: &mut Peer, frame: Frame, now: Instant) -> Outcome {
        match peer.on_frame(frame, now) {
            Inbound::Request(msg) => match self.handle(peer, msg, now) {
                Outcome::Stay if peer.is_closing() => Outcome::Close,
                outcome => outcome,
            },
            Inbound::Malformed(err) => {
                self.metrics.frames_malformed.inc();
                peer.span()
                    .in_scope(|| tracing::debug!(cause = %err, "malformed frame"));
                peer.error(err.code(), err.to_string(), err.kind());
                Outcome::Stay
            }
            Inbound::Close(_) => Outcome::Close,
            Inbound::Ended => Outcome::Ended,
            Inbound::Dropped(_) | Inbound::Control => Outcome::Stay,
        }
    }

    /// Answers one request from `peer`, at `now`.
    fn handle(&self, peer: &mut Peer, msg: ClientMsg, now: Instant) -> Outcome {
        let stage = match peer.player() {
            Some(_) => Stage::Greeted,
            None => Stage::Connected,
        };
        if let Err(why) = stage::check(stage, &msg) {
            stage::refuse(peer, &msg, why);
            return Outcome::Stay;
        }
        match msg {
            ClientMsg::Hello(hello) => self.hello(peer, hello, now),
            ClientMsg::Resume(resume) => return self.resume(peer, &resume, now),
            ClientMsg::Join(join) if self.routes(join.room.as_deref()) => {
                return Outcome::Route(Route::Join {
                    room: join.room,
                    key: join.key,
                });
            }
            ClientMsg::Create(create) if self.tickets.is_some() => {
                return Outcome::Route(Route::Create {
                    room: create.room,
                    private: create.private,
                    key: create.key,
                    capacity: create.capacity,
                });
            }
            ClientMsg::Watch(watch) if self.routes(Some(&watch.room)) => {
                return Outcome::Route(Route::Watch {
                    room: watch.room,
                    key: watch.key,
                });
            }
            ClientMsg::Claim(claim) => return self.claim(peer, &claim, now),
            ClientMsg::Join(join) => {
                let request = Request::Join {
                    room: join.room.as_deref(),
                    key: join.key.as_deref(),
                };
                return self.enter(peer, request, Join::KIND);
            }
            ClientMsg::Create(create) => {
                let request = Request::Create {
                    room: &create.room,
                    private: create.private,
                    key: create.key.as_deref(),
                    capacity: create.capacity,
                };
                return self.enter(peer, request, Create::KIND);
            }
            ClientMsg::Watch(watch) => {
                return self.watch(peer, &watch.room, watch.key.as_deref());
            }
            ClientMsg::Ping(ping) => {
                peer.send(encode(&Pong {
                    client_time: ping.client_time,
                    server_tick: 0,
                }));
            }
            // The stage table refuses these outside a room.
            ClientMsg::Input(_) | ClientMsg::Leave(_) | ClientMsg::Chat(_) => {}
        }
        Outcome::Stay
    }

    /// In cluster mode, a join or watch of `room` goes to the directory unless the room is
    /// here: quick-joins always do (the fullest room may be anywhere).
    fn routes(&self, room: Option<&str>) -> bool {
        self.tickets.is_some() && room.is_none_or(|name| self.rooms.get(name).is_none())
    }

    /// Takes the seat a redirect's ticket reserved here.
    fn claim(&self, peer: &mut Peer, claim: &Claim, now: Instant) -> Outcome {
        let kind = Some(Claim::KIND);
        let Some(tickets) = &self.tickets else {
            peer.error(
                ErrorCode::BAD_STATE,
                "this server is not in a cluster: it issues no tickets",
                kind,
            );
            return Outcome::Stay;
        };
        match tickets.redeem(&claim.ticket, peer.identity().user_id.as_deref(), now) {
            Ok(reserved) => {
                peer.span().in_scope(
                    || tracing::debug!(room = %reserved.room.shared.name, "claimed a seat"),
                );
                Outcome::Enter(Entry::Join {
                    reserved,
                    kind: Claim::KIND,
                })
            }
            Err(refused) => {
                peer.error(ErrorCode::INVALID_VALUE, refused.to_string(), kind);
                Outcome::Stay
            }
        }
    }

    fn hello(&self, peer: &mut Peer, hello: Hello, now: Instant) {
        let kind = Some(Hello::KIND);
        if hello.version != PROTOCOL_VERSION {
            peer.error(
                ErrorCode::VERSION_MISMATCH,
                format!(
                    "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
                    hello.version
                ),
                kind,
            );
            peer.close(VERSION_MISMATCH);
            return;
        }
        // With a token, its name is the player's; the hello's is for anonymous players.
        let name = match peer.identity().name.clone() {
            Some(name) => name,
            None if valid_display_name(&hello.name) => hello.name,
            None => {
                peer.error(
                    ErrorCode::INVALID_VALUE,
                    "names are 1 to 32 characters with no control characters",
                    kind,
                );
                return;
            }
        };
        let player = PlayerInfo {
            id: self.new_player_id(),
            name,
        };
        peer.set_player(player.clone());
        let user_id = peer.user_id();
        let resume_token = self.sessions.open(player.clone(), user_id.clone(), now);
        peer.send(encode(&Welcome {
            player_id: player.id,
            tick_rate: self.tick_rate,
            protocol_version: PROTOCOL_VERSION,
            resume_token,
            user_id,
        }));
    }

    /// Takes a lost player back: into its room (which answers), or, if it was in none,
    /// right here. A refused resume leaves the connection as it was, before hello.
    fn resume(&self, peer: &mut Peer, resume: &Resume, now: Instant) -> Outcome {
        let kind = Some(Resume::KIND);
        if let Some(me) = self.node() {
            match crate::sessions::token_node(&resume.token) {
                Some(node) if node != me => {
                    return Outcome::Route(Route::Resume {
                        node: node.to_owned(),
                    });
                }
                _ => {}
            }
        }
        let user = peer.identity().user_id.clone();
        let ticket = match self.sessions.redeem(&resume.token, user.as_deref(), now) {
            Ok(ticket) => ticket,
            Err(refused) => {
                peer.span()
                    .in_scope(|| tracing::debug!(%refused, "resume refused"));
                peer.error(ErrorCode::RESUME_REFUSED, refused.to_string(), kind);
                return Outcome::Stay;
            }
        };
        peer.set_player(ticket.player.clone());
        let Some(room_name) = ticket.room else {
            peer.send(encode(&Resumed {
                player_id: ticket.player.id,
                room: None,
                players: Vec::new(),
                resume_token: ticket.token,
                schema: None,
            }));
            return Outcome::Stay;
        };
        let Some(room) = self.rooms.get(&room_name) else {
            // The room closed: its players' sessions ended with it.
            self.sessions.end(ticket.player.id);
            peer.clear_player(now);
            peer.error(ErrorCode::RESUME_REFUSED, "the room is gone", kind);
            return Outcome::Stay;
        };
        Outcome::Enter(Entry::Resume {
            room,
            token: ticket.token,
        })
    }

    /// Finds the room a watch asks for, or refuses it with the reason.
    fn watch(&self, peer: &mut Peer, room: &str, key: Option<&str>) -> Outcome {
        match self.rooms.watch(room, key, peer.identity()) {
            Ok(room) => {
                peer.span()
                    .in_scope(|| tracing::debug!(room = %room.shared.name, "watching room"));
                Outcome::Enter(Entry::Watch { room })
            }
            Err(refused) => {
                peer.error(
                    refusal_code(&refused),
                    refused.to_string(),
                    Some(Watch::KIND),
                );
                Outcome::Stay
            }
        }
    }

    /// Reserves the seat a join or create asks for, or refuses it with the reason.
    fn enter(&self, peer: &mut Peer, request: Request<'_>, kind: u8) -> Outcome {
        let user = peer.user_id();
        match self.rooms.reserve(request, &user, peer.identity()) {
            Ok(reserved) => {
                peer.span().in_scope(
                    || tracing::debug!(room = %reserved.room.shared.name, "joining room"),
                );
                Outcome::Enter(Entry::Join { reserved, kind })
            }
            Err(refused) => {
                peer.error(refusal_code(&refused), refused.to_string(), Some(kind));
                Outcome::Stay
            }
        }
    }
}

/// The error code a refused join, create or watch is answered with.
pub fn refusal_code(refused: &JoinRefused) -> ErrorCode {
    match refused {
        JoinRefused::Full(_) => ErrorCode::ROOM_FULL,
        JoinRefused::BadName | JoinRefused::BadCapacity(_) => ErrorCode::INVALID_VALUE,
        JoinRefused::TooManyRooms => ErrorCode::UNAVAILABLE,
        JoinRefused::NotFound(_) => ErrorCode::NOT_FOUND,
        JoinRefused::AccessDenied(_) => ErrorCode::ACCESS_DENIED,
        JoinRefused::Exists(_) => ErrorCode::ROOM_EXISTS,
    }
}
