//! A real server on `127.0.0.1:0` and a small WebSocket test client that speaks the wire.

#![allow(dead_code)] // each test file uses its own part of this
#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test
#[path = "../arena/mod.rs"]
pub mod arena;
pub mod cluster;
pub mod honest;
pub mod process;
pub mod redis;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tickwire_server::Config;
use tickwire_shared::*;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

pub use tickwire_server::testing::{LocalServer, http_get, metric_value};

/// How long any single expected message may take before a test fails.
pub use tickwire_server::testing::WAIT;

pub struct TestServer {
    pub addr: SocketAddr,
    /// The admin endpoint (`/healthz`, `/metrics`, `/rooms`).
    pub admin_addr: SocketAddr,
    pub shutdown: CancellationToken,
    /// `None` for a server this test did not start in-process.
    local: Option<LocalServer>,
}

impl TestServer {
    /// Starts a server. Unless the test chose one, its shutdown grace is short: test
    /// clients that are not being read never answer a close, and waiting the full default
    /// for them only slows the suite.
    pub async fn start(mut config: Config) -> Self {
        if config.shutdown_grace_ms == Config::default().shutdown_grace_ms {
            config.shutdown_grace_ms = 200;
        }
        let local = LocalServer::start(config).await;
        Self {
            addr: local.addr,
            admin_addr: local.admin_addr,
            shutdown: local.shutdown().clone(),
            local: Some(local),
        }
    }

    /// A server running elsewhere (another process), to point test clients at.
    pub fn external(addr: SocketAddr, admin_addr: SocketAddr) -> Self {
        Self {
            addr,
            admin_addr,
            shutdown: CancellationToken::new(),
            local: None,
        }
    }

    /// GETs `path` from the admin endpoint; returns the status and the body.
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        http_get(self.admin_addr, path).await
    }

    /// The value of one metric series, e.g. `tickwire_connections_closed_total{reason="flood"}`
    /// (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.admin_get("/metrics").await;
        metric_value(&text, series)
    }

    /// Polls `/metrics` until `series` is `want`; panics when it is not within [`WAIT`].
    pub async fn await_metric(&self, series: &str, want: f64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.metric(series).await;
            if got == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{series} is {got}, expected {want}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Shuts down and waits for the server to return.
    pub async fn stop(self) {
        self.local
            .expect("stop only a server this test started")
            .stop()
            .await;
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub id: PlayerId,
    /// The newest resume token the server gave this client.
    pub token: String,
    /// The room as rebuilt from every snapshot received so far.
    pub replica: Replica,
    /// The `Welcome`'s tick rate (the default until one arrives).
    pub tick_rate: u16,
    /// The room's game, from its `Joined` or `Resumed`: snapshots are read with it.
    pub schema: Option<Schema>,
}

/// A snapshot as the client sees it once applied: the whole state it holds.
#[derive(Debug, Clone)]
pub struct Seen {
    pub tick: u64,
    pub keyframe: bool,
    /// The newest of this client's inputs the room had applied (0: none).
    pub ack: u32,
    /// Every entity the client holds, in wire order.
    pub entities: Vec<Entity>,
}

impl Seen {
    /// Entity `id` (a player's own entity has the player's id).
    pub fn entity(&self, id: EntityId) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }
}

impl Client {
    pub async fn connect(server: &TestServer) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(server.url())
            .await
            .unwrap();
        Self::over(ws)
    }

    /// A client on a WebSocket connected some other way.
    pub fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            ws,
            id: 0,
            token: String::new(),
            replica: Replica::new(),
            tick_rate: 60,
            schema: None,
        }
    }

    /// Connects and says hello; remembers the player id.
    pub async fn greeted(server: &TestServer, name: &str) -> Self {
        let mut c = Self::connect(server).await;
        c.send(ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
        }))
        .await;
        match c.recv().await {
            ServerMsg::Welcome(w) => {
                c.id = w.player_id;
                c.token = w.resume_token;
            }
            other => panic!("expected welcome, got {other:?}"),
        }
        c
    }

    /// Greets, joins `room` and returns the `Joined` answer.
    pub async fn joined(server: &TestServer, name: &str, room: Option<&str>) -> (Self, Joined) {
        let mut c = Self::greeted(server, name).await;
        c.send(ClientMsg::Join(Join {
            room: room.map(Into::into),
            key: None,
        }))
        .await;
        let joined = c.recv_where(|m| matches!(m, ServerMsg::Joined(_))).await;
        let ServerMsg::Joined(joined) = joined else {
            unreachable!()
        };
        (c, joined)
    }

    /// Connects and resumes with `token`; returns the client and the server's answer
    /// (`Resumed`, or the `Error` that refused it).
    pub async fn resuming(server: &TestServer, token: &str) -> (Self, ServerMsg) {
        let mut c = Self::connect(server).await;
        c.send(ClientMsg::Resume(Resume {
            token: token.into(),
        }))
        .await;
        let answer = c
            .recv_where(|m| matches!(m, ServerMsg::Resumed(_) | ServerMsg::Error(_)))
            .await;
        if let ServerMsg::Resumed(r) = &answer {
            c.id = r.player_id;
            c.token = r.resume_token.clone();
        }
        (c, answer)
    }

    /// Drops the connection abruptly: a TCP reset, no close frame.
    pub fn reset(self) {
        let MaybeTlsStream::Plain(tcp) = self.ws.into_inner() else {
            unreachable!("tests use plain TCP")
        };
        socket2::SockRef::from(&tcp)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(tcp);
    }

    pub async fn send(&mut self, msg: ClientMsg) {
        self.send_raw(encode_client(&msg).to_vec()).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(bytes.into())).await.unwrap();
    }

    /// The next frame, whatever it is, or `None` when the connection ends.
    pub async fn next_frame(&mut self) -> Option<Message> {
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            Ok(_) => None,
            Err(_) => panic!("no frame within {WAIT:?}"),
        }
    }

    /// The next server message (of any type). A snapshot is applied to the replica on
    /// the way, and any error applying it (a wrong base, a hash mismatch) fails the test:
    /// a client that reads every frame always holds the base of the next delta.
    pub async fn recv(&mut self) -> ServerMsg {
        loop {
            match self.next_frame().await {
                Some(Message::Binary(b)) => {
                    let msg = ServerMsg::decode(&b).unwrap();
                    match &msg {
                        ServerMsg::Welcome(w) => self.tick_rate = w.tick_rate,
                        ServerMsg::Joined(j) => self.schema = Some(j.schema.clone()),
                        ServerMsg::Resumed(r) => {
                            if let Some(schema) = &r.schema {
                                self.schema = Some(schema.clone());
                            }
                        }
                        ServerMsg::Snapshot(s) => {
                            let Some(schema) = &self.schema else {
                                panic!("player {}: a snapshot before Joined or Resumed", self.id);
                            };
                            if let Err(err) = self.replica.apply(s, schema, self.tick_rate) {
                                panic!("player {}: snapshot of tick {}: {err}", self.id, s.tick);
                            }
                        }
                        _ => {}
                    }
                    return msg;
                }
                Some(Message::Ping(_) | Message::Pong(_)) => {}
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }
    }

    /// Skips messages until one matches.
    pub async fn recv_where(&mut self, want: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no matching message"
            );
            let msg = self.recv().await;
            if want(&msg) {
                return msg;
            }
        }
    }

    /// The next error, skipping snapshots and events.
    pub async fn recv_error(&mut self) -> Error {
        match self.recv_where(|m| matches!(m, ServerMsg::Error(_))).await {
            ServerMsg::Error(e) => e,
            _ => unreachable!(),
        }
    }

    /// The next snapshot, skipping anything else, as the state the client then holds.
    pub async fn recv_snapshot(&mut self) -> Seen {
        match self
            .recv_where(|m| matches!(m, ServerMsg::Snapshot(_)))
            .await
        {
            ServerMsg::Snapshot(s) => self.seen(&s),
            _ => unreachable!(),
        }
    }

    /// What the client holds after `snap`, the snapshot [`Client::recv`] just applied.
    pub fn seen(&self, snap: &Snapshot) -> Seen {
        Seen {
            tick: snap.tick,
            keyframe: snap.is_keyframe(),
            ack: snap.ack,
            entities: self.replica.entities().to_vec(),
        }
    }

    /// Reads until the server closes; returns the close code and reason.
    pub async fn recv_close(&mut self) -> (u16, String) {
        loop {
            match self.next_frame().await {
                Some(Message::Close(Some(frame))) => {
                    return (frame.code.into(), frame.reason.to_string());
                }
                Some(Message::Close(None)) | None => panic!("closed without a code"),
                Some(_) => {}
            }
        }
    }
}

/// The arena's input `seq`: run toward `dir`, face along +x.
pub fn input(seq: u32, dir: [f32; 2]) -> ClientMsg {
    arena::input(seq, dir)
}
