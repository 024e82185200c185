//! The cluster's directory in Redis: which nodes are alive (an expiring heartbeat, and a
//! listener on the node's channel), which rooms each holds with their seats and privacy,
//! and which users sit where. Every read-and-change is one Lua script (`lua/`), so it is
//! atomic against every other node's.
//!
//! The directory is a map, not the owner of seats: a room's seats belong to the node that
//! runs it, which alone grants them (`cluster::node`). What the directory counts is what
//! the nodes last said, which is what quick-join needs to choose a room.
//!
//! Keys, under the prefix `P`: `P:nodes` (set of ids), `P:node:ID` (hash: url, load,
//! draining; expires), `P:node:ID:rooms` and `P:node:ID:users` (what the node holds;
//! expire), `P:rooms` (set of names), `P:room:NAME` (hash: node, taken, capacity,
//! private), and the channels `P:to:ID` and `P:all`.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands as _, Script};

/// How long one call to Redis may take before the directory counts as unreachable.
const CALL_TIMEOUT: Duration = Duration::from_millis(800);

/// Why the directory could not answer.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// No connection to Redis (not yet made, or lost), or a call took too long.
    #[error("the cluster directory (Redis) is unreachable")]
    Unreachable,
    /// Redis answered with an error.
    #[error("the cluster directory (Redis) failed: {0}")]
    Redis(#[from] redis::RedisError),
}

/// What this node tells the directory on each heartbeat.
#[derive(Debug, Clone, Default)]
pub struct Beat {
    /// Where clients reach this node.
    pub url: String,
    /// Seats taken in all its rooms.
    pub load: usize,
    /// Shutting down: no new rooms or players.
    pub draining: bool,
    /// This node was listed before (a beat of it succeeded since it started).
    pub returning: bool,
    /// Its rooms.
    pub rooms: Vec<RoomEntry>,
    /// Its seated users, and their rooms.
    pub users: Vec<(String, String)>,
}

/// One room as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    /// The room's name.
    pub name: String,
    /// Seats taken.
    pub taken: usize,
    /// Seats in all.
    pub capacity: usize,
    /// Left out of quick-join.
    pub private: bool,
}

/// How a claim of a room's name went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The name is this node's.
    Ours,
    /// A live node holds it: that one.
    Taken(String),
    /// The directory may not list every room yet (this node has not beaten into it, or
    /// Redis restarted empty less than a heartbeat's lifetime ago): some node may hold
    /// the name without having said so. Try again shortly.
    Settling,
}

/// A node and where to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAt {
    /// Its id.
    pub node: String,
    /// Its clients' URL.
    pub url: String,
}

/// Where a quick-join may go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pick {
    /// The fullest public room with a free seat, and its node.
    pub room: Option<(String, NodeAt)>,
    /// The least-loaded live node, to open a room on when none has a seat.
    pub least_loaded: Option<NodeAt>,
}

/// Every script, compiled once with the shared head.
#[derive(Debug)]
struct Scripts {
    beat: Script,
    claim: Script,
    pick: Script,
    locate: Script,
    leave: Script,
}

impl Scripts {
    fn new() -> Self {
        let head = include_str!("lua/alive.lua");
        let script = |body: &str| Script::new(&format!("{head}\n{body}"));
        Self {
            beat: script(include_str!("lua/beat.lua")),
            claim: script(include_str!("lua/claim.lua")),
            pick: script(include_str!("lua/pick.lua")),
            locate: script(include_str!("lua/locate.lua")),
            leave: script(include_str!("lua/leave.lua")),
        }
    }
}

/// The directory as this node sees it.
pub struct Directory {
    prefix: String,
    node: String,
    scripts: Scripts,
    /// Set once the first connection is made; the manager reconnects by itself after that.
    conn: RwLock<Option<ConnectionManager>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("prefix", &self.prefix)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// The directory of node `node` under `prefix`, not yet connected.
    pub fn new(prefix: &str, node: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            scripts: Scripts::new(),
            conn: RwLock::new(None),
        }
    }

    /// The connection to use from now on.
    pub fn connected(&self, conn: ConnectionManager) {
        *self.conn.write().unwrap_or_else(PoisonError::into_inner) = Some(conn);
    }

    /// The channel node `node` listens on.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:to:{node}", self.prefix)
    }

    /// The channel every node listens on.
    pub fn all_channel(&self) -> String {
        format!("{}:all", self.prefix)
    }

    fn conn(&self) -> Result<ConnectionManager, DirectoryError> {
        self.conn
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(DirectoryError::Unreachable)
    }

    /// Runs `script` with the prefix and then `args`, within the call timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        args: &[String],
    ) -> Result<T, DirectoryError> {
        let mut conn = self.conn()?;
        let mut call = script.prepare_invoke();
        call.arg(&self.prefix);
        for arg in args {
            call.arg(arg);
        }
        match tokio::time::timeout(CALL_TIMEOUT, call.invoke_async(&mut conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) if is_unreachable(&err) => Err(DirectoryError::Unreachable),
            Ok(Err(err)) => Err(DirectoryError::Redis(err)),
            Err(_elapsed) => Err(DirectoryError::Unreachable),
        }
    }

    /// Lists this node, its rooms and users; returns where its clients should go if it
    /// stops (the least-loaded other live node), if anywhere.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn beat(&self, beat: &Beat, ttl: Duration) -> Result<Option<String>, DirectoryError> {
        let mut args = vec![
            self.node.clone(),
            beat.url.clone(),
            beat.load.to_string(),
            flag(beat.draining),
            ttl.as_millis().to_string(),
            flag(beat.returning),
            beat.rooms.len().to_string(),
        ];
        for room in &beat.rooms {
            args.extend([
                room.name.clone(),
                room.taken.to_string(),
                room.capacity.to_string(),
                flag(room.private),
            ]);
        }
        for (user, room) in &beat.users {
            args.extend([user.clone(), room.clone()]);
        }
        let elsewhere: String = self.run(&self.scripts.beat, &args).await?;
        Ok(Some(elsewhere).filter(|url| !url.is_empty()))
    }

    /// Claims `name` for this node.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn claim(
        &self,
        name: &str,
        capacity: usize,
        private: bool,
    ) -> Result<Claimed, DirectoryError> {
        let args = [
            name.to_owned(),
            self.node.clone(),
            capacity.to_string(),
            flag(private),
        ];
        let owner: String = self.run(&self.scripts.claim, &args).await?;
        Ok(match owner.as_str() {
            "" => Claimed::Ours,
            "!settling" => Claimed::Settling,
            _ => Claimed::Taken(owner),
        })
    }

    /// Where a quick-join may go, passing over the rooms in `skip`.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn pick(&self, skip: &[String]) -> Result<Pick, DirectoryError> {
        let got: Vec<String> = self.run(&self.scripts.pick, skip).await?;
        let [room, room_node, room_url, least, least_url] = <[String; 5]>::try_from(got)
            .map_err(|_| bad_reply("pick answered with other than five strings"))?;
        let at =
            |node: String, url: String| Some(NodeAt { node, url }).filter(|n| !n.node.is_empty());
        Ok(Pick {
            room: at(room_node, room_url).map(|node| (room, node)),
            least_loaded: at(least, least_url),
        })
    }

    /// The live node that holds room `name`, if any.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn room(&self, name: &str) -> Result<Option<NodeAt>, DirectoryError> {
        Ok(self.locate("room", name).await?.map(|(at, _)| at))
    }

    /// Node `node`, if it is alive.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn node(&self, node: &str) -> Result<Option<NodeAt>, DirectoryError> {
        Ok(self.locate("node", node).await?.map(|(at, _)| at))
    }

    /// The live node and room where `user` is seated, if anywhere.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn user(&self, user: &str) -> Result<Option<(NodeAt, String)>, DirectoryError> {
        Ok(self
            .locate("user", user)
            .await?
            .and_then(|(at, room)| Some((at, room?))))
    }

    async fn locate(
        &self,
        what: &str,
        name: &str,
    ) -> Result<Option<(NodeAt, Option<String>)>, DirectoryError> {
        let got: Vec<String> = self
            .run(&self.scripts.locate, &[what.to_owned(), name.to_owned()])
            .await?;
        let mut got = got.into_iter();
        Ok(match (got.next(), got.next()) {
            (Some(node), Some(url)) => Some((NodeAt { node, url }, got.next())),
            _ => None,
        })
    }

    /// Takes this node and its rooms out of the directory, for a clean stop.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn leave(&self) -> Result<(), DirectoryError> {
        let _: i64 = self
            .run(&self.scripts.leave, std::slice::from_ref(&self.node))
            .await?;
        Ok(())
    }

    /// Publishes `payload` on `channel`; returns how many nodes heard it.
    ///
    /// # Errors
    /// [`DirectoryError`] when Redis is unreachable or fails.
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<usize, DirectoryError> {
        let mut conn = self.conn()?;
        match tokio::time::timeout(CALL_TIMEOUT, conn.publish(channel, payload)).await {
            Ok(Ok(heard)) => Ok(heard),
            Ok(Err(err)) if is_unreachable(&err) => Err(DirectoryError::Unreachable),
            Ok(Err(err)) => Err(DirectoryError::Redis(err)),
            Err(_elapsed) => Err(DirectoryError::Unreachable),
        }
    }
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_owned()
}

fn is_unreachable(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
}

fn bad_reply(what: &'static str) -> DirectoryError {
    DirectoryError::Redis(redis::RedisError::from((redis::ErrorKind::TypeError, what)))
}
