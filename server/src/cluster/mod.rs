//! Cluster mode (`--redis-url`): several nodes behind any load balancer, no sticky
//! sessions. A room lives on one node; Redis is the directory of nodes, rooms and users
//! (`directory`) and the bus between nodes (`bus`). A client that asks any node for a room
//! on another is sent there with a redirect and a seat ticket (`route`, `tickets`); the
//! node task (`node`) keeps this node in the directory, answers other nodes' requests, and
//! keeps the redirect its rooms give their members when it stops (`elsewhere`).
//!
//! Without Redis (it is down, or not reached yet) the node goes on alone: its rooms keep
//! their ticks, joins into them keep working, and what needs another node is refused with
//! the reason.

pub mod bus;
pub mod directory;
pub mod elsewhere;
pub mod node;
pub mod route;
pub mod tickets;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

pub use elsewhere::Elsewhere;

use self::bus::Replies;
use self::directory::Directory;
use self::tickets::Tickets;
use crate::config::Config;

/// This node's place in the cluster, shared by its lobby tasks, its node task and the
/// admin endpoint.
#[derive(Debug)]
pub struct Cluster {
    /// This node's id.
    pub node: String,
    /// Where clients reach this node.
    pub url: String,
    /// How long a heartbeat lasts.
    pub ttl: Duration,
    /// The directory in Redis.
    pub directory: Directory,
    /// Seats reserved here for clients that other nodes sent.
    pub tickets: Arc<Tickets>,
    /// Seat requests sent to other nodes, waiting for their answers.
    pub replies: Replies,
    /// Where this node's room members go when it stops.
    pub elsewhere: Arc<Elsewhere>,
    redis: redis::Client,
}

impl Cluster {
    /// The cluster `config` describes, for a node whose game port is `game_addr`; `None`
    /// without `--redis-url`. Nothing is connected yet (the node task does that).
    ///
    /// # Errors
    /// The Redis URL does not parse, or no secret signs the tickets.
    pub fn from_config(
        config: &Config,
        game_addr: std::net::SocketAddr,
    ) -> anyhow::Result<Option<Self>> {
        let Some(redis_url) = &config.redis_url else {
            return Ok(None);
        };
        let redis = redis::Client::open(redis_url.as_str())
            .with_context(|| "the --redis-url is not a Redis URL")?;
        let secret = config
            .cluster_secret
            .as_deref()
            .or(config.auth_secret.as_deref())
            .filter(|s| !s.is_empty())
            .context(
                "cluster mode needs --cluster-secret (or --auth-secret) to sign seat tickets",
            )?;
        let node = match &config.node_id {
            Some(id) => id.clone(),
            None => random_node_id().context("no randomness for a node id; set --node-id")?,
        };
        let url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("ws://{game_addr}"));
        Ok(Some(Self {
            directory: Directory::new(&config.redis_prefix, &node),
            tickets: Arc::new(Tickets::new(&node, secret.as_bytes())),
            replies: Replies::default(),
            elsewhere: Arc::new(Elsewhere::default()),
            ttl: Duration::from_millis(config.node_ttl_ms),
            redis,
            url,
            node,
        }))
    }
}

/// Eight random hex digits.
fn random_node_id() -> Option<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
