//! A connection's writer task: finishes the writes the socket could not take at once.
//!
//! Most writes never reach this task: `Link::send_now` makes them as soon as something is
//! queued. This task takes over when the socket pushes back or the connection is closing,
//! and waits for the socket with a real waker. Once a close is asked for, a peer that does
//! not drain its socket gets a short grace period and is then given up, so a peer that
//! never reads cannot hold the connection open.

use std::sync::Arc;
use std::time::Duration;

use crate::link::{Flow, Link};

/// How long a write may stall once the connection is closing.
const CLOSING_GRACE: Duration = Duration::from_secs(1);

/// Writes until the close frame has gone out or the socket fails; `span` is the
/// connection's, entered only to log.
pub async fn run(link: Arc<Link>, span: tracing::Span) {
    loop {
        link.handed_off().await;
        let pumped = tokio::select! {
            pumped = std::future::poll_fn(|cx| link.poll_pump(cx)) => pumped,
            _ = async {
                link.outbox().closing().await;
                tokio::time::sleep(CLOSING_GRACE).await;
            } => {
                span.in_scope(|| tracing::debug!("peer stopped reading while closing; giving up"));
                break;
            }
        };
        match pumped {
            Ok(Flow::Open) => {}
            Ok(Flow::Closed) => break,
            Err(err) => {
                span.in_scope(|| tracing::debug!(cause = %err, "write failed; ending connection"));
                break;
            }
        }
    }
    link.finish();
}
