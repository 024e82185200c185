//! The lag-compensation buffer: where every ship was, and whether it was alive, at each of
//! the last few ticks, so that a shot can be judged against the world its shooter saw.
//!
//! It is a ring of one frame per tick, as deep as the rules' `max_rewind` in ticks (plus
//! the present). Frames are looked up by tick, never by their place in the ring, and a
//! lookup never returns a frame older than the bound: that is where a client's claim
//! about what it saw is limited.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::PlayerId;

/// One ship at one past tick.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// Whose ship.
    pub id: PlayerId,
    /// Where it was.
    pub pos: Vec2,
    /// Whether it could be hit then.
    pub alive: bool,
}

/// Every ship at one tick, in the order the game kept them then.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The tick this frame is the world after.
    pub tick: u64,
    /// The ships; empty in a slot not yet written.
    pub poses: Vec<Pose>,
    /// False in a slot not yet written.
    filled: bool,
}

/// The last `depth + 1` frames.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rewind {
    /// The ring: frame of tick `t` in slot `t % len`. Slots keep their vectors, so that
    /// recording a tick allocates nothing once the room has reached its size.
    frames: Vec<Frame>,
    /// How many ticks back a lookup may go.
    depth: u64,
}

impl Rewind {
    /// How many ticks back a lookup may go.
    pub fn depth(&self) -> u64 {
        self.depth
    }

    /// Sets how many ticks back a lookup may go; a new depth forgets every frame (it only
    /// changes when `dt` or the rules do).
    pub fn set_depth(&mut self, depth: u64) {
        if depth == self.depth && !self.frames.is_empty() {
            return;
        }
        self.depth = depth;
        // A depth beyond any sensible rewind (a broken rule) is capped rather than
        // allocating without limit: a second at 1 kHz.
        let slots = usize::try_from(depth.min(1024)).unwrap_or(1024) + 1;
        self.frames.clear();
        self.frames.resize_with(slots, Frame::default);
    }

    /// Remembers the ships as they are after tick `tick`.
    pub fn record(&mut self, tick: u64, ships: impl Iterator<Item = Pose>) {
        if self.frames.is_empty() {
            self.set_depth(self.depth);
        }
        let slots = self.frames.len() as u64;
        let frame = &mut self.frames[(tick % slots) as usize];
        frame.tick = tick;
        frame.filled = true;
        frame.poses.clear();
        frame.poses.extend(ships);
    }

    /// The frame to judge a shot against at tick `now` whose shooter was `lag` ticks
    /// behind: the one of tick `now - lag`, the lag first clamped to the depth. When that
    /// tick was never recorded (the room has just started, or skipped ticks) it is the
    /// newest frame before it, and failing that the oldest after it, but never one
    /// older than `now - depth`. `None` only before tick `now` is recorded.
    pub fn at(&self, now: u64, lag: u64) -> Option<&Frame> {
        let oldest = now.saturating_sub(self.depth);
        let want = now.saturating_sub(lag).max(oldest);
        let usable = self
            .frames
            .iter()
            .filter(|f| f.filled && (oldest..=now).contains(&f.tick));
        let before = usable
            .clone()
            .filter(|f| f.tick <= want)
            .max_by_key(|f| f.tick);
        before.or_else(|| usable.min_by_key(|f| f.tick))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pose(x: f32) -> Pose {
        Pose {
            id: 1,
            pos: Vec2::new(x, 0.0),
            alive: true,
        }
    }

    fn x_at(rewind: &Rewind, now: u64, lag: u64) -> Option<f32> {
        rewind.at(now, lag).map(|f| f.poses[0].pos.x)
    }

    #[test]
    fn frames_are_found_by_tick_within_the_depth() {
        let mut rewind = Rewind::default();
        rewind.set_depth(3);
        assert_eq!(x_at(&rewind, 5, 0), None);
        for tick in 1..=10 {
            rewind.record(tick, std::iter::once(pose(tick as f32)));
        }
        assert_eq!(x_at(&rewind, 10, 0), Some(10.0));
        assert_eq!(x_at(&rewind, 10, 2), Some(8.0));
        assert_eq!(x_at(&rewind, 10, 3), Some(7.0));
        // Older than the depth: clamped to it.
        assert_eq!(x_at(&rewind, 10, 100), Some(7.0));
    }

    #[test]
    fn missing_ticks_fall_back_inside_the_bound() {
        let mut rewind = Rewind::default();
        rewind.set_depth(4);
        // A fresh room: only ticks 9 and 10 exist.
        rewind.record(9, std::iter::once(pose(9.0)));
        rewind.record(10, std::iter::once(pose(10.0)));
        assert_eq!(
            x_at(&rewind, 10, 4),
            Some(9.0),
            "the oldest after the wanted tick"
        );
        // Skipped ticks: 11 and 12 missing, 13 and 14 recorded.
        rewind.record(13, std::iter::once(pose(13.0)));
        assert_eq!(x_at(&rewind, 13, 2), Some(10.0), "the newest before it");
        // A long skip: frames 9 and 10 are still in the ring, but older than 16 - 4, so
        // the longest lag gets the oldest frame inside the bound.
        rewind.record(16, std::iter::once(pose(16.0)));
        assert_eq!(x_at(&rewind, 16, 100), Some(13.0));
        rewind.record(18, std::iter::once(pose(18.0)));
        assert_eq!(x_at(&rewind, 18, 100), Some(16.0));
    }
}
