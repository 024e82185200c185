//! A client's time in the lobby: the task that serves a connection that is not in a room,
//! until it enters one or ends.
//!
//! What each request means is decided in [`requests`]; this task does the waiting and the
//! moving. Each round writes what is queued and reads what has arrived, and only when
//! neither can make progress sleeps until the socket is ready: a peer that does not read
//! its replies still has its requests (and its close) read. A client that enters a room
//! moves to the room's task, which reads and writes it from then on, and this task ends; a
//! client that leaves its room comes back to a new lobby task. Nothing a peer sends can
//! panic this: each bad frame gets an error message, and text or oversize frames close the
//! connection with a code and a reason.

pub mod requests;

use std::sync::Arc;
use std::time::Instant;

use tickwire_shared::{ErrorCode, Message as _, Resume, Watch};
use tokio::sync::mpsc::error::TrySendError;

pub use requests::{Entry, Lobby, Outcome};

use crate::client::Client;
use crate::cluster::route;
use crate::context::ServerContext;
use crate::heartbeat::Beat;
use crate::outbox::SHUTTING_DOWN;
use crate::rooms::{RoomCmd, RoomHandle};
use crate::transport::Flow;

/// Serves `client` in the lobby until it moves to a room or its connection ends.
pub async fn run(client: Client, ctx: Arc<ServerContext>) {
    let Some((client, finish)) = serve(client, &ctx).await else {
        return; // moved to a room
    };
    ctx.lobby.depart(&client.peer, Instant::now());
    if finish {
        client.finish(ctx.config.shutdown_grace()).await;
    }
    tracing::debug!("connection ended");
}

/// The lobby itself: `None` once the client moved to a room, otherwise the client and
/// whether its close still has to be sent.
async fn serve(mut client: Client, ctx: &Arc<ServerContext>) -> Option<(Client, bool)> {
    if client.link.socket_mut().to_reactor().is_err() {
        return Some((client, false));
    }
    let shutdown = ctx.shutdown.clone();
    let keep_alive = ctx.config.keep_alive();
    loop {
        ctx.metrics.add_traffic(client.link.take_traffic());
        let now = Instant::now();
        if client.peer.keep_alive(now, keep_alive) == Beat::Dead {
            break;
        }
        let mut blocked = false;
        if client.wants_write() {
            match client.write_now(now) {
                Flow::Open => {}
                Flow::Blocked => blocked = true,
                Flow::Closed => break,
                Flow::Failed => return Some((client, false)),
            }
        }
        let Some(frame) = client.link.read_frame() else {
            let due = client.peer.keep_alive_due(keep_alive);
            let socket = client.link.socket();
            let ready = tokio::select! {
                biased;
                _ = shutdown.cancelled() => None,
                ready = socket.readable() => Some(ready),
                ready = socket.writable(), if blocked => Some(ready),
                () = tokio::time::sleep_until(due.into()) => Some(Ok(())),
            };
            match ready {
                None => {
                    client.peer.close(SHUTTING_DOWN);
                    break;
                }
                Some(Ok(())) => continue,
                Some(Err(_)) => return Some((client, false)),
            }
        };
        // A peer that keeps frames coming must not keep this task from yielding: the
        // runtime's budget makes it step aside now and then, and shutdown is looked at.
        tokio::task::coop::consume_budget().await;
        if shutdown.is_cancelled() {
            client.peer.close(SHUTTING_DOWN);
            break;
        }
        let mut outcome = ctx.lobby.on_frame(&mut client.peer, frame, now);
        if let Outcome::Route(route) = outcome {
            // Only a lobby in a cluster routes.
            outcome = match &ctx.cluster {
                Some(cluster) => route::carry(ctx, cluster, &mut client.peer, route).await,
                None => Outcome::Stay,
            };
        }
        match outcome {
            Outcome::Stay | Outcome::Route(_) => {}
            // The client moves to a room (this task ends), or comes back with an error.
            Outcome::Enter(entry) => {
                // What the lobby read is counted before the client leaves, not after the
                // room's tick that already answered it (so /metrics never lags the answer).
                ctx.metrics.add_traffic(client.link.take_traffic());
                client = enter(ctx, client, entry)?;
            }
            Outcome::Close => break,
            Outcome::Ended => return Some((client, false)),
        }
        // A client given back was already switched to the room's polling; a no-op otherwise.
        if client.link.socket_mut().to_reactor().is_err() {
            return Some((client, false));
        }
        if client.peer.is_closing() {
            break;
        }
    }
    Some((client, true))
}

/// Sends the client into the room `entry` names (starting the room first when the entry
/// opened it); gives it back, with an error queued, when the room cannot take it.
fn enter(ctx: &ServerContext, client: Client, entry: Entry) -> Option<Client> {
    match entry {
        Entry::Join { reserved, kind } => {
            if let Some(room) = reserved.opened {
                ctx.handoffs.open_room(room);
            }
            let cmd = RoomCmd::Join {
                seat: reserved.seat,
                client,
            };
            send_to_room(&reserved.room, cmd, kind)
        }
        Entry::Resume { room, token } => {
            send_to_room(&room, RoomCmd::Resume { client, token }, Resume::KIND)
        }
        Entry::Watch { room } => send_to_room(&room, RoomCmd::Watch { client }, Watch::KIND),
    }
}

/// Hands the client in `cmd` to `room`; gives it back, with an error queued in reply to
/// `kind`, when the room cannot take it.
fn send_to_room(room: &RoomHandle, mut cmd: RoomCmd, kind: u8) -> Option<Client> {
    // From now on the room polls the socket once per tick: take it out of the reactor, so
    // arriving packets no longer wake the runtime one by one.
    let client = cmd.client_mut()?;
    if let Err(err) = client.link.socket_mut().to_polled() {
        client
            .span()
            .in_scope(|| tracing::debug!(cause = %err, "cannot hand the socket to the room"));
        return None;
    }
    // The room drains its queue every tick; a full queue means the room is stuck or gone.
    // A join's seat is handed back when the command is dropped.
    let (cmd, why) = match room.cmds.try_send(cmd) {
        Ok(()) => return None,
        Err(TrySendError::Full(cmd)) => (cmd, "the room is busy; try again"),
        Err(TrySendError::Closed(cmd)) => (cmd, "the room is closing; try again"),
    };
    let mut client = cmd.into_client()?;
    if kind == Resume::KIND {
        client.peer.clear_player(Instant::now());
        client
            .peer
            .error(ErrorCode::RESUME_REFUSED, why, Some(kind));
    } else {
        client.peer.error(ErrorCode::UNAVAILABLE, why, Some(kind));
    }
    Some(client)
}
