//! Where a join, create, watch or resume goes in a cluster: into a room here, or to
//! another node with a redirect (and, for a seat, a ticket that node reserved).
//!
//! The lobby hands over what it cannot answer alone ([`Route`]); this asks the directory,
//! and for a seat on another node asks that node, which reserves it under its own lock and
//! answers with a ticket (`bus`). Nothing here waits on a room: at most one directory call
//! or one request to a node, each with a timeout, for this one client.

use std::time::{Duration, Instant};

use tickwire_shared::{Create, ErrorCode, Join, Message as _, Redirect, Resume, Watch, encode};

use super::Cluster;
use super::bus::{BusMsg, SeatAnswer};
use super::directory::{Claimed, DirectoryError, NodeAt};
use crate::context::ServerContext;
use crate::lobby::requests::{Entry, Outcome, Route, refusal_code};
use crate::metrics::{CloseCause, Metrics};
use crate::outbox::{CLOSE_NORMAL, Close};
use crate::peer::Peer;
use crate::rooms::{JoinRefused, Request, valid_room_name};

/// How long a node may take to answer a seat request before the join is refused: a
/// round trip through Redis takes about a millisecond on a LAN.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// How many rooms a quick-join tries before it opens one here: the directory's counts
/// lag the rooms' by up to a heartbeat, so the room it picks may have filled.
const QUICK_TRIES: usize = 3;

/// The close after a redirect: the client goes elsewhere.
const MOVED: Close = Close {
    code: Some(CLOSE_NORMAL),
    reason: "moved to another node",
    cause: CloseCause::Clean,
};

/// Carries out `route` for `peer`: the client enters a room here, or is answered in its
/// outbox (a redirect, then its close; or an error).
pub async fn carry(
    ctx: &ServerContext,
    cluster: &Cluster,
    peer: &mut Peer,
    route: Route,
) -> Outcome {
    let router = Router { ctx, cluster };
    match route {
        Route::Join {
            room: Some(room),
            key,
        } => router.join(peer, &room, key).await,
        Route::Join { room: None, .. } => router.quick_join(peer).await,
        Route::Create {
            room,
            private,
            key,
            capacity,
        } => router.create(peer, &room, private, key, capacity).await,
        Route::Watch { room, key } => router.watch(peer, &room, key).await,
        Route::Resume { node } => router.resume(peer, &node).await,
    }
}

/// Why another node gave no seat.
enum AskFailed {
    /// It answered no, with the client's error.
    Refused(u16, String),
    /// It is not listening any more, or did not answer in time.
    Silent,
    /// Redis is unreachable.
    Unreachable,
}

struct Router<'a> {
    ctx: &'a ServerContext,
    cluster: &'a Cluster,
}

impl Router<'_> {
    async fn join(&self, peer: &mut Peer, room: &str, key: Option<String>) -> Outcome {
        let kind = Join::KIND;
        if !valid_room_name(room) {
            return refused(peer, &JoinRefused::BadName, kind);
        }
        let request = Request::Join {
            room: Some(room),
            key: key.as_deref(),
        };
        let owner = match self.cluster.directory.room(room).await {
            Ok(Some(at)) => Some(at),
            // Nowhere yet: open it here, if the name is still free when claimed.
            Ok(None) => match self.claim(room, false).await {
                Ok(Claimed::Ours) => None,
                Ok(Claimed::Settling) => return settling(peer, kind),
                Ok(Claimed::Taken(_)) => match self.cluster.directory.room(room).await {
                    Ok(at) => at,
                    Err(err) => return unreachable(peer, &err, kind),
                },
                Err(err) => return unreachable(peer, &err, kind),
            },
            Err(err) => return unreachable(peer, &err, kind),
        };
        match owner {
            Some(at) if at.node != self.cluster.node => {
                match self.ask(peer, &at, Some(room), key).await {
                    Ok((room, ticket)) => self.seat_at(peer, &at.url, room, ticket, kind),
                    Err(failed) => ask_failed(peer, failed, kind),
                }
            }
            _ => self.here(peer, request, kind),
        }
    }

    async fn quick_join(&self, peer: &mut Peer) -> Outcome {
        let kind = Join::KIND;
        let mut skip = Vec::new();
        for _ in 0..QUICK_TRIES {
            let pick = match self.cluster.directory.pick(&skip).await {
                Ok(pick) => pick,
                // Alone for now: the rooms here are all there is.
                Err(_) => {
                    return self.here(
                        peer,
                        Request::Join {
                            room: None,
                            key: None,
                        },
                        kind,
                    );
                }
            };
            if let Some((room, at)) = pick.room {
                if at.node == self.cluster.node {
                    let request = Request::Join {
                        room: Some(&room),
                        key: None,
                    };
                    match self
                        .ctx
                        .rooms
                        .reserve(request, &peer.user_id(), peer.identity())
                    {
                        Ok(reserved) => return Outcome::Enter(Entry::Join { reserved, kind }),
                        Err(_full_or_closed) => skip.push(room),
                    }
                    continue;
                }
                match self.ask(peer, &at, Some(&room), None).await {
                    Ok((room, ticket)) => {
                        return self.seat_at(peer, &at.url, room, ticket, kind);
                    }
                    Err(_) => skip.push(room),
                }
                continue;
            }
            // No room has a seat: open one on the least-loaded node.
            match pick.least_loaded {
                Some(at) if at.node != self.cluster.node => {
                    match self.ask(peer, &at, None, None).await {
                        Ok((room, ticket)) => {
                            return self.seat_at(peer, &at.url, room, ticket, kind);
                        }
                        Err(AskFailed::Unreachable) => break,
                        // That node could not open one: open it here instead.
                        Err(_) => return self.open_quick_here(peer).await,
                    }
                }
                _ => return self.open_quick_here(peer).await,
            }
        }
        self.open_quick_here(peer).await
    }

    /// Opens a new quick-join room on this node, under a name unique in the cluster.
    async fn open_quick_here(&self, peer: &mut Peer) -> Outcome {
        let name = self.ctx.rooms.quick_room_name();
        // The name is this node's alone, so the claim need not wait for a settling
        // directory; a failed one only means the room is listed at the next heartbeat.
        let capacity = self.ctx.config.room_limits().max_room_players;
        let _listed = (self.cluster.directory).claim(&name, capacity, false).await;
        let request = Request::Join {
            room: Some(&name),
            key: None,
        };
        self.here(peer, request, Join::KIND)
    }

    async fn create(
        &self,
        peer: &mut Peer,
        room: &str,
        private: bool,
        key: Option<String>,
        capacity: Option<u32>,
    ) -> Outcome {
        let kind = Create::KIND;
        if !valid_room_name(room) {
            return refused(peer, &JoinRefused::BadName, kind);
        }
        match self.claim(room, private).await {
            Ok(Claimed::Ours) => {}
            Ok(Claimed::Taken(_)) => {
                return refused(peer, &JoinRefused::Exists(room.to_owned()), kind);
            }
            Ok(Claimed::Settling) => return settling(peer, kind),
            Err(err) => return unreachable(peer, &err, kind),
        }
        let request = Request::Create {
            room,
            private,
            key: key.as_deref(),
            capacity,
        };
        self.here(peer, request, kind)
    }

    async fn watch(&self, peer: &mut Peer, room: &str, key: Option<String>) -> Outcome {
        let kind = Watch::KIND;
        match self.cluster.directory.room(room).await {
            Ok(Some(at)) if at.node != self.cluster.node => {
                // Watching takes no seat: the other node checks the key when the client
                // asks there.
                redirect(
                    &self.ctx.metrics,
                    peer,
                    &at.url,
                    Some(room.to_owned()),
                    None,
                    kind,
                )
            }
            Ok(_) => match self.ctx.rooms.watch(room, key.as_deref(), peer.identity()) {
                Ok(room) => Outcome::Enter(Entry::Watch { room }),
                Err(why) => refused(peer, &why, kind),
            },
            Err(err) => unreachable(peer, &err, kind),
        }
    }

    async fn resume(&self, peer: &mut Peer, node: &str) -> Outcome {
        let kind = Some(Resume::KIND);
        match self.cluster.directory.node(node).await {
            Ok(Some(at)) => redirect(&self.ctx.metrics, peer, &at.url, None, None, Resume::KIND),
            Ok(None) => {
                peer.error(
                    ErrorCode::RESUME_REFUSED,
                    "the room is gone: its node left the cluster",
                    kind,
                );
                Outcome::Stay
            }
            Err(err) => {
                peer.error(
                    ErrorCode::RESUME_REFUSED,
                    format!("{err}: the token's node cannot be found"),
                    kind,
                );
                Outcome::Stay
            }
        }
    }

    /// Claims `room`'s name for this node. Until this node is listed, and right after
    /// Redis came back empty, the claim waits (up to a heartbeat's lifetime) for the nodes
    /// to list their rooms again, so that a room opened before cannot be opened a second
    /// time elsewhere.
    async fn claim(&self, room: &str, private: bool) -> Result<Claimed, DirectoryError> {
        let capacity = self.ctx.config.room_limits().max_room_players;
        let ttl = self.cluster.ttl;
        let deadline = Instant::now() + ttl + ttl / 3;
        loop {
            match self
                .cluster
                .directory
                .claim(room, capacity, private)
                .await?
            {
                Claimed::Settling if Instant::now() < deadline => {
                    tokio::time::sleep(ttl / 10).await;
                }
                claimed => return Ok(claimed),
            }
        }
    }

    /// Sends `peer` to the seat in `room` that the node at `url` reserved with `ticket`.
    fn seat_at(
        &self,
        peer: &mut Peer,
        url: &str,
        room: String,
        ticket: String,
        kind: u8,
    ) -> Outcome {
        redirect(&self.ctx.metrics, peer, url, Some(room), Some(ticket), kind)
    }

    /// A seat here, as the registry gives it.
    fn here(&self, peer: &mut Peer, request: Request<'_>, kind: u8) -> Outcome {
        match self
            .ctx
            .rooms
            .reserve(request, &peer.user_id(), peer.identity())
        {
            Ok(reserved) => Outcome::Enter(Entry::Join { reserved, kind }),
            Err(why) => refused(peer, &why, kind),
        }
    }

    /// Asks node `at` for a seat in `room` (a new room with `None`) for `peer`: the
    /// room's name and the ticket, or why not.
    async fn ask(
        &self,
        peer: &Peer,
        at: &NodeAt,
        room: Option<&str>,
        key: Option<String>,
    ) -> Result<(String, String), AskFailed> {
        let started = Instant::now();
        let (id, answer) = self.cluster.replies.open();
        let identity = peer.identity();
        let msg = BusMsg::Reserve {
            id,
            from: self.cluster.node.clone(),
            room: room.map(str::to_owned),
            key,
            user: peer.user_id(),
            token_user: identity.user_id.clone(),
            may_join: identity.rooms.clone(),
        };
        let channel = self.cluster.directory.node_channel(&at.node);
        let heard = self
            .cluster
            .directory
            .publish(&channel, &msg.to_json())
            .await;
        let result = match heard {
            Ok(0) => Err(AskFailed::Silent),
            Ok(_) => match tokio::time::timeout(ASK_TIMEOUT, answer).await {
                Ok(Ok(SeatAnswer::Granted { room, ticket, .. })) => Ok((room, ticket)),
                Ok(Ok(SeatAnswer::Refused { code, message })) => {
                    Err(AskFailed::Refused(code, message))
                }
                Ok(Err(_)) | Err(_) => Err(AskFailed::Silent),
            },
            Err(_) => Err(AskFailed::Unreachable),
        };
        self.cluster.replies.forget(id);
        let metrics = &self.ctx.metrics;
        if result.is_ok() {
            metrics
                .cluster_seat_seconds
                .observe(started.elapsed().as_secs_f64());
        } else {
            metrics.cluster_seats_refused.inc();
        }
        result
    }
}

/// Queues the redirect to `url`, then the close.
fn redirect(
    metrics: &Metrics,
    peer: &mut Peer,
    url: &str,
    room: Option<String>,
    ticket: Option<String>,
    kind: u8,
) -> Outcome {
    metrics.cluster_redirects.inc();
    peer.span()
        .in_scope(|| tracing::debug!(%url, ?room, "redirected to another node"));
    peer.send(encode(&Redirect {
        url: url.to_owned(),
        room,
        ticket,
        in_reply_to: Some(kind),
    }));
    peer.close(MOVED);
    Outcome::Close
}

fn refused(peer: &mut Peer, why: &JoinRefused, kind: u8) -> Outcome {
    peer.error(refusal_code(why), why.to_string(), Some(kind));
    Outcome::Stay
}

fn settling(peer: &mut Peer, kind: u8) -> Outcome {
    peer.error(
        ErrorCode::UNAVAILABLE,
        "the cluster directory is settling after a restart; try again in a few seconds",
        Some(kind),
    );
    Outcome::Stay
}

fn unreachable(peer: &mut Peer, err: &DirectoryError, kind: u8) -> Outcome {
    peer.error(
        ErrorCode::UNAVAILABLE,
        format!("{err}: only rooms on this node can be joined now"),
        Some(kind),
    );
    Outcome::Stay
}

fn ask_failed(peer: &mut Peer, failed: AskFailed, kind: u8) -> Outcome {
    let (code, message) = match failed {
        AskFailed::Refused(code, message) => (ErrorCode(code), message),
        AskFailed::Silent => (
            ErrorCode::UNAVAILABLE,
            "the room's node does not answer; try again".to_owned(),
        ),
        AskFailed::Unreachable => (
            ErrorCode::UNAVAILABLE,
            "the cluster directory (Redis) is unreachable: only rooms on this node can be joined now"
                .to_owned(),
        ),
    };
    peer.error(code, message, Some(kind));
    Outcome::Stay
}
