//! Interest management: each client sees only the entities within the view radius of its
//! own player's entity, and every entity of a kind without a position (room state), and
//! its snapshot is assembled from the frame's pieces.
//!
//! Once per frame the placed entities' positions are bucketed into a [`Grid`] whose cells
//! are at least half the radius wide. A client's view is then the cells around it, checked
//! entity by entity against the exact radius, so the cost per client follows what it sees,
//! not the room's size. Nothing is encoded per client but the head: whole states, change
//! records and hashes were made once for the frame; a client's snapshot copies the ones it
//! needs.
//!
//! A client's view changes as entities move: one that leaves it is `removed`, one that
//! enters it is `added` whole, and the rest get their change records, in the order the
//! client holds them ([`ClientView`]).

use bytes::Bytes;
use glam::Vec2;
use tickwire_shared::schema::EntityId;
use tickwire_shared::{PlayerId, StateHasher};

use super::encoder::SnapshotKind;
use super::frame::Frame;
use crate::game::Grid;

/// What one client holds: the entities of its last snapshot, in its order.
#[derive(Debug, Clone, Default)]
pub struct ClientView {
    held: Vec<EntityId>,
    /// The tick of the last snapshot made for it.
    tick: Option<u64>,
}

impl ClientView {
    /// The entities the client holds, in its order.
    pub fn held(&self) -> &[EntityId] {
        &self.held
    }
}

/// Whose view a snapshot is cut for.
#[derive(Debug, Clone, Copy)]
enum Viewer {
    /// A player, by the index of its entity in the frame (`None`: it has none).
    Entity(Option<usize>),
    /// A watcher: every entity.
    Everything,
}

/// The room's view-radius machinery, with buffers kept between frames.
#[derive(Debug)]
pub struct Interest {
    radius: f32,
    grid: Grid,
    /// Placed entities' positions, moved so that their bounding box starts at 0, as the
    /// grid wants; grid index `g` is frame entity `placed[g]`.
    shifted: Vec<Vec2>,
    placed: Vec<u32>,
    /// Where each frame entity is in `shifted` (`u32::MAX`: it has no place).
    slot: Vec<u32>,
    /// Entities without a place: in every view.
    everywhere: Vec<u32>,
    origin: Vec2,
    /// `visible_mark[i] == stamp`: player `i` is in the current client's view.
    visible_mark: Vec<u32>,
    /// `held_mark[i] == stamp`: the current client holds player `i` and keeps it.
    held_mark: Vec<u32>,
    stamp: u32,
    visible: Vec<u32>,
    kept: Vec<u32>,
    removed: Vec<PlayerId>,
    added: Vec<u32>,
    changes: Vec<u8>,
}

impl Interest {
    /// Machinery for a view of `radius` world units.
    pub fn new(radius: f32) -> Self {
        Self {
            radius,
            grid: Grid::new(Vec2::splat(radius), radius * 0.5),
            shifted: Vec::new(),
            placed: Vec::new(),
            slot: Vec::new(),
            everywhere: Vec::new(),
            origin: Vec2::ZERO,
            visible_mark: Vec::new(),
            held_mark: Vec::new(),
            stamp: 0,
            visible: Vec::new(),
            kept: Vec::new(),
            removed: Vec::new(),
            added: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Buckets the frame's placed entities; once per frame, before any client's view.
    pub fn prepare(&mut self, frame: &Frame) {
        self.placed.clear();
        self.everywhere.clear();
        self.slot.clear();
        self.shifted.clear();
        for i in 0..frame.len() {
            match frame.position(i) {
                Some(p) => {
                    self.slot.push(self.placed.len() as u32);
                    self.placed.push(i as u32);
                    self.shifted.push(p);
                }
                None => {
                    self.slot.push(u32::MAX);
                    self.everywhere.push(i as u32);
                }
            }
        }
        let (lo, hi) = self.shifted.iter().fold(
            (Vec2::splat(f32::INFINITY), Vec2::splat(f32::NEG_INFINITY)),
            |(lo, hi), &p| (lo.min(p), hi.max(p)),
        );
        // No players, or none with a finite position: any box will do.
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            (lo, hi)
        } else {
            (Vec2::ZERO, Vec2::ZERO)
        };
        self.origin = lo;
        self.grid.set_size(hi - lo);
        let origin = self.origin;
        for p in &mut self.shifted {
            *p -= origin;
        }
        self.grid.rebuild(&self.shifted);
        let n = frame.len();
        self.visible_mark.clear();
        self.visible_mark.resize(n, 0);
        self.held_mark.clear();
        self.held_mark.resize(n, 0);
        self.stamp = 0;
    }

    /// Fills `visible` with the entities without a place, then those within the radius
    /// of entity `own` (itself included) in the grid's order. A client whose player has
    /// no placed entity sees only the entities without a place; a watcher sees them all.
    fn find_visible(&mut self, frame: &Frame, own: Viewer) {
        self.visible.clear();
        self.visible.extend_from_slice(&self.everywhere);
        let own = match own {
            Viewer::Everything => {
                self.visible.extend_from_slice(&self.placed);
                return;
            }
            Viewer::Entity(own) => own,
        };
        let Some(own) = own
            .map(|i| self.slot[i] as usize)
            .filter(|&g| g != u32::MAX as usize)
        else {
            return;
        };
        let center = self.shifted[own];
        let reach = Vec2::splat(self.radius);
        let radius_sq = self.radius * self.radius;
        let (shifted, placed, visible) = (&self.shifted, &self.placed, &mut self.visible);
        self.grid
            .for_each_in_rect(center - reach, center + reach, |g| {
                if g == own || shifted[g].distance_squared(center) <= radius_sq {
                    visible.push(placed[g]);
                }
            });
        debug_assert!(visible.len() <= frame.len());
    }

    /// The snapshot of `cur` for one client: a delta from what it holds when
    /// `holds_prev` (its last snapshot, of `prev`, went out), a keyframe of its view
    /// otherwise.
    pub fn assemble(
        &mut self,
        prev: &Frame,
        cur: &Frame,
        view: &mut ClientView,
        (own, ack): (Option<PlayerId>, u32),
        holds_prev: bool,
    ) -> (Bytes, SnapshotKind) {
        let viewer = match own {
            Some(own) => Viewer::Entity(cur.index.get(&own).map(|&i| i as usize)),
            None => Viewer::Everything,
        };
        self.find_visible(cur, viewer);
        self.stamp += 1;
        let stamp = self.stamp;
        for &i in &self.visible {
            self.visible_mark[i as usize] = stamp;
        }
        let delta = holds_prev && view.tick == Some(prev.tick);
        self.kept.clear();
        self.removed.clear();
        self.added.clear();
        if delta {
            for &id in &view.held {
                match cur.index.get(&id).map(|&i| i as usize) {
                    // Only survivors of the frame have a record; the client held this
                    // entity at the previous frame, so it is one.
                    Some(i) if self.visible_mark[i] == stamp && i < cur.survivors => {
                        self.held_mark[i] = stamp;
                        self.kept.push(i as u32);
                    }
                    _ => self.removed.push(id),
                }
            }
        }
        for &i in &self.visible {
            if self.held_mark[i as usize] != stamp {
                self.added.push(i);
            }
        }
        let mut hash = StateHasher::default();
        for &i in self.kept.iter().chain(&self.added) {
            hash.add(cur.hash(i as usize));
        }
        let bytes = cur.write_snapshot(
            (delta.then_some(prev.tick), hash.finish(), ack),
            &self.removed,
            self.kept.iter().map(|&i| i as usize),
            self.added.iter().map(|&i| i as usize),
            &mut self.changes,
        );

        view.held.clear();
        view.held.extend(
            self.kept
                .iter()
                .chain(&self.added)
                .map(|&i| cur.ids[i as usize]),
        );
        view.tick = Some(cur.tick);
        let kind = if delta {
            SnapshotKind::Delta
        } else {
            SnapshotKind::Keyframe
        };
        (bytes, kind)
    }
}
