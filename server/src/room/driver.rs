//! A room's task: the thin driver that runs a [`RoomCore`] on real sockets and the wall
//! clock.
//!
//! It keeps today's measured design (ARCHITECTURE.md): the members' sockets stay outside
//! the reactor, and each tick the core reads every socket once and writes every socket once,
//! through [`SocketLinks`]. The driver sleeps until the core's next deadline, lets in the
//! joiners the lobby sent, runs the tick, and carries out what the core asks: the registry
//! and the sessions learn who sits where, and leaving connections are handed to the
//! listener (to the lobby, or to be closed).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use slotmap::SecondaryMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::core::RoomCore;
use super::event::{Event, Next};
use super::links::Links;
use super::member::MemberKey;
use super::rules::RoomRules;
use crate::client::Client;
use crate::cluster::Elsewhere;
use crate::game::Game;
use crate::handoff::Handoffs;
use crate::link::Link;
use crate::metrics::{Metrics, Traffic};
use crate::peer::Peer;
use crate::record::writer::RecordSink;
use crate::rooms::{NewRoom, RoomCmd, RoomShared, Rooms};
use crate::sessions::Sessions;
use crate::transport::{Flow, Frame};
use crate::workers::RoomLoad;

/// What a room's task works with besides its own state.
#[derive(Debug)]
pub struct RoomEnv {
    /// The registry, told when the room closes.
    pub rooms: Arc<Rooms>,
    /// The sessions, told who is in which room and who was lost.
    pub sessions: Arc<Sessions>,
    /// The counters.
    pub metrics: Arc<Metrics>,
    /// Where leaving connections go.
    pub handoffs: Handoffs,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Where the room's recording goes, when the server records.
    pub recorder: Option<RecordSink>,
    /// The room's members, counted in its thread's load.
    pub load: RoomLoad,
    /// Where the members go when the node stops (cluster mode).
    pub elsewhere: Arc<Elsewhere>,
}

/// The members' sockets, by member.
#[derive(Debug, Default)]
struct SocketLinks {
    links: SecondaryMap<MemberKey, Link>,
    /// Traffic since the last tick's total was taken.
    traffic: Traffic,
}

impl Links for SocketLinks {
    fn read(&mut self, member: MemberKey) -> Option<Frame> {
        self.links.get_mut(member)?.read_frame()
    }

    fn write(&mut self, member: MemberKey, peer: &mut Peer) -> Flow {
        let Some(link) = self.links.get_mut(member) else {
            return Flow::Failed;
        };
        let flow = link.write_now(peer);
        // Taken after the tick's read and write, so one sum per tick covers both.
        self.traffic += link.take_traffic();
        flow
    }
}

/// Runs `room` with `game` by `rules` until it has stood empty for its idle time, or the
/// server shuts down.
pub async fn run<G: Game>(mut env: RoomEnv, room: NewRoom, game: G, rules: RoomRules) {
    let NewRoom { shared, mut cmds } = room;
    let name = shared.name.clone();
    let mut core = RoomCore::new(
        name.clone(),
        game,
        rules,
        Arc::clone(&env.metrics),
        Instant::now(),
    );
    let mut links = SocketLinks::default();
    let tick_period = core.tick_period();
    // The room's recording files: its name and when it opened, so a room reopened later
    // under the same name writes files of its own.
    let record_as: Arc<str> = Arc::from(format!("{name}-{}", unix_ms()));
    loop {
        let deadline = tokio::time::Instant::from_std(core.next_deadline());
        tokio::select! {
            biased;
            _ = env.shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(deadline) => {}
        }
        let now = Instant::now();
        admit(&mut core, &mut cmds, &mut links, &env, &shared, now);
        for link in links.links.values_mut() {
            link.socket_mut().new_tick();
        }
        let due = core.handle_tick(now, unix_ms(), &mut links);
        carry_out(&mut core, &mut links, &env, &shared);
        env.load.set(core.members());
        if due.steps == 0 {
            continue;
        }
        if let Some(sink) = &env.recorder {
            forward_recording(
                &mut core,
                sink,
                &record_as,
                RECORD_CHUNK_BYTES,
                &env.metrics,
            );
        }
        let took = now.elapsed();
        let metrics = &env.metrics;
        metrics.add_traffic(std::mem::take(&mut links.traffic));
        metrics.tick_seconds.observe(took.as_secs_f64());
        if took > tick_period {
            metrics.tick_overruns.inc();
            tracing::warn!(took_us = took.as_micros() as u64, "tick overran its period");
        }
        if core.is_idle(now) && env.rooms.close_if_empty(&name) {
            tracing::info!("closed room after standing empty");
            core.handle_close();
            carry_out(&mut core, &mut links, &env, &shared);
            break;
        }
    }
    core.handle_shutdown(env.elsewhere.redirect());
    carry_out(&mut core, &mut links, &env, &shared);
    if let Some(sink) = &env.recorder {
        forward_recording(&mut core, sink, &record_as, 0, &env.metrics);
        sink.done(&record_as);
    }
}

/// A room's recording goes to the writer in chunks of at least this many bytes, about a
/// second of a full room: the writer thread is woken that often, not once a tick.
const RECORD_CHUNK_BYTES: usize = 64 * 1024;

/// Hands the room's recording to the writer, in chunks of at least `min_bytes`; a chunk
/// the writer could not take ends its segment (and is counted).
fn forward_recording<G: Game>(
    core: &mut RoomCore<G>,
    sink: &RecordSink,
    record_as: &Arc<str>,
    min_bytes: usize,
    metrics: &Metrics,
) {
    while let Some(chunk) = core.take_recording(min_bytes) {
        if !sink.send(record_as, chunk) {
            core.recording_lost();
            metrics.record_dropped.inc();
            return;
        }
    }
}

/// Lets in the clients the lobby sent since the last tick.
fn admit<G: Game>(
    core: &mut RoomCore<G>,
    cmds: &mut mpsc::Receiver<RoomCmd>,
    links: &mut SocketLinks,
    env: &RoomEnv,
    shared: &RoomShared,
    now: Instant,
) {
    while let Ok(cmd) = cmds.try_recv() {
        let (link, admitted) = match cmd {
            RoomCmd::Join { seat, client } => {
                let Client { link, peer } = client;
                let admitted = core.handle_join(peer, now);
                if admitted.is_ok() {
                    seat.fill();
                }
                // Only greeted clients are sent here; a refused one drops with its seat.
                (link, admitted.map_err(|_refused| None))
            }
            RoomCmd::Resume { client, token } => {
                let Client { link, peer } = client;
                let admitted = core.handle_resume(peer, token, now);
                (link, admitted.map_err(Some))
            }
            RoomCmd::Watch { client } => {
                let Client { link, peer } = client;
                let admitted = core.handle_watch(peer, now);
                (link, admitted.map_err(Some))
            }
            RoomCmd::Notice { user, frame } => {
                core.handle_notice(user.as_deref(), &frame);
                continue;
            }
        };
        // Before the newcomer's link goes in: a member it replaced may have had the same
        // slot (a newer key replaces an older one in a secondary map), and leaves first.
        carry_out(core, links, env, shared);
        match admitted {
            Ok(member) => {
                links.links.insert(member, link);
            }
            Err(Some(peer)) => env.handoffs.to_lobby(Client { link, peer }),
            Err(None) => {}
        }
    }
}

/// Does what the core asked for.
fn carry_out<G: Game>(
    core: &mut RoomCore<G>,
    links: &mut SocketLinks,
    env: &RoomEnv,
    shared: &RoomShared,
) {
    while let Some(event) = core.poll_event() {
        event.update_records(shared, &env.sessions);
        let Event::Departed { member, peer, next } = event else {
            continue;
        };
        // Every member was admitted with its link; a missing one is a bug, and then the
        // peer is dropped (and counted) rather than the room stopped.
        let Some(link) = links.links.remove(member) else {
            debug_assert!(false, "a departing member had no link");
            continue;
        };
        let client = Client { link, peer };
        match next {
            Next::Lobby => env.handoffs.to_lobby(client),
            Next::Close => env.handoffs.close(client),
            Next::Drop => drop(client),
        }
    }
}

/// The wall clock in milliseconds since the Unix epoch, as the wire carries times (0 if
/// the clock is before 1970).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
