//! A light bot's connection as the seating steps see it ([`crate::session`]): the same
//! hello, join, claim, resume and redirects as a full bot, over the bot's own framing
//! ([`super::conn`]). Each message is read where it lies and whatever follows it stays in
//! the buffer for the play that comes after; the server's pings are answered on the way.
//! Also the polite close, at the deadline or after a redirect.

use std::time::Duration;

use tickwire_shared::{ClientMsg, ServerMsg, encode_client};
use tokio::time::timeout;

use super::conn::RawWs;
use super::frame;
use crate::auth;
use crate::rng::XorShift64;
use crate::session::{Dial, Line, LineError, Tally};
use crate::{CLOSE_GRACE, LEAVE_GRACE};

/// Opens light connections: the bot's token in each URL's query when it has one, and each
/// connection's masks from the bot's own generator.
pub(crate) struct LightDial {
    token: Option<String>,
    seeds: XorShift64,
}

impl LightDial {
    pub(crate) fn new(token: Option<String>, seed: u64) -> Self {
        Self {
            token,
            seeds: XorShift64::seeded(seed),
        }
    }
}

impl Dial for LightDial {
    type Line = RawWs;

    async fn dial(&mut self, url: &str) -> anyhow::Result<RawWs> {
        let url = match &self.token {
            Some(token) => auth::with_token(url, token),
            None => url.to_owned(),
        };
        RawWs::open(&url, self.seeds.next_u64()).await
    }
}

impl Line for RawWs {
    async fn send(&mut self, tally: &mut impl Tally, msg: &ClientMsg) -> anyhow::Result<()> {
        let payload = encode_client(msg);
        tally.sent(payload.len());
        self.split().1.queue(frame::BINARY, &payload);
        Ok(self.flush().await?)
    }

    async fn recv(&mut self, tally: &mut impl Tally) -> Result<ServerMsg, LineError> {
        loop {
            let (mut read, mut write) = self.split();
            while let Some(head) = read
                .next_frame()
                .map_err(|e| LineError::BadFrame(e.to_string()))?
            {
                let payload = read.payload(&head);
                match head.opcode {
                    frame::BINARY => {
                        tally.received(payload.len());
                        let msg = ServerMsg::decode(payload)
                            .map_err(|e| LineError::Undecodable(e.to_string()));
                        read.consume(&head);
                        return msg;
                    }
                    frame::TEXT => return Err(LineError::Text),
                    frame::CLOSE => return Err(LineError::Closed(frame::close_reason(payload))),
                    frame::PING => write.queue(frame::PONG, payload),
                    _ => {}
                }
                read.consume(&head);
            }
            write
                .write_now()
                .map_err(|e| LineError::Failed(e.to_string()))?;
            match read.fill().await {
                Ok(0) => return Err(LineError::Ended),
                Ok(_) => {}
                Err(e) => return Err(LineError::Failed(e.to_string())),
            }
        }
    }

    async fn leave(mut self) {
        close_within(LEAVE_GRACE, &mut self).await;
    }
}

/// Says goodbye at the deadline: a close frame, then whatever the server still sends until
/// its own close or the end, all within [`CLOSE_GRACE`]. Nothing here is measured.
pub(crate) async fn close(ws: &mut RawWs) {
    close_within(CLOSE_GRACE, ws).await;
}

async fn close_within(grace: Duration, ws: &mut RawWs) {
    let _ = timeout(grace, async {
        ws.split()
            .1
            .queue(frame::CLOSE, &frame::close_payload(1000, "bot done"));
        if ws.flush().await.is_err() {
            return;
        }
        let (mut read, _) = ws.split();
        loop {
            loop {
                match read.next_frame() {
                    Ok(Some(head)) if head.opcode == frame::CLOSE => return,
                    Ok(Some(head)) => read.consume(&head),
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
            if !matches!(read.fill().await, Ok(n) if n > 0) {
                return;
            }
        }
    })
    .await;
}
