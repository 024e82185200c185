//! Bullets: their flight, and which ship each one's path touches in the world its shooter
//! saw (the frame of the rewind buffer its lag points at).
//!
//! A step moves every bullet along a segment and tests the segment against the ships of
//! its frame. Bullets of the same lag share a frame, so they are grouped by lag and each
//! frame's ships are put in a [`Grid`] once: a step costs O(bullets + ships × lags in
//! use), not O(bullets × ships). The hits come back in bullet order, whatever the
//! grouping, so applying them is as deterministic as the bullets' vector.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::{EntityId, Grid, PlayerId};

use super::rewind::{Frame, Rewind};
use super::rules::ShooterRules;

/// One bullet in flight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bullet {
    /// Its entity id (at least `FIRST_GAME_ID`).
    pub id: EntityId,
    /// Whose ship fired it.
    pub owner: PlayerId,
    /// Where it is.
    pub pos: Vec2,
    /// How fast it goes, in units per second.
    pub vel: Vec2,
    /// The tick it is gone at (it is in the snapshots before it).
    pub expires_at: u64,
    /// How many ticks back its shooter's view was when it fired (within the rewind
    /// bound): it hits ships where they were that many ticks before each step.
    pub lag: u64,
}

/// A bullet's path touched a ship.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The bullet's index in the bullets' vector.
    pub bullet: usize,
    /// The ship it touched.
    pub target: PlayerId,
    /// Where the bullet was when it touched it.
    pub at: Vec2,
}

/// The scratch space of the collision pass, kept between steps so that a step allocates
/// nothing once the room has reached its size.
#[derive(Debug)]
pub struct Collider {
    grid: Grid,
    /// Each bullet's position before this step's move.
    from: Vec<Vec2>,
    /// Bullet indices sorted by lag.
    order: Vec<usize>,
    /// The positions of the live ships of the frame at hand, and their index in it.
    live_pos: Vec<Vec2>,
    live_at: Vec<usize>,
}

impl Collider {
    /// Scratch space for a world of these rules.
    pub fn new(rules: &ShooterRules) -> Self {
        Self {
            grid: Grid::new(rules.size, (rules.ship_radius * 2.0).max(1.0)),
            from: Vec::new(),
            order: Vec::new(),
            live_pos: Vec::new(),
            live_at: Vec::new(),
        }
    }

    /// Moves every bullet by `dt` at tick `now` and writes to `hits`, in bullet order,
    /// the first ship (not its own) each one's path touched, as the rewind buffer says
    /// that ship was `lag` ticks ago, and alive then.
    pub fn fly(
        &mut self,
        bullets: &mut [Bullet],
        rewind: &Rewind,
        now: u64,
        dt: f32,
        rules: &ShooterRules,
        hits: &mut Vec<Hit>,
    ) {
        hits.clear();
        self.from.clear();
        for b in bullets.iter_mut() {
            self.from.push(b.pos);
            b.pos += b.vel * dt;
        }
        self.order.clear();
        self.order.extend(0..bullets.len());
        // Unique keys, so an unstable sort is deterministic.
        self.order.sort_unstable_by_key(|&i| (bullets[i].lag, i));
        let reach = rules.ship_radius + rules.bullet_radius;
        let mut group = 0;
        while group < self.order.len() {
            let lag = bullets[self.order[group]].lag;
            let end = group
                + self.order[group..]
                    .iter()
                    .take_while(|&&i| bullets[i].lag == lag)
                    .count();
            if let Some(frame) = rewind.at(now, lag) {
                self.index(frame);
                for &i in &self.order[group..end] {
                    let (from, to) = (self.from[i], bullets[i].pos);
                    if let Some((target, at)) =
                        self.first_touch(frame, bullets[i].owner, from, to, reach)
                    {
                        hits.push(Hit {
                            bullet: i,
                            target,
                            at,
                        });
                    }
                }
            }
            group = end;
        }
        hits.sort_unstable_by_key(|h| h.bullet);
    }

    /// Puts the live ships of `frame` in the grid.
    fn index(&mut self, frame: &Frame) {
        self.live_pos.clear();
        self.live_at.clear();
        for (at, pose) in frame.poses.iter().enumerate() {
            if pose.alive {
                self.live_pos.push(pose.pos);
                self.live_at.push(at);
            }
        }
        self.grid.rebuild(&self.live_pos);
    }

    /// The ship of `frame` (not `owner`'s) that the segment `from → to` touches first,
    /// within `reach` of its centre, and where; ties go to the ship earlier in the frame.
    fn first_touch(
        &self,
        frame: &Frame,
        owner: PlayerId,
        from: Vec2,
        to: Vec2,
        reach: f32,
    ) -> Option<(PlayerId, Vec2)> {
        let mut best: Option<(f32, usize)> = None;
        let (lo, hi) = (
            from.min(to) - Vec2::splat(reach),
            from.max(to) + Vec2::splat(reach),
        );
        self.grid.for_each_in_rect(lo, hi, |k| {
            let at = self.live_at[k];
            let pose = &frame.poses[at];
            if pose.id == owner {
                return;
            }
            let Some(s) = segment_meets_circle(from, to, pose.pos, reach) else {
                return;
            };
            let better = best.is_none_or(|(bs, ba)| s.total_cmp(&bs).then(at.cmp(&ba)).is_lt());
            if better {
                best = Some((s, at));
            }
        });
        best.map(|(s, at)| (frame.poses[at].id, from.lerp(to, s)))
    }
}

/// How far along `from → to` (0 to 1) the segment first comes within `r` of `centre`, if
/// it does.
fn segment_meets_circle(from: Vec2, to: Vec2, centre: Vec2, r: f32) -> Option<f32> {
    let f = from - centre;
    let c = f.length_squared() - r * r;
    if c <= 0.0 {
        return Some(0.0);
    }
    let d = to - from;
    let a = d.length_squared();
    if a <= f32::EPSILON {
        return None;
    }
    let b = 2.0 * f.dot(d);
    let disc = b * b - 4.0 * a * c;
    if disc < 0.0 {
        return None;
    }
    let s = (-b - disc.sqrt()) / (2.0 * a);
    (0.0..=1.0).contains(&s).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_meets_a_circle_where_it_enters() {
        let hit = segment_meets_circle(Vec2::ZERO, Vec2::new(10.0, 0.0), Vec2::new(6.0, 1.0), 2.0);
        let s = hit.unwrap();
        assert!((s - (6.0 - 3f32.sqrt()) / 10.0).abs() < 1e-5, "{s}");
        assert_eq!(
            segment_meets_circle(Vec2::ZERO, Vec2::X, Vec2::ZERO, 1.0),
            Some(0.0),
            "starts inside"
        );
        assert_eq!(
            segment_meets_circle(Vec2::ZERO, Vec2::new(10.0, 0.0), Vec2::new(5.0, 3.0), 2.0),
            None
        );
        assert_eq!(
            segment_meets_circle(Vec2::ZERO, Vec2::new(1.0, 0.0), Vec2::new(5.0, 0.0), 2.0),
            None,
            "short"
        );
        assert_eq!(
            segment_meets_circle(Vec2::ZERO, Vec2::new(-9.0, 0.0), Vec2::new(5.0, 0.0), 2.0),
            None,
            "behind"
        );
    }
}
