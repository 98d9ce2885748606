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
  // The same Id is asked for several times in a row per record (delivered? on its way? claim, list):
  // parsed once while guidWords still hold it.
  if (id === lastParsed) return lastOk;
  lastParsed = id;
  lastOk = parseInto(id);
  return lastOk;
}

/** The Id guidWords hold (parseGuid's memo); whoever else writes guidWords clears it. */
let lastParsed: string | undefined;
let lastOk = false;

function parseInto(id: string): boolean {
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

/** Open addressing over slots of SLOT words (first word 0 = empty); the two tables below share its growth. */
abstract class SlotTable {
  protected slots: Uint32Array;
  protected mask: number;
  protected count = 0;

  constructor(slotCount: number) {
    this.slots = new Uint32Array(slotCount * SLOT);
    this.mask = slotCount - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Puts one entry of the old slots back after a growth. */
  protected abstract reput(head: number, a: number, b: number, c: number, d: number): void;

  /** Doubles the slots and puts every entry back. */
  protected grow(): void {
    const old = this.slots;
    const n = (this.mask + 1) * 2;
    this.slots = new Uint32Array(n * SLOT);
    this.mask = n - 1;
    this.count = 0;
    for (let o = 0; o < old.length; o += SLOT) if (old[o] !== 0) this.reput(old[o], old[o + 1], old[o + 2], old[o + 3], old[o + 4]);
  }
}

export class GuidTable extends SlotTable {

  /**
   * Room for `capacity` pairs at a load of at most 0.8 (DeliveredIds puts a Bloom filter in front, so
   * nearly every probe that would walk a long run never reaches the table); grows if asked for more.
   */
  constructor(private readonly capacity: number) {
    super(GuidTable.slotsFor(capacity));
  }

  private static slotsFor(capacity: number): number {
    let n = 16;
    while (n * LOAD < capacity) n *= 2;
    return n;
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
        setSlot(s, o, tenant, a, b, c, d);
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

  protected reput(tenant: number, a: number, b: number, c: number, d: number): void {
    this.insert(tenant, a, b, c, d);
  }
}

/** One slot: its first word (tenant or value, never 0) and the GUID's four words. */
function setSlot(s: Uint32Array, o: number, head: number, a: number, b: number, c: number, d: number): void {
  s[o] = head;
  s[o + 1] = a;
  s[o + 2] = b;
  s[o + 3] = c;
  s[o + 4] = d;
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

/** The text of the GUID in words[off..off+4) (lowercase, 8-4-4-4-12), as parseGuid read it. */
export function guidText(words: Uint32Array, off: number): string {
  const h = (w: number): string => (w >>> 0).toString(16).padStart(8, '0');
  const a = h(words[off]);
  const b = h(words[off + 1]);
  const c = h(words[off + 2]);
  const d = h(words[off + 3]);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

/**
 * The record Ids of a batch (or of one read's part of it) while it waits for its acknowledgement:
 * GUIDs as four words each in one typed array, other Ids as strings. Why: an Id string held from the
 * read until the ack (100 ms and more) outlives two scavenges and is promoted; those strings were
 * about half of all bytes promoted in the memory scenario (issue 17), and every promoted byte brings
 * the next mark-compact nearer. Strings are made again only where a consumer needs them (lost reports,
 * the persistent Id store), at the ack, and die young there.
 *
 * Iterates GUIDs first, then the others, each in the order pushed.
 */
export class IdList implements Iterable<string> {
  private words: Uint32Array | null = null;
  private guids = 0;
  private texts: string[] | null = null;

  get length(): number {
    return this.guids + (this.texts?.length ?? 0);
  }

  get guidCount(): number {
    return this.guids;
  }

  push(id: string): void {
    if (!parseGuid(id)) {
      (this.texts ??= []).push(id);
      return;
    }
    let w = this.words;
    const at = this.guids * 4;
    if (w === null || at + 4 > w.length) {
      const next = new Uint32Array(Math.max(64, w === null ? 0 : w.length * 2));
      if (w !== null) next.set(w);
      this.words = w = next;
    }
    w[at] = guidWords[0];
    w[at + 1] = guidWords[1];
    w[at + 2] = guidWords[2];
    w[at + 3] = guidWords[3];
    this.guids++;
  }

  /** Loads the i-th GUID into guidWords (for GuidTable and the claims). */
  loadGuid(i: number): void {
    lastParsed = undefined;
    const w = this.words!;
    const o = i * 4;
    guidWords[0] = w[o];
    guidWords[1] = w[o + 1];
    guidWords[2] = w[o + 2];
    guidWords[3] = w[o + 3];
  }

  /** The Ids that are not GUIDs (read only). */
  others(): readonly string[] {
    return this.texts ?? [];
  }

  *[Symbol.iterator](): Iterator<string> {
    for (let i = 0; i < this.guids; i++) yield guidText(this.words!, i * 4);
    if (this.texts) yield* this.texts;
  }

  toArray(): string[] {
    return [...this];
  }

  /** One list of all of `lists` (a batch of several reads' parts). */
  static concat(lists: readonly IdList[]): IdList {
    const out = new IdList();
    let guids = 0;
    for (const l of lists) guids += l.guids;
    if (guids > 0) {
      const w = new Uint32Array(guids * 4);
      let at = 0;
      for (const l of lists) {
        if (l.guids === 0) continue;
        w.set(l.words!.subarray(0, l.guids * 4), at);
        at += l.guids * 4;
      }
      out.words = w;
      out.guids = guids;
    }
    for (const l of lists) if (l.texts) for (const t of l.texts) (out.texts ??= []).push(t);
    return out;
  }
}

/** Ids as callers hold them: a plain array (tests, private lanes) or an IdList. */
export type Ids = readonly string[] | IdList;

/**
 * GUID → a small number (≥ 1), with removal: the de-dup claims of records on their way (an Id maps
 * to the number of the batch outcome it waits for). Linear probing, removal by backward shift (no
 * tombstones, so probe runs stay short however many claims come and go).
 */
export class GuidClaimTable extends SlotTable {
  /** Per slot: value (0 = empty), then the GUID's four words. */
  constructor() {
    super(1024);
  }

  /** The value for the GUID in guidWords, 0 when absent. */
  get(): number {
    const i = this.find(guidWords[0], guidWords[1], guidWords[2], guidWords[3]);
    return i < 0 ? 0 : this.slots[i * SLOT];
  }

  /** Sets the GUID in guidWords to `value` (≥ 1) unless it has one; true when set. */
  setIfAbsent(value: number): boolean {
    const a = guidWords[0];
    const b = guidWords[1];
    const c = guidWords[2];
    const d = guidWords[3];
    if (this.find(a, b, c, d) >= 0) return false;
    if (this.count + 1 > (this.mask + 1) * 0.5) this.grow();
    this.put(value, a, b, c, d);
    return true;
  }

  /** Removes the GUID in guidWords if its value is `value`; true when removed. */
  deleteIf(value: number): boolean {
    let i = this.find(guidWords[0], guidWords[1], guidWords[2], guidWords[3]);
    if (i < 0 || this.slots[i * SLOT] !== value) return false;
    const s = this.slots;
    const mask = this.mask;
    // Backward shift: move later entries of the run into the hole when their home allows it.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const o = j * SLOT;
      if (s[o] === 0) break;
      const home = hash(s[o + 1], s[o + 2], s[o + 3], s[o + 4], 0) & mask;
      // Movable when the hole i lies cyclically in [home, j).
      if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
        s.copyWithin(i * SLOT, o, o + SLOT);
        i = j;
      }
    }
    s.fill(0, i * SLOT, i * SLOT + SLOT);
    this.count--;
    return true;
  }

  private find(a: number, b: number, c: number, d: number): number {
    const s = this.slots;
    let i = hash(a, b, c, d, 0) & this.mask;
    for (;;) {
      const o = i * SLOT;
      if (s[o] === 0) return -1;
      if (s[o + 1] === a && s[o + 2] === b && s[o + 3] === c && s[o + 4] === d) return i;
      i = (i + 1) & this.mask;
    }
  }

  private put(value: number, a: number, b: number, c: number, d: number): void {
    const s = this.slots;
    let i = hash(a, b, c, d, 0) & this.mask;
    while (s[i * SLOT] !== 0) i = (i + 1) & this.mask;
    setSlot(s, i * SLOT, value, a, b, c, d);
    this.count++;
  }

  protected reput(value: number, a: number, b: number, c: number, d: number): void {
    this.put(value, a, b, c, d);
  }
}
