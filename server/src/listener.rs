//! The accept loop: accepts, and hands each socket to its own task; on shutdown, stops
//! accepting and waits (within the grace period) for every connection and room to finish.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::admin;
use crate::config::Config;
use crate::connection;
use crate::context::ServerContext;
use crate::metrics::Refusal;

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
    let ctx = Arc::new(ServerContext::new(config, shutdown));
    // Not in the tracker: it answers health checks ("draining") until everything else is done.
    let admin = admin.map(|listener| {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            if let Err(err) = admin::serve(listener, ctx).await {
                tracing::error!(cause = %err, "the admin endpoint stopped");
            }
        })
    });
    loop {
        let accepted = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Past the handshake limit a peer costs nothing but the accept: it gets no
                // task and no answer.
                let Ok(permit) = Arc::clone(&ctx.handshakes).try_acquire_owned() else {
                    ctx.metrics.refused(Refusal::HandshakeBacklog);
                    tracing::debug!(%peer, "too many handshakes under way; dropped a peer");
                    continue;
                };
                let span = tracing::info_span!("conn", %peer, player = tracing::field::Empty);
                let task = connection::serve(stream, peer, permit, Arc::clone(&ctx));
                ctx.tracker.spawn(task.instrument(span));
            }
            Err(err) => {
                // Usually a file-descriptor limit: back off instead of spinning.
                tracing::warn!(cause = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    ctx.tracker.close();
    let grace = ctx.config.shutdown_grace() + Duration::from_millis(500);
    if tokio::time::timeout(grace, ctx.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            left = ctx.tracker.len(),
            "tasks still running after the grace period"
        );
    }
    if let Some(admin) = admin {
        admin.abort();
    }
    tracing::info!(metrics = %ctx.metrics.summary(), "server stopped");
    Ok(())
}
