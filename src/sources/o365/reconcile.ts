/**
 * The reconciliation sweep: besides the trailing window, every `poll.reconcileIntervalMinutes`
 * re-list the whole retention still reachable (≤ 7 days back, ≤ 24 h windows) of one (tenant,
 * content type) and fetch every blob the delivered-blob record does not hold. Microsoft gives no
 * bound on listing latency, so a blob can appear in a window days after that window was listed;
 * only a re-list of the retention finds it.
 *
 * The decisions (when a sweep is due, which windows, which blobs are late, how late) are pure
 * functions over an injected clock; `Reconciler` runs them against the API and the delivery.
 * The sweep never moves the cursor: it reaches only below it, and a blob it fails to deliver stays
 * absent from the record, so the next sweep (sooner, RETRY_SWEEP_MS) tries it again.
 * Durable state moves only through the ack tracker (src/core/ack-tracker.ts): it alone adds finished
 * blobs to the record (asRecord() is its FinishedRecord) and has it written; the sweep reads the
 * record, and `deliver` finishes what it found through the tracker.
 */
import type { ContentRef } from '../../contracts';
import { isBridgeError } from '../../errors';
import type { Logger } from '../../obs/log';
import type { FinishedRecord, Unit } from '../../core/ack-tracker';
import { DeliveredBlobs, type LateBlob, type SweepRecord } from '../../state/delivered-blobs';
import { MAX_AGE_MS, MAX_WINDOW_MS, compareRefs, isContentRef, uniqueRefs, type Window } from './windows';

export const DEFAULT_RECONCILE_INTERVAL_MINUTES = 360;
/** After a sweep that did not finish (a blob failed, a listing error, a stop) the next one comes this soon. */
export const RETRY_SWEEP_MS = 15 * 60_000;

export interface SweepSchedule {
  /** Real time the delivered-blob record was started (the first sweep comes one interval after it). */
  recordCreatedAt: number;
  last?: { startedAt: number; complete: boolean };
}

/** When the next sweep is due (ms). */
export function nextSweepAt(s: SweepSchedule, intervalMs: number): number {
  if (!s.last) return s.recordCreatedAt + intervalMs;
  return s.last.startedAt + (s.last.complete ? intervalMs : Math.min(intervalMs, RETRY_SWEEP_MS));
}

export function sweepDue(s: SweepSchedule, now: number, intervalMs: number): boolean {
  return now >= nextSweepAt(s, intervalMs);
}

export interface SweepPlanInput {
  now: number;
  /** contentCreated from which the delivered-blob record is complete; null: nothing to reconcile yet. */
  coverageStart: number | null;
  /** The checkpoint cursor: the sweep covers what lies below it (above it is the regular pass's). */
  cursor: string | null;
  /** Kept away from the 7-day limit, as the regular windows are. */
  ageMarginMs: number;
  maxWindowMs?: number;
}

/** The sweep's windows: [max(coverage start, now − 7 d + margin), cursor) in ≤ 24 h steps, on whole seconds. */
export function planSweep(i: SweepPlanInput): Window[] {
  if (i.coverageStart === null || i.cursor === null) return [];
  const cursor = Date.parse(i.cursor);
  if (!Number.isFinite(cursor)) return [];
  const max = Math.min(i.maxWindowMs ?? MAX_WINDOW_MS, MAX_WINDOW_MS);
  const from = Math.ceil(Math.max(i.coverageStart, i.now - MAX_AGE_MS + i.ageMarginMs) / 1000) * 1000;
  const to = Math.floor(Math.min(cursor, i.now) / 1000) * 1000;
  const out: Window[] = [];
  for (let s = from; s < to; s += max) out.push({ start: s, end: Math.min(s + max, to) });
  return out;
}

/** Listing entries of a sweep window that were never delivered: usable, unique, in cursor order. */
export function findLate(entries: readonly unknown[], delivered: (ref: ContentRef) => boolean): ContentRef[] {
  const refs = entries.filter(isContentRef);
  return uniqueRefs(refs)
    .filter((r) => !delivered(r))
    .sort(compareRefs);
}

/** How late a blob was: from its contentCreated to when the sweep found it, in whole seconds. */
export function lateSeconds(ref: ContentRef, foundAt: number): number {
  return Math.max(0, Math.round((foundAt - Date.parse(ref.contentCreated)) / 1000));
}

/**
 * What the sweep needs of the poller: deliver one blob, resolving once all its events have their
 * outcome; a blob not 'failed' is then finished through the ack tracker (which adds it to the record).
 */
export type DeliverBlob = (ref: ContentRef) => Promise<'done' | 'lost' | 'failed'>;

/** What the Reconciler uses of the delivered-blob record (DeliveredBlobs; an in-memory one in the simulation). */
export type BlobRecord = Pick<DeliveredBlobs, 'existed' | 'has' | 'add' | 'flush' | 'createdAt' | 'coverageStart' | 'noteCoverageStart' | 'lastSweep' | 'setLastSweep'>;

export interface ReconcilerOptions {
  stateDir: string;
  tenantId: string;
  /** For logs and metrics (the tenant's name). */
  tenantLabel?: string;
  contentType: string;
  intervalMs: number;
  ageMarginMs: number;
  /** Blobs a sweep fetches at the same time (each also takes one of the tenant's blob slots). */
  concurrency: number;
  listContent(start: Date, end: Date): AsyncIterable<unknown[]>;
  logger: Logger;
  /** late_blobs_total. */
  countLate(tenant: string, contentType: string, n: number): void;
  now?: () => number;
  stop: AbortSignal;
  /** Opens the record; default DeliveredBlobs in `stateDir`. */
  openRecord?: () => Promise<BlobRecord>;
}

/**
 * One (tenant, content type)'s delivered-blob record and sweep schedule, kept across passes. The
 * poller calls it at five points (see the `issue-14 hook` comments in poller.ts).
 */
export class Reconciler {
  private record: BlobRecord | undefined;
  private readonly now: () => number;
  private running = false;

  constructor(private readonly o: ReconcilerOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * At a pass's start (before the checkpoint's `recent` is pruned): open the record once, seeded with
   * the checkpoint's recent blobs (finished, and possibly not in the record yet if a crash came
   * between the checkpoint write and the record's); a new one covers from this pass's listing start.
   * Resolves true when the record is new: it must be written before blobs are fetched (the ack
   * tracker's persist with `record`), else a crash would leave no record, and the next one would
   * cover from a later listing start only (a late blob below it never swept).
   */
  async begin(cp: { recent: ReadonlyArray<readonly [string, string]> }, listingStartMs: number): Promise<boolean> {
    let fresh = false;
    if (!this.record) {
      const rec = this.o.openRecord ? await this.o.openRecord() : await DeliveredBlobs.open(this.o.stateDir, this.o.tenantId, this.o.contentType, { now: this.now });
      for (const [id, created] of cp.recent) rec.add(id, created);
      this.record = rec;
      fresh = !rec.existed;
    }
    this.record.noteCoverageStart(listingStartMs);
    return fresh;
  }

  isDelivered(ref: ContentRef): boolean {
    return this.record?.has(ref.contentId, ref.contentCreated) ?? false;
  }

  /** A blob is finished (acknowledged, or counted lost at the source): for the ack tracker only. */
  finished(ref: Pick<ContentRef, 'contentId' | 'contentCreated'>): void {
    this.record?.add(ref.contentId, ref.contentCreated);
  }

  /** The record as the ack tracker's FinishedRecord (it alone feeds and writes it). */
  asRecord(): FinishedRecord {
    return {
      has: (u: Unit) => this.record?.has(u.id, u.at) ?? false,
      add: (u: Unit) => this.finished({ contentId: u.id, contentCreated: u.at }),
      flush: () => this.flush(),
    };
  }

  async flush(): Promise<void> {
    await this.record?.flush();
  }

  get lastSweep(): SweepRecord | undefined {
    return this.record?.lastSweep;
  }

  /**
   * Runs a sweep when one is due. Resolves with its record, or undefined when none was due. The
   * sweep's result is kept in the record's meta, written with the record's next write.
   */
  async maybeSweep(cursor: string | null, deliver: DeliverBlob): Promise<SweepRecord | undefined> {
    const rec = this.record;
    if (!rec || this.running || this.o.stop.aborted) return undefined;
    const now = this.now();
    const last = rec.lastSweep;
    const schedule: SweepSchedule = { recordCreatedAt: rec.createdAt, last: last ? { startedAt: Date.parse(last.startedAt), complete: last.complete } : undefined };
    if (!sweepDue(schedule, now, this.o.intervalMs)) return undefined;
    const windows = planSweep({ now, coverageStart: rec.coverageStart, cursor, ageMarginMs: this.o.ageMarginMs });
    this.running = true;
    try {
      const s = await this.sweep(rec, windows, deliver, now, last?.lateTotal ?? 0);
      rec.setLastSweep(s);
      return s;
    } finally {
      this.running = false;
    }
  }

  private async sweep(rec: BlobRecord, windows: Window[], deliver: DeliverBlob, startedAt: number, lateBefore: number): Promise<SweepRecord> {
    const { logger, tenantId, contentType } = this.o;
    const label = this.o.tenantLabel ?? tenantId;
    const s: SweepRecord = {
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: '',
      from: new Date(windows[0]?.start ?? startedAt).toISOString(),
      to: new Date(windows[windows.length - 1]?.end ?? startedAt).toISOString(),
      windows: 0,
      listed: 0,
      late: 0,
      failed: 0,
      complete: true,
      lateBlobs: [],
      lateTotal: lateBefore,
    };
    const lateBlobs: LateBlob[] = [];
    for (const w of windows) {
      if (this.o.stop.aborted) break;
      const entries: unknown[] = [];
      try {
        for await (const page of this.o.listContent(new Date(w.start), new Date(w.end))) {
          entries.push(...page);
          if (this.o.stop.aborted) break;
        }
      } catch (err) {
        s.complete = false;
        s.error = isBridgeError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
        if (!(this.o.stop.aborted && isBridgeError(err) && err.details.aborted)) logger.warn('reconciliation sweep: listing failed; the next sweep comes sooner', { tenant: label, contentType, err });
        break;
      }
      if (this.o.stop.aborted) break;
      s.windows++;
      s.listed += entries.filter(isContentRef).length;
      const late = findLate(entries, (r) => rec.has(r.contentId, r.contentCreated));
      let next = 0;
      const worker = async () => {
        while (next < late.length && !this.o.stop.aborted) {
          const ref = late[next++];
          const foundAt = this.now();
          const outcome = await deliver(ref);
          if (outcome === 'failed') {
            s.failed++;
            continue;
          }
          s.late++;
          s.lateTotal++;
          this.o.countLate(tenantId, contentType, 1);
          const lb: LateBlob = { contentId: ref.contentId, contentCreated: ref.contentCreated, foundAt: new Date(foundAt).toISOString(), lateSeconds: lateSeconds(ref, foundAt) };
          lateBlobs.push(lb);
          if (lateBlobs.length > 100) lateBlobs.shift();
          logger.info('late content found by the reconciliation sweep', {
            tenant: label,
            contentType,
            contentId: ref.contentId,
            contentCreated: ref.contentCreated,
            lateSeconds: lb.lateSeconds,
            outcome,
          });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(this.o.concurrency, late.length)) }, worker));
    }
    if (this.o.stop.aborted || s.failed > 0 || s.windows < windows.length) s.complete = false;
    s.finishedAt = new Date(this.now()).toISOString();
    s.lateBlobs = lateBlobs;
    logger.info('reconciliation sweep done', {
      tenant: label,
      contentType,
      from: s.from,
      to: s.to,
      windows: s.windows,
      listed: s.listed,
      late: s.late,
      failed: s.failed,
      complete: s.complete,
    });
    return s;
  }
}
