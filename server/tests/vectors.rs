//! The real games' golden vectors: `shared/vectors/arena-*` and `shared/vectors/shooter-*`,
//! each set described by its own JSON file (`arena.json`, `shooter.json`).
//!
//! The shared crate cannot depend on the server, so the vectors of the games that come with
//! Tickwire are made here, from the games themselves: each story drives a real game (the
//! arena, the shooter) through `Sim`, the room's own way of changing the world (joins,
//! leaves, inputs checked against the schema and turned into the game's input, steps), and
//! writes its frames with the room's `SnapshotEncoder`, whose `World` the game's
//! `snapshot` fills: the bytes a client of that game gets, for the schema the game really
//! has. `Joined` and `Events` are encoded as `RoomCore` encodes them. What a client holds
//! after each snapshot, by field name, comes from the reference client (`Replica`).
//!
//! `real_game_vectors_are_up_to_date` requires the files to be byte-identical to what the
//! games make now. After an intended change of a game or of the wire, rewrite them with
//!
//! ```text
//! TICKWIRE_WRITE_VECTORS=1 cargo test -p tickwire-server --test vectors
//! ```
//!
//! and check the JSON's diff by eye (the `every-type-*` set, a made-up schema with every
//! field type, is `shared/tests/vectors.rs`'s; `shared/vectors/decode.py` checks all three).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glam::Vec2;
use serde::Serialize;
use serde::ser::SerializeMap;
use tickwire_server::game::{
    Audience, Code, FieldType, Game, InputField, InputType, InputValues, Schema,
};
use tickwire_server::games::arena::Arena;
use tickwire_server::games::shooter::{self, Shooter};
use tickwire_server::room::Sim;
use tickwire_server::snapshot::{ClientView, EncoderRules, SnapshotEncoder, SnapshotKind};
use tickwire_shared::schema::Field;
use tickwire_shared::{
    Entity, Events, GameEvent, Input, InputValue, Joined, PROTOCOL_VERSION, PlayerId, PlayerInfo,
    Replica, ServerMsg, Snapshot, Value, encode, entity_hash,
};

/// The player whose connection the vectors are: she gets the `Joined`, the snapshots (with
/// her `ack`) and the events, and sends the input.
const ANA: PlayerId = 7;
/// Another player, already in the room when Ana joins.
const BO: PlayerId = 3;
/// A player who arrives later.
const CY: PlayerId = 9;

/// The wall clock of the stories: 2023-11-14T22:13:20Z at their reference tick.
const TIME_MS: u64 = 1_700_000_000_000;

/// A room of game `G`, seen from Ana's connection: its `Sim`, its encoder, and what the
/// room keeps for her (which snapshot went out last, her newest applied input).
struct Room<G: Game> {
    schema: Arc<Schema>,
    sim: Sim<G>,
    encoder: SnapshotEncoder,
    tick_rate: u16,
    /// The tick whose wall clock is `TIME_MS`.
    epoch: u64,
    view: ClientView,
    /// The tick of Ana's last snapshot that reached her socket.
    sent: Option<u64>,
    /// Ana's newest applied input.
    ack: u32,
}

/// What one tick's write sends Ana.
struct Sent {
    events: Option<Vec<u8>>,
    snapshot: Vec<u8>,
    kind: SnapshotKind,
}

impl<G: Game> Room<G> {
    /// A room at `tick`, stepping at `tick_rate`, snapshots every tick, a keyframe to
    /// everyone every 60 snapshots (the server's defaults), no view radius.
    fn new(tick: u64, tick_rate: u16, epoch: u64) -> Self {
        let schema = Arc::new(G::schema());
        schema.check().expect("the game's schema is valid");
        let rules = EncoderRules {
            tick_rate,
            keyframe_interval: 60,
            view_radius: None,
        };
        Self {
            sim: Sim::new(
                G::new(),
                schema.clone(),
                1.0 / f32::from(tick_rate),
                tick,
                None,
            ),
            encoder: SnapshotEncoder::new(rules, schema.clone()),
            schema,
            tick_rate,
            epoch,
            view: ClientView::default(),
            sent: None,
            ack: 0,
        }
    }

    fn tick(&self) -> u64 {
        self.sim.tick()
    }

    /// Ana enters the room: what the room kept for her connection starts afresh (the
    /// room forgets which snapshot went out last, so her first one is a keyframe).
    fn ana_joins(&mut self) {
        self.sim.join(ANA);
        self.sent = None;
        self.view = ClientView::default();
        self.ack = 0;
    }

    /// The wall clock at `tick`, in ms: the room's ticks are `1000 / tick_rate` ms apart.
    fn wall_ms(&self, tick: u64) -> u64 {
        let ms = (tick as i64 - self.epoch as i64) * 1000;
        let rate = i64::from(self.tick_rate);
        // Rounded to the nearest ms.
        TIME_MS.wrapping_add_signed((2 * ms + rate).div_euclid(2 * rate))
    }

    /// A player's input, read as the room reads it: checked against the schema, turned
    /// into the game's input, given the view tick (at most the current tick).
    fn input(&mut self, player: PlayerId, input: &Input) {
        let values = InputValues::check(&self.schema.input, &input.values)
            .unwrap_or_else(|e| panic!("{input:?} is refused: {e}"));
        let game_input = G::input(&values).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        self.sim
            .input(player, &values, &game_input, input.view_tick);
        if player == ANA {
            self.ack = self.ack.max(input.seq);
        }
    }

    /// One step of the world.
    fn step(&mut self) {
        let wall = self.wall_ms(self.tick());
        self.sim.step(wall);
    }

    /// The room's write after a step: the events since the last snapshot (if any are
    /// for Ana), then the snapshot, encoded once for the room and put together for Ana.
    /// `delivered`: her snapshot reaches her socket (on a slow connection it is replaced
    /// by the next one before it does).
    fn write(&mut self, delivered: bool) -> Sent {
        let tick = self.tick();
        let events: Vec<GameEvent> = self
            .sim
            .events()
            .take()
            .into_iter()
            .filter(|(to, _)| matches!(to, Audience::All) || *to == Audience::Player(ANA))
            .map(|(_, e)| e)
            .collect();
        let events = (!events.is_empty()).then(|| encode(&Events { tick, events }).to_vec());
        self.encoder
            .begin(self.sim.game(), tick, self.wall_ms(tick));
        let (bytes, kind) = self
            .encoder
            .for_client(self.sent, &mut self.view, Some(ANA), self.ack);
        if delivered {
            self.sent = Some(tick);
        }
        Sent {
            events,
            snapshot: bytes.to_vec(),
            kind,
        }
    }

    /// Steps and writes until the room is at `tick`, every snapshot delivered.
    fn run_to(&mut self, tick: u64) {
        while self.tick() < tick {
            self.step();
            self.write(true);
        }
    }
}

/// One game's vectors, as its story made them.
struct Story {
    schema: Schema,
    about: &'static str,
    tick_rate: u16,
    joined: Joined,
    keyframe: Vec<u8>,
    delta: Vec<u8>,
    events: Option<Vec<u8>>,
    input: Input,
}

fn arena_input(seq: u32, view_tick: u64, dx: f64, dy: f64, facing: f64) -> Input {
    use InputValue::{Float, Int};
    Input {
        seq,
        view_tick,
        values: vec![Float(dx), Float(dy), Float(facing), Int(0)],
    }
}

/// The arena, as PROTOCOL.md's examples tell it (its sections 5, 6 and 9). Bo (3) is in
/// room `lobby`; Ana (7) joins it (her `Joined` lists Bo); Bo steps out and comes back in,
/// so that the room's order is Ana, then Bo. At tick 1200 both stand still (Ana at
/// (1000.00, 512.50) facing 1.5 rad, her input 300 applied; Bo at (250.00, 750.50) facing
/// −π/2), and Ana gets a keyframe: her snapshot of tick 1199 never reached her socket (a
/// slow moment), so the next one is whole. In tick 1201 Bo leaves, Cy (9) joins (placed at
/// (1500.25, 400.00)), and Ana's input 301 sets her off toward (0.8, −0.6) facing 239/1024
/// of a turn: one tick of 1500 units/s² takes her to (20, −15) units/s, and something (a
/// push the story leaves out) puts her one step off her prediction in x and two in y, so
/// that her change record has residuals. The arena has no events.
fn arena_story() -> Story {
    let mut room = Room::<Arena>::new(1190, 60, 1200);
    room.sim.join(BO);
    room.run_to(1195);
    let joined = Joined {
        room: "lobby".into(),
        players: vec![PlayerInfo {
            id: BO,
            name: "bo".into(),
        }],
        schema: Schema::clone(&room.schema),
    };
    room.ana_joins();
    room.run_to(1196);
    room.sim.leave(BO);
    room.run_to(1197);
    room.sim.join(BO);
    room.input(
        BO,
        &arena_input(52, 1197, 0.0, 0.0, -std::f64::consts::FRAC_PI_2),
    );
    room.input(ANA, &arena_input(300, 1197, 0.0, 0.0, 1.5));
    room.run_to(1198);
    room.step();
    let unsent = room.write(false);
    assert_eq!(unsent.kind, SnapshotKind::Delta);
    let place = |room: &mut Room<Arena>, id, x, y| room.sim.game_mut().place(id, Vec2::new(x, y));
    place(&mut room, ANA, 1000.0, 512.5);
    place(&mut room, BO, 250.0, 750.5);
    room.step();
    let keyframe = room.write(true);
    assert_eq!(keyframe.kind, SnapshotKind::Keyframe);
    assert_eq!(keyframe.events, None);

    room.sim.leave(BO);
    room.sim.join(CY);
    let input = arena_input(301, 1200, 0.8, -0.6, 1.4665);
    room.input(ANA, &input);
    room.step();
    place(&mut room, CY, 1500.25, 400.0);
    place(&mut room, ANA, 1000.34, 512.23);
    let delta = room.write(true);
    assert_eq!(delta.kind, SnapshotKind::Delta);
    assert_eq!(delta.events, None, "the arena has no events");
    Story {
        schema: Arena::schema(),
        about: "The arena (server/src/games/arena.rs): PROTOCOL.md's worked example (sections \
                5, 6 and 9), made by the real game and the server's snapshot encoder. Ana (7) \
                joins room lobby, where bo (3) is. At tick 1200 she and bo stand still and \
                she gets a keyframe. In tick 1201 bo leaves, cy (9) arrives, and Ana's input \
                301 sets her walking, a step or two off her prediction. The arena has no \
                events, so there is no arena-events.bin.",
        tick_rate: 60,
        joined,
        keyframe: keyframe.snapshot,
        delta: delta.snapshot,
        events: None,
        input,
    }
}

fn shooter_input(seq: u32, view_tick: u64, dx: f64, dy: f64, aim: f64, fire: bool) -> Input {
    use InputValue::{Bool, Float};
    Input {
        seq,
        view_tick,
        values: vec![Float(dx), Float(dy), Float(aim), Bool(fire)],
    }
}

/// The shooter at 60 Hz with its default rules. Bo (3) is in room `duel` when Ana (7)
/// joins, before tick 1. The warm-up ends at tick 301, which puts both ships at spawn
/// points; there Ana is placed at (400, 800) and Bo, who never moves, 264 units to her
/// right, and Ana's input 1 holds the trigger, aiming along +x. She fires every 15 ticks
/// (0.25 s), from tick 302; each bullet flies 15 units a tick and reaches Bo 15 ticks after
/// it was fired, as the next one leaves. Three hits (25 each) leave Bo 25 hit points. Tick
/// 361 is the room's 361st snapshot, a keyframe to everyone (one every 60): both ships, the
/// fourth bullet a step from Bo, both score rows and the match clock. In tick 362 Ana's
/// input 2 (sent having seen tick 361) turns her ship up the screen while she fires on;
/// the fourth bullet hits Bo and is spent (removed), his ship is destroyed (hp 0, alive
/// false), the score table counts the kill, and Ana's fifth bullet is added: the events
/// are the hit and the kill.
fn shooter_story() -> Story {
    const BO_AT: Vec2 = Vec2::new(664.0, 800.0);
    let mut room = Room::<Shooter>::new(0, 60, 0);
    room.sim.join(BO);
    let joined = Joined {
        room: "duel".into(),
        players: vec![PlayerInfo {
            id: BO,
            name: "bo".into(),
        }],
        schema: Schema::clone(&room.schema),
    };
    room.ana_joins();
    room.run_to(301);
    assert_eq!(room.sim.game().phase(), shooter::Phase::Playing);
    room.sim.game_mut().place(ANA, Vec2::new(400.0, 800.0));
    room.sim.game_mut().place(BO, BO_AT);
    room.input(ANA, &shooter_input(1, 301, 0.0, 0.0, 0.0, true));
    room.run_to(360);
    room.step();
    let keyframe = room.write(true);
    assert_eq!(keyframe.kind, SnapshotKind::Keyframe);
    let bo = room.sim.game().ship(BO).expect("bo plays");
    assert_eq!((bo.hp, bo.alive, bo.pos), (25, true, BO_AT));

    let input = shooter_input(2, 361, 0.0, 1.0, 0.0, true);
    room.input(ANA, &input);
    room.step();
    let delta = room.write(true);
    assert_eq!(delta.kind, SnapshotKind::Delta);
    assert!(
        !room.sim.game().ship(BO).expect("bo plays").alive,
        "bo is shot down"
    );
    Story {
        schema: Shooter::schema(),
        about: "The shooter (server/src/games/shooter/), at 60 Hz with its default rules, \
                made by the real game and the server's snapshot encoder. Ana (7) joins room \
                duel, where bo (3) is. Once the round is playing she stands 264 units from bo \
                and fires at him every 15 ticks; tick 361 is a keyframe (one to everyone every \
                60 snapshots) with bo at 25 hit points and Ana's fourth bullet about to hit \
                him. In tick 362 Ana's input 2 turns her ship toward +y as she fires on: the \
                bullet hits and is spent (removed), bo's ship is destroyed, the score rows \
                count it, and her fifth bullet is added. Its events are the hit and the kill.",
        tick_rate: 60,
        joined,
        keyframe: keyframe.snapshot,
        delta: delta.snapshot,
        events: Some(delta.events.expect("the hit and the kill")),
        input,
    }
}

// The description of a set of vectors, serialized in declaration order.

#[derive(Serialize)]
struct Doc {
    protocol_version: u16,
    about: &'static str,
    games: Vec<GameDoc>,
}

#[derive(Serialize)]
struct GameDoc {
    game: String,
    about: &'static str,
    tick_rate: u16,
    joined: JoinedDoc,
    keyframe: SnapshotDoc,
    delta: SnapshotDoc,
    events: Option<EventsDoc>,
    input: InputDoc,
}

#[derive(Serialize)]
struct JoinedDoc {
    file: String,
    message: &'static str,
    #[serde(rename = "type")]
    ty: u8,
    room: String,
    players: Vec<PlayerDoc>,
    schema: SchemaDoc,
}

#[derive(Serialize)]
struct PlayerDoc {
    id: PlayerId,
    name: String,
}

#[derive(Serialize)]
struct SchemaDoc {
    game: String,
    input: Vec<InputFieldDoc>,
    kinds: Vec<KindDoc>,
    events: Vec<EventKindDoc>,
}

#[derive(Serialize)]
struct InputFieldDoc {
    name: String,
    #[serde(rename = "type")]
    ty: InputType,
    min: f64,
    max: f64,
    variants: Vec<String>,
}

#[derive(Serialize)]
struct KindDoc {
    name: String,
    position: Option<[String; 2]>,
    fields: Vec<FieldDoc>,
}

#[derive(Serialize)]
struct EventKindDoc {
    name: String,
    fields: Vec<FieldDoc>,
}

#[derive(Serialize)]
struct FieldDoc {
    name: String,
    #[serde(rename = "type")]
    ty: FieldType,
    scale: u32,
    min: i64,
    max: i64,
    code: Code,
    narrow: u8,
    wide: u8,
    predicted_by: Option<String>,
    variants: Vec<String>,
}

#[derive(Serialize)]
struct SnapshotDoc {
    file: String,
    message: &'static str,
    #[serde(rename = "type")]
    ty: u8,
    base_file: Option<String>,
    tick: u64,
    base_tick: Option<u64>,
    server_time_ms: u64,
    state_hash: u32,
    ack: u32,
    removed: Vec<u32>,
    added: Vec<u32>,
    changes: String,
    entities: Vec<EntityDoc>,
}

#[derive(Serialize)]
struct EntityDoc {
    id: u32,
    kind: String,
    values: Named,
    /// 64 bits do not survive every JSON reader as a number: 16 hex digits.
    entity_hash: String,
}

#[derive(Serialize)]
struct EventsDoc {
    file: String,
    message: &'static str,
    #[serde(rename = "type")]
    ty: u8,
    tick: u64,
    events: Vec<EventDoc>,
}

#[derive(Serialize)]
struct EventDoc {
    kind: String,
    values: Named,
}

#[derive(Serialize)]
struct InputDoc {
    file: String,
    message: &'static str,
    #[serde(rename = "type")]
    ty: u8,
    seq: u32,
    view_tick: u64,
    values: Named,
}

/// Values by field name, in the schema's order.
struct Named(Vec<(String, Scalar)>);

#[derive(Serialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl Serialize for Named {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn scalar(v: &Value) -> Scalar {
    match v {
        Value::Int(n) => Scalar::Int(*n),
        Value::Str(s) => Scalar::Str(s.clone()),
    }
}

fn named(fields: &[Field], values: &[Value]) -> Named {
    Named(
        fields
            .iter()
            .zip(values)
            .map(|(f, v)| (f.name.clone(), scalar(v)))
            .collect(),
    )
}

fn field_doc(f: &Field, fields: &[Field]) -> FieldDoc {
    FieldDoc {
        name: f.name.clone(),
        ty: f.ty,
        scale: f.scale,
        min: f.min,
        max: f.max,
        code: f.code,
        narrow: f.narrow,
        wide: f.wide,
        predicted_by: f.predict.map(|v| fields[usize::from(v)].name.clone()),
        variants: f.variants.clone(),
    }
}

fn schema_doc(schema: &Schema) -> SchemaDoc {
    let input = |f: &InputField| InputFieldDoc {
        name: f.name.clone(),
        ty: f.ty,
        min: f.min,
        max: f.max,
        variants: f.variants.clone(),
    };
    SchemaDoc {
        game: schema.game.clone(),
        input: schema.input.iter().map(input).collect(),
        kinds: schema
            .kinds
            .iter()
            .map(|k| KindDoc {
                name: k.name.clone(),
                position: k
                    .position
                    .map(|at| at.map(|i| k.fields[usize::from(i)].name.clone())),
                fields: k.fields.iter().map(|f| field_doc(f, &k.fields)).collect(),
            })
            .collect(),
        events: schema
            .events
            .iter()
            .map(|e| EventKindDoc {
                name: e.name.clone(),
                fields: e.fields.iter().map(|f| field_doc(f, &e.fields)).collect(),
            })
            .collect(),
    }
}

fn entity_doc(schema: &Schema, e: &Entity) -> EntityDoc {
    let kind = &schema.kinds[usize::from(e.kind)];
    EntityDoc {
        id: e.id,
        kind: kind.name.clone(),
        values: named(&kind.fields, &e.values),
        entity_hash: format!("{:016x}", entity_hash(e.id, e.kind, &e.values)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn snapshot(bytes: &[u8]) -> Snapshot {
    match ServerMsg::decode(bytes) {
        Ok(ServerMsg::Snapshot(snap)) => snap,
        other => panic!("not a snapshot: {other:?}"),
    }
}

/// Applies `bytes` to `replica` as a client does, and describes the snapshot and what the
/// client then holds.
fn snapshot_doc(
    story: &Story,
    replica: &mut Replica,
    file: String,
    base_file: Option<String>,
    bytes: &[u8],
) -> SnapshotDoc {
    let snap = snapshot(bytes);
    replica
        .apply(&snap, &story.schema, story.tick_rate)
        .unwrap_or_else(|e| panic!("{file} applies: {e}"));
    SnapshotDoc {
        file,
        message: "Snapshot",
        ty: 2,
        base_file,
        tick: snap.tick,
        base_tick: snap.base_tick,
        server_time_ms: snap.server_time_ms,
        state_hash: snap.state_hash,
        ack: snap.ack,
        removed: snap.removed.clone(),
        added: snap.added.iter().map(|e| e.id).collect(),
        changes: hex(&snap.changes),
        entities: replica
            .entities()
            .iter()
            .map(|e| entity_doc(&story.schema, e))
            .collect(),
    }
}

/// A story's files (`<game>-<what>.bin` and `<game>.json`): `(name, bytes)`.
fn files(story: &Story) -> Vec<(String, Vec<u8>)> {
    let s = &story.schema;
    let game = s.game.clone();
    let name = |what: &str| format!("{game}-{what}.bin");
    let mut files = vec![
        (name("joined"), encode(&story.joined).to_vec()),
        (name("keyframe"), story.keyframe.clone()),
        (name("delta"), story.delta.clone()),
        (name("input"), encode(&story.input).to_vec()),
    ];
    if let Some(events) = &story.events {
        files.push((name("events"), events.clone()));
    }
    let mut replica = Replica::new();
    let keyframe = snapshot_doc(story, &mut replica, name("keyframe"), None, &story.keyframe);
    let delta = snapshot_doc(
        story,
        &mut replica,
        name("delta"),
        Some(name("keyframe")),
        &story.delta,
    );
    let events = story.events.as_deref().map(|bytes| {
        let Ok(ServerMsg::Events(events)) = ServerMsg::decode(bytes) else {
            panic!("{game}'s events are an Events");
        };
        EventsDoc {
            file: name("events"),
            message: "Events",
            ty: 10,
            tick: events.tick,
            events: events
                .events
                .iter()
                .map(|ev| {
                    let kind = &s.events[usize::from(ev.kind)];
                    EventDoc {
                        kind: kind.name.clone(),
                        values: named(&kind.fields, &ev.values),
                    }
                })
                .collect(),
        }
    });
    let input_values = s.input.iter().zip(&story.input.values).map(|(f, v)| {
        let v = match *v {
            InputValue::Int(n) => Scalar::Int(n),
            InputValue::Float(x) => Scalar::Float(x),
            InputValue::Bool(b) => Scalar::Bool(b),
        };
        (f.name.clone(), v)
    });
    let doc = Doc {
        protocol_version: PROTOCOL_VERSION,
        about: "Golden vectors of the Tickwire wire, one set per game: this file describes \
                the <game>-*.bin files beside it. Each file is one whole binary WebSocket \
                message, [type, body] in MessagePack. Integer field values are wire values \
                (fixed: steps of 1/scale; angle: steps of 1/scale of a turn). 'entities' is \
                what a client holds once the snapshot is applied (the delta to its \
                'base_file'), in the order the protocol gives; its state hash is \
                'state_hash'. The arena's and the shooter's sets are written by \
                server/tests/vectors.rs from the real games, the every-type set by \
                shared/tests/vectors.rs; decode.py checks them all.",
        games: vec![GameDoc {
            game: game.clone(),
            about: story.about,
            tick_rate: story.tick_rate,
            joined: JoinedDoc {
                file: name("joined"),
                message: "Joined",
                ty: 1,
                room: story.joined.room.clone(),
                players: story
                    .joined
                    .players
                    .iter()
                    .map(|p| PlayerDoc {
                        id: p.id,
                        name: p.name.clone(),
                    })
                    .collect(),
                schema: schema_doc(&story.joined.schema),
            },
            keyframe,
            delta,
            events,
            input: InputDoc {
                file: name("input"),
                message: "Input",
                ty: 3,
                seq: story.input.seq,
                view_tick: story.input.view_tick,
                values: Named(input_values.collect()),
            },
        }],
    };
    let mut json = serde_json::to_string_pretty(&doc).expect("the description serializes");
    json.push('\n');
    files.push((format!("{game}.json"), json.into_bytes()));
    files
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors")
}

#[test]
fn real_game_vectors_are_up_to_date() {
    let files: Vec<(String, Vec<u8>)> = [arena_story(), shooter_story()]
        .iter()
        .flat_map(files)
        .collect();
    if std::env::var_os("TICKWIRE_WRITE_VECTORS").is_some() {
        for (name, bytes) in &files {
            std::fs::write(dir().join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            on_disk == *bytes,
            "shared/vectors/{name} is not what the game and the server write now; if that \
             changed on purpose, run TICKWIRE_WRITE_VECTORS=1 cargo test -p tickwire-server \
             --test vectors"
        );
    }
    // No file of these two sets is left from an older story.
    for entry in std::fs::read_dir(dir()).expect("shared/vectors is checked in") {
        let name = entry.expect("a readable entry").file_name();
        let name = name.to_string_lossy();
        let ours = ["arena", "shooter"]
            .iter()
            .any(|g| name.starts_with(&format!("{g}-")) || name == format!("{g}.json"));
        assert!(
            !ours || files.iter().any(|(n, _)| *n == name),
            "shared/vectors/{name} is no vector of the real games: delete it"
        );
    }
}

/// The vectors carry the games' real schemas, and the arena's frames are PROTOCOL.md's
/// worked example: its hashes and Ana's 34-bit change record.
#[test]
fn the_arena_vectors_are_the_documented_example() {
    let story = arena_story();
    assert_eq!(story.joined.schema, Arena::schema());
    assert_eq!(encode(&story.joined).len(), 280);
    let keyframe = snapshot(&story.keyframe);
    assert_eq!(story.keyframe.len(), 59);
    assert_eq!((keyframe.tick, keyframe.ack), (1200, 300));
    assert_eq!(keyframe.state_hash, 0x7f81_1d05);
    let ids: Vec<u32> = keyframe.added.iter().map(|e| e.id).collect();
    assert_eq!(ids, [ANA, BO]);
    let delta = snapshot(&story.delta);
    assert_eq!(story.delta.len(), 50);
    assert_eq!(
        (delta.tick, delta.base_tick, delta.ack),
        (1201, Some(1200), 301)
    );
    assert_eq!(delta.state_hash, 0x4a0c_feda);
    assert_eq!(delta.removed, [BO]);
    assert_eq!(delta.changes, [0xd4, 0xe3, 0x0d, 0xde, 0xc0]);
    assert_eq!(delta.server_time_ms - keyframe.server_time_ms, 17);
}

/// The shooter's delta adds and removes entities, and its events are a hit and a kill.
#[test]
fn the_shooter_vectors_show_a_shot_and_a_kill() {
    let story = shooter_story();
    assert_eq!(story.joined.schema, Shooter::schema());
    let keyframe = snapshot(&story.keyframe);
    let delta = snapshot(&story.delta);
    let bullets = |snap: &Snapshot| -> Vec<u32> {
        snap.added
            .iter()
            .filter(|e| e.kind == shooter::BULLET)
            .map(|e| e.id)
            .collect()
    };
    let (flying, fired) = (bullets(&keyframe), bullets(&delta));
    assert_eq!(flying.len(), 1);
    assert_eq!(delta.removed, flying, "the bullet that hit is spent");
    assert_eq!(fired.len(), 1);
    assert_eq!(delta.added.len(), 1, "only the new bullet is new");
    let Ok(ServerMsg::Events(events)) = ServerMsg::decode(story.events.as_deref().expect("events"))
    else {
        panic!("an Events");
    };
    assert_eq!(events.tick, delta.tick);
    let kinds: Vec<u8> = events.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [shooter::HIT, shooter::KILL]);
    let ints = |values: &[Value]| -> Vec<i64> { values.iter().map(Value::int).collect() };
    let hit = ints(&events.events[0].values);
    assert_eq!(hit[..3], [ANA.into(), BO.into(), 25]);
    assert_eq!(
        ints(&events.events[1].values),
        [i64::from(ANA), i64::from(BO)]
    );
    // Every kind of the shooter is in the keyframe.
    for kind in [
        shooter::SHIP,
        shooter::BULLET,
        shooter::SCORE,
        shooter::MATCH,
    ] {
        assert!(keyframe.added.iter().any(|e| e.kind == kind), "{kind}");
    }
}
