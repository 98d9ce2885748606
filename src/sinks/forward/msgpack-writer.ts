/**
 * A msgpack writer for JSON-shaped records, writing straight into the packet buffer.
 *
 * Why not @msgpack/msgpack's Encoder: it encodes into its own buffer (one more copy per record) and
 * its per-character UTF-8 loop made encoding the bottleneck of the sink (~60–100k audit records/s
 * on the 2-core CI box). This writer uses Buffer#write (native UTF-8) for longer strings, reserving a
 * header for the worst case and patching the length after; msgpack allows a longer header than the
 * minimum, and Fluentd and Fluent Bit read it. Round-trips are tested against @msgpack/msgpack.
 *
 * Values JSON cannot hold are mapped the way JSON.stringify maps them, so the forward and stdout sinks
 * agree: Date → ISO 8601 string (Fluentd's unpacker does not know msgpack's timestamp ext -1),
 * BigInt → decimal string (lossless, and every downstream reads it), NaN/±Infinity → nil,
 * undefined / function / symbol → key left out of a map, nil inside an array.
 */

import { isShared } from '../../shape/shared';

const MAX_DEPTH = 100;

/** Shared values (src/shape/shared) whose bytes a writer keeps: one per record type of a blob (an Audit.General blob has 8 or more; with 4 slots, 38 % of its records missed). */
export const MEMO_SLOTS = 16;
const REUSED = -2;

const hasOwn = Object.prototype.hasOwnProperty;

/** Buffer's own encoder, without Buffer#write's argument handling (about a third of its cost on audit records). */
const utf8Write = (Buffer.prototype as unknown as { utf8Write: (this: Buffer, s: string, offset: number, max: number) => number }).utf8Write;

function skipped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

export class MsgpackWriter {
  buf: Buffer;
  pos = 0;
  private readonly memoObj: Array<object | undefined> = new Array<object | undefined>(MEMO_SLOTS).fill(undefined);
  private readonly memoBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(MEMO_SLOTS).fill(undefined);
  private memoNext = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.pos + n, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  value(v: unknown, depth = 0): void {
    switch (typeof v) {
      case 'string':
        this.str(v);
        return;
      case 'number':
        this.num(v);
        return;
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return;
      case 'bigint':
        this.str(v.toString());
        return;
      case 'object':
        if (v === null) break;
        if (depth >= MAX_DEPTH) throw new Error(`record nested deeper than ${MAX_DEPTH} levels`);
        if (Array.isArray(v)) this.array(v, depth + 1);
        else if (v instanceof Date) this.str(Number.isNaN(v.getTime()) ? '' : v.toISOString());
        else if (ArrayBuffer.isView(v)) this.bin(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        else this.map(v as Record<string, unknown>, depth + 1);
        return;
      default:
        break;
    }
    this.ensure(1);
    this.buf[this.pos++] = 0xc0; // nil
  }

  private array(a: unknown[], depth: number): void {
    this.header(a.length, 0x90, 0xdc, 0xdd);
    for (let i = 0; i < a.length; i++) this.value(a[i], depth);
  }

  /**
   * One pass with for-in (own keys: the set and order Object.keys gives) instead of Object.keys plus
   * a counting pass: no key array per object and one property load per key instead of two (bench/:
   * ~20% less encoding time on audit records). The count is patched into a reserved map16 header;
   * a small map (most nested ones) moves its body back by two bytes to keep the minimal fixmap.
   */
  private map(o: Record<string, unknown>, depth: number): void {
    // A value of a record's own key (depth 2) may be a shared one: its bytes once, then copies.
    let memoFrom = -1;
    if (depth === 2) {
      memoFrom = this.reuse(o);
      if (memoFrom === REUSED) return;
    }
    this.ensure(3);
    const at = this.pos;
    this.pos += 3;
    let n = 0;
    for (const k in o) {
      if (!hasOwn.call(o, k)) continue;
      const v = o[k];
      if (skipped(v)) continue;
      this.str(k);
      this.value(v, depth);
      n++;
    }
    const b = this.buf; // read after the body: ensure() may have replaced it
    if (n < 16) {
      b[at] = 0x80 | n;
      b.copyWithin(at + 1, at + 3, this.pos);
      this.pos -= 2;
    } else if (n < 0x10000) {
      b[at] = 0xde;
      b.writeUInt16BE(n, at + 1);
    } else {
      this.ensure(2);
      const big = this.buf;
      big.copyWithin(at + 5, at + 3, this.pos);
      this.pos += 2;
      big[at] = 0xdf;
      big.writeUInt32BE(n, at + 1);
    }
    if (memoFrom >= 0) this.keep(o, memoFrom);
  }

  /** REUSED when `o`'s kept bytes were written; its start offset when it is shared (to be kept); -1 otherwise. */
  private reuse(o: object): number {
    for (let k = 0; k < MEMO_SLOTS; k++) {
      if (this.memoObj[k] === o) {
        const m = this.memoBytes[k]!;
        this.ensure(m.length);
        this.buf.set(m, this.pos);
        this.pos += m.length;
        return REUSED;
      }
    }
    return isShared(o) ? this.pos : -1;
  }

  private keep(o: object, from: number): void {
    const k = this.memoNext;
    this.memoNext = (k + 1) % MEMO_SLOTS;
    this.memoObj[k] = o;
    this.memoBytes[k] = Uint8Array.prototype.slice.call(this.buf, from, this.pos);
  }

  private header(n: number, fix: number, b16: number, b32: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = fix | n;
    else if (n < 0x10000) {
      b[this.pos] = b16;
      b.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      b[this.pos] = b32;
      b.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
  }

  str(s: string): void {
    const len = s.length;
    if (len < 32) {
      // Short strings (keys, enums): a plain loop beats the native call; bail out on non-ASCII.
      this.ensure(1 + len);
      const b = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === len) {
        b[this.pos] = 0xa0 | len;
        this.pos = start + len;
        return;
      }
    }
    const max = len * 3;
    const hs = max < 32 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
    this.ensure(hs + max);
    const b = this.buf;
    const n = utf8Write.call(b, s, this.pos + hs, max);
    if (hs === 1) b[this.pos] = 0xa0 | n;
    else if (hs === 2) { b[this.pos] = 0xd9; b[this.pos + 1] = n; }
    else if (hs === 3) { b[this.pos] = 0xda; b.writeUInt16BE(n, this.pos + 1); }
    else { b[this.pos] = 0xdb; b.writeUInt32BE(n, this.pos + 1); }
    this.pos += hs + n;
  }

  private num(v: number): void {
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    if (Number.isSafeInteger(v)) {
      if (v >= 0) {
        if (v < 0x80) b[p++] = v;
        else if (v < 0x100) { b[p++] = 0xcc; b[p++] = v; }
        else if (v < 0x10000) { b[p] = 0xcd; b.writeUInt16BE(v, p + 1); p += 3; }
        else if (v < 0x100000000) { b[p] = 0xce; b.writeUInt32BE(v, p + 1); p += 5; }
        else { b[p] = 0xcf; b.writeBigUInt64BE(BigInt(v), p + 1); p += 9; }
      } else {
        if (v >= -0x20) b[p++] = 0xe0 | (v + 0x20);
        else if (v >= -0x80) { b[p] = 0xd0; b.writeInt8(v, p + 1); p += 2; }
        else if (v >= -0x8000) { b[p] = 0xd1; b.writeInt16BE(v, p + 1); p += 3; }
        else if (v >= -0x80000000) { b[p] = 0xd2; b.writeInt32BE(v, p + 1); p += 5; }
        else { b[p] = 0xd3; b.writeBigInt64BE(BigInt(v), p + 1); p += 9; }
      }
    } else if (Number.isFinite(v)) {
      b[p] = 0xcb;
      b.writeDoubleBE(v, p + 1);
      p += 9;
    } else {
      b[p++] = 0xc0; // NaN / Infinity: as JSON.stringify (null)
    }
    this.pos = p;
  }

  private bin(u: Uint8Array): void {
    this.ensure(5 + u.length);
    const b = this.buf;
    const n = u.length;
    if (n < 0x100) { b[this.pos] = 0xc4; b[this.pos + 1] = n; this.pos += 2; }
    else if (n < 0x10000) { b[this.pos] = 0xc5; b.writeUInt16BE(n, this.pos + 1); this.pos += 3; }
    else { b[this.pos] = 0xc6; b.writeUInt32BE(n, this.pos + 1); this.pos += 5; }
    b.set(u, this.pos);
    this.pos += n;
  }
}
