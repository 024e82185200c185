//! The bot's copy of its room, rebuilt from the server's keyframes and deltas with the
//! schema of its game, and what became of each snapshot.
//!
//! Each connection starts with an empty [`Replica`] (the server starts every connection,
//! resumed or new, with a keyframe) and the schema its `Joined` (or `Resumed`) carried,
//! and applies every snapshot to it with that schema and the tick rate of the `Welcome`.
//! Nothing here knows a game: any schema that passes its own check is decoded. What the
//! bot learns from a snapshot (its input ack, the tick it is showing) it takes only from
//! a snapshot that applied.
//!
//! Every snapshot ends in exactly one of these ([`ReplicaStats`]):
//!
//! - **applied**: the copy now holds the snapshot's tick, and its hash matched;
//! - **hash mismatch**: rebuilt, but not to the server's state hash. The server broke its
//!   promise (or the bot decodes wrongly): an error, and the run fails. The copy is
//!   dropped;
//! - **replica error**: anything else wrong (a removed entity that is not there, an added
//!   one that is or does not fit the schema, changes cut short or with bytes left over):
//!   an error. The copy is dropped;
//! - **missing base**: a delta against a snapshot the bot does not hold, while it held
//!   its copy intact (or had none yet on this connection). Nothing changes and the bot
//!   waits for a keyframe; not an error, since a snapshot may be lost to a slow
//!   connection, but it should be rare: the server sends a keyframe when it knows the
//!   previous snapshot did not go out;
//! - **skipped after an error**: a delta that arrived while the copy was dropped by an
//!   earlier hash mismatch or replica error. It cannot apply, and is the consequence of
//!   that error, not a missing base of its own;
//! - **no schema**: the connection has no schema it can decode with (none came, or it
//!   broke the schema's rules, which was counted as an error when it came). Not another
//!   error: the consequence of that one.
//!
//! Keyframes and deltas are counted, with their payload bytes, whatever became of them.

use serde::Serialize;
use tickwire_shared::schema::{FIRST_GAME_ID, FieldType};
use tickwire_shared::{Entity, EntityId, Replica, ReplicaError, Schema, Snapshot};

/// One connection's copy of the room, and how to keep it.
#[derive(Debug, Default)]
pub(crate) struct ReplicaBook {
    replica: Replica,
    /// The connection's game, checked; `None` before one came, or when it was unusable.
    schema: Option<Schema>,
    /// The `Welcome`'s ticks per second, which deltas need to predict positions. A resume
    /// has no `Welcome`, and keeps the rate of the one before: the same server.
    tick_rate: u16,
    /// An error dropped the copy: deltas are skipped until the next keyframe.
    broken: bool,
    /// The tick of the newest snapshot applied on this connection (0: none yet): what the
    /// bot is showing, and so its inputs' `view_tick`.
    view_tick: u64,
}

/// What became of a snapshot, as far as the bot must act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The copy holds the snapshot.
    Yes,
    /// Refused without harm (a missing base, skipped after an error, no schema): nothing
    /// changed.
    Refused,
    /// A hash mismatch or replica error, in words: to be counted as an error.
    Failed(String),
}

impl ReplicaBook {
    /// An empty copy, before any connection.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A new connection, with the `Welcome`'s `tick_rate` (`None` after a resume, which
    /// has none) and the game's `schema`: starts over from nothing, waiting for its
    /// keyframe.
    ///
    /// # Errors
    /// In words, when there is no schema or it breaks the schema rules: the connection's
    /// snapshots are then counted as `no_schema`, not decoded.
    pub(crate) fn new_connection(
        &mut self,
        tick_rate: Option<u16>,
        schema: Option<Schema>,
    ) -> Result<(), String> {
        self.replica.reset();
        self.broken = false;
        self.view_tick = 0;
        if let Some(rate) = tick_rate {
            self.tick_rate = rate;
        }
        // A schema the replica has not seen must not meet entities decoded with another.
        self.schema = None;
        let schema = schema.ok_or("the server sent no schema for the room")?;
        usable(&schema)?;
        self.schema = Some(schema);
        Ok(())
    }

    /// The connection's schema, when it has a usable one.
    pub(crate) fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// Every entity of the copy, in wire order (none when there is no copy).
    pub(crate) fn entities(&self) -> &[Entity] {
        self.replica.entities()
    }

    /// One entity of the copy, by id (a player's own has the player's id).
    #[cfg(test)]
    pub(crate) fn entity(&self, id: EntityId) -> Option<&Entity> {
        self.replica.entity(id)
    }

    /// The tick of the newest snapshot applied on this connection; 0 before any.
    pub(crate) fn view_tick(&self) -> u64 {
        self.view_tick
    }

    /// Applies a snapshot whose frame had `bytes` payload bytes, counting it in `stats`.
    pub(crate) fn apply(
        &mut self,
        snapshot: &Snapshot,
        bytes: usize,
        stats: &mut ReplicaStats,
    ) -> Applied {
        stats.received(snapshot.is_keyframe(), bytes);
        let Some(schema) = &self.schema else {
            stats.no_schema += 1;
            return Applied::Refused;
        };
        match self.replica.apply(snapshot, schema, self.tick_rate) {
            Ok(()) => {
                self.broken = false;
                self.view_tick = snapshot.tick;
                stats.applied(self.replica.entities());
                Applied::Yes
            }
            Err(ReplicaError::MissingBase { held: None, .. }) if self.broken => {
                stats.skipped_after_error += 1;
                Applied::Refused
            }
            Err(ReplicaError::MissingBase { .. }) => {
                stats.missing_base += 1;
                Applied::Refused
            }
            Err(err) => {
                if matches!(err, ReplicaError::HashMismatch { .. }) {
                    stats.hash_mismatches += 1;
                } else {
                    stats.replica_errors += 1;
                }
                self.broken = true;
                Applied::Failed(format!(
                    "{} of tick {}: {err}",
                    kind(snapshot),
                    snapshot.tick
                ))
            }
        }
    }
}

/// Whether the bot can decode with `schema`: its own check, which the decoder relies on
/// (field widths, predictions, positions).
fn usable(schema: &Schema) -> Result<(), String> {
    // The check shifts by an angle's wide width less one: a width beyond 64, which only a
    // hostile server sends, is refused here before it could overflow that shift.
    let fields = schema.kinds.iter().flat_map(|k| &k.fields);
    if let Some(f) = fields
        .chain(schema.events.iter().flat_map(|e| &e.fields))
        .find(|f| f.ty == FieldType::Angle && f.wide > 64)
    {
        return Err(format!(
            "schema of {:?}: angle {:?} is {} bits wide",
            schema.game, f.name, f.wide
        ));
    }
    schema.check().map_err(|e| e.to_string())
}

fn kind(snapshot: &Snapshot) -> &'static str {
    if snapshot.is_keyframe() {
        "keyframe"
    } else {
        "delta"
    }
}

/// What one bot's snapshots became (module doc); the same fields are summed over the
/// swarm.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ReplicaStats {
    /// Keyframes received, applied or not.
    pub(crate) keyframes: u64,
    /// Their payload bytes.
    pub(crate) keyframe_bytes: u64,
    /// Deltas received, applied or not.
    pub(crate) deltas: u64,
    /// Their payload bytes.
    pub(crate) delta_bytes: u64,
    /// Snapshots applied.
    pub(crate) applied: u64,
    /// Entities held after each applied snapshot, summed: over `applied`, the mean.
    pub(crate) entities_held: u64,
    /// Of those, players' own entities (their ids are player ids), summed likewise.
    pub(crate) players_held: u64,
    /// Snapshots that did not rebuild to the server's state hash.
    pub(crate) hash_mismatches: u64,
    /// Deltas against a base the bot did not hold, its copy intact.
    pub(crate) missing_base: u64,
    /// Deltas that came while an earlier error had dropped the copy.
    pub(crate) skipped_after_error: u64,
    /// Snapshots refused for anything else but a missing base or a hash mismatch.
    pub(crate) replica_errors: u64,
    /// Snapshots on a connection without a usable schema.
    pub(crate) no_schema: u64,
}

impl ReplicaStats {
    /// A snapshot of `bytes` payload bytes arrived.
    fn received(&mut self, keyframe: bool, bytes: usize) {
        let bytes = bytes as u64;
        if keyframe {
            self.keyframes += 1;
            self.keyframe_bytes += bytes;
        } else {
            self.deltas += 1;
            self.delta_bytes += bytes;
        }
    }

    /// A snapshot applied, leaving `entities` in the copy.
    fn applied(&mut self, entities: &[Entity]) {
        self.applied += 1;
        self.entities_held += entities.len() as u64;
        self.players_held += entities.iter().filter(|e| is_player(e.id)).count() as u64;
    }

    /// Adds another bot's (or bots') counts.
    pub(crate) fn merge(&mut self, other: &ReplicaStats) {
        self.keyframes += other.keyframes;
        self.keyframe_bytes += other.keyframe_bytes;
        self.deltas += other.deltas;
        self.delta_bytes += other.delta_bytes;
        self.applied += other.applied;
        self.entities_held += other.entities_held;
        self.players_held += other.players_held;
        self.hash_mismatches += other.hash_mismatches;
        self.missing_base += other.missing_base;
        self.skipped_after_error += other.skipped_after_error;
        self.replica_errors += other.replica_errors;
        self.no_schema += other.no_schema;
    }

    /// `sum` over the applied snapshots (0 when none applied).
    fn mean(&self, sum: u64) -> f64 {
        if self.applied == 0 {
            0.0
        } else {
            sum as f64 / self.applied as f64
        }
    }

    /// The mean number of entities held after an applied snapshot.
    pub(crate) fn mean_entities_held(&self) -> f64 {
        self.mean(self.entities_held)
    }

    /// The mean number of players' own entities held after an applied snapshot.
    pub(crate) fn mean_players_held(&self) -> f64 {
        self.mean(self.players_held)
    }
}

/// Whether `id` is a player's own entity: player ids are below the game's ids.
fn is_player(id: EntityId) -> bool {
    id < FIRST_GAME_ID
}

/// How the honest bots' snapshots rebuilt their copies of the room: the report's
/// `replica` object, always present.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaReport {
    /// Keyframes received (snapshots with the whole state), applied or not.
    pub keyframes: u64,
    /// Deltas received (snapshots with the changes since an earlier one), applied or not.
    pub deltas: u64,
    /// Payload bytes of keyframes received per bot per second in its room; with
    /// `delta_bytes_per_bot_per_s`, the snapshots' share of `bytes_in_per_bot_s`.
    pub keyframe_bytes_per_bot_per_s: f64,
    /// Payload bytes of deltas received per bot per second in its room.
    pub delta_bytes_per_bot_per_s: f64,
    /// Snapshots applied: `keyframes + deltas` less every one counted below.
    pub applied: u64,
    /// Snapshots that did not rebuild to the server's `state_hash`: must be 0. Each is
    /// also an error of kind `replica`, and fails the run.
    pub hash_mismatches: u64,
    /// Deltas against a snapshot the bot did not hold (its copy intact): not errors, the
    /// bot waits for the next keyframe, but should be rare.
    pub missing_base: u64,
    /// Deltas that came while an earlier hash mismatch or replica error had dropped the
    /// bot's copy, until the next keyframe: the cost of those errors, not counted again.
    pub skipped_after_error: u64,
    /// Snapshots that could not be applied for any other reason (a removed entity not
    /// held, an added one held already or not fitting the schema, changes cut short or
    /// too long): must be 0. Each is also an error of kind `replica`.
    pub replica_errors: u64,
    /// Snapshots on a connection whose schema was missing or unusable (that is an error
    /// of kind `schema`, once per connection): not decoded, and not counted again.
    pub no_schema: u64,
    /// The mean number of entities of any kind in a bot's copy after each applied
    /// snapshot: the whole room, or under the server's `--view-radius` those near it
    /// (and the kinds without a place, such as a score table).
    pub mean_entities_held: f64,
    /// Of those, the players' own entities (the arena's players, the shooter's ships),
    /// the bot's own included: what this figure meant before entities had kinds.
    pub mean_players_held: f64,
}

impl ReplicaReport {
    /// The report of `totals`, with `per_bot_per_s` spreading bytes over the bots' time
    /// in their rooms.
    pub(crate) fn new(totals: &ReplicaStats, per_bot_per_s: impl Fn(u64) -> f64) -> Self {
        Self {
            keyframes: totals.keyframes,
            deltas: totals.deltas,
            keyframe_bytes_per_bot_per_s: per_bot_per_s(totals.keyframe_bytes),
            delta_bytes_per_bot_per_s: per_bot_per_s(totals.delta_bytes),
            applied: totals.applied,
            hash_mismatches: totals.hash_mismatches,
            missing_base: totals.missing_base,
            skipped_after_error: totals.skipped_after_error,
            replica_errors: totals.replica_errors,
            no_schema: totals.no_schema,
            mean_entities_held: totals.mean_entities_held(),
            mean_players_held: totals.mean_players_held(),
        }
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::Value;
    use tickwire_shared::schema::{Field, Kind};

    use super::*;

    const RATE: u16 = 60;

    /// A walker kind and a placeless one, as in the games.
    fn schema() -> Schema {
        Schema::new("test")
            .kind(
                Kind::new("player")
                    .field(Field::velocity("vx", 1))
                    .field(Field::position("x", 100).predicted_by("vx"))
                    .field(Field::position("y", 100))
                    .at("x", "y"),
            )
            .kind(Kind::new("score").field(Field::int("points", 0, 1000)))
    }

    fn player(id: EntityId, x: i64) -> Entity {
        Entity {
            id,
            kind: 0,
            values: vec![Value::Int(120), Value::Int(x), Value::Int(-40)],
        }
    }

    fn score(points: i64) -> Entity {
        Entity {
            id: FIRST_GAME_ID,
            kind: 1,
            values: vec![Value::Int(points)],
        }
    }

    fn keyframe(tick: u64, now: &[Entity]) -> Snapshot {
        Snapshot::keyframe(tick, 0, 0, now.to_vec())
    }

    /// A delta from `base` (at `base_tick`) to `now`, acknowledging `ack`.
    fn delta(base_tick: u64, tick: u64, base: &[Entity], now: &[Entity]) -> Snapshot {
        Snapshot::delta(&schema(), (base_tick, base), (tick, now), RATE, (0, 0))
    }

    fn book() -> ReplicaBook {
        let mut book = ReplicaBook::new();
        book.new_connection(Some(RATE), Some(schema()))
            .expect("a good schema");
        book
    }

    #[test]
    fn keyframes_and_deltas_are_counted_with_their_bytes_and_applied() {
        let a = [player(1, 0), player(2, 500), score(0)];
        let b = [player(1, 200), player(2, 500), score(3)];
        let c = [player(1, 410), player(2, 520), score(3)];
        let mut book = book();
        let mut stats = ReplicaStats::default();
        assert_eq!(book.view_tick(), 0);
        assert_eq!(book.apply(&keyframe(10, &a), 90, &mut stats), Applied::Yes);
        assert_eq!(
            book.apply(&delta(10, 11, &a, &b), 20, &mut stats),
            Applied::Yes
        );
        assert_eq!(
            book.apply(&delta(11, 13, &b, &c), 22, &mut stats),
            Applied::Yes
        );
        assert_eq!(book.view_tick(), 13);
        assert_eq!(book.entity(1), Some(&c[0]));
        assert_eq!(book.entity(3), None);
        assert_eq!(book.entities().len(), 3);
        assert_eq!(
            stats,
            ReplicaStats {
                keyframes: 1,
                keyframe_bytes: 90,
                deltas: 2,
                delta_bytes: 42,
                applied: 3,
                entities_held: 9,
                players_held: 6,
                ..ReplicaStats::default()
            }
        );
        assert_eq!(stats.mean_entities_held(), 3.0);
        assert_eq!(stats.mean_players_held(), 2.0);
    }

    #[test]
    fn a_hash_mismatch_fails_drops_the_copy_and_skips_deltas_until_a_keyframe() {
        let a = [player(1, 0)];
        let b = [player(1, 200)];
        let mut book = book();
        let mut stats = ReplicaStats::default();
        book.apply(&keyframe(10, &a), 50, &mut stats);
        let mut wrong = delta(10, 11, &a, &b);
        wrong.state_hash ^= 1;
        let Applied::Failed(why) = book.apply(&wrong, 20, &mut stats) else {
            panic!("a wrong hash is an error");
        };
        assert!(why.starts_with("delta of tick 11: state hash"), "{why}");
        assert_eq!(book.entity(1), None, "the copy is dropped");
        assert_eq!(book.view_tick(), 10, "still showing what last applied");
        // The next delta cannot apply: the cost of the mismatch, not a missing base.
        let next = delta(11, 12, &b, &b);
        assert_eq!(book.apply(&next, 20, &mut stats), Applied::Refused);
        assert_eq!(book.apply(&keyframe(13, &b), 50, &mut stats), Applied::Yes);
        // After the keyframe, a delta against another tick is a missing base again.
        assert_eq!(
            book.apply(&delta(12, 14, &b, &b), 20, &mut stats),
            Applied::Refused
        );
        assert_eq!(
            (
                stats.hash_mismatches,
                stats.skipped_after_error,
                stats.missing_base,
                stats.replica_errors
            ),
            (1, 1, 1, 0)
        );
        assert_eq!((stats.keyframes, stats.deltas, stats.applied), (2, 3, 2));
    }

    #[test]
    fn a_delta_first_on_a_connection_is_a_missing_base_and_changes_nothing() {
        let a = [player(1, 0)];
        let b = [player(1, 200)];
        let mut book = book();
        let mut stats = ReplicaStats::default();
        assert_eq!(
            book.apply(&delta(10, 11, &a, &b), 20, &mut stats),
            Applied::Refused
        );
        book.apply(&keyframe(11, &b), 50, &mut stats);
        // A delta whose base was never received leaves the held copy as it was.
        assert_eq!(
            book.apply(&delta(9, 12, &a, &b), 20, &mut stats),
            Applied::Refused
        );
        assert_eq!(book.entity(1), Some(&b[0]));
        assert_eq!(
            book.apply(&delta(11, 12, &b, &a), 20, &mut stats),
            Applied::Yes
        );
        assert_eq!((stats.missing_base, stats.skipped_after_error), (2, 0));
        assert_eq!((stats.hash_mismatches, stats.replica_errors), (0, 0));
    }

    #[test]
    fn other_errors_are_replica_errors_and_a_new_connection_starts_over() {
        let a = [player(1, 0)];
        let mut book = book();
        let mut stats = ReplicaStats::default();
        book.apply(&keyframe(10, &a), 50, &mut stats);
        let mut bad = delta(10, 11, &a, &a);
        bad.removed = vec![77];
        assert!(matches!(
            book.apply(&bad, 20, &mut stats),
            Applied::Failed(why) if why.contains("removed entity 77")
        ));
        let mut cut = delta(10, 11, &a, &a);
        cut.changes.clear();
        assert!(matches!(book.apply(&cut, 20, &mut stats), Applied::Refused));
        assert_eq!((stats.replica_errors, stats.skipped_after_error), (1, 1));
        // A new connection is not broken: its first delta is a missing base.
        book.new_connection(None, Some(schema())).expect("good");
        assert_eq!(book.tick_rate, RATE, "a resume keeps the Welcome's rate");
        assert_eq!(book.view_tick(), 0);
        assert_eq!(book.apply(&cut, 20, &mut stats), Applied::Refused);
        assert_eq!(stats.missing_base, 1);
        // Changes cut short on an intact copy are an error too.
        book.apply(&keyframe(10, &a), 50, &mut stats);
        let moved = [player(1, 900)];
        let mut short = delta(10, 11, &a, &moved);
        short.changes.pop();
        assert!(matches!(
            book.apply(&short, 20, &mut stats),
            Applied::Failed(why) if why.contains("bad changes")
        ));
        // An added entity the schema has no kind for is one too.
        let stranger = Entity {
            id: 5,
            kind: 9,
            values: Vec::new(),
        };
        assert!(matches!(
            book.apply(&keyframe(12, &[stranger]), 20, &mut stats),
            Applied::Failed(why) if why.contains("does not fit the schema")
        ));
        assert_eq!(stats.replica_errors, 3);
    }

    #[test]
    fn without_a_usable_schema_nothing_is_decoded_and_it_is_said_once() {
        let mut book = ReplicaBook::new();
        let mut stats = ReplicaStats::default();
        let err = book.new_connection(Some(RATE), None).unwrap_err();
        assert!(err.contains("no schema"), "{err}");
        assert!(book.schema().is_none());
        assert_eq!(
            book.apply(&keyframe(1, &[]), 10, &mut stats),
            Applied::Refused
        );
        // A width a hostile server made up is refused without a panic.
        let mut wide = schema();
        wide.kinds[0] = Kind::new("spinner").field(Field::angle("a", 1024).widths(6, 200));
        let err = book.new_connection(Some(RATE), Some(wide)).unwrap_err();
        assert!(err.contains("200 bits wide"), "{err}");
        let mut unpredictable = schema();
        unpredictable.kinds[0].fields[1].predict = Some(7);
        let err = book
            .new_connection(Some(RATE), Some(unpredictable))
            .unwrap_err();
        assert!(err.contains("predicted_by"), "{err}");
        assert_eq!(
            book.apply(&keyframe(2, &[]), 10, &mut stats),
            Applied::Refused
        );
        assert_eq!((stats.no_schema, stats.keyframes, stats.applied), (2, 2, 0));
        // A usable schema on the next connection decodes again.
        book.new_connection(None, Some(schema())).expect("good");
        assert_eq!(
            book.apply(&keyframe(3, &[score(1)]), 10, &mut stats),
            Applied::Yes
        );
    }

    #[test]
    fn counts_add_up_and_bytes_spread_per_bot_per_second() {
        let a = ReplicaStats {
            keyframes: 2,
            keyframe_bytes: 400,
            deltas: 100,
            delta_bytes: 2000,
            applied: 100,
            entities_held: 400,
            players_held: 300,
            hash_mismatches: 1,
            missing_base: 1,
            skipped_after_error: 1,
            replica_errors: 0,
            no_schema: 3,
        };
        let b = ReplicaStats {
            keyframes: 1,
            keyframe_bytes: 200,
            deltas: 50,
            delta_bytes: 1000,
            applied: 50,
            entities_held: 50,
            players_held: 50,
            replica_errors: 2,
            ..ReplicaStats::default()
        };
        let mut totals = ReplicaStats::default();
        totals.merge(&a);
        totals.merge(&b);
        // Two bot-seconds in the rooms.
        let report = ReplicaReport::new(&totals, |bytes| bytes as f64 / 2.0);
        assert_eq!(
            (report.keyframes, report.deltas, report.applied),
            (3, 150, 150)
        );
        assert_eq!(report.keyframe_bytes_per_bot_per_s, 300.0);
        assert_eq!(report.delta_bytes_per_bot_per_s, 1500.0);
        assert_eq!(
            (
                report.hash_mismatches,
                report.missing_base,
                report.skipped_after_error,
                report.replica_errors,
                report.no_schema
            ),
            (1, 1, 1, 2, 3)
        );
        assert!((report.mean_players_held - 350.0 / 150.0).abs() < 1e-9);
        assert_eq!(report.mean_entities_held, 3.0);
        let none = ReplicaReport::new(&ReplicaStats::default(), |_| 0.0);
        assert_eq!(none.mean_players_held, 0.0, "not NaN");
        assert_eq!(none.mean_entities_held, 0.0, "not NaN");
    }
}
