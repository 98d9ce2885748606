/**
 * Record de-duplication across restarts: the Ids of records delivered (acknowledged) in the last
 * `hours`, kept in the state dir (`record-ids.<tenant>.bin`, one store per tenant: two tenants'
 * records are different records even with equal Ids), so a restart or a `--once` schedule does not
 * re-emit a record Microsoft re-delivers. The in-memory de-dup (core) loads them at start and hands
 * over the Ids of every blob whose events were all acknowledged; only those may be persisted: an Id
 * saved before its ack would make a restart drop a record that never arrived.
 *
 * Bounded twice: by age (`hours`, default 24) and by count (`maxIds`, default dedup.recordIds);
 * the oldest go first. GUID Ids (what Microsoft sends) take 16 bytes each, in memory and on disk:
 * 100,000 Ids ≈ 1.6 MB. Other Ids are kept as UTF-8 strings. Written atomically (the checkpoint's
 * write helper). A garbled file is dropped with a warning: the worst it costs is duplicates
 * downstream, which `Id` de-dup there removes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { safeFilePart, writeFileAtomic } from './checkpoint';

export const RECORD_IDS_FILE = 'record-ids.bin';

/** The store's file name for one tenant. */
export function recordIdsFile(tenantId?: string): string {
  return tenantId === undefined ? RECORD_IDS_FILE : `record-ids.${safeFilePart(tenantId)}.bin`;
}
const HOUR_MS = 3_600_000;
const MAGIC = Buffer.from('O365RI1\n', 'ascii');
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TAG_GUID = 0x10;
const TAG_TEXT = 0x01;
/** A longer Id is not persisted (the in-memory de-dup still sees it). */
const MAX_TEXT_ID_BYTES = 1024;

interface Bucket {
  hour: number;
  guids: Buffer[]; // chunks of 16-byte entries
  guidCount: number;
  texts: string[];
}

function guidBytes(id: string): Buffer | undefined {
  return GUID_RE.test(id) ? Buffer.from(id.replace(/-/g, ''), 'hex') : undefined;
}

function guidText(b: Buffer, off: number): string {
  const h = b.toString('hex', off, off + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface RecentIdsStoreOptions {
  /** One store per tenant (its own file); without, one file for all. */
  tenantId?: string;
  hours?: number;
  maxIds?: number;
  now?: () => number;
  onProblem?: (msg: string) => void;
}

export class RecentIdsStore {
  readonly file: string;
  readonly hours: number;
  readonly maxIds: number;
  private readonly now: () => number;
  private readonly onProblem: (msg: string) => void;
  /** Oldest first. */
  private buckets: Bucket[] = [];
  private count = 0;
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(stateDir: string, o: RecentIdsStoreOptions = {}) {
    this.file = path.join(path.resolve(stateDir), recordIdsFile(o.tenantId));
    this.hours = Math.max(1, o.hours ?? 24);
    this.maxIds = Math.max(0, o.maxIds ?? 100_000);
    this.now = o.now ?? Date.now;
    this.onProblem = o.onProblem ?? (() => {});
  }

  get size(): number {
    return this.count;
  }

  /** Reads the file; returns the Ids still inside the age bound, oldest first (seed the in-memory de-dup with them). */
  async load(): Promise<string[]> {
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onProblem(`cannot read ${this.file} (${(e as NodeJS.ErrnoException).code}); record de-duplication starts empty`);
      return [];
    }
    this.buckets = [];
    this.count = 0;
    try {
      if (!buf.subarray(0, 8).equals(MAGIC)) throw new Error('magic');
      let off = 8;
      while (off < buf.length) {
        const hour = buf.readUInt32LE(off);
        const n = buf.readUInt32LE(off + 4);
        off += 8;
        const at = hour * HOUR_MS;
        for (let i = 0; i < n; i++) {
          const tag = buf[off++];
          if (tag === TAG_GUID) {
            if (off + 16 > buf.length) throw new Error('short');
            this.push(at, buf.subarray(off, off + 16), undefined);
            off += 16;
          } else if (tag === TAG_TEXT) {
            const len = buf.readUInt16LE(off);
            off += 2;
            if (off + len > buf.length) throw new Error('short');
            this.push(at, undefined, buf.toString('utf8', off, off + len));
            off += len;
          } else throw new Error('tag');
        }
      }
    } catch {
      this.onProblem(`${this.file} is not a valid record Id store; record de-duplication starts empty (downstream Id de-dup removes what this lets through)`);
      this.buckets = [];
      this.count = 0;
      return [];
    }
    this.prune();
    return this.ids();
  }

  /** Ids of records whose every event was acknowledged (the ack tracker's hand-over). */
  noteDelivered(ids: Iterable<string>, at: number = this.now()): void {
    if (this.maxIds === 0) return;
    for (const id of ids) {
      if (typeof id !== 'string' || id === '') continue;
      const g = guidBytes(id);
      if (!g && Buffer.byteLength(id) > MAX_TEXT_ID_BYTES) continue;
      this.push(at, g, g ? undefined : id);
    }
    this.dirty = true;
    this.prune();
  }

  /** Every Id held, oldest first. */
  ids(): string[] {
    const out: string[] = [];
    for (const b of this.buckets) {
      for (const chunk of b.guids) for (let off = 0; off < chunk.length; off += 16) out.push(guidText(chunk, off));
      out.push(...b.texts);
    }
    return out;
  }

  /** Writes the store if it changed (atomic). */
  save(): Promise<void> {
    const next = this.chain.catch(() => undefined).then(async () => {
      this.prune();
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await writeFileAtomic(this.file, this.encode());
      } catch (e) {
        this.dirty = true;
        throw e;
      }
    });
    this.chain = next;
    return next;
  }

  private push(at: number, guid: Buffer | undefined, text: string | undefined): void {
    const hour = Math.floor(at / HOUR_MS);
    let b = this.buckets[this.buckets.length - 1];
    if (!b || b.hour !== hour) {
      // Out of order (a clock step back): file it under the newest bucket; age bounds stay conservative.
      if (b && hour < b.hour) {
        /* keep b */
      } else {
        b = { hour, guids: [], guidCount: 0, texts: [] };
        this.buckets.push(b);
      }
    }
    if (guid) {
      const last = b.guids[b.guids.length - 1];
      // Chunks of 256 entries: appends don't copy what is already stored.
      if (!last || last.length >= 256 * 16) b.guids.push(Buffer.from(guid));
      else b.guids[b.guids.length - 1] = Buffer.concat([last, guid]);
      b.guidCount++;
    } else if (text !== undefined) b.texts.push(text);
    this.count++;
  }

  private prune(): void {
    const oldestHour = Math.floor((this.now() - this.hours * HOUR_MS) / HOUR_MS);
    while (this.buckets.length > 0 && (this.buckets[0].hour < oldestHour || this.count > this.maxIds)) {
      const b = this.buckets[0];
      const n = b.guidCount + b.texts.length;
      if (b.hour >= oldestHour && this.count - n < this.maxIds) {
        // Trim the oldest bucket partly, oldest entries first.
        let drop = this.count - this.maxIds;
        while (drop > 0 && b.guids.length > 0) {
          const c = b.guids[0];
          const k = Math.min(drop, c.length / 16);
          if (k * 16 === c.length) b.guids.shift();
          else b.guids[0] = c.subarray(k * 16);
          b.guidCount -= k;
          this.count -= k;
          drop -= k;
        }
        if (drop > 0) {
          b.texts.splice(0, drop);
          this.count -= drop;
        }
        this.dirty = true;
        break;
      }
      this.buckets.shift();
      this.count -= n;
      this.dirty = true;
    }
  }

  private encode(): Buffer {
    const parts: Buffer[] = [MAGIC];
    for (const b of this.buckets) {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(b.hour, 0);
      head.writeUInt32LE(b.guidCount + b.texts.length, 4);
      parts.push(head);
      for (const chunk of b.guids) {
        const out = Buffer.alloc((chunk.length / 16) * 17);
        for (let i = 0, o = 0; i < chunk.length; i += 16, o += 17) {
          out[o] = TAG_GUID;
          chunk.copy(out, o + 1, i, i + 16);
        }
        parts.push(out);
      }
      for (const t of b.texts) {
        const s = Buffer.from(t, 'utf8');
        const h = Buffer.alloc(3);
        h[0] = TAG_TEXT;
        h.writeUInt16LE(s.length, 1);
        parts.push(h, s);
      }
    }
    return Buffer.concat(parts);
  }
}
