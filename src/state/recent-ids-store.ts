/**
 * Record de-duplication across restarts: the Ids of records delivered (acknowledged) in the last
 * `hours`, kept in the state dir (`record-ids.<tenant>.bin`, one store per tenant: two tenants'
 * records are different records even with equal Ids), so a restart or a `--once` schedule does not
 * re-emit a record Microsoft re-delivers. The in-memory de-dup (core) loads them at start and hands
 * over the Ids of every acknowledged batch; only those may be persisted: an Id saved before its ack
 * would make a restart drop a record that never arrived.
 *
 * Crash bound: every hand-over is also appended to a journal beside the file (`….bin.journal`, one
 * write(2) per acknowledged batch, no fsync: a kill -9 keeps what the kernel was given), so after a
 * crash the Ids acknowledged up to the kill are known again and only what was in flight (sent, not
 * acknowledged) is sent twice. `save` writes the whole store atomically and empties the journal: it
 * first moves the journal aside (`….journal.old`) in the same tick as it snapshots the store, so every
 * Id is always in the file, the old journal or the new one. A torn journal tail (power loss) is
 * ignored from the first incomplete entry: duplicates at worst.
 *
 * Bounded twice: by age (`hours`, default 24) and by count (`maxIds`, default dedup.recordIds);
 * the oldest go first. GUID Ids (what Microsoft sends) take 16 bytes each, in memory and on disk:
 * 100,000 Ids ≈ 1.6 MB. Other Ids are kept as UTF-8 strings. Written atomically (the checkpoint's
 * write helper). A garbled file is dropped with a warning: the worst it costs is duplicates
 * downstream, which `Id` de-dup there removes. The journal grows by 21 bytes per acknowledged GUID Id
 * between two saves (once per pass).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guidWords, IdList, parseGuid } from '../core/guid-table';
import { safeFilePart, writeFileAtomic } from './checkpoint';
import { allocLarge, dropLarge } from '../core/large-buffer';

export const RECORD_IDS_FILE = 'record-ids.bin';

/** The store's file name for one tenant. */
export function recordIdsFile(tenantId?: string): string {
  return tenantId === undefined ? RECORD_IDS_FILE : `record-ids.${safeFilePart(tenantId)}.bin`;
}
const HOUR_MS = 3_600_000;
const MAGIC = Buffer.from('O365RI1\n', 'ascii');
const JOURNAL_MAGIC = Buffer.from('O365RJ1\n', 'ascii');
const TAG_GUID = 0x10;
const TAG_TEXT = 0x01;
/** A longer Id is not persisted (the in-memory de-dup still sees it). */
const MAX_TEXT_ID_BYTES = 1024;
/** GUID bytes are kept in chunks of this many entries: appends write in place, nothing is copied. */
const CHUNK_ENTRIES = 256;

interface Bucket {
  hour: number;
  /** Chunks of 16-byte entries, each CHUNK_ENTRIES long; entries [first, end) of the whole list are used. */
  chunks: Buffer[];
  /** Offset in bytes of the first used entry in chunks[0] (the oldest are trimmed from the front). */
  first: number;
  /** Bytes used in the last chunk. */
  lastEnd: number;
  guidCount: number;
  texts: string[];
}

/**
 * guidWords (guid-table.ts: a lowercase GUID as parseGuid read it) as 16 bytes at `off`, big-endian
 * words: the bytes in the order of the hex digits. By hand: writeUInt32BE cost 3 % of a Defender
 * pass's CPU here.
 */
function writeGuidWords(out: Buffer, off: number): void {
  for (let w = 0; w < 4; w++) {
    const v = guidWords[w];
    const o = off + w * 4;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
}

function guidText(b: Buffer, off: number): string {
  const h = b.toString('hex', off, off + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Reads blocks `[hour u32][n u32][n × entry]` (entry: TAG_GUID + 16 bytes, or TAG_TEXT + u16 length +
 * UTF-8) from `off`, calling `on` per entry. Returns the offset after the last whole block, and
 * whether the input ended there (false: a short or garbled block follows; what came before is kept).
 */
function readBlocks(buf: Buffer, off: number, on: (at: number, guid: Buffer | undefined, text: string | undefined) => void): { end: number; clean: boolean } {
  while (off < buf.length) {
    if (off + 8 > buf.length) return { end: off, clean: false };
    const hour = buf.readUInt32LE(off);
    const n = buf.readUInt32LE(off + 4);
    let p = off + 8;
    // Check the whole block first, so a torn one adds nothing.
    for (let i = 0; i < n; i++) {
      const tag = buf[p];
      if (tag === TAG_GUID && p + 17 <= buf.length) p += 17;
      else if (tag === TAG_TEXT && p + 3 <= buf.length && p + 3 + buf.readUInt16LE(p + 1) <= buf.length) p += 3 + buf.readUInt16LE(p + 1);
      else return { end: off, clean: false };
    }
    const at = hour * HOUR_MS;
    p = off + 8;
    for (let i = 0; i < n; i++) {
      if (buf[p] === TAG_GUID) {
        on(at, buf.subarray(p + 1, p + 17), undefined);
        p += 17;
      } else {
        const len = buf.readUInt16LE(p + 1);
        on(at, undefined, buf.toString('utf8', p + 3, p + 3 + len));
        p += 3 + len;
      }
    }
    off = p;
  }
  return { end: off, clean: true };
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'EIO';
}

export interface RecentIdsStoreOptions {
  /** One store per tenant (its own file); without, one file for all. */
  tenantId?: string;
  hours?: number;
  maxIds?: number;
  now?: () => number;
  onProblem?: (msg: string) => void;
  /** Append every hand-over to the journal (default true; off, a crash loses the Ids since the last save: duplicates only). */
  journal?: boolean;
}

export class RecentIdsStore {
  readonly file: string;
  readonly journalFile: string;
  readonly hours: number;
  readonly maxIds: number;
  private readonly now: () => number;
  private readonly onProblem: (msg: string) => void;
  private readonly journaling: boolean;
  /** Oldest first. */
  private buckets: Bucket[] = [];
  private count = 0;
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();
  /** The open journal (append), undefined until the first hand-over after a load or a save. */
  private journalFd: number | undefined;
  /** The journal could not be written: told once, tried again after the next good save. */
  private journalBroken = false;
  /** Bytes appended since the last save: past what the store itself can hold, a save compacts it. */
  private journalBytes = 0;

  constructor(stateDir: string, o: RecentIdsStoreOptions = {}) {
    this.file = path.join(path.resolve(stateDir), recordIdsFile(o.tenantId));
    this.journalFile = this.file + '.journal';
    this.hours = Math.max(1, o.hours ?? 24);
    this.maxIds = Math.max(0, o.maxIds ?? 100_000);
    this.now = o.now ?? Date.now;
    this.onProblem = o.onProblem ?? (() => {});
    this.journaling = o.journal ?? true;
  }

  get size(): number {
    return this.count;
  }

  private get oldJournalFile(): string {
    return this.journalFile + '.old';
  }

  /**
   * Reads the file, then the journals (Ids acknowledged since its last save: a crash came before the
   * next); returns the Ids still inside the age bound, oldest first (seed the in-memory de-dup with them).
   */
  async load(): Promise<string[]> {
    const read = async (f: string): Promise<Buffer | NodeJS.ErrnoException> => fs.promises.readFile(f).catch((e: NodeJS.ErrnoException) => e);
    return this.loadFrom(await read(this.file), [await read(this.oldJournalFile), await read(this.journalFile)]);
  }

  /** The same, synchronously (start-up, and the delivery simulation's virtual clock). */
  loadSync(): string[] {
    const read = (f: string): Buffer | NodeJS.ErrnoException => {
      try {
        return fs.readFileSync(f);
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
    };
    return this.loadFrom(read(this.file), [read(this.oldJournalFile), read(this.journalFile)]);
  }

  private loadFrom(file: Buffer | NodeJS.ErrnoException, journals: Array<Buffer | NodeJS.ErrnoException>): string[] {
    this.buckets = [];
    this.count = 0;
    if (!Buffer.isBuffer(file)) {
      if (errCode(file) !== 'ENOENT') this.onProblem(`cannot read ${this.file} (${errCode(file)}); record de-duplication starts from the journal only`);
    } else {
      const r = file.subarray(0, 8).equals(MAGIC) ? readBlocks(file, 8, (at, g, t) => this.push(at, g, t)) : { end: 0, clean: false };
      if (!r.clean) {
        this.onProblem(`${this.file} is not a valid record Id store; record de-duplication starts empty (downstream Id de-dup removes what this lets through)`);
        this.buckets = [];
        this.count = 0;
      }
    }
    const names = [this.oldJournalFile, this.journalFile];
    journals.forEach((j, i) => {
      const f = names[i];
      if (!Buffer.isBuffer(j)) {
        if (errCode(j) !== 'ENOENT') this.onProblem(`cannot read ${f} (${errCode(j)}); Ids acknowledged just before the last stop may be sent again`);
        return;
      }
      if (j.length === 0) return;
      if (!j.subarray(0, 8).equals(JOURNAL_MAGIC)) {
        this.onProblem(`${f} is not a record Id journal; ignored (duplicates at worst)`);
        return;
      }
      const before = this.count;
      const r = readBlocks(j, 8, (at, g, t) => this.push(at, g, t));
      if (!r.clean) this.onProblem(`${f} ends in an incomplete entry (a crash while writing it); the entries before it are kept`);
      if (this.count !== before) this.dirty = true;
    });
    this.prune();
    return this.ids();
  }

  /** Ids of records whose every event was acknowledged (the ack tracker's hand-over, once per batch). */
  noteDelivered(ids: Iterable<string> | IdList, at: number = this.now()): void {
    if (this.maxIds === 0) return;
    const words = ids instanceof IdList ? ids : undefined;
    const list = words ? words.others() : Array.isArray(ids) ? (ids as string[]) : [...ids];
    const guids = words ? words.guidCount : 0;
    if (list.length + guids === 0) return;
    const b = this.bucketFor(at);
    const journal = this.journaling && !this.journalBroken;
    // The journal block is built as the entries are stored: 17 bytes a GUID.
    let jb = journal ? Buffer.allocUnsafe(8 + (list.length + guids) * 17) : undefined;
    let jp = 8;
    let n = 0;
    // GUIDs held as words (an acknowledged batch's IdList): their 16 bytes without making strings.
    for (let k = 0; k < guids; k++) {
      words!.loadGuid(k);
      jp = this.putGuidWords(b, jb, jp);
      n++;
    }
    for (let k = 0; k < list.length; k++) {
      const id = list[k];
      if (typeof id !== 'string' || id === '') continue;
      if (parseGuid(id)) {
        jp = this.putGuidWords(b, jb, jp);
        n++;
        continue;
      }
      const bytes = Buffer.byteLength(id);
      if (bytes > MAX_TEXT_ID_BYTES) continue;
      b.texts.push(id);
      this.count++;
      n++;
      if (jb) {
        if (jp + 3 + bytes > jb.length) {
          const grown = Buffer.allocUnsafe(Math.max(jb.length * 2, jp + 3 + bytes + (list.length - k) * 17));
          jb.copy(grown, 0, 0, jp);
          jb = grown;
        }
        jb[jp] = TAG_TEXT;
        jb.writeUInt16LE(bytes, jp + 1);
        jb.write(id, jp + 3, 'utf8');
        jp += 3 + bytes;
      }
    }
    if (n === 0) return;
    this.dirty = true;
    if (jb) {
      jb.writeUInt32LE(b.hour, 0);
      jb.writeUInt32LE(n, 4);
      this.appendJournal(jb.subarray(0, jp));
    }
    this.prune();
  }

  /** Every Id held, oldest first. */
  ids(): string[] {
    const out: string[] = [];
    for (const b of this.buckets) {
      this.forEachGuid(b, (buf, off) => out.push(guidText(buf, off)));
      out.push(...b.texts);
    }
    return out;
  }

  /** Writes the store if it changed (atomic), then empties the journal. */
  save(): Promise<void> {
    const next = this.chain.catch(() => undefined).then(async () => {
      this.prune();
      if (!this.dirty) return;
      this.dirty = false;
      // Snapshot and journal rotation in one tick: an Id handed over after this goes to a new journal.
      const body = this.encode();
      const rotated = this.rotateJournal();
      this.journalBytes = 0;
      try {
        await writeFileAtomic(this.file, body);
      } catch (e) {
        this.dirty = true;
        throw e;
      } finally {
        dropLarge(body); // the file has it (or the next save writes it again): its pages go now
      }
      if (rotated) {
        try {
          fs.unlinkSync(this.oldJournalFile);
        } catch (e) {
          if (errCode(e) !== 'ENOENT') this.onProblem(`cannot remove ${this.oldJournalFile} (${errCode(e)}); it is read again at start (harmless)`);
        }
      }
      this.journalBroken = false;
    });
    this.chain = next;
    return next;
  }

  /** Closes the journal (its content stays until the next save, for the next start). */
  closeJournal(): void {
    if (this.journalFd !== undefined) {
      try {
        fs.closeSync(this.journalFd);
      } catch {
        /* closed already */
      }
      this.journalFd = undefined;
    }
  }

  private appendJournal(block: Buffer): void {
    try {
      if (this.journalFd === undefined) {
        this.journalFd = fs.openSync(this.journalFile, 'a', 0o644);
        if (fs.fstatSync(this.journalFd).size === 0) fs.writeSync(this.journalFd, JOURNAL_MAGIC);
      }
      // One write(2) per acknowledged batch; the kernel keeps it across a kill -9.
      let done = 0;
      while (done < block.length) done += fs.writeSync(this.journalFd, block, done, block.length - done);
      this.journalBytes += block.length;
      // A pass with a long backlog saves once at its end: compact before the journal outgrows the store.
      if (this.journalBytes > Math.max(1 << 20, this.maxIds * 21)) {
        this.journalBytes = 0;
        this.save().catch((e) => this.onProblem(`cannot save ${this.file} (${errCode(e)}); the journal keeps the Ids meanwhile`));
      }
    } catch (e) {
      this.closeJournal();
      this.journalBroken = true;
      this.onProblem(`cannot append to ${this.journalFile} (${errCode(e)}); until the next save, a crash may send acknowledged records again (duplicates, never losses)`);
    }
  }

  /**
   * Moves the journal aside before a save (merged into an old one a failed save left). True when there
   * is an old journal to remove once the save is written.
   */
  private rotateJournal(): boolean {
    this.closeJournal();
    if (!this.journaling) return false;
    const old = this.oldJournalFile;
    try {
      if (fs.existsSync(old)) {
        if (fs.existsSync(this.journalFile)) {
          const cur = fs.readFileSync(this.journalFile);
          if (cur.length > 8) fs.appendFileSync(old, cur.subarray(8));
          fs.unlinkSync(this.journalFile);
        }
        return true;
      }
      fs.renameSync(this.journalFile, old);
      return true;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return fs.existsSync(old);
      this.onProblem(`cannot move ${this.journalFile} aside (${errCode(e)}); it is read again at start (harmless)`);
      return false;
    }
  }

  private bucketFor(at: number): Bucket {
    const hour = Math.floor(at / HOUR_MS);
    const b = this.buckets[this.buckets.length - 1];
    // Out of order (a clock step back): file it under the newest bucket; age bounds stay conservative.
    if (b && hour <= b.hour) return b;
    const nb: Bucket = { hour, chunks: [], first: 0, lastEnd: 0, guidCount: 0, texts: [] };
    this.buckets.push(nb);
    return nb;
  }

  /** The chunk the bucket's next GUID goes in, at `b.lastEnd` (a new chunk when the last is full). */
  private reserveGuid(b: Bucket): Buffer {
    let last = b.chunks[b.chunks.length - 1];
    if (!last || b.lastEnd >= last.length) {
      last = Buffer.allocUnsafe(CHUNK_ENTRIES * 16);
      b.chunks.push(last);
      b.lastEnd = 0;
    }
    return last;
  }

  /** guidWords into bucket `b`, and into the journal block `jb` at `jp` if any; returns the next `jp`. */
  private putGuidWords(b: Bucket, jb: Buffer | undefined, jp: number): number {
    const chunk = this.reserveGuid(b);
    const off = b.lastEnd;
    writeGuidWords(chunk, off);
    this.commitGuid(b);
    if (!jb) return jp;
    // 16 bytes by hand: Buffer#copy is a native call, dearer than the copy itself (once per Id).
    jb[jp] = TAG_GUID;
    for (let q = 0; q < 16; q++) jb[jp + 1 + q] = chunk[off + q];
    return jp + 17;
  }

  private commitGuid(b: Bucket): void {
    b.lastEnd += 16;
    b.guidCount++;
    this.count++;
  }

  private push(at: number, guid: Buffer | undefined, text: string | undefined): void {
    const b = this.bucketFor(at);
    if (guid) {
      guid.copy(this.reserveGuid(b), b.lastEnd, 0, 16);
      this.commitGuid(b);
    } else if (text !== undefined) {
      b.texts.push(text);
      this.count++;
    }
  }

  private forEachGuid(b: Bucket, fn: (buf: Buffer, off: number) => void): void {
    for (let c = 0; c < b.chunks.length; c++) {
      const end = c === b.chunks.length - 1 ? b.lastEnd : b.chunks[c].length;
      for (let off = c === 0 ? b.first : 0; off < end; off += 16) fn(b.chunks[c], off);
    }
  }

  /** Drops the `k` oldest GUIDs of a bucket. */
  private trimGuids(b: Bucket, k: number): void {
    b.guidCount -= k;
    this.count -= k;
    let bytes = k * 16;
    while (bytes > 0 && b.chunks.length > 0) {
      const end = b.chunks.length === 1 ? b.lastEnd : b.chunks[0].length;
      const avail = end - b.first;
      if (bytes >= avail) {
        bytes -= avail;
        b.chunks.shift();
        b.first = 0;
        if (b.chunks.length === 0) b.lastEnd = 0;
      } else {
        b.first += bytes;
        bytes = 0;
      }
    }
  }

  private prune(): void {
    const oldestHour = Math.floor((this.now() - this.hours * HOUR_MS) / HOUR_MS);
    while (this.buckets.length > 0 && (this.buckets[0].hour < oldestHour || this.count > this.maxIds)) {
      const b = this.buckets[0];
      const n = b.guidCount + b.texts.length;
      if (b.hour >= oldestHour && this.count - n < this.maxIds) {
        // Trim the oldest bucket partly, oldest entries first.
        let drop = this.count - this.maxIds;
        const k = Math.min(drop, b.guidCount);
        if (k > 0) this.trimGuids(b, k);
        drop -= k;
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
    let size = MAGIC.length;
    for (const b of this.buckets) {
      size += 8 + b.guidCount * 17;
      for (const t of b.texts) size += 3 + Buffer.byteLength(t);
    }
    const out = allocLarge(size);
    MAGIC.copy(out, 0);
    let p = MAGIC.length;
    for (const b of this.buckets) {
      out.writeUInt32LE(b.hour, p);
      out.writeUInt32LE(b.guidCount + b.texts.length, p + 4);
      p += 8;
      this.forEachGuid(b, (buf, off) => {
        out[p] = TAG_GUID;
        buf.copy(out, p + 1, off, off + 16);
        p += 17;
      });
      for (const t of b.texts) {
        out[p] = TAG_TEXT;
        const len = out.write(t, p + 3, 'utf8');
        out.writeUInt16LE(len, p + 1);
        p += 3 + len;
      }
    }
    return out;
  }
}
