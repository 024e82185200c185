//! The honest player every fault test keeps in the room while someone misbehaves.
//!
//! [`Honest::join`] greets, joins a room and hands the connection to a spawned task that
//! reads it without pause: it notes when each snapshot arrived and its tick, answers each
//! snapshot with a valid input as a real player would, and passes every other message on
//! to the test ([`Honest::wait_for`]). [`Honest::finish`] stops the task and returns what
//! it saw, a [`Watch`]; [`Watch::assert_steady`] then checks that over the whole window the
//! snapshots came at 60 Hz, one per tick, with no long silence, and that the server kept
//! applying the honest player's inputs.
//!
//! The window must cover the whole offence: join (and so start watching) before the
//! offender acts, finish after the offender's outcome was asserted.
//!
//! [`ending`] is the offender's side: how its connection ended, with a deadline, so a test
//! waiting for a close that never comes fails instead of reading snapshots forever.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::{SinkExt, Stream, StreamExt};
use tickwire_shared::*;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

use super::{Client, TestServer, WAIT};

/// Snapshots per second the honest player must get (the server's default tick rate).
pub const RATE_HZ: f64 = 60.0;
/// How far the mean snapshot rate may be from [`RATE_HZ`]. Measured over at least
/// [`MIN_WINDOW`], this leaves room for ~50 ms of jitter at the window's two ends; a server
/// that skips ticks is caught by the tick check, one that delivers late by the gap check.
pub const RATE_TOLERANCE_HZ: f64 = 3.0;
/// How many one-tick catch-ups (two steps, one snapshot) a watch may see.
pub const MAX_CATCH_UPS: usize = 2;
/// The shortest window [`Honest::finish`] lets a watch have, so the rate means something.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
/// The longest silence allowed between two snapshots (and at the window's ends). A tick is
/// 16.7 ms; tests run in a debug build beside other tests on two cores, so a scheduling
/// hiccup of a few ticks is not the server's fault, but a blocked room (one that waits on a
/// socket or serves a flooder first) shows as a much longer gap.
pub const MAX_GAP: Duration = Duration::from_millis(200);
/// How many of its own inputs the honest player may have sent that the latest snapshot does
/// not yet acknowledge: an input sent on one snapshot is normally applied by the next (lag
/// 0 in every run measured); 10 ticks is about [`MAX_GAP`], so only a room that stops
/// reading the honest player's socket exceeds it.
pub const MAX_ACK_LAG: u32 = 10;

/// An honest player in a room, read by its own task (see the module doc).
pub struct Honest {
    /// The honest player's id.
    pub id: PlayerId,
    started: Instant,
    events: mpsc::UnboundedReceiver<ServerMsg>,
    stop: CancellationToken,
    task: JoinHandle<Watch>,
}

/// What the honest player saw while it was watched.
#[derive(Debug)]
pub struct Watch {
    /// The honest player's id.
    pub id: PlayerId,
    /// When watching began (just after `Joined`).
    pub started: Instant,
    /// When watching ended (when it was asked to, or when the connection ended).
    pub stopped: Instant,
    /// Arrival time and tick of every snapshot, in order.
    pub arrivals: Vec<(Instant, u64)>,
    /// The entities held after the last snapshot.
    pub last: Option<Vec<Entity>>,
    /// Every message other than snapshots, in order.
    pub events: Vec<ServerMsg>,
    /// How many inputs the honest player sent.
    pub inputs_sent: u32,
    /// The newest of its inputs the server acknowledged.
    pub acked: u32,
    /// The most unacknowledged inputs seen at a snapshot.
    pub max_ack_lag: u32,
    /// Anything wrong the reader itself noticed (the connection ended, a frame that does
    /// not decode, the player missing from a snapshot, an acknowledgement going back).
    pub faults: Vec<String>,
}

impl Honest {
    /// Greets as "honest", joins `room` and starts watching.
    pub async fn join(server: &TestServer, room: &str) -> Self {
        let (client, joined) = Client::joined(server, "honest", Some(room)).await;
        assert_eq!(joined.room, room);
        let id = client.id;
        let (events_tx, events) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let started = Instant::now();
        let task = tokio::spawn(watch(client, started, stop.clone(), events_tx));
        Self {
            id,
            started,
            events,
            stop,
            task,
        }
    }

    /// The next message other than a snapshot that matches `want`, skipping the others;
    /// panics, naming `what`, when none comes within [`WAIT`].
    pub async fn wait_for(&mut self, what: &str, want: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        self.wait_for_within(WAIT, what, want).await
    }

    /// Like [`Honest::wait_for`], with a deadline of `within`.
    pub async fn wait_for_within(
        &mut self,
        within: Duration,
        what: &str,
        want: impl Fn(&ServerMsg) -> bool,
    ) -> ServerMsg {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(msg)) if want(&msg) => return msg,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the honest player's connection ended waiting for {what}"),
                Err(_) => panic!("the honest player saw no {what} within {within:?}"),
            }
        }
    }

    /// Waits until the honest player is told that `id` left the room.
    pub async fn sees_leave(&mut self, id: PlayerId) {
        self.wait_for(
            &format!("PlayerLeft for {id}"),
            |m| matches!(m, ServerMsg::PlayerLeft(left) if left.id == id),
        )
        .await;
    }

    /// Stops watching (after [`MIN_WINDOW`] at the earliest) and returns what was seen.
    pub async fn finish(self) -> Watch {
        let watched = self.started.elapsed();
        if watched < MIN_WINDOW {
            tokio::time::sleep(MIN_WINDOW - watched).await;
        }
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the watcher stops when asked")
            .expect("the watcher does not panic")
    }
}

/// The honest player's input for its `seq`-th snapshot: half speed, turning slowly, so it
/// circles (radius ~50) near its spawn point without reaching anyone else's.
fn honest_input(seq: u32) -> ClientMsg {
    let angle = seq as f32 * 0.05;
    let dir = [0.5 * angle.cos(), 0.5 * angle.sin()];
    super::arena::input_facing(seq, dir, angle % std::f32::consts::PI)
}

async fn watch(
    mut client: Client,
    started: Instant,
    stop: CancellationToken,
    events_tx: mpsc::UnboundedSender<ServerMsg>,
) -> Watch {
    let mut w = Watch {
        id: client.id,
        started,
        stopped: started,
        arrivals: Vec::new(),
        last: None,
        events: Vec::new(),
        inputs_sent: 0,
        acked: 0,
        max_ack_lag: 0,
        faults: Vec::new(),
    };
    let mut replica = std::mem::take(&mut client.replica);
    let tick_rate = client.tick_rate;
    let schema = client.schema.clone().expect("joined, so the schema came");
    loop {
        let frame = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            frame = client.ws.next() => frame,
        };
        let now = Instant::now();
        let bytes = match frame {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Text(t))) => {
                w.faults.push(format!("text frame {t:?}"));
                continue;
            }
            Some(Ok(Message::Close(frame))) => {
                w.faults.push(format!("the server closed: {frame:?}"));
                break;
            }
            Some(Err(err)) => {
                w.faults.push(format!("read failed: {err}"));
                break;
            }
            None => {
                w.faults.push("the connection ended".into());
                break;
            }
        };
        let snapshot = match ServerMsg::decode(&bytes) {
            Ok(ServerMsg::Snapshot(s)) => {
                if let Err(err) = replica.apply(&s, &schema, tick_rate) {
                    w.faults.push(format!("snapshot of tick {}: {err}", s.tick));
                    continue;
                }
                s
            }
            Ok(other) => {
                w.events.push(other.clone());
                let _ = events_tx.send(other);
                continue;
            }
            Err(err) => {
                w.faults.push(format!("undecodable frame: {err}"));
                continue;
            }
        };
        w.arrivals.push((now, snapshot.tick));
        if replica.entity(w.id).is_none() {
            w.faults
                .push(format!("not in the snapshot of tick {}", snapshot.tick));
        }
        // The acknowledgement is the snapshot head's, written for this client alone.
        let ack = snapshot.ack;
        if ack < w.acked || ack > w.inputs_sent {
            w.faults.push(format!(
                "acknowledged input {ack} after {} with {} sent",
                w.acked, w.inputs_sent
            ));
        }
        w.acked = ack;
        w.max_ack_lag = w
            .max_ack_lag
            .max(w.inputs_sent - w.acked.min(w.inputs_sent));
        w.last = Some(replica.entities().to_vec());
        w.inputs_sent += 1;
        let input = encode_client(&honest_input(w.inputs_sent));
        if let Err(err) = client.ws.send(Message::Binary(input)).await {
            w.faults.push(format!("send failed: {err}"));
            break;
        }
    }
    w.stopped = Instant::now();
    w
}

impl Watch {
    /// True when a message other than a snapshot matched `want`.
    pub fn saw(&self, want: impl Fn(&ServerMsg) -> bool) -> bool {
        self.events.iter().any(want)
    }

    /// Mean snapshots per second between the first and the last arrival.
    pub fn rate(&self) -> f64 {
        match (self.arrivals.first(), self.arrivals.last()) {
            (Some(first), Some(last)) if self.arrivals.len() > 1 => {
                (self.arrivals.len() - 1) as f64 / (last.0 - first.0).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// The longest silence in the window: between arrivals, and from the start to the
    /// first and from the last to the end.
    pub fn max_gap(&self) -> Duration {
        let times: Vec<Instant> = std::iter::once(self.started)
            .chain(self.arrivals.iter().map(|a| a.0))
            .chain(std::iter::once(self.stopped))
            .collect();
        times
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default()
    }

    /// Snapshots that arrived in each whole second of the window, from its start.
    pub fn per_second(&self) -> Vec<usize> {
        let seconds = (self.stopped - self.started).as_secs();
        (0..seconds)
            .map(|k| {
                let from = self.started + Duration::from_secs(k);
                let to = from + Duration::from_secs(1);
                self.arrivals
                    .iter()
                    .filter(|(at, _)| *at >= from && *at < to)
                    .count()
            })
            .collect()
    }

    /// Ticks that did not follow their predecessor by exactly one: (previous, this).
    pub fn tick_breaks(&self) -> Vec<(u64, u64)> {
        self.arrivals
            .windows(2)
            .filter(|w| w[1].1 != w[0].1 + 1)
            .map(|w| (w[0].1, w[1].1))
            .collect()
    }

    /// A one-paragraph account, for failure messages.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{} snapshots in {:?} ({:.2} Hz), ticks {:?}..{:?}, longest gap {:?}, \
             tick breaks {:?}, inputs sent {} acked {} max lag {}, faults {:?}, errors {:?}",
            self.arrivals.len(),
            self.stopped - self.started,
            self.rate(),
            self.arrivals.first().map(|a| a.1),
            self.arrivals.last().map(|a| a.1),
            self.max_gap(),
            self.tick_breaks(),
            self.inputs_sent,
            self.acked,
            self.max_ack_lag,
            self.faults,
            self.events
                .iter()
                .filter(|m| matches!(m, ServerMsg::Error(_)))
                .collect::<Vec<_>>(),
        );
        s
    }

    /// [`Watch::assert_steady`], and the honest player was alone in the room at the end:
    /// everyone else's connection ended.
    pub fn assert_steady_and_alone(&self) {
        self.assert_steady();
        let last = self
            .last
            .as_ref()
            .expect("the honest player saw a snapshot");
        assert_eq!(last.len(), 1, "only the honest player is left");
    }

    /// The honest player was served at 60 Hz throughout: no fault on its connection, no
    /// error sent to it, every tick's snapshot exactly once and in order, the mean rate
    /// within [`RATE_TOLERANCE_HZ`] of 60, no silence above [`MAX_GAP`], and its own inputs
    /// applied with at most [`MAX_ACK_LAG`] outstanding.
    pub fn assert_steady(&self) {
        let summary = self.summary();
        assert!(self.faults.is_empty(), "honest player: {summary}");
        assert!(
            !self.saw(|m| matches!(m, ServerMsg::Error(_))),
            "honest player got an error: {summary}"
        );
        assert!(
            self.stopped - self.started >= MIN_WINDOW,
            "watched too briefly: {summary}"
        );
        // Ticks never repeat or go back. A jump of one tick is the room catching up after
        // the OS delayed it (two steps, one snapshot): allowed a couple of times, since the
        // test machine is shared; the rate and gap checks still catch real stalls.
        let breaks = self.tick_breaks();
        assert!(
            breaks.iter().all(|(a, b)| *b == a + 2) && breaks.len() <= MAX_CATCH_UPS,
            "honest player's ticks skipped or repeated: {summary}"
        );
        assert!(
            (self.rate() - RATE_HZ).abs() <= RATE_TOLERANCE_HZ,
            "honest player's snapshot rate is off: {summary}"
        );
        assert!(
            self.max_gap() <= MAX_GAP,
            "honest player waited too long for a snapshot: {summary}"
        );
        assert!(
            self.max_ack_lag <= MAX_ACK_LAG && self.acked > 0,
            "honest player's inputs were not applied in time: {summary}"
        );
    }
}

/// How an offender's connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The server sent a close frame with this code and reason.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The server sent a close frame without a code.
    ClosedWithoutCode,
    /// The stream ended (EOF) without a close frame.
    Ended,
    /// Reading failed (a reset, a protocol error).
    Failed(String),
}

/// Reads (and drops) everything until the connection ends; `None` when it has not ended
/// within `within`.
pub async fn ending<S>(ws: &mut S, within: Duration) -> Option<Ending>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next()).await.ok()?;
        return Some(match frame {
            Some(Ok(Message::Close(Some(frame)))) => Ending::Closed {
                code: frame.code.into(),
                reason: frame.reason.to_string(),
            },
            Some(Ok(Message::Close(None))) => Ending::ClosedWithoutCode,
            Some(Ok(_)) => continue,
            Some(Err(err)) => Ending::Failed(err.to_string()),
            None => Ending::Ended,
        });
    }
}
