//! One misbehaving bot's life: connect, say hello and join its room like an honest bot
//! (following the redirects to its room's node), then act hostile ([`super::acts`]) until
//! the deadline. When the server closes the connection, which some acts are meant to
//! provoke, the bot gets back with the same backoff as a dropped honest bot, to the next
//! node round the list ([`crate::rejoin`]), and carries on.
//!
//! Bounded like the honest bots: the first handshake by [`CONNECT_TIMEOUT`], every batch of
//! frames by [`SEND_STALL`] and the deadline, each reconnection by the deadline, and the
//! closing handshake by [`crate::CLOSE_GRACE`].

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tickwire_shared::ServerMsg;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::{self, Message};

use super::acts::{Act, Forge, Plan};
use super::stats::{CLOSE_ABNORMAL, CLOSE_NO_STATUS, MisbehaveStats};
use crate::CONNECT_TIMEOUT;
use crate::bot::{BotPlan, Shared};
use crate::reconnect::{Outcome, reconnect};
use crate::rejoin::Rejoiner;
use crate::rng::XorShift64;
use crate::session::{Ask, Seated, Seating, Tally as _, room_name};
use crate::urls::NodeRing;
use crate::ws::{self, WsDial, WsLine, WsSink, WsStream};

/// Mixed into a bot's index to seed the generator that picks its acts and jitters its
/// reconnects.
const ACTS_SEED: u64 = 0x0BAD_B075;

/// Mixed into a bot's index to seed the generator that fills its hostile frames.
const FRAMES_SEED: u64 = 0xF0A6_E5ED;

/// The longest one beat's frames may take to leave. A server that stops reading a flooder
/// fills the socket buffers; the bot then abandons the act rather than wait.
const SEND_STALL: Duration = Duration::from_secs(1);

/// How long to look for the server's close frame once a send has failed, and to flush our
/// answer to it.
const CLOSE_LOOKUP: Duration = Duration::from_millis(500);

/// Why a connection's play stopped.
enum Ended {
    /// The deadline came: close politely.
    Deadline,
    /// The server closed the connection, or it failed: get back in.
    Closed,
}

/// How sending one beat's frames went.
enum Sent {
    Done,
    /// They did not leave within [`SEND_STALL`]: give up the rest of the act.
    Stalled,
    /// The deadline came while they were leaving.
    Deadline,
    /// The connection failed.
    Failed,
}

/// Runs one misbehaving bot from its start to the deadline and returns its books.
pub(crate) async fn run(plan: BotPlan, shared: Arc<Shared>) -> MisbehaveStats {
    let name = format!("rogue-{}", plan.index);
    let room = room_name(plan.index, shared.rooms);
    let nodes = shared.nodes_for(plan.index);
    sleep_until(plan.start_at).await;
    let dial = match shared.token_for(plan.index, &name) {
        Ok(token) => WsDial::new(token),
        Err(why) => {
            tracing::debug!(bot = plan.index, "misbehaving bot failed to connect: {why}");
            return MisbehaveStats::default();
        }
    };
    let mut rogue = Rogue {
        index: plan.index,
        shared,
        stats: MisbehaveStats::default(),
        rng: XorShift64::seeded(ACTS_SEED ^ plan.index as u64),
        forge: Forge::new(
            XorShift64::seeded(FRAMES_SEED ^ plan.index as u64),
            plan.index,
            name.clone(),
            room.clone(),
        ),
        dial,
        nodes,
        name,
        room,
    };
    rogue.live().await;
    rogue.stats
}

struct Rogue {
    index: usize,
    shared: Arc<Shared>,
    /// Opens its connections, with this bot's token when the server authenticates.
    dial: WsDial,
    /// Where it connects, and reconnects.
    nodes: NodeRing,
    name: String,
    room: String,
    stats: MisbehaveStats,
    /// Picks acts and jitters reconnects.
    rng: XorShift64,
    forge: Forge,
}

impl Rogue {
    /// Connects, then plays one connection after another until the deadline. Each round
    /// ends at the deadline or with a close, after which the reconnection ends by the
    /// deadline at the latest; so the rounds end.
    async fn live(&mut self) {
        let mut seating = Seating {
            dial: &mut self.dial,
            name: &self.name,
            room: &self.room,
            tally: &mut self.stats,
            token: None,
        };
        let first = timeout(
            CONNECT_TIMEOUT,
            seating.seat(self.nodes.current(), Ask::Join, 0),
        )
        .await;
        let mut conn = match first {
            Ok(Ok(joined)) => Some(joined),
            Ok(Err(why)) => {
                tracing::debug!(bot = self.index, "misbehaving bot failed to connect: {why}");
                None
            }
            Err(_) => None,
        };
        loop {
            let joined = match conn.take() {
                Some(joined) => joined,
                None => match self.get_back().await {
                    Some(joined) => joined,
                    None => break,
                },
            };
            self.stats.connected = true;
            self.nodes.seated_on(&joined.node);
            self.forge.new_connection(joined.schema.as_ref());
            let WsLine {
                mut sink,
                mut stream,
            } = joined.line;
            match self.play(&mut sink, &mut stream).await {
                Ended::Deadline => {
                    ws::close(sink, stream).await;
                    break;
                }
                Ended::Closed => {}
            }
        }
    }

    /// Reconnects after a close; `None` when the deadline came or the bot gave up.
    async fn get_back(&mut self) -> Option<Seated<WsLine>> {
        let mut rejoin = Rejoiner {
            seating: Seating {
                dial: &mut self.dial,
                name: &self.name,
                room: &self.room,
                tally: &mut self.stats,
                token: None,
            },
            nodes: &mut self.nodes,
        };
        let shared = &self.shared;
        match reconnect(
            &shared.reconnect,
            shared.deadline,
            &mut self.rng,
            &mut rejoin,
        )
        .await
        {
            Outcome::Back(joined) => {
                self.stats.reconnects += 1;
                Some(joined)
            }
            Outcome::GaveUp { last_error } => {
                self.stats.reconnect_failures += 1;
                tracing::debug!(bot = self.index, "misbehaving bot gave up: {last_error}");
                None
            }
            Outcome::Deadline => None,
        }
    }

    /// Picks the next act and counts it.
    fn begin(&mut self) -> (Act, Plan) {
        let act = Act::pick(&mut self.rng);
        self.stats.act(act.name());
        (act, act.plan(&mut self.rng))
    }

    /// Acts on one connection until the deadline or until the connection ends.
    async fn play(&mut self, sink: &mut WsSink, stream: &mut WsStream) -> Ended {
        let deadline = self.shared.deadline;
        let end = sleep_until(deadline);
        tokio::pin!(end);
        let beat = sleep_until(Instant::now());
        tokio::pin!(beat);
        let (mut act, mut plan) = self.begin();
        let mut beats_done = 0;
        let mut frames = Vec::new();
        loop {
            tokio::select! {
                biased;
                () = &mut end => return Ended::Deadline,
                frame = stream.next(), if plan.reading => {
                    if let Some(ended) = self.on_frame(frame, sink).await {
                        return ended;
                    }
                }
                () = &mut beat => {
                    if beats_done >= plan.beats {
                        (act, plan) = self.begin();
                        beats_done = 0;
                        beat.as_mut().reset(Instant::now());
                        continue;
                    }
                    beats_done += 1;
                    // On time when the sends keep up; at once, not in a burst, when not.
                    let next = (beat.deadline() + plan.period).max(Instant::now());
                    beat.as_mut().reset(next);
                    frames.clear();
                    self.forge.frames(act, plan.per_beat, &mut frames);
                    match self.send_all(sink, &mut frames).await {
                        Sent::Done => {}
                        Sent::Stalled => beats_done = plan.beats,
                        Sent::Deadline => return Ended::Deadline,
                        Sent::Failed => return self.find_close(sink, stream).await,
                    }
                }
            }
        }
    }

    /// Sends one beat's frames with one flush, within [`SEND_STALL`] and the deadline.
    async fn send_all(&mut self, sink: &mut WsSink, frames: &mut Vec<Message>) -> Sent {
        if frames.is_empty() {
            return Sent::Done;
        }
        let deadline = self.shared.deadline;
        let limit = deadline.min(Instant::now() + SEND_STALL);
        let stats = &mut self.stats;
        let sending = async {
            for frame in frames.drain(..) {
                stats.sent(frame.len());
                sink.feed(frame).await?;
            }
            sink.flush().await
        };
        match timeout_at(limit, sending).await {
            Ok(Ok(())) => Sent::Done,
            Ok(Err(e)) => {
                tracing::trace!(bot = self.index, "misbehaving bot's send failed: {e}");
                Sent::Failed
            }
            Err(_) if limit == deadline => Sent::Deadline,
            Err(_) => Sent::Stalled,
        }
    }

    /// Counts what the server sent; `Some` when the connection is over.
    async fn on_frame(
        &mut self,
        frame: Option<Result<Message, tungstenite::Error>>,
        sink: &mut WsSink,
    ) -> Option<Ended> {
        match frame {
            Some(Ok(Message::Binary(bytes))) => {
                self.stats.received(bytes.len());
                if let Ok(ServerMsg::Error(e)) = ServerMsg::decode(&bytes) {
                    self.stats.error_received(e.code.0);
                }
                None
            }
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or(CLOSE_NO_STATUS, |f| u16::from(f.code));
                tracing::debug!(bot = self.index, code, "misbehaving bot was closed");
                self.stats.closed(code);
                // Answer the close, so the server's side ends cleanly.
                let _ = timeout(CLOSE_LOOKUP, sink.flush()).await;
                Some(Ended::Closed)
            }
            Some(Ok(_)) => None,
            Some(Err(_)) | None => {
                self.stats.closed(CLOSE_ABNORMAL);
                Some(Ended::Closed)
            }
        }
    }

    /// A send failed, most likely because the server closed the connection: read what is
    /// left for a while, to count its close code.
    async fn find_close(&mut self, sink: &mut WsSink, stream: &mut WsStream) -> Ended {
        let limit = self.shared.deadline.min(Instant::now() + CLOSE_LOOKUP);
        let found = timeout_at(limit, async {
            loop {
                let frame = stream.next().await;
                if self.on_frame(frame, sink).await.is_some() {
                    return;
                }
            }
        })
        .await;
        if found.is_err() {
            self.stats.closed(CLOSE_ABNORMAL);
        }
        Ended::Closed
    }
}
