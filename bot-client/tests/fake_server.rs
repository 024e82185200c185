//! The swarm against a small fake server in this process, which can misbehave on purpose:
//! pins what the bots measure and count (errors by kind, disconnects, failed connects,
//! drops, resumes and reconnects, re-sent inputs, chat acks, lost and disordered chat,
//! tokens, what misbehaving bots provoke, keyframes and deltas and what they rebuilt)
//! without depending on the real server's behaviour. Like the real one, it answers bad
//! frames with `Error` messages and closes on text (1003) and oversize (1009) frames; it
//! keeps a player's session (and its input filter) across a dropped connection for
//! `Resume`, forever (it has no grace period); and it speaks protocol 3: each connection's
//! snapshots start with a keyframe, then are deltas against the previous one with a keyframe
//! every [`KEYFRAME_EVERY`], of a room with the player and two others, one of whom keeps
//! coming and going (see [`Feed`]).

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::SplitSink;
use futures::{SinkExt as _, StreamExt as _};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tickwire_bot::{ReconnectPolicy, Report, SwarmConfig, run};
use tickwire_shared::quant::wrap_facing;
use tickwire_shared::{
    ChatAck, ChatMessage, ClientMsg, Error, ErrorCode, Joined, PlayerState, Pong, Resumed,
    ServerMsg, Snapshot, Welcome, encode_server,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// The real server's default frame limit.
const MAX_FRAME: usize = 4096;

/// The real server's default chat history.
const HISTORY: usize = 50;

/// Ticks (and snapshots) per second, as the fake's `Welcome` says.
const TICK_RATE: u16 = 60;

/// Every this many snapshots on a connection, one is a keyframe (the first always is).
const KEYFRAME_EVERY: u64 = 30;

/// The ids of the fake's two other players: beyond any id it gives a connection.
const OTHERS: u32 = 1_000_000;

/// How the fake server treats each client.
#[derive(Debug, Clone, Copy, Default)]
struct Behaviour {
    /// Answer the join with an `Error` instead of `Joined`.
    refuse_join: bool,
    /// Right after `Joined`, send an `Error`, a text frame and an undecodable binary frame.
    send_junk: bool,
    /// Close the connection this long after `Joined`.
    close_after: Option<Duration>,
    /// Refuse every resume with `RESUME_REFUSED`.
    refuse_resume: bool,
    /// Snapshots acknowledge inputs this many behind the newest applied, so that a drop
    /// always leaves applied inputs unacknowledged, which a resumed bot sends again.
    ack_lag: u32,
    /// Send an accepted chat's message to its sender this long after the ack rather than at
    /// once, so that a drop in between cuts it off and only a history brings it back.
    echo_delay: Option<Duration>,
    /// Never send the message of every n-th accepted chat on a connection.
    skip_echo_every: Option<u64>,
    /// Send the messages of each pair of accepted chats in the wrong order.
    swap_echoes: bool,
    /// Refuse every n-th chat on a connection as `rate_limited`.
    refuse_chat_every: Option<u64>,
    /// Demand an HS256 token with this secret in the `token` query parameter; 401 without.
    auth_secret: Option<&'static str>,
    /// The n-th snapshot on each connection (a delta) carries a wrong state hash.
    wrong_hash_at: Option<u64>,
    /// The n-th snapshot on each connection is a delta against a tick the client does not
    /// hold, as if the one before had not gone out; the fake carries on from the base the
    /// client does hold.
    phantom_base_at: Option<u64>,
}

/// What the fake server saw, over all its connections.
#[derive(Debug, Default)]
struct Seen {
    /// Connections that ended with a TCP reset rather than a close or a FIN.
    resets: AtomicU32,
    /// Resumes taken back.
    resumes: AtomicU64,
    /// Resumes refused on purpose (`refuse_resume`).
    refused_resumes: AtomicU64,
    /// Resumes presenting a token that is not the player's newest: unknown or spent.
    stale_tokens: AtomicU64,
    /// Inputs whose number the player's filter had applied already: sent again.
    repeated_inputs: AtomicU64,
    /// Inputs that skipped numbers: some input never arrived.
    input_gaps: AtomicU64,
    /// Accepted chats whose message was skipped on purpose.
    echoes_skipped: AtomicU64,
    /// Pairs of chat messages sent in the wrong order on purpose.
    echoes_swapped: AtomicU64,
    /// Delayed chat messages whose connection ended before they were sent.
    echoes_cut_off: AtomicU64,
    /// `(sub, name)` of every token accepted.
    tokens: Mutex<Vec<(String, String)>>,
}

/// A player, kept across its connections for `Resume`.
#[derive(Debug)]
struct Player {
    name: String,
    room: Option<String>,
    /// The input filter: the newest input number applied.
    applied: u32,
}

/// A room's chat.
#[derive(Debug, Default)]
struct RoomChat {
    next_id: u64,
    history: VecDeque<ChatMessage>,
}

/// What the fake's connections share.
#[derive(Debug, Default)]
struct World {
    next_player: u32,
    next_token: u64,
    /// Each player's newest resume token, and only that one.
    tokens: HashMap<String, u32>,
    players: HashMap<u32, Player>,
    rooms: HashMap<String, RoomChat>,
}

impl World {
    fn token_for(&mut self, player: u32) -> String {
        self.next_token += 1;
        let token = format!("tok-{player}-{}", self.next_token);
        self.tokens.insert(token.clone(), player);
        token
    }
}

type Shared = Arc<Mutex<World>>;

fn lock(world: &Shared) -> std::sync::MutexGuard<'_, World> {
    world
        .lock()
        .expect("no fake connection panics holding the world")
}

/// Starts the fake server; returns its URL.
async fn fake_server(behaviour: Behaviour) -> String {
    fake_server_seeing(behaviour).await.0
}

/// Starts the fake server; returns its URL and what it sees.
async fn fake_server_seeing(behaviour: Behaviour) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("local address"));
    let seen = Arc::new(Seen::default());
    let world = Shared::default();
    let seen_by_server = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(
                tcp,
                behaviour,
                Arc::clone(&world),
                Arc::clone(&seen_by_server),
            ));
        }
    });
    (url, seen)
}

fn frame(msg: ServerMsg) -> Message {
    Message::Binary(encode_server(&msg))
}

fn error(code: ErrorCode, in_reply_to: Option<u8>) -> Message {
    frame(ServerMsg::Error(Error {
        code,
        message: "fake says no".into(),
        in_reply_to,
    }))
}

fn close(code: u16) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: "fake closes".into(),
    }))
}

/// Counts a reset, whether a read or a write met it.
fn note_reset(seen: &Seen, e: &tungstenite::Error) {
    if let tungstenite::Error::Io(io) = e {
        if io.kind() == std::io::ErrorKind::ConnectionReset {
            seen.resets.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct Claims {
    sub: String,
    name: String,
}

/// The upgrade, checking the token when the behaviour demands one.
async fn upgrade(
    tcp: TcpStream,
    behaviour: Behaviour,
    seen: &Seen,
) -> Option<WebSocketStream<TcpStream>> {
    let Some(secret) = behaviour.auth_secret else {
        return tokio_tungstenite::accept_async(tcp).await.ok();
    };
    // The shape tungstenite's handshake callback must have.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let token = request
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="));
        let claims = token.and_then(|token| {
            jsonwebtoken::decode::<Claims>(
                token,
                &DecodingKey::from_secret(secret.as_bytes()),
                &Validation::new(Algorithm::HS256),
            )
            .ok()
        });
        match claims {
            Some(data) => {
                let Claims { sub, name } = data.claims;
                seen.tokens.lock().expect("tokens").push((sub, name));
                Ok(response)
            }
            None => {
                let mut refusal = ErrorResponse::new(Some("bad token".into()));
                *refusal.status_mut() = StatusCode::UNAUTHORIZED;
                Err(refusal)
            }
        }
    };
    tokio_tungstenite::accept_hdr_async(tcp, check).await.ok()
}

type Tx = SplitSink<WebSocketStream<TcpStream>, Message>;

/// Sends a room's history to a connection that just joined or resumed.
async fn send_history(tx: &mut Tx, world: &Shared, room: &str) -> Result<(), tungstenite::Error> {
    let history: Vec<ChatMessage> = lock(world)
        .rooms
        .get(room)
        .map(|chat| chat.history.iter().cloned().collect())
        .unwrap_or_default();
    for msg in history {
        tx.feed(frame(ServerMsg::ChatMessage(msg))).await?;
    }
    tx.flush().await
}

async fn serve(tcp: TcpStream, behaviour: Behaviour, world: Shared, seen: Arc<Seen>) {
    let Some(ws) = upgrade(tcp, behaviour, &seen).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(TICK_RATE)));
    let mut feed = Feed::default();
    // The player this connection is, once it said hello or resumed.
    let mut id: Option<u32> = None;
    let mut room: Option<String> = None;
    let close_at = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(close_at);
    let mut chats: u64 = 0;
    let mut accepted: u64 = 0;
    let mut held: Option<ChatMessage> = None;
    let mut delayed: VecDeque<(Instant, ChatMessage)> = VecDeque::new();
    loop {
        let next_echo = delayed.front().map(|&(due, _)| due);
        tokio::select! {
            () = &mut close_at, if room.is_some() => {
                let _ = tx.send(Message::Close(None)).await;
                break;
            }
            () = sleep_until(next_echo.unwrap_or_else(Instant::now)), if next_echo.is_some() => {
                if let Some((_, msg)) = delayed.pop_front() {
                    if tx.send(frame(ServerMsg::ChatMessage(msg))).await.is_err() {
                        break;
                    }
                }
            }
            _ = ticks.tick(), if room.is_some() => {
                let Some(me) = id else { continue };
                let applied = lock(&world).players.get(&me).map_or(0, |p| p.applied);
                if let Err(e) = tx.send(frame(feed.next(me, applied, behaviour))).await {
                    note_reset(&seen, &e);
                    break;
                }
            }
            msg = rx.next() => {
                let bytes = match msg {
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Text(_))) => {
                        let _ = tx.send(close(1003)).await;
                        break;
                    }
                    Some(Err(e)) => {
                        note_reset(&seen, &e);
                        break;
                    }
                    _ => break,
                };
                if bytes.len() > MAX_FRAME {
                    let _ = tx.send(close(1009)).await;
                    break;
                }
                let msg = match ClientMsg::decode(&bytes) {
                    Ok(msg) => msg,
                    Err(e) => {
                        if tx.send(error(e.code(), e.kind())).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                let kind = Some(msg.kind());
                let reply = match msg {
                    ClientMsg::Hello(_) if id.is_some() => error(ErrorCode::BAD_STATE, kind),
                    ClientMsg::Hello(hello) => {
                        let mut w = lock(&world);
                        w.next_player += 1;
                        let me = w.next_player;
                        w.players.insert(me, Player { name: hello.name, room: None, applied: 0 });
                        id = Some(me);
                        frame(ServerMsg::Welcome(Welcome {
                            player_id: me,
                            tick_rate: TICK_RATE,
                            protocol_version: tickwire_shared::PROTOCOL_VERSION,
                            resume_token: w.token_for(me),
                            user_id: format!("anon-{me}"),
                        }))
                    }
                    ClientMsg::Resume(_) if id.is_some() => error(ErrorCode::BAD_STATE, kind),
                    ClientMsg::Resume(_) if behaviour.refuse_resume => {
                        seen.refused_resumes.fetch_add(1, Ordering::Relaxed);
                        error(ErrorCode::RESUME_REFUSED, kind)
                    }
                    ClientMsg::Resume(resume) => {
                        let back = {
                            let mut w = lock(&world);
                            match w.tokens.remove(&resume.token) {
                                Some(me) => {
                                    let token = w.token_for(me);
                                    let was_in = w.players.get(&me).and_then(|p| p.room.clone());
                                    let applied = w.players.get(&me).map_or(0, |p| p.applied);
                                    Some((me, token, was_in, applied))
                                }
                                None => None,
                            }
                        };
                        let Some((me, token, was_in, applied)) = back else {
                            seen.stale_tokens.fetch_add(1, Ordering::Relaxed);
                            if tx.send(error(ErrorCode::RESUME_REFUSED, kind)).await.is_err() {
                                break;
                            }
                            continue;
                        };
                        seen.resumes.fetch_add(1, Ordering::Relaxed);
                        id = Some(me);
                        room = was_in.clone();
                        let resumed = frame(ServerMsg::Resumed(Resumed {
                            player_id: me,
                            room: was_in.clone(),
                            players: vec![],
                            resume_token: token,
                        }));
                        // A full snapshot at once, then the room's history.
                        let sent = async {
                            tx.feed(resumed).await?;
                            tx.feed(frame(feed.next(me, applied, behaviour))).await?;
                            match &was_in {
                                Some(name) => send_history(&mut tx, &world, name).await,
                                None => tx.flush().await,
                            }
                        };
                        if sent.await.is_err() {
                            break;
                        }
                        continue;
                    }
                    ClientMsg::Join(_) if id.is_none() => error(ErrorCode::BAD_STATE, kind),
                    ClientMsg::Join(_) if room.is_some() => error(ErrorCode::NOT_IN_ROOM, kind),
                    ClientMsg::Join(_) if behaviour.refuse_join => frame(ServerMsg::Error(Error {
                        code: ErrorCode::ROOM_FULL,
                        message: "no space".into(),
                        in_reply_to: Some(1),
                    })),
                    ClientMsg::Join(join) => {
                        let name = join.room.expect("the bots name their room");
                        if let Some(me) = id {
                            if let Some(p) = lock(&world).players.get_mut(&me) {
                                p.room = Some(name.clone());
                            }
                        }
                        room = Some(name.clone());
                        if let Some(after) = behaviour.close_after {
                            close_at.as_mut().reset(Instant::now() + after);
                        }
                        let reply = frame(ServerMsg::Joined(Joined {
                            room: name.clone(),
                            players: vec![],
                        }));
                        if tx.send(reply).await.is_err() {
                            break;
                        }
                        if send_history(&mut tx, &world, &name).await.is_err() {
                            break;
                        }
                        if behaviour.send_junk {
                            tx.feed(frame(ServerMsg::Error(Error {
                                code: ErrorCode::INVALID_VALUE,
                                message: "just because".into(),
                                in_reply_to: None,
                            })))
                            .await
                            .expect("feed");
                            tx.feed(Message::text("hello?")).await.expect("send junk");
                            tx.feed(Message::Binary(vec![0xc1].into())).await.expect("send junk");
                            tx.flush().await.expect("send junk");
                        }
                        continue;
                    }
                    ClientMsg::Input(_) if room.is_none() => error(ErrorCode::NOT_IN_ROOM, kind),
                    ClientMsg::Input(input)
                        if !(input.dir[0].is_finite()
                            && input.dir[1].is_finite()
                            && input.facing.is_finite()) =>
                    {
                        error(ErrorCode::INVALID_VALUE, kind)
                    }
                    ClientMsg::Input(input) => {
                        let mut w = lock(&world);
                        if let Some(p) = id.and_then(|me| w.players.get_mut(&me)) {
                            if input.seq <= p.applied {
                                seen.repeated_inputs.fetch_add(1, Ordering::Relaxed);
                            } else {
                                if input.seq > p.applied + 1 {
                                    seen.input_gaps.fetch_add(1, Ordering::Relaxed);
                                }
                                p.applied = input.seq;
                            }
                        }
                        continue;
                    }
                    ClientMsg::Chat(chat) => {
                        let (Some(me), Some(in_room)) = (id, room.clone()) else {
                            let refused = chat_ack(chat.id, 0, Some("not_in_room"));
                            if tx.send(refused).await.is_err() {
                                break;
                            }
                            continue;
                        };
                        chats += 1;
                        if behaviour.refuse_chat_every.is_some_and(|n| chats % n == 0) {
                            if tx.send(chat_ack(chat.id, 0, Some("rate_limited"))).await.is_err() {
                                break;
                            }
                            continue;
                        }
                        let msg = {
                            let mut w = lock(&world);
                            let name = w.players.get(&me).map_or_else(String::new, |p| p.name.clone());
                            let chat_room = w.rooms.entry(in_room).or_default();
                            chat_room.next_id += 1;
                            let msg = ChatMessage {
                                server_id: chat_room.next_id,
                                from: me,
                                name,
                                text: String::from_utf8_lossy(&chat.text.0).into_owned(),
                                time_ms: 1,
                            };
                            chat_room.history.push_back(msg.clone());
                            if chat_room.history.len() > HISTORY {
                                chat_room.history.pop_front();
                            }
                            msg
                        };
                        if tx.feed(chat_ack(chat.id, msg.server_id, None)).await.is_err() {
                            break;
                        }
                        accepted += 1;
                        let mut now = Vec::new();
                        if behaviour.skip_echo_every.is_some_and(|n| accepted % n == 0) {
                            seen.echoes_skipped.fetch_add(1, Ordering::Relaxed);
                        } else if behaviour.swap_echoes {
                            match held.take() {
                                Some(first) => {
                                    seen.echoes_swapped.fetch_add(1, Ordering::Relaxed);
                                    now.push(msg);
                                    now.push(first);
                                }
                                None => held = Some(msg),
                            }
                        } else if let Some(delay) = behaviour.echo_delay {
                            delayed.push_back((Instant::now() + delay, msg));
                        } else {
                            now.push(msg);
                        }
                        let sent = async {
                            for msg in now {
                                tx.feed(frame(ServerMsg::ChatMessage(msg))).await?;
                            }
                            tx.flush().await
                        };
                        if sent.await.is_err() {
                            break;
                        }
                        continue;
                    }
                    ClientMsg::Ping(ping) => frame(ServerMsg::Pong(Pong {
                        client_time: ping.client_time,
                        server_tick: 1,
                    })),
                    ClientMsg::Leave(_) if room.is_some() => {
                        room = None;
                        continue;
                    }
                    ClientMsg::Leave(_) => error(ErrorCode::NOT_IN_ROOM, kind),
                    ClientMsg::Create(_) => error(ErrorCode::UNAVAILABLE, kind),
                };
                if tx.send(reply).await.is_err() {
                    break;
                }
            }
        }
    }
    seen.echoes_cut_off
        .fetch_add(delayed.len() as u64, Ordering::Relaxed);
}

/// One connection's snapshots: its own ticks from 1, a keyframe first and every
/// [`KEYFRAME_EVERY`], deltas against the previous snapshot in between.
#[derive(Debug, Default)]
struct Feed {
    /// Snapshots made on this connection: also the tick of the newest.
    made: u64,
    /// The tick and the players (in the client's order) of the last snapshot the client
    /// holds.
    held: Option<(u64, Vec<PlayerState>)>,
}

impl Feed {
    /// The next snapshot, in which player `me` has had inputs up to `applied` applied.
    fn next(&mut self, me: u32, applied: u32, behaviour: Behaviour) -> ServerMsg {
        self.made += 1;
        let tick = self.made;
        let now = room_at(tick, me, applied.saturating_sub(behaviour.ack_lag));
        let (mut snapshot, held) = match &self.held {
            Some((base_tick, base)) if (tick - 1) % KEYFRAME_EVERY != 0 => {
                delta(*base_tick, base, tick, &now)
            }
            _ => (keyframe(tick, &now), now),
        };
        if behaviour.phantom_base_at == Some(tick)
            && let Some(base) = snapshot.base_tick
        {
            // Against the snapshot before the one the client holds: refused, and the
            // client keeps what it has, which the next delta builds on.
            snapshot.base_tick = Some(base - 1);
        } else {
            if behaviour.wrong_hash_at == Some(tick) {
                snapshot.state_hash ^= 0x5a5a;
            }
            self.held = Some((tick, held));
        }
        ServerMsg::Snapshot(snapshot)
    }
}

/// The room at `tick`: the connection's player walking steadily, another one turning on
/// the spot, and a third walking that is there for 20 ticks and gone for the next 20.
fn room_at(tick: u64, me: u32, last_input_seq: u32) -> Vec<PlayerState> {
    let t = i32::try_from(tick).unwrap_or(i32::MAX / 1000);
    let mut players = vec![
        PlayerState {
            id: me,
            // 120 and -30 units/s are 200 and -50 steps a tick; off by a step or so.
            x: 5_000 + 200 * t + t % 3,
            y: 7_000 - 50 * t,
            vx: 120,
            vy: -30,
            facing: wrap_facing(3 * t),
            last_input_seq,
        },
        PlayerState {
            id: OTHERS + 1,
            x: -2_000,
            y: 300,
            vx: 0,
            vy: 0,
            facing: wrap_facing(7 * t),
            last_input_seq: 1,
        },
    ];
    if (tick / 20) % 2 == 0 {
        players.push(PlayerState {
            id: OTHERS + 2,
            x: 100 * t,
            y: 0,
            vx: 60,
            vy: 0,
            facing: 0,
            last_input_seq: u32::try_from(tick).unwrap_or(u32::MAX),
        });
    }
    players
}

fn keyframe(tick: u64, players: &[PlayerState]) -> Snapshot {
    Snapshot::keyframe(tick, 0, players.to_vec())
}

/// The delta from `base` (the client's players at `base_tick`, in its order) to `now`, and
/// the players the client then holds, in its order: the survivors of the base, then the
/// newcomers.
fn delta(
    base_tick: u64,
    base: &[PlayerState],
    tick: u64,
    now: &[PlayerState],
) -> (Snapshot, Vec<PlayerState>) {
    let snap = Snapshot::delta((base_tick, base), (tick, now), TICK_RATE, 0);
    let survivors = base
        .iter()
        .filter_map(|b| now.iter().find(|p| p.id == b.id));
    let held = survivors.chain(&snap.added).copied().collect();
    (snap, held)
}

fn chat_ack(id: u32, server_id: u64, refused: Option<&str>) -> Message {
    frame(ServerMsg::ChatAck(ChatAck {
        id,
        server_id,
        time_ms: u64::from(refused.is_none()),
        refused: refused.map(str::to_owned),
    }))
}

fn config(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        url,
        bots,
        rooms: 2,
        duration: Duration::from_millis(1500),
        ramp: Duration::from_millis(100),
        input_hz: 60.0,
        ping_hz: 4.0,
        progress: false,
        ..SwarmConfig::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn count(n: &AtomicU64) -> u64 {
    n.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_server_gets_a_clean_report() {
    let url = fake_server(Behaviour::default()).await;
    let r: Report = run(config(url, 6)).await.expect("a usable configuration");
    assert!(r.passed(), "{r}");
    assert_eq!((r.bots, r.connected, r.failed_to_connect), (6, 6, 0), "{r}");
    assert_eq!((r.errors, r.disconnects), (0, 0), "{r}");
    assert!(r.snapshot_rate_hz.mean > 50.0, "{r}");
    assert!(r.snapshot_rate_hz.min > 40.0, "{r}");
    assert!(r.snapshot_interval_ms.p50 > 10.0, "{r}");
    assert!(r.rtt_ms.p50 > 0.0 && r.rtt_ms.p99 >= r.rtt_ms.p50, "{r}");
    assert!(r.input_ack_ms.p50 > 0.0, "{r}");
    assert!(r.inputs_acked > r.inputs_sent / 2, "{r}");
    assert!(r.pongs >= 6 * 5, "{r}");
    // Deltas of the three players are some 20 bytes, at no less than 50 a second.
    assert!(r.bytes_in_per_bot_s > 50.0 * 20.0, "{r}");
    assert!(r.bytes_out_per_bot_s > 60.0 * 15.0, "{r}");
    assert!(r.chaos.is_none() && r.chat.is_none(), "{r}");

    // Every snapshot rebuilt the fake's room: a keyframe first and every 30th, deltas
    // between, all applied.
    let replica = &r.replica;
    assert_eq!(replica.keyframes + replica.deltas, r.snapshots, "{r}");
    assert_eq!(replica.applied, r.snapshots, "{r}");
    assert!(replica.keyframes >= 6 * 2, "{r}");
    assert!(replica.deltas > replica.keyframes * 20, "{r}");
    assert_eq!(
        (
            replica.hash_mismatches,
            replica.missing_base,
            replica.skipped_after_error,
            replica.replica_errors
        ),
        (0, 0, 0, 0),
        "{r}"
    );
    // The bot, the one turning on the spot, and half the time the one coming and going.
    assert!(
        replica.mean_players_held > 2.3 && replica.mean_players_held < 2.7,
        "{r}"
    );
    // Snapshots are most of what comes in; a delta costs far less than a keyframe.
    let snapshot_bytes = replica.keyframe_bytes_per_bot_per_s + replica.delta_bytes_per_bot_per_s;
    assert!(snapshot_bytes < r.bytes_in_per_bot_s, "{r}");
    assert!(snapshot_bytes > r.bytes_in_per_bot_s * 0.8, "{r}");
    let per_keyframe = replica.keyframe_bytes_per_bot_per_s / replica.keyframes as f64;
    let per_delta = replica.delta_bytes_per_bot_per_s / replica.deltas as f64;
    assert!(per_delta < per_keyframe / 2.0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_with_a_wrong_state_hash_is_a_mismatch_and_fails_the_run() {
    let url = fake_server(Behaviour {
        wrong_hash_at: Some(10),
        ..Behaviour::default()
    })
    .await;
    let r = run(config(url, 1)).await.expect("a usable configuration");
    assert!(!r.passed(), "{r}");
    let replica = &r.replica;
    assert_eq!(replica.hash_mismatches, 1, "{r}");
    assert_eq!(r.broken_promises(), 1, "{r}");
    assert_eq!(r.errors_by_kind.get("replica"), Some(&1), "{r}");
    assert_eq!(r.errors, 1, "{r}");
    assert!(
        r.problems
            .iter()
            .any(|p| p.starts_with("bot-0: replica: delta of tick 10: state hash")),
        "{r}"
    );
    // The copy is dropped: the deltas up to the next keyframe (at 31) cannot apply, and
    // are the mismatch's cost, not missing bases. After the keyframe all is well again.
    assert_eq!(replica.skipped_after_error, 20, "{r}");
    assert_eq!(
        (replica.missing_base, replica.replica_errors),
        (0, 0),
        "{r}"
    );
    assert!(replica.keyframes >= 2, "{r}");
    assert_eq!(replica.applied, r.snapshots - 21, "{r}");
    assert_eq!(r.connected, 1, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_against_a_base_the_bot_lacks_is_a_missing_base_not_an_error() {
    let url = fake_server(Behaviour {
        phantom_base_at: Some(10),
        ..Behaviour::default()
    })
    .await;
    let r = run(config(url, 2)).await.expect("a usable configuration");
    assert!(r.passed(), "{r}");
    assert_eq!((r.errors, r.broken_promises()), (0, 0), "{r}");
    let replica = &r.replica;
    // One per bot; each kept its copy, which the next delta applied to.
    assert_eq!(replica.missing_base, 2, "{r}");
    assert_eq!(
        (
            replica.hash_mismatches,
            replica.skipped_after_error,
            replica.replica_errors
        ),
        (0, 0, 0),
        "{r}"
    );
    assert_eq!(replica.applied, r.snapshots - 2, "{r}");
    assert!(r.inputs_acked > r.inputs_sent / 2, "{r}");
    assert!(
        r.to_string()
            .contains("hash mismatches 0, missing base 2, other errors 0"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_and_early_closes_are_counted() {
    let url = fake_server(Behaviour {
        send_junk: true,
        close_after: Some(Duration::from_millis(300)),
        ..Behaviour::default()
    })
    .await;
    let r = run(config(url, 4)).await.expect("a usable configuration");
    assert!(!r.passed(), "{r}");
    assert_eq!(r.connected, 4, "{r}");
    assert_eq!(r.disconnects, 4, "{r}");
    for kind in ["server_error", "text_frame", "decode"] {
        assert_eq!(r.errors_by_kind.get(kind), Some(&4), "{kind}: {r}");
    }
    // The fake server drops its sockets abruptly, so a bot that was sending at that
    // moment may also see a reset (a `websocket` error) on top of the three planted ones.
    let planted = 12;
    let resets = r.errors_by_kind.get("websocket").copied().unwrap_or(0);
    assert_eq!(r.errors, planted + resets, "{r}");
    assert!(resets <= 4, "{r}");
    assert!(r.problems.iter().any(|p| p.contains("just because")), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_join_is_a_failed_connect() {
    let url = fake_server(Behaviour {
        refuse_join: true,
        ..Behaviour::default()
    })
    .await;
    let r = run(config(url, 3)).await.expect("a usable configuration");
    assert!(!r.passed(), "{r}");
    assert_eq!((r.connected, r.failed_to_connect), (0, 3), "{r}");
    assert_eq!(r.errors_by_kind.get("connect"), Some(&3), "{r}");
    assert!(r.problems[0].contains("no space"), "{r}");
}

#[tokio::test]
async fn nobody_listening_fails_fast() {
    // Bind and drop to find a port nothing listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let started = std::time::Instant::now();
    let r = run(config(format!("ws://{addr}"), 3))
        .await
        .expect("a usable configuration");
    assert!(!r.passed(), "{r}");
    assert_eq!(r.failed_to_connect, 3, "{r}");
    assert!(started.elapsed() < Duration::from_secs(5), "{r}");
}

#[tokio::test]
async fn a_bad_configuration_is_an_error() {
    let cfg = SwarmConfig {
        rooms: 0,
        ..SwarmConfig::default()
    };
    assert!(run(cfg).await.is_err());
}

/// Chaos with a slow reconnect: 200 to 400 ms between a drop and the next attempt, far
/// longer than any snapshot interval, so an interval measured across a reconnect would
/// show in the max.
fn chaos(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        chaos: 2.0,
        reconnect: ReconnectPolicy {
            base: ms(400),
            cap: ms(400),
            max_attempts: 3,
        },
        duration: ms(2000),
        ..config(url, bots)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_drops_bots_abruptly_and_brings_them_back() {
    let (url, seen) = fake_server_seeing(Behaviour::default()).await;
    let r = run(chaos(url, 6)).await.expect("a usable configuration");
    let chaos = r.chaos.as_ref().expect("a chaos report");
    assert!(chaos.drops >= 6, "{r}");
    assert_eq!(chaos.reconnect_failures, 0, "{r}");
    // Every drop ends back in the room, unless the deadline cut its reconnection short.
    assert_eq!(chaos.reconnects + chaos.in_flight, chaos.drops, "{r}");
    assert!(chaos.in_flight <= 6, "{r}");
    assert!(chaos.reconnect_ms.p50 >= 200.0, "{r}");
    assert!(chaos.reconnect_ms.max >= chaos.reconnect_ms.p50, "{r}");

    // Drops on purpose are not errors, nor disconnects by the server.
    assert!(r.passed(), "{r}");
    assert_eq!(
        (r.bots, r.connected, r.errors, r.disconnects),
        (6, 6, 0, 0),
        "{r}"
    );
    // Intervals are measured within one connection, and the rate leaves the gaps out.
    assert!(r.snapshot_interval_ms.max < 190.0, "{r}");
    assert!(r.snapshot_rate_hz.mean > 50.0, "{r}");
    assert!(r.snapshot_rate_hz.min > 40.0, "{r}");
    assert!(r.inputs_acked > r.inputs_sent / 2, "{r}");
    // Each new connection starts with a keyframe: nothing is missing, nothing fails.
    assert!(r.replica.keyframes >= 6 + chaos.reconnects, "{r}");
    assert_eq!(
        (r.replica.missing_base, r.replica.applied),
        (0, r.snapshots),
        "{r}"
    );
    // Each drop was a reset, not a polite close.
    assert_eq!(
        u64::from(seen.resets.load(Ordering::Relaxed)),
        chaos.drops,
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_bot_resumes_with_its_newest_token_and_resends_what_was_not_acked() {
    let (url, seen) = fake_server_seeing(Behaviour {
        ack_lag: 5,
        ..Behaviour::default()
    })
    .await;
    let r = run(chaos(url, 6)).await.expect("a usable configuration");
    let chaos = r.chaos.as_ref().expect("a chaos report");
    assert!(r.passed(), "{r}");
    assert!(chaos.drops >= 6, "{r}");
    // Every reconnect was a resume, with the player's newest token (the Welcome's, then
    // each Resumed's), as its first message; a bot whose Resumed the deadline cut off may
    // have been taken back unbeknownst to it.
    assert_eq!(
        (chaos.failed_resumes, chaos.reconnects),
        (0, chaos.resumes),
        "{r}"
    );
    assert!(chaos.resumes >= 6, "{r}");
    let taken_back = count(&seen.resumes);
    assert!(
        taken_back >= chaos.resumes && taken_back <= chaos.resumes + chaos.in_flight,
        "{taken_back} taken back: {r}"
    );
    assert_eq!(count(&seen.stale_tokens), 0, "{r}");
    assert!(chaos.resume_ms.p50 >= 200.0, "{r}");
    assert_eq!(chaos.resume_ms.max, chaos.reconnect_ms.max, "{r}");

    // Snapshots lag five inputs behind, so each drop leaves applied inputs unacknowledged:
    // the bot sends them again, with their own numbers, and the filter ignores them. No
    // number is ever skipped, and none is lost.
    let repeated = count(&seen.repeated_inputs);
    assert!(repeated >= chaos.resumes, "{repeated} repeated: {r}");
    assert!(chaos.inputs_resent >= repeated, "{repeated} repeated: {r}");
    assert_eq!(count(&seen.input_gaps), 0, "{r}");
    assert_eq!((chaos.inputs_lost, chaos.ack_regressions), (0, 0), "{r}");
    // Only a reconnection the deadline cut short leaves a player behind.
    if chaos.in_flight == 0 {
        assert_eq!(chaos.inputs_abandoned, 0, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_resume_falls_back_to_hello_and_join() {
    let (url, seen) = fake_server_seeing(Behaviour {
        refuse_resume: true,
        ack_lag: 5,
        ..Behaviour::default()
    })
    .await;
    let r = run(chaos(url, 6)).await.expect("a usable configuration");
    let chaos = r.chaos.as_ref().expect("a chaos report");
    // A refusal is no error: the bot is back, as a new player.
    assert!(r.passed(), "{r}");
    assert!(chaos.drops >= 6, "{r}");
    assert_eq!(
        (chaos.resumes, chaos.reconnects),
        (0, chaos.failed_resumes),
        "{r}"
    );
    assert!(chaos.failed_resumes >= 6, "{r}");
    let refused = count(&seen.refused_resumes);
    assert!(
        refused >= chaos.failed_resumes && refused <= chaos.failed_resumes + chaos.in_flight,
        "{refused} refused: {r}"
    );
    // Nothing is re-sent to a new player; the old one's unacked inputs are abandoned.
    assert_eq!(
        (chaos.inputs_resent, count(&seen.repeated_inputs)),
        (0, 0),
        "{r}"
    );
    assert!(chaos.inputs_abandoned > 0, "{r}");
    assert_eq!(chaos.inputs_lost, 0, "{r}");
}

/// Chat at 10 a second per bot, which the fake never limits.
fn chatty(url: String, bots: usize) -> SwarmConfig {
    SwarmConfig {
        chat_rate: 10.0,
        ..config(url, bots)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_are_acked_and_come_back_in_order() {
    let url = fake_server(Behaviour::default()).await;
    let r = run(chatty(url, 4)).await.expect("a usable configuration");
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(r.passed(), "{r}");
    assert_eq!(chat.rate, 10.0);
    // 1.5 s at 10 a second, the first at once.
    assert!(chat.sent >= 4 * 14, "{r}");
    assert!(chat.refused.is_empty(), "{r}");
    assert_eq!(chat.acked + chat.unanswered, chat.sent, "{r}");
    // Only the deadline leaves a chat unanswered, or its message unread.
    assert!(chat.unanswered <= 4, "{r}");
    assert!(chat.echoed + 4 >= chat.acked, "{r}");
    assert_eq!((chat.lost, chat.out_of_order), (0, 0), "{r}");
    assert!(
        chat.ack_ms.p50 > 0.0 && chat.ack_ms.p99 >= chat.ack_ms.p50,
        "{r}"
    );
    // Each bot sees its own messages, and a bot joining late the room's history too.
    assert!(chat.received >= chat.echoed, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_chats_are_counted_by_reason() {
    let url = fake_server(Behaviour {
        refuse_chat_every: Some(3),
        ..Behaviour::default()
    })
    .await;
    let r = run(chatty(url, 4)).await.expect("a usable configuration");
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(r.passed(), "refusals are answers, not failures: {r}");
    let refused = chat.refused.get("rate_limited").copied().unwrap_or(0);
    assert_eq!(chat.acked + refused + chat.unanswered, chat.sent, "{r}");
    assert!(
        refused >= chat.sent / 3 - 4 && refused <= chat.sent / 3 + 4,
        "{r}"
    );
    assert_eq!(chat.lost, 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_missing_or_out_of_order_fail_the_run() {
    let (url, seen) = fake_server_seeing(Behaviour {
        skip_echo_every: Some(5),
        swap_echoes: true,
        ..Behaviour::default()
    })
    .await;
    let r = run(chatty(url, 4)).await.expect("a usable configuration");
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(!r.passed(), "{r}");
    let skipped = count(&seen.echoes_skipped);
    let swapped = count(&seen.echoes_swapped);
    // Skipped in the last second of the run are still in flight, not lost.
    assert!(
        chat.lost >= 1 && chat.lost <= skipped,
        "{skipped} skipped: {r}"
    );
    assert!(
        chat.out_of_order >= 1 && chat.out_of_order <= swapped,
        "{swapped} swapped: {r}"
    );
    assert_eq!(r.broken_promises(), chat.lost + chat.out_of_order, "{r}");
    assert_eq!(r.errors, 0, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_cut_off_by_a_drop_comes_back_in_the_history_after_resumed() {
    let (url, seen) = fake_server_seeing(Behaviour {
        echo_delay: Some(ms(150)),
        ..Behaviour::default()
    })
    .await;
    let r = run(SwarmConfig {
        chaos: 3.0,
        reconnect: ReconnectPolicy {
            base: ms(20),
            cap: ms(40),
            max_attempts: 3,
        },
        duration: ms(2500),
        ..chatty(url, 4)
    })
    .await
    .expect("a usable configuration");
    let chaos = r.chaos.as_ref().expect("a chaos report");
    let chat = r.chat.as_ref().expect("a chat report");
    assert!(chaos.resumes >= 4, "{r}");
    // Messages were cut off by drops, and the histories brought every one back, each
    // counted once and none out of order on its connection.
    assert!(count(&seen.echoes_cut_off) > 4, "{r}");
    assert_eq!((chat.lost, chat.out_of_order), (0, 0), "{r}");
    assert!(
        chat.received > chat.echoed,
        "histories repeat messages: {r}"
    );
    assert!(r.passed(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bot_presents_its_own_token() {
    let (url, seen) = fake_server_seeing(Behaviour {
        auth_secret: Some("s3cret"),
        ..Behaviour::default()
    })
    .await;
    // A URL with a query of its own gets the token after `&`.
    let r = run(SwarmConfig {
        auth_secret: Some("s3cret".into()),
        misbehave: 0.25,
        ..config(format!("{url}/?lobby=1"), 4)
    })
    .await
    .expect("a usable configuration");
    assert!(r.passed(), "{r}");
    assert_eq!(r.connected, 3, "{r}");
    assert_eq!(r.misbehave.as_ref().map(|m| m.connected), Some(1), "{r}");
    let mut tokens = seen.tokens.lock().expect("tokens").clone();
    tokens.sort();
    tokens.dedup();
    assert_eq!(
        tokens,
        vec![
            ("bot-0".into(), "bot-0".into()),
            ("bot-1".into(), "bot-1".into()),
            ("bot-2".into(), "bot-2".into()),
            ("bot-3".into(), "rogue-3".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_the_wrong_secret_is_refused() {
    let url = fake_server(Behaviour {
        auth_secret: Some("s3cret"),
        ..Behaviour::default()
    })
    .await;
    let r = run(SwarmConfig {
        auth_secret: Some("guess".into()),
        ..config(url, 2)
    })
    .await
    .expect("a usable configuration");
    assert_eq!((r.connected, r.failed_to_connect), (0, 2), "{r}");
    assert!(r.problems[0].contains("401"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_bots_are_answered_and_kept_out_of_the_honest_figures() {
    let url = fake_server(Behaviour::default()).await;
    let r = run(SwarmConfig {
        misbehave: 0.5,
        reconnect: ReconnectPolicy {
            base: ms(20),
            cap: ms(100),
            max_attempts: 5,
        },
        duration: ms(3000),
        ..config(url, 8)
    })
    .await
    .expect("a usable configuration");

    // The honest half saw a clean server and only their own traffic.
    assert!(r.passed(), "{r}");
    assert_eq!(
        (r.bots, r.connected, r.errors, r.disconnects),
        (4, 4, 0, 0),
        "{r}"
    );
    assert!(r.snapshot_rate_hz.mean > 50.0, "{r}");
    // 60 inputs of about 24 bytes and 4 pings a second: floods would be far above this.
    assert!(r.bytes_out_per_bot_s < 2500.0, "{r}");
    assert!(r.chaos.is_none(), "{r}");

    let bad = r.misbehave.as_ref().expect("a misbehave report");
    assert_eq!((bad.bots, bad.connected, bad.lost), (4, 4, 0), "{r}");
    assert!(bad.frames_sent > 100, "{r}");
    let errors: u64 = bad.errors_received.values().sum();
    assert!(errors > 0, "{r}");
    assert!(
        bad.errors_received.contains_key("1"),
        "malformed frames: {r}"
    );
    let closes: u64 = bad.closes.values().sum();
    assert!(closes > 0, "{r}");
    for code in bad.closes.keys() {
        assert!(["1003", "1009"].contains(&code.as_str()), "{r}");
    }
    // Each close is followed by a reconnect, unless the deadline came first.
    assert!(
        bad.reconnects <= closes && bad.reconnects + 4 >= closes,
        "{r}"
    );
    assert_eq!(bad.reconnect_failures, 0, "{r}");
    let acts: u64 = bad.acts.values().sum();
    assert!(acts >= 8, "{r}");
    let text = r.to_string();
    assert!(text.contains("misbehaving bots  4"), "{text}");
}
