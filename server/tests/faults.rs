//! Transport-level faults over real sockets: handshakes that never finish, too many
//! connections, a client that stops reading, a connection reset in the middle of a frame.
//! Each runs beside an honest player who must keep its snapshots at 60 Hz throughout
//! (`common::honest`). Bad messages and floods are in `hostile.rs`.
//!
//! Some peers here speak WebSocket by hand over a raw TCP socket ([`Raw`]), to do what a
//! WebSocket library would not: stop reading, write half a frame, reset the connection.

#![allow(clippy::unwrap_used)] // test helpers: a failure should panic the test

mod common;

use std::io;
use std::time::{Duration, Instant};

use common::honest::Honest;
use common::{Client, TestServer, input};
use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use tickwire_server::Config;
use tickwire_shared::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// WebSocket opcodes used here.
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;

/// The first complete server frame (unmasked) in `buf`: opcode, and the payload's range.
fn parse_frame(buf: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, header) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        len => (usize::from(len), 2),
    };
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    (buf.len() >= header + len).then_some((b0 & 0x0f, header..header + len))
}

/// A WebSocket client spoken by hand over a raw TCP socket.
struct Raw {
    stream: TcpStream,
    /// Bytes read but not yet taken as frames.
    buf: Vec<u8>,
    id: PlayerId,
}

impl Raw {
    /// Connects (with a receive buffer of `recv_buffer` bytes when given, set before
    /// connecting so the window is small from the start) and completes the handshake.
    async fn connect(server: &TestServer, recv_buffer: Option<u32>) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut stream = socket.connect(server.addr).await.unwrap();
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            server.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0; 1024];
            let n = tokio::time::timeout(common::WAIT, stream.read(&mut chunk))
                .await
                .expect("a handshake answer")
                .unwrap();
            assert!(n > 0, "the server hung up during the handshake");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        buf.drain(..end);
        Self { stream, buf, id: 0 }
    }

    /// Connects, greets as `name` and joins `room`.
    async fn joined(server: &TestServer, name: &str, room: &str, recv_buffer: Option<u32>) -> Self {
        let mut raw = Self::connect(server, recv_buffer).await;
        raw.send(&ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
        }))
        .await;
        match raw.recv().await {
            ServerMsg::Welcome(w) => raw.id = w.player_id,
            other => panic!("expected welcome, got {other:?}"),
        }
        raw.send(&ClientMsg::Join(Join {
            room: Some(room.into()),
            key: None,
        }))
        .await;
        match raw.recv().await {
            ServerMsg::Joined(_) => {}
            other => panic!("expected joined, got {other:?}"),
        }
        raw
    }

    async fn send(&mut self, msg: &ClientMsg) {
        let frame = common::wire::client_frame(0x80 | OP_BINARY, &encode_client(msg), true);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next server message (control frames skipped).
    async fn recv(&mut self) -> ServerMsg {
        loop {
            if let Some((opcode, payload)) = parse_frame(&self.buf) {
                let msg =
                    (opcode == OP_BINARY).then(|| ServerMsg::decode(&self.buf[payload.clone()]));
                assert_ne!(opcode, OP_CLOSE, "closed by the server");
                self.buf.drain(..payload.end);
                if let Some(msg) = msg {
                    return msg.unwrap();
                }
                continue;
            }
            let mut chunk = [0; 4096];
            let n = tokio::time::timeout(common::WAIT, self.stream.read(&mut chunk))
                .await
                .expect("a message within the wait")
                .unwrap();
            assert!(n > 0, "the connection ended");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads everything until the connection ends (or `within` passes); returns how many
    /// bytes came, the close code and reason if a complete close frame was among them, and
    /// how the stream ended (`None`: it had not ended in time).
    async fn drain(
        mut self,
        within: Duration,
    ) -> (usize, Option<(u16, String)>, Option<io::Result<()>>) {
        let deadline = tokio::time::Instant::now() + within;
        let mut bytes = std::mem::take(&mut self.buf);
        let mut chunk = vec![0; 64 * 1024];
        let end = loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => break None,
                Ok(Ok(0)) => break Some(Ok(())),
                Ok(Ok(n)) => bytes.extend_from_slice(&chunk[..n]),
                Ok(Err(err)) => break Some(Err(err)),
            }
        };
        let mut close = None;
        let mut at = 0;
        while let Some((opcode, payload)) = parse_frame(&bytes[at..]) {
            if opcode == OP_CLOSE && payload.len() >= 2 {
                let body = &bytes[at + payload.start..at + payload.end];
                let reason = String::from_utf8_lossy(&body[2..]).to_string();
                close = Some((u16::from_be_bytes([body[0], body[1]]), reason));
            }
            at += payload.end;
        }
        (bytes.len(), close, end)
    }
}

/// How a raw TCP peer's connection ended.
#[derive(Debug, PartialEq, Eq)]
enum PeerEnd {
    /// Read returned 0.
    Eof,
    /// Read or write failed (reset, broken pipe).
    Failed(io::ErrorKind),
    /// The server sent bytes: the handshake went further than it should have.
    Answered,
}

/// Reads `stream` until the server drops it, writing one byte of `trickle` every 25 ms
/// meanwhile (cycling); returns how it ended and when.
async fn until_dropped(mut stream: TcpStream, trickle: &[u8]) -> (PeerEnd, Instant) {
    let mut pace = tokio::time::interval(Duration::from_millis(25));
    let mut next = trickle.iter().cycle();
    let mut buf = [0; 256];
    let end = tokio::time::timeout(common::WAIT, async {
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => return match read {
                    Ok(0) => PeerEnd::Eof,
                    Ok(_) => PeerEnd::Answered,
                    Err(err) => PeerEnd::Failed(err.kind()),
                },
                _ = pace.tick(), if !trickle.is_empty() => {
                    let byte = *next.next().unwrap();
                    if let Err(err) = stream.write_all(&[byte]).await {
                        return PeerEnd::Failed(err.kind());
                    }
                }
            }
        }
    })
    .await
    .expect("the server drops the peer within the wait");
    (end, Instant::now())
}

#[tokio::test]
async fn peers_that_never_complete_the_handshake_are_dropped() {
    let timeout = Duration::from_millis(300);
    let config = Config {
        handshake_timeout_ms: timeout.as_millis() as u64,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let honest = Honest::join(&server, "r").await;

    let started = Instant::now();
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let slow = TcpStream::connect(server.addr).await.unwrap();
    // An HTTP request a byte every 25 ms, never finished: no blank line ever ends it.
    let request = b"GET / HTTP/1.1\r\nHost: tickwire\r\nX-Slow: 1\r\nX-Slow: 1\r\nX-Slow: 1\r\n";
    let ((silent_end, silent_at), (slow_end, slow_at)) =
        tokio::join!(until_dropped(silent, b""), until_dropped(slow, request));
    for (who, end, at) in [
        ("silent", silent_end, silent_at),
        ("slow", slow_end, slow_at),
    ] {
        let after = at - started;
        assert!(
            matches!(end, PeerEnd::Eof | PeerEnd::Failed(_)),
            "{who}: dropped, not answered: {end:?}"
        );
        assert!(
            after >= timeout - Duration::from_millis(20)
                && after <= timeout + Duration::from_secs(1),
            "{who}: dropped after {after:?}, with a handshake timeout of {timeout:?}"
        );
    }

    // The server still takes handshakes.
    let mut late = Client::greeted(&server, "late").await;
    late.send(ClientMsg::Ping(Ping { client_time: 1.0 })).await;
    late.recv_where(|m| matches!(m, ServerMsg::Pong(_))).await;
    honest.finish().await.assert_steady();
    // Hung up, so that the shutdown does not wait out its grace for a close nobody reads.
    drop(late);
    server.stop().await;
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Tries a WebSocket handshake; the HTTP status when it is refused.
async fn try_connect(server: &TestServer) -> Result<Ws, u16> {
    let attempt = tokio::time::timeout(
        Duration::from_secs(2),
        tokio_tungstenite::connect_async(server.url()),
    )
    .await
    .expect("the server answers the handshake at once, with an upgrade or a refusal");
    match attempt {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(err) => panic!("the handshake failed without an HTTP answer: {err}"),
    }
}

/// Closes `ws` cleanly and waits until the server has answered the close.
async fn close_cleanly(mut ws: Ws) {
    ws.close(None).await.unwrap();
    let _ = common::honest::ending(&mut ws, common::WAIT).await;
}

/// Says hello on a bare WebSocket and expects a welcome.
async fn greet(ws: &mut Ws, name: &str) {
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
    });
    ws.send(Message::Binary(encode_client(&hello)))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(common::WAIT, ws.next())
            .await
            .expect("a welcome within the wait");
        if let Some(Ok(Message::Binary(bytes))) = frame {
            let msg = ServerMsg::decode(&bytes).unwrap();
            assert!(matches!(msg, ServerMsg::Welcome(_)), "{msg:?}");
            return;
        }
        assert!(matches!(frame, Some(Ok(_))), "{frame:?}");
    }
}

/// Retries the handshake until it is accepted: the server frees a closed connection's
/// place when it drops the connection, just after the peer has seen the socket end, so
/// the first retry or the next gets in. Every refusal must have `status`.
async fn connect_once_freed(server: &TestServer, status: u16) -> Ws {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match try_connect(server).await {
            Ok(c) => return c,
            Err(got) => assert_eq!(got, status, "refused with another status"),
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection's place was never freed"
        );
    }
}

/// Fills a connection limit with the honest player (in a room) and `others` greeted
/// clients; then further handshakes are refused with `status` before the upgrade, one gets
/// in once a client has closed, and the refusals themselves took no place.
async fn a_full_limit_refuses_with(config: Config, others: usize, status: u16) {
    let server = TestServer::start(config).await;
    let honest = Honest::join(&server, "r").await;
    let mut greeted = Vec::new();
    for i in 0..others {
        greeted.push(Client::greeted(&server, &format!("other{i}")).await);
    }
    for _ in 0..3 {
        assert_eq!(
            try_connect(&server).await.err(),
            Some(status),
            "over the limit"
        );
    }
    close_cleanly(greeted.pop().unwrap().ws).await;
    let mut newcomer = connect_once_freed(&server, status).await;
    assert_eq!(
        try_connect(&server).await.err(),
        Some(status),
        "refusals took no place: the limit is full again"
    );
    greet(&mut newcomer, "newcomer").await;
    honest.finish().await.assert_steady();
    drop((greeted, newcomer));
    server.stop().await;
}

/// `max_connections_per_ip: 2`, applied to loopback too: a third connection gets 429.
#[tokio::test]
async fn a_third_connection_from_one_address_is_refused_with_429() {
    let config = Config {
        max_connections_per_ip: 2,
        limit_loopback: true,
        ..Config::default()
    };
    a_full_limit_refuses_with(config, 1, 429).await;
}

/// `max_connections: 3`: a fourth connection gets 503.
#[tokio::test]
async fn a_connection_beyond_the_global_limit_is_refused_with_503() {
    let config = Config {
        max_connections: 3,
        ..Config::default()
    };
    a_full_limit_refuses_with(config, 2, 503).await;
}

/// Players that read (and drop) everything, so the room's snapshots are big.
async fn fillers(server: &TestServer, room: &str, count: usize, stop: &CancellationToken) {
    let names: Vec<String> = (0..count).map(|i| format!("filler{i}")).collect();
    let mut joined = Vec::new();
    // In batches: a room's queue of joins is bounded, and a join beyond it is refused with
    // UNAVAILABLE.
    for batch in names.chunks(32) {
        joined.extend(
            join_all(
                batch
                    .iter()
                    .map(|name| Raw::joined(server, name, room, None)),
            )
            .await,
        );
    }
    for mut filler in joined {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut buf = vec![0; 64 * 1024];
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    read = filler.stream.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    },
                }
            }
        });
    }
}

/// A client that joins and then never reads: its socket buffers fill (the server's send
/// buffer is 256 KiB, doubled by the kernel; ours is shrunk), its writes stall, and after
/// `stall_timeout_ms` the server closes it. 150 players make each snapshot ~5 KB, so the
/// buffers fill in about 1.5 s (measured: ~360 KB buffered after 1 s, ~470 KB, full, after
/// 2 s).
#[tokio::test]
async fn a_client_that_never_reads_is_closed_after_the_stall_timeout() {
    const FILLERS: usize = 150;
    let stall = Duration::from_millis(500);
    let config = Config {
        stall_timeout_ms: stall.as_millis() as u64,
        // Whole snapshots only, so that the sleeper's buffers fill within the test.
        keyframe_interval: 1,
        max_room_players: 256,
        // A stalled player keeps its seat for a resume; short here, so the leave is seen.
        resume_grace_ms: 200,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let stop = CancellationToken::new();
    fillers(&server, "big", FILLERS, &stop).await;
    let mut honest = Honest::join(&server, "big").await;
    let sleeper = Raw::joined(&server, "sleeper", "big", Some(4096)).await;
    let id = sleeper.id;
    let stopped_reading = Instant::now();

    honest
        .wait_for_within(
            Duration::from_secs(4),
            "PlayerLeft for the sleeper",
            |m| matches!(m, ServerMsg::PlayerLeft(left) if left.id == id),
        )
        .await;
    let closed_after = stopped_reading.elapsed();
    assert!(
        closed_after >= stall,
        "closed after {closed_after:?}: too early"
    );
    let (drained, close, end) = sleeper.drain(Duration::from_secs(2)).await;
    match (close, &end) {
        (Some((code, reason)), _) => assert_eq!(code, 1008, "closed as too slow: {reason}"),
        (None, Some(_)) => {} // the socket ended (EOF or reset) after what was buffered
        (None, None) => panic!("the sleeper's connection did not end"),
    }
    if let Some(Ok(())) = end {
        // Nothing was thrown away, so all that was buffered arrived: it was a real stall.
        assert!(
            drained >= 256 * 1024,
            "the buffers were full: {drained} bytes were waiting (closed after {closed_after:?})"
        );
    }
    let watch = honest.finish().await;
    watch.assert_steady();
    assert_eq!(
        watch.last.unwrap().len(),
        FILLERS + 1,
        "only the sleeper left"
    );
    // Counted as stalled, and nobody else was closed.
    let metrics = server.admin_get("/metrics").await.1;
    let closed = |reason: &str| {
        let series = format!("tickwire_connections_closed_total{{reason=\"{reason}\"}}");
        common::metric_value(&metrics, &series)
    };
    assert_eq!(closed("stalled"), 1.0);
    assert_eq!(closed("slow") + closed("abnormal") + closed("flood"), 0.0);
    stop.cancel();
    server.stop().await;
}

/// Raw clients that write half of a masked frame and then reset the connection (or
/// half-close it): the room sees them gone and, once their resume grace is over, tells the
/// honest player.
#[tokio::test]
async fn a_connection_cut_mid_frame_is_seen_as_leaving() {
    let server = TestServer::start(Config {
        resume_grace_ms: 200,
        ..Config::default()
    })
    .await;
    let mut honest = Honest::join(&server, "r").await;
    let mut resetter = Raw::joined(&server, "resetter", "r", None).await;
    let mut quitter = Raw::joined(&server, "quitter", "r", None).await;
    let frame = common::wire::client_frame(
        0x80 | OP_BINARY,
        &encode_client(&input(1, [1.0, 0.0])),
        true,
    );
    let half = &frame[..frame.len() / 2];

    // Reset: SO_LINGER 0, then close, sends RST.
    resetter.stream.write_all(half).await.unwrap();
    let started = Instant::now();
    socket2::SockRef::from(&resetter.stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    let id = resetter.id;
    drop(resetter);
    honest.sees_leave(id).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "seen after the grace"
    );

    // Half-close: FIN after half a frame; the socket stays open for reading.
    quitter.stream.write_all(half).await.unwrap();
    let started = Instant::now();
    quitter.stream.shutdown().await.unwrap();
    honest.sees_leave(quitter.id).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "seen after the grace"
    );
    drop(quitter);

    let watch = honest.finish().await;
    watch.assert_steady_and_alone();
    server.stop().await;
}
