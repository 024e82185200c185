//! Where a node that stops sends the members of its rooms: the redirect each room queues
//! for its members before it closes them, kept fresh by the heartbeat (the least-loaded
//! other node), so that a room that is told to stop has it at hand.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use tickwire_shared::{Redirect, encode};

/// The encoded `Redirect` to the node to move to, when there is one.
#[derive(Debug, Default)]
pub struct Elsewhere(Mutex<Option<Bytes>>);

impl Elsewhere {
    /// From now on, members move to `url` (`None`: nowhere to go, they are only closed).
    pub fn set(&self, url: Option<&str>) {
        let redirect = url.map(|url| {
            encode(&Redirect {
                url: url.to_owned(),
                room: None,
                ticket: None,
                in_reply_to: None,
            })
        });
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = redirect;
    }

    /// The redirect to send, if the members have somewhere to go.
    pub fn redirect(&self) -> Option<Bytes> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::ServerMsg;

    use super::*;

    #[test]
    fn the_redirect_names_the_node_and_no_room() {
        let elsewhere = Elsewhere::default();
        assert!(elsewhere.redirect().is_none());
        elsewhere.set(Some("ws://b:4000"));
        let frame = elsewhere.redirect().unwrap();
        let ServerMsg::Redirect(r) = ServerMsg::decode(&frame).unwrap() else {
            panic!("not a redirect");
        };
        assert_eq!(
            (r.url.as_str(), r.room, r.ticket, r.in_reply_to),
            ("ws://b:4000", None, None, None)
        );
        elsewhere.set(None);
        assert!(elsewhere.redirect().is_none());
    }
}
