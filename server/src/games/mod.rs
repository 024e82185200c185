//! The games that come with Tickwire, each a module of its own on the game API
//! ([`crate::game`]) and a line in [`crate::registry::GAMES`].

pub mod arena;
pub mod shooter;
pub mod tag;
