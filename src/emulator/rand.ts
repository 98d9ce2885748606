/**
 * Seeded, allocation-light randomness. Everything the emulator generates is a pure function of
 * (seed, tenant, content type, hour slot, blob index, record index), so these helpers are tiny
 * integer hashes and a mulberry32 stream rather than crypto: they run once per field at bench scale.
 */

/** 32-bit FNV-1a of a string, then avalanche-mixed. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h >>> 0);
}

/** murmur3 finaliser: a good 32-bit avalanche. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines up to five 32-bit integers into one hash (order-sensitive). */
export function mix(a: number, b: number, c = 0, d = 0, e = 0): number {
  let h = fmix((a ^ 0x9e3779b9) >>> 0);
  h = fmix((h ^ Math.imul(b | 0, 0x27d4eb2d)) >>> 0);
  h = fmix((h ^ Math.imul(c | 0, 0x165667b1)) >>> 0);
  h = fmix((h ^ Math.imul(d | 0, 0x61c88647)) >>> 0);
  h = fmix((h ^ Math.imul(e | 0, 0x3c6ef372)) >>> 0);
  return h;
}

/** A uniform float in [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return (h >>> 0) / 4294967296;
}

/** mulberry32: fast, decent, 32-bit state, so a stream can be re-created from one hash. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  float(): number {
    return this.next() / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(arr: readonly T[]): T {
    return arr[Math.floor(this.float() * arr.length)];
  }
  /** Picks from [value, weight] pairs; the weights need not sum to 1. */
  weighted<T>(table: WeightedTable<T>): T {
    const r = this.float() * table.total;
    const { values, cumulative } = table;
    for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]) return values[i];
    return values[values.length - 1];
  }
  hex(chars: number, upper = false): string {
    let out = '';
    const t = upper ? HEX2_UPPER : HEX2;
    while (out.length < chars) out += t[this.next() & 0xff] + t[(this.next() >>> 8) & 0xff];
    return out.length === chars ? out : out.slice(0, chars);
  }
  guid(): string {
    return guidFromWords(this.next(), this.next(), this.next(), this.next());
  }
}

export interface WeightedTable<T> {
  values: T[];
  cumulative: number[];
  total: number;
}

export function weightedTable<T>(pairs: ReadonlyArray<readonly [T, number]>): WeightedTable<T> {
  const values: T[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const [v, w] of pairs) {
    if (w <= 0) continue;
    total += w;
    values.push(v);
    cumulative.push(total);
  }
  return { values, cumulative, total };
}

export const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export const HEX2_UPPER: string[] = HEX2.map((h) => h.toUpperCase());

export function hex32(n: number): string {
  n >>>= 0;
  return HEX2[n >>> 24] + HEX2[(n >>> 16) & 0xff] + HEX2[(n >>> 8) & 0xff] + HEX2[n & 0xff];
}

/** A version-4-shaped GUID from four 32-bit words. */
export function guidFromWords(a: number, b: number, c: number, d: number): string {
  const s1 = hex32(a);
  const s2 = hex32(b);
  const s3 = hex32(c);
  const s4 = hex32(d);
  return (
    s1 +
    '-' +
    s2.slice(0, 4) +
    '-4' +
    s2.slice(5, 8) +
    '-' +
    '89ab'[c & 3] +
    s3.slice(1, 4) +
    '-' +
    s3.slice(4, 8) +
    s4
  );
}

/** A deterministic GUID from a 32-bit key (expanded through the hash). */
export function guidFromHash(h: number): string {
  const a = fmix(h ^ 0x1b873593);
  const b = fmix(a ^ 0xcc9e2d51);
  const c = fmix(b ^ 0xe6546b64);
  const d = fmix(c ^ 0x85ebca6b);
  return guidFromWords(a, b, c, d);
}
