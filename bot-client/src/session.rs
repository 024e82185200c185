//! Getting into a room and getting out again: connect, say hello, join; send one message;
//! close politely at the end, or drop the connection abruptly on purpose.
//!
//! Honest and misbehaving bots share these steps but keep separate books, so the bytes
//! are counted through [`Tally`], which each kind of bot implements for its own stats.

use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{
    ClientMsg, Hello, Join, PROTOCOL_VERSION, PlayerId, ServerMsg, encode_client,
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

/// A connection that has joined its room.
pub(crate) struct Joined {
    pub(crate) sink: WsSink,
    pub(crate) stream: WsStream,
    /// Our id in the room's snapshots.
    pub(crate) player_id: PlayerId,
}

/// Connects to `url`, says hello as `name` and joins `room`. Any server `Error` or
/// unexpected end is a failure. Not bounded in time: the caller puts a timeout around it.
pub(crate) async fn join_room(
    url: &str,
    name: String,
    room: String,
    tally: &mut impl Tally,
) -> anyhow::Result<Joined> {
    // No Nagle: an input is a few dozen bytes and must leave now, not with the next one.
    let (ws, _response) = connect_async_with_config(url, None, true)
        .await
        .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
    let (mut sink, mut stream) = ws.split();

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

    let join = ClientMsg::Join(Join { room: Some(room) });
    send(&mut sink, tally, &join)
        .await
        .map_err(|e| anyhow::anyhow!("sending Join: {e}"))?;
    wait_for(&mut stream, tally, "Joined", |msg| match msg {
        ServerMsg::Joined(joined) => Some(joined),
        _ => None,
    })
    .await?;
    Ok(Joined {
        sink,
        stream,
        player_id: welcome.player_id,
    })
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

impl<T: Tally> Rejoin for SameRoom<'_, T> {
    type Conn = Joined;

    async fn attempt(&mut self) -> anyhow::Result<Joined> {
        join_room(
            self.url,
            self.name.to_owned(),
            self.room.to_owned(),
            self.tally,
        )
        .await
    }
}

/// Reads frames until `pick` accepts one. Other messages (another player's arrival, say)
/// are skipped; an `Error`, a bad frame or the end of the connection is a failure.
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
            Ok(ServerMsg::Error(e)) => anyhow::bail!(
                "server error {} while waiting for {what}: {}",
                e.code.0,
                e.message
            ),
            Ok(msg) => {
                if let Some(found) = pick(msg) {
                    return Ok(found);
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
    use tokio::net::TcpListener;

    use super::*;

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
