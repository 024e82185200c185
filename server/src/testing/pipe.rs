//! The harness's connections: in-memory pipes in place of sockets.
//!
//! Frames a test sends wait in the pipe until the lobby or the room reads them; what the
//! server writes goes straight to the client ([`TestClient::receive`]), unless the pipe is
//! stalled (a peer that stopped reading: every write is blocked and the outbox keeps what
//! it had) or reset (a peer that vanished: reads end, writes fail). Like a WebSocket
//! library, the pipe answers the server's pings by itself unless told not to.

use std::collections::VecDeque;
use std::time::Instant;

use slotmap::SecondaryMap;

use super::client::{Ending, TestClient};
use crate::peer::Peer;
use crate::room::{Links, MemberKey};
use crate::transport::{Flow, Frame};

/// Where a pipe stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeState {
    /// Both ways open.
    Open,
    /// The client reads nothing: writes block.
    Stalled,
    /// The client vanished (a TCP reset): what it sent before is still read, then the
    /// connection ends; writes fail.
    Reset,
    /// The server closed it, or answered the client's close: nothing more goes either way.
    Closed,
}

/// One client's connection.
#[derive(Debug)]
pub struct Pipe {
    /// Frames on their way to the server.
    pub to_server: VecDeque<Frame>,
    /// Where the pipe stands.
    pub state: PipeState,
    /// Answer the server's pings with a pong, as WebSocket libraries do.
    pub answers_pings: bool,
}

impl Pipe {
    pub(super) fn new() -> Self {
        Self {
            to_server: VecDeque::new(),
            state: PipeState::Open,
            answers_pings: true,
        }
    }

    /// The next frame for the server, if one is there.
    pub(super) fn read(&mut self) -> Option<Frame> {
        match self.to_server.pop_front() {
            Some(frame) => Some(frame),
            None if self.state == PipeState::Reset => Some(Frame::Ended),
            None => None,
        }
    }

    /// Hands what `peer` has queued to `client` at `at`, as a link would: pings, the
    /// reliable messages, the snapshot, then the close.
    pub(super) fn write(&mut self, peer: &mut Peer, client: &mut TestClient, at: Instant) -> Flow {
        match self.state {
            PipeState::Open => {}
            PipeState::Stalled => return Flow::Blocked,
            PipeState::Reset => return Flow::Failed,
            PipeState::Closed => return Flow::Closed,
        }
        if !peer.wants_write() {
            return Flow::Open;
        }
        let closing = peer.outbox().close_request().cloned();
        if peer.take_ping() && closing.is_none() && self.answers_pings {
            self.to_server.push_back(Frame::Control);
        }
        let outbox = peer.outbox();
        if let Some(close) = &closing
            && close.code.is_none()
        {
            // The client closed first: it reads nothing more but the reply to its close.
            outbox.drain_reliable().for_each(drop);
            outbox.take_snapshot();
            client.ended = Some(Ending::Answered);
            self.state = PipeState::Closed;
            return Flow::Closed;
        }
        for msg in outbox.drain_reliable() {
            client.receive(&msg, at);
        }
        if let Some(snapshot) = outbox.take_snapshot() {
            client.receive(&snapshot, at);
        }
        match closing {
            Some(close) => {
                let code = close.code.unwrap_or_default();
                client.ended = Some(Ending::Closed(code, close.reason.to_owned()));
                self.state = PipeState::Closed;
                Flow::Closed
            }
            None => Flow::Open,
        }
    }
}

/// A room's members' pipes, for its core to read and write.
pub(super) struct RoomPipes<'a> {
    pub pipes: &'a mut [Pipe],
    pub clients: &'a mut [TestClient],
    pub members: &'a SecondaryMap<MemberKey, usize>,
    pub now: Instant,
}

impl Links for RoomPipes<'_> {
    fn read(&mut self, member: MemberKey) -> Option<Frame> {
        let client = *self.members.get(member)?;
        self.pipes[client].read()
    }

    fn write(&mut self, member: MemberKey, peer: &mut Peer) -> Flow {
        let Some(&client) = self.members.get(member) else {
            return Flow::Failed;
        };
        self.pipes[client].write(peer, &mut self.clients[client], self.now)
    }
}
