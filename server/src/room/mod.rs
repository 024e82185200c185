//! A room: the fixed-timestep game a group of players share.
//!
//! Two halves (ARCHITECTURE.md draws them): [`RoomCore`], the room as a state machine with
//! no I/O (members, away players, chat, sequence filters, the game, the schedule and the
//! snapshot encoder; time and frames in, bytes and [`Event`]s out), and [`driver::run`],
//! the task that runs a core on real sockets and the wall clock. [`RoomRules`] say how a
//! room runs; the listener builds them once from the server's settings.

mod core;
pub mod driver;
mod event;
mod links;
mod member;
mod rules;
mod sim;

pub use core::{REPLACED, RoomCore, TAKEN_OVER};
pub use driver::{RoomEnv, run};
pub use event::{Event, Next};
pub use links::Links;
pub use member::MemberKey;
pub use rules::{ChatRules, RoomRules};
pub use sim::Sim;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod watch_tests;
