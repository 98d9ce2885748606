/**
 * One pass of one (tenant, content type): list the windows from the checkpoint to now, fetch every
 * blob not yet delivered, stream its records through validation and routing into the delivery, and
 * move the checkpoint over the blobs whose every event was acknowledged.
 *
 * A blob is finished when (a) all its batches are acknowledged, or (b) the source lost it (expired,
 * not found) or refused it for good (foreign host, over the size limit): counted and recorded with
 * its content id, never skipped silently. Anything else (5xx, resets, truncation, throttling, Fluentd
 * down) holds the cursor at that blob; the next pass lists from there again.
 */
import type { ActivityApi, ContentRef, OutEvent, RecordValidator, ValidationResult } from '../../contracts';
import { BridgeError, isBridgeError, redactUri } from '../../errors';
import type { Logger } from '../../obs/log';
import { MAX_LOST, type Checkpoint } from '../../state/checkpoint';
import type { Metrics } from '../../obs/metrics';
import { PROTO_KEY_RENAMED, readRecords, renameProtoKeys } from './blob-reader';
import type { BlobBatcher, Delivery } from '../../core/delivery';
import type { RecentIds } from '../../core/dedup';
import { backoffDelay } from '../../net/retry';
import { Semaphore, sleep } from '../../core/limits';
import {
  alreadyDone,
  compareRefs,
  isContentRef,
  listingStart,
  planWindows,
  RecentBlobs,
  uniqueRefs,
  WindowFinalizer,
  type CursorState,
  type PlanOptions,
} from './windows';

export interface CheckpointStoreLike {
  load(tenantId: string, contentType: string): Promise<Checkpoint | null>;
  save(cp: Checkpoint): Promise<void>;
}

export interface RouterLike {
  route(record: Record<string, unknown>, result: ValidationResult, ctx: { tenantId: string; contentType: string; contentId: string }): OutEvent;
}

export interface ProgressLike {
  setPlan(tenant: string, contentType: string, windowsTotal: number): void;
  windowDone(tenant: string, contentType: string): void;
  records(tenant: string, n: number): void;
}

export type { Checkpoint };

/** Counters of a pass, persisted as the checkpoint's `lastRun` (the state owns the shape). */
export type RunCounts = Omit<NonNullable<Checkpoint['lastRun']>, 'startedAt' | 'updatedAt'>;

export interface PassResult extends RunCounts {
  tenantId: string;
  contentType: string;
  windows: number;
  /** Blobs that failed this pass and hold the cursor back (retried next pass). */
  failedBlobs: number;
  cursor: string | null;
  lost: Array<{ contentId: string; code: string }>;
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
  recordIds: RecentIds;
  /** Shared by the tenant's content types: bounds concurrent blob fetches per tenant. */
  blobSlots: Semaphore;
  logger: Logger;
  metrics: Metrics;
  progress?: ProgressLike;
  now?: () => number;
}

export interface PollerOptions {
  initialLookbackMs: number;
  trailingMs: number;
  ageMarginMs: number;
  blobConcurrency: number;
  maxBlobAttempts: number;
  maxRecordBytes: number;
  /** Checkpoint writes are coalesced to at most one per interval (and one at each window's end). */
  saveIntervalMs: number;
  recentBlobsCapacity: number;
  /** Stops reading new data (graceful shutdown, first phase). */
  stopFetching: AbortSignal;
}

type BlobOutcome = { kind: 'done' } | { kind: 'lost'; code: string } | { kind: 'failed'; error: unknown };

/** Content errors that finish a blob as lost at the source instead of holding the cursor forever. */
const LOST_CODES = new Set(['CONTENT_EXPIRED', 'FOREIGN_HOST', 'BLOB_TOO_LARGE']);

const PARSE_FAILURE_KEYWORD = 'parse';

export class ContentTypePoller {
  private readonly now: () => number;

  constructor(
    private readonly d: PollerDeps,
    private readonly o: PollerOptions,
  ) {
    this.now = d.now ?? Date.now;
  }

  async runPass(): Promise<PassResult> {
    const { tenantId, contentType, store, logger } = this.d;
    const started = new Date(this.now()).toISOString();
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
      byTag: new Map(),
    };
    const cp: Checkpoint = (await store.load(tenantId, contentType)) ?? {
      version: 1,
      tenantId,
      contentType,
      cursor: null,
      doneAtCursor: [],
      recent: [],
      lost: [],
      updatedAt: started,
    };
    const recent = new RecentBlobs(cp.recent, this.o.recentBlobsCapacity);
    const plan: PlanOptions = {
      now: this.now(),
      initialLookbackMs: this.o.initialLookbackMs,
      trailingMs: this.o.trailingMs,
      ageMarginMs: this.o.ageMarginMs,
    };
    const start = listingStart(cp.cursor, plan);
    // Blobs older than where listing starts can't be listed again: no need to remember them.
    recent.prune(start - 60_000);
    const windows = planWindows(start, plan);
    this.d.progress?.setPlan(tenantId, contentType, windows.length);

    let lastSave = 0;
    const persist = async (force: boolean) => {
      const t = this.now();
      if (!force && t - lastSave < this.o.saveIntervalMs) return;
      lastSave = t;
      cp.recent = recent.entries();
      cp.updatedAt = new Date(t).toISOString();
      cp.lastRun = { startedAt: started, updatedAt: cp.updatedAt, ...countsOf(result) };
      await store.save(cp);
      if (cp.cursor) this.d.metrics.checkpointLagSeconds(tenantId, contentType, Math.max(0, (t - Date.parse(cp.cursor)) / 1000));
    };

    try {
      for (const w of windows) {
        if (this.o.stopFetching.aborted) break;
        result.windows++;
        const refs: ContentRef[] = [];
        let junk = 0;
        for await (const page of this.d.api.listContent(contentType, new Date(w.start), new Date(w.end))) {
          for (const r of page as unknown[]) {
            if (isContentRef(r)) refs.push(r);
            else junk++;
          }
          if (this.o.stopFetching.aborted) break;
        }
        if (junk > 0) {
          // Nothing can be fetched from them; they are reported, not allowed to fail the whole listing.
          logger.warn('listing entries skipped: not content references', { tenant: tenantId, contentType, skipped: junk, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() });
        }
        if (this.o.stopFetching.aborted) break;
        const sorted = uniqueRefs(refs).sort(compareRefs);
        const fin = new WindowFinalizer(sorted, w, cp);
        let failed = 0;
        let fatal: BridgeError | undefined;
        const apply = async (moved: CursorState | null) => {
          if (!moved) return;
          cp.cursor = moved.cursor;
          cp.doneAtCursor = moved.doneAtCursor;
          await persist(false);
        };

        let next = 0;
        const worker = async () => {
          while (next < sorted.length && !this.o.stopFetching.aborted && !fatal) {
            const i = next++;
            const ref = sorted[i];
            if (alreadyDone(ref, cp, recent)) {
              await apply(fin.finish(i));
              continue;
            }
            const outcome = await this.d.blobSlots.run(() => this.processBlob(ref, result));
            if (outcome.kind === 'failed') {
              failed++;
              await apply(fin.fail(i));
              if (isBridgeError(outcome.error) && !outcome.error.retryable && !this.o.stopFetching.aborted) fatal = outcome.error;
              continue;
            }
            if (outcome.kind === 'lost') this.recordLost(cp, ref, outcome.code, result);
            else result.blobs++;
            recent.add(ref.contentId, ref.contentCreated);
            await apply(fin.finish(i));
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, Math.min(this.o.blobConcurrency, sorted.length)) }, worker));

        result.failedBlobs += failed;
        if (fin.complete && !this.o.stopFetching.aborted) {
          const moved = fin.closeWindow();
          if (moved) {
            cp.cursor = moved.cursor;
            cp.doneAtCursor = moved.doneAtCursor;
          }
          this.d.progress?.windowDone(tenantId, contentType);
        }
        await persist(true);
        if (fatal) throw fatal;
        // A failed blob holds the cursor; windows after it would only pile up work behind it.
        if (failed > 0) break;
      }
    } catch (err) {
      result.error = isBridgeError(err) ? err : new BridgeError('INTERNAL', (err as Error)?.message ?? String(err), { cause: err });
      if (result.error.code === 'STATE_UNWRITABLE' || result.error.code === 'STATE_CORRUPT') throw result.error;
      if (!(this.o.stopFetching.aborted && result.error.details.aborted)) logger.error('pass failed', { tenant: tenantId, contentType, err: result.error });
      await persist(true);
    }
    result.cursor = cp.cursor;
    return result;
  }

  private recordLost(cp: Checkpoint, ref: ContentRef, code: string, result: PassResult): void {
    result.lostBlobs++;
    result.lost.push({ contentId: ref.contentId, code });
    cp.lost.push({ contentId: ref.contentId, contentCreated: ref.contentCreated, code, at: new Date(this.now()).toISOString() });
    if (cp.lost.length > MAX_LOST) cp.lost.splice(0, cp.lost.length - MAX_LOST);
    if (code === 'CONTENT_EXPIRED') this.d.metrics.blobsExpired(this.d.tenantId, this.d.contentType, 1);
    this.d.logger.warn('content lost at the source', {
      tenant: this.d.tenantId,
      contentType: this.d.contentType,
      contentId: ref.contentId,
      contentCreated: ref.contentCreated,
      code,
    });
  }

  /** Fetches, reads, validates, routes and delivers one blob; resolves once all its events are acked. */
  private async processBlob(ref: ContentRef, result: PassResult): Promise<BlobOutcome> {
    const { tenantId, contentType, metrics, logger } = this.d;
    if (Date.parse(ref.contentExpiration) <= this.now()) return { kind: 'lost', code: 'CONTENT_EXPIRED' };
    // Batches of earlier attempts stay in flight; the blob is done only when all of them are acked.
    const batchers: BlobBatcher[] = [];
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.o.maxBlobAttempts; attempt++) {
      if (this.o.stopFetching.aborted) break;
      try {
        const body = await this.d.api.fetchBlob(ref.contentUri, this.o.stopFetching);
        const b = this.d.delivery.batcher();
        batchers.push(b);
        await this.readBlob(ref, body, b, result);
        for (const x of batchers) await x.drain();
        metrics.blobsFetched(tenantId, contentType, 1);
        return { kind: 'done' };
      } catch (err) {
        lastError = err;
        if (isBridgeError(err) && LOST_CODES.has(err.code)) {
          await Promise.all(batchers.map((x) => x.settle()));
          return { kind: 'lost', code: err.code };
        }
        if (this.o.stopFetching.aborted) break;
        if (isBridgeError(err) && !err.retryable) break;
        metrics.retry(tenantId, isBridgeError(err) ? err.code : 'error');
        const wait = backoffDelay(attempt - 1, { baseDelayMs: 500, maxDelayMs: 30_000 });
        logger.warn('blob failed, will retry', { tenant: tenantId, contentType, contentId: ref.contentId, attempt, retryInMs: wait, err });
        await sleep(wait, this.o.stopFetching);
      }
    }
    // Give already-read batches their chance to be acknowledged (they keep their records' Ids in the
    // dedup set, so the next attempt must not be cut short by them).
    await Promise.all(batchers.map((x) => x.settle()));
    if (lastError === undefined) lastError = new BridgeError('SINK_CLOSED', 'stopped before the blob was delivered', { retryable: true });
    logger.warn('blob not delivered this pass; the checkpoint waits for it', {
      tenant: tenantId,
      contentType,
      contentId: ref.contentId,
      uri: redactUri(ref.contentUri),
      err: lastError,
    });
    return { kind: 'failed', error: lastError };
  }

  private async readBlob(ref: ContentRef, body: AsyncIterable<Buffer>, batcher: BlobBatcher, result: PassResult): Promise<void> {
    const { tenantId, contentType, validator, router, recordIds, metrics } = this.d;
    const ctx = { tenantId, contentType, contentId: ref.contentId };
    const byType = new Map<number | null, { fetched: number; invalid: number }>();
    let records = 0;
    let events = 0;
    let invalid = 0;
    let duplicates = 0;
    const source = redactUri(ref.contentUri);
    try {
      for await (const item of readRecords(body, { source, maxRecordBytes: this.o.maxRecordBytes })) {
        if (this.o.stopFetching.aborted) throw new BridgeError('SINK_CLOSED', 'stopped while reading a blob', { retryable: true });
        records++;
        let ev: OutEvent;
        let rt: number | null = null;
        let ok = true;
        if (item.error) {
          ok = false;
          ev = router.route({ raw: item.raw ?? '' }, parseFailure(item.error), ctx);
        } else {
          const rec = item.record;
          const isObj = rec !== null && typeof rec === 'object' && !Array.isArray(rec);
          if (isObj) {
            const id = (rec as { Id?: unknown }).Id;
            if (typeof id === 'string') {
              if (recordIds.has(id)) {
                duplicates++;
                continue;
              }
              recordIds.add(id);
            }
          }
          let res = validator.validate(rec);
          // Altered on the way (invalid UTF-8, a __proto__ key renamed): delivered whole, quarantined with the reason.
          let repaired = item.repaired;
          if (item.mayHaveProtoKey && renameProtoKeys(rec)) repaired = (repaired ? repaired + '; ' : '') + `key "__proto__" renamed to "${PROTO_KEY_RENAMED}"`;
          if (repaired) res = { ...res, valid: false, errors: [...res.errors, { path: '', keyword: 'repaired', message: repaired }] };
          rt = res.recordType;
          ok = res.valid;
          ev = router.route(isObj ? (rec as Record<string, unknown>) : { value: rec }, res, ctx);
        }
        if (!ok) invalid++;
        let c = byType.get(rt);
        if (!c) byType.set(rt, (c = { fetched: 0, invalid: 0 }));
        c.fetched++;
        if (!ok) c.invalid++;
        events++;
        result.byTag.set(ev.tag, (result.byTag.get(ev.tag) ?? 0) + 1);
        const p = batcher.add(ev, item.bytes);
        if (p) await p;
      }
    } finally {
      // Counted per blob attempt, not per record: one metrics call per record type.
      result.records += records;
      result.events += events;
      result.invalid += invalid;
      result.duplicates += duplicates;
      for (const [t, c] of byType) {
        metrics.recordsFetched(tenantId, contentType, t, c.fetched);
        metrics.recordsInvalid(tenantId, contentType, t, c.invalid);
        metrics.recordsEmitted(tenantId, contentType, t, c.fetched);
      }
      metrics.recordsDuplicate(tenantId, contentType, duplicates);
      this.d.progress?.records(tenantId, events);
    }
  }
}

function parseFailure(err: BridgeError): ValidationResult {
  return { valid: false, recordType: null, errors: [{ path: '', keyword: PARSE_FAILURE_KEYWORD, message: err.message }], warnings: [] };
}

function countsOf(r: RunCounts): RunCounts {
  return { blobs: r.blobs, records: r.records, events: r.events, invalid: r.invalid, duplicates: r.duplicates, lostBlobs: r.lostBlobs };
}
