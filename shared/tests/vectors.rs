//! Golden vectors as files, for client authors in any language: `shared/vectors/`.
//!
//! The directory holds one set of vectors per game: the frames a client meets, each a
//! whole binary WebSocket message, `<game>-joined.bin` (the schema), `<game>-keyframe.bin`,
//! `<game>-delta.bin` (against that keyframe), `<game>-events.bin` and `<game>-input.bin`,
//! and `<game>.json`, which says what each file is and what it decodes to in plain JSON:
//! entities with their values by field name, the state after applying, its state hash, the
//! ack, the tick rate the delta's predictions use. `decode.py` beside them checks every set
//! from the schema alone.
//!
//! The real games' sets, `arena` and `shooter`, are made by the server from the games
//! themselves (`server/tests/vectors.rs`). This file makes the third, `every-type`: a
//! made-up game (`common::every_type_schema`) with every field type, strings and negative
//! and 32-bit values among them, whose delta removes, adds and changes entities of every
//! kind. `vectors_are_up_to_date` builds its files in memory with the real codec and the
//! reference encoder (`Snapshot::delta`) and requires them to be byte-identical. After an
//! intended change of the wire (bump `PROTOCOL_VERSION`), rewrite every set with
//!
//! ```text
//! TICKWIRE_WRITE_VECTORS=1 cargo test -p tickwire-shared --test vectors --test golden
//! TICKWIRE_WRITE_VECTORS=1 cargo test -p tickwire-server --test vectors
//! ```
//!
//! and check the JSON's diff by eye. The other tests hold the vectors to what they claim:
//! they apply with `Replica` to the state written in the JSON, the snapshots are what a
//! server writes from pieces with `wire_snapshot`, and the arena's schema and story in
//! `common` (which the other shared tests use) are those of the server's arena vectors.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{Story, arena_story, every_type_story};
use tickwire_shared::schema::{Code, Field, FieldType, InputType, Schema};
use tickwire_shared::wire_snapshot::{
    Head, write_added_len, write_changes, write_entity, write_head, write_removed,
};
use tickwire_shared::{
    Entity, InputValue, Joined, PROTOCOL_VERSION, PlayerInfo, Replica, ServerMsg, Snapshot, Value,
    encode, entity_hash, state_hash,
};

/// A JSON value, written in a fixed layout so that the file is reproducible byte for byte.
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
}

impl Json {
    fn str(s: &str) -> Self {
        Json::Str(s.to_owned())
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Json::Arr(_) | Json::Obj(_))
    }

    /// Writes the value; arrays and objects of scalars only stay on one line.
    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => write!(out, "{b}").expect("into a String"),
            Json::Int(n) => write!(out, "{n}").expect("into a String"),
            // Debug always writes a '.' or an exponent, and the shortest digits that read
            // back as the same f64, as Python's float() does.
            Json::Float(x) => write!(out, "{x:?}").expect("into a String"),
            Json::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if u32::from(c) < 0x20 => {
                            write!(out, "\\u{:04x}", u32::from(c)).expect("into a String")
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Arr(items) if items.iter().all(Json::is_scalar) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, indent);
                }
                out.push(']');
            }
            Json::Obj(pairs) if pairs.iter().all(|(_, v)| v.is_scalar()) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    Json::str(k).write(out, indent);
                    out.push_str(": ");
                    v.write(out, indent);
                }
                out.push('}');
            }
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, indent + 2);
                    item.write(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push_str("{\n");
                for (i, (k, v)) in pairs.iter().enumerate() {
                    pad(out, indent + 2);
                    Json::str(k).write(out, indent + 2);
                    out.push_str(": ");
                    v.write(out, indent + 2);
                    out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

fn ty_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Fixed => "fixed",
        FieldType::Angle => "angle",
        FieldType::Int => "int",
        FieldType::Bool => "bool",
        FieldType::Enum => "enum",
        FieldType::String => "string",
        FieldType::Entity => "entity",
    }
}

fn field_json(f: &Field, names: &[Field]) -> Json {
    Json::Obj(vec![
        ("name", Json::str(&f.name)),
        ("type", Json::str(ty_name(f.ty))),
        ("scale", Json::Int(f.scale.into())),
        ("min", Json::Int(f.min)),
        ("max", Json::Int(f.max)),
        (
            "code",
            Json::str(match f.code {
                Code::Steady => "steady",
                Code::Busy => "busy",
            }),
        ),
        ("narrow", Json::Int(f.narrow.into())),
        ("wide", Json::Int(f.wide.into())),
        (
            "predicted_by",
            match f.predict {
                Some(v) => Json::str(&names[usize::from(v)].name),
                None => Json::Null,
            },
        ),
        (
            "variants",
            Json::Arr(f.variants.iter().map(|v| Json::str(v)).collect()),
        ),
    ])
}

fn schema_json(schema: &Schema) -> Json {
    let input = schema.input.iter().map(|f| {
        let ty = match f.ty {
            InputType::Float => "float",
            InputType::Angle => "angle",
            InputType::Int => "int",
            InputType::Bool => "bool",
            InputType::Enum => "enum",
        };
        Json::Obj(vec![
            ("name", Json::str(&f.name)),
            ("type", Json::str(ty)),
            ("min", Json::Float(f.min)),
            ("max", Json::Float(f.max)),
            (
                "variants",
                Json::Arr(f.variants.iter().map(|v| Json::str(v)).collect()),
            ),
        ])
    });
    let kinds = schema.kinds.iter().map(|k| {
        let position = match k.position {
            Some(at) => Json::Arr(
                at.iter()
                    .map(|&i| Json::str(&k.fields[usize::from(i)].name))
                    .collect(),
            ),
            None => Json::Null,
        };
        Json::Obj(vec![
            ("name", Json::str(&k.name)),
            ("position", position),
            (
                "fields",
                Json::Arr(k.fields.iter().map(|f| field_json(f, &k.fields)).collect()),
            ),
        ])
    });
    let events = schema.events.iter().map(|e| {
        Json::Obj(vec![
            ("name", Json::str(&e.name)),
            (
                "fields",
                Json::Arr(e.fields.iter().map(|f| field_json(f, &e.fields)).collect()),
            ),
        ])
    });
    Json::Obj(vec![
        ("game", Json::str(&schema.game)),
        ("input", Json::Arr(input.collect())),
        ("kinds", Json::Arr(kinds.collect())),
        ("events", Json::Arr(events.collect())),
    ])
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Int(n) => Json::Int(*n),
        Value::Str(s) => Json::str(s),
    }
}

fn named_values(fields: &[Field], values: &[Value]) -> Json {
    let pairs = fields
        .iter()
        .zip(values)
        .map(|(f, v)| (leak(&f.name), value_json(v)));
    Json::Obj(pairs.collect())
}

/// Field names as object keys: the schemas live for the whole test anyway.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn entity_json(schema: &Schema, e: &Entity) -> Json {
    let kind = &schema.kinds[usize::from(e.kind)];
    Json::Obj(vec![
        ("id", Json::Int(e.id.into())),
        ("kind", Json::str(&kind.name)),
        ("values", named_values(&kind.fields, &e.values)),
        // 64 bits do not survive every JSON reader as a number.
        (
            "entity_hash",
            Json::Str(format!("{:016x}", entity_hash(e.id, e.kind, &e.values))),
        ),
    ])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn snapshot_json(
    schema: &Schema,
    file: String,
    base: Option<String>,
    snap: &Snapshot,
    held: &[Entity],
) -> Json {
    let ids = |ids: &[u32]| Json::Arr(ids.iter().map(|&id| Json::Int(id.into())).collect());
    Json::Obj(vec![
        ("file", Json::Str(file)),
        ("message", Json::str("Snapshot")),
        ("type", Json::Int(2)),
        ("base_file", base.map_or(Json::Null, Json::Str)),
        ("tick", Json::Int(snap.tick as i64)),
        (
            "base_tick",
            snap.base_tick.map_or(Json::Null, |t| Json::Int(t as i64)),
        ),
        ("server_time_ms", Json::Int(snap.server_time_ms as i64)),
        ("state_hash", Json::Int(snap.state_hash.into())),
        ("ack", Json::Int(snap.ack.into())),
        ("removed", ids(&snap.removed)),
        (
            "added",
            ids(&snap.added.iter().map(|e| e.id).collect::<Vec<_>>()),
        ),
        ("changes", Json::Str(hex(&snap.changes))),
        (
            "entities",
            Json::Arr(held.iter().map(|e| entity_json(schema, e)).collect()),
        ),
    ])
}

fn joined(story: &Story) -> Joined {
    Joined {
        room: story.room.into(),
        players: vec![PlayerInfo {
            id: 3,
            name: "bo".into(),
        }],
        schema: story.schema.clone(),
    }
}

/// What the every-type story is, for its JSON.
const EVERY_TYPE_ABOUT: &str = "A made-up game with every field type (common::every_type_schema \
     in shared/tests/): not a game the server runs, but a schema that uses every field type, \
     both delta codes, custom widths, velocities in tenths, strings, negative values and entity \
     ids from 2^31 up, at 30 ticks per second. Its delta spans three ticks and removes, adds and \
     changes entities of every kind; its events carry entity ids, ints, a string and fixed \
     values. Written by shared/tests/vectors.rs with the reference encoder (Snapshot::delta).";

/// This file's set of the directory, built from the every-type story: `(name, bytes)`.
fn build() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut games = Vec::new();
    let story = every_type_story();
    let game = story.schema.game.clone();
    let name = |what: &str| format!("{game}-{what}.bin");
    let s = &story.schema;
    let joined = joined(&story);
    files.push((name("joined"), encode(&joined).to_vec()));
    files.push((name("keyframe"), encode(&story.keyframe).to_vec()));
    files.push((name("delta"), encode(&story.delta).to_vec()));
    files.push((name("events"), encode(&story.events).to_vec()));
    files.push((name("input"), encode(&story.input).to_vec()));

    let players = joined.players.iter().map(|p| {
        Json::Obj(vec![
            ("id", Json::Int(p.id.into())),
            ("name", Json::str(&p.name)),
        ])
    });
    let events = story.events.events.iter().map(|ev| {
        let kind = &s.events[usize::from(ev.kind)];
        Json::Obj(vec![
            ("kind", Json::str(&kind.name)),
            ("values", named_values(&kind.fields, &ev.values)),
        ])
    });
    let inputs = s.input.iter().zip(&story.input.values).map(|(f, v)| {
        let v = match *v {
            InputValue::Int(n) => Json::Int(n),
            InputValue::Float(x) => Json::Float(x),
            InputValue::Bool(b) => Json::Bool(b),
        };
        (leak(&f.name), v)
    });
    games.push(Json::Obj(vec![
        ("game", Json::str(&game)),
        ("about", Json::str(EVERY_TYPE_ABOUT)),
        ("tick_rate", Json::Int(story.tick_rate.into())),
        (
            "joined",
            Json::Obj(vec![
                ("file", Json::Str(name("joined"))),
                ("message", Json::str("Joined")),
                ("type", Json::Int(1)),
                ("room", Json::str(story.room)),
                ("players", Json::Arr(players.collect())),
                ("schema", schema_json(s)),
            ]),
        ),
        (
            "keyframe",
            snapshot_json(
                s,
                name("keyframe"),
                None,
                &story.keyframe,
                &story.keyframe.added,
            ),
        ),
        (
            "delta",
            snapshot_json(
                s,
                name("delta"),
                Some(name("keyframe")),
                &story.delta,
                &story.after_delta,
            ),
        ),
        (
            "events",
            Json::Obj(vec![
                ("file", Json::Str(name("events"))),
                ("message", Json::str("Events")),
                ("type", Json::Int(10)),
                ("tick", Json::Int(story.events.tick as i64)),
                ("events", Json::Arr(events.collect())),
            ]),
        ),
        (
            "input",
            Json::Obj(vec![
                ("file", Json::Str(name("input"))),
                ("message", Json::str("Input")),
                ("type", Json::Int(3)),
                ("seq", Json::Int(story.input.seq.into())),
                ("view_tick", Json::Int(story.input.view_tick as i64)),
                ("values", Json::Obj(inputs.collect())),
            ]),
        ),
    ]));
    let doc = Json::Obj(vec![
        ("protocol_version", Json::Int(PROTOCOL_VERSION.into())),
        (
            "about",
            // The same words as the real games' files (server/tests/vectors.rs).
            Json::str(
                "Golden vectors of the Tickwire wire, one set per game: this file describes \
                 the <game>-*.bin files beside it. Each file is one whole binary WebSocket \
                 message, [type, body] in MessagePack. Integer field values are wire values \
                 (fixed: steps of 1/scale; angle: steps of 1/scale of a turn). 'entities' is \
                 what a client holds once the snapshot is applied (the delta to its \
                 'base_file'), in the order the protocol gives; its state hash is \
                 'state_hash'. The arena's and the shooter's sets are written by \
                 server/tests/vectors.rs from the real games, the every-type set by \
                 shared/tests/vectors.rs; decode.py checks them all.",
            ),
        ),
        ("games", Json::Arr(games)),
    ]);
    let mut json = String::new();
    doc.write(&mut json, 0);
    json.push('\n');
    files.push(("every-type.json".into(), json.into_bytes()));
    files
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

#[test]
fn vectors_are_up_to_date() {
    let files = build();
    if std::env::var_os("TICKWIRE_WRITE_VECTORS").is_some() {
        for (name, bytes) in &files {
            std::fs::write(dir().join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            on_disk == *bytes,
            "{name} is not what the codec writes; if the wire changed on purpose, run \
             TICKWIRE_WRITE_VECTORS=1 cargo test -p tickwire-shared --test vectors"
        );
    }
    // No file is left from an older set of vectors: every file is decode.py, one of this
    // set's, or of a real game's set (which server/tests/vectors.rs checks likewise).
    for entry in std::fs::read_dir(dir()).expect("shared/vectors is checked in") {
        let name = entry.expect("a readable entry").file_name();
        let name = name.to_string_lossy();
        let real_game = ["arena", "shooter"]
            .iter()
            .any(|g| name.starts_with(&format!("{g}-")) || name == format!("{g}.json"));
        assert!(
            name == "decode.py" || real_game || files.iter().any(|(n, _)| *n == name),
            "{name} is no vector: delete it or write it here"
        );
    }
}

fn decode_file(name: &str) -> ServerMsg {
    let (_, bytes) = build()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is a vector"));
    ServerMsg::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A client that knows no game reads the schema from the `Joined` and applies the keyframe
/// and the delta with it, to the entities and hashes the JSON states.
#[test]
fn vectors_apply_to_a_replica() {
    let story = every_type_story();
    let game = &story.schema.game;
    let ServerMsg::Joined(joined) = decode_file(&format!("{game}-joined.bin")) else {
        panic!("{game}-joined.bin is a Joined");
    };
    assert_eq!(joined.schema, story.schema);
    assert_eq!(joined.schema.check(), Ok(()));
    let mut replica = Replica::new();
    for (what, held) in [
        ("keyframe", &story.keyframe.added),
        ("delta", &story.after_delta),
    ] {
        let ServerMsg::Snapshot(snap) = decode_file(&format!("{game}-{what}.bin")) else {
            panic!("{game}-{what}.bin is a snapshot");
        };
        replica
            .apply(&snap, &joined.schema, story.tick_rate)
            .unwrap_or_else(|e| panic!("{game}-{what}.bin: {e}"));
        assert_eq!(replica.entities(), &held[..], "{game}-{what}.bin");
        assert_eq!(state_hash(replica.entities()), snap.state_hash);
    }
    let ServerMsg::Events(events) = decode_file(&format!("{game}-events.bin")) else {
        panic!("{game}-events.bin is an Events");
    };
    assert_eq!(events, story.events);
    // The input travels the other way.
    let (_, input) = build()
        .into_iter()
        .find(|(n, _)| *n == format!("{game}-input.bin"))
        .expect("the input is a vector");
    assert_eq!(
        tickwire_shared::ClientMsg::decode(&input).expect("the input decodes"),
        tickwire_shared::ClientMsg::Input(story.input.clone())
    );
}

/// What the stories say they hold: the every-type delta removes, adds and changes
/// entities of every kind, and the arena's delta is the worked example of
/// `common::ANA_WALKS`.
#[test]
fn the_stories_are_what_they_say() {
    let arena = arena_story();
    assert_eq!(arena.delta.changes, common::ANA_WALKS);
    assert_eq!(arena.delta.removed, [3]);
    let every_type = every_type_story();
    assert_eq!(every_type.schema.check(), Ok(()));
    assert_eq!(every_type.delta.removed, [3, common::G + 2]);
    let added: Vec<u32> = every_type.delta.added.iter().map(|e| e.id).collect();
    assert_eq!(added, [9, common::G + 4, common::G + 5]);
    // Every kind has an entity in the keyframe, and every field type is in some kind.
    let kinds: Vec<u8> = every_type.keyframe.added.iter().map(|e| e.kind).collect();
    assert!((0..4).all(|k| kinds.contains(&k)), "{kinds:?}");
    for ty in [
        FieldType::Fixed,
        FieldType::Angle,
        FieldType::Int,
        FieldType::Bool,
        FieldType::Enum,
        FieldType::String,
        FieldType::Entity,
    ] {
        assert!(
            every_type
                .schema
                .kinds
                .iter()
                .any(|k| k.fields.iter().any(|f| f.ty == ty))
        );
    }
    // Ana's score is the one survivor that did not change: its record is one 0 bit.
    assert_eq!(every_type.keyframe.added[3], every_type.after_delta[2]);
}

/// A server writes its frames from pieces (`wire_snapshot`); for both stories, with
/// strings and negative integers in every width, those are the codec's bytes.
#[test]
fn vectors_are_what_a_server_writes_from_pieces() {
    for story in [arena_story(), every_type_story()] {
        for snap in [&story.keyframe, &story.delta] {
            let mut buf = Vec::new();
            write_head(
                &mut buf,
                &Head {
                    tick: snap.tick,
                    base_tick: snap.base_tick,
                    server_time_ms: snap.server_time_ms,
                    state_hash: snap.state_hash,
                    ack: snap.ack,
                },
            );
            write_removed(&mut buf, &snap.removed);
            write_added_len(&mut buf, snap.added.len());
            for e in &snap.added {
                write_entity(&mut buf, e.id, e.kind, &e.values);
            }
            write_changes(&mut buf, &snap.changes);
            assert_eq!(buf, encode(snap).to_vec(), "{snap:?}");
        }
    }
}

/// The arena's schema and story in `common`, which the shared tests use, are the real
/// arena's: the server writes `arena-*.bin` from `Arena::schema()` and the game itself
/// (`server/tests/vectors.rs`), and those files hold exactly the copy and its frames.
#[test]
fn the_arena_copy_is_the_real_arena() {
    let read =
        |name: &str| std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ServerMsg::Joined(joined) =
        ServerMsg::decode(&read("arena-joined.bin")).expect("arena-joined.bin decodes")
    else {
        panic!("arena-joined.bin is a Joined");
    };
    assert_eq!(
        joined.schema,
        common::arena_schema(),
        "common::arena_schema() is no longer the real arena's: copy Arena::schema() again"
    );
    let story = arena_story();
    assert_eq!(read("arena-keyframe.bin"), encode(&story.keyframe).to_vec());
    assert_eq!(read("arena-delta.bin"), encode(&story.delta).to_vec());
    let mut replica = Replica::new();
    for snap in [&story.keyframe, &story.delta] {
        replica
            .apply(snap, &joined.schema, story.tick_rate)
            .expect("the arena's frames apply");
    }
    assert_eq!(replica.entities(), &story.after_delta[..]);
}
