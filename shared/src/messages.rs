//! The messages themselves: what a client may say, what the server answers.
//!
//! Field order is wire order: every body is encoded as a MessagePack array of its fields,
//! top to bottom, so reordering fields here changes the protocol (the golden vectors in
//! `tests/golden.rs` fail when that happens).

use serde::{Deserialize, Serialize};

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
    /// The room's name, or `None` for quick-join: any room with space, created on demand.
    pub room: Option<String>,
}

/// Client to server, type 2: leave the current room (the connection stays open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leave {}

/// Client to server, type 3: what the player wants to do this tick.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Increases by one per input; older or repeated numbers are ignored.
    pub seq: u32,
    /// Wanted move direction; a longer vector than 1 is shortened to length 1.
    pub dir: [f32; 2],
    /// Where the player looks, in radians.
    pub facing: f32,
    /// Button bits, meaning defined by the game.
    pub buttons: u8,
}

/// Client to server, type 4: a round-trip probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    /// Any value of the client's clock; echoed back unchanged in the pong.
    pub client_time: f64,
}

/// Server to client, type 0: the answer to a valid hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// This connection's player id, as it appears in snapshots.
    pub player_id: PlayerId,
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// The server's protocol version.
    pub protocol_version: u16,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// The room's name (generated for quick-join rooms).
    pub room: String,
    /// Everyone already in the room, not counting the joiner.
    pub players: Vec<PlayerInfo>,
}

/// One player's state in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlayerState {
    /// The player's id.
    pub id: PlayerId,
    /// Position in world units.
    pub pos: [f32; 2],
    /// Velocity in world units per second.
    pub vel: [f32; 2],
    /// Facing in radians, in (-π, π].
    pub facing: f32,
    /// The newest input sequence number the server has applied for this player (0: none).
    pub last_input_seq: u32,
}

/// Server to client, type 2: the whole room after a tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The room's simulation tick this state is from.
    pub tick: u64,
    /// The server's wall clock when the snapshot was made, in milliseconds since the Unix epoch.
    pub server_time_ms: u64,
    /// Every player in the room.
    pub players: Vec<PlayerState>,
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
    /// The message is well formed but a value is out of range (a NaN, a bad name, ...).
    pub const INVALID_VALUE: Self = Self(3);
    /// The hello's protocol version is not the server's; the connection is closed.
    pub const VERSION_MISMATCH: Self = Self(4);
    /// The message needs a hello first, or a second hello was sent.
    pub const BAD_STATE: Self = Self(5);
    /// Leave or input was sent outside a room, or join inside one.
    pub const NOT_IN_ROOM: Self = Self(6);
    /// The named room has no space.
    pub const ROOM_FULL: Self = Self(7);
    /// The server cannot take the request now (too many rooms, shutting down).
    pub const UNAVAILABLE: Self = Self(8);
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

/// Server to client, type 6: someone left the client's room (or lost their connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerLeft {
    /// The player who left.
    pub id: PlayerId,
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
}
