/**
 * The ack tracker: the only code that changes durable state. The checkpoint contract is written here,
 * once (state/checkpoint.ts stores the file atomically; it does not decide anything).
 *
 * One checkpoint per source stream (tenant × content type). Units are what the source lists (blobs),
 * each with an id and a time (contentCreated), in (time, id) order:
 * - `cursor`: every listed unit with time < cursor is finished, and so are the units in `doneAtCursor`
 *   (time == cursor). Finished = every record of it acknowledged by the receiver (as it was, or reduced
 *   in the quarantine), or reported lost with its record Id; or the whole unit lost at the source.
 * - `recent`: units finished lately at any position (late content found by the trailing re-list, units
 *   finished above one that failed), so a re-listed unit is not fetched again; bounded.
 * - `gaps`: time ranges lost as a whole (the source no longer answers for them), newest MAX_GAPS kept.
 * - `lost`: what was lost, with its content id, and the record Id for a record the sink refused even
 *   reduced; the newest MAX_LOST are kept, each is also logged and counted.
 * - in memory, the record Ids delivered (DeliveredIds, per tenant): added when the batch holding the
 *   record was acknowledged, never when it was read.
 * - optionally a FinishedRecord (the O365 source's delivered-blob record over the 7-day retention, for
 *   the reconciliation sweep): told of every unit finished, consulted by isFinished, written after the
 *   checkpoint when a persist asks for it. It only ever holds finished units, so one that lags (a crash
 *   before its write) costs a fetch again, never a loss; and it is re-seeded from `recent` on open.
 * So whatever was read and not acknowledged leaves no trace: a unit whose delivery did not complete is
 * fetched again, and each of its records not acknowledged is delivered.
 *
 * Order: units finish in any order; the cursor moves only over the contiguous finished prefix (an
 * ordered finalizer, as Vector's), computed by a CursorPolicy (the source's pure rules, e.g. the O365
 * WindowFinalizer) and applied here.
 * Persistence: `persist` after every finished unit, one write at a time; a write covers every change
 * made before it started. After a crash, what is sent again is what was in flight, plus the units whose
 * acknowledgement came while the last write was under way (at most one per blob worker).
 */
import type { Checkpoint, LostEntry, LostRangeEntry } from '../state/checkpoint';
import { MAX_GAPS, MAX_LOST } from '../state/checkpoint';
import type { Logger } from '../obs/log';
import type { Ids } from './guid-table';
import type { DeliveredIds } from './dedup';
import type { LostRecord } from './delivery';
import type { Clock } from './limits';

export interface CheckpointStoreLike {
  load(tenantId: string, contentType: string): Promise<Checkpoint | null>;
  save(cp: Checkpoint): Promise<void>;
}

/** A unit of the source (a content blob): its id and its time (ISO), as listed. */
export interface Unit {
  id: string;
  at: string;
}

export interface CursorState {
  cursor: string | null;
  doneAtCursor: string[];
}

/** The source's ordering rules over one listing (units sorted); returns the new cursor when it moved. */
export interface CursorPolicy {
  finish(i: number): CursorState | null;
  fail(i: number): CursorState | null;
  closeWindow(): CursorState | null;
  readonly complete: boolean;
}

/**
 * Durable memory of finished units beyond `recent` (issue 14: the delivered-blob record). Fed only
 * by the tracker, written only when the tracker persists with `{ record: true }`.
 */
export interface FinishedRecord {
  has(u: Unit): boolean;
  add(u: Unit): void;
  flush(): Promise<void>;
}

export interface AckTrackerDeps {
  store: CheckpointStoreLike;
  tenantId: string;
  contentType: string;
  delivered: DeliveredIds;
  clock: Clock;
  logger: Logger;
  /** How many finished units `recent` keeps. */
  recentCapacity: number;
  /** Told after every write (checkpoint lag) and every lost record. */
  onPersisted?: (cp: Readonly<Checkpoint>) => void;
  onLostRecords?: (n: number) => void;
  /** issue-14 hook: the delivered-blob record (see FinishedRecord). */
  record?: FinishedRecord;
}

export type RunCounts = Omit<NonNullable<Checkpoint['lastRun']>, 'startedAt' | 'updatedAt'>;

export class AckTracker {
  private readonly recent = new Map<string, string>(); // unit id → time, insertion-ordered
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private run: { startedAt: string; counts: () => RunCounts } | undefined;
  /** The next write also writes the FinishedRecord. */
  private recordDue = false;

  private constructor(
    private readonly d: AckTrackerDeps,
    private readonly cp: Checkpoint,
  ) {
    for (const [id, at] of cp.recent) this.recent.set(id, at);
  }

  static async open(d: AckTrackerDeps): Promise<AckTracker> {
    const cp = (await d.store.load(d.tenantId, d.contentType)) ?? {
      version: 1,
      tenantId: d.tenantId,
      contentType: d.contentType,
      cursor: null,
      doneAtCursor: [],
      recent: [],
      lost: [],
      updatedAt: new Date(d.clock.now()).toISOString(),
    };
    return new AckTracker(d, cp);
  }

  /** The cursor as it stands (a copy). */
  get cursor(): CursorState {
    return { cursor: this.cp.cursor, doneAtCursor: [...this.cp.doneAtCursor] };
  }

  /** The checkpoint as it stands (read only: for reports and tests). */
  get state(): Readonly<Checkpoint> {
    return this.cp;
  }

  /** True when the unit is finished already and must not be fetched again. */
  isFinished(u: Unit): boolean {
    if (this.recent.has(u.id)) return true;
    if (this.d.record?.has(u)) return true;
    return this.cp.cursor !== null && u.at === this.cp.cursor && this.cp.doneAtCursor.includes(u.id);
  }

  /** Forgets finished units older than `ms` (they can't be listed again). */
  prune(olderThanMs: number): void {
    for (const [id, at] of this.recent) if (Date.parse(at) < olderThanMs) this.recent.delete(id);
  }

  /** The counters saved as `lastRun` with every write of this pass. */
  trackRun(startedAt: string, counts: () => RunCounts): void {
    this.run = { startedAt, counts };
  }

  /**
   * A batch of `unit` was acknowledged: its records' Ids are delivered (de-dup), and the records it
   * had to give up on are recorded as lost.
   */
  batchAcked(unit: Unit, ids: Ids, lost: readonly LostRecord[]): void {
    const { tenantId, delivered } = this.d;
    if (lost.length === 0) {
      delivered.addAll(tenantId, ids);
      return;
    }
    const gone = new Set(lost.map((l) => l.recordId));
    delivered.addAll(
      tenantId,
      [...ids].filter((id) => !gone.has(id)),
    );
    const at = new Date(this.d.clock.now()).toISOString();
    for (const l of lost) {
      this.addLost({ contentId: unit.id, contentCreated: unit.at, code: l.code, at, recordId: l.recordId });
      this.d.logger.error('record lost: refused by the sink even in its reduced form', {
        tenant: tenantId,
        contentType: this.d.contentType,
        contentId: unit.id,
        recordId: l.recordId,
        code: l.code,
      });
    }
    this.d.onLostRecords?.(lost.length);
  }

  /** Tracks one listing (units sorted by the policy's order). */
  window(make: (start: CursorState) => CursorPolicy): TrackedWindow {
    return new TrackedWindow(this, make(this.cursor));
  }

  /** @internal (TrackedWindow) */
  apply(moved: CursorState | null): void {
    if (!moved) return;
    this.cp.cursor = moved.cursor;
    this.cp.doneAtCursor = moved.doneAtCursor;
  }

  /**
   * A unit below the cursor, found by a re-list of the retention (late content), finished: it is
   * remembered (recent, record); the cursor does not move.
   */
  finishedLate(u: Unit): void {
    this.markFinished(u);
  }

  /** A unit below the cursor lost at the source: recorded, then finished (see finishedLate). */
  lostLate(u: Unit, code: string): void {
    this.lostAtSource(u, code);
    this.markFinished(u);
  }

  /** @internal (TrackedWindow) */
  markFinished(u: Unit): void {
    this.d.record?.add(u);
    this.recent.delete(u.id);
    this.recent.set(u.id, u.at);
    while (this.recent.size > this.d.recentCapacity) this.recent.delete(this.recent.keys().next().value as string);
  }

  /** @internal (TrackedWindow) */
  lostAtSource(u: Unit, code: string): void {
    this.addLost({ contentId: u.id, contentCreated: u.at, code, at: new Date(this.d.clock.now()).toISOString() });
  }

  /**
   * The source can no longer answer for [from, to) (issue 12): what of it lies above the cursor is
   * recorded as lost, and the cursor moves to `to` (everything before it is finished or lost), so the
   * same range is recorded once. Returns the range recorded, or null when the cursor had passed it.
   */
  lostRange(r: { from: string; to: string; code: string }): LostRangeEntry | null {
    const to = Date.parse(r.to);
    const cur = this.cp.cursor === null ? -Infinity : Date.parse(this.cp.cursor);
    if (!Number.isFinite(to) || to <= cur) return null;
    const from = Number.isFinite(cur) && cur > Date.parse(r.from) ? this.cp.cursor! : r.from;
    const e: LostRangeEntry = { from, to: r.to, code: r.code, at: new Date(this.d.clock.now()).toISOString() };
    const gaps = (this.cp.gaps ??= []);
    gaps.push(e);
    if (gaps.length > MAX_GAPS) gaps.splice(0, gaps.length - MAX_GAPS);
    this.cp.cursor = r.to;
    this.cp.doneAtCursor = [];
    return e;
  }

  private addLost(e: LostEntry): void {
    this.cp.lost.push(e);
    if (this.cp.lost.length > MAX_LOST) this.cp.lost.splice(0, this.cp.lost.length - MAX_LOST);
  }

  /**
   * Writes the checkpoint as it stands now. One write at a time: called while one runs, it waits for
   * the next one, which starts when the current ends and carries every change made until then.
   * `record`: the FinishedRecord is written too (after the checkpoint), by this write or the next.
   */
  persist(o: { record?: boolean } = {}): Promise<void> {
    if (o.record && this.d.record) this.recordDue = true;
    if (this.queued) return this.queued;
    if (!this.writing) return (this.writing = this.write());
    this.queued = this.writing
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return (this.writing = this.write());
      });
    return this.queued;
  }

  private async write(): Promise<void> {
    try {
      const cp = this.cp;
      cp.recent = [...this.recent.entries()];
      cp.updatedAt = new Date(this.d.clock.now()).toISOString();
      if (this.run) cp.lastRun = { startedAt: this.run.startedAt, updatedAt: cp.updatedAt, ...this.run.counts() };
      const withRecord = this.recordDue;
      this.recordDue = false;
      try {
        await this.d.store.save(cp);
        // After the checkpoint: a record lagging behind it is re-seeded from `recent` on open.
        if (withRecord) await this.d.record?.flush();
      } catch (e) {
        if (withRecord) this.recordDue = true;
        throw e;
      }
      this.d.onPersisted?.(cp);
    } finally {
      this.writing = null;
    }
  }
}

/** One listing's units, finishing in any order; the cursor moves over the finished prefix. */
export class TrackedWindow {
  constructor(
    private readonly t: AckTracker,
    private readonly policy: CursorPolicy,
  ) {}

  /** Unit i was finished before (in `recent` or at the cursor). */
  skipped(i: number): void {
    this.t.apply(this.policy.finish(i));
  }

  /** Every record of unit i has its outcome (acknowledged, quarantined, or reported lost). */
  finished(i: number, u: Unit): void {
    this.t.markFinished(u);
    this.t.apply(this.policy.finish(i));
  }

  /** The source lost unit i (expired, not found, refused): recorded, then finished. */
  lostAtSource(i: number, u: Unit, code: string): void {
    this.t.lostAtSource(u, code);
    this.finished(i, u);
  }

  /** Unit i did not finish this pass: the cursor must not pass it (and comes back to it if it had). */
  failed(i: number): void {
    this.t.apply(this.policy.fail(i));
  }

  get complete(): boolean {
    return this.policy.complete;
  }

  /** Every unit finished: the cursor may move to the listing's end. */
  close(): boolean {
    if (!this.policy.complete) return false;
    this.t.apply(this.policy.closeWindow());
    return true;
  }
}
