/**
 * One pass of one (tenant, content type): list the windows from the checkpoint to now, fetch every
 * blob not finished yet, stream its records through de-dup, validation and routing into the delivery,
 * and tell the ack tracker (src/core/ack-tracker.ts, which alone changes the checkpoint) what finished.
 *
 * A blob is finished when (a) every record read from it has its outcome (acknowledged, quarantined, or
 * reported lost by the delivery), or (b) the source lost it (expired, not found) or refused it for good
 * (foreign host, over the size limit): counted and recorded with its content id, never skipped
 * silently. Anything else (5xx, resets, truncation, throttling, Fluentd down) holds the cursor at that
 * blob; the next pass lists from there again, and what was not acknowledged is delivered then.
 * A record is skipped when it was acknowledged before: by its position in the blob (an earlier read of
 * this pass), or by (tenant, Id) in the delivered-Ids set, which only acknowledgements fill.
 */
import type { ActivityApi, ContentRef, ListingReport, OutEvent, RecordValidator, ValidationResult } from '../../contracts';
import { BridgeError, isBridgeError, redactUri } from '../../errors';
import type { Logger } from '../../obs/log';
import type { Metrics } from '../../obs/metrics';
import { JsonSplitter, PROTO_KEY_RENAMED, renameProtoKeys, runsOf, type ReadItem } from './blob-reader';
import type { BatchReport, Delivery, Lane, SentBatch } from '../../core/delivery';
import { usableId, type DeliveredIds, type TenantIds } from '../../core/dedup';
import { AckTracker, type CheckpointStoreLike, type RunCounts, type TrackedWindow } from '../../core/ack-tracker';
import type { Reconciler } from './reconcile';
import { backoffDelay } from '../../net/retry';
import { realClock, type Clock, type Semaphore } from '../../core/limits';
import { compareRefs, isContentRef, listingStart, planWindows, uniqueRefs, WindowFinalizer, type PlanOptions } from './windows';
import { BlobFailures, classifyBlobFailure, listingGap, unreachableRange, windowClosable, type LostRange, type Window } from './windows';

export type { CheckpointStoreLike, RunCounts };

export interface RouterLike {
  route(record: Record<string, unknown>, result: ValidationResult, ctx: { tenantId: string; contentType: string; contentId: string }): OutEvent;
}

export interface ProgressLike {
  setPlan(tenant: string, contentType: string, windowsTotal: number): void;
  windowDone(tenant: string, contentType: string): void;
  records(tenant: string, n: number): void;
}

export interface PassResult extends RunCounts {
  tenantId: string;
  contentType: string;
  windows: number;
  /** Blobs that failed this pass and hold the cursor back (retried next pass). */
  failedBlobs: number;
  cursor: string | null;
  /** Blobs lost at the source, and records lost (refused by the sink even reduced: with `recordId`). */
  lost: Array<{ contentId: string; code: string; recordId?: string | null }>;
  /** Time ranges recorded as lost this pass (the API no longer answers for them). */
  gaps: LostRange[];
  /** Events read per tag (for the demo's summary). */
  byTag: Map<string, number>;
  error?: BridgeError;
}

export interface PollerDeps {
  tenantId: string;
  contentType: string;
  api: ActivityApi;
  store: CheckpointStoreLike;
  validator: RecordValidator;
  router: RouterLike;
  delivery: Delivery;
  delivered: DeliveredIds;
  /** Shared by the tenant's content types: bounds concurrent blob fetches per tenant. */
  blobSlots: Semaphore;
  logger: Logger;
  metrics: Metrics;
  progress?: ProgressLike;
  clock?: Clock;
  /**
   * issue-14 hook: the delivered-blob record over the retention and the reconciliation sweep. The
   * record is fed and written by the ack tracker only (as its FinishedRecord).
   */
  reconcile?: Pick<Reconciler, 'begin' | 'asRecord' | 'maybeSweep'>;
  /**
   * Blobs that failed with a non-retryable answer, and since when: must outlive the pass (one per
   * tenant × content type, kept by the bridge), so that a blob is given up after the configured time.
   */
  blobFailures?: BlobFailures;
  /**
   * Waits for the tenant's turn for one blob created at `oldestMs` (bridge: core/schedule.ts); resolves
   * with its release. `previous`, the release of the worker's last blob, is handed over.
   */
  turn?: (oldestMs: number, previous?: () => void) => Promise<() => void>;
}

export interface PollerOptions {
  initialLookbackMs: number;
  trailingMs: number;
  ageMarginMs: number;
  blobConcurrency: number;
  maxBlobAttempts: number;
  maxRecordBytes: number;
  recentBlobsCapacity: number;
  /** Stops reading new data (graceful shutdown, first phase). */
  stopFetching: AbortSignal;
}

type BlobOutcome = { kind: 'done' } | { kind: 'lost'; code: string } | { kind: 'failed'; error: unknown };

/** Content errors that finish a blob as lost at the source instead of holding the cursor forever. */
const LOST_CODES = new Set(['CONTENT_EXPIRED', 'FOREIGN_HOST', 'BLOB_TOO_LARGE']);

const PARSE_FAILURE_KEYWORD = 'parse';

/**
 * Blobs read and waiting for their acknowledgements, per blob worker (of blobConcurrency): a worker
 * moves to its next blob once one is read, so with small blobs and slow acks the downloads overlap the
 * acks (100-record blobs with 250 ms acks ran at about 1.8k records/s when a worker waited for each
 * blob's acks: issue 17). A waiting blob holds no records (they are in the lane's batches, bounded by
 * the in-flight window), only its bookkeeping.
 */
export const READS_AWAITING_ACKS = 16;

/** Positions of a blob's records acknowledged during this pass (ranges: batches are contiguous). */
class AckedPositions {
  private readonly ranges: Array<[number, number]> = [];
  /**
   * Positions left out of the batches because another batch had their record on its way: inside an
   * acknowledged range, but not acknowledged by it. A later read asks for them again (found by the
   * simulation: a read after a cut skipped such a record, and the blob was finished before the
   * batch carrying its Id was acknowledged).
   */
  private deferred: Set<number> | undefined;
  add(from: number, to: number): void {
    if (to > from) this.ranges.push([from, to]);
  }
  defer(i: number): void {
    (this.deferred ??= new Set()).add(i);
  }
  has(i: number): boolean {
    if (this.deferred?.has(i)) return false;
    for (const [a, b] of this.ranges) if (i >= a && i < b) return true;
    return false;
  }
  get empty(): boolean {
    return this.ranges.length === 0;
  }
}

export class ContentTypePoller {
  private readonly clock: Clock;
  /** The blob reads of this (tenant, content type) fill shared batches. */
  private readonly lane: Lane;

  constructor(
    private readonly d: PollerDeps,
    private readonly o: PollerOptions,
  ) {
    this.clock = d.clock ?? realClock;
    this.lane = d.delivery.lane();
  }

  async runPass(): Promise<PassResult> {
    const { tenantId, contentType, store, logger, metrics } = this.d;
    const started = new Date(this.clock.now()).toISOString();
    const result: PassResult = {
      tenantId,
      contentType,
      windows: 0,
      blobs: 0,
      records: 0,
      events: 0,
      invalid: 0,
      duplicates: 0,
      lostBlobs: 0,
      failedBlobs: 0,
      cursor: null,
      lost: [],
      gaps: [],
      byTag: new Map(),
    };
    const tracker = await AckTracker.open({
      store,
      tenantId,
      contentType,
      delivered: this.d.delivered,
      clock: this.clock,
      logger,
      recentCapacity: this.o.recentBlobsCapacity,
      onPersisted: (cp) => {
        if (cp.cursor) metrics.checkpointLagSeconds(tenantId, contentType, Math.max(0, (this.clock.now() - Date.parse(cp.cursor)) / 1000));
      },
      onLostRecords: (n) => metrics.recordsLost(tenantId, contentType, n),
      record: this.d.reconcile?.asRecord(), // issue-14 hook: consulted by isFinished, fed by markFinished, written by persist({ record: true })
    });
    tracker.trackRun(started, () => countsOf(result));
    const plan: PlanOptions = {
      now: this.clock.now(),
      initialLookbackMs: this.o.initialLookbackMs,
      trailingMs: this.o.trailingMs,
      ageMarginMs: this.o.ageMarginMs,
    };
    const start = listingStart(tracker.cursor.cursor, plan);
    // issue 12: a checkpoint older than the retention: the part the API no longer holds is recorded as lost.
    const gap = unreachableRange(tracker.cursor.cursor, plan);
    if (gap) this.reportGap(tracker, gap, result);
    // issue-14 hook 1: open the delivered-blob record (seeded with the checkpoint's recent blobs); before prune.
    if (await this.d.reconcile?.begin(tracker.state, start)) await tracker.persist({ record: true });
    // Blobs older than where listing starts can't be listed again: no need to remember them.
    tracker.prune(start - 60_000);
    const windows = planWindows(start, plan);
    this.d.progress?.setPlan(tenantId, contentType, windows.length);
    const stopped = () => this.o.stopFetching.aborted || this.d.delivery.failure !== undefined;
    // The tenant's turn for a window's listing (bridge: core/schedule.ts), handed to its first blob worker.
    let listTurn: (() => void) | undefined;

    try {
      for (const w of windows) {
        if (stopped()) break;
        listTurn = await this.d.turn?.(w.start);
        if (stopped()) break;
        result.windows++;
        const refs: ContentRef[] = [];
        let junk = 0;
        const info = {} as ListingReport;
        for await (const page of this.d.api.listContent(contentType, new Date(w.start), new Date(w.end), info)) {
          for (const r of page as unknown[]) {
            if (isContentRef(r)) refs.push(r);
            else junk++;
          }
          if (stopped()) break;
        }
        if (junk > 0) {
          // Nothing can be fetched from them; they are reported, not allowed to fail the whole listing.
          logger.warn('listing entries skipped: not content references', { tenant: tenantId, contentType, skipped: junk, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() });
        }
        if (stopped()) break;
        const closable = this.listedWhole(tracker, w, info, result);
        const sorted = uniqueRefs(refs).sort(compareRefs);
        const win = tracker.window((cur) => new WindowFinalizer(sorted, w, cur));
        let failed = 0;
        let fatal: BridgeError | undefined;

        let next = 0;
        // The tenant's turn (bridge: core/schedule.ts), held from one blob to the next while it still comes first.
        // What a blob's outcome means for the window, the checkpoint and the pass.
        const finish = async (i: number, ref: ContentRef, outcome: BlobOutcome): Promise<void> => {
          const unit = { id: ref.contentId, at: ref.contentCreated };
          if (outcome.kind === 'failed') {
            const why = this.failureAction(ref, outcome.error, stopped());
            if (why === 'give-up') {
              const code = (outcome.error as BridgeError).code;
              this.reportLost(ref, code, result, 'content given up: it kept failing with a non-retryable answer');
              win.lostAtSource(i, unit, code);
              await tracker.persist();
              return;
            }
            failed++;
            win.failed(i);
            await tracker.persist();
            if (why === 'fatal') fatal = outcome.error as BridgeError;
            return;
          }
          this.failures.forget(ref.contentId);
          if (outcome.kind === 'lost') {
            this.reportLost(ref, outcome.code, result);
            win.lostAtSource(i, unit, outcome.code);
          } else {
            result.blobs++;
            win.finished(i, unit);
          }
          // Written as each blob finishes: a crash re-reads at most the blobs not finished yet.
          await tracker.persist();
        };
        // A worker moves to its next blob once this one is read; the read's acknowledgements come in the
        // background (at most READS_AWAITING_ACKS per worker), so small blobs don't wait for each ack.
        let broken: { err: unknown } | undefined;
        const worker = async (held: { turn?: () => void }) => {
          const waiting = new Set<Promise<void>>();
          try {
            while (next < sorted.length && !stopped() && !fatal && !broken) {
              const i = next++;
              const ref = sorted[i];
              if (tracker.isFinished({ id: ref.contentId, at: ref.contentCreated })) {
                win.skipped(i);
                continue;
              }
              held.turn = await this.d.turn?.(Date.parse(ref.contentCreated), held.turn);
              if (stopped()) break; // stopped while waiting for the turn: not started, not a failure
              let read!: () => void;
              const wasRead = new Promise<void>((r) => (read = r));
              const done: Promise<void> = this.processBlob(ref, tracker, result, read)
                .then((outcome) => finish(i, ref, outcome))
                .catch((err: unknown) => void (broken ??= { err }))
                .finally(() => {
                  read();
                  waiting.delete(done);
                });
              waiting.add(done);
              await wasRead;
              while (waiting.size >= READS_AWAITING_ACKS) await Promise.race(waiting);
            }
          } finally {
            await Promise.all(waiting);
          }
        };
        await Promise.all(
          Array.from({ length: Math.max(1, Math.min(this.o.blobConcurrency, sorted.length)) }, (_, k) => {
            const held: { turn?: () => void } = { turn: k === 0 ? listTurn : undefined };
            if (k === 0) listTurn = undefined;
            return worker(held).finally(() => held.turn?.());
          }),
        );
        if (broken) throw broken.err;

        result.failedBlobs += failed;
        if (!stopped() && closable && win.close()) this.d.progress?.windowDone(tenantId, contentType);
        await tracker.persist({ record: true }); // issue-14: the delivered-blob record once per window
        if (fatal) throw fatal;
        // A failed blob holds the cursor; windows after it would only pile up work behind it.
        if (failed > 0) break;
        // Not listed whole: a later window closed now would carry the cursor over what was not listed.
        if (!closable) break;
      }
      // issue-14 hook 5: the reconciliation sweep, when due; below the cursor, which it never moves.
      if (this.d.reconcile && !stopped()) {
        await this.d.reconcile.maybeSweep(tracker.cursor.cursor, (ref) => this.deliverLate(ref, tracker, result));
        await tracker.persist({ record: true });
      }
    } catch (err) {
      result.error = isBridgeError(err) ? err : new BridgeError('INTERNAL', (err as Error)?.message ?? String(err), { cause: err });
      listTurn?.();
      if (result.error.code === 'STATE_UNWRITABLE' || result.error.code === 'STATE_CORRUPT') throw result.error;
      if (!(this.o.stopFetching.aborted && result.error.details.aborted)) logger.error('pass failed', { tenant: tenantId, contentType, err: result.error });
      await tracker.persist({ record: true });
    }
    listTurn?.();
    result.cursor = tracker.cursor.cursor;
    return result;
  }

  /**
   * issue-14: one blob found by the sweep (below the cursor), through the same path as any other;
   * resolves once every record of it has its outcome. The ack tracker records it finished.
   */
  private async deliverLate(ref: ContentRef, tracker: AckTracker, result: PassResult): Promise<'done' | 'lost' | 'failed'> {
    const unit = { id: ref.contentId, at: ref.contentCreated };
    const release = await this.d.turn?.(Date.parse(ref.contentCreated));
    const outcome = await this.processBlob(ref, tracker, result).finally(() => release?.());
    if (outcome.kind === 'failed') {
      result.failedBlobs++;
      await tracker.persist();
      return 'failed';
    }
    if (outcome.kind === 'lost') {
      this.reportLost(ref, outcome.code, result);
      tracker.lostLate(unit, outcome.code);
    } else {
      result.blobs++;
      tracker.finishedLate(unit);
    }
    await tracker.persist();
    return outcome.kind;
  }

  // ---- issue 12: gaps, listings not made whole, blobs given up (kept together to ease merges) ----

  private get failures(): BlobFailures {
    return (this.ownFailures ??= this.d.blobFailures ?? new BlobFailures());
  }
  private ownFailures: BlobFailures | undefined;

  /** Records a range the API no longer answers for (through the ack tracker, which moves the cursor past it). */
  private reportGap(tracker: AckTracker, gap: LostRange, result: PassResult): void {
    const e = tracker.lostRange(gap);
    if (!e) return;
    result.gaps.push({ from: e.from, to: e.to, code: e.code });
    this.d.metrics.rangeLost(this.d.tenantId, this.d.contentType, Math.max(0, (Date.parse(e.to) - Date.parse(e.from)) / 1000));
    this.d.logger.warn('content lost: the API no longer answers for this time range; everything it still holds is fetched', {
      tenant: this.d.tenantId,
      contentType: this.d.contentType,
      from: e.from,
      to: e.to,
      code: e.code,
    });
  }

  /**
   * After a window's listing: records the part the API could not be asked for (its start aged past the
   * 7-day limit) and says whether the window may be closed: only when the API was asked for the rest of
   * it and answered to its last page. An API that does not fill the report (a stand-in) is taken at its word.
   */
  private listedWhole(tracker: AckTracker, w: Window, info: ListingReport, result: PassResult): boolean {
    if (info.asked === undefined && info.complete === undefined) Object.assign(info, { asked: { start: new Date(w.start), end: new Date(w.end) }, complete: true });
    const lg = listingGap(w, info);
    if (lg) this.reportGap(tracker, lg, result);
    const closable = windowClosable(lg ? { start: Date.parse(lg.to), end: w.end } : w, info);
    if (!closable) {
      this.d.logger.warn('window not listed whole; the checkpoint stays within it and it is listed again next pass', {
        tenant: this.d.tenantId,
        contentType: this.d.contentType,
        start: new Date(w.start).toISOString(),
        end: new Date(w.end).toISOString(),
        asked: info.asked ? { start: new Date(+info.asked.start).toISOString(), end: new Date(+info.asked.end).toISOString() } : null,
        complete: info.complete,
      });
    }
    return closable;
  }

  /**
   * What a blob that failed this pass means. A non-retryable answer from the API for this blob alone
   * (a 3xx, a 4xx) is not fatal to the pass: the blob holds the cursor and is tried again next pass,
   * until it has failed so for the configured time (or is past its contentExpiration): then it is given
   * up, recorded as lost with its code. Tenant-wide refusals and anything not from the API (state, the
   * sink) stop the pass, as before.
   */
  private failureAction(ref: ContentRef, err: unknown, stopped: boolean): 'retry' | 'give-up' | 'fatal' {
    if (stopped || !isBridgeError(err) || err.retryable) return 'retry';
    const fromApi = err.code.startsWith('API_') || err.code.startsWith('BLOB_');
    const a = fromApi ? classifyBlobFailure(err) : 'fatal';
    if (a === 'fatal') return 'fatal';
    if (a !== 'defer') return 'retry';
    if (this.failures.giveUp(ref, err.code, this.clock.now())) return 'give-up';
    const f = this.failures.get(ref.contentId);
    this.d.logger.warn('blob refused by the API; the other blobs go on, it is tried again next pass until given up', {
      tenant: this.d.tenantId,
      contentType: this.d.contentType,
      contentId: ref.contentId,
      code: err.code,
      failingSince: f ? new Date(f.at).toISOString() : undefined,
      attempts: f?.attempts,
    });
    return 'retry';
  }

  private reportLost(ref: ContentRef, code: string, result: PassResult, msg = 'content lost at the source'): void {
    result.lostBlobs++;
    result.lost.push({ contentId: ref.contentId, code });
    if (code === 'CONTENT_EXPIRED') this.d.metrics.blobsExpired(this.d.tenantId, this.d.contentType, 1);
    this.d.metrics.blobsLost(this.d.tenantId, this.d.contentType, code, 1);
    this.failures.forget(ref.contentId);
    this.d.logger.warn(msg, {
      tenant: this.d.tenantId,
      contentType: this.d.contentType,
      contentId: ref.contentId,
      contentCreated: ref.contentCreated,
      code,
    });
  }

  /**
   * Fetches, reads, validates, routes and delivers one blob; resolves once every record has its outcome.
   * Holds one of the tenant's download slots (blobSlots) while it fetches and reads, not while it waits
   * for acknowledgements or a retry; `onRead` is told when a read is whole (its acks may still come).
   */
  private async processBlob(ref: ContentRef, tracker: AckTracker, result: PassResult, onRead?: () => void): Promise<BlobOutcome> {
    const { tenantId, contentType, metrics, logger } = this.d;
    if (Date.parse(ref.contentExpiration) <= this.clock.now()) return { kind: 'lost', code: 'CONTENT_EXPIRED' };
    const unit = { id: ref.contentId, at: ref.contentCreated };
    const acked = new AckedPositions();
    // Only acknowledgements count: the tracker learns the Ids, this read learns the positions.
    const onSettled = (b: SentBatch, r: BatchReport | null) => {
      if (r === null) return;
      tracker.batchAcked(unit, b.ids, r.lost);
      acked.add(b.from, b.to);
      result.events += r.acked;
      const types = b.types;
      for (const l of r.lost) {
        result.lost.push({ contentId: ref.contentId, code: l.code, recordId: l.recordId });
        types.set(l.recordType, (types.get(l.recordType) ?? 1) - 1);
      }
      for (const [t, n] of types) metrics.recordsEmitted(tenantId, contentType, t, n);
    };
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.o.maxBlobAttempts; attempt++) {
      if (this.o.stopFetching.aborted) break;
      if (this.d.delivery.failure) {
        lastError = this.d.delivery.failure;
        break;
      }
      await this.d.blobSlots.acquire();
      let slot = true;
      const freeSlot = () => {
        if (slot) this.d.blobSlots.release();
        slot = false;
      };
      const b = this.lane.batcher(onSettled, this.d.delivered.tenant(tenantId));
      try {
        const body = await this.d.api.fetchBlob(ref.contentUri, this.o.stopFetching);
        const waitFor: Array<{ id: string; settled: Promise<boolean> }> = [];
        await this.readBlob(ref, body, b, acked, waitFor, result);
        freeSlot(); // read whole: the next download starts while this one waits for its acks
        onRead?.();
        await b.drain();
        // Records skipped because another batch had them on the way: finished only once delivered there
        // (not if that batch failed, nor if the record was lost there: then this copy is sent).
        if (waitFor.length > 0) {
          await Promise.all(waitFor.map((w) => w.settled));
          const ids = this.d.delivered.tenant(tenantId);
          if (waitFor.some((w) => !ids.has(w.id))) {
            throw new BridgeError('SINK_CLOSED', 'a record of this blob was on its way in another batch and was not delivered there', { retryable: true });
          }
        }
        metrics.blobsFetched(tenantId, contentType, 1);
        return { kind: 'done' };
      } catch (err) {
        lastError = err;
        freeSlot();
        // What this read sent gets its outcome before the next read: acknowledged records are skipped then.
        await b.settle();
        if (isBridgeError(err) && LOST_CODES.has(err.code)) return { kind: 'lost', code: err.code };
        if (this.o.stopFetching.aborted || this.d.delivery.failure) break;
        if (isBridgeError(err) && !err.retryable) break;
        if (isBridgeError(err) && err.code.startsWith('SINK_')) break; // the delivery retried already
        metrics.retry(tenantId, isBridgeError(err) ? err.code : 'error');
        const wait = backoffDelay(attempt - 1, { baseDelayMs: 500, maxDelayMs: 30_000 }, this.clock.random);
        logger.warn('blob failed, will retry', { tenant: tenantId, contentType, contentId: ref.contentId, attempt, retryInMs: wait, err });
        await this.clock.sleep(wait, this.o.stopFetching);
      }
    }
    if (lastError === undefined) lastError = new BridgeError('SINK_CLOSED', 'stopped before the blob was delivered', { retryable: true });
    logger.warn('blob not delivered this pass; the checkpoint waits for it', {
      tenant: tenantId,
      contentType,
      contentId: ref.contentId,
      uri: redactUri(ref.contentUri),
      acknowledgedSoFar: !acked.empty,
      err: lastError,
    });
    return { kind: 'failed', error: lastError };
  }

  private async readBlob(
    ref: ContentRef,
    body: AsyncIterable<Buffer>,
    batcher: ReturnType<Delivery['batcher']>,
    acked: AckedPositions,
    waitFor: Array<{ id: string; settled: Promise<boolean> }>,
    result: PassResult,
  ): Promise<void> {
    const { tenantId, contentType, metrics } = this.d;
    const r: BlobRead = {
      ctx: { tenantId, contentType, contentId: ref.contentId },
      ids: this.d.delivered.tenant(tenantId),
      batcher,
      acked,
      waitFor,
      result,
      byType: new Map(),
      records: 0,
      invalid: 0,
      duplicates: 0,
    };
    // The splitter is driven here, run by run, rather than through readRecords' async generator:
    // that cost a promise and a microtask per record. Same items, same order, same errors.
    const splitter = new JsonSplitter({ source: redactUri(ref.contentUri), maxRecordBytes: this.o.maxRecordBytes });
    try {
      // In runs of up to RUN_BYTES (runsOf): TLS hands a body over in 16 KiB pieces.
      for await (const run of runsOf(body)) {
        const items = splitter.push(run);
        for (let k = 0; k < items.length; k++) {
          const p = this.readItem(items[k], r);
          if (p) await p;
        }
      }
      const rest = splitter.end();
      for (let k = 0; k < rest.length; k++) {
        const p = this.readItem(rest[k], r);
        if (p) await p;
      }
    } finally {
      // Counted per blob read, not per record: one metrics call per record type.
      result.records += r.records;
      result.invalid += r.invalid;
      result.duplicates += r.duplicates;
      for (const [t, c] of r.byType) {
        metrics.recordsFetched(tenantId, contentType, t, c.fetched);
        metrics.recordsInvalid(tenantId, contentType, t, c.invalid);
      }
      metrics.recordsDuplicate(tenantId, contentType, r.duplicates);
      this.d.progress?.records(tenantId, r.records);
    }
  }

  /** One record of a blob read: de-dup, validate, route, batch. A promise only when the batcher hands a batch over. */
  private readItem(item: ReadItem, r: BlobRead): Promise<void> | undefined {
    if (this.o.stopFetching.aborted) throw new BridgeError('SINK_CLOSED', 'stopped while reading a blob', { retryable: true });
    r.records++;
    // Acknowledged in an earlier read of this blob (this pass).
    if (!r.acked.empty && r.acked.has(item.index)) return undefined;
    const { validator, router } = this.d;
    let ev: OutEvent;
    let rt: number | null = null;
    let ok = true;
    let id: string | undefined;
    if (item.error) {
      ok = false;
      ev = router.route({ raw: item.raw ?? '' }, parseFailure(item.error), r.ctx);
    } else {
      const rec = item.record;
      const isObj = rec !== null && typeof rec === 'object' && !Array.isArray(rec);
      id = isObj ? usableId(rec) : undefined;
      if (id !== undefined) {
        if (r.ids.has(id)) {
          r.duplicates++;
          return undefined;
        }
        // On its way in a batch not settled yet (the same record in another blob): wait for that one.
        const p = r.ids.pending(id);
        if (p) {
          r.duplicates++;
          r.waitFor.push({ id, settled: p });
          r.acked.defer(item.index);
          return undefined;
        }
      }
      let res = validator.validate(rec);
      // Altered on the way (invalid UTF-8, a __proto__ key renamed): delivered whole, quarantined with the reason.
      let repaired = item.repaired;
      if (item.mayHaveProtoKey && renameProtoKeys(rec)) repaired = (repaired ? repaired + '; ' : '') + `key "__proto__" renamed to "${PROTO_KEY_RENAMED}"`;
      if (repaired) res = { ...res, valid: false, errors: [...res.errors, { path: '', keyword: 'repaired', message: repaired }] };
      rt = res.recordType;
      ok = res.valid;
      ev = router.route(isObj ? (rec as Record<string, unknown>) : { value: rec }, res, r.ctx);
    }
    if (!ok) r.invalid++;
    let c = r.byType.get(rt);
    if (!c) r.byType.set(rt, (c = { fetched: 0, invalid: 0 }));
    c.fetched++;
    if (!ok) c.invalid++;
    const byTag = r.result.byTag;
    byTag.set(ev.tag, (byTag.get(ev.tag) ?? 0) + 1);
    // The de-dup key of a record is its Id: the batcher's claims are the tenant's (TenantIds).
    return r.batcher.add(ev, item.bytes, item.index, id, rt, id);
  }
}

/** The state of one blob read, shared by its records. */
interface BlobRead {
  ctx: { tenantId: string; contentType: string; contentId: string };
  ids: TenantIds;
  batcher: ReturnType<Delivery['batcher']>;
  acked: AckedPositions;
  waitFor: Array<{ id: string; settled: Promise<boolean> }>;
  result: PassResult;
  byType: Map<number | null, { fetched: number; invalid: number }>;
  records: number;
  invalid: number;
  duplicates: number;
}

function parseFailure(err: BridgeError): ValidationResult {
  return { valid: false, recordType: null, errors: [{ path: '', keyword: PARSE_FAILURE_KEYWORD, message: err.message }], warnings: [] };
}

function countsOf(r: RunCounts): RunCounts {
  return { blobs: r.blobs, records: r.records, events: r.events, invalid: r.invalid, duplicates: r.duplicates, lostBlobs: r.lostBlobs };
}
