//! What a client may ask for in each stage of its connection: the one table the lobby and
//! the room both answer from, so a request out of place gets the same refusal wherever it
//! arrives.

use tickwire_shared::{ChatAck, ClientMsg, ErrorCode, encode};

use crate::chat::ChatRefusal;
use crate::peer::Peer;

/// Where a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Connected, before hello (or a resume).
    Connected,
    /// Greeted, in the lobby: not in a room.
    Greeted,
    /// In a room, playing.
    Playing,
    /// In a room, watching: no seat, no inputs, no chat.
    Watching,
}

/// Why a request is refused where it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfPlace {
    /// Answered with an `Error` of this code and message, in reply to the request.
    Error(ErrorCode, &'static str),
    /// A chat message, answered with a `ChatAck` refusing it for this reason.
    Chat(ChatRefusal),
}

const SEND_HELLO_FIRST: OutOfPlace = OutOfPlace::Error(ErrorCode::BAD_STATE, "send hello first");
const ALREADY_GREETED: OutOfPlace =
    OutOfPlace::Error(ErrorCode::BAD_STATE, "hello was already sent");

/// Whether `msg` may be handled in `stage`, or how it is refused.
///
/// # Errors
/// [`OutOfPlace`] with the refusal, when the request does not belong in `stage`.
pub fn check(stage: Stage, msg: &ClientMsg) -> Result<(), OutOfPlace> {
    use ClientMsg as M;
    use Stage as S;
    match (stage, msg) {
        (S::Connected, M::Hello(_) | M::Resume(_))
        | (S::Greeted, M::Join(_) | M::Create(_) | M::Watch(_) | M::Claim(_) | M::Ping(_))
        | (S::Playing, M::Input(_) | M::Ping(_) | M::Leave(_) | M::Chat(_))
        | (S::Watching, M::Ping(_) | M::Leave(_)) => Ok(()),
        (S::Connected, _) => Err(SEND_HELLO_FIRST),
        (S::Greeted, M::Hello(_)) | (S::Playing | S::Watching, M::Hello(_) | M::Resume(_)) => {
            Err(ALREADY_GREETED)
        }
        (S::Greeted, M::Resume(_)) => Err(OutOfPlace::Error(
            ErrorCode::BAD_STATE,
            "resume must be the first message",
        )),
        (S::Greeted, M::Input(_) | M::Leave(_)) => {
            Err(OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, "not in a room"))
        }
        (S::Greeted, M::Chat(_)) => Err(OutOfPlace::Chat(ChatRefusal::NotInRoom)),
        (S::Playing | S::Watching, M::Join(_) | M::Create(_) | M::Watch(_) | M::Claim(_)) => Err(
            OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, "already in a room; leave first"),
        ),
        (S::Watching, M::Input(_)) => Err(OutOfPlace::Error(
            ErrorCode::NOT_IN_ROOM,
            "watching, not playing: join the room to play",
        )),
        (S::Watching, M::Chat(_)) => Err(OutOfPlace::Chat(ChatRefusal::Watching)),
    }
}

/// Answers `msg`, which arrived out of place, with its refusal.
pub fn refuse(peer: &mut Peer, msg: &ClientMsg, why: OutOfPlace) {
    match why {
        OutOfPlace::Error(code, message) => peer.error(code, message, Some(msg.kind())),
        OutOfPlace::Chat(reason) => {
            // The table refuses only chat messages this way.
            let id = match msg {
                ClientMsg::Chat(chat) => chat.id,
                _ => 0,
            };
            peer.send(encode(&ChatAck {
                id,
                server_id: 0,
                time_ms: 0,
                refused: Some(reason.reason().to_owned()),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::*;

    use super::*;

    /// One message of every kind.
    fn every_message() -> Vec<ClientMsg> {
        vec![
            ClientMsg::Hello(Hello {
                version: PROTOCOL_VERSION,
                name: "a".into(),
            }),
            ClientMsg::Resume(Resume { token: "t".into() }),
            ClientMsg::Join(Join {
                room: None,
                key: None,
            }),
            ClientMsg::Create(Create {
                room: "r".into(),
                private: false,
                key: None,
                capacity: None,
            }),
            ClientMsg::Input(Input {
                seq: 1,
                view_tick: 0,
                values: Vec::new(),
            }),
            ClientMsg::Ping(Ping { client_time: 0.0 }),
            ClientMsg::Leave(Leave {}),
            ClientMsg::Chat(Chat {
                id: 1,
                text: "hi".into(),
            }),
            ClientMsg::Watch(Watch {
                room: "r".into(),
                key: None,
            }),
            ClientMsg::Claim(Claim { ticket: "t".into() }),
        ]
    }

    #[test]
    fn each_stage_takes_its_own_requests_and_refuses_the_rest() {
        let allowed = |stage| -> Vec<u8> {
            every_message()
                .iter()
                .filter(|m| check(stage, m).is_ok())
                .map(ClientMsg::kind)
                .collect()
        };
        assert_eq!(allowed(Stage::Connected), [Hello::KIND, Resume::KIND]);
        assert_eq!(
            allowed(Stage::Greeted),
            [
                Join::KIND,
                Create::KIND,
                Ping::KIND,
                Watch::KIND,
                Claim::KIND
            ]
        );
        assert_eq!(
            allowed(Stage::Playing),
            [Input::KIND, Ping::KIND, Leave::KIND, Chat::KIND]
        );
        assert_eq!(allowed(Stage::Watching), [Ping::KIND, Leave::KIND]);
    }

    #[test]
    fn refusals_say_what_to_do_instead() {
        let refusal = |stage, i: usize| check(stage, &every_message()[i]).unwrap_err();
        assert_eq!(refusal(Stage::Connected, 2), SEND_HELLO_FIRST);
        assert_eq!(refusal(Stage::Greeted, 0), ALREADY_GREETED);
        assert_eq!(refusal(Stage::Playing, 1), ALREADY_GREETED);
        assert_eq!(
            refusal(Stage::Greeted, 4),
            OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, "not in a room")
        );
        assert_eq!(
            refusal(Stage::Greeted, 7),
            OutOfPlace::Chat(ChatRefusal::NotInRoom)
        );
        assert_eq!(
            refusal(Stage::Playing, 3),
            OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, "already in a room; leave first")
        );
        assert_eq!(
            refusal(Stage::Watching, 8),
            OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, "already in a room; leave first")
        );
        assert_eq!(
            refusal(Stage::Playing, 9),
            OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, "already in a room; leave first")
        );
        assert!(matches!(
            refusal(Stage::Watching, 4),
            OutOfPlace::Error(ErrorCode::NOT_IN_ROOM, _)
        ));
        assert_eq!(
            refusal(Stage::Watching, 7),
            OutOfPlace::Chat(ChatRefusal::Watching)
        );
    }
}
