//! Fake cluster nodes for the bot's tests: tiny WebSocket servers on free ports of
//! 127.0.0.1 that speak the protocol (tickwire_shared's codec) by a script, so that a test
//! makes exactly the cluster it needs (a redirect with a ticket, a refused resume, a node
//! killed or draining) without a real cluster behind it.
//!
//! A script answers each client message with [`Reply`]s. After a `Redirect` the node
//! closes the connection (1000), as a real node does. [`Reply::Play`] starts the room's
//! snapshots (empty keyframes, every [`SNAPSHOT_EVERY`]) and says what happens after a
//! number of them: nothing more, a reset (the node killed), or a notice and a redirect
//! then a close with 1001 (the node draining). What each connection heard comes out of
//! [`FakeNode::next_heard`] once it ends. Dropping the node stops its accept loop; its
//! connections end with the bots'.

#![allow(dead_code)] // each test file uses its own part of this

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::schema::InputField;
use tickwire_shared::{
    ClientMsg, Joined, Notice, PROTOCOL_VERSION, Redirect, Schema, ServerMsg, Snapshot, Welcome,
    encode_server,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// How often a playing connection gets a snapshot.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(20);

/// How long a test waits for something it is owed before it fails.
const WAIT: Duration = Duration::from_secs(10);

/// What a node does in answer to a client message.
pub enum Reply {
    /// Sends this message; after a `Redirect`, closes the connection (1000).
    Send(ServerMsg),
    /// Starts the room's snapshots, and after `count` of them does `then`.
    Play { count: u32, then: Then },
}

/// What a playing connection comes to.
pub enum Then {
    /// Snapshots until the bot closes.
    Forever,
    /// A reset, no close frame: the node was killed.
    Kill,
    /// An operator's notice, then this redirect and a close with 1001: the node drains.
    Drain(Redirect),
}

/// What a node knows of one connection when its script answers.
pub struct Conn {
    /// The hello's name, once it came (`bot-3`).
    pub name: String,
    /// The player id this node gives it: the bot's number plus one, so that every node
    /// gives a bot the same id, as a resume on the session's node must.
    pub player_id: u32,
}

type Script = dyn Fn(&ClientMsg, &Conn) -> Vec<Reply> + Send + Sync;

/// A node bound to its port, before it serves: its URL is known, for scripts that name it.
pub struct Bound {
    pub url: String,
    listener: TcpListener,
}

/// A serving node.
pub struct FakeNode {
    pub url: String,
    heard: mpsc::UnboundedReceiver<Vec<ClientMsg>>,
    connections: Arc<AtomicU32>,
    accept: JoinHandle<()>,
}

impl FakeNode {
    /// Binds a free port.
    pub async fn bind() -> Bound {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}", listener.local_addr().expect("address"));
        Bound { url, listener }
    }

    /// Binds a free port and serves `script` on it.
    pub async fn start(
        script: impl Fn(&ClientMsg, &Conn) -> Vec<Reply> + Send + Sync + 'static,
    ) -> Self {
        Self::bind().await.serve(script)
    }

    /// What the next connection to end heard, in order.
    pub async fn next_heard(&mut self) -> Vec<ClientMsg> {
        timeout(WAIT, self.heard.recv())
            .await
            .expect("a connection ends in time")
            .expect("the node is up")
    }

    /// What the next `n` connections to end heard.
    pub async fn heard(&mut self, n: usize) -> Vec<Vec<ClientMsg>> {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(self.next_heard().await);
        }
        all
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Bound {
    /// Serves `script` on every connection that comes.
    pub fn serve(
        self,
        script: impl Fn(&ClientMsg, &Conn) -> Vec<Reply> + Send + Sync + 'static,
    ) -> FakeNode {
        let script: Arc<Script> = Arc::new(script);
        let (sender, heard) = mpsc::unbounded_channel();
        let connections = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&connections);
        let listener = self.listener;
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(tcp, Arc::clone(&script), sender.clone()));
            }
        });
        FakeNode {
            url: self.url,
            heard,
            connections,
            accept,
        }
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// The snapshots of a playing connection.
struct Playing {
    ticks: tokio::time::Interval,
    tick: u64,
    left: u32,
    then: Then,
}

/// How a connection ended.
enum Ending {
    /// The bot closed or went away.
    Bot,
    /// The node sent a redirect: close with this code.
    Redirected(CloseCode),
    Kill,
}

async fn connection(
    tcp: TcpStream,
    script: Arc<Script>,
    out: mpsc::UnboundedSender<Vec<ClientMsg>>,
) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let mut conn = Conn {
        name: String::new(),
        player_id: 1,
    };
    let mut heard = Vec::new();
    let mut playing: Option<Playing> = None;
    let ending = loop {
        tokio::select! {
            frame = ws.next() => {
                let frame = match frame {
                    Some(Ok(Message::Binary(frame))) => frame,
                    // Closing: tungstenite answers, and the stream ends after.
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break Ending::Bot,
                };
                let msg = ClientMsg::decode(&frame).expect("the bot speaks the protocol");
                if let ClientMsg::Hello(hello) = &msg {
                    conn.name.clone_from(&hello.name);
                    conn.player_id = number(&hello.name) + 1;
                }
                let replies = script(&msg, &conn);
                heard.push(msg);
                let mut redirected = false;
                for reply in replies {
                    match reply {
                        Reply::Send(answer) => {
                            redirected |= matches!(answer, ServerMsg::Redirect(_));
                            if send(&mut ws, &answer).await.is_err() {
                                break;
                            }
                        }
                        Reply::Play { count, then } => {
                            let mut ticks = interval(SNAPSHOT_EVERY);
                            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                            playing = Some(Playing { ticks, tick: 0, left: count, then });
                        }
                    }
                }
                if redirected {
                    break Ending::Redirected(CloseCode::Normal);
                }
            }
            () = next_snapshot(&mut playing) => {
                let Some(play) = playing.as_mut() else {
                    continue;
                };
                play.tick += 1;
                let snapshot = Snapshot::keyframe(play.tick, now_ms(), 0, Vec::new());
                if send(&mut ws, &ServerMsg::Snapshot(snapshot)).await.is_err() {
                    break Ending::Bot;
                }
                play.left = play.left.saturating_sub(1);
                if play.left > 0 {
                    continue;
                }
                match std::mem::replace(&mut play.then, Then::Forever) {
                    Then::Forever => play.left = u32::MAX,
                    Then::Kill => break Ending::Kill,
                    Then::Drain(redirect) => {
                        let notice = ServerMsg::Notice(Notice {
                            text: "this node is going down for maintenance".into(),
                            to_all: true,
                            time_ms: now_ms(),
                        });
                        let _ = send(&mut ws, &notice).await;
                        let _ = send(&mut ws, &ServerMsg::Redirect(redirect)).await;
                        break Ending::Redirected(CloseCode::Away);
                    }
                }
            }
        }
    };
    match ending {
        Ending::Bot => {}
        Ending::Redirected(code) => {
            let bye = CloseFrame {
                code,
                reason: "go elsewhere".into(),
            };
            let _ = timeout(WAIT, async {
                let _ = ws.close(Some(bye)).await;
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        }
        Ending::Kill => {
            // SO_LINGER 0: the kernel resets the connection, as it does for a killed
            // process whose socket still held unread bytes.
            let _ = socket2::SockRef::from(ws.get_ref()).set_linger(Some(Duration::ZERO));
            drop(ws);
        }
    }
    let _ = out.send(heard);
}

async fn next_snapshot(playing: &mut Option<Playing>) {
    match playing {
        Some(play) => {
            play.ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn send(
    ws: &mut WebSocketStream<TcpStream>,
    msg: &ServerMsg,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(Message::Binary(encode_server(msg))).await
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The number in a bot's name (`bot-7` is 7); 0 for any other name.
fn number(name: &str) -> u32 {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The arena's inputs, which the bots' game needs; no entity kinds (the snapshots are
/// empty).
pub fn schema() -> Schema {
    Schema::new("arena")
        .input(InputField::float("dx", -1.01, 1.01))
        .input(InputField::float("dy", -1.01, 1.01))
        .input(InputField::angle("facing"))
        .input(InputField::int("buttons", 0, 255))
}

/// The answer to a hello on `node`: the resume token names the node and the bot.
pub fn welcome(node: &str, conn: &Conn) -> Reply {
    Reply::Send(ServerMsg::Welcome(Welcome {
        player_id: conn.player_id,
        tick_rate: 60,
        protocol_version: PROTOCOL_VERSION,
        resume_token: token(node, &conn.name),
        user_id: format!("anon-{}", conn.player_id),
    }))
}

/// The resume token `node` gives `name`.
pub fn token(node: &str, name: &str) -> String {
    format!("{node}/{name}")
}

/// `Joined` for room `room`.
pub fn joined(room: &str) -> Reply {
    Reply::Send(ServerMsg::Joined(Joined {
        room: room.to_owned(),
        players: Vec::new(),
        schema: schema(),
    }))
}

/// A redirect to `url`.
pub fn redirect(url: &str, ticket: Option<String>, in_reply_to: Option<u8>) -> Redirect {
    Redirect {
        url: url.to_owned(),
        room: Some("bots-0".into()),
        ticket,
        in_reply_to,
    }
}

/// Snapshots until the bot closes.
pub fn play() -> Reply {
    Reply::Play {
        count: u32::MAX,
        then: Then::Forever,
    }
}

/// The kinds of `heard`'s messages, in order, without the inputs and pings of play.
pub fn requests(heard: &[ClientMsg]) -> Vec<u8> {
    heard
        .iter()
        .filter(|m| !matches!(m, ClientMsg::Input(_) | ClientMsg::Ping(_)))
        .map(ClientMsg::kind)
        .collect()
}
