/**
 * Checkpoint store: one JSON file per (tenant, content type) in the state dir.
 *
 * Writes are atomic (temp file, fsync, rename, fsync the directory), so a crash at any instant leaves
 * either the old or the new file, never a torn one. A file that is nevertheless unreadable or corrupt is
 * an error (STATE_CORRUPT), never a silent restart from scratch: that would re-deliver or skip up to 7 days.
 * A lock file keeps two processes from sharing a state dir (each would overwrite the other's cursor).
 * The store persists; it does not decide. What a checkpoint means, and the only code that changes
 * one, is src/core/ack-tracker.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BridgeError } from '../errors';

export interface Checkpoint {
  version: 1;
  tenantId: string;
  contentType: string;
  /** contentCreated (ISO, as the listing gave it) up to which every listed blob has been acknowledged. null: never ran. */
  cursor: string | null;
  /** ids of blobs acknowledged whose contentCreated equals `cursor` (several blobs can share a timestamp). */
  doneAtCursor: string[];
  /** recently acknowledged blobs (contentId, contentCreated) so content re-listed in the trailing window is skipped; bounded. */
  recent: Array<[string, string]>;
  /**
   * What was lost, the last 100, with code and when: blobs lost at the source (expired, not found,
   * refused), and records the sink refused even in their reduced form (then with `recordId`).
   */
  lost: LostEntry[];
  /**
   * Time ranges [from, to) lost as a whole: the API no longer answered for them (a checkpoint older
   * than the retention, a window start that aged past the 7-day limit); the newest MAX_GAPS kept.
   * Absent in checkpoints written before it existed.
   */
  gaps?: LostRangeEntry[];
  /** counters of the current/last run, for `status`. */
  lastRun?: {
    startedAt: string;
    updatedAt: string;
    blobs: number;
    records: number;
    events: number;
    invalid: number;
    duplicates: number;
    lostBlobs: number;
  };
  updatedAt: string;
}

export interface LostEntry {
  contentId: string;
  contentCreated: string;
  code: string;
  at: string;
  /** Set for one record refused by the sink (null when it had no usable Id); absent for a whole blob. */
  recordId?: string | null;
}

export interface LostRangeEntry {
  from: string;
  to: string;
  code: string;
  at: string;
}

/** `gaps` keeps only this many entries on disk (the newest). */
export const MAX_GAPS = 100;
/** `lost` keeps only this many entries on disk (the newest). */
export const MAX_LOST = 100;
/** `recent` keeps at most this many entries on disk (the newest): the file is bounded by construction. */
export const MAX_RECENT = 100_000;
/** `doneAtCursor` keeps at most this many ids (they all share one contentCreated). */
export const MAX_DONE_AT_CURSOR = 10_000;
/** Ids longer than this are not kept in `recent` / `doneAtCursor` (content ids are ~100 characters). */
export const MAX_ID_CHARS = 1024;
/** A checkpoint file larger than this was not written by us: refused (STATE_CORRUPT) instead of read. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** A cursor this far ahead of the clock is refused: it would silently skip everything up to it. */
export const MAX_CURSOR_AHEAD_MS = 10 * 60_000;
/** `recent` entries serialised per slice while saving; the event loop runs between slices. */
const SAVE_SLICE = 2000;

export interface CheckpointStoreOptions {
  /** For `status`: no lock, no cleanup, save() refused. */
  readOnly?: boolean;
  /** Injected in tests; default: signal 0 (ESRCH = dead). */
  isAlive?: (pid: number) => boolean;
  /** Start time of a live process (an opaque token, e.g. /proc/PID/stat starttime), or undefined when unknown. Injected in tests. */
  processStart?: (pid: number) => string | undefined;
  /** This boot's id (Linux: /proc/sys/kernel/random/boot_id), or undefined. Injected in tests. */
  bootId?: () => string | undefined;
  /** Clock for the future-cursor check (ms). Default Date.now. */
  now?: () => number;
}

interface LockInfo {
  pid: number;
  hostname: string;
  nonce: string;
  startedAt: string;
  /** The holder's process start time (see processStart): a live pid with another start time is another process. */
  procStart?: string;
  /** The holder's boot: after a reboot no holder survives. */
  bootId?: string;
}

/** Lock files this process holds (several stores in one process must still exclude each other). */
const heldLocks = new Set<string>();

function defaultProcessStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function defaultBootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const LOCK_NAME = '.lock';
const FILE_RE = /^checkpoint\..+\.json$/;
const TEMP_MARK = '.tmp-';

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** File-name-safe form of an id (tenant ids are GUIDs and content types are dotted words; anything else is escaped). */
function safe(part: string): string {
  return part.replace(/[^A-Za-z0-9._-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).replace(/^\.+/, (m) => '%2e'.repeat(m.length));
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? 'error';
}

function unwritable(what: string, file: string, e: unknown): BridgeError {
  return new BridgeError('STATE_UNWRITABLE', `cannot ${what} ${file} (${errno(e)}); check that the state dir is writable and the disk has space`, {
    details: { file, errno: errno(e) },
    cause: e,
  });
}

function corrupt(file: string, why: string, cause?: unknown): BridgeError {
  return new BridgeError(
    'STATE_CORRUPT',
    `checkpoint ${file} ${why}; restore it from a backup, or delete it to start that tenant/content type over from poll.initialLookbackHours`,
    { details: { file }, cause },
  );
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Why a parsed object is not a Checkpoint, or undefined when it is one. */
export function checkpointShapeProblem(o: unknown): string | undefined {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'is not a JSON object';
  const c = o as Record<string, unknown>;
  if (c.version !== 1) return `has unsupported version ${JSON.stringify(c.version)} (expected 1)`;
  if (!isStr(c.tenantId) || !isStr(c.contentType)) return 'lacks tenantId/contentType';
  if (!(c.cursor === null || isStr(c.cursor))) return 'has a cursor that is neither null nor a string';
  if (!Array.isArray(c.doneAtCursor) || !c.doneAtCursor.every(isStr)) return 'has a malformed doneAtCursor';
  if (!Array.isArray(c.recent) || !c.recent.every((r) => Array.isArray(r) && r.length === 2 && isStr(r[0]) && isStr(r[1]))) return 'has a malformed recent list';
  if (
    !Array.isArray(c.lost) ||
    !c.lost.every((l) => l && typeof l === 'object' && isStr(l.contentId) && isStr(l.contentCreated) && isStr(l.code) && isStr(l.at) && (l.recordId === undefined || l.recordId === null || isStr(l.recordId)))
  )
    return 'has a malformed lost list';
  if (c.gaps !== undefined && (!Array.isArray(c.gaps) || !c.gaps.every((g) => g && typeof g === 'object' && isStr(g.from) && isStr(g.to) && isStr(g.code) && isStr(g.at))))
    return 'has a malformed gaps list';
  if (c.lastRun !== undefined) {
    const r = c.lastRun as Record<string, unknown>;
    if (!r || typeof r !== 'object' || !isStr(r.startedAt) || !isStr(r.updatedAt)) return 'has a malformed lastRun';
    for (const k of ['blobs', 'records', 'events', 'invalid', 'duplicates', 'lostBlobs']) if (!isCount(r[k])) return `has a malformed lastRun.${k}`;
  }
  if (!isStr(c.updatedAt)) return 'lacks updatedAt';
  return undefined;
}

/** A checkpoint within the size bounds (the newest entries kept): what is saved, and what a load hands on. */
function bounded(cp: Checkpoint): Checkpoint {
  const okId = (id: string) => id.length <= MAX_ID_CHARS;
  let { recent, doneAtCursor } = cp;
  if (recent.length > MAX_RECENT || recent.some((r) => !okId(r[0]))) recent = recent.filter((r) => okId(r[0])).slice(-MAX_RECENT);
  if (doneAtCursor.length > MAX_DONE_AT_CURSOR || doneAtCursor.some((id) => !okId(id))) doneAtCursor = doneAtCursor.filter(okId).slice(-MAX_DONE_AT_CURSOR);
  const gaps = cp.gaps && cp.gaps.length > MAX_GAPS ? cp.gaps.slice(-MAX_GAPS) : cp.gaps;
  return recent === cp.recent && doneAtCursor === cp.doneAtCursor && gaps === cp.gaps ? cp : { ...cp, recent, doneAtCursor, gaps };
}

/** The file's text in slices: everything but `recent` at once, then `recent` SAVE_SLICE entries at a time. */
function* serialize(cp: Checkpoint): Generator<string> {
  const { recent, ...rest } = cp;
  const head = JSON.stringify(rest);
  yield head.slice(0, -1) + ',"recent":[';
  for (let i = 0; i < recent.length; i += SAVE_SLICE) {
    const part = JSON.stringify(recent.slice(i, i + SAVE_SLICE));
    yield (i > 0 ? ',' : '') + part.slice(1, -1);
  }
  yield ']}\n';
}

export class CheckpointStore {
  readonly dir: string;
  private readonly readOnly: boolean;
  private readonly isAlive: (pid: number) => boolean;
  private readonly processStart: (pid: number) => string | undefined;
  private readonly bootId: () => string | undefined;
  private readonly now: () => number;
  private lock: LockInfo | undefined;
  private state: 'new' | 'open' | 'closed' = 'new';
  /** Saves of one file run one after another, so an older write can't land after a newer one. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(dir: string, opts: CheckpointStoreOptions = {}) {
    this.dir = path.resolve(dir);
    this.readOnly = opts.readOnly ?? false;
    this.isAlive = opts.isAlive ?? defaultIsAlive;
    this.processStart = opts.processStart ?? defaultProcessStart;
    this.bootId = opts.bootId ?? defaultBootId;
    this.now = opts.now ?? Date.now;
  }

  get lockFile(): string {
    return path.join(this.dir, LOCK_NAME);
  }

  fileFor(tenantId: string, contentType: string): string {
    return path.join(this.dir, `checkpoint.${safe(tenantId)}.${safe(contentType)}.json`);
  }

  /** mkdir -p, take the lock (taking over a stale one left by a dead process on this host), remove stray temp files. */
  async init(): Promise<void> {
    if (this.state !== 'new') throw new BridgeError('INTERNAL', 'CheckpointStore.init() called twice');
    if (this.readOnly) {
      this.state = 'open';
      return;
    }
    try {
      await fs.promises.mkdir(this.dir, { recursive: true });
    } catch (e) {
      throw unwritable('create the state dir', this.dir, e);
    }
    try {
      const st = await fs.promises.stat(this.dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (e) {
      throw unwritable('use the state dir', this.dir, e);
    }
    await this.acquireLock();
    this.state = 'open';
    // Temp files are only ever left by a crash between write and rename; the renamed file is authoritative.
    for (const name of await fs.promises.readdir(this.dir)) {
      if (name.includes(TEMP_MARK)) await fs.promises.rm(path.join(this.dir, name), { force: true }).catch(() => undefined);
    }
  }

  /** Works without init() too (lock-free reads, e.g. for `status` next to a running bridge). */
  async load(tenantId: string, contentType: string): Promise<Checkpoint | null> {
    this.assertNotClosed();
    const file = this.fileFor(tenantId, contentType);
    const cp = await this.readFile(file);
    if (cp && (cp.tenantId !== tenantId || cp.contentType !== contentType)) {
      throw corrupt(file, `belongs to ${cp.tenantId}/${cp.contentType}, not ${tenantId}/${contentType}`);
    }
    if (cp?.cursor !== null && cp?.cursor !== undefined) {
      const t = Date.parse(cp.cursor);
      const now = this.now();
      if (!Number.isFinite(t)) throw corrupt(file, `has a cursor that is not a date-time (${JSON.stringify(cp.cursor.slice(0, 40))})`);
      if (t > now + MAX_CURSOR_AHEAD_MS) {
        // Listing from it would skip everything up to it without a trace.
        throw new BridgeError(
          'STATE_CORRUPT',
          `checkpoint ${file} has a cursor in the future (${cp.cursor}, now ${new Date(now).toISOString()}): the file was edited or the system clock went back; fix the clock, or set the cursor to a past time (or delete the file to start over from poll.initialLookbackHours)`,
          { details: { file, cursor: cp.cursor } },
        );
      }
    }
    return cp ? bounded(cp) : cp;
  }

  async save(cp: Checkpoint): Promise<void> {
    if (this.state !== 'open') throw new BridgeError('INTERNAL', `CheckpointStore is ${this.state === 'new' ? 'not initialised (call init() before save())' : 'closed'}`);
    if (this.readOnly) throw new BridgeError('INTERNAL', 'CheckpointStore opened read-only: save() is not allowed');
    const file = this.fileFor(cp.tenantId, cp.contentType);
    // Taken now (the caller goes on changing `cp`); serialised slice by slice when written.
    const snapshot = bounded(cp.lost.length > MAX_LOST ? { ...cp, lost: cp.lost.slice(-MAX_LOST) } : cp);
    const prev = this.chains.get(file) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.writeAtomic(file, serialize(snapshot)));
    this.chains.set(file, next);
    try {
      await next;
    } finally {
      if (this.chains.get(file) === next) this.chains.delete(file);
    }
  }

  /**
   * Every checkpoint in the dir, sorted by tenant then content type. A corrupt one throws STATE_CORRUPT.
   * Works without init() (lock-free); a state dir that does not exist yet then holds no checkpoints.
   */
  async list(): Promise<Checkpoint[]> {
    this.assertNotClosed();
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch (e) {
      if (errno(e) === 'ENOENT' && (this.readOnly || this.state === 'new')) return [];
      throw corrupt(this.dir, `cannot be listed (${errno(e)})`, e);
    }
    const out: Checkpoint[] = [];
    for (const name of names.sort()) {
      if (!FILE_RE.test(name) || name.includes(TEMP_MARK)) continue;
      const cp = await this.readFile(path.join(this.dir, name));
      if (cp) out.push(cp);
    }
    return out.sort((a, b) => (a.tenantId === b.tenantId ? (a.contentType < b.contentType ? -1 : 1) : a.tenantId < b.tenantId ? -1 : 1));
  }

  /** Waits for pending saves, then releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.allSettled([...this.chains.values()]);
    if (this.lock) {
      const mine = this.lock;
      this.lock = undefined;
      const holder = await this.readLock().catch(() => null);
      if (holder && typeof holder === 'object' && holder.nonce === mine.nonce) await fs.promises.rm(this.lockFile, { force: true }).catch(() => undefined);
      heldLocks.delete(this.lockFile);
    }
  }

  private assertNotClosed(): void {
    if (this.state === 'closed') throw new BridgeError('INTERNAL', 'CheckpointStore is closed');
  }

  private async readFile(file: string): Promise<Checkpoint | null> {
    let text: string;
    try {
      const st = await fs.promises.stat(file);
      if (!st.isFile()) throw corrupt(file, 'cannot be read (not a regular file)');
      if (st.size > MAX_FILE_BYTES) throw corrupt(file, `is ${st.size} bytes, larger than any checkpoint this bridge writes (${MAX_FILE_BYTES})`);
      text = await fs.promises.readFile(file, 'utf8');
    } catch (e) {
      if (e instanceof BridgeError) throw e;
      if (errno(e) === 'ENOENT') return null;
      throw corrupt(file, `cannot be read (${errno(e)})`, e);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw corrupt(file, text.length === 0 ? 'is empty' : 'is not valid JSON', e);
    }
    const problem = checkpointShapeProblem(parsed);
    if (problem) throw corrupt(file, problem);
    return parsed as Checkpoint;
  }

  private async writeAtomic(file: string, body: Iterable<string>): Promise<void> {
    await writeFileAtomic(file, body);
  }

  private async readLock(): Promise<LockInfo | null | 'garbled' | 'empty'> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.lockFile, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return null;
      throw unwritable('read the lock file', this.lockFile, e);
    }
    // A power loss can leave the lock empty (or zero-filled): nobody holds it.
    if (/^[\s\0]*$/.test(text)) return 'empty';
    try {
      const o = JSON.parse(text) as LockInfo;
      if (typeof o.pid === 'number' && isStr(o.hostname) && isStr(o.nonce)) return o;
    } catch {
      /* fall through */
    }
    return 'garbled';
  }

  /**
   * Whether the holder of a lock is gone. A lock whose pid is ours is stale unless this process holds it
   * (PID reuse: a container's PID 1 restarting); so is one from another boot, one whose pid now belongs
   * to a process started at another time, and an empty one. A lock from another host is never stale.
   */
  private isStale(holder: LockInfo | 'garbled' | 'empty', me: LockInfo): boolean {
    if (holder === 'empty') return true;
    if (holder === 'garbled' || holder.hostname !== me.hostname) return false;
    if (holder.pid === process.pid) return !heldLocks.has(this.lockFile);
    if (holder.bootId && me.bootId && holder.bootId !== me.bootId) return true;
    if (!this.isAlive(holder.pid)) return true;
    if (holder.procStart) {
      const now = this.processStart(holder.pid);
      if (now !== undefined && now !== holder.procStart) return true;
    }
    return false;
  }

  private lockedError(holder: LockInfo | 'garbled' | 'empty'): BridgeError {
    if (holder === 'empty') holder = 'garbled';
    const who = holder === 'garbled' ? 'another process (unreadable lock file)' : `process ${holder.pid} on ${holder.hostname} since ${holder.startedAt}`;
    return new BridgeError(
      'STATE_LOCKED',
      `state dir ${this.dir} is in use by ${who}; stop that process or use another stateDir (delete ${this.lockFile} only if no bridge uses it)`,
      { details: { lockFile: this.lockFile, ...(holder === 'garbled' ? {} : { pid: holder.pid, hostname: holder.hostname }) } },
    );
  }

  private async acquireLock(): Promise<void> {
    const procStart = this.processStart(process.pid);
    const bootId = this.bootId();
    const me: LockInfo = {
      pid: process.pid,
      hostname: os.hostname(),
      nonce: randomBytes(12).toString('hex'),
      startedAt: new Date().toISOString(),
      ...(procStart ? { procStart } : {}),
      ...(bootId ? { bootId } : {}),
    };
    // Write the content first (fsynced: a power loss must not leave an empty lock), then link() it into
    // place: the lock appears atomically and always complete.
    const tmp = `${this.lockFile}${TEMP_MARK}${me.nonce}`;
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, 'wx', 0o644);
      await fh.writeFile(JSON.stringify(me) + '\n', 'utf8');
      await fh.sync();
    } catch (e) {
      throw unwritable('write in', this.dir, e);
    } finally {
      await fh?.close().catch(() => undefined);
    }
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await fs.promises.link(tmp, this.lockFile);
          this.lock = me;
          heldLocks.add(this.lockFile);
          await syncDir(this.dir);
          return;
        } catch (e) {
          if (e instanceof BridgeError) throw e;
          if (errno(e) !== 'EEXIST') throw unwritable('create the lock file', this.lockFile, e);
        }
        const holder = await this.readLock();
        if (holder === null) continue; // released meanwhile
        if (!this.isStale(holder, me)) throw this.lockedError(holder);
        // Take over: rename is atomic, so of several processes taking over the same stale lock only one moves it.
        const moved = `${this.lockFile}.stale${TEMP_MARK}${me.nonce}`;
        try {
          await fs.promises.rename(this.lockFile, moved);
        } catch (e) {
          if (errno(e) === 'ENOENT') continue;
          throw unwritable('replace the stale lock file', this.lockFile, e);
        }
        const movedInfo = await fs.promises.readFile(moved, 'utf8').catch(() => '');
        if (typeof holder === 'object' ? !movedInfo.includes(holder.nonce) : !/^[\s\0]*$/.test(movedInfo)) {
          // Between our read and rename a live process replaced the stale lock: put its lock back.
          await fs.promises.link(moved, this.lockFile).catch(() => undefined);
          await fs.promises.rm(moved, { force: true });
          throw this.lockedError((await this.readLock()) ?? 'garbled');
        }
        await fs.promises.rm(moved, { force: true });
      }
      throw this.lockedError((await this.readLock()) ?? 'garbled');
    } finally {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

let tempSeq = 0;
/** Characters of an iterable body written at once (see writeFileAtomic). */
const WRITE_GATHER = 256 * 1024;

/**
 * Replaces `file` atomically: temp file beside it, write, fsync, rename, fsync the directory. A crash
 * at any instant leaves the old or the new content, never a torn file. Every state file goes through
 * here (checkpoints, the delivered-blob record, the subscription start log, the record Id store); the
 * temp name carries TEMP_MARK, so CheckpointStore.init() removes what a crash left behind.
 */
export async function writeFileAtomic(file: string, body: string | Uint8Array | Iterable<string>): Promise<void> {
  const tmp = `${file}${TEMP_MARK}${process.pid}-${++tempSeq}`;
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'w', 0o644);
    if (typeof body === 'string' || body instanceof Uint8Array) await fh.writeFile(body);
    else {
      // Slices are gathered up to WRITE_GATHER characters per write: a checkpoint of a few hundred
      // entries (the usual, written after every blob) is one write, not one per slice.
      let pending = '';
      let first = true;
      for (const piece of body) {
        pending += piece;
        if (pending.length < WRITE_GATHER) continue;
        // Let the event loop run between writes: a large checkpoint must not stall API calls and acks.
        if (!first) await new Promise<void>((r) => setImmediate(r));
        await fh.write(pending, null, 'utf8');
        pending = '';
        first = false;
      }
      if (pending !== '' || first) {
        if (!first) await new Promise<void>((r) => setImmediate(r));
        await fh.write(pending, null, 'utf8');
      }
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw unwritable('write', file, e);
  }
  await syncDir(path.dirname(file));
}

/** Makes a rename durable (otherwise a power loss can bring back the old file). */
async function syncDir(dir: string): Promise<void> {
  let dh: fs.promises.FileHandle | undefined;
  try {
    dh = await fs.promises.open(dir, 'r');
    await dh.sync();
  } catch (e) {
    // Some platforms/filesystems can't fsync a directory; the rename is still atomic there.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP'].includes(errno(e))) throw unwritable('sync', dir, e);
  } finally {
    await dh?.close().catch(() => undefined);
  }
}

/** File-name-safe form of an id, as checkpoint file names use it (for the other state files). */
export const safeFilePart = safe;
