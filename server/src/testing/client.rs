//! The client side of the harness: what one in-memory client received, as a real client
//! would read it.
//!
//! Every frame the server hands over is decoded, and every snapshot is applied to a real
//! [`Replica`] with its state hash checked: a snapshot that does not apply is a server bug,
//! and fails the test on the spot. Other messages wait in [`TestClient::inbox`] for the
//! test to take.

use std::collections::VecDeque;
use std::time::Instant;

use tickwire_shared::{PlayerId, Replica, Schema, ServerMsg};

/// One snapshot as the client took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotSeen {
    /// Its tick.
    pub tick: u64,
    /// The tick it is a delta against, `None` for a keyframe.
    pub base_tick: Option<u64>,
    /// When it arrived, on the harness's clock.
    pub at: Instant,
    /// The entities the client held after it.
    pub entities: usize,
    /// The newest of this client's inputs it acknowledged.
    pub acked: Option<u32>,
}

/// How a client's connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The server's close frame arrived, with this code and reason.
    Closed(u16, String),
    /// The server answered the client's own close.
    Answered,
    /// The server dropped the connection without a close: its socket was gone, or the
    /// client read nothing.
    Cut,
}

/// One in-memory client.
#[derive(Debug)]
pub struct TestClient {
    /// Its player id (0 before `Welcome` or `Resumed`).
    pub id: PlayerId,
    /// The newest resume token it was given.
    pub token: String,
    /// The room's tick rate, which deltas are predicted with: what its `Welcome` announced,
    /// or (on a connection that resumes) what the client knew from before.
    pub tick_rate: u16,
    /// The schema of the room's game, from its `Joined` or `Resumed`.
    pub schema: Option<Schema>,
    /// The room as rebuilt from every snapshot so far.
    pub replica: Replica,
    /// Every message but snapshots, oldest first, until the test takes them.
    pub inbox: VecDeque<ServerMsg>,
    /// Every snapshot, in order.
    pub snapshots: Vec<SnapshotSeen>,
    /// How the connection ended, once it has.
    pub ended: Option<Ending>,
}

impl TestClient {
    pub(super) fn new(tick_rate: u16) -> Self {
        Self {
            id: 0,
            token: String::new(),
            tick_rate,
            schema: None,
            replica: Replica::new(),
            inbox: VecDeque::new(),
            snapshots: Vec::new(),
            ended: None,
        }
    }

    /// Takes one frame from the server at `at`.
    ///
    /// # Panics
    /// When the frame is not a valid server message, or a snapshot does not apply to the
    /// replica: the server never sends either.
    pub(super) fn receive(&mut self, frame: &[u8], at: Instant) {
        let msg = match ServerMsg::decode(frame) {
            Ok(msg) => msg,
            Err(err) => panic!(
                "player {}: the server sent an undecodable frame: {err}",
                self.id
            ),
        };
        match msg {
            ServerMsg::Snapshot(snap) => {
                let Some(schema) = &self.schema else {
                    panic!(
                        "player {}: a snapshot before any Joined or Resumed",
                        self.id
                    );
                };
                if let Err(err) = self.replica.apply(&snap, schema, self.tick_rate) {
                    panic!("player {}: snapshot of tick {}: {err}", self.id, snap.tick);
                }
                self.snapshots.push(SnapshotSeen {
                    tick: snap.tick,
                    base_tick: snap.base_tick,
                    at,
                    entities: self.replica.entities().len(),
                    acked: (snap.ack > 0).then_some(snap.ack),
                });
                return;
            }
            ServerMsg::Joined(ref joined) => {
                self.schema = Some(joined.schema.clone());
            }
            ServerMsg::Welcome(ref welcome) => {
                self.id = welcome.player_id;
                self.token.clone_from(&welcome.resume_token);
                self.tick_rate = welcome.tick_rate;
            }
            ServerMsg::Resumed(ref resumed) => {
                self.id = resumed.player_id;
                self.token.clone_from(&resumed.resume_token);
                if let Some(schema) = &resumed.schema {
                    self.schema = Some(schema.clone());
                }
            }
            _ => {}
        }
        self.inbox.push_back(msg);
    }

    /// Takes the oldest message in the inbox that `want` accepts.
    pub fn take(&mut self, want: impl Fn(&ServerMsg) -> bool) -> Option<ServerMsg> {
        let at = self.inbox.iter().position(want)?;
        self.inbox.remove(at)
    }

    /// Takes every message in the inbox.
    pub fn take_all(&mut self) -> Vec<ServerMsg> {
        self.inbox.drain(..).collect()
    }

    /// The last snapshot taken, if any.
    pub fn last_snapshot(&self) -> Option<&SnapshotSeen> {
        self.snapshots.last()
    }

    /// The close code and reason the server sent, once it did.
    pub fn close(&self) -> Option<(u16, &str)> {
        match &self.ended {
            Some(Ending::Closed(code, reason)) => Some((*code, reason)),
            _ => None,
        }
    }
}
