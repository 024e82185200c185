//! Tickwire's wire: the messages a client and the server exchange, and their codec.
//!
//! Every message travels in one binary WebSocket frame as a MessagePack array
//! `[type, body]`, where `type` is a small unsigned integer and `body` is the message's
//! fields as a MessagePack array in declaration order (see `PROTOCOL.md`). This crate has
//! no runtime and no sockets, so the server, the bot swarm, the benches and any Rust client
//! share one definition of the wire.
//!
//! ```
//! use tickwire_shared::{ClientMsg, Input, InputValue, encode_client};
//!
//! let input = Input { seq: 7, view_tick: 0, values: vec![InputValue::Float(1.0)] };
//! let frame = encode_client(&ClientMsg::Input(input.clone()));
//! assert_eq!(ClientMsg::decode(&frame).unwrap(), ClientMsg::Input(input));
//! ```

pub mod changes;
mod codec;
mod entity;
mod messages;
mod replica;
pub mod schema;
mod state_hash;
pub mod wire_snapshot;

pub use codec::{DecodeError, Message, encode, encode_client, encode_server};
pub use entity::{Entity, GameEvent, Value};
pub use messages::*;
pub use replica::{Replica, ReplicaError};
pub use schema::{EntityId, KindId, Schema};
pub use state_hash::{StateHasher, entity_hash, state_hash};

/// The protocol version this build speaks; a hello with any other version is refused.
pub const PROTOCOL_VERSION: u16 = 4;
