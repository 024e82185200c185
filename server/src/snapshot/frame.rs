//! One snapshot's pieces, encoded once per send and shared by every client of the room.
//!
//! A frame holds the game's entities as the wire carries them, in the room's wire order
//! (the previous frame's entities that are still there, in their order, then the
//! newcomers), and for each entity: its whole state as MessagePack (for keyframes and
//! newcomers), its change record against the previous frame (for deltas), its hash and
//! its place (for the view radius). A client's snapshot, whatever it sees, is put together
//! from these pieces without encoding any entity again. Nothing here knows a game: the
//! schema says how every field is written.

use std::sync::Arc;

use bitstream_io::{BigEndian, BitRecorder, BitWrite, BitWriter};
use bytes::Bytes;
use fnv::FnvHashMap;
use glam::Vec2;
use tickwire_shared::changes::write_record;
use tickwire_shared::schema::{EntityId, KindId, Schema};
use tickwire_shared::wire_snapshot::{
    Head, write_added_len, write_changes, write_entity, write_head, write_removed,
};
use tickwire_shared::{StateHasher, Value, entity_hash};

use crate::game::World;

/// Writing bits into memory cannot fail.
const INFALLIBLE: &str = "invariant: writing bits into a Vec cannot fail";

/// The encoded pieces of one snapshot.
pub struct Frame {
    schema: Arc<Schema>,
    /// The tick this frame is from.
    pub tick: u64,
    /// The wall clock it was made at, in ms since the Unix epoch.
    pub time_ms: u64,
    /// Every entity's id, in wire order.
    pub ids: Vec<EntityId>,
    kinds: Vec<KindId>,
    /// Entity `i`'s values are `values[value_at[i]..value_at[i + 1]]`.
    values: Vec<Value>,
    value_at: Vec<usize>,
    /// Each entity's place, in the same order (`None`: seen by every client).
    pub positions: Vec<Option<Vec2>>,
    /// `ids[..survivors]` were in the previous frame, in its order; the rest are new.
    pub survivors: usize,
    /// Where each survivor was in the previous frame.
    was_at: Vec<u32>,
    /// The previous frame's entities that are gone, in its order.
    pub removed: Vec<EntityId>,
    /// Where each entity is in `ids`.
    pub index: FnvHashMap<EntityId, u32>,
    /// Every entity whole, back to back; entity `i` is `entries[entry_at[i]..entry_at[i + 1]]`.
    entries: Vec<u8>,
    entry_at: Vec<usize>,
    /// Each survivor's change record against the previous frame (kept between frames so
    /// that their buffers are reused).
    records: Vec<BitRecorder<u32, BigEndian>>,
    /// Each entity's [`entity_hash`].
    hashes: Vec<u64>,
    /// The hash of the whole frame.
    pub state_hash: u32,
    /// Scratch: where each entity of the world is, by id.
    world_index: FnvHashMap<EntityId, usize>,
}

impl std::fmt::Debug for Frame {
    // The bit recorders have no Debug; what matters when debugging is which tick and who.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("tick", &self.tick)
            .field("entities", &self.ids.len())
            .field("survivors", &self.survivors)
            .field("removed", &self.removed)
            .field("state_hash", &self.state_hash)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// An empty frame of a game with this schema.
    pub fn new(schema: Arc<Schema>) -> Self {
        Self {
            schema,
            tick: 0,
            time_ms: 0,
            ids: Vec::new(),
            kinds: Vec::new(),
            values: Vec::new(),
            value_at: vec![0],
            positions: Vec::new(),
            survivors: 0,
            was_at: Vec::new(),
            removed: Vec::new(),
            index: FnvHashMap::default(),
            entries: Vec::new(),
            entry_at: vec![0],
            records: Vec::new(),
            hashes: Vec::new(),
            state_hash: 0,
            world_index: FnvHashMap::default(),
        }
    }

    /// How many entities the frame holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Entity `i`'s values.
    pub fn values(&self, i: usize) -> &[Value] {
        &self.values[self.value_at[i]..self.value_at[i + 1]]
    }

    /// Fills this frame from the game's world, against the previous frame. `seen` is
    /// scratch (one flag per entity of the world). An entity whose kind changed is a new
    /// entity: it is removed and added.
    pub fn build(
        &mut self,
        prev: &Frame,
        (tick, time_ms): (u64, u64),
        world: &World,
        tick_rate: u16,
        seen: &mut Vec<bool>,
    ) {
        self.tick = tick;
        self.time_ms = time_ms;
        self.ids.clear();
        self.kinds.clear();
        self.values.clear();
        self.value_at.clear();
        self.value_at.push(0);
        self.positions.clear();
        self.removed.clear();
        self.index.clear();
        self.was_at.clear();
        seen.clear();
        seen.resize(world.len(), false);
        let mut world_index = std::mem::take(&mut self.world_index);
        world_index.clear();
        for i in 0..world.len() {
            world_index.insert(world.id(i), i);
        }
        for (was, &old) in prev.ids.iter().enumerate() {
            match world_index.get(&old) {
                Some(&i) if !seen[i] && world.kind(i) == prev.kinds[was] => {
                    seen[i] = true;
                    self.was_at.push(was as u32);
                    self.push(world, i);
                }
                _ => self.removed.push(old),
            }
        }
        self.world_index = world_index;
        self.survivors = self.ids.len();
        for (i, &taken) in seen.iter().enumerate() {
            if !taken && !self.index.contains_key(&world.id(i)) {
                self.push(world, i);
            }
        }
        self.encode_pieces(prev, tick_rate);
    }

    fn push(&mut self, world: &World, i: usize) {
        self.index.insert(world.id(i), self.ids.len() as u32);
        self.ids.push(world.id(i));
        self.kinds.push(world.kind(i));
        self.values.extend_from_slice(world.values(i));
        self.value_at.push(self.values.len());
        self.positions.push(world.position(i));
    }

    fn encode_pieces(&mut self, prev: &Frame, tick_rate: u16) {
        let ticks = self.tick.saturating_sub(prev.tick);
        self.entries.clear();
        self.entry_at.clear();
        self.hashes.clear();
        let mut whole = StateHasher::default();
        if self.records.len() < self.survivors {
            self.records.resize_with(self.survivors, BitRecorder::new);
        }
        for i in 0..self.ids.len() {
            let (id, kind) = (self.ids[i], self.kinds[i]);
            let values = &self.values[self.value_at[i]..self.value_at[i + 1]];
            self.entry_at.push(self.entries.len());
            write_entity(&mut self.entries, id, kind, values);
            let hash = entity_hash(id, kind, values);
            self.hashes.push(hash);
            whole.add(hash);
            if i < self.survivors {
                // Against the entity as every holder of the previous frame has it.
                let was = prev.values(self.was_at[i] as usize);
                let record = &mut self.records[i];
                record.clear();
                let kind = &self.schema.kinds[usize::from(kind)];
                write_record(record, kind, was, values, ticks, tick_rate).expect(INFALLIBLE);
            }
        }
        self.entry_at.push(self.entries.len());
        self.state_hash = whole.finish();
    }

    /// The part of a snapshot after its head: `removed`, the entities `added` whole, and
    /// the change records of the survivors `kept` (in the order the client holds them).
    /// `changes` is scratch, kept by the caller between snapshots.
    pub fn write_body(
        &self,
        buf: &mut Vec<u8>,
        removed: &[EntityId],
        kept: impl IntoIterator<Item = usize>,
        added: impl ExactSizeIterator<Item = usize>,
        changes: &mut Vec<u8>,
    ) {
        let mut bits = BitWriter::endian(std::mem::take(changes), BigEndian);
        for i in kept {
            self.records[i].playback(&mut bits).expect(INFALLIBLE);
        }
        bits.byte_align().expect(INFALLIBLE);
        let mut packed = bits.into_writer();
        write_removed(buf, removed);
        write_added_len(buf, added.len());
        for i in added {
            buf.extend_from_slice(&self.entries[self.entry_at[i]..self.entry_at[i + 1]]);
        }
        write_changes(buf, &packed);
        packed.clear();
        *changes = packed;
    }

    /// A snapshot's head for this frame: a delta from `base_tick` (or a keyframe when
    /// `None`) whose client will hold state `state_hash` and whose player's newest
    /// applied input is `ack`.
    pub fn write_head(&self, buf: &mut Vec<u8>, base_tick: Option<u64>, state_hash: u32, ack: u32) {
        write_head(
            buf,
            &Head {
                tick: self.tick,
                base_tick,
                server_time_ms: self.time_ms,
                state_hash,
                ack,
            },
        );
    }

    /// A whole snapshot: [`Frame::write_head`] then [`Frame::write_body`].
    pub fn write_snapshot(
        &self,
        (base_tick, state_hash, ack): (Option<u64>, u32, u32),
        removed: &[EntityId],
        kept: impl IntoIterator<Item = usize>,
        added: impl ExactSizeIterator<Item = usize>,
        changes: &mut Vec<u8>,
    ) -> Bytes {
        // About 20 bytes per whole entity; a guess, to spare most reallocations.
        let mut buf = Vec::with_capacity(64 + 5 * removed.len() + 24 * added.len());
        self.write_head(&mut buf, base_tick, state_hash, ack);
        self.write_body(&mut buf, removed, kept, added, changes);
        Bytes::from(buf)
    }

    /// Entity `i`'s hash.
    pub fn hash(&self, i: usize) -> u64 {
        self.hashes[i]
    }
}
