//! Replaying a recording: the game run again on the recorded calls, offline, on virtual
//! time, its world hash checked after every tick against the one the room recorded.

use std::sync::Arc;

use super::format::{FormatError, Header, MAX_RECORD_BYTES, Reader, Record};
use crate::game::{Game, RestoreError};
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

/// How a recording of one game is replayed: [`run`] for that game.
pub type Replay = fn(&Header, Reader<'_>, usize) -> Result<Replayed, ReplayError>;

/// Replays the recording in `bytes` with the game `find` gives for the name it records.
///
/// # Errors
/// [`ReplayError`]: the bytes are not a recording, its game is unknown or its world
/// cannot be restored, or a tick's hash differs (the first such tick).
pub fn replay(
    bytes: &[u8],
    find: impl Fn(&str) -> Option<Replay>,
) -> Result<Replayed, ReplayError> {
    let (header, reader) = Reader::new(bytes)?;
    let run = find(&header.game).ok_or_else(|| ReplayError::UnknownGame(header.game.clone()))?;
    run(&header, reader, bytes.len())
}

/// Replays a recording of the game `G`: restores the header's world, then runs every
/// record, checking the world hash after every step.
///
/// # Errors
/// As [`replay`].
pub fn run<G: Game>(
    header: &Header,
    mut reader: Reader<'_>,
    bytes_len: usize,
) -> Result<Replayed, ReplayError> {
    let mut game = G::new();
    game.restore(&header.world)?;
    // The same step length the room used: the tick clock's.
    let dt = TickClock::new(header.tick_rate, 1).dt();
    let schema = Arc::new(G::schema());
    let mut sim = Sim::new(game, schema, dt, header.start_tick, None);
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
            Record::Input(id, view_tick, values) => {
                // Admitted once, so the game took these values then; it takes them again.
                if let Ok(input) = G::input(&values) {
                    sim.input(id, &values, &input, view_tick);
                }
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
