//! Getting a seat in a room, on whichever node of a cluster has it: say hello, then join,
//! or claim the seat a redirect reserved, or resume a session ([`Seating::seat`]),
//! following the `Redirect`s that send the bot from node to node ([`crate::redirect`]);
//! and which room a bot plays in ([`room_name`]).
//!
//! The steps are the same for every kind of bot, whatever socket it plays on: the full and
//! misbehaving bots' tungstenite WebSocket ([`crate::ws`]) and the light bots' own
//! ([`crate::light`]). Each is a [`Line`] opened by a [`Dial`], so the protocol is written
//! once. Honest and misbehaving bots keep separate books, so what the steps send, receive
//! and meet is counted through [`Tally`], which each kind of bot implements for its own.
//! Getting back after a lost connection, over these steps, is [`crate::rejoin`]'s.
//!
//! Nothing here is bounded in time: the callers put a timeout around each trip.

use std::time::Duration;

use anyhow::bail;
use thiserror::Error;
use tickwire_shared::{
    Claim, ClientMsg, ErrorCode, Hello, Join, PROTOCOL_VERSION, PlayerId, Redirect, Resume,
    Resumed, Schema, ServerMsg,
};
use tokio::time::Instant;

use crate::cluster::JoinPath;
use crate::redirect::{MAX_REDIRECTS, Next, next_after};

/// Where a connection's bytes, and what the seating steps met, are counted.
pub(crate) trait Tally {
    /// A frame of `bytes` payload bytes was sent.
    fn sent(&mut self, bytes: usize);
    /// A binary frame of `bytes` payload bytes arrived.
    fn received(&mut self, bytes: usize);
    /// A `Redirect` arrived while getting seated. Books that do not count it ignore it.
    fn redirected(&mut self) {}
    /// A `Claim` was sent.
    fn claimed(&mut self) {}
    /// An operator's `Notice` arrived while getting seated.
    fn noticed(&mut self) {}
    /// A join ended in `Joined`, `took` after its `Join` went out, by `path`.
    fn joined(&mut self, _path: JoinPath, _took: Duration) {}
}

/// The room bot `index` plays in: the bots are dealt round the rooms like cards.
pub(crate) fn room_name(index: usize, rooms: usize) -> String {
    format!("bots-{}", index % rooms.max(1))
}

/// Why a [`Line`] gave no message.
#[derive(Debug)]
pub(crate) enum LineError {
    /// A text frame: the protocol is binary only.
    Text,
    /// The server closed the connection, saying this.
    Closed(String),
    /// The bytes were no WebSocket frame the server sends.
    BadFrame(String),
    /// A binary frame that is not a server message.
    Undecodable(String),
    /// The socket or the WebSocket failed.
    Failed(String),
    /// The connection ended without a close frame.
    Ended,
}

impl LineError {
    /// In words, as a failure while waiting for `what`.
    pub(crate) fn waiting_for(&self, what: &str) -> String {
        match self {
            LineError::Text => format!("text frame while waiting for {what}"),
            LineError::Closed(reason) => format!("closed while waiting for {what}: {reason}"),
            LineError::BadFrame(e) => format!("bad frame while waiting for {what}: {e}"),
            LineError::Undecodable(e) => {
                format!("undecodable frame while waiting for {what}: {e}")
            }
            LineError::Failed(e) => format!("websocket error while waiting for {what}: {e}"),
            LineError::Ended => format!("connection ended while waiting for {what}"),
        }
    }
}

/// One connection to a node, as the seating steps use it.
pub(crate) trait Line: Sized {
    /// Sends one message, counting its bytes.
    async fn send(&mut self, tally: &mut impl Tally, msg: &ClientMsg) -> anyhow::Result<()>;

    /// The next server message, counting its bytes; WebSocket pings are answered on the
    /// way, and whatever follows the message stays unread.
    async fn recv(&mut self, tally: &mut impl Tally) -> Result<ServerMsg, LineError>;

    /// Ends the connection politely after a redirect: the server closes it right after
    /// sending one, and a close answered is a clean end on both sides. Bounded in time.
    async fn leave(self);
}

/// Opens [`Line`]s.
pub(crate) trait Dial {
    type Line: Line;

    /// Connects to the node at `url` (with the bot's token, when it has one) and upgrades.
    async fn dial(&mut self, url: &str) -> anyhow::Result<Self::Line>;
}

/// What to ask for first on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ask {
    /// Hello, then join the bot's room.
    Join,
    /// Hello, then claim the seat a redirect's ticket reserved.
    Claim(String),
    /// Resume the session of [`Seating::token`], without a hello; with no token, a join.
    Resume,
}

/// The first request on the node a redirect names, as bots make it.
pub(crate) fn ask_after(redirect: &Redirect) -> Ask {
    match next_after(redirect) {
        Next::Resume => Ask::Resume,
        Next::Claim(ticket) => Ask::Claim(ticket),
        // Bots never watch, so a watch's redirect answers no request of theirs: it is
        // taken as a drain is, with the bot's own join.
        Next::Watch | Next::Join => Ask::Join,
    }
}

/// How a bot got its seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A new player, by join or claim.
    Joined,
    /// The same player, by resume. `room` is where the `Resumed` said the player was; the
    /// bot is in its own room in any case (joined on the same connection, if `room` was
    /// another).
    Resumed { room: Option<String> },
}

/// A connection that is in its room.
pub(crate) struct Seated<L> {
    pub(crate) line: L,
    /// The node the bot is on, as dialed (before any token).
    pub(crate) node: String,
    /// Our id in the room's snapshots.
    pub(crate) player_id: PlayerId,
    /// What to present in a `Resume` after losing this connection, to come back as the
    /// same player: the `Welcome`'s token, or the `Resumed`'s newer one.
    pub(crate) resume_token: String,
    /// The `Welcome`'s ticks per second, which deltas need; `None` after a resume, which
    /// has no `Welcome` (the rate is the one the first `Welcome` gave: the cluster's).
    pub(crate) tick_rate: Option<u16>,
    /// The room's game, as its `Joined` (or `Resumed`) said: what its snapshots are read
    /// with and its inputs made of. `None` only when a server resumed the player into a
    /// room without saying what the room plays.
    pub(crate) schema: Option<Schema>,
    pub(crate) entry: Entry,
}

/// What one node made of the bot's requests.
enum Step {
    Seated(Seat),
    /// It sent the bot on.
    Redirected(Redirect),
}

/// A seat, before the connection and the node are put with it.
struct Seat {
    player_id: PlayerId,
    resume_token: String,
    tick_rate: Option<u16>,
    schema: Option<Schema>,
    entry: Entry,
}

/// How a join or claim was answered.
enum Answered {
    /// `Joined`, with the room's schema.
    Joined(Schema),
    Redirected(Redirect),
}

/// More redirects in a row than [`MAX_REDIRECTS`]: the trip is given up.
#[derive(Debug, Error)]
#[error(
    "redirected more than {MAX_REDIRECTS} times in a row (the last one to {url}): a redirect loop"
)]
pub(crate) struct RedirectLoop {
    url: String,
}

/// Times one trip's joins (see [`crate::cluster`]): from the first `Join` sent when a
/// redirect came after it, from the last one otherwise.
#[derive(Debug, Default)]
struct JoinClock {
    first: Option<Instant>,
    last: Option<Instant>,
    redirected: bool,
}

impl JoinClock {
    fn join_sent(&mut self, at: Instant) {
        self.first.get_or_insert(at);
        self.last = Some(at);
    }

    fn redirect(&mut self) {
        self.redirected |= self.first.is_some();
    }

    /// How the join that just ended in `Joined` at `at` went; `None` when no `Join` was
    /// sent on this trip (a claim after a drain's redirect).
    fn joined(&self, at: Instant) -> Option<(JoinPath, Duration)> {
        if self.redirected {
            self.first
                .map(|first| (JoinPath::Redirected, at.saturating_duration_since(first)))
        } else {
            self.last
                .map(|last| (JoinPath::Direct, at.saturating_duration_since(last)))
        }
    }
}

/// One bot getting seated: who it is, where it goes, the session it may resume, and
/// where it counts what happens.
/// A bot's first seat: Hello and Join at `url` (following redirects), within
/// [`crate::CONNECT_TIMEOUT`]; otherwise what went wrong, in words.
pub(crate) async fn first_seat<D: Dial, T: Tally>(
    dial: &mut D,
    name: &str,
    room: &str,
    tally: &mut T,
    url: &str,
) -> Result<Seated<D::Line>, String> {
    let mut seating = Seating {
        dial,
        name,
        room,
        tally,
        token: None,
    };
    let limit = crate::CONNECT_TIMEOUT;
    match tokio::time::timeout(limit, seating.seat(url, Ask::Join, 0)).await {
        Ok(Ok(seated)) => Ok(seated),
        Ok(Err(why)) => Err(why.to_string()),
        Err(_) => Err(format!("no Joined within {limit:?}")),
    }
}

pub(crate) struct Seating<'a, D, T> {
    pub(crate) dial: &'a mut D,
    /// The `Hello`'s name.
    pub(crate) name: &'a str,
    /// The room its `Join`s ask for.
    pub(crate) room: &'a str,
    pub(crate) tally: &'a mut T,
    /// The session to resume: the newest token the server gave. `None` once refused (the
    /// server spent it), or when there is none.
    pub(crate) token: Option<String>,
}

impl<D: Dial, T: Tally> Seating<'_, D, T> {
    /// Connects to `url`, asks for `ask`, and follows the redirects until a node seats the
    /// bot. `followed` is the redirects already followed in a row (1 when a drain's
    /// redirect began this trip). Any server `Error` but a refused resume, a connection
    /// that ends first, or more than [`MAX_REDIRECTS`] redirects in a row is a failure.
    pub(crate) async fn seat(
        &mut self,
        url: &str,
        mut ask: Ask,
        mut followed: u32,
    ) -> anyhow::Result<Seated<D::Line>> {
        let mut url = url.to_owned();
        let mut clock = JoinClock::default();
        // At most MAX_REDIRECTS + 1 rounds: each one either seats the bot, fails, or
        // follows one more redirect.
        loop {
            let mut line = self.dial.dial(&url).await?;
            match self.on_node(&mut line, &ask, &mut clock).await? {
                Step::Seated(seat) => {
                    return Ok(Seated {
                        line,
                        node: url,
                        player_id: seat.player_id,
                        resume_token: seat.resume_token,
                        tick_rate: seat.tick_rate,
                        schema: seat.schema,
                        entry: seat.entry,
                    });
                }
                Step::Redirected(redirect) => {
                    self.tally.redirected();
                    tracing::trace!(from = %url, to = %redirect.url, "redirected");
                    line.leave().await;
                    if followed >= MAX_REDIRECTS {
                        return Err(RedirectLoop { url: redirect.url }.into());
                    }
                    followed += 1;
                    clock.redirect();
                    ask = ask_after(&redirect);
                    url = redirect.url;
                }
            }
        }
    }

    /// Asks one node for `ask`.
    async fn on_node(
        &mut self,
        line: &mut D::Line,
        ask: &Ask,
        clock: &mut JoinClock,
    ) -> anyhow::Result<Step> {
        if *ask == Ask::Resume {
            if let Some(token) = self.token.clone() {
                if let Some(step) = self.resume(line, token, clock).await? {
                    return Ok(step);
                }
                // Refused: the connection is still before its hello, so the bot says
                // hello and joins anew on it.
            }
            return self.hello_then(line, &Ask::Join, clock).await;
        }
        self.hello_then(line, ask, clock).await
    }

    /// Presents `token` as the connection's first message. `None` when the server
    /// refused it (`RESUME_REFUSED`: unknown, spent, or its room or node gone).
    async fn resume(
        &mut self,
        line: &mut D::Line,
        token: String,
        clock: &mut JoinClock,
    ) -> anyhow::Result<Option<Step>> {
        enum Answer {
            Resumed(Resumed),
            Refused(String),
            Redirected(Redirect),
        }
        self.send(line, "Resume", &ClientMsg::Resume(Resume { token }))
            .await?;
        let answer = wait_for(line, &mut *self.tally, "Resumed", |msg| match msg {
            ServerMsg::Resumed(resumed) => Some(Answer::Resumed(resumed)),
            ServerMsg::Error(e) if e.code == ErrorCode::RESUME_REFUSED => {
                Some(Answer::Refused(e.message))
            }
            ServerMsg::Redirect(redirect) => Some(Answer::Redirected(redirect)),
            _ => None,
        })
        .await?;
        let resumed = match answer {
            Answer::Resumed(resumed) => resumed,
            Answer::Refused(why) => {
                tracing::trace!("resume refused: {why}");
                self.token = None;
                return Ok(None);
            }
            // The session lives on another node: the redirect says resume it there.
            Answer::Redirected(redirect) => return Ok(Some(Step::Redirected(redirect))),
        };
        let Resumed {
            player_id,
            room,
            resume_token,
            players: _,
            mut schema,
        } = resumed;
        // The old token is spent: the Resumed's is the session's now, whatever follows.
        self.token = Some(resume_token.clone());
        if room.as_deref() != Some(self.room) {
            // Back, but not in the bot's room: join it, as the same player.
            match self.join(line, clock).await? {
                Answered::Joined(joined) => schema = Some(joined),
                Answered::Redirected(redirect) => {
                    return Ok(Some(Step::Redirected(redirect)));
                }
            }
        }
        Ok(Some(Step::Seated(Seat {
            player_id,
            resume_token,
            tick_rate: None,
            schema,
            entry: Entry::Resumed { room },
        })))
    }

    /// Says hello, then joins (or claims, for [`Ask::Claim`]).
    async fn hello_then(
        &mut self,
        line: &mut D::Line,
        ask: &Ask,
        clock: &mut JoinClock,
    ) -> anyhow::Result<Step> {
        let hello = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: self.name.to_owned(),
        });
        self.send(line, "Hello", &hello).await?;
        let welcome = wait_for(line, &mut *self.tally, "Welcome", |msg| match msg {
            ServerMsg::Welcome(welcome) => Some(welcome),
            _ => None,
        })
        .await?;
        let answered = match ask {
            Ask::Claim(ticket) => self.claim(line, ticket.clone(), clock).await?,
            Ask::Join | Ask::Resume => self.join(line, clock).await?,
        };
        Ok(match answered {
            Answered::Joined(schema) => Step::Seated(Seat {
                player_id: welcome.player_id,
                resume_token: welcome.resume_token,
                tick_rate: Some(welcome.tick_rate),
                schema: Some(schema),
                entry: Entry::Joined,
            }),
            Answered::Redirected(redirect) => Step::Redirected(redirect),
        })
    }

    /// Joins the bot's room (public, no key).
    async fn join(
        &mut self,
        line: &mut D::Line,
        clock: &mut JoinClock,
    ) -> anyhow::Result<Answered> {
        let join = ClientMsg::Join(Join {
            room: Some(self.room.to_owned()),
            key: None,
        });
        self.send(line, "Join", &join).await?;
        clock.join_sent(Instant::now());
        self.joined(line, clock).await
    }

    /// Claims the seat `ticket` reserved.
    async fn claim(
        &mut self,
        line: &mut D::Line,
        ticket: String,
        clock: &mut JoinClock,
    ) -> anyhow::Result<Answered> {
        self.send(line, "Claim", &ClientMsg::Claim(Claim { ticket }))
            .await?;
        self.tally.claimed();
        self.joined(line, clock).await
    }

    /// Waits for the answer to a join or claim: `Joined` (timed), or a redirect.
    async fn joined(&mut self, line: &mut D::Line, clock: &JoinClock) -> anyhow::Result<Answered> {
        let answer = wait_for(line, &mut *self.tally, "Joined", |msg| match msg {
            ServerMsg::Joined(joined) => Some(Answered::Joined(joined.schema)),
            ServerMsg::Redirect(redirect) => Some(Answered::Redirected(redirect)),
            _ => None,
        })
        .await?;
        if matches!(answer, Answered::Joined(_)) {
            if let Some((path, took)) = clock.joined(Instant::now()) {
                self.tally.joined(path, took);
            }
        }
        Ok(answer)
    }

    async fn send(
        &mut self,
        line: &mut D::Line,
        what: &str,
        msg: &ClientMsg,
    ) -> anyhow::Result<()> {
        line.send(&mut *self.tally, msg)
            .await
            .map_err(|e| anyhow::anyhow!("sending {what}: {e}"))
    }
}

/// Reads messages until `pick` accepts one. Other messages (another player's arrival, say)
/// are skipped, notices counted; an `Error` that `pick` does not accept, a bad frame or
/// the end of the connection is a failure.
async fn wait_for<L: Line, T>(
    line: &mut L,
    tally: &mut impl Tally,
    what: &str,
    pick: impl Fn(ServerMsg) -> Option<T>,
) -> anyhow::Result<T> {
    loop {
        let msg = line
            .recv(tally)
            .await
            .map_err(|e| anyhow::anyhow!(e.waiting_for(what)))?;
        if matches!(msg, ServerMsg::Notice(_)) {
            tally.noticed();
            continue;
        }
        // `pick` sees errors first: some are answers (a refused resume).
        let error = match &msg {
            ServerMsg::Error(e) => Some((e.code.0, e.message.clone())),
            _ => None,
        };
        if let Some(found) = pick(msg) {
            return Ok(found);
        }
        if let Some((code, message)) = error {
            bail!("server error {code} while waiting for {what}: {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_join_without_a_redirect_is_direct_from_its_own_join() {
        let t0 = Instant::now();
        let mut clock = JoinClock::default();
        assert_eq!(clock.joined(t0), None, "nothing was joined");
        clock.join_sent(t0);
        assert_eq!(clock.joined(t0 + ms(3)), Some((JoinPath::Direct, ms(3))));
        // A join after a refused resume, say: timed from itself.
        clock.join_sent(t0 + ms(10));
        assert_eq!(clock.joined(t0 + ms(12)), Some((JoinPath::Direct, ms(2))));
    }

    #[test]
    fn a_redirected_join_is_timed_from_the_first_join() {
        let t0 = Instant::now();
        let mut clock = JoinClock::default();
        clock.join_sent(t0);
        clock.redirect();
        clock.join_sent(t0 + ms(20));
        assert_eq!(
            clock.joined(t0 + ms(25)),
            Some((JoinPath::Redirected, ms(25)))
        );
    }

    #[test]
    fn a_redirect_before_any_join_does_not_make_one_redirected() {
        let t0 = Instant::now();
        let mut clock = JoinClock::default();
        // A resume's redirect, then a join on the node it led to.
        clock.redirect();
        clock.join_sent(t0);
        assert_eq!(clock.joined(t0 + ms(4)), Some((JoinPath::Direct, ms(4))));
    }

    #[test]
    fn redirects_become_the_bots_requests() {
        let to = |in_reply_to, ticket: Option<&str>| Redirect {
            url: "ws://b".into(),
            room: None,
            ticket: ticket.map(str::to_owned),
            in_reply_to,
        };
        assert_eq!(ask_after(&to(Some(6), None)), Ask::Resume);
        assert_eq!(ask_after(&to(Some(1), Some("t"))), Ask::Claim("t".into()));
        assert_eq!(ask_after(&to(None, None)), Ask::Join);
        assert_eq!(ask_after(&to(Some(8), None)), Ask::Join);
    }

    #[test]
    fn bots_are_dealt_round_the_rooms() {
        assert_eq!(room_name(0, 3), "bots-0");
        assert_eq!(room_name(4, 3), "bots-1");
        assert_eq!(room_name(4, 0), "bots-0");
    }
}
