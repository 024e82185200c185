//! A tampering proxy between the bots and the real server: a WebSocket-to-WebSocket shim
//! on a free port of 127.0.0.1 that forwards every frame both ways and applies a [`Tamper`]
//! policy to what the server sends the bots. The server behind it is the real one; the
//! proxy adds only the faults a correct server never makes (a wrong state hash, a snapshot
//! that never arrives, junk, an early close, chat held back, skipped or swapped, acks held
//! back), and counts what passes ([`Seen`]).
//!
//! Each bot connection gets its own connection to the server, upgraded at the same path
//! and query, so the server sees the bot's token. The bot is upgraded first and the server
//! connected after: an HTTP refusal by the server (401, 429, 503) reaches the bot as a
//! connection that ends at once, not as the refusal, so tests of refusals talk to the
//! server directly.
//!
//! Ends are passed on as they came. A close frame from either side is forwarded, and the
//! closing handshake completed on both. A side that ends abruptly (a reset, or an end with
//! no close frame) has the other side ended abruptly too, with `SO_LINGER` 0 (a reset, no
//! close frame), so the server sees a lost connection and keeps the player for a resume,
//! as it would without the proxy. WebSocket pings are answered on each side, not
//! forwarded. Dropping the [`Proxy`] ends every connection it holds.

mod line;
mod seen;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

pub use line::{Spoil, Tamper};
pub use seen::{Seen, count};

use line::{Held, Line};

type Ws = WebSocketStream<TcpStream>;

/// What reading one side gives: a message, an error, or the end.
type Frame = Option<Result<Message, tungstenite::Error>>;

/// A running proxy in front of one server.
pub struct Proxy {
    addr: SocketAddr,
    seen: Arc<Seen>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy in front of the server at `server`, treating its frames by `tamper`.
    pub async fn start(server: SocketAddr, tamper: Tamper) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let seen = Arc::new(Seen::default());
        let accept = tokio::spawn(accept(listener, server, tamper, Arc::clone(&seen)));
        Self { addr, seen, accept }
    }

    /// The URL the bots connect to instead of the server's.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// What the proxy saw so far.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Accepts bots until aborted; each connection is served by its own task, held in a set
/// that this task owns, so that aborting it aborts them all.
async fn accept(listener: TcpListener, server: SocketAddr, tamper: Tamper, seen: Arc<Seen>) {
    let mut lines = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((bot, _)) = accepted {
                    lines.spawn(serve(bot, server, tamper, Arc::clone(&seen)));
                }
            }
            Some(_) = lines.join_next(), if !lines.is_empty() => {}
        }
    }
}

/// Serves one bot connection from its upgrade to its end.
async fn serve(bot: TcpStream, server: SocketAddr, tamper: Tamper, seen: Arc<Seen>) {
    let Some((bot, path)) = upgrade(bot).await else {
        return;
    };
    seen.upgrade(&path);
    let Some(server) = connect(server, &path).await else {
        return;
    };
    let relay = Relay {
        bot,
        server,
        bot_side: Side::Open,
        server_side: Side::Open,
        line: Line::new(tamper),
        held: Held::default(),
    };
    relay.run(&seen).await;
}

/// Upgrades the bot's connection; returns it with the path and query it asked for.
async fn upgrade(tcp: TcpStream) -> Option<(Ws, String)> {
    let _ = tcp.set_nodelay(true);
    let mut path = String::from("/");
    // The shape tungstenite's handshake callback must have.
    #[allow(clippy::result_large_err)]
    let note = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        path = request.uri().to_string();
        Ok(response)
    };
    let ws = tokio_tungstenite::accept_hdr_async(tcp, note).await.ok()?;
    Some((ws, path))
}

/// Connects to the server at `path` (with its query).
async fn connect(server: SocketAddr, path: &str) -> Option<Ws> {
    let tcp = TcpStream::connect(server).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{server}{path}"), tcp)
        .await
        .ok()?;
    Some(ws)
}

/// Where one side of a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Open,
    /// A close frame went one way or the other; the handshake is finishing.
    Closing,
    /// Closed after a close frame.
    Done,
}

impl Side {
    /// The side's stream ended: done after a close frame, else `lost` (abruptly).
    fn end(&mut self, lost: Lost) -> Option<Lost> {
        if *self == Side::Open {
            return Some(lost);
        }
        *self = Side::Done;
        None
    }
}

/// Which side ended abruptly.
#[derive(Debug, Clone, Copy)]
enum Lost {
    Bot,
    Server,
}

/// One bot's connection and the server connection that stands for it.
struct Relay {
    bot: Ws,
    server: Ws,
    bot_side: Side,
    server_side: Side,
    line: Line,
    /// Frames for the bot, waiting for their time.
    held: Held,
}

impl Relay {
    async fn run(mut self, seen: &Seen) {
        let lost = loop {
            if self.bot_side == Side::Done && self.server_side == Side::Done {
                break None;
            }
            let due = self.held.next_due();
            let close_at = self.line.close_at().filter(|_| self.bot_side == Side::Open);
            let lost = tokio::select! {
                frame = self.bot.next(), if self.bot_side != Side::Done => {
                    self.handle_bot(frame, seen).await
                }
                frame = self.server.next(), if self.server_side != Side::Done => {
                    self.handle_server(frame, seen).await
                }
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => None,
                () = sleep_until(close_at.unwrap_or_else(Instant::now)), if close_at.is_some() => {
                    self.close_both().await;
                    None
                }
            };
            if let Some(lost) = lost {
                break Some(lost);
            }
            if let Some(lost) = self.deliver().await {
                break Some(lost);
            }
        };
        let Some(lost) = lost else {
            return;
        };
        self.held.cut_off(seen);
        match lost {
            Lost::Bot => reset(self.server),
            Lost::Server => reset(self.bot),
        }
    }

    /// What the bot sent, or its end.
    async fn handle_bot(&mut self, frame: Frame, seen: &Seen) -> Option<Lost> {
        match frame {
            Some(Ok(Message::Close(close))) => {
                // Tungstenite answers it; the server is told.
                self.bot_side = Side::Closing;
                self.close_server(close).await;
                None
            }
            Some(Ok(msg @ (Message::Binary(_) | Message::Text(_)))) => {
                self.line.handle_bot_msg(&msg, seen);
                if self.server_side == Side::Open && self.server.send(msg).await.is_err() {
                    return Some(Lost::Server);
                }
                None
            }
            Some(Ok(_)) => None,
            Some(Err(_)) | None => self.bot_side.end(Lost::Bot),
        }
    }

    /// What the server sent, or its end. Frames for the bot go through the line's policy
    /// into `held`, and out in [`Relay::deliver`].
    async fn handle_server(&mut self, frame: Frame, seen: &Seen) -> Option<Lost> {
        match frame {
            Some(Ok(Message::Close(close))) => {
                self.server_side = Side::Closing;
                self.close_bot(close).await;
                None
            }
            Some(Ok(Message::Binary(frame))) => {
                self.line
                    .handle_server_frame(frame, Instant::now(), seen, &mut self.held);
                None
            }
            Some(Ok(msg @ Message::Text(_))) => {
                self.held.push(Instant::now(), msg);
                None
            }
            Some(Ok(_)) => None,
            Some(Err(_)) | None => self.server_side.end(Lost::Server),
        }
    }

    /// The proxy closes a connection on purpose: politely, both sides.
    async fn close_both(&mut self) {
        self.close_bot(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "closed by the tampering proxy".into(),
        }))
        .await;
        self.close_server(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }))
        .await;
    }

    /// Sends the bot a close frame, ahead of anything still held back: what is held then
    /// never reaches it.
    async fn close_bot(&mut self, close: Option<CloseFrame>) {
        if self.bot_side == Side::Open {
            self.bot_side = Side::Closing;
            let _ = self.bot.send(Message::Close(close)).await;
        }
    }

    async fn close_server(&mut self, close: Option<CloseFrame>) {
        if self.server_side == Side::Open {
            self.server_side = Side::Closing;
            let _ = self.server.send(Message::Close(close)).await;
        }
    }

    /// Sends the bot every frame that is due, in one flush; `Some` when the bot is gone.
    async fn deliver(&mut self) -> Option<Lost> {
        let mut fed = false;
        while self.bot_side == Side::Open {
            let Some(msg) = self.held.pop_due(Instant::now()) else {
                break;
            };
            if self.bot.feed(msg).await.is_err() {
                return Some(Lost::Bot);
            }
            fed = true;
        }
        if fed && self.bot.flush().await.is_err() {
            return Some(Lost::Bot);
        }
        None
    }
}

/// Ends a connection abruptly: `SO_LINGER` 0, so closing the socket sends a reset and no
/// close frame goes out.
fn reset(ws: Ws) {
    let _ = socket2::SockRef::from(ws.get_ref()).set_linger(Some(Duration::ZERO));
}
