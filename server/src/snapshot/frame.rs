//! One snapshot's pieces, encoded once per send and shared by every client of the room.
//!
//! A frame holds the room's players rounded for the wire, in the room's wire order (the
//! previous frame's players that are still there, in their order, then the newcomers),
//! and for each player: its whole state as MessagePack (for keyframes and newcomers), its
//! change record against the previous frame (for deltas), and its hash. A client's
//! snapshot, whatever it sees, is put together from these pieces without encoding any
//! player again.

use bitstream_io::{BigEndian, BitRecorder, BitWrite, BitWriter};
use bytes::Bytes;
use fnv::FnvHashMap;
use glam::Vec2;
use tickwire_shared::changes::write_change;
use tickwire_shared::quant::{facing_to_steps, pos_to_steps, vel_to_steps};
use tickwire_shared::wire_snapshot::{
    self, Head, write_added_len, write_changes, write_head, write_removed,
};
use tickwire_shared::{PlayerId, PlayerState, StateHasher, player_hash};

use crate::game::SimPlayer;

/// Writing bits into memory cannot fail.
const INFALLIBLE: &str = "invariant: writing bits into a Vec cannot fail";

/// The encoded pieces of one snapshot.
#[derive(Default)]
pub struct Frame {
    /// The tick this frame is from.
    pub tick: u64,
    /// The wall clock it was made at, in ms since the Unix epoch.
    pub time_ms: u64,
    /// Every player, rounded for the wire, in wire order.
    pub players: Vec<PlayerState>,
    /// Full-precision positions, in the same order, for the view radius.
    pub positions: Vec<Vec2>,
    /// `players[..survivors]` were in the previous frame, in its order; the rest are new.
    pub survivors: usize,
    /// Where each survivor was in the previous frame's `players`.
    was_at: Vec<u32>,
    /// The previous frame's players that are gone, in its order.
    pub removed: Vec<PlayerId>,
    /// Where each player is in `players`.
    pub index: FnvHashMap<PlayerId, u32>,
    /// Every player's whole state, back to back; player `i` is `entries[entry_at[i]..entry_at[i + 1]]`.
    entries: Vec<u8>,
    entry_at: Vec<usize>,
    /// Each survivor's change record against the previous frame (kept between frames so
    /// that their buffers are reused).
    records: Vec<BitRecorder<u32, BigEndian>>,
    /// Each player's [`player_hash`].
    hashes: Vec<u64>,
    /// The hash of the whole frame.
    pub state_hash: u32,
    /// Scratch: where each simulation player is, by id.
    sim_index: FnvHashMap<PlayerId, usize>,
}

impl std::fmt::Debug for Frame {
    // The bit recorders have no Debug; what matters when debugging is which tick and who.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("tick", &self.tick)
            .field("players", &self.players.len())
            .field("survivors", &self.survivors)
            .field("removed", &self.removed)
            .field("state_hash", &self.state_hash)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// Fills this frame from the simulation's players, against the previous frame.
    /// `seen` is scratch (one flag per simulation player).
    pub fn build(
        &mut self,
        prev: &Frame,
        (tick, time_ms): (u64, u64),
        sim: &[SimPlayer],
        tick_rate: u16,
        seen: &mut Vec<bool>,
    ) {
        self.tick = tick;
        self.time_ms = time_ms;
        self.players.clear();
        self.positions.clear();
        self.removed.clear();
        self.index.clear();
        self.was_at.clear();
        seen.clear();
        seen.resize(sim.len(), false);
        let mut sim_index = std::mem::take(&mut self.sim_index);
        sim_index.clear();
        for (i, p) in sim.iter().enumerate() {
            sim_index.insert(p.id, i);
        }
        for (was, old) in prev.players.iter().enumerate() {
            match sim_index.get(&old.id) {
                Some(&i) if !seen[i] => {
                    seen[i] = true;
                    self.was_at.push(was as u32);
                    self.push(&sim[i]);
                }
                _ => self.removed.push(old.id),
            }
        }
        self.sim_index = sim_index;
        self.survivors = self.players.len();
        for (i, p) in sim.iter().enumerate() {
            if !seen[i] && !self.index.contains_key(&p.id) {
                self.push(p);
            }
        }
        self.encode_pieces(prev, tick_rate);
    }

    fn push(&mut self, p: &SimPlayer) {
        self.index.insert(p.id, self.players.len() as u32);
        self.players.push(PlayerState {
            id: p.id,
            x: pos_to_steps(p.pos.x),
            y: pos_to_steps(p.pos.y),
            vx: vel_to_steps(p.vel.x),
            vy: vel_to_steps(p.vel.y),
            facing: facing_to_steps(p.facing),
            last_input_seq: p.last_input_seq,
        });
        self.positions.push(p.pos);
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
        for (i, p) in self.players.iter().enumerate() {
            self.entry_at.push(self.entries.len());
            wire_snapshot::write_player(&mut self.entries, p);
            let hash = player_hash(p);
            self.hashes.push(hash);
            whole.add(hash);
            if i < self.survivors {
                // Against the player as every holder of the previous frame has it.
                let was = &prev.players[self.was_at[i] as usize];
                let record = &mut self.records[i];
                record.clear();
                write_change(record, was, p, ticks, tick_rate).expect(INFALLIBLE);
            }
        }
        self.entry_at.push(self.entries.len());
        self.state_hash = whole.finish();
    }

    /// One client's snapshot of this frame, from the pieces: a delta from `base_tick`
    /// (or a keyframe when `None`) that removes `removed`, carries the change records of
    /// the survivors `kept` (in the order the client holds them) and adds the players
    /// `added` whole. `changes` is scratch, kept by the caller between snapshots.
    pub fn write_snapshot(
        &self,
        (base_tick, state_hash): (Option<u64>, u32),
        removed: &[PlayerId],
        kept: impl IntoIterator<Item = usize>,
        added: impl ExactSizeIterator<Item = usize>,
        changes: &mut Vec<u8>,
    ) -> Bytes {
        let mut bits = BitWriter::endian(std::mem::take(changes), BigEndian);
        for i in kept {
            self.records[i].playback(&mut bits).expect(INFALLIBLE);
        }
        bits.byte_align().expect(INFALLIBLE);
        let mut packed = bits.into_writer();
        // About 20 bytes per whole player; a guess, to spare most reallocations.
        let mut buf = Vec::with_capacity(48 + 5 * removed.len() + 24 * added.len() + packed.len());
        write_head(
            &mut buf,
            &Head {
                tick: self.tick,
                base_tick,
                server_time_ms: self.time_ms,
                state_hash,
            },
        );
        write_removed(&mut buf, removed);
        write_added_len(&mut buf, added.len());
        for i in added {
            buf.extend_from_slice(&self.entries[self.entry_at[i]..self.entry_at[i + 1]]);
        }
        write_changes(&mut buf, &packed);
        packed.clear();
        *changes = packed;
        Bytes::from(buf)
    }

    /// Player `i`'s hash.
    pub fn hash(&self, i: usize) -> u64 {
        self.hashes[i]
    }
}
