//! The accept loop, and the one place that starts tasks: a task per accepted connection,
//! and whatever the lobby and the rooms hand on ([`Handoff`]): a room to run, a client for
//! the lobby, a client to close. On shutdown it stops accepting and keeps starting what is
//! handed on (the rooms' closing clients) until every task has finished or the grace period
//! has run out. With `--record`, it also starts the recording writer's thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::admin;
use crate::cluster::{self, Cluster};
use crate::config::Config;
use crate::connection;
use crate::context::ServerContext;
use crate::handoff::{Handoff, Handoffs};
use crate::lobby;
use crate::metrics::Refusal;
use crate::record::writer::{self, RecordSink};
use crate::registry;
use crate::room::RoomEnv;
use crate::workers::{self, Workers};

/// Serves `listener` until `shutdown` is cancelled, then closes every connection with
/// code 1001 and returns once they and the rooms have finished (or the grace period ran out).
///
/// # Errors
/// None today: accept errors are logged and retried, since one failed accept (a peer that
/// reset, a full file table) must not take the whole server down. The `Result` leaves room
/// for start-up failures of later features.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with_admin(listener, None, config, shutdown).await
}

/// [`run`], with the admin endpoint (health, metrics, rooms; see [`crate::admin`]) served
/// on `admin` until the game listener has drained.
///
/// # Errors
/// As [`run`].
pub async fn run_with_admin(
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Every handoff carries a connection or a room, each of which exists once.
    let (handoffs, mut handed) = Handoffs::channel(config.max_connections + config.max_rooms);
    let (recorder, writer) = match &config.record {
        Some(dir) => {
            let (sink, thread) = start_recorder(dir.clone(), config.record_keep)?;
            (Some(sink), Some(thread))
        }
        None => (None, None),
    };
    let game_addr = listener.local_addr()?;
    let cluster = Cluster::from_config(&config, game_addr)?.map(Arc::new);
    let ctx = Arc::new(ServerContext::new(config, shutdown, handoffs, cluster));
    let workers = Workers::start(ctx.config.room_threads(), &ctx.metrics)?;
    // After the workers started, or they would inherit it.
    workers::lower_front_priority(ctx.config.front_nice);
    tracing::info!(threads = ctx.config.room_threads(), "room threads started");
    let tracker = TaskTracker::new();
    // In the tracker: it leaves the directory on shutdown, while the rooms close.
    if let Some(cluster) = &ctx.cluster {
        let span = tracing::info_span!("cluster", node = %cluster.node);
        tracker.spawn(cluster::node::run(Arc::clone(&ctx), Arc::clone(cluster)).instrument(span));
    }
    // Not in the tracker: it answers health checks ("draining") until everything else is done.
    let admin = admin.map(|listener| {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            if let Err(err) = admin::serve(listener, game_addr, ctx).await {
                tracing::error!(cause = %err, "the admin endpoint stopped");
            }
        })
    });
    loop {
        tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            Some(handoff) = handed.recv() => start(&ctx, &tracker, &workers, &recorder, handoff),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Past the handshake limit a peer costs nothing but the accept: it gets
                    // no task and no answer.
                    let Ok(permit) = Arc::clone(&ctx.handshakes).try_acquire_owned() else {
                        ctx.metrics.refused(Refusal::HandshakeBacklog);
                        tracing::debug!(%peer, "too many handshakes under way; dropped a peer");
                        continue;
                    };
                    let span = tracing::info_span!("conn", %peer, player = tracing::field::Empty);
                    let task = connection::serve(stream, peer, permit, Arc::clone(&ctx));
                    tracker.spawn(task.instrument(span));
                }
                Err(err) => {
                    // Usually a file-descriptor limit: back off instead of spinning.
                    tracing::warn!(cause = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    drain(&ctx, &tracker, &workers, &recorder, &mut handed).await;
    // The rooms are done (or past the grace, and then dropped with their thread's runtime).
    let stopped = tokio::task::spawn_blocking(move || workers.stop()).await;
    if stopped.is_err() {
        tracing::warn!("the room threads did not stop cleanly");
    }
    if let Some(admin) = admin {
        admin.abort();
    }
    // The rooms are done; with the last sink gone the writer flushes and ends.
    drop(recorder);
    if let Some(writer) = writer {
        let joined = tokio::task::spawn_blocking(move || writer.join()).await;
        if !matches!(joined, Ok(Ok(()))) {
            tracing::warn!("the recording writer did not finish cleanly");
        }
    }
    tracing::info!(metrics = %ctx.metrics.summary(), "server stopped");
    Ok(())
}

/// Starts the recording writer's thread, writing into `dir` (made if missing).
///
/// # Errors
/// The directory cannot be made, or the thread cannot start.
fn start_recorder(
    dir: PathBuf,
    keep: u64,
) -> anyhow::Result<(RecordSink, std::thread::JoinHandle<()>)> {
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot make the recording directory {}", dir.display()))?;
    let (sink, queue) = writer::queue();
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let thread = std::thread::Builder::new()
        .name("tickwire-record".into())
        .spawn(move || writer::run(queue, &dir, keep))
        .context("cannot start the recording writer")?;
    Ok((sink, thread))
}

/// Starts the task a handoff asks for.
fn start(
    ctx: &Arc<ServerContext>,
    tracker: &TaskTracker,
    workers: &Workers,
    recorder: &Option<RecordSink>,
    handoff: Handoff,
) {
    match handoff {
        Handoff::Lobby(client) => {
            let span = client.span().clone();
            tracker.spawn(lobby::run(client, Arc::clone(ctx)).instrument(span));
        }
        Handoff::Close(client) => {
            let span = client.span().clone();
            tracker.spawn(client.finish(ctx.config.shutdown_grace()).instrument(span));
        }
        Handoff::Room(room) => {
            let span = tracing::info_span!("room", room = %room.shared.name);
            let rules = ctx.config.room_rules();
            let Some(game) = registry::find(&ctx.config.game) else {
                // main checks the name before anything starts; a config built in code
                // that names no game opens no room.
                tracing::error!(game = %ctx.config.game, "no such game: the room is not opened");
                return;
            };
            // The room and its members' sockets stay on the chosen thread until it ends.
            workers.run_room(|load| {
                let env = RoomEnv {
                    rooms: Arc::clone(&ctx.rooms),
                    sessions: Arc::clone(&ctx.sessions),
                    metrics: Arc::clone(&ctx.metrics),
                    handoffs: ctx.handoffs.clone(),
                    shutdown: ctx.shutdown.clone(),
                    recorder: recorder.clone(),
                    load,
                    elsewhere: ctx
                        .cluster
                        .as_ref()
                        .map_or_else(Default::default, |c| Arc::clone(&c.elsewhere)),
                };
                tracker.track_future(game.run_room(env, room, rules).instrument(span))
            });
        }
    }
}

/// Waits, within the grace period, for every task to finish, starting what they hand on
/// meanwhile (a room that shuts down hands its clients on to be closed).
async fn drain(
    ctx: &Arc<ServerContext>,
    tracker: &TaskTracker,
    workers: &Workers,
    recorder: &Option<RecordSink>,
    handed: &mut mpsc::Receiver<Handoff>,
) {
    tracker.close();
    let deadline =
        tokio::time::Instant::now() + ctx.config.shutdown_grace() + Duration::from_millis(500);
    loop {
        tokio::select! {
            biased;
            Some(handoff) = handed.recv() => start(ctx, tracker, workers, recorder, handoff),
            // Only tasks hand on: once none runs and nothing is queued, nothing more comes.
            () = tracker.wait(), if handed.is_empty() => return,
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(left = tracker.len(), "tasks still running after the grace period");
                return;
            }
        }
    }
}
