/**
 * Forward Protocol Specification v1, client side: PackedForward packets with `option.chunk` for
 * acknowledgements, EventTime (ext type 0), and the shared-key handshake (HELO / PING / PONG).
 * https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1
 */
import { createHash, randomBytes } from 'node:crypto';
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { OutEvent } from '../../contracts';
import { MsgpackWriter } from './msgpack-writer';
import { allocLarge, dropLarge, growLarge } from '../../core/large-buffer';

/** One PackedForward packet, ready to write, with the id the receiver must acknowledge. */
export interface Packet {
  chunk: string;
  bytes: Buffer;
  events: number;
  /** Pooled backing store of `bytes`: give it back with PacketBuilder.release once written. */
  backing?: Buffer;
}

/**
 * Large packet buffers are reused: a fresh multi-MiB allocation costs its page faults on first touch,
 * which measured more than the encoding itself. Power-of-two classes, bounded by the bytes kept free
 * (issue 17: four per class kept 13 MiB idle in the memory scenario, most of it never taken again).
 */
class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  static readonly MIN = 16 * 1024;
  constructor(
    private readonly perClass: number,
    private readonly maxFreeBytes: number,
  ) {}

  take(n: number): { bytes: Buffer; backing?: Buffer } {
    if (n < BufferPool.MIN) return { bytes: Buffer.allocUnsafe(n) };
    let cls = BufferPool.MIN;
    while (cls < n) cls *= 2;
    let backing = this.free.get(cls)?.pop();
    if (backing) this.freeBytes -= cls;
    else backing = allocLarge(cls);
    return { bytes: backing.subarray(0, n), backing };
  }

  give(backing: Buffer): void {
    if (this.freeBytes + backing.length > this.maxFreeBytes) return dropLarge(backing);
    let list = this.free.get(backing.length);
    if (!list) this.free.set(backing.length, (list = []));
    if (list.length < this.perClass) {
      list.push(backing);
      this.freeBytes += backing.length;
    } else dropLarge(backing);
  }
}

/** Thrown by PacketBuilder when one event alone does not fit in a packet. */
export class EventTooLargeError extends Error {
  constructor(readonly index: number, readonly bytes: number, readonly limit: number) {
    super(`event ${index} encodes to ${bytes} bytes, over the ${limit}-byte packet limit`);
  }
}

const BIN32_HEADER = 5;
const OPTION_MAX = 64; // {chunk: <24 chars>, size: uint32}: 48 bytes, rounded up

/**
 * Encodes batches into PackedForward packets of at most `maxPacketBytes`, one tag per packet.
 * Each record is encoded once, straight into a reused scratch buffer (see msgpack-writer.ts for the
 * value mapping); each finished packet is copied out once, exactly sized.
 */
export class PacketBuilder {
  private readonly w: MsgpackWriter;
  /** Small and separate: packet options are written while the scratch holds the next record. */
  private readonly optionEnc = new Encoder();
  private readonly pool: BufferPool;

  constructor(private readonly maxPacketBytes: number) {
    // What one batch's packets need, about: enough for the take-release cycle of the window.
    this.pool = new BufferPool(4, Math.max(maxPacketBytes, 4 * 1024 * 1024));
    this.w = new MsgpackWriter(Math.min(maxPacketBytes + 1024, 1024 * 1024));
  }

  /** Splits by tag (first-appearance order) and by bytes. Throws EventTooLargeError. */
  build(events: readonly OutEvent[]): Packet[] {
    const packets: Packet[] = [];
    // Events of one tag are usually contiguous (one blob → one tag): group without sorting.
    const byTag = new Map<string, number[]>();
    let lastTag: string | undefined;
    let lastList: number[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const tag = events[i].tag;
      if (tag !== lastTag) {
        lastTag = tag;
        lastList = byTag.get(tag);
        if (!lastList) byTag.set(tag, (lastList = []));
      }
      lastList!.push(i);
    }
    for (const [tag, indexes] of byTag) this.buildTag(tag, indexes, events, packets);
    return packets;
  }

  private buildTag(tag: string, indexes: number[], events: readonly OutEvent[], out: Packet[]): void {
    const tagBytes = Buffer.from(tag, 'utf8');
    const tagHeader = tagBytes.length < 32 ? 1 : tagBytes.length < 0x100 ? 2 : tagBytes.length < 0x10000 ? 3 : 5;
    const overhead = 1 + tagHeader + tagBytes.length + BIN32_HEADER + OPTION_MAX;
    const limit = this.maxPacketBytes - overhead;
    const w = this.w;
    w.pos = 0;
    let count = 0;
    for (const i of indexes) {
      const ev = events[i];
      const start = writeEntryHead(w, ev);
      w.value(ev.record);
      const size = w.pos - start;
      if (size > limit) throw new EventTooLargeError(i, size + overhead, this.maxPacketBytes);
      if (w.pos > limit) {
        // This entry overflows the packet: ship what came before it, then move it to the front.
        out.push(this.finish(tagBytes, tagHeader, start, count));
        w.buf.copyWithin(0, start, w.pos);
        w.pos = size;
        count = 0;
      }
      count++;
    }
    if (count > 0) out.push(this.finish(tagBytes, tagHeader, w.pos, count));
  }

  private finish(tagBytes: Buffer, tagHeader: number, payload: number, count: number): Packet {
    const chunk = randomBytes(16).toString('base64');
    const option = this.optionEnc.encode({ chunk, size: count });
    const total = 1 + tagHeader + tagBytes.length + BIN32_HEADER + payload + option.length;
    const { bytes: b, backing } = this.pool.take(total);
    let p = 0;
    b[p++] = 0x93; // [tag, entries, option]
    const n = tagBytes.length;
    if (tagHeader === 1) b[p++] = 0xa0 | n;
    else if (tagHeader === 2) { b[p++] = 0xd9; b[p++] = n; }
    else if (tagHeader === 3) { b[p++] = 0xda; b.writeUInt16BE(n, p); p += 2; }
    else { b[p++] = 0xdb; b.writeUInt32BE(n, p); p += 4; }
    tagBytes.copy(b, p);
    p += n;
    b[p++] = 0xc6; // bin 32: the spec allows bin or str; Fluentd and Fluent Bit read both
    b.writeUInt32BE(payload, p);
    p += 4;
    this.w.buf.copy(b, p, 0, payload);
    p += payload;
    b.set(option, p);
    return { chunk, bytes: b, events: count, backing };
  }

  /**
   * A batch encoded as its events arrive (PacketStream): each record is written to msgpack when it is
   * added, so the parsed record can be dropped at once instead of living until the batch is full.
   */
  stream(): PacketStream {
    return new PacketStream(this, this.maxPacketBytes);
  }

  /**
   * @internal (PacketStream) The writer every stream encodes one record at a time with (JS runs one
   * add at a time): one small ordinary Buffer, instead of a scratch per filling lane that grew by
   * doubling and was dropped when more lanes filled than were pooled (issue 17: 13 scratch buffers of
   * 256 KiB to 2 MiB a pass, each a malloc chunk freed later, which fragmented malloc's heap).
   */
  scratch(): MsgpackWriter {
    // One huge record must not pin its memory for ever.
    if (this.sw.buf.length > RECORD_SCRATCH_KEEP) this.sw = new MsgpackWriter(RECORD_SCRATCH_BYTES);
    return this.sw;
  }
  private sw = new MsgpackWriter(RECORD_SCRATCH_BYTES);

  /**
   * @internal (PacketStream) Where a stream keeps its encoded entries until `finish`: outside malloc
   * (large-buffer.ts), growing in place up to a batch and a little, reused across batches.
   */
  takeStore(): Buffer {
    return this.stores.pop() ?? allocLarge(STREAM_STORE_BYTES, this.storeReserve);
  }

  /** @internal (PacketStream) */
  giveStore(b: Buffer): void {
    // Two (a filling batch per lane holds its own; more lanes take fresh ones), and not those grown
    // past their reservation (one huge batch must not pin its memory): the others are emptied now.
    if (this.stores.length < 2 && b.length <= this.storeReserve) this.stores.push(b);
    else dropLarge(b);
  }
  private readonly stores: Buffer[] = [];

  private get storeReserve(): number {
    return this.maxPacketBytes + 1024 * 1024;
  }

  /** @internal Free entry stores kept (tests). */
  get freeStores(): number {
    return this.stores.length;
  }

  /** @internal (PacketStream) The packet option `{chunk, size}`, encoded. */
  option(chunk: string, size: number): Uint8Array {
    return this.optionEnc.encode({ chunk, size });
  }

  /**
   * @internal (PacketStream) A buffer for a whole batch's packets. All of one size (the largest batch
   * of one tag, and a little), so any free one serves any batch: with power-of-two classes, batches
   * of 1–4 MB fell in different classes and nearly every one was a fresh allocation (1.5 GB for 1.5M
   * records), which malloc then kept. Pages a batch never writes are never resident.
   */
  take(n: number): { bytes: Buffer; backing?: Buffer } {
    if (n > this.batchBufferBytes) return this.pool.take(n);
    const backing = this.batchBuffers.pop() ?? allocLarge(this.batchBufferBytes);
    return { bytes: backing.subarray(0, n), backing };
  }

  private get batchBufferBytes(): number {
    return this.maxPacketBytes + 64 * 1024;
  }

  /** Free batch buffers kept: what the take-release cycle of the in-flight window needs between two acks. */
  private readonly batchBuffers: Buffer[] = [];

  /** Returns a written packet's buffer for reuse. The packet must not be used afterwards. */
  release(p: Packet): void {
    if (p.backing) {
      if (p.backing.length !== this.batchBufferBytes) this.pool.give(p.backing);
      else if (this.batchBuffers.length < 4) this.batchBuffers.push(p.backing);
      else dropLarge(p.backing);
    }
    p.backing = undefined;
  }
}

const STREAM_STORE_BYTES = 256 * 1024;
/** One encoded record: below large-buffer's LARGE_BYTES, so an ordinary Buffer; grows for a larger record. */
const RECORD_SCRATCH_BYTES = 32 * 1024;
/** A scratch grown past this by one large record is replaced by a fresh one. */
const RECORD_SCRATCH_KEEP = 256 * 1024;

/** A tag's bytes and msgpack str header size. */
interface TagPart {
  bytes: Buffer;
  header: number;
  /** Largest entry (time + record) that fits in one packet of this tag. */
  limit: number;
  /** Positions of this tag's entries, in order (indexes into the stream's starts/ends). */
  entries: number[];
}

function tagPart(tag: string, maxPacketBytes: number): TagPart {
  const bytes = Buffer.from(tag, 'utf8');
  const header = bytes.length < 32 ? 1 : bytes.length < 0x100 ? 2 : bytes.length < 0x10000 ? 3 : 5;
  return { bytes, header, limit: maxPacketBytes - (1 + header + bytes.length + BIN32_HEADER + OPTION_MAX), entries: [] };
}

function writeTagHead(b: Buffer, tag: TagPart): number {
  let p = 0;
  b[p++] = 0x93; // [tag, entries, option]
  const n = tag.bytes.length;
  if (tag.header === 1) b[p++] = 0xa0 | n;
  else if (tag.header === 2) { b[p++] = 0xd9; b[p++] = n; }
  else if (tag.header === 3) { b[p++] = 0xda; b.writeUInt16BE(n, p); p += 2; }
  else { b[p++] = 0xdb; b.writeUInt32BE(n, p); p += 4; }
  tag.bytes.copy(b, p);
  return p + n;
}

/** Writes an entry's head, `[time, ` with the EventTime (fixext 8); returns where the entry starts. */
function writeEntryHead(w: MsgpackWriter, ev: OutEvent): number {
  const start = w.pos;
  w.ensure(11);
  const b = w.buf;
  b[start] = 0x92; // [time, record]
  b[start + 1] = 0xd7; // fixext 8
  b[start + 2] = 0x00; // EventTime
  // Byte stores, not writeUInt32BE: its argument checks were 8 % of encoding (typed-array stores wrap mod 256).
  const sec = ev.time.sec >>> 0;
  const nsec = ev.time.nsec >>> 0;
  b[start + 3] = sec >>> 24;
  b[start + 4] = sec >>> 16;
  b[start + 5] = sec >>> 8;
  b[start + 6] = sec;
  b[start + 7] = nsec >>> 24;
  b[start + 8] = nsec >>> 16;
  b[start + 9] = nsec >>> 8;
  b[start + 10] = nsec;
  w.pos = start + 11;
  return start;
}

/**
 * One batch, encoded event by event into one scratch buffer (entries in arrival order); `finish`
 * cuts it into the same packets PacketBuilder.build makes of the same events: one tag per packet in
 * first-appearance order, each at most the packet limit, entries in order.
 */
export class PacketStream {
  /** The entries, in arrival order; null once finished or abandoned. */
  private store: Buffer | null;
  private storePos = 0;
  private readonly tags = new Map<string, TagPart>();
  private lastTag: string | undefined;
  private lastPart: TagPart | undefined;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Events offered so far (the index an EventTooLargeError names). */
  private offered = 0;

  constructor(
    private readonly builder: PacketBuilder,
    private readonly maxPacketBytes: number,
  ) {
    this.store = builder.takeStore();
  }

  get events(): number {
    return this.starts.length;
  }

  /** Encodes one event; throws EventTooLargeError (and keeps nothing of it) when it alone does not fit a packet. */
  add(ev: OutEvent): void {
    const index = this.offered++;
    if (this.store === null) throw new Error('PacketStream used after finish or abandon');
    const w = this.builder.scratch();
    w.pos = 0;
    let part = this.lastPart;
    if (ev.tag !== this.lastTag || part === undefined) {
      part = this.tags.get(ev.tag);
      if (part === undefined) this.tags.set(ev.tag, (part = tagPart(ev.tag, this.maxPacketBytes)));
      this.lastTag = ev.tag;
      this.lastPart = part;
    }
    writeEntryHead(w, ev);
    w.value(ev.record);
    const size = w.pos;
    if (size > part.limit) throw new EventTooLargeError(index, size + (this.maxPacketBytes - part.limit), this.maxPacketBytes);
    const start = this.storePos;
    if (start + size > this.store.length) this.store = growLarge(this.store, Math.max(start + size, 2 * this.store.length), start);
    w.buf.copy(this.store, start, 0, size);
    this.storePos = start + size;
    part.entries.push(this.starts.length);
    this.starts.push(start);
    this.ends.push(this.storePos);
  }

  /**
   * The packets, cut into one pooled buffer for the whole batch (one allocation, reused across
   * batches, instead of one per packet: issue 17, malloc kept what per-packet buffers freed); the
   * entry store goes back to the builder.
   */
  finish(): Packet[] {
    const store = this.store;
    if (!store) return [];
    // Where each packet's entries are: this tag's entries as [starts, ends) runs; a packet ends
    // before the entry that would overflow it.
    const cuts: Array<{ part: TagPart; from: number; to: number; payload: number; chunk: string; option: Uint8Array; size: number }> = [];
    let total = 0;
    const cut = (part: TagPart, from: number, to: number, payload: number): void => {
      const chunk = randomBytes(16).toString('base64');
      const option = this.builder.option(chunk, to - from);
      const size = 1 + part.header + part.bytes.length + BIN32_HEADER + payload + option.length;
      cuts.push({ part, from, to, payload, chunk, option, size });
      total += size;
    };
    for (const part of this.tags.values()) {
      const ix = part.entries;
      if (ix.length === 0) continue;
      let from = 0;
      let payload = 0;
      for (let k = 0; k < ix.length; k++) {
        const size = this.ends[ix[k]] - this.starts[ix[k]];
        if (payload + size > part.limit && k > from) {
          cut(part, from, k, payload);
          from = k;
          payload = 0;
        }
        payload += size;
      }
      cut(part, from, ix.length, payload);
    }
    const { bytes: all, backing } = this.builder.take(total);
    const out: Packet[] = [];
    let at = 0;
    for (const c of cuts) {
      const b = all.subarray(at, at + c.size);
      at += c.size;
      let p = writeTagHead(b, c.part);
      b[p++] = 0xc6; // bin 32
      b.writeUInt32BE(c.payload, p);
      p += 4;
      // Entries of one tag are mostly adjacent in the store (one blob, one record type): copy runs.
      const ix = c.part.entries;
      let k = c.from;
      while (k < c.to) {
        const s0 = this.starts[ix[k]];
        let e0 = this.ends[ix[k]];
        while (k + 1 < c.to && this.starts[ix[k + 1]] === e0) e0 = this.ends[ix[++k]];
        store.copy(b, p, s0, e0);
        p += e0 - s0;
        k++;
      }
      b.set(c.option, p);
      // The batch's buffer goes back once, with its first packet (the sinks release all packets together).
      out.push({ chunk: c.chunk, bytes: b, events: c.to - c.from, backing: out.length === 0 ? backing : undefined });
    }
    this.abandon();
    return out;
  }

  /** Drops what was encoded (a read abandoned); the entry store goes back to the builder. */
  abandon(): void {
    if (!this.store) return;
    this.builder.giveStore(this.store);
    this.store = null;
  }
}

// ---- handshake -------------------------------------------------------------------------------

/** Server messages are decoded with raw strings: Fluent Bit sends HELO's nonce as a msgpack str of
 * random bytes, which a UTF-8 decode would mangle (and the digest would then never match). */
const rawDecoder = new Decoder({ rawStrings: true });

export type ServerMessage =
  | { kind: 'helo'; nonce: Buffer; authSalt: Buffer; keepalive: boolean }
  | { kind: 'pong'; ok: boolean; reason: string; hostname: Buffer; digest: string }
  | { kind: 'ack'; chunk: string }
  | { kind: 'other' };

function asBytes(v: unknown): Buffer | undefined {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return undefined;
}

export function parseServerMessage(frame: Uint8Array): ServerMessage {
  const m = rawDecoder.decode(frame) as unknown;
  if (Array.isArray(m)) {
    const head = asBytes(m[0])?.toString('latin1');
    if (head === 'HELO' && m.length === 2 && m[1] && typeof m[1] === 'object') {
      const o = m[1] as Record<string, unknown>;
      return {
        kind: 'helo',
        nonce: asBytes(o.nonce) ?? Buffer.alloc(0),
        authSalt: asBytes(o.auth) ?? Buffer.alloc(0),
        keepalive: o.keepalive !== false,
      };
    }
    if (head === 'PONG' && m.length === 5) {
      return {
        kind: 'pong',
        ok: m[1] === true,
        reason: asBytes(m[2])?.toString('utf8') ?? '',
        hostname: asBytes(m[3]) ?? Buffer.alloc(0),
        digest: asBytes(m[4])?.toString('latin1') ?? '',
      };
    }
    return { kind: 'other' };
  }
  if (m && typeof m === 'object' && 'ack' in m) {
    const chunk = asBytes((m as { ack: unknown }).ack);
    if (chunk) return { kind: 'ack', chunk: chunk.toString('latin1') };
  }
  return { kind: 'other' };
}

export interface HandshakeSecrets {
  sharedKey: string;
  username?: string;
  password?: string;
}

function sha512hex(...parts: Array<string | Buffer>): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** PING for a HELO: [PING, hostname, salt, sha512(salt+hostname+nonce+key), user, sha512(authSalt+user+pass)]. */
export function buildPing(helo: { nonce: Buffer; authSalt: Buffer }, hostname: string, salt: string, s: HandshakeSecrets): Buffer {
  const digest = sha512hex(salt, hostname, helo.nonce, s.sharedKey);
  let user = '';
  let pass = '';
  if (helo.authSalt.length > 0) {
    user = s.username ?? '';
    pass = sha512hex(helo.authSalt, user, s.password ?? '');
  }
  const enc = new Encoder();
  return Buffer.from(enc.encode(['PING', hostname, salt, digest, user, pass]));
}

/** The server proves it knows the key too: sha512(salt + server_hostname + nonce + key). */
export function pongDigestValid(pong: { hostname: Buffer; digest: string }, nonce: Buffer, salt: string, key: string): boolean {
  return pong.digest === sha512hex(salt, pong.hostname, nonce, key);
}
