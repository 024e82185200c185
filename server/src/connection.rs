//! A connection's start: socket tuning, a connection slot (or an HTTP 429/503 refusal), the
//! WebSocket handshake (and its token, or a 401) under a timeout, then the lobby.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tracing::Span;

use crate::client::Client;
use crate::context::ServerContext;
use crate::handshake::{self, HandshakeFailure};
use crate::lobby;
use crate::metrics::Refusal;

/// Serves one accepted TCP connection: handshake, then the lobby. A peer over the
/// connection limits is answered with an HTTP refusal instead of the upgrade. Errors are
/// logged here, never returned.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    handshake_permit: OwnedSemaphorePermit,
    ctx: Arc<ServerContext>,
) {
    handshake::tune_socket(&stream);
    let slot = ctx.limits.acquire(peer.ip());
    let refuse = match slot {
        Ok(_) => None,
        Err(Refusal::PerIp) => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from your address",
        )),
        Err(_) => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its connection limit",
        )),
    };
    let config = handshake::websocket_config(ctx.config.max_message_bytes);
    let upgrade = handshake::handshake(stream, config, refuse, ctx.auth.as_ref());
    let upgrade = tokio::time::timeout(ctx.config.handshake_timeout(), upgrade).await;
    drop(handshake_permit);
    let (ws, identity, slot) = match (upgrade, slot) {
        (Ok(Ok((ws, identity))), Ok(slot)) => (ws, identity, slot),
        (_, Err(refusal)) => {
            ctx.metrics.refused(refusal);
            tracing::info!(reason = refusal.label(), "refused connection");
            return;
        }
        (Ok(Err(HandshakeFailure::Unauthorized(why))), Ok(_)) => {
            let refusal = Refusal::Unauthorized;
            ctx.metrics.refused(refusal);
            tracing::info!(reason = refusal.label(), cause = %why, "refused connection");
            return;
        }
        (Ok(Err(err)), Ok(_)) => {
            ctx.metrics.refused(Refusal::HandshakeFailed);
            tracing::debug!(cause = %err, "handshake failed");
            return;
        }
        (Err(_), Ok(_)) => {
            ctx.metrics.refused(Refusal::HandshakeTimeout);
            tracing::debug!("handshake timed out");
            return;
        }
    };
    let mut client = Client::new(
        ws,
        ctx.client_rules.clone(),
        Arc::clone(&ctx.metrics),
        slot,
        Span::current(),
        Instant::now(),
    );
    client.peer.set_identity(identity);
    lobby::run(client, ctx).await;
}
