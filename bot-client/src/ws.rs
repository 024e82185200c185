//! The full and misbehaving bots' connection: a tungstenite WebSocket, split into the sink
//! the bot sends on and the stream it reads, as a [`Line`] for the seating steps
//! ([`crate::session`]); and its ends: a polite close at the deadline or after a redirect,
//! or an abrupt drop on purpose (`--chaos`).

use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::{ClientMsg, ServerMsg, encode_client};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

use crate::session::{Dial, Line, LineError, Tally};
use crate::{CLOSE_GRACE, LEAVE_GRACE, auth};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(crate) type WsSink = SplitSink<Ws, Message>;
pub(crate) type WsStream = SplitStream<Ws>;

/// One connection: what the bot sends on and what it reads, apart, so that a bot can wait
/// on its reads while it sends.
pub(crate) struct WsLine {
    pub(crate) sink: WsSink,
    pub(crate) stream: WsStream,
}

/// Opens [`WsLine`]s, with the bot's token in each URL's query when it has one.
#[derive(Debug, Clone)]
pub(crate) struct WsDial {
    token: Option<String>,
}

impl WsDial {
    pub(crate) fn new(token: Option<String>) -> Self {
        Self { token }
    }
}

impl Dial for WsDial {
    type Line = WsLine;

    async fn dial(&mut self, url: &str) -> anyhow::Result<WsLine> {
        let url = match &self.token {
            Some(token) => auth::with_token(url, token),
            None => url.to_owned(),
        };
        // No Nagle: an input is a few dozen bytes and must leave now, not with the next one.
        let (ws, _response) = connect_async_with_config(url.as_str(), None, true)
            .await
            .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
        let (sink, stream) = ws.split();
        Ok(WsLine { sink, stream })
    }
}

impl Line for WsLine {
    async fn send(&mut self, tally: &mut impl Tally, msg: &ClientMsg) -> anyhow::Result<()> {
        Ok(send(&mut self.sink, tally, msg).await?)
    }

    async fn recv(&mut self, tally: &mut impl Tally) -> Result<ServerMsg, LineError> {
        loop {
            let frame = match self.stream.next().await {
                Some(Ok(Message::Binary(frame))) => frame,
                Some(Ok(Message::Text(_))) => return Err(LineError::Text),
                Some(Ok(Message::Close(frame))) => {
                    return Err(LineError::Closed(close_reason(frame)));
                }
                // WebSocket pings are answered by tungstenite itself.
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(LineError::Failed(e.to_string())),
                None => return Err(LineError::Ended),
            };
            tally.received(frame.len());
            return ServerMsg::decode(&frame).map_err(|e| LineError::Undecodable(e.to_string()));
        }
    }

    async fn leave(self) {
        close_within(LEAVE_GRACE, self.sink, self.stream).await;
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
pub(crate) async fn close(sink: WsSink, stream: WsStream) {
    close_within(CLOSE_GRACE, sink, stream).await;
}

async fn close_within(grace: Duration, mut sink: WsSink, mut stream: WsStream) {
    let _ = timeout(grace, async {
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

/// A close frame's code and reason, in words.
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
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

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
        let WsLine { sink, stream } = WsDial::new(None).dial(&url).await.expect("connect");
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

    #[tokio::test]
    async fn the_token_rides_in_the_query_of_every_node_dialed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut target = String::new();
            // The callback's error type is tungstenite's, whatever its size.
            #[allow(clippy::result_large_err)]
            let note = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
                target = request.uri().to_string();
                Ok(response)
            };
            let _ws = tokio_tungstenite::accept_hdr_async(tcp, note)
                .await
                .expect("upgrade");
            target
        });
        let line = WsDial::new(Some("T0K".into()))
            .dial(&url)
            .await
            .expect("connect");
        let target = timeout(Duration::from_secs(5), server)
            .await
            .expect("in time")
            .expect("server");
        drop(line);
        assert_eq!(target, "/?token=T0K");
    }
}
