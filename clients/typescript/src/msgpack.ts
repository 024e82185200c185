/**
 * MessagePack in and out, as the protocol uses it (PROTOCOL.md section 2).
 *
 * Reading goes through `@msgpack/msgpack`, then through the checks here, which turn the
 * generic values into the protocol's field types (`u32`, `str or nil`, ...) or throw a
 * {@link ProtocolError}: whatever bytes arrive, a reader here throws nothing else.
 *
 * Writing is done by hand ({@link Writer}) because the protocol wants control that a
 * general encoder does not give: an input's `float` field is written as a float64 even when
 * its value is whole (as the golden vectors have it), next to integers in their smallest
 * form.
 */

import { Decoder } from "@msgpack/msgpack";

/** A frame from the server that is not what the protocol says: never thrown for anything else. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

// One decoder for every frame: it keeps no state between calls. Limits are generous, the
// frame's own length bounds what it can hold; they only stop a hostile length prefix from
// reserving memory before the bytes run out.
const decoder = new Decoder({
  maxStrLength: 1 << 20,
  maxBinLength: 1 << 24,
  maxArrayLength: 1 << 24,
  maxMapLength: 0,
  maxExtLength: 0,
});

/** Decodes one whole frame; trailing bytes, maps and extension values are errors. */
export function readFrame(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (err) {
    throw new ProtocolError(`not a MessagePack frame: ${(err as Error)?.message ?? err}`);
  }
}

/** An array of exactly `length` items (any length when omitted). */
export function asArray(v: unknown, what: string, length?: number): unknown[] {
  if (!Array.isArray(v)) throw new ProtocolError(`${what}: not an array`);
  if (length !== undefined && v.length !== length) {
    throw new ProtocolError(`${what}: ${v.length} items, wanted ${length}`);
  }
  return v;
}

/** An unsigned integer of at most `max` (2^53 - 1 for a u64: beyond that a JS number is not exact). */
export function asUint(v: unknown, what: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ProtocolError(`${what}: ${describe(v)} is not an integer in 0..=${max}`);
  }
  return v;
}

export const U8 = 0xff;
export const U16 = 0xffff;
export const U32 = 0xffff_ffff;
export const U64 = Number.MAX_SAFE_INTEGER;

/** A signed integer exactly representable as a JS number. */
export function asInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new ProtocolError(`${what}: ${describe(v)} is not an integer`);
  }
  return v;
}

/** Any number (a float64 on the wire, or an integer standing for one). */
export function asNumber(v: unknown, what: string): number {
  if (typeof v !== "number") throw new ProtocolError(`${what}: ${describe(v)} is not a number`);
  return v;
}

export function asStr(v: unknown, what: string): string {
  if (typeof v !== "string") throw new ProtocolError(`${what}: ${describe(v)} is not a str`);
  return v;
}

export function asBool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new ProtocolError(`${what}: ${describe(v)} is not a bool`);
  return v;
}

export function asOptStr(v: unknown, what: string): string | null {
  return v === null ? null : asStr(v, what);
}

export function asBin(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ProtocolError(`${what}: ${describe(v)} is not a bin`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "nil";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a bin";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (typeof v === "object") return "a map or extension";
  return String(v);
}

/**
 * A MessagePack writer for client messages: each integer in its smallest form, floats at
 * the width asked for, strings as str. Throws RangeError or TypeError on a value the
 * protocol cannot carry: that is the caller's bug, not the network's.
 */
export class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private static readonly utf8 = new TextEncoder();

  /** The bytes written so far, as a copy the caller owns. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  nil(): void {
    this.byte(0xc0);
  }

  bool(v: boolean): void {
    this.byte(v ? 0xc3 : 0xc2);
  }

  arrayHeader(n: number): void {
    if (n < 16) this.byte(0x90 | n);
    else if (n <= U16) {
      this.room(3);
      this.buf[this.len] = 0xdc;
      this.view.setUint16(this.len + 1, n);
      this.len += 3;
    } else {
      this.room(5);
      this.buf[this.len] = 0xdd;
      this.view.setUint32(this.len + 1, n);
      this.len += 5;
    }
  }

  /** An integer in the smallest form that holds it (non-negative ones as unsigned). */
  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer`);
    if (v >= 0) {
      if (v < 0x80) return this.byte(v);
      if (v <= U8) return this.fixed(0xcc, 1, v);
      if (v <= U16) return this.fixed(0xcd, 2, v);
      if (v <= U32) return this.fixed(0xce, 4, v);
      return this.fixed(0xcf, 8, v);
    }
    if (v >= -32) return this.byte(v & 0xff);
    if (v >= -0x80) return this.fixed(0xd0, 1, v);
    if (v >= -0x8000) return this.fixed(0xd1, 2, v);
    if (v >= -0x8000_0000) return this.fixed(0xd2, 4, v);
    return this.fixed(0xd3, 8, v);
  }

  private fixed(tag: number, size: 1 | 2 | 4 | 8, v: number): void {
    this.room(1 + size);
    this.buf[this.len] = tag;
    const at = this.len + 1;
    if (size === 1) this.view.setUint8(at, v & 0xff);
    else if (size === 2) this.view.setUint16(at, v & 0xffff);
    else if (size === 4) this.view.setUint32(at, v >>> 0);
    else this.view.setBigUint64(at, BigInt.asUintN(64, BigInt(v)));
    this.len += 1 + size;
  }

  float64(v: number): void {
    this.room(9);
    this.buf[this.len] = 0xcb;
    this.view.setFloat64(this.len + 1, v);
    this.len += 9;
  }

  float32(v: number): void {
    this.room(5);
    this.buf[this.len] = 0xca;
    this.view.setFloat32(this.len + 1, v);
    this.len += 5;
  }

  str(s: string): void {
    if (typeof s !== "string") throw new TypeError(`${String(s)} is not a string`);
    const bytes = Writer.utf8.encode(s);
    const n = bytes.length;
    if (n < 32) this.byte(0xa0 | n);
    else if (n <= U8) {
      this.byte(0xd9);
      this.byte(n);
    } else if (n <= U16) {
      this.fixed(0xda, 2, n);
    } else {
      this.fixed(0xdb, 4, n);
    }
    this.room(n);
    this.buf.set(bytes, this.len);
    this.len += n;
  }

  /** A bin (no client message has one; tools and tests that play the server do). */
  bin(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n <= U8) {
      this.byte(0xc4);
      this.byte(n);
    } else if (n <= U16) this.fixed(0xc5, 2, n);
    else this.fixed(0xc6, 4, n);
    this.room(n);
    this.buf.set(bytes, this.len);
    this.len += n;
  }

  optStr(s: string | null): void {
    if (s === null) this.nil();
    else this.str(s);
  }
}
