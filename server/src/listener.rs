//! The accept loop: takes a connection permit, accepts, and hands the socket to its own
//! task; on shutdown, stops accepting and waits (within the grace period) for every
//! connection and room to finish.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::Config;
use crate::connection;
use crate::context::ServerContext;

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
    let ctx = Arc::new(ServerContext::new(config, shutdown));
    // A permit per open connection: at the limit, new peers wait in the listen backlog.
    let permits = Arc::new(Semaphore::new(ctx.config.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // the semaphore is never closed; treat it as shutdown
            },
        };
        let accepted = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let span = tracing::info_span!("conn", %peer, player = tracing::field::Empty);
                let ctx = Arc::clone(&ctx);
                ctx.tracker.clone().spawn(
                    async move {
                        connection::serve(stream, ctx).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
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
    tracing::info!(metrics = %ctx.metrics.summary(), "server stopped");
    Ok(())
}
