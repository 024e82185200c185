//! The upgrade gate: the socket's tuning, the WebSocket settings, and the HTTP handshake,
//! where a peer over the limits or without a valid token is refused before it becomes a
//! connection.

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::HandshakeError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError, WebSocket};

use crate::auth::{Auth, AuthError};
use crate::identity::Identity;
use crate::socket::Socket;

/// Enough for a burst of a dozen inputs in one read; bigger frames take a few reads.
const READ_BUFFER_BYTES: usize = 512;

/// The WebSocket settings for one client, from the server's message limit: a small read
/// buffer (thousands of idle players should cost kilobytes; and the library zeroes the
/// buffer's free space before every read, so its size is paid per read), messages no bigger
/// than the protocol needs, and a write buffer bounded so one client cannot hold much memory.
pub fn websocket_config(max_message_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Frames are gathered until the one flush per tick; this only caps the gathering.
        .write_buffer_size(64 * 1024)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
}

/// Kernel receive buffer per client: a client sends a few dozen bytes a tick, and what a
/// flood puts beyond this waits in the client's own send buffer, not in our memory.
const SOCKET_RECV_BYTES: usize = 16 * 1024;
/// Kernel send buffer per client: dozens of snapshots of a full room, so a brief stall
/// costs nothing, while a client that stops reading holds a bounded amount of memory.
const SOCKET_SEND_BYTES: usize = 256 * 1024;

/// Fixed buffer sizes (which also turn off the kernel's per-read autotuning) and no Nagle:
/// snapshots are latency-sensitive and already batched one write per tick.
pub fn tune_socket(stream: &TcpStream) {
    let sock = socket2::SockRef::from(stream);
    let _ = sock.set_tcp_nodelay(true);
    let _ = sock.set_recv_buffer_size(SOCKET_RECV_BYTES);
    let _ = sock.set_send_buffer_size(SOCKET_SEND_BYTES);
}

/// Why a handshake did not give a connection.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeFailure {
    /// The upgrade carried no valid token; a 401 with the reason was sent. The peer should
    /// get a token and connect again.
    #[error("unauthorized: {0}")]
    Unauthorized(AuthError),
    /// Anything else: not HTTP, not an upgrade, the socket failed, or the refusal asked
    /// for by the caller was sent (`WsError::Http`).
    #[error(transparent)]
    Ws(#[from] WsError),
}

/// Completes the server side of the WebSocket handshake on `stream`, or, with `refuse`,
/// reads the request and answers it with that HTTP status instead of upgrading. With
/// `auth`, the request must carry a valid token, or is answered with 401; the token says
/// who the connection is (nobody in particular without `auth`).
///
/// The socket is waited on for reading only: the handshake's one write, a short HTTP
/// response on a fresh socket with an empty send buffer, cannot block in practice, and a
/// peer that makes it block anyway runs into the caller's handshake timeout.
///
/// # Errors
/// [`HandshakeFailure::Unauthorized`] after a 401 was sent; otherwise whatever made the
/// handshake fail (not HTTP, not an upgrade, the socket failed), and `WsError::Http` after
/// the `refuse` refusal was sent.
pub async fn handshake(
    stream: tokio::net::TcpStream,
    config: WebSocketConfig,
    refuse: Option<(StatusCode, &'static str)>,
    auth: Option<&Auth>,
) -> Result<(WebSocket<Socket>, Identity), HandshakeFailure> {
    // Filled in by the callback, which runs once, when the request has been read.
    let mut verdict: Option<Result<Identity, AuthError>> = None;
    let upgraded = {
        // The error type is tungstenite's callback contract, large or not.
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, response: Response| {
            if let Some((status, why)) = refuse {
                return Err(refusal(status, why));
            }
            let checked = auth.map_or(Ok(Identity::default()), |auth| auth.verify(request));
            let answer = match &checked {
                Ok(_) => Ok(response),
                Err(why) => Err(refusal(StatusCode::UNAUTHORIZED, &why.to_string())),
            };
            verdict = Some(checked);
            answer
        };
        let mut attempt =
            tungstenite::accept_hdr_with_config(Socket::new(stream), callback, Some(config));
        loop {
            match attempt {
                Ok(ws) => break Ok(ws),
                Err(HandshakeError::Failure(err)) => break Err(err),
                Err(HandshakeError::Interrupted(mid)) => {
                    mid.get_ref()
                        .get_ref()
                        .readable()
                        .await
                        .map_err(WsError::Io)?;
                    attempt = mid.handshake();
                }
            }
        }
    };
    match (upgraded, verdict) {
        (Ok(ws), Some(Ok(identity))) => Ok((ws, identity)),
        (_, Some(Err(why))) => Err(HandshakeFailure::Unauthorized(why)),
        (Err(err), _) => Err(err.into()),
        // The library calls back before it upgrades; this is only for the type's sake.
        (Ok(_), None) => {
            Err(WsError::Protocol(tungstenite::error::ProtocolError::HandshakeIncomplete).into())
        }
    }
}

/// An HTTP refusal of the upgrade, with the reason as a plain-text body.
fn refusal(status: StatusCode, why: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(format!("{why}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, (why.len() + 1).into());
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}
