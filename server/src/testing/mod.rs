//! A deterministic harness: a whole Tickwire server in memory, on virtual time.
//!
//! The lobby's decisions, the room registry and the rooms' cores are the real ones; only
//! the sockets (in-memory [`Pipe`]s), the tasks and the clock are replaced. The harness
//! keeps its own time, which moves only when a test steps it ([`Harness::step`] runs up
//! to the next room tick), so a 15-second idle timeout takes a few hundred steps and no
//! wall-clock time, and every run of a test is the same run. Clients ([`TestClient`])
//! decode everything they are sent and rebuild the room from every snapshot with a real
//! `Replica`, checking its hash. Waiting is bounded: [`Harness::run_until`] gives up, and
//! fails the test, after a stated amount of virtual time.
//!
//! ```
//! use std::time::Duration;
//! use tickwire_server::{Config, testing::Harness};
//!
//! let mut h = Harness::new(Config::default());
//! let a = h.join("ana", Some("r"));
//! let b = h.join("bo", Some("r"));
//! let ana = h.client(a).id;
//! h.send_input(a, 1, [1.0, 0.0]);
//! // Bo sees Ana run to the right (her first field, vx) within a few ticks.
//! h.run_until(Duration::from_secs(1), |h| {
//!     h.client(b).replica.entity(ana).is_some_and(|p| p.values[0].int() > 0)
//! });
//! ```
//!
//! A harness plays the arena unless told otherwise; `Harness::<G>::for_game(config)`
//! plays any game `G`, scripted with [`Harness::send_values`]:
//!
//! ```
//! # use tickwire_server::{Config, testing::Harness, games::arena::Arena};
//! # use tickwire_shared::InputValue::{Float, Int};
//! let mut h = Harness::<Arena>::for_game(Config::default());
//! let a = h.join("ana", None);
//! h.send_values(a, 1, 0, vec![Float(1.0), Float(0.0), Float(0.0), Int(0)]);
//! h.step();
//! ```

mod client;
mod extra;
mod local;
mod pipe;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::marker::PhantomData;

use bytes::Bytes;
use slotmap::SecondaryMap;
use tickwire_shared::{ClientMsg, Hello, Join, PROTOCOL_VERSION, Resume, ServerMsg, encode_client};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use client::{Ending, SnapshotSeen, TestClient};
pub use local::{LocalServer, WAIT, http_get, http_get_with_head, metric_value};
pub use pipe::{Pipe, PipeState};

use crate::config::Config;
use crate::context::ServerContext;
use crate::game::Game;
use crate::games::arena::Arena;
use crate::handoff::Handoffs;
use crate::identity::Identity;
use crate::lobby::{Entry, Outcome};
use crate::metrics::Metrics;
use crate::outbox::SHUTTING_DOWN;
use crate::peer::Peer;
use crate::record::Chunk;
use crate::room::{Event, MemberKey, Next, RoomCore, RoomRules};
use crate::rooms::{RoomCmd, RoomShared, Rooms, Seat};
use crate::sessions::Sessions;
use crate::transport::{Flow, Frame};
use pipe::RoomPipes;

/// The harness's wall clock at its start, in ms since the Unix epoch: fixed, so that runs
/// are the same.
const WALL_START_MS: u64 = 1_700_000_000_000;

/// A client, by the order it connected in.
pub type ClientId = usize;

/// Where a client's connection is.
#[derive(Debug)]
enum Place {
    /// In the lobby, with its state.
    Lobby(Box<Peer>),
    /// On its way into a room, or in one.
    Room(String),
    /// Over.
    Gone,
}

/// A client on its way into a room.
#[derive(Debug)]
enum Admit {
    Join(Seat, Peer),
    Resume(Peer, String),
    Watch(Peer),
}

/// One open room: its core, what it shares with the registry, and who is coming in.
#[derive(Debug)]
struct RoomSim<G> {
    core: RoomCore<G>,
    shared: Arc<RoomShared>,
    /// The room's command queue: only notices come this way here (joins are `pending`).
    cmds: mpsc::Receiver<RoomCmd>,
    pending: VecDeque<(ClientId, Admit)>,
    members: SecondaryMap<MemberKey, ClientId>,
}

/// Every client's connection, by its id: where it is, its pipe, and what it received.
#[derive(Debug, Default)]
struct Conns {
    places: Vec<Place>,
    pipes: Vec<Pipe>,
    clients: Vec<TestClient>,
}

/// An in-memory server and its clients, whose rooms play `G` (see the module doc).
#[derive(Debug)]
pub struct Harness<G: Game = Arena> {
    /// What the server's tasks share, made as the listener makes it (its handoff queue
    /// goes nowhere: the harness starts nothing).
    ctx: ServerContext,
    room_rules: RoomRules,
    start: Instant,
    now: Instant,
    open: BTreeMap<String, RoomSim<G>>,
    /// Every room's recording so far, when rooms record.
    recordings: BTreeMap<String, Vec<Chunk>>,
    conns: Conns,
    game: PhantomData<fn() -> G>,
}

impl Harness<Arena> {
    /// A server with `config`'s rules playing the arena, and no client yet.
    pub fn new(config: Config) -> Self {
        Self::for_game(config)
    }
}

impl<G: Game> Harness<G> {
    /// A server with `config`'s rules playing `G`, and no client yet.
    pub fn for_game(config: Config) -> Self {
        let now = Instant::now();
        let (handoffs, _nowhere) = Handoffs::channel(1);
        let ctx = ServerContext::new(config, CancellationToken::new(), handoffs, None);
        Self {
            room_rules: ctx.config.room_rules(),
            ctx,
            start: now,
            now,
            open: BTreeMap::new(),
            recordings: BTreeMap::new(),
            conns: Conns::default(),
            game: PhantomData,
        }
    }

    /// The harness's time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the harness started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The server's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.ctx.metrics
    }

    /// The registry.
    pub fn rooms(&self) -> &Rooms {
        &self.ctx.rooms
    }

    /// The open room called `name`.
    pub fn room(&self, name: &str) -> Option<&RoomCore<G>> {
        self.open.get(name).map(|room| &room.core)
    }

    /// The game of the open room called `name`, to set a scene up in (not recorded).
    pub fn game_mut(&mut self, name: &str) -> Option<&mut G> {
        self.open.get_mut(name).map(|room| room.core.game_mut())
    }

    /// Client `c`.
    pub fn client(&self, c: ClientId) -> &TestClient {
        &self.conns.clients[c]
    }

    /// Client `c`, to take its messages.
    pub fn client_mut(&mut self, c: ClientId) -> &mut TestClient {
        &mut self.conns.clients[c]
    }

    /// Client `c`'s connection.
    pub fn pipe_mut(&mut self, c: ClientId) -> &mut Pipe {
        &mut self.conns.pipes[c]
    }

    /// Rooms opened from now on record their matches, in segments of about
    /// `segment_bytes` (see [`Harness::recording`]).
    pub fn record(&mut self, segment_bytes: u64) {
        self.room_rules.record_segment_bytes = Some(segment_bytes);
    }

    /// Room `name`'s recording so far, one file's bytes per segment, as the writer would
    /// have written them.
    pub fn recording(&self, name: &str) -> Vec<Vec<u8>> {
        let mut files: Vec<Vec<u8>> = Vec::new();
        for chunk in self.recordings.get(name).into_iter().flatten() {
            match files.last_mut() {
                Some(file) if !chunk.new_segment => file.extend_from_slice(&chunk.bytes),
                _ => files.push(chunk.bytes.clone()),
            }
        }
        files
    }

    /// The room client `c`'s connection is in (or on its way into).
    pub fn room_of(&self, c: ClientId) -> Option<&str> {
        match &self.conns.places[c] {
            Place::Room(name) => Some(name),
            Place::Lobby(_) | Place::Gone => None,
        }
    }

    /// True while client `c`'s connection is in the lobby.
    pub fn in_lobby(&self, c: ClientId) -> bool {
        matches!(self.conns.places[c], Place::Lobby(_))
    }

    /// A new anonymous connection, in the lobby.
    pub fn connect(&mut self) -> ClientId {
        self.connect_as(Identity::default())
    }

    /// A new connection whose handshake's token said `identity`.
    pub fn connect_as(&mut self, identity: Identity) -> ClientId {
        let c = self.conns.clients.len();
        let span = tracing::info_span!("conn", client = c, player = tracing::field::Empty);
        let mut peer = Peer::new(
            self.ctx.client_rules.clone(),
            Arc::clone(&self.ctx.metrics),
            None,
            span,
            self.now,
        );
        peer.set_identity(identity);
        self.conns.places.push(Place::Lobby(Box::new(peer)));
        self.conns.pipes.push(Pipe::new());
        self.conns
            .clients
            .push(TestClient::new(self.ctx.config.tick_rate));
        c
    }

    /// Client `c` sends `msg`.
    pub fn send(&mut self, c: ClientId, msg: ClientMsg) {
        self.send_frame(c, Frame::Binary(encode_client(&msg)));
    }

    /// Client `c` sends `frame` as it is.
    pub fn send_frame(&mut self, c: ClientId, frame: Frame) {
        self.conns.pipes[c].to_server.push_back(frame);
    }

    /// Client `c`'s connection vanishes without a close (a TCP reset).
    pub fn reset(&mut self, c: ClientId) {
        self.conns.pipes[c].state = PipeState::Reset;
    }

    /// Client `c` stops reading (`true`) or reads again.
    pub fn stall(&mut self, c: ClientId, stalled: bool) {
        let pipe = &mut self.conns.pipes[c];
        if matches!(pipe.state, PipeState::Open | PipeState::Stalled) {
            pipe.state = if stalled {
                PipeState::Stalled
            } else {
                PipeState::Open
            };
        }
    }

    /// Connects, says hello as `name`, and waits for the `Welcome`.
    pub fn greet(&mut self, name: &str) -> ClientId {
        let c = self.connect();
        self.send(
            c,
            ClientMsg::Hello(Hello {
                version: PROTOCOL_VERSION,
                name: name.into(),
            }),
        );
        self.expect(c, |m| matches!(m, ServerMsg::Welcome(_)));
        c
    }

    /// Greets as `name`, joins `room` (quick-join with `None`) and waits for `Joined`.
    pub fn join(&mut self, name: &str, room: Option<&str>) -> ClientId {
        let c = self.greet(name);
        self.send(
            c,
            ClientMsg::Join(Join {
                room: room.map(Into::into),
                key: None,
            }),
        );
        self.expect(c, |m| matches!(m, ServerMsg::Joined(_)));
        c
    }

    /// A new connection that resumes with `token`; returns it and the answer (`Resumed`,
    /// or the `Error` refusing it).
    pub fn resume(&mut self, token: &str) -> (ClientId, ServerMsg) {
        let c = self.connect();
        self.send(
            c,
            ClientMsg::Resume(Resume {
                token: token.into(),
            }),
        );
        let answer = self.expect(c, |m| {
            matches!(m, ServerMsg::Resumed(_) | ServerMsg::Error(_))
        });
        (c, answer)
    }

    /// Runs until client `c` has a message `want` accepts, and takes it; within two seconds
    /// of virtual time.
    ///
    /// # Panics
    /// When no such message came in time.
    pub fn expect(&mut self, c: ClientId, want: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        let limit = self.now + Duration::from_secs(2);
        loop {
            if let Some(msg) = self.conns.clients[c].take(&want) {
                return msg;
            }
            assert!(
                self.now < limit,
                "client {c}: no matching message within 2 s; inbox: {:?}",
                self.conns.clients[c].inbox
            );
            self.step();
        }
    }

    /// Steps until `done` says so.
    ///
    /// # Panics
    /// When `limit` of virtual time passes first: the step limit that keeps a test that
    /// waits for something that never happens from running forever.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let until = self.now + limit;
        while !done(self) {
            assert!(self.now < until, "condition not met within {limit:?}");
            self.step();
        }
    }

    /// Runs for `span` of virtual time.
    pub fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        while self.next_time() <= until {
            self.step();
        }
        self.now = until;
        self.serve_lobby();
    }

    /// Handles what the lobby has to handle now, then moves time to the next room tick
    /// (or one tick period on, with no room open), and runs every room due then.
    pub fn step(&mut self) {
        self.serve_lobby();
        self.now = self.next_time();
        self.tick_rooms();
        self.serve_lobby();
    }

    /// The server shuts down: every room closes its members with 1001 (keeping none away),
    /// and so does the lobby.
    pub fn shutdown(&mut self) {
        self.shutdown_with(None);
    }

    /// [`Harness::shutdown`], the rooms first sending their members `redirect` (an encoded
    /// `Redirect`), as a node of a cluster does.
    pub fn shutdown_with(&mut self, redirect: Option<Bytes>) {
        let now = self.now;
        for room in self.open.values_mut() {
            room.core.handle_shutdown(redirect.clone());
            carry_out(room, &mut self.conns, &self.ctx.sessions, now);
        }
        self.open.clear();
        for c in 0..self.conns.places.len() {
            if let Place::Lobby(mut peer) =
                std::mem::replace(&mut self.conns.places[c], Place::Gone)
            {
                peer.close(SHUTTING_DOWN);
                finish(
                    &mut self.conns.pipes[c],
                    &mut self.conns.clients[c],
                    &mut peer,
                    now,
                );
            }
        }
    }

    /// When the next room tick is due (or one tick period from now, with no room open).
    fn next_time(&self) -> Instant {
        self.open
            .values()
            .map(|room| room.core.next_deadline())
            .min()
            .unwrap_or(self.now + self.tick_period())
            .max(self.now)
    }

    fn tick_period(&self) -> Duration {
        Duration::from_secs(1) / u32::from(self.ctx.config.tick_rate.max(1))
    }

    fn wall_ms(&self) -> u64 {
        WALL_START_MS + self.elapsed().as_millis() as u64
    }

    /// Every client in the lobby: its frames read and answered, its keep-alive checked, and
    /// what it has queued written, as its lobby task would.
    fn serve_lobby(&mut self) {
        let keep_alive = self.ctx.config.keep_alive();
        for c in 0..self.conns.places.len() {
            let Place::Lobby(peer) = &mut self.conns.places[c] else {
                continue;
            };
            let mut outcome = Outcome::Stay;
            while let Some(frame) = self.conns.pipes[c].read() {
                outcome = self.ctx.lobby.on_frame(peer, frame, self.now);
                if !matches!(outcome, Outcome::Stay) {
                    break;
                }
            }
            if matches!(outcome, Outcome::Stay)
                && peer.keep_alive(self.now, keep_alive) == crate::heartbeat::Beat::Dead
            {
                outcome = Outcome::Close;
            }
            let flow = self.conns.pipes[c].write(peer, &mut self.conns.clients[c], self.now);
            peer.note_flow(flow, self.now);
            let outcome = match (outcome, flow) {
                (Outcome::Stay, Flow::Closed) => Outcome::Close,
                (Outcome::Stay, Flow::Failed) => Outcome::Ended,
                (outcome, _) => outcome,
            };
            match outcome {
                // The harness runs one node alone: its lobby never routes.
                Outcome::Stay | Outcome::Route(_) => {}
                Outcome::Enter(entry) => self.enter(c, entry),
                Outcome::Close | Outcome::Ended => {
                    let Place::Lobby(mut peer) =
                        std::mem::replace(&mut self.conns.places[c], Place::Gone)
                    else {
                        continue;
                    };
                    self.ctx.lobby.depart(&peer, self.now);
                    if matches!(outcome, Outcome::Close) {
                        finish(
                            &mut self.conns.pipes[c],
                            &mut self.conns.clients[c],
                            &mut peer,
                            self.now,
                        );
                    } else {
                        self.conns.clients[c].ended.get_or_insert(Ending::Cut);
                    }
                }
            }
        }
    }

    /// Sends client `c` into the room `entry` names, starting the room when it is new.
    fn enter(&mut self, c: ClientId, entry: Entry) {
        let Place::Lobby(peer) = std::mem::replace(&mut self.conns.places[c], Place::Gone) else {
            return;
        };
        let peer = *peer;
        let (name, admit) = match entry {
            Entry::Join { reserved, .. } => {
                if let Some(room) = reserved.opened {
                    let name = room.shared.name.clone();
                    let core = RoomCore::new(
                        name.clone(),
                        G::new(),
                        self.room_rules,
                        Arc::clone(&self.ctx.metrics),
                        self.now,
                    );
                    let sim = RoomSim {
                        core,
                        shared: room.shared,
                        cmds: room.cmds,
                        pending: VecDeque::new(),
                        members: SecondaryMap::new(),
                    };
                    self.open.insert(name, sim);
                }
                let name = reserved.room.shared.name.clone();
                (name, Admit::Join(reserved.seat, peer))
            }
            Entry::Resume { room, token } => (room.shared.name.clone(), Admit::Resume(peer, token)),
            Entry::Watch { room } => (room.shared.name.clone(), Admit::Watch(peer)),
        };
        let Some(room) = self.open.get_mut(&name) else {
            // A room in the registry always runs here; back to the lobby with nothing said.
            let (Admit::Join(_, peer) | Admit::Resume(peer, _) | Admit::Watch(peer)) = admit;
            self.conns.places[c] = Place::Lobby(Box::new(peer));
            return;
        };
        room.pending.push_back((c, admit));
        self.conns.places[c] = Place::Room(name);
    }

    /// Runs every room whose tick is due, letting its newcomers in first, as its driver
    /// would; closes the rooms that stood empty for their idle time.
    fn tick_rooms(&mut self) {
        let now = self.now;
        let wall_ms = self.wall_ms();
        let mut closed = Vec::new();
        for (name, room) in &mut self.open {
            if room.core.next_deadline() > now {
                continue;
            }
            // As in the driver: the queue is read once a tick, before the tick.
            while let Ok(cmd) = room.cmds.try_recv() {
                if let RoomCmd::Notice { user, frame } = cmd {
                    room.core.handle_notice(user.as_deref(), &frame);
                }
            }
            while let Some((c, admit)) = room.pending.pop_front() {
                let admitted = match admit {
                    Admit::Join(seat, peer) => {
                        let admitted = room.core.handle_join(peer, now);
                        if admitted.is_ok() {
                            seat.fill();
                        }
                        admitted.map_err(|_refused| None)
                    }
                    Admit::Resume(peer, token) => {
                        room.core.handle_resume(peer, token, now).map_err(Some)
                    }
                    Admit::Watch(peer) => room.core.handle_watch(peer, now).map_err(Some),
                };
                // As in the driver: a member the newcomer replaced leaves before it is mapped.
                carry_out(room, &mut self.conns, &self.ctx.sessions, now);
                match admitted {
                    Ok(member) => {
                        room.members.insert(member, c);
                    }
                    Err(Some(peer)) => self.conns.places[c] = Place::Lobby(Box::new(peer)),
                    Err(None) => self.conns.places[c] = Place::Gone,
                }
            }
            let mut pipes = RoomPipes {
                pipes: &mut self.conns.pipes,
                clients: &mut self.conns.clients,
                members: &room.members,
                now,
            };
            room.core.handle_tick(now, wall_ms, &mut pipes);
            while let Some(chunk) = room.core.take_recording(0) {
                self.recordings.entry(name.clone()).or_default().push(chunk);
            }
            carry_out(room, &mut self.conns, &self.ctx.sessions, now);
            if room.core.is_idle(now) && self.ctx.rooms.close_if_empty(name) {
                room.core.handle_close();
                carry_out(room, &mut self.conns, &self.ctx.sessions, now);
                closed.push(name.clone());
            }
        }
        for name in closed {
            self.open.remove(&name);
        }
    }
}

/// Sends what `peer` has queued and its close (1000 unless another was asked for).
fn finish(pipe: &mut Pipe, client: &mut TestClient, peer: &mut Peer, now: Instant) {
    if !peer.is_closing() {
        peer.close(crate::outbox::Close {
            code: Some(crate::outbox::CLOSE_NORMAL),
            reason: "",
            cause: crate::metrics::CloseCause::Clean,
        });
    }
    if pipe.write(peer, client, now) != Flow::Closed {
        // A peer that reads nothing (or is gone) gets nothing: the closing task gives up.
        client.ended.get_or_insert(Ending::Cut);
        pipe.state = PipeState::Closed;
    }
}

/// Does what `room`'s core asked for, as its driver would.
fn carry_out<G: Game>(room: &mut RoomSim<G>, conns: &mut Conns, sessions: &Sessions, now: Instant) {
    let Conns {
        places,
        pipes,
        clients,
    } = conns;
    while let Some(event) = room.core.poll_event() {
        event.update_records(&room.shared, sessions);
        let Event::Departed {
            member,
            mut peer,
            next,
        } = event
        else {
            continue;
        };
        let Some(c) = room.members.remove(member) else {
            continue;
        };
        match next {
            Next::Lobby => places[c] = Place::Lobby(Box::new(peer)),
            Next::Close => {
                finish(&mut pipes[c], &mut clients[c], &mut peer, now);
                places[c] = Place::Gone;
            }
            Next::Drop => {
                clients[c].ended.get_or_insert(Ending::Cut);
                places[c] = Place::Gone;
            }
        }
    }
}
