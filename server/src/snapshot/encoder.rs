//! A room's snapshot encoder: turns each sent tick into the bytes each client gets.
//!
//! Once per send the encoder builds a [`Frame`] (every entity as the wire has it, encoded
//! whole, its change record and its hash). Without a view radius every client gets one
//! of two shared bodies, each encoded at most once: the delta from the previous frame,
//! for clients that hold it, or the keyframe, for clients that do not (newcomers, resumed
//! players, clients whose previous snapshot never left the outbox) and for everyone every
//! `keyframe_interval` frames; each client's frame is its own head (which carries its
//! acknowledgement) and a copy of that body. With a view radius each client's snapshot is
//! assembled from the frame's pieces ([`super::interest`]).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tickwire_shared::PlayerId;
use tickwire_shared::schema::Schema;

use super::frame::Frame;
use super::interest::{ClientView, Interest};
use crate::game::{Game, World};

/// Which kind of snapshot a client got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    /// The whole state (what the client sees of it).
    Keyframe,
    /// The changes since the client's previous snapshot.
    Delta,
}

/// How a room's snapshots are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderRules {
    /// Ticks per second, which position prediction needs.
    pub tick_rate: u16,
    /// Every this many frames, everyone gets a keyframe.
    pub keyframe_interval: u32,
    /// Each client sees only players this close, when set.
    pub view_radius: Option<f32>,
}

/// Makes a room's snapshots.
#[derive(Debug)]
pub struct SnapshotEncoder {
    rules: EncoderRules,
    prev: Frame,
    cur: Frame,
    /// Frames built so far.
    frames: u64,
    /// True when this frame goes out as a keyframe to everyone.
    keyframe_for_all: bool,
    /// The shared keyframe and delta bodies of this frame, once encoded.
    keyframe: Option<Vec<u8>>,
    delta: Option<Vec<u8>>,
    interest: Option<Interest>,
    world: World,
    seen: Vec<bool>,
    changes: Vec<u8>,
    /// Scratch for a client's head, and the buffer clients' frames are cut from.
    head: Vec<u8>,
    out: BytesMut,
}

/// How much buffer the encoder takes at a time for the clients' frames.
const OUT_CHUNK: usize = 64 * 1024;

impl SnapshotEncoder {
    /// An encoder of a game with this schema that has sent nothing yet.
    pub fn new(rules: EncoderRules, schema: Arc<Schema>) -> Self {
        Self {
            rules,
            prev: Frame::new(schema.clone()),
            cur: Frame::new(schema.clone()),
            frames: 0,
            keyframe_for_all: true,
            keyframe: None,
            delta: None,
            interest: rules.view_radius.map(Interest::new),
            world: World::new(schema),
            seen: Vec::new(),
            changes: Vec::new(),
            head: Vec::new(),
            out: BytesMut::new(),
        }
    }

    /// Starts the snapshot of `tick`: takes the game's world and encodes its pieces.
    pub fn begin<G: Game>(&mut self, game: &G, tick: u64, time_ms: u64) {
        self.world.clear();
        game.snapshot(&mut self.world);
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.cur.build(
            &self.prev,
            (tick, time_ms),
            &mut self.world,
            self.rules.tick_rate,
            &mut self.seen,
        );
        self.keyframe_for_all = self.frames % u64::from(self.rules.keyframe_interval.max(1)) == 0;
        self.frames += 1;
        self.keyframe = None;
        self.delta = None;
        if let Some(interest) = &mut self.interest {
            interest.prepare(&self.cur);
        }
    }

    /// The frame being sent.
    pub fn frame(&self) -> &Frame {
        &self.cur
    }

    /// The snapshot for a client whose last snapshot out was of tick `sent` and that
    /// `view` describes, playing `own` (`None`: a watcher, who sees every entity whatever
    /// the view radius), whose newest applied input is `ack`.
    pub fn for_client(
        &mut self,
        sent: Option<u64>,
        view: &mut ClientView,
        own: Option<PlayerId>,
        ack: u32,
    ) -> (Bytes, SnapshotKind) {
        // Only the previous frame is a base: a client that missed it gets a keyframe.
        let holds_prev = !self.keyframe_for_all && self.frames > 1 && sent == Some(self.prev.tick);
        if holds_prev {
            self.cur.ensure_records(&self.prev);
        }
        if let Some(interest) = &mut self.interest {
            return interest.assemble(&self.prev, &self.cur, view, (own, ack), holds_prev);
        }
        let (base, kind) = if holds_prev {
            self.encode_delta();
            (Some(self.prev.tick), SnapshotKind::Delta)
        } else {
            self.encode_keyframe();
            (None, SnapshotKind::Keyframe)
        };
        let body = match kind {
            SnapshotKind::Delta => self.delta.as_deref(),
            SnapshotKind::Keyframe => self.keyframe.as_deref(),
        }
        .unwrap_or_default();
        self.head.clear();
        self.cur
            .write_head(&mut self.head, base, self.cur.state_hash, ack);
        // Every client's frame is cut from one buffer, a chunk at a time: one allocation
        // for many clients rather than one each.
        let len = self.head.len() + body.len();
        if self.out.capacity() < len {
            self.out.reserve(len.max(OUT_CHUNK));
        }
        self.out.extend_from_slice(&self.head);
        self.out.extend_from_slice(body);
        (self.out.split().freeze(), kind)
    }

    /// Encodes the frame whole, once.
    fn encode_keyframe(&mut self) {
        let cur = &self.cur;
        let changes = &mut self.changes;
        self.keyframe.get_or_insert_with(|| {
            let mut body = Vec::new();
            cur.write_body(&mut body, &[], [], 0..cur.len(), changes);
            body
        });
    }

    /// Encodes the changes from the previous frame, once.
    fn encode_delta(&mut self) {
        let cur = &self.cur;
        let changes = &mut self.changes;
        self.delta.get_or_insert_with(|| {
            let mut body = Vec::new();
            let newcomers = cur.survivors..cur.len();
            cur.write_body(
                &mut body,
                &cur.removed,
                0..cur.survivors,
                newcomers,
                changes,
            );
            body
        });
    }
}

#[cfg(test)]
mod tests {
    use glam::Vec2;

    use super::*;
    use crate::game::Events;
    use crate::games::arena::{Arena, ArenaRules};

    #[test]
    fn a_client_that_missed_a_snapshot_gets_a_keyframe_and_never_a_wrong_delta() {
        let mut arena = Arena::new(ArenaRules::default());
        arena.handle_join(1);
        arena.handle_join(2);
        let schema = Arc::new(Arena::schema());
        let mut events = Events::new(schema.clone());
        let rules = EncoderRules {
            tick_rate: 60,
            keyframe_interval: 1000,
            view_radius: None,
        };
        let mut encoder = SnapshotEncoder::new(rules, schema);
        let mut view = ClientView::default();
        encoder.begin(&arena, 1, 0);
        assert_eq!(
            encoder.for_client(None, &mut view, Some(1), 0).1,
            SnapshotKind::Keyframe
        );
        arena.step(0, 1.0 / 60.0, &mut events);
        encoder.begin(&arena, 2, 0);
        assert_eq!(
            encoder.for_client(Some(1), &mut view, Some(1), 0).1,
            SnapshotKind::Delta
        );
        // Tick 2's snapshot never went out (still Some(1)): tick 3's is a keyframe.
        arena.step(0, 1.0 / 60.0, &mut events);
        encoder.begin(&arena, 3, 0);
        assert_eq!(
            encoder.for_client(Some(1), &mut view, Some(1), 0).1,
            SnapshotKind::Keyframe
        );
        arena.place(2, Vec2::new(5.0, 5.0));
        arena.step(0, 1.0 / 60.0, &mut events);
        encoder.begin(&arena, 4, 0);
        assert_eq!(
            encoder.for_client(Some(3), &mut view, Some(1), 0).1,
            SnapshotKind::Delta
        );
    }
}
