//! Property tests: the decoders take any bytes without panicking, and what they accept
//! survives a round trip.
//!
//! Invariant, for `ClientMsg::decode` and `ServerMsg::decode` alike: on any input the
//! decoder returns, without panicking, either a `DecodeError` or a message; and when it
//! returns a message, encoding that message with the codec and decoding the frame again
//! gives the same message, field for field and bit for bit (the second encoding equals the
//! first). Messages with a NaN field are compared by their bytes only, because NaN is not
//! equal to itself under `PartialEq`.
//!
//! Fully random bytes rarely get past the envelope, so most inputs here are near misses
//! built to reach the body decoders:
//! - valid encodings of random valid messages, which must decode to the message itself,
//! - those encodings cut short, which must be refused (MessagePack is self-delimiting, so
//!   no strict prefix of a frame is a whole frame),
//! - those encodings with a few bytes flipped, inserted or removed,
//! - those encodings parsed as MessagePack values with one value replaced by a random one,
//! - random MessagePack values (nested arrays and maps, integers in every width, floats
//!   with NaN and infinities, strings that may not be UTF-8, binaries, extensions) in a
//!   `[type, body]` envelope with a type number from 0 to 255.
//!
//! Chat text is the one field that is not always the same MessagePack type: it is written
//! as a str when it is UTF-8 and as a bin otherwise, and read from either, so a str or a
//! bin holding the same bytes decodes to the same text (`chat_text_*` below). Input values
//! are read from any integer, float or bool: a float32 is read as the same number and
//! written back as a float64, so a frame with one is not canonical, but the message it
//! decodes to round-trips. A snapshot's
//! `changes` is always written as a bin; the reader also takes a str or an array of bytes
//! in its place, which re-encode as the bin, so the invariant holds for those too.
//!
//! The cargo-fuzz targets in `fuzz/` check the same invariant with coverage guidance. An
//! input the fuzzer finds to break it belongs at the end of this file, as a plain `#[test]`
//! with its bytes.

mod common;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use tickwire_shared::schema::{Code, EventKind, Field, FieldType, InputField, Kind, Schema};
use tickwire_shared::{
    Chat, ChatAck, ChatMessage, ChatText, ClientMsg, Create, DecodeError, Entity, Error, ErrorCode,
    Events, GameEvent, Hello, Input, InputValue, Join, Joined, Leave, Ping, PlayerInfo,
    PlayerJoined, PlayerLeft, Pong, Resume, Resumed, ServerMsg, Snapshot, Value, Welcome,
    encode_client, encode_server,
};

/// One direction of the wire: its message type and its codec.
trait Side: Clone + PartialEq + std::fmt::Debug {
    fn decode(frame: &[u8]) -> Result<Self, DecodeError>;
    fn encode(&self) -> Vec<u8>;
}

impl Side for ClientMsg {
    fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        ClientMsg::decode(frame)
    }
    fn encode(&self) -> Vec<u8> {
        encode_client(self).to_vec()
    }
}

impl Side for ServerMsg {
    fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        ServerMsg::decode(frame)
    }
    fn encode(&self) -> Vec<u8> {
        encode_server(self).to_vec()
    }
}

/// The invariant for one frame: an error, or a message that round-trips. Returns the
/// message so that callers can state more about it.
fn check<M: Side>(frame: &[u8]) -> Result<Option<M>, TestCaseError> {
    let msg = match M::decode(frame) {
        Ok(msg) => msg,
        Err(err) => {
            // The server answers with these; they must not panic either.
            let _ = err.to_string();
            let _ = err.kind();
            prop_assert!(
                err.code() == ErrorCode::MALFORMED || err.code() == ErrorCode::UNKNOWN_TYPE,
                "unexpected code {:?} for {}",
                err.code(),
                err
            );
            return Ok(None);
        }
    };
    let bytes = msg.encode();
    let again = M::decode(&bytes).map_err(|err| {
        TestCaseError::fail(format!(
            "{msg:?}, decoded from {frame:02x?}, re-encodes to {bytes:02x?}, which fails: {err}"
        ))
    })?;
    prop_assert_eq!(
        again.encode(),
        bytes,
        "second encoding of {:?} differs",
        msg
    );
    // Any NaN field makes `msg != msg`; the bytes above already compared those bit for bit.
    if msg.clone() == msg {
        prop_assert_eq!(&again, &msg);
    }
    Ok(Some(msg))
}

/// Both directions decode the frame; the server only ever reads client messages and the
/// bots only server messages, but either must survive whatever arrives.
fn check_both(frame: &[u8]) -> Result<(), TestCaseError> {
    check::<ClientMsg>(frame)?;
    check::<ServerMsg>(frame)?;
    Ok(())
}

/// A valid message must come back as itself.
fn check_valid<M: Side>(msg: &M) -> Result<(), TestCaseError> {
    let frame = msg.encode();
    let back = check::<M>(&frame)?;
    let back = back.ok_or_else(|| TestCaseError::fail(format!("{msg:?} did not decode")))?;
    prop_assert_eq!(back.encode(), frame);
    if msg.clone() == *msg {
        prop_assert_eq!(&back, msg);
    }
    Ok(())
}

// Generators of valid messages. Floats come from raw bits too, so NaNs with any payload,
// signalling NaNs and subnormals all show up.

fn any_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => any::<f32>(),
        1 => any::<u32>().prop_map(f32::from_bits),
        1 => prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0]),
    ]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        1 => any::<u64>().prop_map(f64::from_bits),
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]),
    ]
}

/// Mostly short strings; some long enough for the str8 and str16 forms.
fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![4 => ".{0,24}", 1 => "[a-z]{30,300}"]
}

/// Chat text: mostly UTF-8 (written as a str), else any bytes (mostly not UTF-8, written
/// as a bin), some long enough for the str16 and bin16 forms.
fn any_chat_text() -> impl Strategy<Value = ChatText> {
    prop_oneof![
        3 => any_string().prop_map(|text| ChatText(text.into_bytes())),
        2 => prop::collection::vec(any::<u8>(), 0..40).prop_map(ChatText),
        1 => prop::collection::vec(any::<u8>(), 250..300).prop_map(ChatText),
    ]
}

/// An input value of any of the three types, integers of every width.
fn any_input_value() -> impl Strategy<Value = InputValue> {
    prop_oneof![
        any_int().prop_map(InputValue::Int),
        any_f64().prop_map(InputValue::Float),
        any_f32().prop_map(|x| InputValue::Float(x.into())),
        any::<bool>().prop_map(InputValue::Bool),
    ]
}

fn any_client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (any::<u16>(), any_string())
            .prop_map(|(version, name)| ClientMsg::Hello(Hello { version, name })),
        (
            prop::option::of(any_string()),
            prop::option::of(any_string())
        )
            .prop_map(|(room, key)| ClientMsg::Join(Join { room, key })),
        Just(ClientMsg::Leave(Leave {})),
        (
            any::<u32>(),
            any::<u64>(),
            prop::collection::vec(any_input_value(), 0..18)
        )
            .prop_map(|(seq, view_tick, values)| ClientMsg::Input(Input {
                seq,
                view_tick,
                values,
            })),
        any_f64().prop_map(|client_time| ClientMsg::Ping(Ping { client_time })),
        (
            any_string(),
            any::<bool>(),
            prop::option::of(any_string()),
            any::<Option<u32>>()
        )
            .prop_map(|(room, private, key, capacity)| ClientMsg::Create(Create {
                room,
                private,
                key,
                capacity,
            })),
        any_string().prop_map(|token| ClientMsg::Resume(Resume { token })),
        (any::<u32>(), any_chat_text()).prop_map(|(id, text)| ClientMsg::Chat(Chat { id, text })),
    ]
}

/// Signed fields: mostly what a server sends (small, either sign), sometimes anything, so
/// every width of MessagePack integer, negative and positive, shows up.
fn any_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        2 => -600..600i32,
        1 => 0..200_001i32,
        1 => prop::sample::select(vec![i32::MIN, -32_769, -129, -33, -32, 127, 128, i32::MAX]),
        1 => any::<i32>(),
    ]
}

/// A value as an entity or an event carries it: an integer (mostly what a server sends,
/// sometimes anything within i64, so every MessagePack width shows up) or a string.
fn any_value_of_entity() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => any_i32().prop_map(|n| Value::Int(n.into())),
        1 => any::<u32>().prop_map(|n| Value::Int(n.into())),
        1 => any::<i64>().prop_map(Value::Int),
        2 => any_string().prop_map(Value::Str),
    ]
}

fn any_entity() -> impl Strategy<Value = Entity> {
    (
        any::<u32>(),
        any::<u8>(),
        prop::collection::vec(any_value_of_entity(), 0..12),
    )
        .prop_map(|(id, kind, values)| Entity { id, kind, values })
}

fn any_event() -> impl Strategy<Value = GameEvent> {
    (
        any::<u8>(),
        prop::collection::vec(any_value_of_entity(), 0..6),
    )
        .prop_map(|(kind, values)| GameEvent { kind, values })
}

/// A schema: one of the examples, or one of random parts (the codec does not check a
/// schema; `Schema::check` does, and a client calls it).
/// A field of any type, with anything in its parts.
fn any_field() -> impl Strategy<Value = Field> {
    let ty = prop::sample::select(vec![
        FieldType::Fixed,
        FieldType::Angle,
        FieldType::Int,
        FieldType::Bool,
        FieldType::Enum,
        FieldType::String,
        FieldType::Entity,
    ]);
    (
        any_string(),
        ty,
        any::<u32>(),
        any::<i64>(),
        any::<i64>(),
        any::<bool>(),
        any::<u8>(),
        any::<u8>(),
        any::<Option<u8>>(),
        prop::collection::vec(any_string(), 0..3),
    )
        .prop_map(
            |(name, ty, scale, min, max, busy, narrow, wide, predict, variants)| {
                let mut f = match ty {
                    FieldType::Enum => Field::enumeration(&name, &[]),
                    _ => Field::entity(&name),
                };
                f.ty = ty;
                f.scale = scale;
                f.min = min;
                f.max = max;
                f.code = if busy { Code::Busy } else { Code::Steady };
                f.narrow = narrow;
                f.wide = wide;
                f.predict = predict;
                f.variants = variants;
                f
            },
        )
}

fn any_schema() -> impl Strategy<Value = Schema> {
    let fields = || prop::collection::vec(any_field(), 0..5);
    let kind =
        (any_string(), any::<Option<[u8; 2]>>(), fields()).prop_map(|(name, position, fields)| {
            let mut k = Kind::new(&name);
            k.position = position;
            k.fields = fields;
            k
        });
    let event = (any_string(), fields()).prop_map(|(name, fields)| {
        let mut e = EventKind::new(&name);
        e.fields = fields;
        e
    });
    let input = (any_string(), 0..5u8, any_f64(), any_f64()).prop_map(|(name, ty, min, max)| {
        let mut f = match ty {
            0 => InputField::float(&name, 0.0, 1.0),
            1 => InputField::angle(&name),
            2 => InputField::int(&name, 0, 1),
            3 => InputField::boolean(&name),
            _ => InputField::enumeration(&name, &["a", "b"]),
        };
        f.min = min;
        f.max = max;
        f
    });
    let random = (
        any_string(),
        prop::collection::vec(input, 0..4),
        prop::collection::vec(kind, 0..3),
        prop::collection::vec(event, 0..3),
    )
        .prop_map(|(game, input, kinds, events)| Schema {
            game,
            input,
            kinds,
            events,
        });
    prop_oneof![
        1 => Just(common::arena_schema()),
        1 => Just(common::shooter_schema()),
        2 => random,
    ]
}

/// Any snapshot, well formed or not as a snapshot (the codec does not look inside
/// `changes`, nor check entities against a schema, nor that a keyframe has no `removed`):
/// keyframes and deltas, with up to 17 entities in a list (so the array16 form appears now and then) and `changes` up to
/// 300 bytes (bin8 and bin16).
fn any_snapshot() -> impl Strategy<Value = Snapshot> {
    (
        any::<u64>(),
        prop::option::of(any::<u64>()),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..18),
        prop::collection::vec(any_entity(), 0..18),
        prop_oneof![
            4 => prop::collection::vec(any::<u8>(), 0..40),
            1 => prop::collection::vec(any::<u8>(), 250..300),
        ],
    )
        .prop_map(
            |(tick, base_tick, server_time_ms, state_hash, ack, removed, added, changes)| {
                Snapshot {
                    tick,
                    base_tick,
                    server_time_ms,
                    state_hash,
                    ack,
                    removed,
                    added,
                    changes,
                }
            },
        )
}

fn any_server_msg() -> impl Strategy<Value = ServerMsg> {
    let info = || (any::<u32>(), any_string()).prop_map(|(id, name)| PlayerInfo { id, name });
    prop_oneof![
        (
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any_string(),
            any_string()
        )
            .prop_map(
                |(player_id, tick_rate, protocol_version, resume_token, user_id)| {
                    ServerMsg::Welcome(Welcome {
                        player_id,
                        tick_rate,
                        protocol_version,
                        resume_token,
                        user_id,
                    })
                }
            ),
        (
            any_string(),
            prop::collection::vec(info(), 0..4),
            any_schema()
        )
            .prop_map(|(room, players, schema)| ServerMsg::Joined(Joined {
                room,
                players,
                schema
            })),
        any_snapshot().prop_map(ServerMsg::Snapshot),
        (any_f64(), any::<u64>()).prop_map(|(client_time, server_tick)| ServerMsg::Pong(Pong {
            client_time,
            server_tick,
        })),
        (any::<u16>(), any_string(), any::<Option<u8>>()).prop_map(
            |(code, message, in_reply_to)| ServerMsg::Error(Error {
                code: ErrorCode(code),
                message,
                in_reply_to,
            })
        ),
        (any::<u32>(), any_string())
            .prop_map(|(id, name)| ServerMsg::PlayerJoined(PlayerJoined { id, name })),
        (any::<u32>(), any_string())
            .prop_map(|(id, name)| ServerMsg::PlayerLeft(PlayerLeft { id, name })),
        (
            any::<u32>(),
            prop::option::of(any_string()),
            prop::collection::vec(info(), 0..4),
            any_string(),
            prop::option::of(any_schema()),
        )
            .prop_map(|(player_id, room, players, resume_token, schema)| {
                ServerMsg::Resumed(Resumed {
                    player_id,
                    room,
                    players,
                    resume_token,
                    schema,
                })
            }),
        (any::<u64>(), prop::collection::vec(any_event(), 0..18))
            .prop_map(|(tick, events)| ServerMsg::Events(Events { tick, events })),
        (
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            prop::option::of(any_string())
        )
            .prop_map(
                |(id, server_id, time_ms, refused)| ServerMsg::ChatAck(ChatAck {
                    id,
                    server_id,
                    time_ms,
                    refused,
                })
            ),
        (
            any::<u64>(),
            any::<u32>(),
            any_string(),
            any_string(),
            any::<u64>()
        )
            .prop_map(|(server_id, from, name, text, time_ms)| {
                ServerMsg::ChatMessage(ChatMessage {
                    server_id,
                    from,
                    name,
                    text,
                    time_ms,
                })
            }),
    ]
}

// Byte-level near misses.

/// One change to a frame's bytes.
#[derive(Debug, Clone)]
enum Edit {
    /// XOR a byte with a non-zero mask.
    Flip(Index, u8),
    /// Put a byte in before the one at the index (or at the end).
    Insert(Index, u8),
    /// Take a byte out.
    Remove(Index),
}

fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), 1..=u8::MAX).prop_map(|(at, mask)| Edit::Flip(at, mask)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        1 => any::<Index>().prop_map(Edit::Remove),
    ]
}

fn apply(frame: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        match *edit {
            Edit::Flip(ref at, mask) if !frame.is_empty() => {
                let at = at.index(frame.len());
                frame[at] ^= mask;
            }
            Edit::Insert(ref at, byte) => {
                let at = at.index(frame.len() + 1);
                frame.insert(at, byte);
            }
            Edit::Remove(ref at) if !frame.is_empty() => {
                frame.remove(at.index(frame.len()));
            }
            _ => {}
        }
    }
}

// Value-level near misses: a MessagePack value that remembers how it is written, so the
// same value can come in every width the format allows (a 3 as fixint or as uint64, a
// short string as str16), and strings can hold bytes that are not UTF-8.

/// How many steps above the smallest encoding of a value to write it; clamped to the
/// widest form there is.
type Form = usize;

#[derive(Debug, Clone)]
enum Mp {
    Nil,
    Bool(bool),
    Uint(u64, Form),
    /// Written with the signed markers (or a fixint), whatever the sign.
    Int(i64, Form),
    F32(f32),
    F64(f64),
    Str(Vec<u8>, Form),
    Bin(Vec<u8>, Form),
    Ext(i8, Vec<u8>),
    Array(Vec<Mp>, Form),
    Map(Vec<(Mp, Mp)>, Form),
}

impl Mp {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Mp::Nil => out.push(0xc0),
            Mp::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
            Mp::Uint(v, form) => {
                let v = *v;
                let mut forms = Vec::new();
                if v < 0x80 {
                    forms.push(vec![v as u8]);
                }
                if let Ok(v) = u8::try_from(v) {
                    forms.push(header(0xcc, &[v]));
                }
                if let Ok(v) = u16::try_from(v) {
                    forms.push(header(0xcd, &v.to_be_bytes()));
                }
                if let Ok(v) = u32::try_from(v) {
                    forms.push(header(0xce, &v.to_be_bytes()));
                }
                forms.push(header(0xcf, &v.to_be_bytes()));
                pick(out, &forms, *form);
            }
            Mp::Int(v, form) => {
                let v = *v;
                let mut forms = Vec::new();
                if (-32..0x80).contains(&v) {
                    forms.push(vec![v as u8]);
                }
                if let Ok(v) = i8::try_from(v) {
                    forms.push(header(0xd0, &v.to_be_bytes()));
                }
                if let Ok(v) = i16::try_from(v) {
                    forms.push(header(0xd1, &v.to_be_bytes()));
                }
                if let Ok(v) = i32::try_from(v) {
                    forms.push(header(0xd2, &v.to_be_bytes()));
                }
                forms.push(header(0xd3, &v.to_be_bytes()));
                pick(out, &forms, *form);
            }
            Mp::F32(v) => out.extend(header(0xca, &v.to_bits().to_be_bytes())),
            Mp::F64(v) => out.extend(header(0xcb, &v.to_bits().to_be_bytes())),
            Mp::Str(bytes, form) => {
                pick(out, &len_forms(bytes.len(), Some(0xa0), 0xd9), *form);
                out.extend(bytes);
            }
            Mp::Bin(bytes, form) => {
                pick(out, &len_forms(bytes.len(), None, 0xc4), *form);
                out.extend(bytes);
            }
            Mp::Ext(kind, data) => {
                let fixed = [1, 2, 4, 8, 16].iter().position(|&n| n == data.len());
                match (fixed, u8::try_from(data.len())) {
                    (Some(i), _) => out.push(0xd4 + i as u8),
                    (None, Ok(len)) => out.extend([0xc7, len]),
                    (None, Err(_)) => out.extend(header(0xc8, &(data.len() as u16).to_be_bytes())),
                }
                out.push(*kind as u8);
                out.extend(data);
            }
            Mp::Array(items, form) => {
                pick(out, &count_forms(items.len(), 0x90, 0xdc), *form);
                for item in items {
                    item.write(out);
                }
            }
            Mp::Map(pairs, form) => {
                pick(out, &count_forms(pairs.len(), 0x80, 0xde), *form);
                for (key, value) in pairs {
                    key.write(out);
                    value.write(out);
                }
            }
        }
    }

    /// Reads a value back from bytes the codec wrote, in the smallest forms.
    fn from_value(value: &rmpv::Value) -> Mp {
        use rmpv::Value;
        match value {
            Value::Nil => Mp::Nil,
            Value::Boolean(b) => Mp::Bool(*b),
            Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
                (Some(u), _) => Mp::Uint(u, 0),
                (None, Some(s)) => Mp::Int(s, 0),
                (None, None) => unreachable!("an integer is a u64 or an i64"),
            },
            Value::F32(v) => Mp::F32(*v),
            Value::F64(v) => Mp::F64(*v),
            Value::String(s) => Mp::Str(s.as_bytes().to_vec(), 0),
            Value::Binary(b) => Mp::Bin(b.clone(), 0),
            Value::Array(items) => Mp::Array(items.iter().map(Mp::from_value).collect(), 0),
            Value::Map(pairs) => Mp::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (Mp::from_value(k), Mp::from_value(v)))
                    .collect(),
                0,
            ),
            Value::Ext(kind, data) => Mp::Ext(*kind, data.clone()),
        }
    }

    fn node_count(&self) -> usize {
        1 + match self {
            Mp::Array(items, _) => items.iter().map(Mp::node_count).sum(),
            Mp::Map(pairs, _) => pairs
                .iter()
                .map(|(k, v)| k.node_count() + v.node_count())
                .sum(),
            _ => 0,
        }
    }

    /// Replaces the `n`th node in pre-order with `with`; returns how many nodes it passed
    /// when `n` lies beyond this subtree.
    fn replace(&mut self, n: usize, with: &Mp) -> Result<(), usize> {
        if n == 0 {
            *self = with.clone();
            return Ok(());
        }
        let mut n = n - 1;
        let children: Vec<&mut Mp> = match self {
            Mp::Array(items, _) => items.iter_mut().collect(),
            Mp::Map(pairs, _) => pairs.iter_mut().flat_map(|(k, v)| [k, v]).collect(),
            _ => Vec::new(),
        };
        let mut passed = 1;
        for child in children {
            match child.replace(n, with) {
                Ok(()) => return Ok(()),
                Err(size) => {
                    n -= size;
                    passed += size;
                }
            }
        }
        Err(passed)
    }
}

fn header(marker: u8, rest: &[u8]) -> Vec<u8> {
    let mut bytes = vec![marker];
    bytes.extend_from_slice(rest);
    bytes
}

/// Writes the form `form` steps above the smallest, or the widest there is.
fn pick(out: &mut Vec<u8>, forms: &[Vec<u8>], form: Form) {
    out.extend(&forms[form.min(forms.len() - 1)]);
}

/// The forms of a str or bin header, smallest first: fixstr (`fix | len` below 32, str
/// only), then the 8-, 16- and 32-bit lengths whose markers start at `marker8`.
fn len_forms(len: usize, fix: Option<u8>, marker8: u8) -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    if let Some(fix) = fix.filter(|_| len < 32) {
        forms.push(vec![fix | len as u8]);
    }
    if let Ok(len) = u8::try_from(len) {
        forms.push(header(marker8, &[len]));
    }
    if let Ok(len) = u16::try_from(len) {
        forms.push(header(marker8 + 1, &len.to_be_bytes()));
    }
    forms.push(header(marker8 + 2, &(len as u32).to_be_bytes()));
    forms
}

/// The forms of an array or map header, smallest first: fix (`base | count` below 16),
/// then the 16- and 32-bit counts whose markers start at `marker16`.
fn count_forms(count: usize, base: u8, marker16: u8) -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    if count < 16 {
        forms.push(vec![base | count as u8]);
    }
    if let Ok(count) = u16::try_from(count) {
        forms.push(header(marker16, &count.to_be_bytes()));
    }
    forms.push(header(marker16 + 1, &(count as u32).to_be_bytes()));
    forms
}

/// Mostly the smallest form, as real encoders write; sometimes a wider one.
fn any_form() -> impl Strategy<Value = Form> {
    prop_oneof![6 => Just(0), 1 => 1..4usize]
}

/// Unsigned integers near the edges of the field types, or anywhere.
fn any_uint() -> impl Strategy<Value = u64> {
    let edges = [
        0,
        1,
        7,
        127,
        128,
        255,
        256,
        65_535,
        65_536,
        1 << 32,
        u64::MAX,
    ];
    prop_oneof![
        2 => 0..8u64,
        2 => prop::sample::select(edges.to_vec()),
        1 => (0..4u32).prop_map(|shift| (u64::from(u32::MAX) >> (8 * shift)).wrapping_add(1)),
        2 => any::<u64>(),
    ]
}

fn any_int() -> impl Strategy<Value = i64> {
    let edges = [-1, -32, -33, -128, -129, 0, 1, i64::MIN, i64::MAX];
    prop_oneof![prop::sample::select(edges.to_vec()), any::<i64>()]
}

fn any_leaf() -> impl Strategy<Value = Mp> {
    let bytes = prop::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        1 => Just(Mp::Nil),
        1 => any::<bool>().prop_map(Mp::Bool),
        3 => (any_uint(), any_form()).prop_map(|(v, f)| Mp::Uint(v, f)),
        1 => (any_int(), any_form()).prop_map(|(v, f)| Mp::Int(v, f)),
        2 => any_f32().prop_map(Mp::F32),
        2 => any_f64().prop_map(Mp::F64),
        2 => (any_string(), any_form()).prop_map(|(s, f)| Mp::Str(s.into_bytes(), f)),
        1 => (bytes.clone(), any_form()).prop_map(|(b, f)| Mp::Str(b, f)),
        1 => (bytes.clone(), any_form()).prop_map(|(b, f)| Mp::Bin(b, f)),
        1 => (any::<i8>(), bytes).prop_map(|(kind, data)| Mp::Ext(kind, data)),
    ]
}

/// Nested arrays and maps of leaves, a few levels deep.
fn any_value() -> impl Strategy<Value = Mp> {
    any_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            3 => (prop::collection::vec(inner.clone(), 0..6), any_form())
                .prop_map(|(items, f)| Mp::Array(items, f)),
            1 => (prop::collection::vec((inner.clone(), inner), 0..4), any_form())
                .prop_map(|(pairs, f)| Mp::Map(pairs, f)),
        ]
    })
}

/// `[type, body]` with a type number from 0 to 255 (mostly one that exists) and a random
/// body; now and then a bare value with no envelope.
fn any_enveloped_value() -> impl Strategy<Value = Mp> {
    let kind = prop_oneof![3 => 0..11u64, 1 => 0..=255u64];
    prop_oneof![
        7 => (kind, any_form(), any_value(), any_form()).prop_map(|(kind, kf, body, f)| {
            Mp::Array(vec![Mp::Uint(kind, kf), body], f)
        }),
        1 => any_value(),
    ]
}

/// A valid frame as a value tree with node `node` of the body (pre-order, modulo the
/// body's node count; 0 is the whole body) swapped for `with`. The envelope is left alone:
/// `random_values_in_an_envelope` varies it, and a broken envelope stops the decoder early.
fn mutated<M: Side>(msg: &M, node: usize, with: &Mp) -> Vec<u8> {
    let frame = msg.encode();
    let value =
        rmpv::decode::read_value(&mut frame.as_slice()).expect("the codec writes MessagePack");
    let mut tree = Mp::from_value(&value);
    let Mp::Array(envelope, _) = &mut tree else {
        panic!("the codec writes an array envelope");
    };
    let body = &mut envelope[1];
    let n = node % body.node_count();
    body.replace(n, with)
        .expect("the node index is within the body");
    tree.to_bytes()
}

/// Random bytes are cheap; the structured tests below each take fewer cases.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn random_bytes(frame in prop::collection::vec(any::<u8>(), 0..96)) {
        check_both(&frame)?;
    }

    /// A two-element array header and a known type number (client types go to 7, server
    /// types to 10), then random bytes: every case reaches a body decoder.
    #[test]
    fn random_bytes_behind_an_envelope(
        kind in 0..11u8,
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut frame = vec![0x92, kind];
        frame.extend(body);
        check_both(&frame)?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn client_messages_round_trip(msg in any_client_msg()) {
        check_valid(&msg)?;
    }

    #[test]
    fn server_messages_round_trip(msg in any_server_msg()) {
        check_valid(&msg)?;
    }

    #[test]
    fn truncated_client_frames_are_refused(msg in any_client_msg(), cut in any::<Index>()) {
        let frame = msg.encode();
        let prefix = &frame[..cut.index(frame.len())];
        prop_assert!(check::<ClientMsg>(prefix)?.is_none(), "accepted {:02x?}", prefix);
    }

    #[test]
    fn truncated_server_frames_are_refused(msg in any_server_msg(), cut in any::<Index>()) {
        let frame = msg.encode();
        let prefix = &frame[..cut.index(frame.len())];
        prop_assert!(check::<ServerMsg>(prefix)?.is_none(), "accepted {:02x?}", prefix);
    }

    #[test]
    fn edited_client_frames(
        msg in any_client_msg(),
        edits in prop::collection::vec(any_edit(), 1..4),
    ) {
        let mut frame = msg.encode();
        apply(&mut frame, &edits);
        check_both(&frame)?;
    }

    #[test]
    fn edited_server_frames(
        msg in any_server_msg(),
        edits in prop::collection::vec(any_edit(), 1..4),
    ) {
        let mut frame = msg.encode();
        apply(&mut frame, &edits);
        check_both(&frame)?;
    }

    #[test]
    fn client_frames_with_a_value_replaced(
        msg in any_client_msg(),
        node in any::<usize>(),
        with in any_value(),
    ) {
        check_both(&mutated(&msg, node, &with))?;
    }

    #[test]
    fn server_frames_with_a_value_replaced(
        msg in any_server_msg(),
        node in any::<usize>(),
        with in any_value(),
    ) {
        check_both(&mutated(&msg, node, &with))?;
    }

    #[test]
    fn random_values_in_an_envelope(value in any_enveloped_value()) {
        check_both(&value.to_bytes())?;
    }

    /// Chat text is written as a str exactly when it is UTF-8, and as a bin otherwise,
    /// with its bytes unchanged.
    #[test]
    fn chat_text_is_str_when_utf8_and_bin_otherwise(id: u32, text in any_chat_text()) {
        let bytes = text.0.clone();
        let frame = ClientMsg::Chat(Chat { id, text }).encode();
        let value = rmpv::decode::read_value(&mut frame.as_slice())
            .map_err(|err| TestCaseError::fail(format!("{frame:02x?}: {err}")))?;
        let field = &value[1][1];
        match std::str::from_utf8(&bytes) {
            Ok(text) => prop_assert_eq!(field.as_str(), Some(text), "{:02x?}", frame),
            Err(_) => prop_assert_eq!(field.as_slice(), Some(&bytes[..]), "{:02x?}", frame),
        }
        prop_assert_eq!(field.is_str(), std::str::from_utf8(&bytes).is_ok());
    }

    /// A str and a bin with the same bytes, in any width, read as the same chat text,
    /// whether or not the bytes are UTF-8 (a str that is not UTF-8 is not valid
    /// MessagePack, but it is read rather than refused, so that the server can refuse it
    /// by the chat's id); written again, either is the smallest str when the bytes are
    /// UTF-8 and the smallest bin when not.
    #[test]
    fn chat_text_reads_the_same_from_str_or_bin(
        id: u32,
        text in any_chat_text(),
        str_form in any_form(),
        bin_form in any_form(),
    ) {
        let want = ClientMsg::Chat(Chat { id, text: text.clone() });
        let frame = |field: Mp| {
            Mp::Array(vec![Mp::Uint(7, 0), Mp::Array(vec![Mp::Uint(id.into(), 0), field], 0)], 0)
                .to_bytes()
        };
        let canonical = if std::str::from_utf8(&text.0).is_ok() {
            frame(Mp::Str(text.0.clone(), 0))
        } else {
            frame(Mp::Bin(text.0.clone(), 0))
        };
        for frame in [
            frame(Mp::Str(text.0.clone(), str_form)),
            frame(Mp::Bin(text.0.clone(), bin_form)),
        ] {
            let got = check::<ClientMsg>(&frame)?;
            prop_assert_eq!(got.as_ref(), Some(&want), "{:02x?}", frame);
            prop_assert_eq!(&want.encode(), &canonical, "{:02x?}", frame);
        }
    }
}

/// The value writer itself: smallest forms match the codec, wider ones are what they say.
#[test]
fn value_writer_forms() {
    assert_eq!(Mp::Uint(3, 0).to_bytes(), [0x03]);
    assert_eq!(Mp::Uint(3, 1).to_bytes(), [0xcc, 0x03]);
    assert_eq!(Mp::Uint(3, 9).to_bytes(), [0xcf, 0, 0, 0, 0, 0, 0, 0, 3]);
    assert_eq!(Mp::Int(-1, 0).to_bytes(), [0xff]);
    assert_eq!(Mp::Int(-1, 1).to_bytes(), [0xd0, 0xff]);
    assert_eq!(
        Mp::Str(b"ab".to_vec(), 2).to_bytes(),
        [0xda, 0, 2, b'a', b'b']
    );
    assert_eq!(Mp::Bin(vec![9], 0).to_bytes(), [0xc4, 1, 9]);
    assert_eq!(Mp::Ext(5, vec![1, 2]).to_bytes(), [0xd5, 5, 1, 2]);
    assert_eq!(Mp::Array(vec![], 1).to_bytes(), [0xdc, 0, 0]);
    assert_eq!(
        Mp::Map(vec![(Mp::Nil, Mp::Bool(true))], 0).to_bytes(),
        [0x81, 0xc0, 0xc3]
    );

    let msg = ClientMsg::Input(Input {
        seq: 300,
        view_tick: 1200,
        values: vec![InputValue::Float(0.5), InputValue::Int(1)],
    });
    let frame = msg.encode();
    let value = rmpv::decode::read_value(&mut frame.as_slice()).unwrap();
    assert_eq!(Mp::from_value(&value).to_bytes(), frame);
    assert_eq!(
        mutated(&msg, 0, &Mp::Nil),
        [0x92, 0x03, 0xc0],
        "node 0 is the body"
    );
    // Body nodes: body, seq, view_tick, values, 0.5, 1; 6 wraps around to the body.
    assert_eq!(
        mutated(&msg, 6 + 1, &Mp::Nil)[..4],
        [0x92, 0x03, 0x93, 0xc0]
    );
}

/// A float32 input value reads as the same number and is written back as a float64; the
/// message round-trips from there (the second encoding equals the first).
#[test]
fn a_float32_input_value_reads_as_a_float64() {
    let frame = Mp::Array(
        vec![
            Mp::Uint(3, 0),
            Mp::Array(
                vec![
                    Mp::Uint(1, 0),
                    Mp::Uint(0, 0),
                    Mp::Array(vec![Mp::F32(-2.5)], 0),
                ],
                0,
            ),
        ],
        0,
    )
    .to_bytes();
    let msg = check::<ClientMsg>(&frame).expect("the invariant holds");
    assert_eq!(
        msg,
        Some(ClientMsg::Input(Input {
            seq: 1,
            view_tick: 0,
            values: vec![InputValue::Float(-2.5)],
        }))
    );
}
