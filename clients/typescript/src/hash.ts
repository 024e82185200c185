/**
 * The state hash (PROTOCOL.md section 9, "The state hash"; the Rust `state_hash.rs`): each
 * entity's 64-bit FNV-1a over its id, kind and values, summed modulo 2^64, cut to 32 bits.
 *
 * Only the low 32 bits of the sum are sent, and the low 32 bits of a sum depend only on
 * the low 32 bits of what is summed; the low 32 bits of FNV-1a 64 depend only on the low
 * 32 bits of its state, since the prime is 2^40 + 0x1b3. So the replica runs FNV-1a on a
 * 32-bit state with the basis's low half and multiplier 0x1b3 ({@link entityHash32}):
 * one `Math.imul` a byte, no 64-bit arithmetic. The full 64-bit hash ({@link entityHash64})
 * is here for tests and tools that compare it with the golden vectors.
 */

const BASIS_LOW = 0x8422_2325;
const PRIME_LOW = 0x1b3;
const BASIS_64 = 0xcbf2_9ce4_8422_2325n;
const PRIME_64 = 0x100_0000_01b3n;

const utf8 = new TextEncoder();
const scratch = new Uint8Array(3 * 255 + 4);

/** The UTF-8 bytes of `s` that the hash covers (at most 255), in a shared scratch buffer. */
function stringBytes(s: string): Uint8Array {
  // A string of 255 UTF-16 units or fewer encodes to at most 765 bytes: the buffer holds it.
  const head = s.length > 255 ? s.slice(0, 255) : s;
  const { written } = utf8.encodeInto(head, scratch);
  return scratch.subarray(0, written < 255 ? written : 255);
}

/**
 * The low 32 bits of the entity hash of an entity: its `id`, its `kind` and its field
 * values `wire[from .. from + count]` (integers as their low 32 bits, strings as their
 * length and UTF-8 bytes).
 */
export function entityHash32(
  id: number,
  kind: number,
  wire: ArrayLike<number | string>,
  from: number,
  count: number,
): number {
  let h = BASIS_LOW;
  h = Math.imul(h ^ (id & 0xff), PRIME_LOW);
  h = Math.imul(h ^ ((id >>> 8) & 0xff), PRIME_LOW);
  h = Math.imul(h ^ ((id >>> 16) & 0xff), PRIME_LOW);
  h = Math.imul(h ^ (id >>> 24), PRIME_LOW);
  h = Math.imul(h ^ (kind & 0xff), PRIME_LOW);
  const end = from + count;
  for (let i = from; i < end; i++) {
    const v = wire[i];
    if (typeof v === "number") {
      // `| 0` keeps the low 32 bits of any integer, as two's complement.
      const n = v | 0;
      h = Math.imul(h ^ (n & 0xff), PRIME_LOW);
      h = Math.imul(h ^ ((n >>> 8) & 0xff), PRIME_LOW);
      h = Math.imul(h ^ ((n >>> 16) & 0xff), PRIME_LOW);
      h = Math.imul(h ^ (n >>> 24), PRIME_LOW);
    } else {
      h = hashString(h, v);
    }
  }
  return h >>> 0;
}

function hashString(h: number, s: string): number {
  let ascii = s.length <= 255;
  for (let i = 0; ascii && i < s.length; i++) if (s.charCodeAt(i) >= 0x80) ascii = false;
  if (ascii) {
    h = Math.imul(h ^ s.length, PRIME_LOW);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), PRIME_LOW);
    return h;
  }
  const bytes = stringBytes(s);
  h = Math.imul(h ^ bytes.length, PRIME_LOW);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], PRIME_LOW);
  return h;
}

/** The full 64-bit entity hash, as the golden vectors' `entity_hash` gives it. */
export function entityHash64(id: number, kind: number, values: readonly (number | string)[]): bigint {
  const bytes: number[] = [];
  const int32 = (n: number) => {
    const u = n | 0;
    bytes.push(u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, u >>> 24);
  };
  int32(id);
  bytes.push(kind & 0xff);
  for (const v of values) {
    if (typeof v === "number") int32(v);
    else {
      const b = stringBytes(v);
      bytes.push(b.length, ...b);
    }
  }
  let h = BASIS_64;
  for (const b of bytes) h = ((h ^ BigInt(b)) * PRIME_64) & 0xffff_ffff_ffff_ffffn;
  return h;
}

/** The state hash of entities given as `[id, kind, values]`, in any order. */
export function stateHash(entities: Iterable<{ id: number; kindId: number; wire: readonly (number | string)[] }>): number {
  let sum = 0;
  for (const e of entities) sum = (sum + entityHash32(e.id, e.kindId, e.wire, 0, e.wire.length)) >>> 0;
  return sum;
}
