/**
 * A set of (tenant, GUID) pairs in one typed array: 16 bytes of GUID and a tenant number per slot,
 * open addressing with linear probing. Why: the de-dup memory holds 100,000 Ids by default, and as
 * strings in Sets that was about 11 MiB of old-space heap (36-char strings, Set tables) that every
 * full GC marks; here it is 20 bytes per slot off the heap (issue 17, memory scenario). Exact, not a
 * fingerprint: a record is dropped only when its Id was delivered, never on a hash collision.
 *
 * Only lowercase GUIDs (what Microsoft sends) fit; `parseGuid` says whether an Id is one, and the
 * caller keeps the others as strings.
 */

/** Words per slot: the tenant number (0 = empty slot) and the GUID as four 32-bit words. */
const SLOT = 5;
const LOAD = 0.8;

/** Hex digit value per character code (lowercase only), -1 for the rest. */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x61 + c] = 10 + c;

/** The GUID's four words, written by parseGuid (one scratch: the table is used from one thread). */
export const guidWords = new Uint32Array(4);

/**
 * Parses a lowercase GUID (8-4-4-4-12 hex) into `guidWords`; false when `id` is not one. By hand:
 * this runs once per record read and once per record acknowledged.
 */
export function parseGuid(id: string): boolean {
  if (id.length !== 36) return false;
  if (id.charCodeAt(8) !== 45 || id.charCodeAt(13) !== 45 || id.charCodeAt(18) !== 45 || id.charCodeAt(23) !== 45) return false;
  let w = 0;
  let word = 0;
  let n = 0;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const c = id.charCodeAt(i);
    const v = c < 128 ? HEX[c] : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++n === 8) {
      guidWords[w++] = word;
      word = 0;
      n = 0;
    }
  }
  return true;
}

export class GuidTable {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  /**
   * Room for `capacity` pairs at a load of at most 0.8 (DeliveredIds puts a Bloom filter in front, so
   * nearly every probe that would walk a long run never reaches the table); grows if asked for more.
   */
  constructor(private readonly capacity: number) {
    const n = GuidTable.slotsFor(capacity);
    this.slots = new Uint32Array(n * SLOT);
    this.mask = n - 1;
  }

  private static slotsFor(capacity: number): number {
    let n = 16;
    while (n * LOAD < capacity) n *= 2;
    return n;
  }

  get size(): number {
    return this.count;
  }

  /** Whether (tenant, the GUID in guidWords) is in the table. `tenant` ≥ 1. */
  has(tenant: number): boolean {
    const s = this.slots;
    const a = guidWords[0];
    const b = guidWords[1];
    const c = guidWords[2];
    const d = guidWords[3];
    let i = hash(a, b, c, d, tenant) & this.mask;
    for (;;) {
      const o = i * SLOT;
      const t = s[o];
      if (t === 0) return false;
      if (t === tenant && s[o + 1] === a && s[o + 2] === b && s[o + 3] === c && s[o + 4] === d) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** Adds (tenant, the GUID in guidWords); true when it was not there. */
  add(tenant: number): boolean {
    if (this.count + 1 > (this.mask + 1) * LOAD) this.grow();
    return this.insert(tenant, guidWords[0], guidWords[1], guidWords[2], guidWords[3]);
  }

  private insert(tenant: number, a: number, b: number, c: number, d: number): boolean {
    const s = this.slots;
    let i = hash(a, b, c, d, tenant) & this.mask;
    for (;;) {
      const o = i * SLOT;
      const t = s[o];
      if (t === 0) {
        s[o] = tenant;
        s[o + 1] = a;
        s[o + 2] = b;
        s[o + 3] = c;
        s[o + 4] = d;
        this.count++;
        return true;
      }
      if (t === tenant && s[o + 1] === a && s[o + 2] === b && s[o + 3] === c && s[o + 4] === d) return false;
      i = (i + 1) & this.mask;
    }
  }

  /** Empties the table, keeping its memory (the de-dup generations swap and reuse). */
  clear(): void {
    if (this.count === 0) return;
    // Back to the planned size if an outsized generation grew it (it must not pin that memory).
    const n = GuidTable.slotsFor(this.capacity);
    if (n - 1 !== this.mask) {
      this.slots = new Uint32Array(n * SLOT);
      this.mask = n - 1;
    } else this.slots.fill(0);
    this.count = 0;
  }

  private grow(): void {
    const old = this.slots;
    const n = (this.mask + 1) * 2;
    this.slots = new Uint32Array(n * SLOT);
    this.mask = n - 1;
    this.count = 0;
    for (let o = 0; o < old.length; o += SLOT) {
      if (old[o] !== 0) this.insert(old[o], old[o + 1], old[o + 2], old[o + 3], old[o + 4]);
    }
  }
}

/** Mixes the words (GUIDs are mostly random, but time-based ones share long runs of bits). */
function hash(a: number, b: number, c: number, d: number, t: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ d, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ t, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
