//! What nodes say to each other over Redis pub/sub, and the answers one node waits for.
//!
//! Each node listens on its own channel (`P:to:ID`) and on the channel of all (`P:all`).
//! Messages are JSON. A seat is asked of the node that runs the room ([`BusMsg::Reserve`])
//! and answered on the asker's channel ([`BusMsg::Reserved`]); [`Replies`] matches the
//! answer to the join that waits for it. A message that does not parse is logged and
//! dropped: a node never panics on what another sends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

/// One message between nodes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BusMsg {
    /// Reserve a seat for a client that reached node `from`: in room `room`, or, with
    /// `None`, in a new public room this node opens.
    Reserve {
        /// The asker's number for this request, echoed in the answer.
        id: u64,
        /// The asking node.
        from: String,
        /// The room, or `None` for a new one.
        room: Option<String>,
        /// The key of a private room.
        key: Option<String>,
        /// The client's user id (`anon-...` without a token), for taking its own seat over.
        user: String,
        /// The token's user, when the handshake carried one: the ticket is theirs alone.
        token_user: Option<String>,
        /// Private rooms the token names.
        may_join: Vec<String>,
    },
    /// The answer to a `Reserve`.
    Reserved {
        /// The request's number.
        id: u64,
        /// The seat, or why not.
        answer: SeatAnswer,
    },
    /// A notice for one user, wherever they are seated.
    Tell {
        /// The user's id.
        user: String,
        /// The text.
        text: String,
    },
    /// A notice for every member of every room on every node.
    Announce {
        /// The text.
        text: String,
    },
}

/// How a seat request went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatAnswer {
    /// Reserved: the client takes it with `ticket` at `url`, in `room`.
    Granted {
        /// The room the seat is in.
        room: String,
        /// The node's URL.
        url: String,
        /// The signed, single-use ticket.
        ticket: String,
    },
    /// Refused, with the error code and message the client should get.
    Refused {
        /// The protocol's error code.
        code: u16,
        /// Why, for people.
        message: String,
    },
}

impl BusMsg {
    /// The message as sent.
    pub fn to_json(&self) -> String {
        // A value of plain strings, numbers and lists always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A message as received, or why it is not one.
    ///
    /// # Errors
    /// The JSON error, when the payload is not a message.
    pub fn from_json(payload: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

/// The seat requests this node has sent and not yet had answered.
#[derive(Debug, Default)]
pub struct Replies {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<SeatAnswer>>>,
}

impl Replies {
    /// A number for a new request, and where its answer will arrive.
    pub fn open(&self) -> (u64, oneshot::Receiver<SeatAnswer>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        (id, rx)
    }

    /// Request `id` is answered with `answer` (ignored if nobody waits any more).
    pub fn answer(&self, id: u64, answer: SeatAnswer) {
        if let Some(tx) = self.lock().remove(&id) {
            let _gone = tx.send(answer);
        }
    }

    /// Request `id` is no longer waited for (it timed out).
    pub fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<SeatAnswer>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_as_written() {
        let msgs = [
            BusMsg::Reserve {
                id: 7,
                from: "a".into(),
                room: None,
                key: Some("k".into()),
                user: "anon-3".into(),
                token_user: None,
                may_join: vec!["den".into()],
            },
            BusMsg::Reserved {
                id: 7,
                answer: SeatAnswer::Refused {
                    code: 7,
                    message: "full".into(),
                },
            },
            BusMsg::Tell {
                user: "ana".into(),
                text: "hi".into(),
            },
            BusMsg::Announce { text: "hi".into() },
        ];
        for msg in msgs {
            assert_eq!(BusMsg::from_json(msg.to_json().as_bytes()).unwrap(), msg);
        }
        assert!(BusMsg::from_json(b"{\"op\":\"nonsense\"}").is_err());
        assert!(BusMsg::from_json(b"\xff").is_err());
    }

    #[tokio::test]
    async fn an_answer_reaches_the_request_it_answers() {
        let replies = Replies::default();
        let (first, first_rx) = replies.open();
        let (second, second_rx) = replies.open();
        assert_ne!(first, second);
        let granted = SeatAnswer::Granted {
            room: "den".into(),
            url: "ws://b".into(),
            ticket: "t".into(),
        };
        replies.answer(second, granted.clone());
        assert_eq!(second_rx.await.unwrap(), granted);
        replies.forget(first);
        assert!(
            first_rx.await.is_err(),
            "a forgotten request gets no answer"
        );
        replies.answer(99, granted); // nobody waits: nothing happens
    }
}
