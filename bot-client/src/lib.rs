//! A headless bot swarm that loads a Tickwire server and reports what it saw.
//!
//! Each bot is one tokio task with one WebSocket: it says hello, joins a room, then sends
//! inputs and pings at fixed rates while it reads every frame the server sends, until a
//! shared deadline. It keeps its own copy of the room, rebuilt from the snapshots
//! (keyframes and deltas) with the schema the server sent for the room's game, whatever
//! game that is, and checked against each one's state hash. Its inputs are those of the
//! game it was told to play ([`SwarmConfig::game`], `--game`): the arena's wandering walk,
//! or the shooter's walk that aims at the nearest other ship and fires; each input's
//! values are placed by the names of the schema's input fields. What each
//! bot measured (snapshot rate and jitter, keyframes and deltas and what became of them,
//! round trip, input-to-ack latency, bytes, errors, disconnects) is merged into one
//! [`Report`] at the end, printable for people ([`std::fmt::Display`]) and as JSON for
//! machines.
//!
//! The bots share the machine with the server they measure, so they are built to be cheap:
//! no threads of their own, no per-bot allocation on the hot path beyond the frames
//! themselves, and histograms small enough for thousands of bots.
//!
//! Two options make the run rougher, and both are off by default. With chaos
//! ([`SwarmConfig::chaos`]) each bot drops its connection abruptly now and then and comes
//! back ([`ReconnectPolicy`]) by resuming its session, or afresh when the resume is
//! refused; the report's `chaos` object says what that cost, and checks that a resumed bot
//! lost none of its inputs. With misbehaving bots ([`SwarmConfig::misbehave`]) a share of
//! the swarm is hostile instead of honest; their traffic is in the report's `misbehave`
//! object and nowhere else, so every other figure still describes the honest bots only.
//!
//! With light bots ([`SwarmConfig::check_every`], `--check-every K`) only one bot in `K`
//! decodes and checks everything; the others only count and time their snapshots, which
//! makes them cheap enough for one bot thread to drive thousands (see the `light` module).
//! The report says how many bots and snapshots were checked and how many only counted; the
//! snapshot rate and interval figures cover every bot.
//!
//! Against a cluster ([`SwarmConfig::urls`], `--url` with several nodes separated by commas),
//! bot `i` first connects to node `i % n`, follows the `Redirect`s that send it to the node
//! its room lives on (claiming the seat a redirect's ticket reserved) or away from a node
//! that drains, and after a lost connection reconnects to the next node round the list,
//! resuming its session there or, refused, joining anew (see the `session`, `rejoin` and
//! `urls` modules). The report counts the redirects, claims and operator notices, times
//! joins with and without a redirect, and the bots that lost their room and were seated
//! again (`reseated`, `reseat_ms`). With one URL a lost connection ends the bot, as it
//! always did; redirects are followed either way.
//!
//! With chat ([`SwarmConfig::chat_rate`]) the honest bots also talk in their rooms and
//! check the chat's promises (every chat answered, each accepted one back to its sender,
//! one order per room); the report's `chat` object has the counts and the ack latency.
//! Against a server that authenticates, [`SwarmConfig::auth_secret`] has each bot mint its
//! own token.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let report = tickwire_bot::run(tickwire_bot::SwarmConfig {
//!     bots: 100,
//!     rooms: 4,
//!     ..Default::default()
//! })
//! .await?;
//! print!("{report}");
//! assert!(report.passed());
//! # Ok(())
//! # }
//! ```

mod ack;
mod aim;
mod auth;
mod bot;
mod chaos;
mod chat;
mod cluster;
mod game;
mod hist;
mod inputs;
mod light;
mod live;
mod misbehave;
mod poll_pause;
mod reconnect;
mod redirect;
mod rejoin;
mod replica;
mod report;
mod rng;
mod session;
mod stats;
mod urls;
pub mod walk;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use tokio::time::{Instant, timeout_at};

pub use chaos::ChaosReport;
pub use chat::ChatReport;
pub use game::Game;
pub use hist::Percentiles;
pub use misbehave::MisbehaveReport;
pub use reconnect::ReconnectPolicy;
pub use replica::ReplicaReport;
pub use report::{Rate, Report};
pub use urls::{UrlListError, parse_urls};

use crate::bot::{BotPlan, Shared};
use crate::live::LiveCounters;
use crate::misbehave::MisbehaveTotals;
use crate::stats::BotStats;

/// How long a bot may take from its start to `Joined`; slower counts as failed to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a bot waits for the server to answer its close frame at the deadline.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long a bot waits for a node that redirected it to answer its close frame before it
/// goes on: the node closes right after the redirect, so this is a round trip at most, and
/// the bound only keeps a node that does not from holding the bot up.
pub const LEAVE_GRACE: Duration = Duration::from_millis(500);

/// At the end of a run, inputs sent (and chats acknowledged) this recently are still in
/// flight: not acknowledged (nor echoed) yet, and not counted as lost. A second is tens of
/// round trips on any network a load test runs on.
pub const IN_FLIGHT: Duration = Duration::from_secs(1);

/// Extra time beyond every bot's own limits before `run` stops waiting for a bot. Each bot
/// bounds its own life, so reaching this means a bug, and the bot is counted as an error.
const OUTER_SLACK: Duration = Duration::from_secs(3);

/// What to run: where, how many bots, for how long, and how fast they talk.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmConfig {
    /// The server's WebSocket URL, such as `ws://127.0.0.1:7000`, or a cluster's node URLs
    /// (at least one; see [`parse_urls`]). Bot `i` first connects to `urls[i % n]`; each
    /// reconnect attempt goes to the next node round the list. With more than one, a
    /// connection the server ended is followed by a reconnect (a node was killed, say);
    /// with one, it ends the bot, as it always did.
    pub urls: Vec<String>,
    /// How many bots to run, honest and misbehaving together; at least 1.
    pub bots: usize,
    /// How many rooms to spread them over (bot `i` joins `bots-{i % rooms}`); at least 1.
    pub rooms: usize,
    /// The game the honest bots play: what their inputs do. It must be the server's game
    /// (each connection whose schema lacks what it needs sends no input and counts an
    /// error of kind `schema`); snapshots are decoded whatever the game.
    pub game: Game,
    /// How long every bot plays once the ramp is over.
    pub duration: Duration,
    /// Bot `i` starts at `i * ramp / bots`; zero starts them all at once.
    pub ramp: Duration,
    /// Inputs per second per bot; 0 sends none.
    pub input_hz: f64,
    /// Pings per second per bot; 0 sends none.
    pub ping_hz: f64,
    /// Print a progress line to stderr once a second while the swarm runs.
    pub progress: bool,
    /// Connections each honest bot drops on purpose per second, on average; 0 never.
    pub chaos: f64,
    /// How a dropped bot, or a misbehaving bot the server closed, gets back.
    pub reconnect: ReconnectPolicy,
    /// The share of the bots (0 to 1) that misbehave instead of playing honestly:
    /// `round(bots × misbehave)` of them, at least 1 when above 0.
    pub misbehave: f64,
    /// Chat messages per second per honest bot, evenly spaced; 0 sends none. The server
    /// refuses more than its own chat rate (2 per second by default) as `rate_limited`.
    pub chat_rate: f64,
    /// The server's HS256 secret, when it authenticates: each bot (number `i`) then
    /// connects with its own token (user `bot-<i>`, valid until 10 minutes after the run)
    /// in the URL's query. `None` for a server without authentication.
    pub auth_secret: Option<String>,
    /// One honest bot in this many (bot `i` when `i % check_every == 0`) decodes, applies
    /// and hash-checks every snapshot; the others are light: they play the same but only
    /// count and time their snapshots. 1 (the default) checks in every bot. Above 1, chaos
    /// and chat must be off: light bots neither drop on purpose nor chat.
    pub check_every: usize,
    /// How long the bots' thread pauses between polls of its sockets, so that each poll
    /// finds many of them ready (see the `poll_pause` module); zero (the default) never
    /// pauses. A snapshot may then be timed up to one pause late.
    pub poll_pause: Duration,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        Self {
            urls: vec!["ws://127.0.0.1:7000".to_owned()],
            bots: 10,
            rooms: 1,
            game: Game::Arena,
            duration: Duration::from_secs(10),
            ramp: Duration::ZERO,
            input_hz: 60.0,
            ping_hz: 2.0,
            progress: false,
            chaos: 0.0,
            reconnect: ReconnectPolicy::default(),
            misbehave: 0.0,
            chat_rate: 0.0,
            auth_secret: None,
            check_every: 1,
            poll_pause: Duration::ZERO,
        }
    }
}

/// The highest input or ping rate accepted; far above any sensible load, it only keeps a
/// typo from turning the swarm into a busy loop.
const MAX_HZ: f64 = 1000.0;

impl SwarmConfig {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(!self.urls.is_empty(), "at least one server URL is needed");
        for url in &self.urls {
            urls::check_url(url)?;
        }
        ensure!(self.bots >= 1, "bots must be at least 1");
        ensure!(self.rooms >= 1, "rooms must be at least 1");
        for (name, hz) in [
            ("input_hz", self.input_hz),
            ("ping_hz", self.ping_hz),
            ("chat_rate", self.chat_rate),
        ] {
            ensure!(
                hz.is_finite() && (0.0..=MAX_HZ).contains(&hz),
                "{name} must be between 0 and {MAX_HZ}, not {hz}"
            );
        }
        ensure!(
            self.chaos.is_finite() && (0.0..=MAX_HZ).contains(&self.chaos),
            "chaos must be between 0 and {MAX_HZ} drops per second, not {}",
            self.chaos
        );
        ensure!(
            self.misbehave.is_finite() && (0.0..=1.0).contains(&self.misbehave),
            "misbehave must be a share between 0 and 1, not {}",
            self.misbehave
        );
        ensure!(self.check_every >= 1, "check_every must be at least 1");
        ensure!(
            self.check_every == 1 || (self.chaos == 0.0 && self.chat_rate == 0.0),
            "light bots (check_every {}) neither drop on purpose nor chat: use chaos and \
             chat_rate with check_every 1",
            self.check_every
        );
        ensure!(
            self.auth_secret.as_ref().is_none_or(|s| !s.is_empty()),
            "the auth secret must not be empty"
        );
        ensure!(
            self.poll_pause <= MAX_POLL_PAUSE,
            "poll_pause must be at most {MAX_POLL_PAUSE:?}, not {:?}",
            self.poll_pause
        );
        self.reconnect.check()
    }
}

/// The longest pause between polls accepted: a few milliseconds already add visible
/// jitter to a 16.7 ms interval; more would measure the pause, not the server.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(5);

/// The time between two events at `hz` per second, or `None` when `hz` is 0 (never).
fn period(hz: f64) -> Option<Duration> {
    (hz > 0.0).then(|| Duration::from_secs_f64(1.0 / hz))
}

/// Runs the whole swarm and returns what it measured.
///
/// Every bot starts at its ramp offset, plays until `ramp + duration` after the start, then
/// closes its connection; the call returns once all bots are done, at most
/// [`CONNECT_TIMEOUT`] + [`CLOSE_GRACE`] and a few seconds after that deadline. The last
/// `round(bots × misbehave)` bots misbehave; the report's honest figures leave them out.
///
/// # Errors
/// Only when the configuration is unusable (no bots, no rooms, a bad rate). Failures of the
/// bots themselves are measured, not returned: see [`Report::passed`].
pub async fn run(cfg: SwarmConfig) -> anyhow::Result<Report> {
    cfg.check().context("bad swarm configuration")?;
    let start = Instant::now();
    let ramp_end = start + cfg.ramp;
    let deadline = ramp_end + cfg.duration;
    let counters = Arc::new(LiveCounters::default());
    let shared = Arc::new(Shared {
        urls: cfg.urls.iter().cloned().collect(),
        rooms: cfg.rooms,
        game: cfg.game,
        input_period: period(cfg.input_hz),
        ping_period: period(cfg.ping_hz),
        chat_period: period(cfg.chat_rate),
        chaos: cfg.chaos,
        reconnect: cfg.reconnect,
        auth_secret: cfg.auth_secret.clone(),
        swarm_start: start,
        deadline,
        counters: Arc::clone(&counters),
    });
    let misbehaving = misbehave::count(cfg.bots, cfg.misbehave);
    let honest = cfg.bots - misbehaving;
    let printer = cfg
        .progress
        .then(|| live::spawn_printer(Arc::clone(&counters), start, honest));

    let pacer = (!cfg.poll_pause.is_zero())
        .then(|| tokio::spawn(poll_pause::run(cfg.poll_pause, deadline + CLOSE_GRACE)));
    let mut bots = Vec::with_capacity(honest);
    let mut rogues = Vec::with_capacity(misbehaving);
    for index in 0..cfg.bots {
        let plan = BotPlan {
            index,
            start_at: start + ramp_offset(cfg.ramp, index, cfg.bots),
        };
        if misbehave::is_misbehaving(index, cfg.bots, misbehaving) {
            rogues.push(tokio::spawn(misbehave::run(plan, Arc::clone(&shared))));
        } else if light::checks_fully(index, cfg.check_every) {
            bots.push(tokio::spawn(bot::run(plan, Arc::clone(&shared))));
        } else {
            bots.push(tokio::spawn(light::run(plan, Arc::clone(&shared))));
        }
    }

    // The last bot starts at the end of the ramp at the latest, and may then spend the whole
    // connect timeout before it plays; after that only the close grace remains.
    let give_up_at = deadline.max(ramp_end + CONNECT_TIMEOUT) + CLOSE_GRACE + OUTER_SLACK;
    let mut totals = BotStats::empty();
    for (index, task) in bots.iter_mut().enumerate() {
        let stats = match timeout_at(give_up_at, &mut *task).await {
            Ok(Ok(stats)) => stats,
            Ok(Err(failure)) => BotStats::lost(format!("bot task failed: {failure}")),
            Err(_) => {
                task.abort();
                BotStats::lost("bot did not finish in time".to_owned())
            }
        };
        totals.merge(&stats.named(index));
    }
    let mut rogue_totals = MisbehaveTotals::default();
    for (offset, task) in rogues.iter_mut().enumerate() {
        match timeout_at(give_up_at, &mut *task).await {
            Ok(Ok(stats)) => rogue_totals.add(&stats),
            Ok(Err(failure)) => {
                tracing::warn!(
                    bot = honest + offset,
                    "misbehaving bot task failed: {failure}"
                );
                rogue_totals.lost();
            }
            Err(_) => {
                task.abort();
                tracing::warn!(
                    bot = honest + offset,
                    "misbehaving bot did not finish in time"
                );
                rogue_totals.lost();
            }
        }
    }
    if let Some(printer) = printer {
        printer.abort();
    }
    if let Some(pacer) = pacer {
        pacer.abort();
    }
    let mut report = Report::new(&cfg, &totals);
    if cfg.chaos > 0.0 {
        report.chaos = Some(ChaosReport::new(cfg.chaos, &totals.chaos));
    }
    if cfg.chat_rate > 0.0 {
        report.chat = Some(ChatReport::new(cfg.chat_rate, &totals.chat));
    }
    if misbehaving > 0 {
        report.misbehave = Some(MisbehaveReport::new(cfg.misbehave, &rogue_totals));
    }
    Ok(report)
}

/// When bot `index` of `bots` starts, counted from the swarm's start.
fn ramp_offset(ramp: Duration, index: usize, bots: usize) -> Duration {
    // f64 holds every bot count exactly; the ramp needs no better than microseconds.
    ramp.mul_f64(index as f64 / bots.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_spreads_starts_evenly_from_zero() {
        let ramp = Duration::from_secs(10);
        assert_eq!(ramp_offset(ramp, 0, 5), Duration::ZERO);
        assert_eq!(ramp_offset(ramp, 1, 5), Duration::from_secs(2));
        assert_eq!(ramp_offset(ramp, 4, 5), Duration::from_secs(8));
        assert_eq!(ramp_offset(Duration::ZERO, 3, 5), Duration::ZERO);
    }

    #[test]
    fn zero_hz_means_never() {
        assert_eq!(period(0.0), None);
        assert_eq!(period(2.0), Some(Duration::from_millis(500)));
    }

    #[test]
    fn unusable_configurations_are_refused() {
        let ok = SwarmConfig::default();
        assert!(ok.check().is_ok());
        let cluster = SwarmConfig {
            urls: vec!["ws://a:1".into(), "wss://b:2/p".into()],
            ..ok.clone()
        };
        assert!(cluster.check().is_ok());
        let light = SwarmConfig {
            check_every: 50,
            misbehave: 0.1,
            ..ok.clone()
        };
        assert!(light.check().is_ok());
        for bad in [
            SwarmConfig {
                urls: vec![],
                ..ok.clone()
            },
            SwarmConfig {
                urls: vec!["ws://a:1".into(), "a:2".into()],
                ..ok.clone()
            },
            SwarmConfig {
                bots: 0,
                ..ok.clone()
            },
            SwarmConfig {
                rooms: 0,
                ..ok.clone()
            },
            SwarmConfig {
                input_hz: f64::NAN,
                ..ok.clone()
            },
            SwarmConfig {
                ping_hz: -1.0,
                ..ok.clone()
            },
            SwarmConfig {
                chaos: -0.5,
                ..ok.clone()
            },
            SwarmConfig {
                chaos: f64::INFINITY,
                ..ok.clone()
            },
            SwarmConfig {
                misbehave: 1.5,
                ..ok.clone()
            },
            SwarmConfig {
                chat_rate: -1.0,
                ..ok.clone()
            },
            SwarmConfig {
                chat_rate: f64::NAN,
                ..ok.clone()
            },
            SwarmConfig {
                auth_secret: Some(String::new()),
                ..ok.clone()
            },
            SwarmConfig {
                check_every: 0,
                ..ok.clone()
            },
            SwarmConfig {
                check_every: 4,
                chaos: 0.1,
                ..ok.clone()
            },
            SwarmConfig {
                check_every: 4,
                chat_rate: 1.0,
                ..ok.clone()
            },
            SwarmConfig {
                reconnect: ReconnectPolicy {
                    max_attempts: 0,
                    ..ReconnectPolicy::default()
                },
                ..ok.clone()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
