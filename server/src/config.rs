//! The server's settings: command-line flags, each also readable from a `TICKWIRE_*`
//! environment variable, with defaults that are safe on a public network.

use std::path::PathBuf;
use std::time::Duration;

/// Settings of a running server (everything except where to listen).
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Simulation ticks per second in every room.
    #[arg(long, env = "TICKWIRE_TICK_RATE", default_value_t = defaults::TICK_RATE,
          value_parser = clap::value_parser!(u16).range(1..=240))]
    pub tick_rate: u16,

    /// One snapshot per stretch of N ticks (on multiples of N, unless the room is catching
    /// up after a stall); the simulation still steps every tick. Fewer snapshots cost less
    /// bandwidth and add up to N-1 ticks to what a player sees.
    #[arg(long, env = "TICKWIRE_SEND_EVERY", default_value_t = defaults::SEND_EVERY,
          value_parser = clap::value_parser!(u32).range(1..=240))]
    pub send_every: u32,

    /// Every Nth snapshot is a keyframe (the whole state) for every client, so that a
    /// client that lost track (a bug, a hash mismatch) is back within N snapshots. Between
    /// them, clients get deltas (and a keyframe whenever their previous snapshot did not go
    /// out). 1 sends only keyframes.
    #[arg(long, env = "TICKWIRE_KEYFRAME_INTERVAL", default_value_t = defaults::KEYFRAME_INTERVAL,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub keyframe_interval: u32,

    /// Interest management: each client receives only the players within this many world
    /// units of its own player (and itself). Off by default: everyone sees everyone.
    #[arg(long, env = "TICKWIRE_VIEW_RADIUS", value_parser = positive_radius)]
    pub view_radius: Option<f32>,

    /// Most players in one room; quick-join opens a new room when all are full.
    #[arg(long, env = "TICKWIRE_MAX_ROOM_PLAYERS", default_value_t = defaults::MAX_ROOM_PLAYERS,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_room_players: u32,

    /// Most rooms open at once; a join that would open one more is refused.
    #[arg(long, env = "TICKWIRE_MAX_ROOMS", default_value_t = defaults::MAX_ROOMS)]
    pub max_rooms: usize,

    /// Most connections open at once; the handshake of one more is refused with HTTP 503.
    #[arg(long, env = "TICKWIRE_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Most connections open at once from one IP address; the handshake of one more is
    /// refused with HTTP 429.
    #[arg(long, env = "TICKWIRE_MAX_CONNECTIONS_PER_IP", default_value_t = defaults::MAX_CONNECTIONS_PER_IP)]
    pub max_connections_per_ip: usize,

    /// Apply the per-IP limit to loopback peers too. Off by default: on loopback the peer
    /// is usually a reverse proxy or a local load test, and one limit would throttle everyone
    /// behind it.
    #[arg(long, env = "TICKWIRE_LIMIT_LOOPBACK")]
    pub limit_loopback: bool,

    /// Most TCP peers at once that have not finished the WebSocket handshake; further ones
    /// are dropped unanswered, so a flood of slow handshakes cannot hold unbounded sockets.
    #[arg(long, env = "TICKWIRE_MAX_PENDING_HANDSHAKES", default_value_t = defaults::MAX_PENDING_HANDSHAKES)]
    pub max_pending_handshakes: usize,

    /// Seconds a room may stand empty before it is closed.
    #[arg(long, env = "TICKWIRE_ROOM_IDLE_SECS", default_value_t = defaults::ROOM_IDLE_SECS)]
    pub room_idle_secs: u64,

    /// Largest client message in bytes; a bigger frame closes the connection with 1009.
    #[arg(long, env = "TICKWIRE_MAX_MESSAGE_BYTES", default_value_t = defaults::MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,

    /// Messages that must arrive (acks, events, errors) one client may have queued before
    /// it is closed as too slow.
    #[arg(long, env = "TICKWIRE_RELIABLE_QUEUE", default_value_t = defaults::RELIABLE_QUEUE)]
    pub reliable_queue: usize,

    /// Most frames a room reads from one client per tick; the rest wait in that client's
    /// socket, so a flooding client slows only itself.
    #[arg(long, env = "TICKWIRE_FRAMES_PER_TICK", default_value_t = defaults::FRAMES_PER_TICK)]
    pub frames_per_tick: usize,

    /// Inputs per second one client may send, on average; the excess is dropped.
    #[arg(long, env = "TICKWIRE_INPUT_RATE", default_value_t = defaults::INPUT_RATE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub input_rate: u32,

    /// Inputs one client may send in a burst above its rate.
    #[arg(long, env = "TICKWIRE_INPUT_BURST", default_value_t = defaults::INPUT_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub input_burst: u32,

    /// Other messages (hello, join, leave, ping, and malformed frames) per second one client
    /// may send, on average; the excess is dropped.
    #[arg(long, env = "TICKWIRE_MESSAGE_RATE", default_value_t = defaults::MESSAGE_RATE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub message_rate: u32,

    /// Other messages one client may send in a burst above its rate.
    #[arg(long, env = "TICKWIRE_MESSAGE_BURST", default_value_t = defaults::MESSAGE_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,

    /// Milliseconds a client's socket may refuse our writes before the client is closed
    /// with 1008 as too slow.
    #[arg(long, env = "TICKWIRE_STALL_TIMEOUT_MS", default_value_t = defaults::STALL_TIMEOUT_MS)]
    pub stall_timeout_ms: u64,

    /// Milliseconds a client has to complete the WebSocket handshake.
    #[arg(long, env = "TICKWIRE_HANDSHAKE_TIMEOUT_MS", default_value_t = defaults::HANDSHAKE_TIMEOUT_MS)]
    pub handshake_timeout_ms: u64,

    /// Milliseconds a client has after its handshake to say `Hello` (or `Resume`); one that
    /// has not is closed (1008), so upgraded connections that never greet cannot hold slots.
    #[arg(long, env = "TICKWIRE_HELLO_TIMEOUT_MS", default_value_t = defaults::HELLO_TIMEOUT_MS)]
    pub hello_timeout_ms: u64,

    /// Milliseconds between the server's WebSocket pings to each client.
    #[arg(long, env = "TICKWIRE_PING_INTERVAL_MS", default_value_t = defaults::PING_INTERVAL_MS)]
    pub ping_interval_ms: u64,

    /// Milliseconds a client may send nothing at all (not even a pong) before its
    /// connection is closed with 1008.
    #[arg(long, env = "TICKWIRE_IDLE_TIMEOUT_MS", default_value_t = defaults::IDLE_TIMEOUT_MS)]
    pub idle_timeout_ms: u64,

    /// Milliseconds a player whose connection was lost keeps its seat, for the client to
    /// come back with its resume token.
    #[arg(long, env = "TICKWIRE_RESUME_GRACE_MS", default_value_t = defaults::RESUME_GRACE_MS)]
    pub resume_grace_ms: u64,

    /// Longest chat message, in bytes.
    #[arg(long, env = "TICKWIRE_CHAT_MAX_BYTES", default_value_t = defaults::CHAT_MAX_BYTES)]
    pub chat_max_bytes: usize,

    /// Chat messages per second one player may send, on average; more are refused.
    #[arg(long, env = "TICKWIRE_CHAT_RATE", default_value_t = defaults::CHAT_RATE,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_rate: u32,

    /// Chat messages one player may send in a burst above its rate.
    #[arg(long, env = "TICKWIRE_CHAT_BURST", default_value_t = defaults::CHAT_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_burst: u32,

    /// Recent chat messages a room keeps and sends to each newcomer.
    #[arg(long, env = "TICKWIRE_CHAT_HISTORY", default_value_t = defaults::CHAT_HISTORY)]
    pub chat_history: usize,

    /// Milliseconds given to connections to close cleanly on shutdown.
    #[arg(long, env = "TICKWIRE_SHUTDOWN_GRACE_MS", default_value_t = defaults::SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,

    /// The game every room plays.
    #[arg(long, env = "TICKWIRE_GAME", default_value = defaults::GAME,
          value_parser = clap::builder::PossibleValuesParser::new(crate::registry::names()))]
    pub game: String,

    /// Record every room's match into this directory: what each game was told (admitted
    /// inputs, joins, leaves, drops) and its world hash every tick, for
    /// `tickwire-server replay FILE` to check. Off by default.
    #[arg(long, env = "TICKWIRE_RECORD")]
    pub record: Option<PathBuf>,

    /// Serve the browser playground (the files of this directory, built by
    /// `scripts/playground.sh`) on the admin endpoint's address. Off by default.
    #[arg(long, env = "TICKWIRE_PLAYGROUND")]
    pub playground: Option<PathBuf>,

    /// A room's recording goes on in a new file (which starts from the game's saved world)
    /// once the current one holds this many MiB.
    #[arg(long, env = "TICKWIRE_RECORD_SEGMENT_MIB", default_value_t = defaults::RECORD_SEGMENT_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub record_segment_mib: u64,

    /// The newest this many files of each room's recording are kept; older ones are deleted.
    #[arg(long, env = "TICKWIRE_RECORD_KEEP", default_value_t = defaults::RECORD_KEEP,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub record_keep: u64,

    /// Threads that run rooms, each with its own rooms and their sockets (default: one per
    /// core). Accepting, handshakes, the lobby and the admin endpoint run on one more
    /// thread, the front, behind them in priority.
    #[arg(long, env = "TICKWIRE_THREADS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// How far the front thread (accepting, handshakes, the lobby, the admin endpoint) is
    /// put behind the rooms' threads, as a nice value from 0 to 19: on a busy machine a
    /// connection flood then slows accepting, not the rooms. 0 leaves it level.
    #[arg(long, env = "TICKWIRE_FRONT_NICE", default_value_t = defaults::FRONT_NICE,
          value_parser = clap::value_parser!(u8).range(0..=19))]
    pub front_nice: u8,

    /// Shared secret that signs the players' tokens (JWT, HS256); every WebSocket upgrade
    /// must then carry one, or is refused with HTTP 401. Without it the server runs in
    /// anonymous development mode: anyone can connect as anyone.
    #[arg(
        long,
        env = "TICKWIRE_AUTH_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub auth_secret: Option<String>,

    /// Cluster mode: several nodes share this Redis (`redis://host:port/db`) as their
    /// directory of nodes and rooms and as their message bus. Without it the node runs
    /// alone.
    #[arg(long, env = "TICKWIRE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// This node's name in the cluster (letters, digits, `-` and `_`; default: random).
    #[arg(long, env = "TICKWIRE_NODE_ID", value_parser = node_id)]
    pub node_id: Option<String>,

    /// The WebSocket URL clients reach this node at, sent in redirects to it (default:
    /// `ws://` and the address the game port is bound to).
    #[arg(long, env = "TICKWIRE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The secret every node of the cluster signs and checks seat tickets with (HS256);
    /// the `--auth-secret` when absent. Cluster mode needs one or the other.
    #[arg(long, env = "TICKWIRE_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,

    /// The prefix of every key and channel in Redis, so that clusters can share one.
    #[arg(long, env = "TICKWIRE_REDIS_PREFIX", default_value = defaults::REDIS_PREFIX,
          value_parser = node_id)]
    pub redis_prefix: String,

    /// A node whose heartbeat is older than this is gone from the directory (it beats
    /// three times as often).
    #[arg(long, env = "TICKWIRE_NODE_TTL_MS", default_value_t = defaults::NODE_TTL_MS,
          value_parser = clap::value_parser!(u64).range(300..=60_000))]
    pub node_ttl_ms: u64,
}

/// Node ids and the Redis prefix name keys and channels: 1 to 32 letters, digits, `-`, `_`.
fn node_id(text: &str) -> Result<String, String> {
    if (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(text.to_owned())
    } else {
        Err("1 to 32 of A-Z, a-z, 0-9, `-` and `_`".to_owned())
    }
}

/// A view radius must be a positive, finite number of world units.
fn positive_radius(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        Ok(_) => Err("must be a positive number of world units".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The defaults, shared by the flags and by [`Config::default`].
pub mod defaults {
    /// See [`super::Config::tick_rate`].
    pub const TICK_RATE: u16 = 60;
    /// See [`super::Config::send_every`].
    pub const SEND_EVERY: u32 = 1;
    /// See [`super::Config::keyframe_interval`]: one a second at the default rates.
    pub const KEYFRAME_INTERVAL: u32 = 60;
    /// See [`super::Config::max_room_players`].
    pub const MAX_ROOM_PLAYERS: u32 = 64;
    /// See [`super::Config::max_rooms`].
    pub const MAX_ROOMS: usize = 1024;
    /// See [`super::Config::max_connections`].
    pub const MAX_CONNECTIONS: usize = 10_000;
    /// See [`super::Config::max_connections_per_ip`].
    pub const MAX_CONNECTIONS_PER_IP: usize = 64;
    /// See [`super::Config::max_pending_handshakes`].
    pub const MAX_PENDING_HANDSHAKES: usize = 1024;
    /// See [`super::Config::input_rate`]: twice what an honest 60 Hz client sends.
    pub const INPUT_RATE: u32 = 120;
    /// See [`super::Config::input_burst`]: a second's worth, for inputs bunched by jitter.
    pub const INPUT_BURST: u32 = 120;
    /// See [`super::Config::message_rate`].
    pub const MESSAGE_RATE: u32 = 20;
    /// See [`super::Config::message_burst`].
    pub const MESSAGE_BURST: u32 = 40;
    /// See [`super::Config::stall_timeout_ms`].
    pub const STALL_TIMEOUT_MS: u64 = 10_000;
    /// See [`super::Config::room_idle_secs`].
    pub const ROOM_IDLE_SECS: u64 = 30;
    /// See [`super::Config::max_message_bytes`]; the largest honest message (a hello with
    /// a 32-character name) is under 150 bytes.
    pub const MAX_MESSAGE_BYTES: usize = 4096;
    /// See [`super::Config::reliable_queue`].
    pub const RELIABLE_QUEUE: usize = 256;
    /// See [`super::Config::frames_per_tick`]; an honest client sends one input a tick and
    /// the odd ping, and network jitter can bunch a few ticks' worth together.
    pub const FRAMES_PER_TICK: usize = 16;
    /// See [`super::Config::hello_timeout_ms`].
    pub const HELLO_TIMEOUT_MS: u64 = 10_000;
    /// See [`super::Config::handshake_timeout_ms`].
    pub const HANDSHAKE_TIMEOUT_MS: u64 = 5_000;
    /// See [`super::Config::ping_interval_ms`].
    pub const PING_INTERVAL_MS: u64 = 5_000;
    /// See [`super::Config::idle_timeout_ms`]: three missed pings.
    pub const IDLE_TIMEOUT_MS: u64 = 15_000;
    /// See [`super::Config::resume_grace_ms`].
    pub const RESUME_GRACE_MS: u64 = 10_000;
    /// See [`super::Config::chat_max_bytes`].
    pub const CHAT_MAX_BYTES: usize = 256;
    /// See [`super::Config::chat_rate`].
    pub const CHAT_RATE: u32 = 2;
    /// See [`super::Config::chat_burst`].
    pub const CHAT_BURST: u32 = 5;
    /// See [`super::Config::chat_history`].
    pub const CHAT_HISTORY: usize = 50;
    /// See [`super::Config::shutdown_grace_ms`].
    pub const SHUTDOWN_GRACE_MS: u64 = 1_000;
    /// See [`super::Config::record_segment_mib`]: about twelve minutes of a full 64-player
    /// room (about 4 MB a minute for 50 players at 60 Hz, measured).
    pub const RECORD_SEGMENT_MIB: u64 = 64;
    /// See [`super::Config::game`].
    pub const GAME: &str = "arena";
    /// See [`super::Config::record_keep`].
    pub const RECORD_KEEP: u64 = 4;
    /// See [`super::Config::front_nice`].
    pub const FRONT_NICE: u8 = 10;
    /// See [`super::Config::redis_prefix`].
    pub const REDIS_PREFIX: &str = "tickwire";
    /// See [`super::Config::node_ttl_ms`]: a killed node is gone within 3 s.
    pub const NODE_TTL_MS: u64 = 3_000;
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tick_rate: defaults::TICK_RATE,
            send_every: defaults::SEND_EVERY,
            keyframe_interval: defaults::KEYFRAME_INTERVAL,
            view_radius: None,
            max_room_players: defaults::MAX_ROOM_PLAYERS,
            max_rooms: defaults::MAX_ROOMS,
            max_connections: defaults::MAX_CONNECTIONS,
            max_connections_per_ip: defaults::MAX_CONNECTIONS_PER_IP,
            limit_loopback: false,
            max_pending_handshakes: defaults::MAX_PENDING_HANDSHAKES,
            room_idle_secs: defaults::ROOM_IDLE_SECS,
            max_message_bytes: defaults::MAX_MESSAGE_BYTES,
            reliable_queue: defaults::RELIABLE_QUEUE,
            frames_per_tick: defaults::FRAMES_PER_TICK,
            input_rate: defaults::INPUT_RATE,
            input_burst: defaults::INPUT_BURST,
            message_rate: defaults::MESSAGE_RATE,
            message_burst: defaults::MESSAGE_BURST,
            stall_timeout_ms: defaults::STALL_TIMEOUT_MS,
            handshake_timeout_ms: defaults::HANDSHAKE_TIMEOUT_MS,
            hello_timeout_ms: defaults::HELLO_TIMEOUT_MS,
            ping_interval_ms: defaults::PING_INTERVAL_MS,
            idle_timeout_ms: defaults::IDLE_TIMEOUT_MS,
            resume_grace_ms: defaults::RESUME_GRACE_MS,
            chat_max_bytes: defaults::CHAT_MAX_BYTES,
            chat_rate: defaults::CHAT_RATE,
            chat_burst: defaults::CHAT_BURST,
            chat_history: defaults::CHAT_HISTORY,
            shutdown_grace_ms: defaults::SHUTDOWN_GRACE_MS,
            game: defaults::GAME.to_owned(),
            record: None,
            playground: None,
            record_segment_mib: defaults::RECORD_SEGMENT_MIB,
            record_keep: defaults::RECORD_KEEP,
            threads: None,
            front_nice: defaults::FRONT_NICE,
            auth_secret: None,
            redis_url: None,
            node_id: None,
            public_url: None,
            cluster_secret: None,
            redis_prefix: defaults::REDIS_PREFIX.to_owned(),
            node_ttl_ms: defaults::NODE_TTL_MS,
        }
    }
}

impl Config {
    /// The threads that run rooms: `--threads`, or one per core.
    pub fn room_threads(&self) -> usize {
        self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            usize::from,
        )
    }

    /// How long a room may stand empty.
    pub fn room_idle(&self) -> Duration {
        Duration::from_secs(self.room_idle_secs)
    }

    /// How long the handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }

    /// The keep-alive rules.
    pub fn keep_alive(&self) -> crate::heartbeat::KeepAlive {
        crate::heartbeat::KeepAlive {
            ping_interval: Duration::from_millis(self.ping_interval_ms.max(1)),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms.max(1)),
        }
    }

    /// How many rooms, and how big.
    pub fn room_limits(&self) -> crate::rooms::RoomLimits {
        crate::rooms::RoomLimits {
            max_rooms: self.max_rooms,
            max_room_players: self.max_room_players as usize,
        }
    }

    /// The rules every room plays by, built once for each room that opens.
    pub fn room_rules(&self) -> crate::room::RoomRules {
        crate::room::RoomRules {
            tick_rate: self.tick_rate,
            send_every: self.send_every,
            keyframe_interval: self.keyframe_interval,
            view_radius: self.view_radius,
            frames_per_tick: self.frames_per_tick,
            chat: crate::room::ChatRules {
                max_bytes: self.chat_max_bytes,
                history: self.chat_history,
                limit: crate::rate_limit::Limit {
                    per_second: self.chat_rate,
                    burst: self.chat_burst,
                },
            },
            keep_alive: self.keep_alive(),
            resume_grace: Duration::from_millis(self.resume_grace_ms),
            idle_close: self.room_idle(),
            record_segment_bytes: self
                .record
                .as_ref()
                .map(|_| self.record_segment_mib.saturating_mul(1 << 20)),
        }
    }

    /// The limits each client is held to.
    pub fn client_rules(&self) -> crate::peer::ClientRules {
        use crate::rate_limit::Limit;
        crate::peer::ClientRules {
            reliable_cap: self.reliable_queue,
            inputs: Limit {
                per_second: self.input_rate,
                burst: self.input_burst,
            },
            messages: Limit {
                per_second: self.message_rate,
                burst: self.message_burst,
            },
            stall_timeout: Duration::from_millis(self.stall_timeout_ms),
            hello_timeout: Duration::from_millis(self.hello_timeout_ms),
            anon_node: None,
        }
    }

    /// How long shutdown waits for connections to close.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(std::iter::once("tickwire-server").chain(args.iter().copied()))
            .map(|cli| cli.config)
    }

    #[test]
    fn bandwidth_flags_default_to_every_tick_keyframe_a_second_and_no_radius() {
        let config = parse(&[]).unwrap();
        assert_eq!(
            (
                config.send_every,
                config.keyframe_interval,
                config.view_radius
            ),
            (1, 60, None)
        );
        let config = parse(&[
            "--send-every",
            "3",
            "--keyframe-interval",
            "1",
            "--view-radius",
            "250.5",
        ])
        .unwrap();
        assert_eq!(
            (
                config.send_every,
                config.keyframe_interval,
                config.view_radius
            ),
            (3, 1, Some(250.5))
        );
    }

    #[test]
    fn nonsense_bandwidth_flags_are_refused() {
        for args in [
            &["--send-every", "0"][..],
            &["--keyframe-interval", "0"],
            &["--view-radius", "0"],
            &["--view-radius", "-5"],
            &["--view-radius", "NaN"],
            &["--view-radius", "inf"],
            &["--view-radius", "far"],
        ] {
            assert!(parse(args).is_err(), "{args:?} was accepted");
        }
    }
}
