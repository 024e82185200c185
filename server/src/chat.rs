//! A room's chat: which messages are accepted, the room's order, and its recent history.
//!
//! Pure: the room hands in the sender, the text and the time, and gets back the message to
//! deliver (encoded once, for every member) or the reason for refusing it.

use std::collections::VecDeque;

use bytes::Bytes;
use tickwire_shared::{ChatMessage, ChatText, PlayerId, encode};

/// Why a chat message was refused; the wire reason is [`ChatRefusal::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRefusal {
    /// No text.
    Empty,
    /// More bytes than the limit.
    TooLong,
    /// Not UTF-8.
    NotUtf8,
    /// The sender is over its chat rate.
    RateLimited,
    /// The sender is not in a room.
    NotInRoom,
    /// The sender watches the room rather than plays in it.
    Watching,
}

impl ChatRefusal {
    /// The reason as the `ChatAck` carries it.
    pub fn reason(self) -> &'static str {
        match self {
            ChatRefusal::Empty => "empty",
            ChatRefusal::TooLong => "too_long",
            ChatRefusal::NotUtf8 => "not_utf8",
            ChatRefusal::RateLimited => "rate_limited",
            ChatRefusal::NotInRoom => "not_in_room",
            ChatRefusal::Watching => "watching",
        }
    }
}

/// An accepted message: its room id and time, and its encoding for every member.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The room's id of the message.
    pub server_id: u64,
    /// When it was accepted, ms since the Unix epoch.
    pub time_ms: u64,
    /// The encoded `ChatMessage`.
    pub frame: Bytes,
}

/// One room's chat.
#[derive(Debug)]
pub struct RoomChat {
    max_bytes: usize,
    history_len: usize,
    next_id: u64,
    history: VecDeque<Bytes>,
}

impl RoomChat {
    /// A chat whose messages are at most `max_bytes` long, keeping the last `history_len`.
    pub fn new(max_bytes: usize, history_len: usize) -> Self {
        Self {
            max_bytes,
            history_len,
            next_id: 1,
            history: VecDeque::with_capacity(history_len.min(64)),
        }
    }

    /// Checks a message from `from` (called `name`) at `time_ms`; on acceptance gives it
    /// the next id and keeps it in the history.
    ///
    /// # Errors
    /// [`ChatRefusal`] for an empty, too long or non-UTF-8 text.
    pub fn accept(
        &mut self,
        from: PlayerId,
        name: &str,
        text: &ChatText,
        time_ms: u64,
    ) -> Result<Accepted, ChatRefusal> {
        if text.0.is_empty() {
            return Err(ChatRefusal::Empty);
        }
        if text.0.len() > self.max_bytes {
            return Err(ChatRefusal::TooLong);
        }
        let text = std::str::from_utf8(&text.0).map_err(|_| ChatRefusal::NotUtf8)?;
        let server_id = self.next_id;
        self.next_id += 1;
        let frame = encode(&ChatMessage {
            server_id,
            from,
            name: name.to_owned(),
            text: text.to_owned(),
            time_ms,
        });
        if self.history_len > 0 {
            if self.history.len() == self.history_len {
                self.history.pop_front();
            }
            self.history.push_back(frame.clone());
        }
        Ok(Accepted {
            server_id,
            time_ms,
            frame,
        })
    }

    /// The recent messages, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &Bytes> {
        self.history.iter()
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::{ServerMsg, ServerMsg::ChatMessage as Msg};

    use super::*;

    fn decode(frame: &Bytes) -> ChatMessage {
        match ServerMsg::decode(frame).unwrap() {
            Msg(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepted_messages_get_increasing_ids_and_are_encoded_whole() {
        let mut chat = RoomChat::new(256, 50);
        let a = chat.accept(7, "ana", &"hola".into(), 1000).unwrap();
        let b = chat.accept(8, "bo", &"hi".into(), 1001).unwrap();
        assert_eq!((a.server_id, b.server_id), (1, 2));
        let m = decode(&a.frame);
        assert_eq!(
            (
                m.server_id,
                m.from,
                m.name.as_str(),
                m.text.as_str(),
                m.time_ms
            ),
            (1, 7, "ana", "hola", 1000)
        );
    }

    #[test]
    fn bad_texts_are_refused_without_using_an_id() {
        let mut chat = RoomChat::new(8, 50);
        assert_eq!(
            chat.accept(1, "a", &"".into(), 0).unwrap_err(),
            ChatRefusal::Empty
        );
        assert_eq!(
            chat.accept(1, "a", &"123456789".into(), 0).unwrap_err(),
            ChatRefusal::TooLong
        );
        assert_eq!(
            chat.accept(1, "a", &ChatText(vec![0xff, 0xfe]), 0)
                .unwrap_err(),
            ChatRefusal::NotUtf8
        );
        assert_eq!(
            chat.accept(1, "a", &"12345678".into(), 0)
                .unwrap()
                .server_id,
            1
        );
    }

    #[test]
    fn history_keeps_the_last_messages_oldest_first() {
        let mut chat = RoomChat::new(256, 3);
        for i in 0..5 {
            chat.accept(1, "a", &format!("m{i}").as_str().into(), i)
                .unwrap();
        }
        let texts: Vec<String> = chat.history().map(|f| decode(f).text).collect();
        assert_eq!(texts, ["m2", "m3", "m4"]);
    }
}
