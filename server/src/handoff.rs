//! Where a client or a room goes next: what the lobby and the rooms ask of the listener,
//! the one place that starts tasks.
//!
//! A room hands a leaver back to the lobby and a closing client to a closing task; a lobby
//! that opened a room hands it over to be run. None of them spawns: each sends a
//! [`Handoff`] and goes on, so the task graph has one root, and the rooms need not know
//! the lobby or the listener.

use tokio::sync::mpsc;

use crate::client::Client;
use crate::rooms::NewRoom;

/// A task to start.
#[derive(Debug)]
pub enum Handoff {
    /// Serve this client in the lobby.
    Lobby(Client),
    /// Close this client (its close is queued) and wait for the peer within the grace.
    Close(Client),
    /// Run this room.
    Room(NewRoom),
}

/// The sending side of the listener's handoff queue; cloned into every task that hands on.
#[derive(Debug, Clone)]
pub struct Handoffs {
    tx: mpsc::Sender<Handoff>,
}

impl Handoffs {
    /// A queue of `capacity` handoffs and its receiving end, for the listener.
    ///
    /// Every handoff carries a connection or a room, and each exists once, so a capacity of
    /// the most connections plus the most rooms can never fill: the queue is bounded
    /// without ever refusing one.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<Handoff>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Self { tx }, rx)
    }

    /// Sends `client` back to the lobby.
    pub fn to_lobby(&self, client: Client) {
        self.send(Handoff::Lobby(client));
    }

    /// Has `client` closed.
    pub fn close(&self, client: Client) {
        self.send(Handoff::Close(client));
    }

    /// Has `room` run.
    pub fn open_room(&self, room: NewRoom) {
        self.send(Handoff::Room(room));
    }

    fn send(&self, handoff: Handoff) {
        // Only a listener that has stopped refuses: the server is going down, and what is
        // dropped here (a client, counted as it closes, or a room never run) goes with it.
        if let Err(err) = self.tx.try_send(handoff) {
            tracing::debug!(cause = %err, "the listener took no more handoffs");
        }
    }
}
