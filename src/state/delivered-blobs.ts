/**
 * The record of finished blobs (acknowledged, or counted as lost at the source) of one (tenant,
 * content type), over the whole 7-day retention, so the reconciliation sweep can re-list the
 * retention and fetch exactly what was never delivered.
 *
 * Compact by construction: a blob is the first 64 bits of SHA-256(contentId), kept in one sorted
 * BigUint64Array per UTC day of its contentCreated (the day is known from the listing, so a lookup
 * reads one day). Memory and disk: 8 bytes per blob, plus at most PENDING_MAX unsorted recent
 * additions per day. For a tenant with 20,000 blobs a day per content type: 8 days × 20,000 × 8 B
 * = 1.3 MB per content type (6.4 MB for all five), the same on disk. Days older than the retention
 * (plus one day of slack) are dropped.
 * A false "already delivered" needs a 64-bit collision within one day: about 20,000 / 2^64 ≈ 1e-15
 * per lookup.
 *
 * Files in the state dir, written atomically (the checkpoint's write helper):
 *   delivered.<tenant>.<contentType>.json          coverage start, last sweep and its findings
 *   delivered.<tenant>.<contentType>.<YYYY-MM-DD>.bin   one day's ids: magic, count, sorted u64 LE
 * A record that lags behind (crash before a flush) only makes the next sweep fetch a blob again (a
 * duplicate, never a loss). A corrupt file stops the run with STATE_CORRUPT, like a checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { BridgeError } from '../errors';
import { safeFilePart, writeFileAtomic } from './checkpoint';

export const DAY_MS = 86_400_000;
/** Days kept: the 7-day retention plus the day in progress. */
export const RETAINED_DAYS = 8;
/** Unsorted additions per day before they are merged into the sorted array. */
const PENDING_MAX = 1024;
const MAGIC = Buffer.from('O365DB1\n', 'ascii');
const HEADER_BYTES = 16;
/** Late blobs kept in the meta file for `status` (the newest). */
export const MAX_LATE_SHOWN = 20;

export interface LateBlob {
  contentId: string;
  contentCreated: string;
  /** When the sweep found it (ISO). */
  foundAt: string;
  /** foundAt − contentCreated, in seconds: how late it was listed (at most). */
  lateSeconds: number;
}

export interface SweepRecord {
  startedAt: string;
  finishedAt: string;
  /** The re-listed range [from, to) (ISO). */
  from: string;
  to: string;
  windows: number;
  /** Blobs listed in the range. */
  listed: number;
  /** Blobs listed that had not been delivered: late content, fetched by the sweep. */
  late: number;
  /** Of those, fetch attempts that failed (retried by the next sweep, which comes sooner). */
  failed: number;
  /** Listing and fetching ran to the end (not stopped, no listing error). */
  complete: boolean;
  lateBlobs: LateBlob[];
  /** Late blobs found by every sweep so far. */
  lateTotal: number;
  error?: string;
}

interface Meta {
  version: 1;
  tenantId: string;
  contentType: string;
  /** Real time when the record started (ms since epoch as ISO). */
  createdAt: string;
  /** contentCreated from which the record is complete: sweeps never reach before it (ISO). */
  coverageStart: string | null;
  lastSweep?: SweepRecord;
}

function corrupt(file: string, why: string): BridgeError {
  return new BridgeError(
    'STATE_CORRUPT',
    `delivered-blob record ${file} ${why}; restore it, or delete it knowingly (the next reconciliation sweep may then fetch that day's blobs again: duplicates, not losses)`,
    { details: { file } },
  );
}

/** 64 bits of SHA-256 of the content id. */
export function blobKey(contentId: string): bigint {
  return createHash('sha256').update(contentId).digest().readBigUInt64BE(0);
}

/** UTC day of a time (ms) as YYYY-MM-DD. */
export function dayOf(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

class DaySet {
  sorted: BigUint64Array;
  pending = new Set<bigint>();
  dirty = false;

  constructor(sorted: BigUint64Array = new BigUint64Array(0)) {
    this.sorted = sorted;
  }

  has(k: bigint): boolean {
    if (this.pending.has(k)) return true;
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.sorted[mid];
      if (v === k) return true;
      if (v < k) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  add(k: bigint): boolean {
    if (this.has(k)) return false;
    this.pending.add(k);
    this.dirty = true;
    if (this.pending.size >= PENDING_MAX) this.merge();
    return true;
  }

  merge(): void {
    if (this.pending.size === 0) return;
    const out = new BigUint64Array(this.sorted.length + this.pending.size);
    out.set(this.sorted, 0);
    let i = this.sorted.length;
    for (const k of this.pending) out[i++] = k;
    out.sort();
    this.sorted = out;
    this.pending.clear();
  }

  get size(): number {
    return this.sorted.length + this.pending.size;
  }

  encode(): Buffer {
    this.merge();
    const buf = Buffer.alloc(HEADER_BYTES + this.sorted.length * 8);
    MAGIC.copy(buf, 0);
    buf.writeUInt32LE(this.sorted.length, 8);
    for (let i = 0; i < this.sorted.length; i++) buf.writeBigUInt64LE(this.sorted[i], HEADER_BYTES + i * 8);
    return buf;
  }

  static decode(buf: Buffer, file: string): DaySet {
    if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) throw corrupt(file, 'has no valid header');
    const n = buf.readUInt32LE(8);
    if (buf.length !== HEADER_BYTES + n * 8) throw corrupt(file, `is ${buf.length} bytes, expected ${HEADER_BYTES + n * 8}`);
    const arr = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      arr[i] = buf.readBigUInt64LE(HEADER_BYTES + i * 8);
      if (i > 0 && arr[i] <= arr[i - 1]) throw corrupt(file, 'is not sorted');
    }
    return new DaySet(arr);
  }
}

export interface DeliveredBlobsOptions {
  now?: () => number;
}

export class DeliveredBlobs {
  private readonly days = new Map<string, DaySet>();
  private meta: Meta;
  private metaDirty = false;
  private readonly now: () => number;
  private chain: Promise<void> = Promise.resolve();
  /** The record file existed when opened (false: a fresh record, to be seeded). */
  readonly existed: boolean;

  private constructor(
    readonly dir: string,
    readonly tenantId: string,
    readonly contentType: string,
    meta: Meta | null,
    now: () => number,
  ) {
    this.now = now;
    this.existed = meta !== null;
    this.meta = meta ?? { version: 1, tenantId, contentType, createdAt: new Date(now()).toISOString(), coverageStart: null };
    if (!meta) this.metaDirty = true;
  }

  static metaFile(dir: string, tenantId: string, contentType: string): string {
    return path.join(path.resolve(dir), `${DeliveredBlobs.prefix(tenantId, contentType)}json`);
  }

  private static prefix(tenantId: string, contentType: string): string {
    return `delivered.${safeFilePart(tenantId)}.${safeFilePart(contentType)}.`;
  }

  /** Loads the record (meta and the day files still inside the retention); a missing one is empty. */
  static async open(stateDir: string, tenantId: string, contentType: string, o: DeliveredBlobsOptions = {}): Promise<DeliveredBlobs> {
    const dir = path.resolve(stateDir);
    const now = o.now ?? Date.now;
    const meta = await readMeta(DeliveredBlobs.metaFile(dir, tenantId, contentType), tenantId, contentType);
    const rec = new DeliveredBlobs(dir, tenantId, contentType, meta, now);
    const prefix = DeliveredBlobs.prefix(tenantId, contentType);
    let names: string[] = [];
    try {
      names = await fs.promises.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw corrupt(dir, `cannot be listed (${(e as NodeJS.ErrnoException).code})`);
    }
    const oldest = rec.oldestDay();
    for (const name of names) {
      const m = name.startsWith(prefix) ? /^(\d{4}-\d{2}-\d{2})\.bin$/.exec(name.slice(prefix.length)) : null;
      if (!m) continue;
      if (m[1] < oldest) continue; // pruned on the next flush
      const file = path.join(dir, name);
      let buf: Buffer;
      try {
        buf = await fs.promises.readFile(file);
      } catch (e) {
        throw corrupt(file, `cannot be read (${(e as NodeJS.ErrnoException).code})`);
      }
      rec.days.set(m[1], DaySet.decode(buf, file));
    }
    return rec;
  }

  private oldestDay(): string {
    return dayOf(this.now() - (RETAINED_DAYS - 1) * DAY_MS);
  }

  private dayFile(day: string): string {
    return path.join(this.dir, `${DeliveredBlobs.prefix(this.tenantId, this.contentType)}${day}.bin`);
  }

  has(contentId: string, contentCreated: string | number): boolean {
    const t = typeof contentCreated === 'number' ? contentCreated : Date.parse(contentCreated);
    if (!Number.isFinite(t)) return false;
    return this.days.get(dayOf(t))?.has(blobKey(contentId)) ?? false;
  }

  /** Marks a blob finished (call only once every event of it was acknowledged, or it was counted lost). */
  add(contentId: string, contentCreated: string | number): void {
    const t = typeof contentCreated === 'number' ? contentCreated : Date.parse(contentCreated);
    if (!Number.isFinite(t)) return;
    const day = dayOf(t);
    if (day < this.oldestDay()) return; // past the retention: can't be listed again
    let d = this.days.get(day);
    if (!d) this.days.set(day, (d = new DaySet()));
    d.add(blobKey(contentId));
  }

  /** Blobs remembered (all days). */
  get size(): number {
    let n = 0;
    for (const d of this.days.values()) n += d.size;
    return n;
  }

  /** Bytes held by the ids (sorted arrays; pending entries counted at 8 bytes too). */
  get idBytes(): number {
    return this.size * 8;
  }

  get createdAt(): number {
    return Date.parse(this.meta.createdAt);
  }

  get coverageStart(): number | null {
    return this.meta.coverageStart === null ? null : Date.parse(this.meta.coverageStart);
  }

  /** Sets where the record starts being complete, once (the first listing start it saw). */
  noteCoverageStart(ms: number): void {
    if (this.meta.coverageStart !== null || !Number.isFinite(ms)) return;
    this.meta.coverageStart = new Date(ms).toISOString();
    this.metaDirty = true;
  }

  get lastSweep(): SweepRecord | undefined {
    return this.meta.lastSweep;
  }

  setLastSweep(s: SweepRecord): void {
    this.meta.lastSweep = { ...s, lateBlobs: s.lateBlobs.slice(-MAX_LATE_SHOWN) };
    this.metaDirty = true;
  }

  /** Writes the days that changed and the meta file; drops day files past the retention. */
  flush(): Promise<void> {
    const next = this.chain.catch(() => undefined).then(() => this.flushNow());
    this.chain = next;
    return next;
  }

  private async flushNow(): Promise<void> {
    const oldest = this.oldestDay();
    for (const [day, set] of this.days) {
      if (day < oldest) {
        this.days.delete(day);
        await fs.promises.rm(this.dayFile(day), { force: true }).catch(() => undefined);
        continue;
      }
      if (!set.dirty) continue;
      set.dirty = false;
      try {
        await writeFileAtomic(this.dayFile(day), set.encode());
      } catch (e) {
        set.dirty = true;
        throw e;
      }
    }
    if (this.metaDirty) {
      this.metaDirty = false;
      try {
        await writeFileAtomic(DeliveredBlobs.metaFile(this.dir, this.tenantId, this.contentType), JSON.stringify(this.meta) + '\n');
      } catch (e) {
        this.metaDirty = true;
        throw e;
      }
    }
  }
}

async function readMeta(file: string, tenantId: string, contentType: string): Promise<Meta | null> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw corrupt(file, `cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  let o: Meta;
  try {
    o = JSON.parse(text) as Meta;
  } catch {
    throw corrupt(file, 'is not valid JSON');
  }
  if (!o || o.version !== 1 || typeof o.createdAt !== 'string' || !(o.coverageStart === null || typeof o.coverageStart === 'string')) throw corrupt(file, 'has an unexpected shape');
  if (o.tenantId !== tenantId || o.contentType !== contentType) throw corrupt(file, `belongs to ${o.tenantId}/${o.contentType}`);
  return o;
}

/** The last sweep of a (tenant, content type), for `status` (lock-free read; undefined when none). */
export async function readLastSweep(stateDir: string, tenantId: string, contentType: string): Promise<SweepRecord | undefined> {
  const meta = await readMeta(DeliveredBlobs.metaFile(stateDir, tenantId, contentType), tenantId, contentType);
  return meta?.lastSweep;
}
