//! One snapshot's pieces, encoded once per send and shared by every client of the room.
//!
//! A frame holds the game's entities as the wire carries them, in the room's wire order
//! (the previous frame's entities that are still there, in their order, then the
//! newcomers), and for each entity: its whole state as MessagePack (for keyframes and
//! newcomers), its change record against the previous frame (for deltas), its hash and
//! its place (for the view radius). A client's snapshot, whatever it sees, is put together
//! from these pieces without encoding any entity again. Nothing here knows a game: the
//! schema says how every field is written.

use std::cell::RefCell;
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
    /// The game's world this frame was built from (taken, not copied), and where each
    /// entity of the wire order is in it.
    world: World,
    order: Vec<u32>,
    /// `ids[..survivors]` were in the previous frame, in its order; the rest are new.
    pub survivors: usize,
    /// Where each survivor was in the previous frame.
    was_at: Vec<u32>,
    /// The previous frame's entities that are gone, in its order.
    pub removed: Vec<EntityId>,
    /// Where each entity is in `ids`.
    pub index: FnvHashMap<EntityId, u32>,
    /// Every entity whole, encoded when a snapshot first needs one (a keyframe, a
    /// newcomer): most frames go out as deltas of survivors only, which need none.
    entries: RefCell<Entries>,
    /// Each survivor's change record against the previous frame, made when a delta
    /// first needs them (kept between frames so that their buffers are reused).
    records: Vec<BitRecorder<u32, BigEndian>>,
    records_built: bool,
    tick_rate: u16,
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
            schema: Arc::clone(&schema),
            tick: 0,
            time_ms: 0,
            ids: Vec::new(),
            world: World::new(schema),
            order: Vec::new(),
            survivors: 0,
            was_at: Vec::new(),
            removed: Vec::new(),
            index: FnvHashMap::default(),
            entries: RefCell::new(Entries::default()),
            records: Vec::new(),
            records_built: false,
            tick_rate: 0,
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
        self.world.values(self.order[i] as usize)
    }

    /// Entity `i`'s kind.
    pub fn kind(&self, i: usize) -> KindId {
        self.world.kind(self.order[i] as usize)
    }

    /// Entity `i`'s place in world units (`None`: a kind without one, seen by every
    /// client).
    pub fn position(&self, i: usize) -> Option<Vec2> {
        self.world.position(self.order[i] as usize)
    }

    /// Fills this frame from the game's world, against the previous frame, taking the
    /// world (and leaving the frame's old one in its place, for the caller to reuse).
    /// `seen` is scratch (one flag per entity of the world). An entity whose kind changed
    /// is a new entity: it is removed and added.
    pub fn build(
        &mut self,
        prev: &Frame,
        (tick, time_ms): (u64, u64),
        world: &mut World,
        tick_rate: u16,
        seen: &mut Vec<bool>,
    ) {
        std::mem::swap(&mut self.world, world);
        let world = &self.world;
        self.tick = tick;
        self.time_ms = time_ms;
        self.ids.clear();
        self.order.clear();
        self.removed.clear();
        self.index.clear();
        self.was_at.clear();
        self.entries.get_mut().built = false;
        if same_entities(prev, world) {
            // The common frame: nobody came or went, and the game keeps its order.
            for i in 0..world.len() {
                self.was_at.push(i as u32);
                push(&mut self.ids, &mut self.order, &mut self.index, world, i);
            }
            self.survivors = self.ids.len();
            self.encode_pieces(tick_rate);
            return;
        }
        seen.clear();
        seen.resize(world.len(), false);
        let mut world_index = std::mem::take(&mut self.world_index);
        world_index.clear();
        for i in 0..world.len() {
            world_index.insert(world.id(i), i);
        }
        for (was, &old) in prev.ids.iter().enumerate() {
            match world_index.get(&old) {
                Some(&i) if !seen[i] && world.kind(i) == prev.kind(was) => {
                    seen[i] = true;
                    self.was_at.push(was as u32);
                    push(&mut self.ids, &mut self.order, &mut self.index, world, i);
                }
                _ => self.removed.push(old),
            }
        }
        self.world_index = world_index;
        self.survivors = self.ids.len();
        for (i, &taken) in seen.iter().enumerate() {
            if !taken && !self.index.contains_key(&world.id(i)) {
                push(&mut self.ids, &mut self.order, &mut self.index, world, i);
            }
        }
        self.encode_pieces(tick_rate);
    }

    fn encode_pieces(&mut self, tick_rate: u16) {
        self.tick_rate = tick_rate;
        self.records_built = false;
        self.hashes.clear();
        let mut whole = StateHasher::default();
        for i in 0..self.ids.len() {
            let at = self.order[i] as usize;
            let (id, kind, values) = (self.ids[i], self.world.kind(at), self.world.values(at));
            let hash = entity_hash(id, kind, values);
            self.hashes.push(hash);
            whole.add(hash);
        }
        self.state_hash = whole.finish();
    }

    /// Makes every survivor's change record against `prev` (the frame this one was built
    /// against), once per frame, before the first delta: a frame that goes out only as
    /// keyframes needs none.
    pub fn ensure_records(&mut self, prev: &Frame) {
        if self.records_built {
            return;
        }
        let ticks = self.tick.saturating_sub(prev.tick);
        if self.records.len() < self.survivors {
            self.records.resize_with(self.survivors, BitRecorder::new);
        }
        for i in 0..self.survivors {
            let at = self.order[i] as usize;
            let (kind, values) = (self.world.kind(at), self.world.values(at));
            // Against the entity as every holder of the previous frame has it.
            let was = prev.values(self.was_at[i] as usize);
            let record = &mut self.records[i];
            record.clear();
            let kind = &self.schema.kinds[usize::from(kind)];
            write_record(record, kind, was, values, ticks, self.tick_rate).expect(INFALLIBLE);
        }
        self.records_built = true;
    }

    /// Encodes every entity whole, once per frame, the first time a snapshot needs one.
    fn entries(&self) -> std::cell::Ref<'_, Entries> {
        {
            let mut guard = self.entries.borrow_mut();
            let e = &mut *guard;
            if !e.built {
                e.bytes.clear();
                e.at.clear();
                for i in 0..self.ids.len() {
                    e.at.push(e.bytes.len());
                    let at = self.order[i] as usize;
                    let (kind, values) = (self.world.kind(at), self.world.values(at));
                    write_entity(&mut e.bytes, self.ids[i], kind, values);
                }
                e.at.push(e.bytes.len());
                e.built = true;
            }
        }
        self.entries.borrow()
    }

    /// The part of a snapshot after its head: `removed`, the entities `added` whole, and
    /// the change records of the survivors `kept` (in the order the client holds them;
    /// [`Frame::ensure_records`] first, when there are any). `changes` is scratch, kept by
    /// the caller between snapshots.
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
            debug_assert!(self.records_built, "a delta before its records");
            self.records[i].playback(&mut bits).expect(INFALLIBLE);
        }
        bits.byte_align().expect(INFALLIBLE);
        let mut packed = bits.into_writer();
        write_removed(buf, removed);
        write_added_len(buf, added.len());
        if added.len() > 0 {
            let e = self.entries();
            for i in added {
                buf.extend_from_slice(&e.bytes[e.at[i]..e.at[i + 1]]);
            }
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

/// Every entity of a frame whole, back to back: entity `i` is `bytes[at[i]..at[i + 1]]`.
#[derive(Debug, Default)]
struct Entries {
    built: bool,
    bytes: Vec<u8>,
    at: Vec<usize>,
}

/// True when `world` holds exactly `prev`'s entities, of the same kinds, in its order.
fn same_entities(prev: &Frame, world: &World) -> bool {
    prev.ids.len() == world.len()
        && (0..world.len()).all(|i| prev.ids[i] == world.id(i) && prev.kind(i) == world.kind(i))
}

/// Appends world entity `i` to the frame's wire order. (A function of the fields it
/// touches rather than a method, so that the frame's world can be borrowed meanwhile.)
fn push(
    ids: &mut Vec<EntityId>,
    order: &mut Vec<u32>,
    index: &mut FnvHashMap<EntityId, u32>,
    world: &World,
    i: usize,
) {
    index.insert(world.id(i), ids.len() as u32);
    ids.push(world.id(i));
    order.push(i as u32);
}
