//! Match recording and replay: the proof that a room is deterministic.
//!
//! With `--record DIR`, every room writes what its game was told (admitted inputs, joins,
//! leaves and drops) and the world hash after every tick, in segments of bounded size, each
//! starting from the game's saved world ([`format`]). The room makes its records in memory
//! ([`Tape`], inside its core, no I/O); its driver hands them to one writer thread
//! ([`writer`]), which writes one file per segment and keeps the newest few per room.
//! `tickwire-server replay FILE` ([`replay`]) runs the game again on the records, offline
//! and on virtual time, and checks every tick's hash.

pub mod format;
pub mod replay;
mod tape;
pub mod writer;

pub use tape::{Chunk, Tape};
