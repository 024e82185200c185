//! The recording format: a room's admitted inputs, joins, leaves and drops, tick by tick,
//! as a stream of MessagePack values.
//!
//! A recording file is one segment: a [`Header`] (the room, the game, its tick rate, the
//! tick the segment starts at and the game's saved world at that tick), then [`Record`]s
//! in the order the game saw them, each an array whose first element is its kind:
//!
//! | record | MessagePack | meaning |
//! |---|---|---|
//! | join | `[0, player]` | the player entered the world |
//! | leave | `[1, player]` | the player left it |
//! | away | `[2, player]` | the player's connection was lost (its input cleared) |
//! | input | `[3, player, view_tick, [value...]]` | an admitted input: its checked values (float 64), and the tick the client was showing |
//! | step | `[4, hash]` | the world stepped one tick; `hash` is its world hash after |
//!
//! The first step after the header is tick `start_tick + 1`, and each step after it one
//! more. The world hash ([`crate::game::Game::world_hash`]) covers the game's state, so a
//! replay that differs in one place is found at the tick it happens.

use serde::{Deserialize, Serialize};
use tickwire_shared::PlayerId;

use crate::game::InputValues;

/// What the file is, as its header's first field says.
pub const MAGIC: &str = "tickwire-recording";
/// The format's version.
pub const VERSION: u32 = 2;

/// The start of a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: String,
    /// [`VERSION`].
    pub version: u32,
    /// The room's name.
    pub room: String,
    /// The game's name ([`crate::game::Game::NAME`]).
    pub game: String,
    /// Ticks per second: a tick steps the world by `1 / tick_rate` seconds.
    pub tick_rate: u16,
    /// The room's tick when the segment starts.
    pub start_tick: u64,
    /// The wall clock then, in ms since the Unix epoch, for people reading it.
    pub wall_ms: u64,
    /// The game's saved world at `start_tick`.
    #[serde(with = "serde_bytes")]
    pub world: Vec<u8>,
}

/// One thing the game was told.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A player entered the world.
    Join(PlayerId),
    /// A player left it.
    Leave(PlayerId),
    /// A player's connection was lost.
    Away(PlayerId),
    /// A player's admitted input: the tick the client was showing, and its checked values.
    Input(PlayerId, u64, InputValues),
    /// The world stepped a tick; its world hash after.
    Step(u32),
}

/// The longest record: an input, with every number at its widest.
pub const MAX_RECORD_BYTES: usize =
    1 + 1 + 5 + 9 + 3 + 9 * tickwire_shared::schema::MAX_INPUT_FIELDS;

const JOIN: u8 = 0;
const LEAVE: u8 = 1;
const AWAY: u8 = 2;
const INPUT: u8 = 3;
const STEP: u8 = 4;

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file is not a recording, or of another version.
    #[error("not a tickwire recording (version {VERSION})")]
    NotARecording,
    /// A value is not what the format says, at this byte.
    #[error("malformed recording at byte {0}")]
    Malformed(usize),
}

/// Appends `header` to `buf`.
pub fn write_header(buf: &mut Vec<u8>, header: &Header) {
    // Serializing a plain struct into memory cannot fail.
    let _ = rmp_serde::encode::write(buf, header);
}

/// Appends `record` to `buf`.
pub fn write_record(buf: &mut Vec<u8>, record: &Record) {
    use rmp::encode::{write_array_len, write_f64, write_pfix, write_uint};
    let (kind, fields) = match record {
        Record::Join(_) => (JOIN, 2),
        Record::Leave(_) => (LEAVE, 2),
        Record::Away(_) => (AWAY, 2),
        Record::Input(..) => (INPUT, 4),
        Record::Step(_) => (STEP, 2),
    };
    // Writing into a Vec cannot fail: every result below is Ok.
    let _ = write_array_len(buf, fields);
    let _ = write_pfix(buf, kind);
    match record {
        Record::Join(id) | Record::Leave(id) | Record::Away(id) => {
            let _ = write_uint(buf, u64::from(*id));
        }
        Record::Input(id, view_tick, values) => {
            let _ = write_uint(buf, u64::from(*id));
            let _ = write_uint(buf, *view_tick);
            let values = values.as_slice();
            let _ = write_array_len(buf, values.len() as u32);
            for &x in values {
                let _ = write_f64(buf, x);
            }
        }
        Record::Step(hash) => {
            let _ = write_uint(buf, u64::from(*hash));
        }
    }
}

/// The error for a record that is not as the format says, at byte `at`.
fn malformed<E>(at: usize) -> impl Fn(E) -> FormatError {
    move |_| FormatError::Malformed(at)
}

/// Reads a segment: its header, then its records one by one.
#[derive(Debug)]
pub struct Reader<'a> {
    whole: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads the header of the segment in `bytes`.
    ///
    /// # Errors
    /// [`FormatError::NotARecording`] when `bytes` does not start with a header of this
    /// version.
    pub fn new(bytes: &'a [u8]) -> Result<(Header, Self), FormatError> {
        let mut rest = bytes;
        let header: Header =
            rmp_serde::decode::from_read(&mut rest).map_err(|_| FormatError::NotARecording)?;
        if header.magic != MAGIC || header.version != VERSION {
            return Err(FormatError::NotARecording);
        }
        Ok((header, Self { whole: bytes, rest }))
    }

    /// Where the reader is, in bytes from the start of the segment.
    fn offset(&self) -> usize {
        self.whole.len() - self.rest.len()
    }

    /// The next record; `None` at the end.
    ///
    /// # Errors
    /// [`FormatError::Malformed`] where a record is not as the format says. A segment cut
    /// short in its last record (a server that stopped mid-write) ends with this error.
    pub fn next_record(&mut self) -> Result<Option<Record>, FormatError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let at = self.offset();
        let rd = &mut self.rest;
        let len = rmp::decode::read_array_len(rd).map_err(malformed(at))?;
        let kind: u8 = rmp::decode::read_int(rd).map_err(malformed(at))?;
        let record = match (kind, len) {
            (JOIN | LEAVE | AWAY, 2) => {
                let id: PlayerId = rmp::decode::read_int(rd).map_err(malformed(at))?;
                match kind {
                    JOIN => Record::Join(id),
                    LEAVE => Record::Leave(id),
                    _ => Record::Away(id),
                }
            }
            (INPUT, 4) => {
                let id: PlayerId = rmp::decode::read_int(rd).map_err(malformed(at))?;
                let view_tick: u64 = rmp::decode::read_int(rd).map_err(malformed(at))?;
                let count = rmp::decode::read_array_len(rd).map_err(malformed(at))?;
                if count as usize > tickwire_shared::schema::MAX_INPUT_FIELDS {
                    return Err(FormatError::Malformed(at));
                }
                let mut values = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    values.push(rmp::decode::read_f64(rd).map_err(malformed(at))?);
                }
                Record::Input(id, view_tick, InputValues::from_recorded(values))
            }
            (STEP, 2) => Record::Step(rmp::decode::read_int(rd).map_err(malformed(at))?),
            _ => return Err(FormatError::Malformed(at)),
        };
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            magic: MAGIC.into(),
            version: VERSION,
            room: "r".into(),
            game: "arena".into(),
            tick_rate: 60,
            start_tick: 7,
            wall_ms: 1,
            world: vec![1, 2, 3],
        }
    }

    #[test]
    fn records_read_back_as_written() {
        let records = [
            Record::Join(1),
            Record::Input(
                1,
                70_000,
                InputValues::from_recorded(vec![0.6, -0.8, -3.1, 255.0]),
            ),
            Record::Away(1),
            Record::Step(0xdead_beef),
            Record::Leave(u32::MAX),
        ];
        let mut buf = Vec::new();
        write_header(&mut buf, &header());
        for r in &records {
            write_record(&mut buf, r);
        }
        let (read, mut reader) = Reader::new(&buf).unwrap();
        assert_eq!(read, header());
        for r in &records {
            assert_eq!(reader.next_record().unwrap().as_ref(), Some(r));
        }
        assert!(reader.next_record().unwrap().is_none());
    }

    #[test]
    fn a_cut_or_foreign_file_is_refused_with_where() {
        assert!(matches!(
            Reader::new(b"\x92\x01\x02"),
            Err(FormatError::NotARecording)
        ));
        let mut buf = Vec::new();
        write_header(&mut buf, &header());
        let start = buf.len();
        write_record(&mut buf, &Record::Step(5));
        buf.truncate(buf.len() - 1);
        let (_, mut reader) = Reader::new(&buf).unwrap();
        assert!(matches!(reader.next_record(), Err(FormatError::Malformed(at)) if at == start));
    }
}
