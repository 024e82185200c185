//! A connection's writer task: moves what the outbox holds onto the socket.
//!
//! Everything queued is fed to the WebSocket and flushed once, so a tick's snapshot and
//! any acknowledgements leave in one write. Once a close is asked for, a write that the
//! peer does not drain gets a short grace period and is then given up, so a peer that
//! never reads cannot hold the connection open.

use std::sync::Arc;
use std::time::Duration;

use futures::SinkExt;
use futures::stream::SplitSink;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::outbox::{Batch, Outbox};

/// The sending half of a client's WebSocket.
pub type WsSink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// How long a write may stall once the connection is closing.
const CLOSING_GRACE: Duration = Duration::from_secs(1);

/// Writes until the outbox closes (after sending the close frame) or the socket fails.
pub async fn run(mut sink: WsSink, outbox: Arc<Outbox>) {
    let mut batch = Batch::default();
    loop {
        outbox.ready().await;
        outbox.take(&mut batch);
        let close = batch.close.take();
        let written = write_batch(&mut sink, &mut batch, &outbox).await;
        if let Err(err) = written {
            tracing::debug!(cause = %err, "write failed; ending connection");
            break;
        }
        if let Some(close) = close {
            if let Some(code) = close.code {
                let frame = CloseFrame {
                    code: code.into(),
                    reason: close.reason.into(),
                };
                let _ = stall_guard(sink.send(Message::Close(Some(frame))), &outbox).await;
            } else {
                // The peer closed first; flushing sends the library's queued reply.
                let _ = stall_guard(sink.flush(), &outbox).await;
            }
            break;
        }
    }
}

async fn write_batch(
    sink: &mut WsSink,
    batch: &mut Batch,
    outbox: &Outbox,
) -> Result<(), WriteError> {
    if batch.reliable.is_empty() && batch.snapshot.is_none() {
        return Ok(());
    }
    for msg in batch.reliable.drain(..) {
        stall_guard(sink.feed(Message::Binary(msg)), outbox).await?;
    }
    if let Some(snapshot) = batch.snapshot.take() {
        stall_guard(sink.feed(Message::Binary(snapshot)), outbox).await?;
    }
    stall_guard(sink.flush(), outbox).await
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("peer stopped reading while the connection was closing")]
    Stalled,
}

/// Runs a write, but once the outbox is closing gives it only [`CLOSING_GRACE`] more.
async fn stall_guard<F>(write: F, outbox: &Outbox) -> Result<(), WriteError>
where
    F: Future<Output = Result<(), tokio_tungstenite::tungstenite::Error>>,
{
    tokio::pin!(write);
    // Fast path: most writes complete at once, and need no timer.
    if let Some(done) = futures::FutureExt::now_or_never(&mut write) {
        return Ok(done?);
    }
    tokio::select! {
        r = &mut write => Ok(r?),
        _ = async {
            outbox.closing().await;
            tokio::time::sleep(CLOSING_GRACE).await;
        } => Err(WriteError::Stalled),
    }
}
