//! The messages themselves: what a client may say, what the server answers.
//!
//! Field order is wire order: every body is encoded as a MessagePack array of its fields,
//! top to bottom, so reordering fields here changes the protocol (the golden vectors in
//! `tests/golden.rs` fail when that happens).

use serde::{Deserialize, Serialize};

use crate::entity::{Entity, GameEvent};
use crate::schema::{EntityId, Schema};

/// A player's id, unique on this server for the life of the process.
pub type PlayerId = u32;

/// Client to server, type 0: the first message on every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal [`crate::PROTOCOL_VERSION`].
    pub version: u16,
    /// Shown to other players; 1 to 32 characters, no control characters.
    pub name: String,
}

/// Client to server, type 1: join a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    /// The room's name, or `None` for quick-join: any public room with space, created on
    /// demand. A named public room that does not exist is opened.
    pub room: Option<String>,
    /// The key of a private room; `None` for public rooms, or when the token names the room.
    pub key: Option<String>,
}

/// Client to server, type 2: leave the current room (the connection stays open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leave {}

/// Client to server, type 3: what the player wants to do this tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Increases with every input (by one, as a rule; start at 1, since an ack of 0 means
    /// none); older or repeated numbers are ignored.
    pub seq: u32,
    /// The tick of the snapshot the client was showing when the player acted (0: none
    /// yet). A game that compensates for lag judges the input against the world as it
    /// was then, within a bound.
    pub view_tick: u64,
    /// One value per input field of the game's schema, in order.
    pub values: Vec<InputValue>,
}

/// One input value as sent, before the schema checks it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputValue {
    /// An integer (for `int` and `enum` fields; `float` and `angle` fields take it too).
    Int(i64),
    /// A float, 32 or 64 bits (for `float` and `angle` fields).
    Float(f64),
    /// A boolean (for `bool` fields).
    Bool(bool),
}

impl Serialize for InputValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            InputValue::Int(v) => s.serialize_i64(v),
            InputValue::Float(v) => s.serialize_f64(v),
            InputValue::Bool(v) => s.serialize_bool(v),
        }
    }
}

impl<'de> Deserialize<'de> for InputValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = InputValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, a float or a boolean")
            }
            fn visit_i64<E>(self, v: i64) -> Result<InputValue, E> {
                Ok(InputValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<InputValue, E> {
                i64::try_from(v)
                    .map(InputValue::Int)
                    .map_err(|_| E::custom("integer beyond i64"))
            }
            fn visit_f32<E>(self, v: f32) -> Result<InputValue, E> {
                Ok(InputValue::Float(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<InputValue, E> {
                Ok(InputValue::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<InputValue, E> {
                Ok(InputValue::Bool(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Client to server, type 5: open a room (public or private) and join it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Create {
    /// The new room's name; refused with `ROOM_EXISTS` when taken.
    pub room: String,
    /// A private room is left out of quick-join and needs its key (or a token naming it).
    pub private: bool,
    /// The key others join a private room with; `None` admits only users whose token
    /// names the room.
    pub key: Option<String>,
    /// Seats, at most the server's room size; `None` for the server's room size.
    pub capacity: Option<u32>,
}

/// Client to server, type 6: the first message of a reconnecting client, instead of
/// `Hello`: take the same player (and its seat) back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The newest resume token the server gave this player.
    pub token: String,
}

/// Chat text as sent: meant to be UTF-8, but kept as bytes until checked, so that a
/// message that is not UTF-8 can be refused by its id rather than as a malformed frame.
/// Written as a MessagePack str when it is UTF-8, as bin otherwise; read from either.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatText(pub Vec<u8>);

impl Serialize for ChatText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for ChatText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ChatText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or bytes")
            }
            fn visit_str<E>(self, v: &str) -> Result<ChatText, E> {
                Ok(ChatText(v.as_bytes().to_vec()))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<ChatText, E> {
                Ok(ChatText(v.to_vec()))
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}

impl From<&str> for ChatText {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }
}

/// Client to server, type 7: a chat message to everyone in the client's room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    /// The client's own id for this message, echoed in the `ChatAck`.
    pub id: u32,
    /// The text: UTF-8, 1 to 256 bytes.
    pub text: ChatText,
}

/// Client to server, type 8: watch a room without playing in it: no seat, no entity, no
/// inputs. Answered with `Joined`, then the room's snapshots, every entity in view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// The room's name; it must exist (watching opens no room).
    pub room: String,
    /// The key of a private room; `None` for public rooms, or when the token names the room.
    pub key: Option<String>,
}

/// Client to server, type 9: take the seat a [`Redirect`]'s ticket reserved on this node.
/// Sent after `Hello`, instead of `Join`; answered like a join, with `Joined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The ticket, as the redirect carried it: opaque, single use, valid for seconds.
    pub ticket: String,
}

/// Client to server, type 4: a round-trip probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    /// Any value of the client's clock; echoed back unchanged in the pong.
    pub client_time: f64,
}

/// Server to client, type 0: the answer to a valid hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// This connection's player id, as it appears in snapshots.
    pub player_id: PlayerId,
    /// Simulation ticks per second (snapshots go out once every `--send-every` ticks).
    pub tick_rate: u16,
    /// The server's protocol version.
    pub protocol_version: u16,
    /// Presents this in a `Resume` to take the player back after a lost connection. Single
    /// use: each `Resumed` carries the next one.
    pub resume_token: String,
    /// The user this connection is: the token's subject, or `anon-<player id>` when the
    /// server runs without authentication.
    pub user_id: String,
}

/// A player as others see them when they arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerInfo {
    /// The player's id.
    pub id: PlayerId,
    /// The player's display name.
    pub name: String,
}

/// Server to client, type 1: the answer to a join that succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    /// The room's name (generated for quick-join rooms).
    pub room: String,
    /// Everyone already in the room, not counting the joiner.
    pub players: Vec<PlayerInfo>,
    /// The room's game: how to read its snapshots and events, and what its inputs carry.
    pub schema: Schema,
}

/// Server to client, type 2: the room's state after a tick, as a keyframe (`base_tick` is
/// `None`: the whole state) or as the changes since the snapshot of `base_tick` that this
/// client received. See PROTOCOL.md for how a client applies one, and [`crate::Replica`]
/// for a client that does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The room's simulation tick this state is from.
    pub tick: u64,
    /// The tick of the snapshot this one changes, or `None` for a keyframe.
    pub base_tick: Option<u64>,
    /// The server's wall clock when the snapshot was made, in milliseconds since the Unix epoch.
    pub server_time_ms: u64,
    /// [`crate::state_hash`] of the whole state the client holds once this is applied.
    pub state_hash: u32,
    /// The newest input sequence number the server has applied for this client's player
    /// (0: none): the acknowledgement, written by the room.
    pub ack: u32,
    /// Entities of the base that are gone (despawned, or out of view).
    pub removed: Vec<EntityId>,
    /// Entities that are new (spawned, or came into view), whole; in a keyframe, everyone.
    pub added: Vec<Entity>,
    /// The bit-packed changes of every entity of the base that is not removed, in the
    /// base's order (PROTOCOL.md, "Change records"); empty in a keyframe.
    #[serde(with = "serde_bytes")]
    pub changes: Vec<u8>,
}

impl Snapshot {
    /// A keyframe of `entities` (in that order) at `tick`, with its state hash.
    pub fn keyframe(tick: u64, server_time_ms: u64, ack: u32, entities: Vec<Entity>) -> Self {
        Self {
            tick,
            base_tick: None,
            server_time_ms,
            state_hash: crate::state_hash(&entities),
            ack,
            removed: Vec::new(),
            added: entities,
            changes: Vec::new(),
        }
    }

    /// True when this snapshot needs no base.
    pub fn is_keyframe(&self) -> bool {
        self.base_tick.is_none()
    }
}

/// Server to client, type 3: the answer to a ping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// The ping's `client_time`, unchanged.
    pub client_time: f64,
    /// The tick of the client's room when the ping was answered (0 outside a room).
    pub server_tick: u64,
}

/// Why a request failed; a plain `u16` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The frame is not valid MessagePack or not a `[type, body]` array of the right shape.
    pub const MALFORMED: Self = Self(1);
    /// The message type is not one this server knows.
    pub const UNKNOWN_TYPE: Self = Self(2);
    /// The message is well formed but a value is out of range (a NaN, a bad name, a
    /// capacity, ...).
    pub const INVALID_VALUE: Self = Self(3);
    /// The hello's protocol version is not the server's; the connection is closed.
    pub const VERSION_MISMATCH: Self = Self(4);
    /// The message needs a hello first, or a second hello (or a resume after hello) was sent.
    pub const BAD_STATE: Self = Self(5);
    /// Leave or input was sent outside a room, or join or create inside one.
    pub const NOT_IN_ROOM: Self = Self(6);
    /// The named room has no space.
    pub const ROOM_FULL: Self = Self(7);
    /// The server cannot take the request now (too many rooms, shutting down).
    pub const UNAVAILABLE: Self = Self(8);
    /// A join named a private room that does not exist.
    pub const NOT_FOUND: Self = Self(9);
    /// The room is private and neither the key nor the token admits this user.
    pub const ACCESS_DENIED: Self = Self(10);
    /// A create named a room that exists already.
    pub const ROOM_EXISTS: Self = Self(11);
    /// The resume token is unknown, used already, another user's, or its grace period (or
    /// its room) is over.
    pub const RESUME_REFUSED: Self = Self(12);
}

/// Server to client, type 4: a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The type of the client message this answers, or `None` when it could not be read.
    pub in_reply_to: Option<u8>,
}

/// Server to client, type 5: someone joined the client's room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerJoined {
    /// The newcomer's id.
    pub id: PlayerId,
    /// The newcomer's display name.
    pub name: String,
}

/// Server to client, type 6: someone left the client's room (or lost their connection
/// and did not come back within the resume grace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerLeft {
    /// The player who left.
    pub id: PlayerId,
    /// Their display name.
    pub name: String,
}

/// Server to client, type 7: the answer to a `Resume` that succeeded. A keyframe follows
/// with the room's next snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    /// The same player id as before.
    pub player_id: PlayerId,
    /// The room the player is back in, or `None` when it was not in one.
    pub room: Option<String>,
    /// Everyone else in that room.
    pub players: Vec<PlayerInfo>,
    /// The token for the next resume; the one just used is spent.
    pub resume_token: String,
    /// The room's game, as in `Joined`; `None` when not in a room.
    pub schema: Option<Schema>,
}

/// Server to client, type 10: what happened in the room since the previous snapshot, in
/// the order it happened; sent reliably, just before the snapshot of `tick` (or, when that
/// snapshot is dropped for a slow client, before the next one it gets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Events {
    /// The tick whose snapshot shows the events' outcome.
    pub tick: u64,
    /// The events, each `[kind, value...]` as the schema's event kinds say.
    pub events: Vec<GameEvent>,
}

/// Server to client, type 8: the answer to a `Chat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatAck {
    /// The client's id of the message.
    pub id: u32,
    /// The server's id of the accepted message (increasing per room), or 0 when refused.
    pub server_id: u64,
    /// The server's clock when it accepted the message, in ms since the Unix epoch (0 when
    /// refused).
    pub time_ms: u64,
    /// `None` when accepted; otherwise why not: `too_long`, `empty`, `not_utf8`,
    /// `rate_limited` or `not_in_room`.
    pub refused: Option<String>,
}

/// Server to client, type 9: a chat message in the client's room (the client's own
/// included), in the room's one order; also the room's recent history after `Joined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The room's id of the message, increasing by one.
    pub server_id: u64,
    /// The sender's player id.
    pub from: PlayerId,
    /// The sender's display name.
    pub name: String,
    /// The text (UTF-8).
    pub text: String,
    /// When the server accepted it, in ms since the Unix epoch.
    pub time_ms: u64,
}

/// Server to client, type 11: go to another node of the cluster. Sent in reply to a
/// `Join`, `Create`, `Watch` or `Resume` whose room lives on another node, and, with
/// `in_reply_to` `None`, to every member of a room whose node is shutting down. The
/// server closes the connection (1000, or 1001 when shutting down) after sending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// The other node's WebSocket URL, to connect to as to any node.
    pub url: String,
    /// The room the client is sent to, or `None` when it should pick one anew.
    pub room: Option<String>,
    /// With a seat reserved there: send `Claim { ticket }` after `Hello`. Without one:
    /// send the request again (the same `Watch` or `Resume`), or quick-join.
    pub ticket: Option<String>,
    /// The type of the request this answers, or `None` when the node asks its clients
    /// to move.
    pub in_reply_to: Option<u8>,
}

/// Server to client, type 12: a notice from the operator, not from a player: to this one
/// user, or to everyone on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The text (UTF-8).
    pub text: String,
    /// True when it went to everyone, false when to this user alone.
    pub to_all: bool,
    /// When the server sent it, in ms since the Unix epoch.
    pub time_ms: u64,
}

/// Everything a client may send.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // each variant is its body type, documented there
pub enum ClientMsg {
    Hello(Hello),
    Join(Join),
    Leave(Leave),
    Input(Input),
    Ping(Ping),
    Create(Create),
    Resume(Resume),
    Chat(Chat),
    Watch(Watch),
    Claim(Claim),
}

/// Everything the server may send.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // each variant is its body type, documented there
pub enum ServerMsg {
    Welcome(Welcome),
    Joined(Joined),
    Snapshot(Snapshot),
    Pong(Pong),
    Error(Error),
    PlayerJoined(PlayerJoined),
    PlayerLeft(PlayerLeft),
    Resumed(Resumed),
    ChatAck(ChatAck),
    ChatMessage(ChatMessage),
    Events(Events),
    Redirect(Redirect),
    Notice(Notice),
}
