//! The admin endpoint: a small HTTP server, on its own port, for the operator and the
//! orchestrator rather than for players.
//!
//! - `GET /healthz`: `200 ok` while serving, `503 draining` once shutdown has begun, so a
//!   load balancer stops sending players here.
//! - `GET /metrics`: every metric in the Prometheus (OpenMetrics) text format.
//! - `GET /rooms`: the open rooms as JSON: `[{"id", "players", "capacity", "private"}]`.
//!
//! It lives on its own port so that it can be kept off the public network (the default
//! binds to loopback) while the game port is open to everyone.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::context::ServerContext;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves the admin endpoint on `listener` until the server's shutdown is done (the
/// caller drops this future).
///
/// # Errors
/// The listener failed.
pub async fn serve(listener: TcpListener, ctx: Arc<ServerContext>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/rooms", get(rooms))
        .with_state(ctx);
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
