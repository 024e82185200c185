//! A room's recording as it is made: the records of the current segment, in memory, until
//! the room's driver takes them for the writer.
//!
//! Pure and bounded: a segment ends once it holds `max_segment_bytes`, and the next step
//! starts a new one with the game's saved world, so any segment replays on its own. A
//! chunk that could not be handed on (the writer was behind) breaks the segment it belongs
//! to; the next step then starts a new one as well, and the broken segment stays a valid
//! recording of what it holds. The driver takes the tape's bytes in chunks of a size it
//! chooses, so that the writer is woken about once a second per room, not once a tick.

use std::collections::VecDeque;

use tickwire_shared::PlayerId;

use super::format::{self, Header, MAGIC, Record, VERSION};
use crate::game::InputValues;

/// Records taken from the tape for the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The bytes begin a new segment (a new file): they start with its header.
    pub new_segment: bool,
    /// The encoded header and records.
    pub bytes: Vec<u8>,
}

/// One room's recording in the making.
#[derive(Debug)]
pub struct Tape {
    room: String,
    game: &'static str,
    tick_rate: u16,
    max_segment_bytes: u64,
    /// Chunks complete but not taken yet: the tail of a segment that has ended.
    ready: VecDeque<Chunk>,
    buf: Vec<u8>,
    /// `buf` begins a new segment.
    starts_segment: bool,
    /// Bytes in the current segment so far, taken or not.
    segment_bytes: u64,
    /// No segment is open (none yet, or the last one broke).
    needs_segment: bool,
}

impl Tape {
    /// A tape for `room`, playing `game` at `tick_rate`, in segments of about
    /// `max_segment_bytes`.
    pub fn new(room: String, game: &'static str, tick_rate: u16, max_segment_bytes: u64) -> Self {
        Self {
            room,
            game,
            tick_rate,
            max_segment_bytes,
            ready: VecDeque::new(),
            buf: Vec::new(),
            starts_segment: false,
            segment_bytes: 0,
            needs_segment: true,
        }
    }

    /// True when the next step must start a new segment first.
    pub fn needs_segment(&self) -> bool {
        self.needs_segment || self.segment_bytes >= self.max_segment_bytes
    }

    /// Starts a segment at `tick` (wall clock `wall_ms`) from the game's saved `world`.
    /// What the previous segment holds and was not taken yet is kept, to be taken first.
    pub fn begin_segment(&mut self, tick: u64, wall_ms: u64, world: Vec<u8>) {
        if !self.buf.is_empty() {
            self.ready.push_back(Chunk {
                new_segment: std::mem::take(&mut self.starts_segment),
                bytes: std::mem::take(&mut self.buf),
            });
        }
        let header = Header {
            magic: MAGIC.into(),
            version: VERSION,
            room: self.room.clone(),
            game: self.game.into(),
            tick_rate: self.tick_rate,
            start_tick: tick,
            wall_ms,
            world,
        };
        format::write_header(&mut self.buf, &header);
        self.starts_segment = true;
        self.segment_bytes = self.buf.len() as u64;
        self.needs_segment = false;
    }

    /// No segment can be made (the game cannot save its world): records nothing until
    /// one is begun.
    pub fn pause(&mut self) {
        self.buf.clear();
        self.starts_segment = false;
        self.needs_segment = true;
    }

    fn push(&mut self, record: &Record) {
        if self.needs_segment {
            return;
        }
        let before = self.buf.len();
        format::write_record(&mut self.buf, record);
        self.segment_bytes += (self.buf.len() - before) as u64;
    }

    /// A player entered the world.
    pub fn join(&mut self, id: PlayerId) {
        self.push(&Record::Join(id));
    }

    /// A player left it.
    pub fn leave(&mut self, id: PlayerId) {
        self.push(&Record::Leave(id));
    }

    /// A player's connection was lost.
    pub fn away(&mut self, id: PlayerId) {
        self.push(&Record::Away(id));
    }

    /// A player's admitted input.
    pub fn input(&mut self, id: PlayerId, view_tick: u64, values: &InputValues) {
        self.push(&Record::Input(id, view_tick, values.clone()));
    }

    /// The world stepped; `hash` is its world hash now.
    pub fn step(&mut self, hash: u32) {
        self.push(&Record::Step(hash));
    }

    /// The next chunk to hand on: a segment's tail that is complete, or what the current
    /// segment holds once that is at least `min_bytes` (0: whatever there is).
    pub fn take(&mut self, min_bytes: usize) -> Option<Chunk> {
        if let Some(chunk) = self.ready.pop_front() {
            return Some(chunk);
        }
        if self.buf.is_empty() || self.buf.len() < min_bytes {
            return None;
        }
        let chunk = Chunk {
            new_segment: std::mem::take(&mut self.starts_segment),
            bytes: std::mem::take(&mut self.buf),
        };
        Some(chunk)
    }

    /// The last chunk taken never reached the writer: the segment it belongs to is over,
    /// and the next step starts another.
    pub fn lost(&mut self) {
        self.ready.clear();
        self.buf.clear();
        self.starts_segment = false;
        self.needs_segment = true;
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::record::format::Reader;

    fn records(bytes: &[u8]) -> Vec<Record> {
        let (_, mut reader) = Reader::new(bytes).unwrap();
        std::iter::from_fn(|| reader.next_record().unwrap()).collect()
    }

    #[test]
    fn nothing_is_recorded_before_a_segment_begins() {
        let mut tape = Tape::new("r".into(), "arena", 60, 1 << 20);
        tape.join(1);
        assert!(tape.take(0).is_none());
        assert!(tape.needs_segment());
        tape.begin_segment(0, 0, vec![]);
        tape.join(1);
        tape.step(9);
        assert!(tape.take(1 << 10).is_none(), "not a chunk's worth yet");
        let chunk = tape.take(0).unwrap();
        assert!(chunk.new_segment);
        assert_eq!(records(&chunk.bytes), [Record::Join(1), Record::Step(9)]);
        tape.step(10);
        assert!(
            !tape.take(0).unwrap().new_segment,
            "the same segment goes on"
        );
    }

    #[test]
    fn an_ended_segments_tail_is_taken_before_the_next_segment() {
        let mut tape = Tape::new("r".into(), "arena", 60, 1 << 20);
        tape.begin_segment(0, 0, vec![]);
        tape.step(1);
        tape.begin_segment(1, 0, vec![]);
        tape.step(2);
        let tail = tape.take(1 << 20).unwrap();
        assert!(tail.new_segment, "the first segment, whole, though small");
        assert_eq!(records(&tail.bytes), [Record::Step(1)]);
        let next = tape.take(0).unwrap();
        assert!(next.new_segment);
        assert_eq!(records(&next.bytes), [Record::Step(2)]);
    }

    #[test]
    fn a_full_segment_or_a_lost_chunk_asks_for_a_new_segment() {
        let mut tape = Tape::new("r".into(), "arena", 60, 200);
        tape.begin_segment(0, 0, vec![]);
        let input = InputValues::from_recorded(vec![1.0, 0.0, 0.0, 0.0]);
        while !tape.needs_segment() {
            tape.input(1, 0, &input);
        }
        tape.take(0);
        tape.begin_segment(50, 0, vec![]);
        tape.step(1);
        assert!(tape.take(0).unwrap().new_segment);
        tape.step(2);
        tape.take(0);
        tape.lost();
        assert!(tape.needs_segment());
        tape.step(3);
        assert!(tape.take(0).is_none(), "nothing until the next segment");
    }
}
