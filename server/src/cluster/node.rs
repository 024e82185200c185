//! The node task: this node's life in the cluster. It connects to Redis (and keeps
//! trying while Redis is away), beats (lists this node, its rooms and its users, and
//! learns where its members would go if it stopped), answers the other nodes on its
//! channel (seats, notices), and on shutdown takes the node out of the directory at once.
//!
//! It is the only place that talks to Redis on its own account; the lobby tasks do so
//! only for their own client's request (`route`). Nothing here is on a room's path: a
//! room never waits for Redis.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tickwire_shared::{Notice, encode};

use super::Cluster;
use super::bus::{BusMsg, SeatAnswer};
use super::directory::{Beat, RoomEntry};
use crate::context::ServerContext;
use crate::identity::Identity;
use crate::lobby::requests::refusal_code;
use crate::rooms::{JoinRefused, Request};

/// How long to wait before trying Redis again after it could not be reached.
const RETRY: Duration = Duration::from_millis(500);

/// Runs this node's part of the cluster until the server shuts down.
pub async fn run(ctx: Arc<ServerContext>, cluster: Arc<Cluster>) {
    let shutdown = ctx.shutdown.clone();
    let mut node = Node {
        ctx,
        cluster,
        up: false,
        listed: false,
    };
    tokio::select! {
        biased;
        () = shutdown.cancelled() => {}
        () = node.serve() => {}
    }
    // Out of the directory now, so that nobody is sent here while the rooms close (their
    // members are redirected to `elsewhere`).
    match node.cluster.directory.leave().await {
        Ok(()) => tracing::info!(node = %node.cluster.node, "left the cluster"),
        Err(err) => tracing::warn!(cause = %err, "could not leave the cluster cleanly"),
    }
}

struct Node {
    ctx: Arc<ServerContext>,
    cluster: Arc<Cluster>,
    /// Whether Redis answered last time, to log each change once.
    up: bool,
    /// A beat of this node has succeeded since it started.
    listed: bool,
}

impl Node {
    /// Connects, then listens and beats; after losing Redis, connects again. Never ends
    /// by itself.
    async fn serve(&mut self) {
        let manager = loop {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Duration::from_millis(500))
                .set_response_timeout(Duration::from_millis(500))
                .set_number_of_retries(1);
            match ConnectionManager::new_with_config(self.cluster.redis.clone(), config).await {
                Ok(manager) => break manager,
                Err(err) => {
                    self.set_up(false, Some(&err.to_string()));
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        self.cluster.directory.connected(manager);
        loop {
            self.listen().await;
            self.set_up(false, Some("the subscription ended"));
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Subscribes to this node's channels and serves them, beating meanwhile, until the
    /// subscription breaks.
    async fn listen(&mut self) {
        let directory = &self.cluster.directory;
        let mut pubsub = match self.cluster.redis.get_async_pubsub().await {
            Ok(pubsub) => pubsub,
            Err(err) => {
                self.set_up(false, Some(&err.to_string()));
                // No beat without a channel of our own: the others would see this node
                // as gone anyway (nobody listens for its seat requests). Try again.
                return;
            }
        };
        for channel in [
            directory.node_channel(&self.cluster.node),
            directory.all_channel(),
        ] {
            if let Err(err) = pubsub.subscribe(&channel).await {
                self.set_up(false, Some(&err.to_string()));
                return;
            }
        }
        let mut messages = pubsub.into_on_message();
        let mut beats = tokio::time::interval(self.cluster.ttl / 3);
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = beats.tick() => self.beat().await,
                msg = messages.next() => match msg {
                    Some(msg) => self.on_message(msg.get_payload_bytes()).await,
                    None => return,
                },
            }
        }
    }

    fn set_up(&mut self, up: bool, why: Option<&str>) {
        self.ctx.metrics.cluster_directory_up.set(i64::from(up));
        if up != self.up {
            self.up = up;
            if up {
                tracing::info!(node = %self.cluster.node, url = %self.cluster.url, "in the cluster");
            } else {
                tracing::warn!(
                    cause = why.unwrap_or(""),
                    "the cluster directory (Redis) is unreachable; rooms here go on"
                );
            }
        }
    }

    /// One heartbeat: this node, its rooms and users, into the directory.
    async fn beat(&mut self) {
        self.cluster.tickets.sweep(Instant::now());
        let rooms: Vec<RoomEntry> = self
            .ctx
            .rooms
            .list()
            .into_iter()
            .map(|r| RoomEntry {
                name: r.id,
                taken: r.players,
                capacity: r.capacity,
                private: r.private,
            })
            .collect();
        let beat = Beat {
            url: self.cluster.url.clone(),
            load: rooms.iter().map(|r| r.taken).sum(),
            draining: false,
            returning: self.listed,
            rooms,
            users: self.ctx.rooms.seated_users(),
        };
        match self.cluster.directory.beat(&beat, self.cluster.ttl).await {
            Ok(elsewhere) => {
                self.listed = true;
                self.cluster.elsewhere.set(elsewhere.as_deref());
                self.set_up(true, None);
            }
            Err(err) => self.set_up(false, Some(&err.to_string())),
        }
    }

    async fn on_message(&mut self, payload: &[u8]) {
        let msg = match BusMsg::from_json(payload) {
            Ok(msg) => msg,
            Err(err) => {
                tracing::warn!(cause = %err, "dropped a cluster message that does not parse");
                return;
            }
        };
        match msg {
            BusMsg::Reserve {
                id,
                from,
                room,
                key,
                user,
                token_user,
                may_join,
            } => {
                let identity = Identity {
                    user_id: token_user,
                    name: None,
                    rooms: may_join,
                };
                let answer = self
                    .reserve(room.as_deref(), key.as_deref(), &user, identity)
                    .await;
                let reply = BusMsg::Reserved { id, answer }.to_json();
                let channel = self.cluster.directory.node_channel(&from);
                if let Err(err) = self.cluster.directory.publish(&channel, &reply).await {
                    // The seat waits for its ticket until it expires, then is given back.
                    tracing::warn!(cause = %err, "could not answer a seat request");
                }
            }
            BusMsg::Reserved { id, answer } => self.cluster.replies.answer(id, answer),
            BusMsg::Tell { user, text } => {
                self.ctx.rooms.notify(Some(&user), &notice(text, false));
            }
            BusMsg::Announce { text } => {
                self.ctx.rooms.notify(None, &notice(text, true));
            }
        }
    }

    /// A seat for another node's client: in `room`, which must be here, or in a new
    /// quick-join room with `None`.
    async fn reserve(
        &self,
        room: Option<&str>,
        key: Option<&str>,
        user: &str,
        identity: Identity,
    ) -> SeatAnswer {
        let name = match room {
            Some(name) if self.ctx.rooms.get(name).is_none() => {
                return refused(&JoinRefused::NotFound(name.to_owned()));
            }
            Some(name) => name.to_owned(),
            None => {
                let name = self.ctx.rooms.quick_room_name();
                let capacity = self.ctx.config.room_limits().max_room_players;
                // Unclaimed, the room is still listed at the next heartbeat.
                let _listed = self.cluster.directory.claim(&name, capacity, false).await;
                name
            }
        };
        let request = Request::Join {
            room: Some(&name),
            key,
        };
        let mut reserved = match self.ctx.rooms.reserve(request, user, &identity) {
            Ok(reserved) => reserved,
            Err(why) => return refused(&why),
        };
        if let Some(opened) = reserved.opened.take() {
            self.ctx.handoffs.open_room(opened);
        }
        match self
            .cluster
            .tickets
            .issue(reserved, identity.user_id, Instant::now())
        {
            Some(ticket) => SeatAnswer::Granted {
                room: name,
                url: self.cluster.url.clone(),
                ticket,
            },
            None => SeatAnswer::Refused {
                code: tickwire_shared::ErrorCode::UNAVAILABLE.0,
                message: "the node could not make a ticket".to_owned(),
            },
        }
    }
}

fn refused(why: &JoinRefused) -> SeatAnswer {
    SeatAnswer::Refused {
        code: refusal_code(why).0,
        message: why.to_string(),
    }
}

/// An operator's notice, encoded.
pub fn notice(text: String, to_all: bool) -> bytes::Bytes {
    let time_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    encode(&Notice {
        text,
        to_all,
        time_ms,
    })
}
