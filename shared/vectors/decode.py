#!/usr/bin/env python3
"""A client of Tickwire protocol 4 that knows no game, checking the golden vectors.

Standalone: Python 3 and the `msgpack` package only (Debian: python3-msgpack). Run it from
anywhere:

    python3 shared/vectors/decode.py [DIR]

DIR defaults to this file's folder. It holds one set of vectors per game, each described by
its own JSON file: arena.json (the arena), shooter.json (the shooter), both made by the
server from the real games, and every-type.json (a made-up schema with every field type).
For each game of each DIR/*.json it reads the schema from the `Joined` frame, decodes the
keyframe and then the delta against it from that schema alone (the bit-level change
records, with prediction, angles, strings and entity references), computes the FNV-1a
state hash, decodes the `Events` frame (a game without events has none) and the `Input`
frame, and compares everything with what the JSON says; and every .bin file of DIR must be
one that a JSON names. It prints one line per file and exits with status 1 on the first
mismatch (2 when a file is missing or not MessagePack).

It is written from the protocol's rules, as a client author would write it; the Rust
side's reference is shared/src/changes.rs (change records), shared/src/state_hash.rs and
shared/src/replica.rs (how a snapshot is applied).
"""

import glob
import json
import os
import sys

import msgpack

# Message type numbers, server to client and client to server.
JOINED, SNAPSHOT, EVENTS = 1, 2, 10
INPUT = 3

I64 = 1 << 64


def wrap64(n):
    """Two's complement 64-bit wrapping, as the server's i64 arithmetic does."""
    n %= I64
    return n - I64 if n >= 1 << 63 else n


def wrap32(n):
    """Two's complement 32-bit wrapping: every number read from a change record is one."""
    n %= 1 << 32
    return n - (1 << 32) if n >= 1 << 31 else n


class Mismatch(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Mismatch(f"{what}: decoded {got!r}, the JSON says {want!r}")


# The schema: MessagePack arrays of fields in declaration order.

def read_field(a):
    name, ty, scale, lo, hi, code, narrow, wide, predict, variants = a
    return {
        "name": name, "type": ty, "scale": scale, "min": lo, "max": hi, "code": code,
        "narrow": narrow, "wide": wide, "predict": predict, "variants": variants,
    }


def read_schema(a):
    game, inputs, kinds, events = a
    return {
        "game": game,
        "input": [
            {"name": n, "type": t, "min": lo, "max": hi, "variants": v}
            for n, t, lo, hi, v in inputs
        ],
        "kinds": [
            {"name": n, "position": pos, "fields": [read_field(f) for f in fields]}
            for n, pos, fields in kinds
        ],
        "events": [{"name": n, "fields": [read_field(f) for f in fields]} for n, fields in events],
    }


def schema_as_json(schema):
    """The schema in the JSON's words: indices replaced by the names they point at."""
    def field(f, fields):
        return {
            "name": f["name"], "type": f["type"], "scale": f["scale"], "min": f["min"],
            "max": f["max"], "code": f["code"], "narrow": f["narrow"], "wide": f["wide"],
            "predicted_by": None if f["predict"] is None else fields[f["predict"]]["name"],
            "variants": f["variants"],
        }
    return {
        "game": schema["game"],
        "input": schema["input"],
        "kinds": [
            {
                "name": k["name"],
                "position": None if k["position"] is None
                else [k["fields"][i]["name"] for i in k["position"]],
                "fields": [field(f, k["fields"]) for f in k["fields"]],
            }
            for k in schema["kinds"]
        ],
        "events": [
            {"name": e["name"], "fields": [field(f, e["fields"]) for f in e["fields"]]}
            for e in schema["events"]
        ],
    }


# Change records: bits most significant first; signed values two's complement.

class Bits:
    def __init__(self, data):
        self.data = data
        self.pos = 0  # in bits

    def bit(self):
        if self.pos >= 8 * len(self.data):
            raise Mismatch("change records cut short")
        b = (self.data[self.pos // 8] >> (7 - self.pos % 8)) & 1
        self.pos += 1
        return b

    def unsigned(self, n):
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def signed(self, n):
        v = self.unsigned(n)
        return v - (1 << n) if v >> (n - 1) else v


# Prefix codes: (bits, length) per case. SAME, NARROW, WIDE, VALUE.
SAME, NARROW, WIDE, VALUE = range(4)
STEADY = [(0b0, 1), (0b10, 2), (0b110, 3), (0b111, 3)]
BUSY = [(0b00, 2), (0b1, 1), (0b010, 3), (0b011, 3)]
# An angle has no value case: its wide turn holds any turn.
ANGLE = [(0b00, 2), (0b1, 1), (0b01, 2)]


def read_prefix(bits, table):
    code = 0
    for length in (1, 2, 3):
        code = (code << 1) | bits.bit()
        if (code, length) in table:
            return table.index((code, length))
    raise Mismatch("no such prefix")


def read_number(bits, table, f, reference):
    """A number of a change record, wrapped to 32 bits whatever its case: numbers are
    32-bit on the wire, so a delta that runs past the range wraps, as the writer's did."""
    case = read_prefix(bits, table)
    if case == SAME:
        value = reference
    elif case == NARROW:
        value = reference + bits.signed(f["narrow"])
    elif case == WIDE:
        value = reference + bits.signed(f["wide"])
    else:
        value = bits.signed(32)
    return wrap32(value)


def predict(base, vel, ticks, tick_rate, pos_scale, vel_scale):
    """base + round(vel * ticks * pos_scale / (vel_scale * tick_rate)), halves up."""
    a = wrap64(vel * pos_scale * min(ticks, (1 << 63) - 1))
    b = max(vel_scale, 1) * max(tick_rate, 1)
    return wrap64(base + wrap64(2 * a + b) // (2 * b))


def wrap_angle(v, steps):
    """Into (-steps/2, steps/2]."""
    steps = max(steps, 2)
    turn = v % steps
    return turn - steps if turn > steps // 2 else turn


def read_record(bits, kind, values, ticks, tick_rate):
    """Changes `values` (the entity at the base) into the entity now."""
    if not bits.bit():
        return
    fields = kind["fields"]
    for i, f in enumerate(fields):
        ty, old = f["type"], values[i]
        if ty == "fixed":
            ref = old
            if f["predict"] is not None:
                # The velocity comes earlier in the kind, so values holds its new value.
                vel = fields[f["predict"]]
                ref = predict(old, values[f["predict"]], ticks, tick_rate, f["scale"], vel["scale"])
            table = BUSY if f["code"] == "busy" else STEADY
            values[i] = read_number(bits, table, f, ref)
        elif ty == "int":
            table = BUSY if f["code"] == "busy" else STEADY
            values[i] = read_number(bits, table, f, old)
        elif ty == "angle":
            turn = read_number(bits, ANGLE, f, 0)
            values[i] = wrap_angle(old + turn, f["scale"])
        elif ty == "bool":
            if bits.bit():
                values[i] = 1 - min(max(old, 0), 1)
        elif ty == "enum":
            if bits.bit():
                values[i] = bits.unsigned(f["wide"])
        elif ty == "entity":
            if bits.bit():
                values[i] = bits.unsigned(32)
        elif ty == "string":
            if bits.bit():
                n = bits.unsigned(8)
                values[i] = bytes(bits.unsigned(8) for _ in range(n)).decode("utf-8")
        else:
            raise Mismatch(f"unknown field type {ty!r}")


# The state hash: FNV-1a 64 per entity, summed, the low 32 bits.

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


def entity_hash(eid, kind, values):
    data = bytearray(eid.to_bytes(4, "little"))
    data.append(kind)
    for v in values:
        if isinstance(v, str):
            b = v.encode("utf-8")[:255]
            data.append(len(b))
            data += b
        else:
            data += (v % (1 << 32)).to_bytes(4, "little")
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) % I64
    return h


def state_hash(entities):
    return sum(entity_hash(e["id"], e["kind"], e["values"]) for e in entities) % I64 % (1 << 32)


# Applying a snapshot.

def check_entity(schema, e):
    kind = schema["kinds"][e["kind"]]
    if len(kind["fields"]) != len(e["values"]):
        raise Mismatch(f"entity {e['id']}: {len(e['values'])} values for {len(kind['fields'])} fields")
    for f, v in zip(kind["fields"], e["values"]):
        if (f["type"] == "string") != isinstance(v, str):
            raise Mismatch(f"entity {e['id']}: field {f['name']} holds {v!r}")


def apply(held, schema, snap, tick_rate):
    """The state after `snap`, given `held` = (tick, entities) or None."""
    tick, base_tick, _time, _hash, _ack, removed, added, changes = snap
    if base_tick is None:
        entities, ticks = [], 0
    else:
        if held is None or held[0] != base_tick or tick <= base_tick:
            raise Mismatch(f"a delta from tick {base_tick}, holding {held and held[0]}")
        ticks = tick - base_tick
        entities = [dict(e, values=list(e["values"])) for e in held[1]]
        ids = [e["id"] for e in entities]
        for r in removed:
            if r not in ids:
                raise Mismatch(f"removed entity {r} is not in the base")
            ids.remove(r)
        entities = [e for e in entities if e["id"] in ids]
    if base_tick is None and removed:
        raise Mismatch("a keyframe removes nothing")
    bits = Bits(changes)
    if base_tick is not None:
        for e in entities:
            read_record(bits, schema["kinds"][e["kind"]], e["values"], ticks, tick_rate)
    if (bits.pos + 7) // 8 != len(changes):
        raise Mismatch(f"{len(changes) - (bits.pos + 7) // 8} bytes of changes left over")
    for a in added:
        e = {"id": a[0], "kind": a[1], "values": list(a[2:])}
        check_entity(schema, e)
        if any(x["id"] == e["id"] for x in entities):
            raise Mismatch(f"added entity {e['id']} is there already")
        entities.append(e)
    return tick, entities


def entity_as_json(schema, e):
    kind = schema["kinds"][e["kind"]]
    return {
        "id": e["id"],
        "kind": kind["name"],
        "values": {f["name"]: v for f, v in zip(kind["fields"], e["values"])},
        "entity_hash": format(entity_hash(e["id"], e["kind"], e["values"]), "016x"),
    }


def frame(directory, name, kind):
    with open(os.path.join(directory, name), "rb") as fh:
        data = fh.read()
    msg = msgpack.unpackb(data, raw=False, strict_map_key=False)
    if not (isinstance(msg, list) and len(msg) == 2 and msg[0] == kind):
        raise Mismatch(f"{name}: not a [{kind}, body] frame")
    return msg[1]


def check_game(directory, game):
    name = game["game"]
    rate = game["tick_rate"]

    want = game["joined"]
    room, players, schema = frame(directory, want["file"], JOINED)
    schema = read_schema(schema)
    expect(f"{want['file']} room", room, want["room"])
    expect(f"{want['file']} players", [{"id": i, "name": n} for i, n in players], want["players"])
    expect(f"{want['file']} schema", schema_as_json(schema), want["schema"])
    print(f"ok  {want['file']}: {len(schema['kinds'])} entity kinds, {len(schema['events'])} event kinds")

    held = None
    for what in ("keyframe", "delta"):
        want = game[what]
        snap = frame(directory, want["file"], SNAPSHOT)
        if want["base_file"] is not None:
            expect(f"{want['file']} base", held[0], snap[1])
        held = apply(held, schema, snap, rate)
        tick, _base, time_ms, hash_, ack, removed, added, changes = snap
        for key, got in [
            ("tick", tick), ("base_tick", _base), ("server_time_ms", time_ms), ("ack", ack),
            ("removed", removed), ("added", [a[0] for a in added]), ("changes", changes.hex()),
        ]:
            expect(f"{want['file']} {key}", got, want[key])
        expect(f"{want['file']} entities", [entity_as_json(schema, e) for e in held[1]], want["entities"])
        expect(f"{want['file']} state hash (frame)", hash_, want["state_hash"])
        expect(f"{want['file']} state hash (rebuilt)", state_hash(held[1]), hash_)
        print(f"ok  {want['file']}: tick {tick}, {len(held[1])} entities, state hash {hash_:#010x}")

    want = game["events"]
    if want is None:
        # A game without event kinds never sends Events: the set has no events file.
        if schema["events"]:
            raise Mismatch(f"{name}: the schema has event kinds, and the set no Events frame")
        print(f"ok  {name}: no event kinds, no Events")
    else:
        check_events(directory, schema, want)
    check_input(directory, schema, game["input"])
    return name


def check_events(directory, schema, want):
    tick, events = frame(directory, want["file"], EVENTS)
    decoded = []
    for ev in events:
        kind = schema["events"][ev[0]]
        if len(kind["fields"]) != len(ev) - 1:
            raise Mismatch(f"{want['file']}: event {kind['name']} has {len(ev) - 1} values")
        decoded.append({"kind": kind["name"], "values": dict(zip((f["name"] for f in kind["fields"]), ev[1:]))})
    expect(f"{want['file']} tick", tick, want["tick"])
    expect(f"{want['file']} events", decoded, want["events"])
    print(f"ok  {want['file']}: {len(decoded)} events")


def check_input(directory, schema, want):
    seq, view_tick, values = frame(directory, want["file"], INPUT)
    if len(values) != len(schema["input"]):
        raise Mismatch(f"{want['file']}: {len(values)} values for {len(schema['input'])} input fields")
    named = {f["name"]: v for f, v in zip(schema["input"], values)}
    expect(f"{want['file']} seq", seq, want["seq"])
    expect(f"{want['file']} view_tick", view_tick, want["view_tick"])
    # Types too: a float stays a float, a bool is not the integer 1.
    expect(f"{want['file']} values", [(k, type(v), v) for k, v in named.items()],
           [(k, type(v), v) for k, v in want["values"].items()])
    print(f"ok  {want['file']}: seq {seq}")


def files_named(game):
    """The .bin files a game's description names."""
    parts = [game["joined"], game["keyframe"], game["delta"], game["events"], game["input"]]
    return {p["file"] for p in parts if p is not None}


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    sets = sorted(glob.glob(os.path.join(directory, "*.json")))
    if not sets:
        print(f"ERROR no *.json in {directory}")
        return 2
    named, games = set(), 0
    try:
        for path in sets:
            with open(path) as fh:
                vectors = json.load(fh)
            if vectors["protocol_version"] != 4:
                print(f"{path}: vectors of protocol {vectors['protocol_version']}; this decoder speaks 4")
                return 1
            for game in vectors["games"]:
                check_game(directory, game)
                named |= files_named(game)
                games += 1
        stray = sorted(set(os.listdir(directory)) - named)
        stray = [f for f in stray if f.endswith(".bin")]
        if stray:
            raise Mismatch(f"no JSON describes {', '.join(stray)}")
    except Mismatch as err:
        print(f"MISMATCH {err}")
        return 1
    except (OSError, ValueError, KeyError, msgpack.ExtraData) as err:
        print(f"ERROR {err!r}")
        return 2
    print(f"all {games} games' vectors ({len(sets)} JSON files) decode as they say")
    return 0


if __name__ == "__main__":
    sys.exit(main())
