//! `tickwire-bot`: runs a bot swarm against a Tickwire server, prints what it measured, and
//! exits non-zero when a bot failed to connect or saw an error.
//!
//! ```text
//! tickwire-bot --url ws://127.0.0.1:7000 --bots 500 --rooms 10 --duration 30 --json out.json
//! tickwire-bot --bots 60 --rooms 2 --duration 15 --chaos 0.05 --misbehave 0.1
//! tickwire-bot --bots 100 --chat-rate 1 --chaos 0.1 --auth-secret "$SECRET"
//! tickwire-bot --game shooter --bots 32 --rooms 4
//! tickwire-bot --bots 3000 --rooms 60 --duration 20 --check-every 50
//! tickwire-bot --url ws://127.0.0.1:4001,ws://127.0.0.1:4002,ws://127.0.0.1:4003 --bots 300
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tickwire_bot::{Game, ReconnectPolicy, SwarmConfig};
use tracing_subscriber::EnvFilter;

/// Loads a Tickwire server with bots and reports snapshot rate, latency, bytes and errors.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's WebSocket URL, or a cluster's node URLs separated by commas: bot i
    /// first connects to the (i mod n)-th, follows the nodes' redirects, and after a lost
    /// connection reconnects to the next node round the list.
    #[arg(long, env = "TICKWIRE_BOT_URL", default_value = "ws://127.0.0.1:7000",
          value_parser = urls)]
    url: Urls,
    /// How many bots.
    #[arg(long, env = "TICKWIRE_BOT_BOTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    bots: u32,
    /// How many rooms to spread the bots over (bot i joins `bots-{i % rooms}`).
    #[arg(long, env = "TICKWIRE_BOT_ROOMS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    rooms: u32,
    /// The game the bots play, which must be the server's `--game`: `arena` (walk) or
    /// `shooter` (walk, aim at the nearest ship, fire). Snapshots of any game are decoded
    /// from the schema the server sends; this only picks what the inputs do.
    #[arg(long, env = "TICKWIRE_BOT_GAME", default_value = "arena", value_parser = game)]
    game: Game,
    /// Seconds every bot plays once the ramp is over.
    #[arg(long, env = "TICKWIRE_BOT_DURATION", default_value = "10", value_parser = seconds)]
    duration: Duration,
    /// Seconds over which the bots start, evenly spread; 0 starts them all at once.
    #[arg(long, env = "TICKWIRE_BOT_RAMP", default_value = "0", value_parser = seconds)]
    ramp: Duration,
    /// Inputs per second per bot (0: none).
    #[arg(long, env = "TICKWIRE_BOT_INPUT_HZ", default_value_t = 60.0)]
    input_hz: f64,
    /// Pings per second per bot (0: none).
    #[arg(long, env = "TICKWIRE_BOT_PING_HZ", default_value_t = 2.0)]
    ping_hz: f64,
    /// Also write the report as one JSON object to this file.
    #[arg(long, env = "TICKWIRE_BOT_JSON")]
    json: Option<PathBuf>,
    /// Do not print the progress line every second.
    #[arg(long)]
    quiet: bool,
    /// Connections each honest bot drops abruptly per second, on average (0: none). A
    /// dropped bot reconnects with backoff and resumes its session (or, refused, joins its
    /// room again as a new player).
    #[arg(long, env = "TICKWIRE_BOT_CHAOS", default_value_t = 0.0, value_parser = non_negative)]
    chaos: f64,
    /// Wait before the first reconnect attempt, in ms; it doubles with each attempt.
    #[arg(long, env = "TICKWIRE_BOT_BACKOFF_BASE_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    backoff_base_ms: u64,
    /// Longest wait between reconnect attempts, in ms (jitter then takes 50-100% of it).
    #[arg(long, env = "TICKWIRE_BOT_BACKOFF_CAP_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..))]
    backoff_cap_ms: u64,
    /// Reconnect attempts before a bot gives up (an honest bot that gives up is an error).
    #[arg(long, env = "TICKWIRE_BOT_MAX_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,
    /// Share of the bots (0 to 1) that misbehave instead of playing: bad frames, floods,
    /// unread sockets. They are left out of every honest figure and reported apart.
    #[arg(long, env = "TICKWIRE_BOT_MISBEHAVE", default_value_t = 0.0, value_parser = share)]
    misbehave: f64,
    /// Chat messages per second per honest bot, evenly spaced (0: none). The server refuses
    /// more than its own chat rate (2/s by default) as `rate_limited`.
    #[arg(long, env = "TICKWIRE_BOT_CHAT_RATE", default_value_t = 0.0, value_parser = non_negative)]
    chat_rate: f64,
    /// The server's token secret: each bot then connects with its own HS256 token (user
    /// `bot-<i>`) in the URL's `token` query parameter.
    #[arg(long, env = "TICKWIRE_BOT_AUTH_SECRET", hide_env_values = true)]
    auth_secret: Option<String>,
    /// One bot in this many decodes and hash-checks every snapshot; the others (light bots)
    /// play the same but only count and time their snapshots. 1 (the default) checks in
    /// every bot. Above 1, --chaos and --chat-rate must be 0.
    #[arg(long, env = "TICKWIRE_BOT_CHECK_EVERY", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    check_every: u32,
    /// Runtime threads for the bots. 1 (the default) is the cheapest per bot; a single
    /// thread saturates near 1,000 full bots at 60 Hz, so larger swarms need more, or
    /// light bots (--check-every).
    #[arg(long, env = "TICKWIRE_BOT_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: u32,
    /// Microseconds the bots' thread pauses between polls of its sockets, so that each
    /// poll finds many ready: cheaper per snapshot when the bots keep up with the server,
    /// but each snapshot may be timed up to that much late. 0 (the default) never pauses;
    /// at most 5000, and only with --threads 1.
    #[arg(long, env = "TICKWIRE_BOT_POLL_PAUSE_US", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=5000))]
    poll_pause_us: u64,
}

/// The `--url` list, parsed.
#[derive(Debug, Clone)]
struct Urls(Vec<String>);

/// Parses a comma-separated list of WebSocket URLs.
fn urls(s: &str) -> Result<Urls, String> {
    tickwire_bot::parse_urls(s)
        .map(Urls)
        .map_err(|e| e.to_string())
}

/// Parses a number of seconds, fractions allowed.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|e| format!("not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("not a usable number of seconds: {e}"))
}

/// Parses a game's name.
fn game(s: &str) -> Result<Game, String> {
    s.parse()
}

/// Parses a finite number that is 0 or more.
fn non_negative(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|e| format!("not a number: {e}"))?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(format!("must be 0 or more, not {x}"))
    }
}

/// Parses a share from 0 to 1.
fn share(s: &str) -> Result<f64, String> {
    let x = non_negative(s)?;
    if x <= 1.0 {
        Ok(x)
    } else {
        Err(format!("must be between 0 and 1, not {x}"))
    }
}

impl Args {
    fn config(&self) -> SwarmConfig {
        SwarmConfig {
            urls: self.url.0.clone(),
            // u32 always fits a usize on the 32- and 64-bit targets this runs on.
            bots: self.bots as usize,
            rooms: self.rooms as usize,
            game: self.game,
            duration: self.duration,
            ramp: self.ramp,
            input_hz: self.input_hz,
            ping_hz: self.ping_hz,
            progress: !self.quiet,
            chaos: self.chaos,
            reconnect: ReconnectPolicy {
                base: Duration::from_millis(self.backoff_base_ms),
                cap: Duration::from_millis(self.backoff_cap_ms),
                max_attempts: self.max_attempts,
            },
            misbehave: self.misbehave,
            chat_rate: self.chat_rate,
            auth_secret: self.auth_secret.clone(),
            check_every: self.check_every as usize,
            poll_pause: Duration::from_micros(self.poll_pause_us),
        }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    // A pause blocks the thread it runs on: on several workers it would hold one of them and
    // batch nothing on the others.
    anyhow::ensure!(
        args.poll_pause_us == 0 || args.threads <= 1,
        "--poll-pause-us needs --threads 1"
    );
    // One thread by default: the bots share the machine with the server they measure, and
    // bots that do not hop between threads cost the least.
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads as usize)
            .enable_all()
            .build()
    }
    .context("cannot start the runtime")?;
    runtime.block_on(swarm(args))
}

async fn swarm(args: Args) -> anyhow::Result<ExitCode> {
    let report = tickwire_bot::run(args.config()).await?;
    print!("{report}");
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json() + "\n")
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    // A failed run is a verdict, not a crash of this program: say so and exit 1, without
    // the error path's backtrace.
    if report.passed() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "tickwire-bot: FAIL: {} of {} bots failed to connect; {} errors; {} broken \
             promises (snapshot hash mismatches, inputs lost, acks backwards, chats lost or out \
             of order)",
            report.failed_to_connect,
            report.bots,
            report.errors,
            report.broken_promises()
        );
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let cfg = Args::parse_from(["tickwire-bot"]).config();
        assert_eq!(cfg.urls, ["ws://127.0.0.1:7000"]);
        assert_eq!(cfg.bots, 10);
        assert_eq!(cfg.rooms, 1);
        assert_eq!(cfg.game, Game::Arena);
        assert_eq!(cfg.duration, Duration::from_secs(10));
        assert_eq!(cfg.ramp, Duration::ZERO);
        assert_eq!(cfg.input_hz, 60.0);
        assert!(cfg.progress);
        assert_eq!(cfg.chaos, 0.0);
        assert_eq!(cfg.misbehave, 0.0);
        assert_eq!(cfg.reconnect, ReconnectPolicy::default());
        assert_eq!(cfg.reconnect.base, Duration::from_millis(100));
        assert_eq!(cfg.reconnect.cap, Duration::from_secs(5));
        assert_eq!(cfg.reconnect.max_attempts, 10);
        assert_eq!(cfg.chat_rate, 0.0);
        assert_eq!(cfg.auth_secret, None);
        assert_eq!(cfg.check_every, 1);
        assert_eq!(cfg.poll_pause, Duration::ZERO);
    }

    #[test]
    fn flags_reach_the_config() {
        let cfg = Args::parse_from([
            "tickwire-bot",
            "--url",
            "ws://h:1",
            "--bots",
            "500",
            "--rooms",
            "5",
            "--game",
            "shooter",
            "--duration",
            "2.5",
            "--ramp",
            "1",
            "--input-hz",
            "30",
            "--ping-hz",
            "0",
            "--quiet",
            "--chaos",
            "0.05",
            "--backoff-base-ms",
            "20",
            "--backoff-cap-ms",
            "800",
            "--max-attempts",
            "3",
            "--misbehave",
            "0.1",
            "--chat-rate",
            "1.5",
            "--auth-secret",
            "s3cret",
            "--check-every",
            "50",
            "--poll-pause-us",
            "500",
        ])
        .config();
        assert_eq!(cfg.poll_pause, Duration::from_micros(500));
        assert_eq!(cfg.urls, ["ws://h:1"]);
        assert_eq!(cfg.check_every, 50);
        assert_eq!(cfg.chat_rate, 1.5);
        assert_eq!(cfg.auth_secret.as_deref(), Some("s3cret"));
        assert_eq!(cfg.bots, 500);
        assert_eq!(cfg.rooms, 5);
        assert_eq!(cfg.game, Game::Shooter);
        assert_eq!(cfg.duration, Duration::from_millis(2500));
        assert_eq!(cfg.ramp, Duration::from_secs(1));
        assert_eq!(cfg.input_hz, 30.0);
        assert_eq!(cfg.ping_hz, 0.0);
        assert!(!cfg.progress);
        assert_eq!(cfg.chaos, 0.05);
        assert_eq!(cfg.misbehave, 0.1);
        assert_eq!(
            cfg.reconnect,
            ReconnectPolicy {
                base: Duration::from_millis(20),
                cap: Duration::from_millis(800),
                max_attempts: 3,
            }
        );
    }

    #[test]
    fn a_url_list_reaches_the_config_in_its_order() {
        let cfg = Args::parse_from([
            "tickwire-bot",
            "--url",
            "ws://127.0.0.1:4001,ws://127.0.0.1:4002, ws://127.0.0.1:4003",
        ])
        .config();
        assert_eq!(
            cfg.urls,
            [
                "ws://127.0.0.1:4001",
                "ws://127.0.0.1:4002",
                "ws://127.0.0.1:4003"
            ]
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            &["tickwire-bot", "--bots", "0"][..],
            &["tickwire-bot", "--rooms", "0"],
            &["tickwire-bot", "--duration", "-1"],
            &["tickwire-bot", "--ramp", "soon"],
            &["tickwire-bot", "--chaos", "-1"],
            &["tickwire-bot", "--chaos", "NaN"],
            &["tickwire-bot", "--misbehave", "1.5"],
            &["tickwire-bot", "--max-attempts", "0"],
            &["tickwire-bot", "--backoff-base-ms", "0"],
            &["tickwire-bot", "--chat-rate", "-2"],
            &["tickwire-bot", "--chat-rate", "inf"],
            &["tickwire-bot", "--game", "chess"],
            &["tickwire-bot", "--check-every", "0"],
            &["tickwire-bot", "--url", ""],
            &["tickwire-bot", "--url", "ws://a:1,,ws://b:2"],
            &["tickwire-bot", "--url", "127.0.0.1:7000"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
