/**
 * Messages byte for byte: every client message encodes to the hex of PROTOCOL.md section 5
 * (pinned by shared/tests/golden.rs), every server example decodes to its fields; and
 * decoding any bytes at all throws nothing but ProtocolError (random and mutated frames),
 * nor does applying whatever snapshot decodes.
 */

import { test } from "node:test";
import assert from "node:assert/strict";

import { decodeEvent, decodeServer, encodeClient, ProtocolError, type ClientMessage } from "../src/messages.js";
import { parseSchema } from "../src/schema.js";
import { Replica } from "../src/replica.js";
import { gameVectors, hex, toHex, vectorFile, vectorSets } from "./codec-helpers.js";

const TOKEN = "00112233445566778899aabbccddeeff";
const NEXT = "ffeeddccbbaa99887766554433221100";
const TAG_SCHEMA =
  "94 a3 74 61 67 91 95 a2 69 74 a4 62 6f 6f 6c cb 00 00 00 00 00 00 00 00 cb 3f f0 00 00 00 00 00 00 90 " +
  "91 93 a6 72 75 6e 6e 65 72 c0 91 9a a2 69 74 a4 62 6f 6f 6c 00 00 01 a6 73 74 65 61 64 79 00 00 c0 90 " +
  "91 92 a6 74 61 67 67 65 64 91 9a a6 72 75 6e 6e 65 72 a6 65 6e 74 69 74 79 00 00 00 a6 73 74 65 61 64 79 00 00 c0 90";

const clientGolden: [ClientMessage, string][] = [
  [{ type: "hello", version: 4, name: "ana" }, "92 00 92 04 a3 61 6e 61"],
  [{ type: "join", room: "lobby", key: null }, "92 01 92 a5 6c 6f 62 62 79 c0"],
  [{ type: "join", room: null, key: null }, "92 01 92 c0 c0"],
  [{ type: "join", room: "den", key: "k3y" }, "92 01 92 a3 64 65 6e a3 6b 33 79"],
  [{ type: "leave" }, "92 02 90"],
  [
    { type: "input", seq: 301, viewTick: 1200, values: [0.5, -0.5, 1.5, 1] },
    "92 03 93 cd 01 2d cd 04 b0 94 cb 3f e0 00 00 00 00 00 00 cb bf e0 00 00 00 00 00 00 cb 3f f8 00 00 00 00 00 00 01",
  ],
  [{ type: "ping", clientTime: 1500.25 }, "92 04 91 cb 40 97 71 00 00 00 00 00"],
  [{ type: "create", room: "den", private: true, key: "k3y", capacity: 4 }, "92 05 94 a3 64 65 6e c3 a3 6b 33 79 04"],
  [{ type: "create", room: "arena", private: false, key: null, capacity: null }, "92 05 94 a5 61 72 65 6e 61 c2 c0 c0"],
  [
    { type: "resume", token: TOKEN },
    "92 06 91 d9 20 30 30 31 31 32 32 33 33 34 34 35 35 36 36 37 37 38 38 39 39 61 61 62 62 63 63 64 64 65 65 66 66",
  ],
  [{ type: "chat", id: 1, text: "hi" }, "92 07 92 01 a2 68 69"],
  [{ type: "watch", room: "den", key: null }, "92 08 92 a3 64 65 6e c0"],
  [{ type: "claim", ticket: "t1" }, "92 09 91 a2 74 31"],
];

test("every client message encodes to its golden bytes", () => {
  for (const [msg, bytes] of clientGolden) assert.equal(toHex(encodeClient(msg)), toHex(hex(bytes)), msg.type);
  // With the arena's schema the input is the same: its floats are not whole.
  const { schema } = gameVectors("arena");
  assert.equal(toHex(encodeClient(clientGolden[5][0], schema)), toHex(hex(clientGolden[5][1])));
  // Whole floats stay float64 with the schema, and are integers without it.
  const whole: ClientMessage = { type: "input", seq: 1, viewTick: 0, values: [1, 0, 0, 3] };
  assert.equal(toHex(encodeClient(whole, schema)).slice(-10), "0000000003");
  assert.equal(toHex(encodeClient(whole)), "920393010094010000" + "03");
});

test("encoding refuses what the message cannot carry", () => {
  const { schema } = gameVectors("arena");
  assert.throws(() => encodeClient({ type: "input", seq: -1, viewTick: 0, values: [] }), RangeError);
  assert.throws(() => encodeClient({ type: "input", seq: 1, viewTick: 0, values: [0, 0, 0, 1.5] }, schema), RangeError);
  assert.throws(() => encodeClient({ type: "input", seq: 1, viewTick: 0, values: [0] }, schema), RangeError);
  assert.throws(() => encodeClient({ type: "chat", id: 2 ** 32, text: "x" }), RangeError);
  // Integers of every width, and long strings, in their smallest forms.
  const long = "x".repeat(300);
  assert.equal(toHex(encodeClient({ type: "chat", id: 70000, text: long })).slice(0, 20), "920792ce00011170da01");
});

test("every server example decodes to its fields", () => {
  const cases: [string, unknown][] = [
    [
      "92 00 95 07 3c 04 d9 20 30 30 31 31 32 32 33 33 34 34 35 35 36 36 37 37 38 38 39 39 61 61 62 62 63 63 64 64 65 65 66 66 a3 61 6e 61",
      { type: "welcome", playerId: 7, tickRate: 60, protocolVersion: 4, resumeToken: TOKEN, userId: "ana" },
    ],
    ["92 03 92 cb 40 97 71 00 00 00 00 00 cd 04 b0", { type: "pong", clientTime: 1500.25, serverTick: 1200 }],
    ["92 04 93 07 ac 72 6f 6f 6d 20 69 73 20 66 75 6c 6c 01", { type: "error", code: 7, message: "room is full", inReplyTo: 1 }],
    ["92 04 93 01 a9 62 61 64 20 66 72 61 6d 65 c0", { type: "error", code: 1, message: "bad frame", inReplyTo: null }],
    ["92 05 92 09 a2 63 79", { type: "playerJoined", id: 9, name: "cy" }],
    ["92 06 92 09 a2 63 79", { type: "playerLeft", id: 9, name: "cy" }],
    [
      "92 07 95 07 c0 90 d9 20 66 66 65 65 64 64 63 63 62 62 61 61 39 39 38 38 37 37 36 36 35 35 34 34 33 33 32 32 31 31 30 30 c0",
      { type: "resumed", playerId: 7, room: null, players: [], resumeToken: NEXT, schema: null },
    ],
    ["92 0a 92 cd 04 b1 91 92 00 09", { type: "events", tick: 1201, events: [[0, 9]] }],
    [
      "92 0b 94 a6 77 73 3a 2f 2f 62 a3 64 65 6e a2 74 31 01",
      { type: "redirect", url: "ws://b", room: "den", ticket: "t1", inReplyTo: 1 },
    ],
    ["92 0b 94 a6 77 73 3a 2f 2f 62 c0 c0 c0", { type: "redirect", url: "ws://b", room: null, ticket: null, inReplyTo: null }],
    ["92 0c 93 a2 68 69 c3 cf 00 00 01 8b cf e5 68 00", { type: "notice", text: "hi", toAll: true, timeMs: 1700000000000 }],
    ["92 08 94 01 29 cf 00 00 01 8b cf e5 68 fa c0", { type: "chatAck", id: 1, serverId: 41, timeMs: 1700000000250, refused: null }],
    ["92 08 94 02 00 00 a8 6e 6f 74 5f 75 74 66 38", { type: "chatAck", id: 2, serverId: 0, timeMs: 0, refused: "not_utf8" }],
    [
      "92 09 95 29 07 a3 61 6e 61 a2 68 69 cf 00 00 01 8b cf e5 68 fa",
      { type: "chatMessage", serverId: 41, from: 7, name: "ana", text: "hi", timeMs: 1700000000250 },
    ],
    [
      "92 02 98 cd 04 b1 cd 04 b0 cf 00 00 01 8b cf e5 68 11 ce 7f 81 1d 05 cd 01 2c 90 90 c4 01 00",
      {
        type: "snapshot",
        tick: 1201,
        baseTick: 1200,
        serverTimeMs: 1700000000017,
        stateHash: 0x7f811d05,
        ack: 300,
        removed: [],
        added: [],
        changes: new Uint8Array([0]),
      },
    ],
  ];
  for (const [bytes, want] of cases) assert.deepEqual(decodeServer(hex(bytes)), want, bytes);

  const joined = decodeServer(hex("92 01 93 a5 6c 6f 62 62 79 91 92 03 a2 62 6f " + TAG_SCHEMA));
  assert.equal(joined.type, "joined");
  if (joined.type !== "joined") return;
  assert.deepEqual(joined.players, [{ id: 3, name: "bo" }]);
  assert.equal(joined.schema.game, "tag");
  assert.deepEqual(joined.schema.input, [{ name: "it", type: "bool", min: 0, max: 1, variants: [] }]);
  assert.equal(joined.schema.kinds[0].position, undefined);
  const ev = decodeEvent(joined.schema, [0, 9]);
  assert.deepEqual(ev, { kind: "tagged", kindId: 0, fields: { runner: 9 }, wire: [9] });
  const resumed = decodeServer(
    hex(
      "92 07 95 07 a5 6c 6f 62 62 79 91 92 03 a2 62 6f d9 20 66 66 65 65 64 64 63 63 62 62 61 61 39 39 38 38 37 37 36 36 35 35 34 34 33 33 32 32 31 31 30 30 " +
        TAG_SCHEMA,
    ),
  );
  assert.ok(resumed.type === "resumed" && resumed.schema?.kinds[0].name === "runner" && resumed.room === "lobby");
});

test("frames that are not server messages are ProtocolErrors", () => {
  const bad = [
    "", // nothing
    "c1", // never used
    "92 00", // cut short
    "91 05", // not [type, body]
    "92 0d 90", // unknown type
    "92 05 92 09 a2 63 79 00", // trailing byte
    "92 05 93 09 a2 63 79 c0", // a field too many
    "92 05 92 cb 40 22 00 00 00 00 00 00 a2 63 79", // an id that is a float 9.0... as 9.0 it passes; 9.5 does not
    "92 05 92 cb 40 23 00 00 00 00 00 00 a2 63 79", // id 9.5
    "92 05 92 09 c4 02 63 79", // a name that is a bin
    "92 05 92 09 81 a1 61 01", // a map
    "92 05 92 09 d6 ff 00 00 00 00", // an extension
    "92 05 92 ce ff ff ff ff a2 63 79".replace("ce ff ff ff ff", "cf 00 00 00 01 00 00 00 00"), // id beyond u32
    "92 0a 92 cd 04 b1 91 91 cd 01 00", // an event kind beyond u8
    "92 0a 92 cd 04 b1 91 92 00 cb 3f f8 00 00 00 00 00 00", // an event value that is a float
    "92 02 98 cd 04 b1 cd 04 b0 cf 00 00 01 8b cf e5 68 11 ce 7f 81 1d 05 cd 01 2c 90 90 a1 00", // changes as a str
    "92 02 98 cf 00 20 00 00 00 00 00 00 c0 00 00 00 90 90 c4 00", // a tick beyond 2^53
    "92 0b 93 a6 77 73 3a 2f 2f 62 c0 c0", // a redirect of three fields
    "92 0b 94 c0 c0 c0 c0", // a redirect without a url
    "92 0b 94 a6 77 73 3a 2f 2f 62 c0 c0 cd 01 00", // in_reply_to beyond u8
    "92 0c 93 a2 68 69 01 00", // a notice whose to_all is not a bool
  ];
  for (const b of bad.filter((_, i) => i !== 7)) {
    assert.throws(() => decodeServer(hex(b)), ProtocolError, b);
  }
});

test("a malformed schema is a ProtocolError, as Schema::check would refuse it", () => {
  const field = (over: Partial<Record<number, unknown>> = {}) => {
    const f: unknown[] = ["a", "angle", 1024, 0, 0, "steady", 6, 10, null, []];
    for (const [i, v] of Object.entries(over)) f[Number(i)] = v;
    return f;
  };
  const schema = (fields: unknown[][], position: unknown = null) => ["g", [], [["k", position, fields]], []];
  assert.doesNotThrow(() => parseSchema(schema([field()])));
  const bad: unknown[] = [
    schema([field({ 7: 9 })]), // a wide turn that does not hold every turn
    schema([field({ 2: 1023 })]), // an odd angle scale
    schema([field({ 1: "float" })]), // not a field type
    schema([field({ 5: "lazy" })]), // not a code
    schema([field({ 1: "fixed", 2: 0 })]), // a fixed scale of 0
    schema([field({ 1: "int", 3: 5, 4: 4 })]), // min > max
    schema([field({ 1: "enum", 4: 1, 7: 1, 9: ["a"] })]), // max is not the last index
    schema([field({ 1: "string", 4: 256 })]), // too long a string
    schema([field({ 1: "fixed", 8: 1 }), field({ 1: "fixed" })]), // predicted by a later field
    schema([field({ 1: "fixed" })], [0, 1]), // a position naming a missing field
    schema([field()], [0, 0]), // a position naming an angle
    ["g", [["i", "int", 0.5, 2, []]], [], []], // an int input with a fractional bound
    ["g", [["i", "enum", 0, 1, ["a"]]], [], []], // an enum input whose max is not its last index
    ["g", [], Array.from({ length: 65 }, () => ["k", null, []]), []], // too many kinds
    ["g", [], [], []].slice(0, 3), // a schema of three parts
  ];
  for (const s of bad) assert.throws(() => parseSchema(s), ProtocolError, JSON.stringify(s).slice(0, 80));
});

test("events that do not fit their kind are ProtocolErrors", () => {
  const { schema } = gameVectors("every-type");
  assert.throws(() => decodeEvent(schema, [99]), ProtocolError);
  assert.throws(() => decodeEvent(schema, [0]), ProtocolError);
  const announce = schema.events.findIndex((e) => e.name === "announce");
  assert.throws(() => decodeEvent(schema, [announce, 1, 2, 3]), ProtocolError);
  const ok = decodeEvent(schema, [announce, "hi", 150, -5]);
  assert.deepEqual(ok.fields, { text: "hi", x: 1.5, y: -0.05 });
});

/** A deterministic random source for the fuzzers. */
function random(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

function neverThrowsButProtocolError(bytes: Uint8Array, replicas: Replica[]): void {
  let msg;
  try {
    msg = decodeServer(bytes);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`${toHex(bytes)} threw ${err}`);
    return;
  }
  if (msg.type === "snapshot") for (const r of replicas) r.apply(msg); // must not throw
}

test("fuzz: random bytes decode or throw ProtocolError, never anything else", () => {
  const rnd = random(14);
  const { schema } = gameVectors("every-type");
  const replicas = [new Replica(schema, 30)];
  for (let i = 0; i < 20000; i++) {
    const bytes = new Uint8Array(rnd(48));
    for (let j = 0; j < bytes.length; j++) bytes[j] = rnd(256);
    // Half of them start like a frame, so that the body's checks are reached too.
    if (i % 2 && bytes.length > 2) {
      bytes[0] = 0x92;
      bytes[1] = rnd(14);
    }
    neverThrowsButProtocolError(bytes, replicas);
  }
});

test("fuzz: mutated golden frames decode or throw ProtocolError, and snapshots apply or fail cleanly", () => {
  const rnd = random(4);
  for (const { json } of vectorSets()) {
    const game = json.games[0];
    const v = gameVectors(json.games[0].game === "every-type" ? "every-type" : game.game);
    const files = [game.joined, game.keyframe, game.delta, game.events].filter(Boolean).map((p: { file: string }) => vectorFile(p.file));
    for (let i = 0; i < 4000; i++) {
      const held = new Replica(v.schema, v.tickRate);
      held.apply(v.keyframe);
      const bytes = new Uint8Array(files[i % files.length]);
      const edits = 1 + rnd(3);
      for (let e = 0; e < edits; e++) bytes[rnd(bytes.length)] = rnd(256);
      const cut = rnd(4) === 0 ? bytes.subarray(0, rnd(bytes.length)) : bytes;
      neverThrowsButProtocolError(cut, [held, new Replica(v.schema, v.tickRate)]);
    }
  }
});
