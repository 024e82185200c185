//! A light bot's WebSocket: the opening handshake through tungstenite, then the bare TCP
//! stream with frames read and written by hand ([`super::frame`]).
//!
//! After the handshake tungstenite is set aside: the server sends nothing before the
//! client's `Hello`, so tungstenite's read buffer is empty when the stream is taken back,
//! and no frame is lost with it. From then on the bot reads into one buffer of its own and
//! looks at each frame where it lies, and writes each of its frames with one non-blocking
//! write; what a full socket did not take waits in a queue that holds at most one message
//! beyond the control frames (see [`WriteSide::idle`]), so memory stays bounded whatever
//! the server does.

use std::io;

use anyhow::{Context as _, bail, ensure};
use bytes::{Buf as _, BytesMut};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::frame::{self, FrameError, Head};
use crate::rng::XorShift64;

/// The largest server frame a light bot takes: far above any snapshot of a full room, and
/// what keeps a broken length from growing the buffer without end.
const MAX_FRAME: usize = 1 << 20;

/// Room made in the read buffer before each read: a few snapshots' worth.
const READ_SPARE: usize = 4096;

/// One light bot's connection.
pub(crate) struct RawWs {
    stream: TcpStream,
    /// Bytes read and not yet handled, from the start of a frame.
    inbox: BytesMut,
    /// Client frames, whole or in part, that the socket has not taken yet.
    pending: Vec<u8>,
    /// Where the frames' masks come from.
    masks: XorShift64,
}

impl RawWs {
    /// Connects to `url` (`ws://` only) and upgrades the connection. `seed` makes this
    /// connection's masks.
    ///
    /// # Errors
    /// When the URL is not a `ws://` one, or connecting or the upgrade fails.
    pub(crate) async fn open(url: &str, seed: u64) -> anyhow::Result<Self> {
        let request = url
            .into_client_request()
            .map_err(|e| anyhow::anyhow!("bad URL {url}: {e}"))?;
        let uri = request.uri();
        ensure!(
            uri.scheme_str() == Some("ws"),
            "light bots speak ws:// only, not {url}"
        );
        let Some(host) = uri.host() else {
            bail!("no host in {url}");
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(80);
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .with_context(|| format!("connecting to {host}:{port}"))?;
        // No Nagle: an input is a few dozen bytes and must leave now, not with the next one.
        tcp.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (ws, _response) = client_async(request, tcp)
            .await
            .map_err(|e| anyhow::anyhow!("connecting: {e}"))?;
        Ok(Self {
            stream: ws.into_inner(),
            inbox: BytesMut::with_capacity(READ_SPARE),
            pending: Vec::new(),
            masks: XorShift64::seeded(seed),
        })
    }

    /// The reading and the writing side, to wait on both at once.
    pub(crate) fn split(&mut self) -> (ReadSide<'_>, WriteSide<'_>) {
        let (read, write) = self.stream.split();
        (
            ReadSide {
                read,
                inbox: &mut self.inbox,
            },
            WriteSide {
                write,
                pending: &mut self.pending,
                masks: &mut self.masks,
            },
        )
    }

    /// Writes everything queued, waiting for the socket as long as it takes; the caller
    /// bounds the wait.
    ///
    /// # Errors
    /// When the socket fails.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let (_, mut write) = self.split();
        while !write.idle() {
            write.writable().await?;
            write.write_now()?;
        }
        Ok(())
    }
}

/// Reads a connection's frames.
pub(crate) struct ReadSide<'a> {
    read: ReadHalf<'a>,
    inbox: &'a mut BytesMut,
}

impl ReadSide<'_> {
    /// Reads what the socket has, waiting until it has something; `Ok(0)` at its end. Safe
    /// to cancel: nothing is read then.
    ///
    /// # Errors
    /// When the socket fails.
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        self.inbox.reserve(READ_SPARE);
        // Through `AsyncRead`, whose short reads tell tokio the socket is drained: a read
        // that would only say "would block" is saved on every arrival.
        self.read.read_buf(self.inbox).await
    }

    /// The head of the next frame when the whole frame has arrived, or `None` while it has
    /// not. Its payload is [`ReadSide::payload`] until [`ReadSide::consume`].
    ///
    /// # Errors
    /// [`FrameError`] when the bytes are no frame this server sends.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Head>, FrameError> {
        Ok(frame::head(self.inbox, MAX_FRAME)?.filter(|h| self.inbox.len() >= h.total_len()))
    }

    /// The payload of the frame `head` (from [`ReadSide::next_frame`]) describes.
    pub(crate) fn payload(&self, head: &Head) -> &[u8] {
        self.inbox
            .get(head.header_len..head.total_len())
            .unwrap_or_default()
    }

    /// Done with the frame `head` describes.
    pub(crate) fn consume(&mut self, head: &Head) {
        self.inbox.advance(head.total_len().min(self.inbox.len()));
    }
}

/// Writes a connection's frames.
pub(crate) struct WriteSide<'a> {
    write: WriteHalf<'a>,
    pending: &'a mut Vec<u8>,
    masks: &'a mut XorShift64,
}

impl WriteSide<'_> {
    /// True when the socket took everything queued. Messages are queued only then (control
    /// frames always), so at most one message waits for a socket that stopped taking them.
    pub(crate) fn idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Queues one frame; [`WriteSide::write_now`] sends it.
    pub(crate) fn queue(&mut self, opcode: u8, payload: &[u8]) {
        // Four bytes of the generator's top half; a mask need not be secret from the
        // server, only present.
        let mask = ((self.masks.next_u64() >> 32) as u32).to_ne_bytes();
        frame::write_client_frame(self.pending, opcode, payload, mask);
    }

    /// Writes as much of the queue as the socket takes now, without waiting.
    ///
    /// # Errors
    /// When the socket fails.
    pub(crate) fn write_now(&mut self) -> io::Result<()> {
        while !self.pending.is_empty() {
            match self.write.try_write(self.pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Waits until the socket may take more.
    ///
    /// # Errors
    /// When the socket fails.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.write.writable().await
    }
}
