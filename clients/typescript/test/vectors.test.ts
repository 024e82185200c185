/**
 * The golden vectors of shared/vectors/ (PROTOCOL.md section 13), byte for byte: every
 * frame decodes to what its set's JSON says, every snapshot applies with the server's
 * hash to exactly the entities described, and every client message encodes to the file's
 * bytes. What is compared follows shared/vectors/decode.py.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";

import { decodeEvent, decodeServer, encodeClient, PROTOCOL_VERSION, type ServerMessage } from "../src/messages.js";
import { Replica, type Entity } from "../src/replica.js";
import type { EventKind, Field, Kind, Schema } from "../src/schema.js";
import { entityHash64 } from "../src/hash.js";
import { toHex, vectorFile, vectorSets, vectorsDir } from "./codec-helpers.js";

/** The schema in the JSON's words: indexes replaced by the names they point at. */
function schemaAsJson(schema: Schema): unknown {
  const field = (f: Field, fields: Field[]) => ({
    name: f.name,
    type: f.type,
    scale: f.scale,
    min: f.min,
    max: f.max,
    code: f.code,
    narrow: f.narrow,
    wide: f.wide,
    predicted_by: f.predictedBy === null ? null : fields[f.predictedBy].name,
    variants: f.variants,
  });
  return {
    game: schema.game,
    input: schema.input.map((i) => ({ name: i.name, type: i.type, min: i.min, max: i.max, variants: i.variants })),
    kinds: schema.kinds.map((k: Kind) => ({
      name: k.name,
      position: k.position ? k.position.map((i) => k.fields[i].name) : null,
      fields: k.fields.map((f) => field(f, k.fields)),
    })),
    events: schema.events.map((e: EventKind) => ({ name: e.name, fields: e.fields.map((f) => field(f, e.fields)) })),
  };
}

function entityAsJson(schema: Schema, e: Entity): unknown {
  const kind = schema.kinds[e.kindId];
  return {
    id: e.id,
    kind: kind.name,
    values: Object.fromEntries(kind.fields.map((f, i) => [f.name, e.wire[i]])),
    entity_hash: entityHash64(e.id, e.kindId, e.wire).toString(16).padStart(16, "0"),
  };
}

function decodeAs<T extends ServerMessage["type"]>(file: string, type: T): Extract<ServerMessage, { type: T }> {
  const msg = decodeServer(vectorFile(file));
  assert.equal(msg.type, type, `${file} holds a ${msg.type}`);
  return msg as Extract<ServerMessage, { type: T }>;
}

const sets = vectorSets();

test("there are the three sets, each of protocol 4, and every .bin is named by one", () => {
  assert.deepEqual(
    sets.map((s) => s.file),
    ["arena.json", "every-type.json", "shooter.json"],
  );
  const named = new Set<string>();
  for (const { json } of sets) {
    assert.equal(json.protocol_version, PROTOCOL_VERSION);
    for (const g of json.games) {
      for (const part of [g.joined, g.keyframe, g.delta, g.events, g.input]) if (part) named.add(part.file);
    }
  }
  const bins = readdirSync(vectorsDir).filter((f) => f.endsWith(".bin"));
  assert.deepEqual([...bins].sort(), [...named].sort());
});

for (const { file, json } of sets) {
  for (const game of json.games) {
    test(`${file}: ${game.game}`, async (t) => {
      const joined = decodeAs(game.joined.file, "joined");
      const schema = joined.schema;

      await t.test("Joined: room, players and schema", () => {
        assert.equal(joined.room, game.joined.room);
        assert.deepEqual(joined.players, game.joined.players);
        assert.deepEqual(schemaAsJson(schema), game.joined.schema);
      });

      const replica = new Replica(schema, game.tick_rate);
      for (const what of ["keyframe", "delta"] as const) {
        await t.test(`${what}: head, lists, entities and hashes`, () => {
          const want = game[what];
          const snap = decodeAs(want.file, "snapshot");
          assert.equal(snap.tick, want.tick);
          assert.equal(snap.baseTick, want.base_tick);
          assert.equal(snap.serverTimeMs, want.server_time_ms);
          assert.equal(snap.stateHash, want.state_hash);
          assert.equal(snap.ack, want.ack);
          assert.deepEqual(snap.removed, want.removed);
          assert.deepEqual(
            snap.added.map((e) => e[0]),
            want.added,
          );
          assert.equal(toHex(snap.changes), want.changes);
          if (want.base_file !== null) assert.equal(replica.tick, snap.baseTick);
          const result = replica.apply(snap);
          assert.ok(result.ok, JSON.stringify(result));
          assert.equal(result.keyframe, snap.baseTick === null);
          assert.equal(replica.tick, want.tick);
          assert.deepEqual(
            [...replica.entities()].map((e) => entityAsJson(schema, e)),
            want.entities,
          );
          assert.deepEqual(
            result.added.map((e) => e.id),
            want.added,
          );
          assert.deepEqual(
            result.removed.map((e) => e.id),
            want.removed,
          );
        });
      }

      await t.test("Events", () => {
        const want = game.events;
        if (want === null) {
          assert.equal(schema.events.length, 0, "a game with event kinds has an events vector");
          return;
        }
        const msg = decodeAs(want.file, "events");
        assert.equal(msg.tick, want.tick);
        const decoded = msg.events.map((raw) => {
          const ev = decodeEvent(schema, raw);
          return { kind: ev.kind, values: Object.fromEntries(schema.events[ev.kindId].fields.map((f, i) => [f.name, ev.wire[i]])) };
        });
        assert.deepEqual(decoded, want.events);
      });

      await t.test("Input: encoded byte for byte", () => {
        const want = game.input;
        const values = schema.input.map((f) => {
          assert.ok(f.name in want.values, `the vector has no value for ${f.name}`);
          return want.values[f.name] as number | boolean;
        });
        const bytes = encodeClient({ type: "input", seq: want.seq, viewTick: want.view_tick, values }, schema);
        assert.equal(toHex(bytes), toHex(vectorFile(want.file)));
        // And it reads back as the server would: [3, [seq, view_tick, values]].
        assert.equal(bytes[0], 0x92);
        assert.equal(bytes[1], 0x03);
      });
    });
  }
}
