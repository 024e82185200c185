//! Replaying a recording: the game run again on the recorded calls, offline, on virtual
//! time, its world hash checked after every tick against the one the room recorded.

use std::path::Path;

use super::format::{FormatError, MAX_RECORD_BYTES, Reader, Record};
use crate::game::{Arena, ArenaRules, Game, RestoreError};
use crate::room::Sim;
use crate::tick_clock::TickClock;

/// What a replay went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The room.
    pub room: String,
    /// The game.
    pub game: String,
    /// Where the recording's saved world stands: the tick before the first replayed.
    pub start_tick: u64,
    /// The last tick replayed.
    pub last_tick: u64,
    /// Steps replayed, each with its hash checked.
    pub steps: u64,
    /// Joins, leaves and drops replayed.
    pub membership: u64,
    /// Inputs replayed.
    pub inputs: u64,
    /// The segment ended in the middle of a record (the server stopped while writing it):
    /// everything before it was replayed.
    pub cut_short: bool,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cannot read the recording: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a recording this build reads.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The recording names a game this build does not have.
    #[error("the recording is of the game `{0}`, which this server does not have")]
    UnknownGame(String),
    /// The saved world in the header could not be restored.
    #[error("cannot restore the recorded world: {0}")]
    Restore(#[from] RestoreError),
    /// The replay went another way than the room did: the first tick whose world differs.
    #[error(
        "tick {tick} differs: recorded world hash {recorded:#010x}, replayed {replayed:#010x} \
         (replayed fine up to tick {})",
        tick - 1
    )]
    Diverged {
        /// The tick.
        tick: u64,
        /// The room's world hash after it.
        recorded: u32,
        /// The replay's.
        replayed: u32,
    },
}

/// Replays the recording in the file at `path`.
///
/// # Errors
/// [`ReplayError`]: the file cannot be read or is not a recording, its game is unknown or
/// its world cannot be restored, or a tick's hash differs (the first such tick).
pub fn replay_file(path: &Path) -> Result<Replayed, ReplayError> {
    // A file is one segment, bounded by --record-segment-mib: it fits in memory.
    replay(&std::fs::read(path)?)
}

/// Replays the recording in `bytes` (see [`replay_file`]).
///
/// # Errors
/// As [`replay_file`].
pub fn replay(bytes: &[u8]) -> Result<Replayed, ReplayError> {
    let (header, reader) = Reader::new(bytes)?;
    match header.game.as_str() {
        Arena::NAME => {
            let mut arena = Arena::new(ArenaRules::default());
            arena.restore(&header.world)?;
            run(arena, &header, reader, bytes.len())
        }
        other => Err(ReplayError::UnknownGame(other.to_owned())),
    }
}

fn run<G: Game>(
    game: G,
    header: &super::format::Header,
    mut reader: Reader<'_>,
    bytes_len: usize,
) -> Result<Replayed, ReplayError> {
    // The same step length the room used: the tick clock's.
    let dt = TickClock::new(header.tick_rate, 1).dt();
    let mut sim = Sim::new(game, dt, header.start_tick, None);
    let mut done = Replayed {
        room: header.room.clone(),
        game: header.game.clone(),
        start_tick: header.start_tick,
        last_tick: header.start_tick,
        steps: 0,
        membership: 0,
        inputs: 0,
        cut_short: false,
    };
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            // Less than one record left: the server stopped while writing the last one.
            Err(FormatError::Malformed(at)) if bytes_len - at <= MAX_RECORD_BYTES => {
                done.cut_short = true;
                break;
            }
            Err(err) => return Err(err.into()),
        };
        match record {
            Record::Join(id) => sim.join(id),
            Record::Leave(id) => sim.leave(id),
            Record::Away(id) => sim.away(id),
            Record::Input(id, input) => {
                sim.input(id, &input);
                done.inputs += 1;
                continue;
            }
            Record::Step(recorded) => {
                sim.step(0);
                done.steps += 1;
                done.last_tick = sim.tick();
                let replayed = sim.world_hash();
                if replayed != recorded {
                    return Err(ReplayError::Diverged {
                        tick: sim.tick(),
                        recorded,
                        replayed,
                    });
                }
                continue;
            }
        }
        done.membership += 1;
    }
    Ok(done)
}
