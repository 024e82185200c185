//! The rules one room plays by, given to it whole when it opens: a room reads no global
//! settings, so two rooms may play by different rules.

use std::time::Duration;

use crate::heartbeat::KeepAlive;
use crate::rate_limit::Limit;

/// How a room's chat works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatRules {
    /// Longest message, in bytes.
    pub max_bytes: usize,
    /// Recent messages kept and sent to each newcomer.
    pub history: usize,
    /// Messages one player may send, and in a burst.
    pub limit: Limit,
}

/// Everything a room needs to know about how it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoomRules {
    /// Simulation ticks per second.
    pub tick_rate: u16,
    /// A snapshot goes out once per this many ticks.
    pub send_every: u32,
    /// Every this many snapshots, everyone gets a keyframe.
    pub keyframe_interval: u32,
    /// Each client sees only the players this close to its own, when set.
    pub view_radius: Option<f32>,
    /// Most frames read from one client per tick; the rest wait in its socket.
    pub frames_per_tick: usize,
    /// The chat's limits.
    pub chat: ChatRules,
    /// When to ping a member, and when one that stays silent is dead.
    pub keep_alive: KeepAlive,
    /// How long a player whose connection was lost keeps its seat (zero: not at all).
    pub resume_grace: Duration,
    /// How long the room may stand empty before it closes.
    pub idle_close: Duration,
    /// When set, the room records what its game is told, in segments of about this many
    /// bytes.
    pub record_segment_bytes: Option<u64>,
}
