/**
 * A game's schema, read from its wire form in `Joined` and `Resumed` (PROTOCOL.md section 8)
 * and checked against every rule that section states, as the Rust `Schema::check` does:
 * the change records and the state hash rely on them, so a schema that breaks one is a
 * {@link ProtocolError} rather than a copy of the room that goes wrong later.
 */

import { ProtocolError, U32, U8, asArray, asInt, asNumber, asStr, asUint } from "./msgpack.js";

export type InputType = "float" | "angle" | "int" | "bool" | "enum";

/** One value of an `Input`, in the schema's order. */
export interface InputField {
  name: string;
  type: InputType;
  /** The accepted range, both ends included (always present on the wire). */
  min?: number;
  max?: number;
  /** An `enum`'s variant names in index order; empty otherwise. */
  variants?: string[];
}

export type FieldType = "fixed" | "angle" | "int" | "bool" | "enum" | "string" | "entity";

/** Which delta case a number's change record makes cheapest. */
export type Code = "steady" | "busy";

/** One field of an entity kind or an event kind, with every member the wire has. */
export interface Field {
  name: string;
  type: FieldType;
  /** `fixed`: steps per unit; `angle`: steps per turn; 0 otherwise. */
  scale: number;
  /** `int`: the range; `string`: `max` is the most bytes; `enum`: the last index; `bool`: 1. */
  min: number;
  max: number;
  code: Code;
  /** Bits of a small and a large delta (`fixed`, `int`, `angle`); `wide` is an `enum` value's bits. */
  narrow: number;
  wide: number;
  /** `fixed` only: the index in the kind of the field that is this one's velocity. */
  predictedBy: number | null;
  variants: string[];
  /** `string`: the most bytes (the wire's `max`). */
  maxBytes?: number;
  /** `angle`: steps per turn (the wire's `scale`). */
  steps?: number;
}

export interface Kind {
  /** The index in `Schema.kinds`: an entity's `kind` on the wire. */
  id: number;
  name: string;
  /** The indexes of the x and y fields, for a kind with a place in the world. */
  position?: [number, number];
  fields: Field[];
}

export interface EventKind {
  /** The index in `Schema.events`: an event's `kind` on the wire. */
  id: number;
  name: string;
  fields: Field[];
}

export interface Schema {
  game: string;
  input: InputField[];
  kinds: Kind[];
  events: EventKind[];
}

export const MAX_KINDS = 64;
export const MAX_FIELDS = 64;
export const MAX_INPUT_FIELDS = 32;
export const MAX_STRING = 255;

const INPUT_TYPES: readonly string[] = ["float", "angle", "int", "bool", "enum"];
const FIELD_TYPES: readonly string[] = ["fixed", "angle", "int", "bool", "enum", "string", "entity"];
const I32_MIN = -0x8000_0000;
const I32_MAX = 0x7fff_ffff;

/** Reads and checks a schema; throws {@link ProtocolError} naming the first thing wrong. */
export function parseSchema(wire: unknown): Schema {
  const [gameWire, inputWire, kindsWire, eventsWire] = asArray(wire, "schema", 4);
  const game = asStr(gameWire, "schema game");
  const fail = (what: string): never => {
    throw new ProtocolError(`schema of ${JSON.stringify(game)}: ${what}`);
  };
  const inputs = asArray(inputWire, "schema input");
  const kinds = asArray(kindsWire, "schema kinds");
  const events = asArray(eventsWire, "schema events");
  if (kinds.length > MAX_KINDS || events.length > MAX_KINDS) {
    fail(`more than ${MAX_KINDS} entity or event kinds`);
  }
  if (inputs.length > MAX_INPUT_FIELDS) fail(`more than ${MAX_INPUT_FIELDS} input fields`);

  const input = inputs.map((w) => {
    const f = readInputField(w);
    const why = checkInputField(f);
    if (why) fail(`input ${JSON.stringify(f.name)}: ${why}`);
    return f;
  });
  const kindList = kinds.map((w, id): Kind => {
    const [nameWire, positionWire, fieldsWire] = asArray(w, "kind", 3);
    const name = asStr(nameWire, "kind name");
    const fields = asArray(fieldsWire, `kind ${name} fields`).map(readField);
    const kind: Kind = { id, name, fields };
    if (positionWire !== null) {
      const [x, y] = asArray(positionWire, `kind ${name} position`, 2);
      kind.position = [asUint(x, "position x", U8), asUint(y, "position y", U8)];
    }
    const why = checkKind(kind);
    if (why) fail(`kind ${JSON.stringify(name)}: ${why}`);
    return kind;
  });
  const eventList = events.map((w, id): EventKind => {
    const [nameWire, fieldsWire] = asArray(w, "event kind", 2);
    const name = asStr(nameWire, "event kind name");
    const fields = asArray(fieldsWire, `event ${name} fields`).map(readField);
    if (fields.length > MAX_FIELDS) fail(`event ${JSON.stringify(name)}: too many fields`);
    for (const [i, f] of fields.entries()) {
      // As a kind's: a field is checked against the ones before it (PROTOCOL.md, "What a
      // schema guarantees").
      const why = checkField(f, fields.slice(0, i));
      if (why) fail(`event ${JSON.stringify(name)}, field ${JSON.stringify(f.name)}: ${why}`);
    }
    return { id, name, fields };
  });
  return { game, input, kinds: kindList, events: eventList };
}

/** The entity kind called `name`. */
export function kindByName(schema: Schema, name: string): Kind | undefined {
  return schema.kinds.find((k) => k.name === name);
}

/** The event kind called `name`. */
export function eventKindByName(schema: Schema, name: string): EventKind | undefined {
  return schema.events.find((k) => k.name === name);
}

/** The index of the field called `name` in `kind`, or -1. */
export function fieldIndex(kind: Kind | EventKind, name: string): number {
  return kind.fields.findIndex((f) => f.name === name);
}

function readInputField(w: unknown): InputField {
  const [name, ty, min, max, variants] = asArray(w, "input field", 5);
  const type = asStr(ty, "input field type");
  if (!INPUT_TYPES.includes(type)) throw new ProtocolError(`unknown input type ${JSON.stringify(type)}`);
  return {
    name: asStr(name, "input field name"),
    type: type as InputType,
    min: asNumber(min, "input field min"),
    max: asNumber(max, "input field max"),
    variants: asArray(variants, "input field variants").map((v) => asStr(v, "variant")),
  };
}

function readField(w: unknown): Field {
  const [name, ty, scale, min, max, code, narrow, wide, predict, variants] = asArray(w, "field", 10);
  const type = asStr(ty, "field type");
  if (!FIELD_TYPES.includes(type)) throw new ProtocolError(`unknown field type ${JSON.stringify(type)}`);
  const codeName = asStr(code, "field code");
  if (codeName !== "steady" && codeName !== "busy") {
    throw new ProtocolError(`unknown code ${JSON.stringify(codeName)}`);
  }
  const field: Field = {
    name: asStr(name, "field name"),
    type: type as FieldType,
    scale: asUint(scale, "field scale", U32),
    min: asInt(min, "field min"),
    max: asInt(max, "field max"),
    code: codeName,
    narrow: asUint(narrow, "field narrow", U8),
    wide: asUint(wide, "field wide", U8),
    predictedBy: predict === null ? null : asUint(predict, "field predict", U8),
    variants: asArray(variants, "field variants").map((v) => asStr(v, "variant")),
  };
  if (field.type === "string") field.maxBytes = field.max;
  if (field.type === "angle") field.steps = field.scale;
  return field;
}

function checkInputField(f: InputField): string | null {
  const min = f.min as number;
  const max = f.max as number;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max)) {
    return "min and max must be finite, min <= max";
  }
  const whole = (v: number) => Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX;
  if (f.type === "int" && !(whole(min) && whole(max))) {
    return "an int's range must be whole numbers within i32";
  }
  const variants = f.variants as string[];
  if (f.type === "enum" && (variants.length === 0 || max !== variants.length - 1)) {
    return "an enum needs variants, and max = the last index";
  }
  return null;
}

function checkKind(kind: Kind): string | null {
  if (kind.fields.length > MAX_FIELDS) return `more than ${MAX_FIELDS} fields`;
  if (kind.position) {
    for (const at of kind.position) {
      if (kind.fields[at]?.type !== "fixed") return "its position must name two fixed fields";
    }
  }
  for (let i = 0; i < kind.fields.length; i++) {
    const f = kind.fields[i];
    const why = checkField(f, kind.fields.slice(0, i));
    if (why) return `field ${JSON.stringify(f.name)}: ${why}`;
  }
  return null;
}

/** The rules of one field, given the fields it may name as its velocity. */
function checkField(f: Field, before: readonly Field[]): string | null {
  const widthsOk = f.narrow >= 1 && f.narrow <= 32 && f.wide >= 1 && f.wide <= 32 && f.narrow <= f.wide;
  switch (f.type) {
    case "fixed":
      if (f.scale === 0) return "scale must be at least 1";
      if (!widthsOk) return "narrow and wide must be 1..=32 bits, narrow <= wide";
      break;
    case "int":
      if (!widthsOk) return "narrow and wide must be 1..=32 bits, narrow <= wide";
      if (!(I32_MIN <= f.min && f.min <= f.max && f.max <= I32_MAX)) {
        return "an int's range must be within i32, min <= max";
      }
      break;
    case "angle":
      if (
        f.scale < 4 ||
        f.wide > 32 ||
        f.scale % 2 === 1 ||
        f.scale > 1 << 16 ||
        !(f.narrow >= 1 && f.narrow <= f.wide) ||
        2 ** (f.wide - 1) < f.scale / 2
      ) {
        return "an angle needs an even scale in 4..=65536 and a wide delta that holds any turn";
      }
      break;
    case "enum":
      if (
        f.variants.length === 0 ||
        f.max !== f.variants.length - 1 ||
        !(f.wide >= 1 && f.wide <= 32) ||
        Math.floor(f.max / 2 ** f.wide) !== 0
      ) {
        return "an enum needs variants, max = the last index, and a wide that holds it";
      }
      break;
    case "string":
      if (!(f.max >= 1 && f.max <= MAX_STRING)) return `a string's max must be 1..=${MAX_STRING} bytes`;
      break;
  }
  if (f.predictedBy === null) return null;
  if (f.type !== "fixed") return "only fixed fields are predicted";
  const vel = before[f.predictedBy];
  if (!vel || vel.type !== "fixed" || vel.predictedBy !== null) {
    return "predicted_by must name an unpredicted fixed field added before it";
  }
  return null;
}
