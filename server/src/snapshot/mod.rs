//! Snapshots: what each client is sent of its room's state after a tick.
//!
//! Each sent tick becomes one [`Frame`] of pieces encoded once, and each client gets a
//! keyframe or a delta put together from them ([`SnapshotEncoder`]), limited to what it
//! sees when the room has a view radius ([`interest`]). The wire format is in
//! `tickwire_shared` and PROTOCOL.md.

mod encoder;
mod frame;
pub mod interest;

pub use encoder::{EncoderRules, SnapshotEncoder, SnapshotKind};
pub use frame::Frame;
pub use interest::ClientView;
