//! How a room's core reaches its members' connections: once per tick it reads what each
//! sent and offers each what it has to send. The driver implements this over real sockets;
//! the test harness over in-memory pipes.

use super::member::MemberKey;
use crate::peer::Peer;
use crate::transport::{Flow, Frame};

/// The room's links to its members' connections.
pub trait Links {
    /// The next frame `member`'s connection received, if one is there; never waits.
    fn read(&mut self, member: MemberKey) -> Option<Frame>;

    /// Offers `member`'s queued messages to its connection, which takes what it can now
    /// from `peer`'s outbox (everything, unless its previous write is unfinished), and
    /// says how it went.
    fn write(&mut self, member: MemberKey, peer: &mut Peer) -> Flow;
}
