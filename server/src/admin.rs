//! The admin endpoint: a small HTTP server, on its own port, for the operator and the
//! orchestrator rather than for players.
//!
//! - `GET /healthz`: `200 ok` while serving, `503 draining` once shutdown has begun, so a
//!   load balancer stops sending players here.
//! - `GET /metrics`: every metric in the Prometheus (OpenMetrics) text format.
//! - `GET /rooms`: the open rooms as JSON: `[{"id", "players", "capacity", "private"}]`.
//! - `GET /info`: what a page needs to reach the game, as JSON: `{"game", "game_port",
//!   "tick_rate", "send_every", "protocol_version"}`.
//! - `POST /notice` with `{"text": "...", "user": "..."}`: an operator's notice (a
//!   `Notice` message) to that user, in whichever room on whichever node seats them, or
//!   without `user` to every room on every node. Answers where it went, 404 when the user
//!   is seated nowhere, 503 when the cluster could not be reached.
//! - `GET /presence/USER`: which node and room seat the user, as JSON: `{"user", "node",
//!   "url", "room"}`; 404 when none does.
//! - With `--playground DIR`, every other path is a file of `DIR` (`/` its `index.html`):
//!   the browser playground, whose operator page reads `/rooms` and `/metrics` from here.
//!
//! It lives on its own port so that it can be kept off the public network (the default
//! binds to loopback) while the game port is open to everyone.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

use crate::cluster::bus::BusMsg;
use crate::cluster::node::notice;
use crate::context::ServerContext;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What `/info` says: enough for a page served here to open the game's WebSocket.
#[derive(Debug, Clone, serde::Serialize)]
struct Info {
    game: String,
    game_port: u16,
    tick_rate: u16,
    send_every: u32,
    protocol_version: u16,
}

/// Serves the admin endpoint on `listener` for the game listening on `game_addr`, until
/// the server's shutdown is done (the caller drops this future).
///
/// # Errors
/// The listener failed.
pub async fn serve(
    listener: TcpListener,
    game_addr: SocketAddr,
    ctx: Arc<ServerContext>,
) -> std::io::Result<()> {
    let info = Info {
        game: ctx.config.game.clone(),
        game_port: game_addr.port(),
        tick_rate: ctx.config.tick_rate,
        send_every: ctx.config.send_every,
        protocol_version: tickwire_shared::PROTOCOL_VERSION,
    };
    let playground = ctx.config.playground.clone();
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/rooms", get(rooms))
        .route("/notice", post(send_notice))
        .route("/presence/{user}", get(presence))
        .route("/info", get(move || async move { axum::Json(info) }))
        .with_state(ctx);
    if let Some(dir) = playground {
        app = app.fallback_service(ServeDir::new(dir));
    }
    axum::serve(listener, app).await
}

async fn healthz(State(ctx): State<Arc<ServerContext>>) -> impl IntoResponse {
    if ctx.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else {
        (StatusCode::OK, "ok\n")
    }
}

async fn metrics(State(ctx): State<Arc<ServerContext>>) -> impl IntoResponse {
    // Rooms and players are read from the registry when asked for, rather than kept up
    // to date by every join and leave.
    let rooms = ctx.rooms.list();
    let players: usize = rooms.iter().map(|r| r.players).sum();
    ctx.metrics
        .rooms
        .set(i64::try_from(rooms.len()).unwrap_or(i64::MAX));
    ctx.metrics
        .players
        .set(i64::try_from(players).unwrap_or(i64::MAX));
    ([(header::CONTENT_TYPE, OPENMETRICS)], ctx.metrics.encode())
}

async fn rooms(State(ctx): State<Arc<ServerContext>>) -> impl IntoResponse {
    axum::Json(ctx.rooms.list())
}

/// A notice as the operator posts it.
#[derive(Debug, Clone, serde::Deserialize)]
struct NoticeRequest {
    text: String,
    user: Option<String>,
}

/// Where a user is seated.
#[derive(Debug, Clone, serde::Serialize)]
struct Presence {
    user: String,
    /// The node's id (`local` when the server runs alone).
    node: String,
    url: Option<String>,
    room: String,
}

/// The longest notice, the same bound as a chat message's.
const NOTICE_MAX_BYTES: usize = 256;

async fn send_notice(
    State(ctx): State<Arc<ServerContext>>,
    axum::Json(req): axum::Json<NoticeRequest>,
) -> axum::response::Response {
    use serde_json::json;
    if req.text.is_empty() || req.text.len() > NOTICE_MAX_BYTES {
        let why = format!("text must be 1 to {NOTICE_MAX_BYTES} bytes");
        return (StatusCode::BAD_REQUEST, why).into_response();
    }
    let cluster = ctx.cluster.as_deref();
    let here = cluster.map_or("local", |c| c.node.as_str()).to_owned();
    match req.user {
        None => {
            let Some(cluster) = cluster else {
                let rooms = ctx.rooms.notify(None, &notice(req.text, true));
                return axum::Json(json!({ "nodes": 1, "rooms_here": rooms })).into_response();
            };
            // Every node hears it on the channel of all, this one included.
            let msg = BusMsg::Announce {
                text: req.text.clone(),
            }
            .to_json();
            match cluster
                .directory
                .publish(&cluster.directory.all_channel(), &msg)
                .await
            {
                Ok(nodes) => axum::Json(json!({ "nodes": nodes })).into_response(),
                Err(err) => {
                    let rooms = ctx.rooms.notify(None, &notice(req.text, true));
                    let why = format!("{err}: sent to the {rooms} rooms of this node only");
                    (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
                }
            }
        }
        Some(user) => {
            let rooms = ctx
                .rooms
                .notify(Some(&user), &notice(req.text.clone(), false));
            if rooms > 0 {
                return axum::Json(json!({ "node": here })).into_response();
            }
            let Some(cluster) = cluster else {
                return (StatusCode::NOT_FOUND, "the user is not seated here").into_response();
            };
            let found = cluster.directory.user(&user).await;
            let (at, _room) = match found {
                Ok(Some(found)) => found,
                Ok(None) => {
                    return (StatusCode::NOT_FOUND, "the user is seated on no node")
                        .into_response();
                }
                Err(err) => {
                    return (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response();
                }
            };
            let msg = BusMsg::Tell {
                user,
                text: req.text,
            }
            .to_json();
            let channel = cluster.directory.node_channel(&at.node);
            match cluster.directory.publish(&channel, &msg).await {
                Ok(0) => (StatusCode::NOT_FOUND, "the user's node is gone").into_response(),
                Ok(_) => axum::Json(json!({ "node": at.node })).into_response(),
                Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
            }
        }
    }
}

async fn presence(
    State(ctx): State<Arc<ServerContext>>,
    Path(user): Path<String>,
) -> axum::response::Response {
    let cluster = ctx.cluster.as_deref();
    let seated_here = ctx
        .rooms
        .seated_users()
        .into_iter()
        .find(|(u, _)| *u == user);
    if let Some((user, room)) = seated_here {
        let presence = Presence {
            user,
            node: cluster.map_or("local", |c| c.node.as_str()).to_owned(),
            url: cluster.map(|c| c.url.clone()),
            room,
        };
        return axum::Json(presence).into_response();
    }
    let Some(cluster) = cluster else {
        return (StatusCode::NOT_FOUND, "not seated").into_response();
    };
    match cluster.directory.user(&user).await {
        Ok(Some((at, room))) => axum::Json(Presence {
            user,
            node: at.node,
            url: Some(at.url),
            room,
        })
        .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "not seated").into_response(),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    }
}
