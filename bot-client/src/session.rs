//! Getting into a room and getting out again: connect, say hello, join; come back after a
//! drop by resume token, or afresh when the resume is refused; send one message; close
//! politely at the end, or drop the connection abruptly on purpose.
//!
//! Honest and misbehaving bots share these steps but keep separate books, so the bytes
//! are counted through [`Tally`], which each kind of bot implements for its own stats.

use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{
    ClientMsg, ErrorCode, Hello, Join, PROTOCOL_VERSION, PlayerId, Resume, Resumed, Schema,
    ServerMsg, encode_client,
};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

use crate::CLOSE_GRACE;
use crate::reconnect::Rejoin;

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(crate) type WsSink = SplitSink<Ws, Message>;
pub(crate) type WsStream = SplitStream<Ws>;

/// Where a connection's bytes are counted.
pub(crate) trait Tally {
    /// A frame of `bytes` payload bytes was sent.
    fn sent(&mut self, bytes: usize);
    /// A binary frame of `bytes` payload bytes arrived.
    fn received(&mut self, bytes: usize);
}

/// The room bot `index` plays in: the bots are dealt round the rooms like cards.
pub(crate) fn room_name(index: usize, rooms: usize) -> String {
    format!("bots-{}", index % rooms.max(1))
}

/// A connection that is in its room.
pub(crate) struct Joined {
    pub(crate) sink: WsSink,
    pub(crate) stream: WsStream,
    /// Our id in the room's snapshots.
    pub(crate) player_id: PlayerId,
    /// What to present in a `Resume` after losing this connection, to come back as the
    /// same player: the `Welcome`'s token, or the `Resumed`'s newer one.
    pub(crate) resume_token: String,
    /// The `Welcome`'s ticks per second, which deltas need; `None` after a resume, which
    /// has no `Welcome` (the rate is the one the first `Welcome` gave: the same server).
    pub(crate) tick_rate: Option<u16>,
    /// The room's game, as its `Joined` (or `Resumed`) said: what its snapshots are read
    /// with and its inputs made of. `None` only when a server resumed the player into a
    /// room without saying what the room plays.
    pub(crate) schema: Option<Schema>,
}

/// Connects to `url`, says hello as `name` and joins `room`. Any server `Error` or
/// unexpected end is a failure. Not bounded in time: the caller puts a timeout around it.
pub(crate) async fn join_room(
    url: &str,
    name: String,
    room: String,
    tally: &mut impl Tally,
) -> anyhow::Result<Joined> {
    let (sink, stream) = connect(url).await?;
    hello_and_join(sink, stream, name, room, tally).await
}

/// Opens the WebSocket.
async fn connect(url: &str) -> anyhow::Result<(WsSink, WsStream)> {
    // No Nagle: an input is a few dozen bytes and must leave now, not with the next one.
    let (ws, _response) = connect_async_with_config(url, None, true)
        .await
        .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
    Ok(ws.split())
}

/// Says hello as `name` and joins `room` on a connection that has not said hello yet.
async fn hello_and_join(
    mut sink: WsSink,
    mut stream: WsStream,
    name: String,
    room: String,
    tally: &mut impl Tally,
) -> anyhow::Result<Joined> {
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name,
    });
    send(&mut sink, tally, &hello)
        .await
        .map_err(|e| anyhow::anyhow!("sending Hello: {e}"))?;
    let welcome = wait_for(&mut stream, tally, "Welcome", |msg| match msg {
        ServerMsg::Welcome(welcome) => Some(welcome),
        _ => None,
    })
    .await?;
    let schema = join(&mut sink, &mut stream, room, tally).await?;
    Ok(Joined {
        sink,
        stream,
        player_id: welcome.player_id,
        resume_token: welcome.resume_token,
        tick_rate: Some(welcome.tick_rate),
        schema: Some(schema),
    })
}

/// Joins `room` (public, no key), waits for `Joined` and returns the room's schema.
async fn join(
    sink: &mut WsSink,
    stream: &mut WsStream,
    room: String,
    tally: &mut impl Tally,
) -> anyhow::Result<Schema> {
    let join = ClientMsg::Join(Join {
        room: Some(room),
        key: None,
    });
    send(sink, tally, &join)
        .await
        .map_err(|e| anyhow::anyhow!("sending Join: {e}"))?;
    let joined = wait_for(stream, tally, "Joined", |msg| match msg {
        ServerMsg::Joined(joined) => Some(joined),
        _ => None,
    })
    .await?;
    Ok(joined.schema)
}

/// Gets a bot back into its room after its connection was lost: connect, hello and join,
/// as at its start, on a new connection with a new player id.
pub(crate) struct SameRoom<'a, T> {
    pub(crate) url: &'a str,
    pub(crate) name: &'a str,
    pub(crate) room: &'a str,
    /// The handshake's bytes count like any other.
    pub(crate) tally: &'a mut T,
}

impl<T: Tally> SameRoom<'_, T> {
    /// Hello and join on a connection that has not said hello: a new one, or one whose
    /// resume was refused.
    async fn hello_and_join(&mut self, sink: WsSink, stream: WsStream) -> anyhow::Result<Joined> {
        hello_and_join(
            sink,
            stream,
            self.name.to_owned(),
            self.room.to_owned(),
            self.tally,
        )
        .await
    }
}

impl<T: Tally> Rejoin for SameRoom<'_, T> {
    type Conn = Joined;

    async fn attempt(&mut self) -> anyhow::Result<Joined> {
        let (sink, stream) = connect(self.url).await?;
        self.hello_and_join(sink, stream).await
    }
}

/// How a [`ResumeRoom`] got the bot back.
pub(crate) enum Rejoined {
    /// The server took the player back: the same seat, and the server's input filter as it
    /// was. `room` is where the `Resumed` said the player was; the connection is in the
    /// bot's room in any case (joined, if `room` was another).
    Resumed { conn: Joined, room: Option<String> },
    /// The resume was refused, or there was no token to present: a new player, joined
    /// afresh.
    Joined(Joined),
}

/// Gets a bot back after a drop as the same player: connect and present the resume token
/// as the first message. When the server refuses it (`RESUME_REFUSED`), the connection is
/// still before its hello, so the attempt goes on as a [`SameRoom`] on that connection;
/// the token is then spent, and later attempts are plain `SameRoom` ones.
pub(crate) struct ResumeRoom<'a, T> {
    /// The token to present; `None` once refused (or when there was none).
    pub(crate) token: Option<String>,
    /// The fallback, and where to go.
    pub(crate) fallback: SameRoom<'a, T>,
}

impl<T: Tally> Rejoin for ResumeRoom<'_, T> {
    type Conn = Rejoined;

    async fn attempt(&mut self) -> anyhow::Result<Rejoined> {
        let (mut sink, mut stream) = connect(self.fallback.url).await?;
        if let Some(token) = &self.token {
            let tally = &mut *self.fallback.tally;
            let resume = ClientMsg::Resume(Resume {
                token: token.clone(),
            });
            send(&mut sink, tally, &resume)
                .await
                .map_err(|e| anyhow::anyhow!("sending Resume: {e}"))?;
            let answer = wait_for(&mut stream, tally, "Resumed", |msg| match msg {
                ServerMsg::Resumed(resumed) => Some(Ok(resumed)),
                ServerMsg::Error(e) if e.code == ErrorCode::RESUME_REFUSED => Some(Err(e)),
                _ => None,
            })
            .await?;
            match answer {
                Ok(Resumed {
                    player_id,
                    room,
                    resume_token,
                    players: _,
                    mut schema,
                }) => {
                    if room.as_deref() != Some(self.fallback.room) {
                        let ours = self.fallback.room.to_owned();
                        schema = Some(join(&mut sink, &mut stream, ours, tally).await?);
                    }
                    let conn = Joined {
                        sink,
                        stream,
                        player_id,
                        resume_token,
                        tick_rate: None,
                        schema,
                    };
                    return Ok(Rejoined::Resumed { conn, room });
                }
                Err(refused) => {
                    tracing::trace!("resume refused: {}", refused.message);
                    self.token = None;
                }
            }
        }
        let joined = self.fallback.hello_and_join(sink, stream).await?;
        Ok(Rejoined::Joined(joined))
    }
}

/// Reads frames until `pick` accepts one. Other messages (another player's arrival, say)
/// are skipped; an `Error` that `pick` does not accept, a bad frame or the end of the
/// connection is a failure.
async fn wait_for<T>(
    stream: &mut WsStream,
    tally: &mut impl Tally,
    what: &str,
    pick: impl Fn(ServerMsg) -> Option<T>,
) -> anyhow::Result<T> {
    loop {
        let frame = match stream.next().await {
            Some(Ok(Message::Binary(frame))) => frame,
            Some(Ok(Message::Text(_))) => anyhow::bail!("text frame while waiting for {what}"),
            Some(Ok(Message::Close(frame))) => {
                anyhow::bail!("closed while waiting for {what}: {}", close_reason(frame))
            }
            // WebSocket pings are answered by tungstenite itself.
            Some(Ok(_)) => continue,
            Some(Err(e)) => anyhow::bail!("websocket error while waiting for {what}: {e}"),
            None => anyhow::bail!("connection ended while waiting for {what}"),
        };
        tally.received(frame.len());
        match ServerMsg::decode(&frame) {
            Ok(msg) => {
                // `pick` sees errors first: some are answers (a refused resume).
                let error = match &msg {
                    ServerMsg::Error(e) => Some((e.code.0, e.message.clone())),
                    _ => None,
                };
                if let Some(found) = pick(msg) {
                    return Ok(found);
                }
                if let Some((code, message)) = error {
                    anyhow::bail!("server error {code} while waiting for {what}: {message}");
                }
            }
            Err(e) => anyhow::bail!("undecodable frame while waiting for {what}: {e}"),
        }
    }
}

/// Encodes and sends one message (one frame, flushed at once: a bot sends one message at a
/// time, and holding it back would only add latency), counting its bytes.
pub(crate) async fn send(
    sink: &mut WsSink,
    tally: &mut impl Tally,
    msg: &ClientMsg,
) -> Result<(), tungstenite::Error> {
    let frame = encode_client(msg);
    tally.sent(frame.len());
    sink.send(Message::Binary(frame)).await
}

/// Says goodbye at the deadline: a close frame, then whatever the server still sends until
/// its own close, all within [`CLOSE_GRACE`]. What arrives now is no longer measured, and
/// failures here are not errors: the bot's work is done.
pub(crate) async fn close(mut sink: WsSink, mut stream: WsStream) {
    let _ = timeout(CLOSE_GRACE, async {
        let bye = Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bot done".into(),
        }));
        if sink.send(bye).await.is_ok() {
            while let Some(Ok(_)) = stream.next().await {}
        }
    })
    .await;
}

/// Drops the connection the way a crashed client or a lost network would: no close frame,
/// and the socket closed with `SO_LINGER` 0, so the kernel sends a reset rather than a
/// polite FIN and the server learns of it only from a failed read or write.
pub(crate) fn abort(sink: WsSink, stream: WsStream) {
    // Both halves come from the same `split`, so reuniting cannot fail; if it ever did,
    // dropping the halves still ends the connection, only with a FIN instead of a reset.
    let Ok(ws) = sink.reunite(stream) else {
        return;
    };
    if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
    }
}

pub(crate) fn close_reason(frame: Option<CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.reason.is_empty() => format!("close code {}", frame.code),
        Some(frame) => format!("close code {}: {}", frame.code, frame.reason),
        None => "close without a code".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::{Error, Joined as JoinedMsg, Welcome, encode_server};
    use tokio::net::TcpListener;

    use super::*;

    #[derive(Default)]
    struct Count {
        sent: usize,
        received: usize,
    }

    impl Tally for Count {
        fn sent(&mut self, bytes: usize) {
            self.sent += bytes;
        }
        fn received(&mut self, bytes: usize) {
            self.received += bytes;
        }
    }

    /// A server for one connection that answers each message the client sends with what
    /// `script` says, and hands back everything the client sent.
    async fn scripted(
        script: fn(&ClientMsg) -> Vec<ServerMsg>,
    ) -> (String, tokio::task::JoinHandle<Vec<ClientMsg>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
            let mut heard = Vec::new();
            while let Some(Ok(Message::Binary(frame))) = ws.next().await {
                let msg = ClientMsg::decode(&frame).expect("the bot speaks the protocol");
                for answer in script(&msg) {
                    let frame = Message::Binary(encode_server(&answer));
                    ws.send(frame).await.expect("send");
                }
                heard.push(msg);
            }
            heard
        });
        (url, server)
    }

    fn welcome(token: &str) -> ServerMsg {
        ServerMsg::Welcome(Welcome {
            player_id: 9,
            tick_rate: 60,
            protocol_version: PROTOCOL_VERSION,
            resume_token: token.into(),
            user_id: "anon-9".into(),
        })
    }

    fn schema() -> Schema {
        Schema::new("arena")
    }

    fn joined() -> ServerMsg {
        ServerMsg::Joined(JoinedMsg {
            room: "bots-0".into(),
            players: vec![],
            schema: schema(),
        })
    }

    #[tokio::test]
    async fn a_refused_resume_says_hello_and_joins_on_the_same_connection() {
        let (url, server) = scripted(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Error(Error {
                code: ErrorCode::RESUME_REFUSED,
                message: "grace over".into(),
                in_reply_to: Some(6),
            })],
            ClientMsg::Hello(_) => vec![welcome("fresh")],
            ClientMsg::Join(_) => vec![joined()],
            _ => vec![],
        })
        .await;
        let mut count = Count::default();
        let mut rejoin = ResumeRoom {
            token: Some("old".into()),
            fallback: SameRoom {
                url: &url,
                name: "bot-0",
                room: "bots-0",
                tally: &mut count,
            },
        };
        let back = timeout(Duration::from_secs(5), rejoin.attempt())
            .await
            .expect("in time")
            .expect("back");
        // Spent: a later attempt would not present it again.
        assert_eq!(rejoin.token, None);
        let Rejoined::Joined(conn) = back else {
            panic!("a refused resume joins afresh");
        };
        assert_eq!((conn.player_id, conn.resume_token.as_str()), (9, "fresh"));
        assert_eq!(conn.tick_rate, Some(60), "the Welcome's");
        assert_eq!(conn.schema, Some(schema()), "the Joined's");
        drop(conn);
        let heard = server.await.expect("server");
        let kinds: Vec<u8> = heard.iter().map(ClientMsg::kind).collect();
        assert_eq!(
            kinds,
            vec![6, 0, 1],
            "Resume, then Hello and Join: {heard:?}"
        );
        assert_eq!(
            heard[0],
            ClientMsg::Resume(Resume {
                token: "old".into()
            })
        );
        assert!(count.sent > 0 && count.received > 0);
    }

    #[tokio::test]
    async fn a_resume_outside_the_room_joins_it_as_the_same_player() {
        let (url, server) = scripted(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Resumed(Resumed {
                player_id: 4,
                room: None,
                players: vec![],
                resume_token: "next".into(),
                schema: None,
            })],
            ClientMsg::Join(_) => vec![joined()],
            _ => vec![],
        })
        .await;
        let mut count = Count::default();
        let mut rejoin = ResumeRoom {
            token: Some("t".into()),
            fallback: SameRoom {
                url: &url,
                name: "bot-0",
                room: "bots-0",
                tally: &mut count,
            },
        };
        let back = timeout(Duration::from_secs(5), rejoin.attempt())
            .await
            .expect("in time")
            .expect("back");
        let Rejoined::Resumed { conn, room } = back else {
            panic!("resumed");
        };
        assert_eq!(room, None);
        assert_eq!((conn.player_id, conn.resume_token.as_str()), (4, "next"));
        assert_eq!(conn.tick_rate, None, "no Welcome on a resume");
        assert_eq!(
            conn.schema,
            Some(schema()),
            "the Joined's, after the Resumed"
        );
        drop(conn);
        let heard = server.await.expect("server");
        let kinds: Vec<u8> = heard.iter().map(ClientMsg::kind).collect();
        assert_eq!(kinds, vec![6, 1], "Resume, then Join, no Hello: {heard:?}");
    }

    #[tokio::test]
    async fn a_resume_into_the_room_keeps_the_resumed_schema() {
        let (url, server) = scripted(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Resumed(Resumed {
                player_id: 4,
                room: Some("bots-0".into()),
                players: vec![],
                resume_token: "next".into(),
                schema: Some(Schema::new("shooter")),
            })],
            _ => vec![],
        })
        .await;
        let mut count = Count::default();
        let mut rejoin = ResumeRoom {
            token: Some("t".into()),
            fallback: SameRoom {
                url: &url,
                name: "bot-0",
                room: "bots-0",
                tally: &mut count,
            },
        };
        let back = timeout(Duration::from_secs(5), rejoin.attempt())
            .await
            .expect("in time")
            .expect("back");
        let Rejoined::Resumed { conn, room } = back else {
            panic!("resumed");
        };
        assert_eq!(room.as_deref(), Some("bots-0"));
        assert_eq!(conn.schema, Some(Schema::new("shooter")), "the Resumed's");
        drop(conn);
        let heard = server.await.expect("server");
        let kinds: Vec<u8> = heard.iter().map(ClientMsg::kind).collect();
        assert_eq!(kinds, vec![6], "Resume only: {heard:?}");
    }

    #[tokio::test]
    async fn another_error_in_reply_to_a_resume_fails_the_attempt() {
        let (url, _server) = scripted(|msg| match msg {
            ClientMsg::Resume(_) => vec![ServerMsg::Error(Error {
                code: ErrorCode::BAD_STATE,
                message: "say hello first".into(),
                in_reply_to: Some(6),
            })],
            _ => vec![],
        })
        .await;
        let mut count = Count::default();
        let mut rejoin = ResumeRoom {
            token: Some("t".into()),
            fallback: SameRoom {
                url: &url,
                name: "bot-0",
                room: "bots-0",
                tally: &mut count,
            },
        };
        let failed = timeout(Duration::from_secs(5), rejoin.attempt())
            .await
            .expect("in time");
        let Err(why) = failed else {
            panic!("only RESUME_REFUSED falls back");
        };
        assert!(why.to_string().contains("say hello first"), "{why}");
        // Not refused: the token may still be good for the next attempt.
        assert_eq!(rejoin.token.as_deref(), Some("t"));
    }

    #[tokio::test]
    async fn an_abort_is_a_reset_without_a_close_frame() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
            ws.next().await
        });
        let (ws, _) = connect_async_with_config(url.as_str(), None, true)
            .await
            .expect("connect");
        let (sink, stream) = ws.split();
        abort(sink, stream);

        let seen = timeout(Duration::from_secs(5), server)
            .await
            .expect("the server notices at once")
            .expect("the server task ends");
        match seen {
            Some(Err(tungstenite::Error::Io(e))) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
            }
            other => panic!("expected a reset, got {other:?}"),
        }
    }

    #[test]
    fn bots_are_dealt_round_the_rooms() {
        assert_eq!(room_name(0, 3), "bots-0");
        assert_eq!(room_name(4, 3), "bots-1");
        assert_eq!(room_name(4, 0), "bots-0");
    }
}
